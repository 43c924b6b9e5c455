"""``txdiag rules``: list, show, test, validate, export and suggest rules."""

from __future__ import annotations

from pathlib import Path

import typer

from txdiag.accuracy import Split
from txdiag.cli import options as opt
from txdiag.cli.base import app, argument_text, examples, json_errors
from txdiag.cli.common import InputSettings, reads_inputs
from txdiag.cli.configured import known_channel, load_rules, read_config
from txdiag.cli.terminal import Terminal
from txdiag.errors import InputError, UsageError
from txdiag.exitcodes import ExitCode
from txdiag.render import OutputFormat
from txdiag.render.present import Presenter
from txdiag.rulebook import Rulebook, read_rule_file
from txdiag.rulebook import load_rulebook as load_with
from txdiag.vocabulary import Category

rules_app = typer.Typer(help="Inspect, test, validate, export and draft rules.",
                        no_args_is_help=True)
app.add_typer(rules_app, name="rules")


def _rulebook(rules: list[Path] | None, config: Path | None) -> tuple[Rulebook, str | None]:
    settings, config_file = read_config(config)
    return (load_rules(settings, config_file, rules or ()),
            settings.defaults.lang if settings is not None else None)


@rules_app.command("list", epilog=examples("txdiag rules list --channel wechatpay",
                                           "txdiag rules list --category network -f csv"))
def list_rules(
    category: opt.Categories = None,
    channel: opt.Channel = None,
    fmt: opt.Format = OutputFormat.TABLE,
    lang: opt.Lang = None,
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
) -> None:
    """Rules in precedence order, optionally one category or channel (with what it inherits)."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.render.rules import write_rule_list

    rulebook, default_lang = _rulebook(rules, config)
    wanted = set(category or ())
    terminal = Terminal.from_env()
    canonical = known_channel(rulebook, channel, terminal) if channel else None
    lineage = rulebook.channel_lineage(canonical) if canonical else None
    selected = [
        rule for rule in rulebook.rules
        if (not wanted or rule.category in wanted)
        and (lineage is None or rule.channel in lineage or rule.channel is None)
    ]
    if canonical is not None:
        # The channel's own rules first (what the reader asked about), then what it inherits
        # and the generic ones; each group keeps precedence order.
        selected.sort(key=lambda rule: rule.channel != canonical)
    presenter = Presenter(lang="zh" if (lang or default_lang) == "zh" else "en")
    write_rule_list(fmt, terminal.stdout, selected, presenter, color=terminal.color,
                    channel=canonical)


@rules_app.command("show", epilog=examples("txdiag rules show iso8583.51"))
def show_rule(
    rule_id: str = typer.Argument(..., metavar="ID"),
    fmt: opt.Format = OutputFormat.TABLE,
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
) -> None:
    """Everything about one rule: what it matches, its reason, hints in both languages, source."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.render.rules import write_rule

    rulebook, _ = _rulebook(rules, config)
    rule = rulebook.rule(rule_id)
    if rule is None:
        close = [r.id for r in rulebook.rules if rule_id.lower() in r.id.lower()][:5]
        raise UsageError(f"no rule {rule_id!r}",
                         hint=("did you mean " + ", ".join(close)) if close
                         else "see `txdiag rules list`")
    terminal = Terminal.from_env()
    write_rule(fmt, terminal.stdout, rule, Presenter(), color=terminal.color)


@rules_app.command("test", epilog=examples(
    "txdiag rules test '风控系统超时'",
    "txdiag rules test --code 40004 --channel alipay --message '买家余额不足'",
    "txdiag rules test --code card_declined --channel stripe --http-status 402",
))
def test_rules(
    text: str | None = typer.Argument(None, metavar="[TEXT]",
                                      help="A code or message, tried as both."),
    code: list[str] | None = typer.Option(None, "--code", help="An error code; repeatable, "
                                          "most specific first."),
    channel: opt.Channel = None,
    message: str | None = typer.Option(None, "--message", help="The error message."),
    http_status: int | None = typer.Option(None, "--http-status", min=100, max=599),
    status: str | None = typer.Option(None, "--status", help="The record's status value."),
    latency_ms: float | None = typer.Option(None, "--latency-ms", min=0, callback=opt.finite),
    fmt: opt.Format = OutputFormat.TABLE,
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
) -> None:
    """Every rule that would match, in precedence order, which one wins and why."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.classify import Classifier
    from txdiag.render.rules import write_rule_test

    if text is None and not (code or message or http_status or status or latency_ms):
        raise UsageError("nothing to test", hint="give TEXT, or --code / --message / "
                         "--http-status / --status / --latency-ms")
    rulebook, _ = _rulebook(rules, config)
    text = argument_text(text) if text is not None else None
    message = argument_text(message) if message is not None else None
    codes = [("code", argument_text(c)) for c in code or ()]
    if text is not None and not any(ch.isspace() for ch in text.strip()):
        codes.insert(0, ("text", text.strip()))
    terminal = Terminal.from_env()
    canonical = known_channel(rulebook, channel, terminal) if channel else None
    candidates = Classifier(rulebook).all_candidates(
        channel=canonical, codes=tuple(codes), message=message or text,
        http_status=http_status, latency_ms=latency_ms, status=status,
    )
    query = {"text": text, "codes": [c for _, c in codes], "channel": canonical,
             "message": message, "http_status": http_status, "status": status,
             "latency_ms": latency_ms}
    write_rule_test(fmt, terminal.stdout, query, candidates, rulebook, Presenter())


@rules_app.command("validate", epilog=examples("txdiag rules validate team-rules.toml"))
def validate(
    files: list[Path] = typer.Argument(..., metavar="FILE...", help="Rule files to check."),
) -> None:
    """Check rule files against the format and the shipped rulebook; exit 2 naming the problem."""
    from txdiag.classify import Classifier

    for path in files:
        loaded = read_rule_file(path)
        rulebook = load_with([path])
        Classifier(rulebook).compile()  # what only shows when patterns meet: RE2's memory
        content = loaded.content
        typer.echo(f"ok: {path}: {len(content.rules)} rules, {len(content.reasons)} reasons, "
                   f"{len(content.concepts)} concepts, {len(content.channels)} channels; "
                   f"{len(rulebook.rules)} rules in all with the shipped rulebook")


@rules_app.command("export", epilog=examples("txdiag rules export > all-rules.toml",
                                             "txdiag rules export --channel wechatpay"))
def export(
    channel: opt.Channel = None,
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
) -> None:
    """The effective rulebook as one TOML rule file (loading it gives back the same rules)."""
    from txdiag.rulebook.tools import dumps_rulebook, export_rulebook

    rulebook, _ = _rulebook(rules, config)
    canonical = rulebook.canonical_channel(channel) if channel else None
    if canonical is not None and canonical not in rulebook.channels:
        raise UsageError(f"unknown channel {channel!r}",
                         hint="channels: " + ", ".join(sorted(rulebook.channels)))
    text = dumps_rulebook(export_rulebook(rulebook, channel=canonical))
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@rules_app.command("suggest", epilog=examples(
    "txdiag rules suggest app.jsonl --min-count 20 > draft.toml",
    "zcat app.log.gz | txdiag rules suggest - -o draft.toml",
))
@reads_inputs
def suggest(
    inputs: opt.Inputs = None,
    min_count: int = typer.Option(5, "--min-count", min=1,
                                  help="Only groups seen at least this often."),
    top: int = typer.Option(50, "--top", min=1, help="At most this many draft rules."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write to this file."),
    *,
    settings: InputSettings,
) -> None:
    """Draft rules (TOML) for the failures no rule explains; fill in each reason, then validate."""
    from txdiag.cli.session import Session
    from txdiag.rulebook.tools import suggest_rules, suggestions_from

    session = Session.open(inputs, settings, None)
    # The failures no rule explains, grouped by message template as the summary groups them
    # (the inputs folded many records at once).
    outcome = session.stream(templates=True)
    miner = outcome.summary.templates
    groups = suggestions_from(miner.top(top), min_count)
    text = suggest_rules(groups, session.rulebook)
    if not outcome.failed_before_reading:
        if output is None:
            typer.echo(text, nl=False)
        else:
            output.write_text(text, encoding="utf-8")
    session.report(outcome)
    session.terminal.say(f"{len(groups)} draft rules for {sum(g.count for g in groups):,} "
                         f"unclassified failures (at least {min_count} each)"
                         + (f"; template cap reached, {miner.overflow:,} not grouped"
                            if miner.capped else ""))
    if outcome.error is not None:
        raise outcome.error
    if outcome.interrupted:
        raise typer.Exit(ExitCode.INTERRUPTED)


__all__ = ["Category", "rules_app"]


@rules_app.command("concepts", epilog=examples("txdiag rules concepts",
                                               "txdiag rules concepts -f json"))
def list_concepts(
    fmt: opt.Format = OutputFormat.TABLE,
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
) -> None:
    """The concepts message rules are written with: each one's terms, and which rules use it."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.render.rules import write_concepts

    rulebook, _ = _rulebook(rules, config)
    write_concepts(fmt, Terminal.from_env().stdout, rulebook, Presenter())


@rules_app.command("accuracy", epilog=examples(
    "txdiag rules accuracy tests/data/corpus/*.csv --split test",
    "txdiag rules accuracy my-labelled.csv --show 20 -f json",
))
def accuracy(
    corpus: list[Path] = typer.Argument(..., metavar="CORPUS.csv...", exists=True,
                                        dir_okay=False,
                                        help="Labelled rows (docs/rules.md, 'Measuring "
                                             "accuracy')."),
    split: Split = typer.Option(Split.ALL, "--split", help="The half of the corpus (by "
                                "source) to measure."),
    show: int = typer.Option(0, "--show", min=0, help="List this many rows not answered "
                             "right."),
    fmt: opt.Format = OutputFormat.TABLE,
    rules: opt.Rules = None,
    config: opt.ConfigPath = None,
) -> None:
    """How right the rules are on a labelled corpus: accuracy, confidently wrong, unknown."""
    json_errors(fmt is OutputFormat.JSON)
    from txdiag.accuracy import evaluate
    from txdiag.classify import Classifier
    from txdiag.render.rules import write_accuracy

    rulebook, _ = _rulebook(rules, config)
    try:
        report = evaluate(Classifier(rulebook), corpus, split)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    write_accuracy(fmt, Terminal.from_env().stdout, report, split.value, Presenter(), show=show)
