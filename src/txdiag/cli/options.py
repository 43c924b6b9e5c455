"""Option definitions shared by the commands, declared once."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from txdiag.models import Category
from txdiag.readers import InputFormat
from txdiag.render import OutputFormat


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
    LangChoice,
    typer.Option("--lang", envvar="TXDIAG_LANG", help="Language of hints and labels.",
                 case_sensitive=False),
]
InputFormatOpt = Annotated[
    InputFormat,
    typer.Option("--input-format", help="Input format; auto detects it from the content.",
                 case_sensitive=False),
]
Encoding = Annotated[
    str,
    typer.Option("--encoding", help="Text encoding of the input, e.g. gb18030.",
                 envvar="TXDIAG_ENCODING"),
]
AssumeTz = Annotated[
    str,
    typer.Option("--assume-tz", envvar="TXDIAG_ASSUME_TZ",
                 help="Zone for times written without one (IANA name or offset like +08:00)."),
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
    int,
    typer.Option("--max-line-bytes", min=1024,
                 help="Longer lines are counted as unreadable, never loaded."),
]
