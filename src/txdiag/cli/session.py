"""Wiring shared by the commands that read inputs: build the pipeline, stream, account, report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from txdiag.aggregate import Summary
from txdiag.cli.terminal import Terminal
from txdiag.errors import TxdiagError, UsageError
from txdiag.models import Lang
from txdiag.pipeline import Event, Observation, Pipeline, ReadOptions
from txdiag.readers import InputFormat, ReadStats
from txdiag.render.common import Presenter
from txdiag.rulebook import Rulebook, load_rulebook
from txdiag.sources import STDIN_NAME
from txdiag.timeparse import parse_zone

UNREADABLE_SHOWN = 5


@dataclass
class Outcome:
    """How a run ended: the fold of everything read, and why it stopped early, if it did."""

    summary: Summary
    inputs: list[ReadStats]
    error: TxdiagError | None = None
    interrupted: bool = False
    unreadable_shown: int = 0


@dataclass
class Session:
    terminal: Terminal
    rulebook: Rulebook
    pipeline: Pipeline
    presenter: Presenter
    quiet: bool = False
    inputs: list[str] = field(default_factory=list)

    @classmethod
    def open(
        cls,
        *,
        inputs: Sequence[str] | None,
        lang: Lang,
        input_format: InputFormat,
        encoding: str,
        assume_tz: str,
        strict: bool,
        rules: Sequence[Path] | None,
        mask: bool,
        quiet: bool,
        max_line_bytes: int,
    ) -> Session:
        terminal = Terminal.from_env(mask=mask)
        names = resolve_inputs(inputs, terminal)
        _check_encoding(encoding)
        rulebook = load_rulebook(rules or ())
        pipeline = Pipeline(
            rulebook,
            assume_tz=parse_zone(assume_tz),
            read_options=ReadOptions(input_format=input_format, encoding=encoding,
                                     max_line_bytes=max_line_bytes, strict=strict),
        )
        if not mask:
            terminal.say("masking is OFF (--no-mask): output shows personal data as it is")
        return cls(terminal, rulebook, pipeline, Presenter(mask=mask, lang=lang), quiet, names)

    def stream(self, on_observation: Callable[[Observation], bool]) -> Outcome:
        """Feed every event to the summary, and observations to ``on_observation``.

        ``on_observation`` returns False to stop early. An input error or Ctrl-C stops the
        stream; what was read before is kept, and the caller renders it before exiting.
        """
        outcome = Outcome(Summary(), self.pipeline.inputs)
        add = outcome.summary.add
        try:
            for event in self.pipeline.run(self.inputs):
                add(event)
                if isinstance(event, Observation) and not on_observation(event):
                    break
                if not isinstance(event, Observation):
                    self._report_unreadable(event, outcome)
        except TxdiagError as exc:
            outcome.error = exc
        except KeyboardInterrupt:
            outcome.interrupted = True
        return outcome

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
        if self.quiet:
            return
        hidden = outcome.summary.unreadable - outcome.unreadable_shown
        if hidden > 0:
            self.terminal.say(f"... and {hidden:,} more unreadable (see unreadable.by_cause "
                              "in summary --format json)")
        for stats in outcome.inputs:
            kind = stats.format + (f" ({stats.compression})" if stats.compression else "")
            self.terminal.say(self.terminal.safe(f"read {stats.name} as {kind}"))
        s = outcome.summary
        self.terminal.say(
            f"{s.records:,} records ({s.successes:,} successes, {s.failures:,} failures), "
            f"{s.unreadable:,} unreadable"
        )
        if s.records == 0 and outcome.error is None:
            self.terminal.say("no records found in the input")


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


def _check_encoding(encoding: str) -> None:
    import codecs

    try:
        codecs.lookup(encoding)
    except LookupError:
        raise UsageError(f"unknown encoding: {encoding!r}",
                         hint="for example utf-8, gb18030, gbk") from None


__all__ = ["STDIN_NAME", "Outcome", "Session"]
