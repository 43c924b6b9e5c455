"""``--engine spark`` for ``summary`` and ``diagnose``: checks, then :mod:`txdiag.spark`.

Light on purpose: PySpark loads only once a command runs on Spark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from txdiag.cli.options import EngineChoice, SparkOutputChoice
from txdiag.errors import InputError, UsageError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from txdiag.cli.session import Session
    from txdiag.fold import SummaryFold
    from txdiag.vocabulary import Category


def check_engine(engine: EngineChoice, *, master: str | None, output: str | None = None,
                 limit: int | None = None, needs_output: bool = False) -> None:
    """Options that make no sense together, before anything is read or started."""
    if engine is EngineChoice.local:
        given = [name for name, value in (("--master", master), ("--output", output))
                 if value is not None]
        if given:
            raise UsageError(f"{' and '.join(given)} only apply to --engine spark",
                             hint="add --engine spark, or leave them out")
        return
    if limit is not None:
        raise UsageError("--limit does not apply to --engine spark: Spark writes every row",
                         hint="take the first rows of the output, or run locally")
    if needs_output and output is None:
        raise UsageError("--engine spark writes the rows where Spark writes, not to stdout: "
                         "give --output DIR", hint="txdiag diagnose app.jsonl --engine spark "
                         "--output failures/")


def _start(names: Sequence[str], master: str | None) -> tuple[SparkSession, bool]:
    from txdiag.spark import check_names, spark_session

    check_names(names)
    return spark_session(master)


def spark_engine(session: Session,
                 master: str | None) -> Callable[[SummaryFold, list[str]], None]:
    """What ``summary --engine spark`` folds the inputs with (Spark is started now, so that
    a missing PySpark or Java is an error before anything is read)."""
    from txdiag.spark import fold_files

    spark, made = _start(session.inputs, master)

    def run(fold: SummaryFold, names: list[str]) -> None:
        try:
            fold_files(spark, fold, names)
        finally:
            if made:
                spark.stop()

    return run


def spark_diagnose(session: Session, master: str | None, output: str,
                   output_format: SparkOutputChoice, categories: Sequence[Category] | None
                   ) -> None:
    """``diagnose --engine spark``: the rows written to ``output``; one line on stderr."""
    from txdiag.spark import write_findings

    spark, made = _start(session.inputs, master)
    try:
        written = write_findings(spark, session.pipeline, session.inputs, session.presenter,
                                 output, output_format=output_format.value,
                                 categories=[c.value for c in categories or ()] or None)
    finally:
        if made:
            spark.stop()
    terminal = session.terminal
    if not session.quiet:
        terminal.say(terminal.safe(f"wrote {written.rows:,} rows to {output} "
                                   f"({output_format.value})"))
    if written.errors:
        _, message, hint = written.errors[0]
        raise InputError(message, hint=hint)
