"""Option definitions shared by the commands, declared once."""

from __future__ import annotations

import math
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from txdiag.readers import InputFormat
from txdiag.render import OutputFormat
from txdiag.vocabulary import Category


def finite(value: float | None) -> float | None:
    """A number option's check that Click's ranges miss: ``nan`` passes every ``min=``."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


class LangChoice(StrEnum):
    en = "en"
    zh = "zh"


Inputs = Annotated[
    list[str] | None,
    typer.Argument(
        help="Log files (gzip/bz2/xz detected), or - for stdin. With none, stdin is read "
        "when it is a pipe.",
        show_default=False,
    ),
]
Format = Annotated[
    OutputFormat,
    typer.Option("--format", "-f", help="Output format.", case_sensitive=False),
]
Lang = Annotated[
    LangChoice | None,
    typer.Option("--lang", envvar="TXDIAG_LANG", case_sensitive=False, show_default=False,
                 help="Language of hints and labels \\[default: the config file's, else en]."),
]
InputFormatOpt = Annotated[
    InputFormat,
    typer.Option("--input-format", help="Input format; auto detects it from the content.",
                 case_sensitive=False),
]
def one_character(value: str | None) -> str | None:
    """``--delimiter``: one character; ``tab`` and ``\\t`` name the tab."""
    if value is None:
        return None
    if value in ("tab", "\\t", "TAB"):
        return "\t"
    if len(value) != 1 or value in "\"\r\n":
        raise typer.BadParameter("give one character (or 'tab'), not a quote or line end")
    return value


Delimiter = Annotated[
    str | None,
    typer.Option("--delimiter", callback=one_character, show_default=False,
                 help="Field delimiter of CSV input, e.g. ';' or '|' or tab \\[default: "
                 "detected among , ; | tab]."),
]
Encoding = Annotated[
    str | None,
    typer.Option("--encoding", help="Text encoding of the input, e.g. gb18030 \\[default: utf-8].",
                 envvar="TXDIAG_ENCODING", show_default=False),
]
AssumeTz = Annotated[
    str | None,
    typer.Option("--assume-tz", envvar="TXDIAG_ASSUME_TZ", show_default=False,
                 help="Zone for times written without one: IANA name or offset like +08:00 "
                 "\\[default: UTC]."),
]
Strict = Annotated[
    bool,
    typer.Option("--strict", help="Exit 3 at the first unreadable record instead of counting it."),
]
Rules = Annotated[
    list[Path] | None,
    typer.Option("--rules", help="Extra rule file (TOML); repeatable. Overrides shipped rules.",
                 show_default=False),
]
NoMask = Annotated[
    bool,
    typer.Option("--no-mask", help="Show personal data (card, phone, ID numbers) unmasked."),
]
Quiet = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress or report lines on stderr (errors still)."),
]
Categories = Annotated[
    list[Category] | None,
    typer.Option("--category", "-c", help="Only this category; repeatable.",
                 case_sensitive=False, show_default=False),
]
Limit = Annotated[
    int | None,
    typer.Option("--limit", "-n", min=0, help="Show at most N failures.", show_default=False),
]
Top = Annotated[int, typer.Option("--top", min=1, help="How many reasons and codes to list.")]
Channel = Annotated[
    str | None,
    typer.Option("--channel", help="Channel the code belongs to (iso8583, unionpay, wechatpay, "
                 "alipay, card, ...).", show_default=False),
]
MaxLineBytes = Annotated[
    int | None,
    typer.Option("--max-line-bytes", min=1024, show_default=False,
                 help="Longer lines are counted as unreadable, never loaded \\[default: 1 MiB]."),
]
ConfigPath = Annotated[
    Path | None,
    typer.Option("--config", envvar="TXDIAG_CONFIG", show_default=False,
                 help="Config file \\[default: the user config dir's txdiag/config.toml]."),
]
Profile = Annotated[
    str | None,
    typer.Option("--profile", "-p", show_default=False,
                 help="Field-mapping profile: built-in (flat, alipay, wechatpay, ...) or from "
                 "the config file."),
]
FieldMaps = Annotated[
    list[str] | None,
    typer.Option("--map", "-m", show_default=False, metavar="FIELD=PATH",
                 help="Read FIELD from PATH (dotted, into nested JSON); repeatable."),
]
RecordsPath = Annotated[
    str | None,
    typer.Option("--records-path", show_default=False, metavar="A.B",
                 help="Where the records are in a JSON document \\[default: found automatically]."),
]
Since = Annotated[
    str | None,
    typer.Option("--since", show_default=False,
                 help="Only records at or after this time (ISO 8601, or e.g. 2h, 30m ago)."),
]
Until = Annotated[
    str | None,
    typer.Option("--until", show_default=False, help="Only records before this time."),
]
Headers = Annotated[
    list[str] | None,
    typer.Option("--header", "-H", show_default=False, metavar="'NAME: VALUE'",
                 help="Extra HTTP request header for URL inputs; repeatable."),
]
TokenEnv = Annotated[
    str | None,
    typer.Option("--token-env", show_default=False, metavar="VAR",
                 help="Environment variable holding a bearer token for URL inputs "
                 "(never pass a token on the command line)."),
]
NextPath = Annotated[
    str | None,
    typer.Option("--next-path", show_default=False, metavar="A.B",
                 help="Field of a page holding the next cursor or next URL."),
]
CursorParam = Annotated[
    str | None,
    typer.Option("--cursor-param", show_default=False,
                 help="Query parameter a cursor is sent back in \\[default: cursor]."),
]
MaxPages = Annotated[
    int | None,
    typer.Option("--max-pages", min=1, show_default=False,
                 help="Stop after this many pages \\[default: 1000]."),
]
Timeout = Annotated[
    float | None,
    typer.Option("--timeout", min=0.1, show_default=False, callback=finite,
                 help="Connect and read timeout per request, seconds \\[default: 10]."),
]
Retries = Annotated[
    int | None,
    typer.Option("--retries", min=0, max=10, show_default=False,
                 help="Retries on connection errors, timeouts, 429 and 502/503/504 "
                 "\\[default: 3]."),
]
NoProxy = Annotated[
    bool,
    typer.Option("--no-proxy", help="Connect directly: ignore HTTPS_PROXY, HTTP_PROXY, "
                 "ALL_PROXY and NO_PROXY."),
]
CaBundle = Annotated[
    Path | None,
    typer.Option("--ca-bundle", show_default=False,
                 help="CA certificates to verify HTTPS with (verification is never off)."),
]
Api = Annotated[
    str | None,
    typer.Option("--api", show_default=False,
                 help="Named API profile from the config file (\\[api.NAME])."),
]
Jobs = Annotated[
    int,
    typer.Option("--jobs", "-j", min=0, envvar="TXDIAG_JOBS",
                 help="Processes for a big uncompressed JSON Lines file (summary); 0 for one "
                 "per core. Same output as with 1."),
]


class EngineChoice(StrEnum):
    local = "local"
    spark = "spark"


class SparkOutputChoice(StrEnum):
    jsonl = "jsonl"
    parquet = "parquet"


Engine = Annotated[
    EngineChoice,
    typer.Option("--engine", case_sensitive=False,
                 help="Where to run: here, or on Apache Spark (pip install 'txdiag[spark]'; "
                 "docs/scale-out.md). Same output."),
]
Master = Annotated[
    str | None,
    typer.Option("--master", show_default=False, metavar="URL",
                 help="--engine spark: the Spark master (local[*], yarn, spark://HOST:PORT, "
                 "k8s://...) \\[default: Spark's, or spark-submit's]."),
]
SparkOutput = Annotated[
    str | None,
    typer.Option("--output", "-o", show_default=False, metavar="DIR",
                 help="--engine spark: the directory Spark writes the rows to (must not "
                 "exist)."),
]
SparkOutputFormat = Annotated[
    SparkOutputChoice,
    typer.Option("--output-format", case_sensitive=False,
                 help="--engine spark: format of the rows written to --output."),
]
