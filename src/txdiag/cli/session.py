"""Wiring shared by the commands that read inputs: settings + config -> pipeline, stream, report."""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from txdiag.aggregate import Summary
from txdiag.cli.app import rendering_started
from txdiag.cli.common import InputSettings
from txdiag.cli.configured import load_rules, resolve_lang
from txdiag.cli.progress import Progress
from txdiag.cli.terminal import Terminal
from txdiag.config import ApiProfile, Config, build_field_map, load_config, resolve_profile
from txdiag.errors import ConfigError, TxdiagError, UsageError
from txdiag.formats import Template, compile_templates
from txdiag.http.options import DEFAULT_MAX_PAGES, DEFAULT_RETRIES, DEFAULT_TIMEOUT, HttpOptions
from txdiag.pipeline import Event, Observation, Pipeline, ReadOptions, RunLedger, TimeWindow
from txdiag.readers import ReadStats, Unreadable
from txdiag.render.common import Presenter, no_records_text, totals_text
from txdiag.rulebook import Rulebook
from txdiag.rulebook.model import check_pattern
from txdiag.sources import DEFAULT_MAX_LINE_BYTES, check_inputs
from txdiag.timeparse import parse_timestamp, parse_zone

if TYPE_CHECKING:
    from txdiag.fold import Rows, SummaryFold, Tally, Watch
    from txdiag.timeline import Timeline

UNREADABLE_SHOWN = 5
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*(?:ago)?\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass
class Outcome:
    """How a run ended: the fold of everything read, and why it stopped early, if it did."""

    summary: Summary
    inputs: list[ReadStats]
    error: TxdiagError | None = None
    interrupted: bool = False
    unreadable_shown: int = 0

    @property
    def failed_before_reading(self) -> bool:
        """An error stopped the run before a single record or line was read: render nothing."""
        s = self.summary
        return self.error is not None and s.records == 0 and s.unreadable == 0


def parse_time_bound(
    text: str | None, zone: tzinfo, now: datetime | None = None
) -> datetime | None:
    """An absolute time, or a duration back from now (``2h``, ``30m ago``), for --since/--until."""
    if text is None:
        return None
    relative = _RELATIVE.match(text)
    if relative:
        amount, unit = float(relative.group(1)), relative.group(2).lower()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: amount})
    if text.strip().lower() == "now":
        return now or datetime.now(UTC)
    moment = parse_timestamp(text, zone)
    if moment is None:
        raise UsageError(f"cannot read {text!r} as a time",
                         hint="use ISO 8601 (2026-11-11T00:00:00+08:00) or a duration like 2h")
    return moment


def user_templates(config: Config) -> list[Template]:
    for name, template in config.templates.items():
        try:
            check_pattern(template.pattern)
        except ValueError as exc:
            raise ConfigError(f"text template {name!r}: {exc}") from None
    return compile_templates({name: t.pattern for name, t in config.templates.items()})


@dataclass
class Session:
    terminal: Terminal
    config: Config
    rulebook: Rulebook
    pipeline: Pipeline
    presenter: Presenter
    quiet: bool = False
    inputs: list[str] = field(default_factory=list)
    jobs: int = 1
    """Processes for big JSON Lines files in :meth:`stream` without a callback (``--jobs``)."""
    engine: Callable[[SummaryFold, list[str]], None] | None = None
    """What folds the inputs in :meth:`stream` without a callback, in place of
    :meth:`SummaryFold.run <txdiag.fold.SummaryFold.run>` (``--engine spark``)."""

    @classmethod
    def open(cls, inputs: Sequence[str] | None, settings: InputSettings,
             lang: str | None) -> Session:
        terminal = Terminal.from_env(mask=not settings.no_mask)
        config, config_file = load_config(settings.config)
        api = resolve_api(settings.api, config)
        if not inputs and api is not None and api.base_url:
            inputs = [api.base_url]
        names = resolve_inputs(inputs, terminal)
        defaults = config.defaults
        encoding = settings.encoding or defaults.encoding or "utf-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise UsageError(f"unknown encoding: {encoding!r}",
                             hint="for example utf-8, gb18030, gbk, utf-16") from None
        zone = parse_zone(settings.assume_tz or defaults.assume_tz or "UTC")
        window = TimeWindow(parse_time_bound(settings.since, zone),
                            parse_time_bound(settings.until, zone))
        profile = resolve_profile(
            settings.profile or (api.profile if api else None) or defaults.profile, config
        )
        field_map = build_field_map(profile, settings.field_maps)
        rulebook = load_rules(config, config_file, settings.rules)
        check_inputs(names)
        pipeline = Pipeline(
            rulebook,
            field_map=field_map,
            assume_tz=zone,
            read_options=ReadOptions(
                input_format=settings.input_format,
                delimiter=settings.delimiter,
                encoding=encoding,
                max_line_bytes=settings.max_line_bytes or defaults.max_line_bytes
                or DEFAULT_MAX_LINE_BYTES,
                strict=settings.strict,
                records_path=settings.records_path,
                templates=tuple(user_templates(config)),
                http=replace(
                    http_options(settings, api),
                    # Retries and early stops of an API walk are worth a line on stderr.
                    notify=None if settings.quiet
                    else lambda message: terminal.say(terminal.safe(message)),
                ),
            ),
            constants=profile.constants if profile else None,
            status_values=profile.status_values() if profile else None,
            window=window,
        )
        terminal.say_if_unmasked()
        shown_lang = resolve_lang(lang, config)
        presenter = Presenter(mask=not settings.no_mask, lang=shown_lang,
                              titles={reason.id: reason.title.get(shown_lang)
                                      for reason in rulebook.reasons.values()})
        return cls(terminal, config, rulebook, pipeline, presenter, settings.quiet, names,
                   settings.jobs)

    def stream(self, *, timeline: Timeline | None = None, templates: bool = False,
               watch: Watch | None = None, rows: Rows | None = None,
               tally: Tally | None = None) -> Outcome:
        """Fold every input into the summary (and ``timeline``, when given) through
        :mod:`txdiag.fold`, the one engine of every command.

        ``templates``: the summary groups failures no rule explains by message template (for
        a command that shows them). An input error or Ctrl-C stops the stream; what was read
        before is kept, and the caller renders it before exiting. ``watch`` is given the
        records whose outcome it wants, one by one (:class:`~txdiag.fold.Watch`; the inputs
        are then read by one process). ``rows`` is given the failures to write, in input
        order (:class:`~txdiag.fold.Rows`): the library hands them over in parts where it
        can. ``tally`` is given every record's time and verdict, in input order
        (:class:`~txdiag.fold.Tally`).
        """
        summary = Summary(mine_templates=templates, mask_examples=self.presenter.mask)
        ledger = RunLedger()
        outcome = Outcome(summary, ledger.inputs)
        show_progress = self.terminal.stderr_is_tty and not self.quiet
        try:
            with Progress(ledger, self.terminal.stderr, show_progress) as progress:
                self._fold(outcome, ledger, progress, timeline, watch, rows, tally)
        except TxdiagError as exc:
            outcome.error = exc
            outcome.summary.stopped = "input error"
        except KeyboardInterrupt:
            from txdiag.cli.app import was_terminated  # at run time: app imports the commands

            outcome.interrupted = True
            outcome.summary.stopped = "terminated" if was_terminated() else "interrupted"
        rendering_started()
        if outcome.summary.stopped is None and any(s.partial for s in ledger.inputs):
            outcome.summary.stopped = "truncated"
        outcome.summary.filtered_out = ledger.filtered_out
        return outcome

    def _fold(self, outcome: Outcome, ledger: RunLedger, progress: Progress,
              timeline: Timeline | None, watch: Watch | None = None, rows: Rows | None = None,
              tally: Tally | None = None) -> None:
        from txdiag.fold import SummaryFold

        warned = 0

        def after(count: int) -> None:
            nonlocal warned
            progress.advance(count)
            if len(ledger.inputs) > warned:
                self._warn(ledger.inputs[warned:])
                warned = len(ledger.inputs)

        def unreadable(event: Unreadable) -> None:
            self._report_unreadable(event, outcome)

        from txdiag.jobs import effective_jobs

        fold = SummaryFold(self.pipeline, outcome.summary, timeline, on_unreadable=unreadable,
                           on_progress=after, jobs=effective_jobs(self.jobs), watch=watch,
                           rows=rows, tally=tally, ledger=ledger)
        (self.engine or SummaryFold.run)(fold, self.inputs)

    def _warn(self, inputs: Sequence[ReadStats]) -> None:
        for stats in inputs:
            for warning in stats.warnings:
                self.terminal.say(self.terminal.safe(warning))

    def _report_unreadable(self, event: Event, outcome: Outcome) -> None:
        if self.quiet or isinstance(event, Observation):
            return
        if outcome.unreadable_shown < UNREADABLE_SHOWN:
            detail = f": {event.detail}" if event.detail else ""
            self.terminal.say(self.terminal.safe(
                f"{event.source}:{event.line}: unreadable ({event.cause.value}{detail})"
            ))
            outcome.unreadable_shown += 1

    def report(self, outcome: Outcome) -> None:
        """The closing lines on stderr: what was read, as what, and what could not be."""
        if self.quiet or outcome.failed_before_reading:
            return
        s = outcome.summary
        hidden = s.unreadable - outcome.unreadable_shown
        if hidden > 0:
            self.terminal.say(f"... and {hidden:,} more unreadable (unreadable.by_cause in "
                              "summary --format json has them all)")
        for stats in outcome.inputs:
            kind = stats.format + (f" ({stats.compression})" if stats.compression else "")
            if stats.format == "csv" and stats.delimiter != ",":
                kind += f" (delimiter {stats.delimiter!r})"
            self.terminal.say(self.terminal.safe(f"read {stats.name} as {kind}"))
            if stats.partial:
                self.terminal.say(self.terminal.safe(f"{stats.name}: partial: {stats.partial}"))
        line = totals_text(s)
        if s.filtered_out:
            line += f", {s.filtered_out:,} outside --since/--until"
        self.terminal.say(line)
        if s.records == 0 and outcome.error is None:
            said = no_records_text(s)  # a sentence on stdout; stderr lines start lower-case
            self.terminal.say(said[0].lower() + said[1:])


def resolve_api(name: str | None, config: Config) -> ApiProfile | None:
    if name is None:
        return None
    if name not in config.api:
        known = ", ".join(sorted(config.api)) or "none defined"
        raise UsageError(f"unknown API profile {name!r}",
                         hint=f"API profiles in the config file: {known}")
    return config.api[name]


def parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise UsageError(f"--header {name.strip()!r}...: expected 'NAME: VALUE'")
    return name.strip(), value.strip()


def read_token(variable: str | None) -> str | None:
    """The bearer token from the named environment variable (never from the command line)."""
    if variable is None:
        return None
    token = os.environ.get(variable)
    if not token:
        raise UsageError(f"--token-env {variable}: that environment variable is not set")
    return token


def http_options(settings: InputSettings, api: ApiProfile | None) -> HttpOptions:
    """The command line over the API profile over the defaults."""
    headers = [*(api.headers.items() if api else ()), *map(parse_header, settings.headers)]
    return HttpOptions(
        headers=tuple(headers),
        token=read_token(settings.token_env or (api.token_env if api else None)),
        records_path=settings.records_path or (api.records_path if api else None),
        next_path=settings.next_path or (api.next_path if api else None),
        cursor_param=settings.cursor_param or (api.cursor_param if api else "cursor"),
        max_pages=settings.max_pages or DEFAULT_MAX_PAGES,
        timeout=settings.timeout or (api.timeout if api and api.timeout else DEFAULT_TIMEOUT),
        retries=settings.retries if settings.retries is not None else DEFAULT_RETRIES,
        ca_bundle=settings.ca_bundle,
        trust_env=not settings.no_proxy,
    )


def resolve_inputs(inputs: Sequence[str] | None, terminal: Terminal) -> list[str]:
    """Inputs as given; with none, stdin when it is a pipe. Never wait on a terminal."""
    if inputs:
        return list(inputs)
    if terminal.stdin_missing or terminal.stdin_is_tty:
        raise UsageError(
            "no input: name a log file, or pipe one in",
            hint="txdiag summary app.jsonl   or   zcat app.log.gz | txdiag summary -",
        )
    return ["-"]
