"""``txdiag config init|show``: write a starter config file, print the effective settings."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import tomli_w
import typer

from txdiag.cli import options as opt
from txdiag.cli.base import app, examples
from txdiag.errors import ConfigError, UsageError
from txdiag.locations import CONFIG_ENV, config_path
from txdiag.safety import is_secret_name, redact_url, visible

config_app = typer.Typer(help="Write a starter config file, or show the effective settings.",
                         no_args_is_help=True)
app.add_typer(config_app, name="config")

_INTRO = """\
# txdiag configuration (TOML). Looked for at --config PATH, else $TXDIAG_CONFIG, else the
# user config directory. Command-line options and environment variables win over this file.
# Reference: docs/formats.md (profiles, templates), docs/rules.md (rule files), docs/api.md."""

# Top-level keys (rules_files) must come before the first table, or TOML files them under it.
_SECTIONS: list[tuple[str, dict[str, Any], bool]] = [
    (
        "Extra rule files, relative to this file; they override shipped rules with the same id\n"
        "or the same (channel, code). Check one with `txdiag rules validate FILE`.",
        {"rules_files": []},
        True,
    ),
    (
        "Defaults for every command (each also has a command-line option).",
        {"defaults": {"lang": "en", "assume_tz": "UTC", "encoding": "utf-8"}},
        True,
    ),
    (
        "A field-mapping profile, used with --profile gateway: where each field is read from\n"
        "(dotted paths into nested JSON, `*` matches any key), extra status words, constants.",
        {"profiles": {"gateway": {
            "description": "Our payment gateway's nested JSON",
            "txn_id": ["data.order_id"],
            "error_code": ["data.result.sub_code", "data.result.code"],
            "error_message": ["data.result.msg"],
            "status_map": {"success": ["S"], "failure": ["F"], "pending": ["P", "I"]},
            "constants": {"channel": "unionpay"},
        }}},
        True,
    ),
    (
        "A plain-text log layout as a named-group regex (ts, level, txn_id, code, msg, or a\n"
        "`kv` group parsed as key=value pairs). Uncomment to use; tried before the built-in ones.",
        {"templates": {"mygateway": {
            "description": "2026-11-11 00:00:01 E T123 51 余额不足",
            "pattern": r"^(?P<ts>\S+ \S+) (?P<level>[EW]) (?P<txn_id>\S+) (?P<code>\S+) "
                       r"(?P<msg>.*)$",
        }}},
        False,
    ),
    (
        "A payment API, used with --api prod: `txdiag summary --api prod` reads base_url,\n"
        "`txdiag lookup T123 --api prod` fills {txn_id} in lookup_url. The token is read from\n"
        "the environment variable named by token_env, never from this file.",
        {"api": {"prod": {
            "base_url": "https://pay.example.com/v1/transactions?status=failed",
            "lookup_url": "https://pay.example.com/v1/transactions/{txn_id}",
            "token_env": "TXDIAG_API_TOKEN",
            "records_path": "data.items",
            "next_path": "data.next_cursor",
            "cursor_param": "cursor",
            "headers": {"X-Team": "payments-oncall"},
            "timeout": 10.0,
        }}},
        False,
    ),
]


def starter_config() -> str:
    """The commented starter file; every section is valid TOML written by tomli-w."""
    parts = [_INTRO]
    for comment, data, active in _SECTIONS:
        block = tomli_w.dumps(data).rstrip("\n")
        if not active:
            block = "\n".join(f"# {line}" if line else "#" for line in block.splitlines())
        parts.append("\n".join(f"# {line}" for line in comment.splitlines()) + "\n" + block)
    return "\n\n".join(parts) + "\n"


@config_app.command("init", epilog=examples("txdiag config init",
                                             "txdiag config init --path ./txdiag.toml"))
def init(
    path: Path | None = typer.Option(None, "--path", help="Where to write [default: the user "
                                     "config file]."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented starter config file."""
    target = path or config_path(None)[0]
    if target.exists() and not force:
        raise UsageError(f"{target}: already exists", hint="pass --force to overwrite it")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(starter_config(), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{target}: cannot write: {exc.strerror}") from None
    typer.echo(f"wrote {visible(str(target))}", err=True)


def _redacted(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _redacted(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redacted(v, key) for v in value]
    if isinstance(value, str):
        if key and is_secret_name(key):
            return "[REDACTED]"
        return redact_url(value) if "://" in value else value
    return value


@config_app.command("show", epilog=examples("txdiag config show",
                                             "txdiag config show --format json"))
def show(
    config: opt.ConfigPath = None,
    fmt: str = typer.Option("toml", "--format", "-f", help="toml or json."),
) -> None:
    """Print the effective settings: the file's, the environment's, and the built-in profiles."""
    if fmt not in {"toml", "json"}:
        raise UsageError(f"--format {fmt!r}: expected toml or json")
    from txdiag.config import builtin_profiles, load_config

    settings, source = load_config(config)
    data = settings.model_dump(mode="json", exclude_none=True)
    effective: dict[str, Any] = {
        "config_file": str(source) if source else "(none: built-in defaults)",
        "environment": {name: os.environ[name] for name in
                        ("TXDIAG_LANG", "TXDIAG_ASSUME_TZ", "TXDIAG_ENCODING", CONFIG_ENV)
                        if os.environ.get(name)},
        **data,
        "builtin_profiles": {name: p.description for name, p in builtin_profiles().items()},
    }
    effective = _redacted(effective)
    text = (json.dumps(effective, ensure_ascii=False, indent=2) + "\n" if fmt == "json"
            else tomli_w.dumps(effective))
    # Line by line: values from the file are shown visibly, the layout keeps its newlines.
    typer.echo("\n".join(visible(line) for line in text.rstrip("\n").splitlines()))
