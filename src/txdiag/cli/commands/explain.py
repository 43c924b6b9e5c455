"""``explain``: what one code or message means, for a support agent on a call.

It starts fast: only what a lookup needs is imported (no pydantic unless a config or rule file
is read, no httpx, Rich for the table format only).
"""

from __future__ import annotations

import typer

from txdiag.cli import options as opt
from txdiag.cli.base import app, argument_text, examples, json_errors
from txdiag.cli.terminal import Terminal
from txdiag.render import OutputFormat


@app.command(epilog=examples(
    "txdiag explain 51 --channel iso8583 --lang zh",
    "txdiag explain '可用额度不足'",
    "txdiag explain ACQ.SYSTEM_ERROR --channel alipay --format json",
))
def explain(
    query: str = typer.Argument(..., metavar="CODE_OR_MESSAGE",
                                help="An error code, or a message text."),
    channel: opt.Channel = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = None,
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
    no_mask: opt.NoMask = False,
) -> None:
    """Explain one code or message: category, reason, and what to tell the customer."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.classify import Classifier
    from txdiag.cli.configured import known_channel, load_rules, read_config, resolve_lang
    from txdiag.errors import UsageError
    from txdiag.explain import explain as explain_text
    from txdiag.render.explain import write_explanation
    from txdiag.render.present import Presenter

    terminal = Terminal.from_env(mask=not no_mask)
    terminal.say_if_unmasked()
    settings, config_file = read_config(config)
    rulebook = load_rules(settings, config_file, rules or ())
    canonical = known_channel(rulebook, channel, terminal) if channel else None
    query = argument_text(query)
    if not query.strip():
        raise UsageError("explain needs a code or a message, not an empty text",
                         hint="for example: txdiag explain 51 --channel iso8583")
    explanation = explain_text(Classifier(rulebook), query, canonical)
    presenter = Presenter(mask=not no_mask, lang=resolve_lang(lang, settings))
    write_explanation(fmt, terminal.stdout, query, canonical, explanation, presenter,
                      color=terminal.color)
