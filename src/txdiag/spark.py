"""The same diagnosis on Apache Spark: the fold of ``--jobs``, one Spark task per part.

>>> from pyspark.sql import SparkSession                       # doctest: +SKIP
>>> from txdiag.spark import summarize
>>> summary = summarize(SparkSession.builder.getOrCreate(), ["day1.jsonl.gz", "day2.jsonl"])

Files are planned on the driver as :mod:`txdiag.jobs` plans one big file (docs/scale-out.md):
an uncompressed JSON Lines file larger than ``split_bytes`` is cut at line boundaries into byte
ranges, one task each; every other file (compressed: not splittable, CSV, text, small) is read
whole, consecutive small files grouped into one task up to ``split_bytes``. Each task builds
the run's pipeline from a broadcast :class:`~txdiag.jobs.Recipe`, folds its part with
:class:`~txdiag.fold.SummaryFold` and returns a :class:`~txdiag.jobs.Part`: counters whose size
grows with the distinct keys, not with the records. The driver adds the parts in input order
with :func:`~txdiag.jobs.add_part`, shifting the line numbers of a range by the lines before
it, so the result is exactly that of one process: totals, breakdowns, timeline, unreadable
lines per cause and their file and line.

A DataFrame is folded per partition: records (one column per field, ``spark.read.json``) or
JSON Lines text (one string column, ``spark.read.text``), its rows numbered in the
DataFrame's order.

PySpark is an optional extra (``pip install 'txdiag[spark]'``); nothing imports this module
but callers who want Spark.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import stat
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from txdiag.aggregate import Summary
from txdiag.errors import InputError, TxdiagError, UsageError
from txdiag.fields import record_columns
from txdiag.fold import SummaryFold, splittable
from txdiag.jobs import (
    Part,
    Recipe,
    add_part,
    fold_part,
    fold_range,
    opened_range,
    split_points,
    summary_options,
)
from txdiag.pipeline import Event, Observation, Pipeline, ReadOptions, RunLedger, TimeWindow
from txdiag.readers import RawItem, ReadStats, Unreadable, UnreadableCause, read_jsonl
from txdiag.sources import STDIN_NAME, iter_chunks
from txdiag.vocabulary import Lang

if TYPE_CHECKING:
    from pyspark import RDD
    from pyspark.sql import DataFrame, SparkSession

    from txdiag.render.present import Presenter
    from txdiag.timeline import Timeline

SPLIT_BYTES = 128 << 20
"""Bytes per task: a bigger JSON Lines file is cut into ranges, smaller files are grouped
(Spark's own ``spark.sql.files.maxPartitionBytes``)."""
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")
COMPRESSION_RATIO = 8
"""How much a compressed log is taken to expand, when small files are grouped into tasks (a
compressed file is never cut: one that expands past ``split_bytes`` is a task of its own)."""
DATAFRAME_SOURCE = "dataframe"
"""The source name of records read from a DataFrame (their line is the row's number)."""
DIAGNOSIS_COLUMNS = ("category", "reason", "retryable", "level", "rule_id", "hint", "action")
"""The columns :func:`diagnose` adds to a DataFrame's."""
OUTPUT_FORMATS = ("jsonl", "parquet")
CORRUPT_RECORD = "_corrupt_record"
"""The column ``spark.read.json`` gives the lines it cannot parse."""


def require_spark() -> None:
    """PySpark and a Java runtime, or a :class:`UsageError` saying which is missing."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise UsageError("--engine spark needs PySpark, which is not installed",
                         hint="pip install 'txdiag[spark]'") from None
    java_home = os.environ.get("JAVA_HOME")
    if not (java_home and Path(java_home, "bin", "java").exists()) and not shutil.which("java"):
        raise UsageError("--engine spark needs Java (17 or later), which is not found",
                         hint="install a JDK, or set JAVA_HOME") from None


def spark_session(master: str | None = None) -> tuple[SparkSession, bool]:
    """The running SparkSession, else a new one (``master``: else Spark's default, or what
    spark-submit gave); and whether it was made here (then the caller stops it)."""
    require_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active, False
    launched = "PYSPARK_GATEWAY_PORT" in os.environ  # by spark-submit, with its own master
    if master.startswith("local") if master is not None else not launched:
        # Local workers run this interpreter, where txdiag is installed.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName("txdiag").config("spark.ui.showConsoleProgress",
                                                            "false")
    if master is not None:
        builder = builder.master(master)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # noqa: BLE001 - Py4J and Java errors: one line for the user
        raise UsageError(f"cannot start Spark: {_first_line(exc)}",
                         hint="check --master, JAVA_HOME and the Spark logs above") from None
    session.sparkContext.setLogLevel("ERROR")
    return session, True


# -- building the pipeline -----------------------------------------------------------------------


def build_pipeline(*, rules: Sequence[str | Path] = (), profile: str | None = None,
                   field_maps: Sequence[str] = (), since: datetime | None = None,
                   until: datetime | None = None, assume_tz: tzinfo = UTC,
                   config: Path | None = None, encoding: str = "utf-8",
                   strict: bool = False) -> Pipeline:
    """The pipeline of a run from the library's options: the config file's rule files and
    profiles (``config``: else the usual place), ``rules`` after them, the ``profile`` and
    ``--map``-style ``field_maps``, the ``since``/``until`` window."""
    from txdiag.config import build_field_map, load_config, resolve_profile
    from txdiag.rulebook import load_rulebook

    settings, config_file = load_config(config)
    base = config_file.parent if config_file is not None else Path.cwd()
    configured = [base / Path(path).expanduser() for path in settings.rules_files]
    chosen = resolve_profile(profile or settings.defaults.profile, settings)
    return Pipeline(
        load_rulebook([*configured, *map(Path, rules)]),
        field_map=build_field_map(chosen, field_maps),
        assume_tz=assume_tz,
        read_options=ReadOptions(encoding=encoding, strict=strict),
        constants=chosen.constants if chosen else None,
        status_values=chosen.status_values() if chosen else None,
        window=TimeWindow(since, until),
    )


# -- planning ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One Spark task: whole files read in order by one fold, or a byte range of one JSON
    Lines file (``end`` >= 0)."""

    paths: tuple[str, ...]
    start: int = 0
    end: int = -1
    first: bool = True
    """A range that starts its file (where a BOM may stand)."""
    name: str = ""
    encoding: str = "utf-8"

    @property
    def is_range(self) -> bool:
        return self.end >= 0


@dataclass
class Plan:
    """The tasks of a run, and the accounting of each file read in ranges (filled as the
    ranges' parts are added)."""

    tasks: list[Task]
    split: dict[str, ReadStats] = field(default_factory=dict)


def check_names(names: Sequence[str]) -> None:
    """Files only: an executor reads each at the same path (not stdin, not a URL)."""
    for name in names:
        if name in ("-", STDIN_NAME) or "://" in name:
            shown = "stdin" if name in ("-", STDIN_NAME) else name
            raise UsageError(f"{shown}: --engine spark reads files that every executor sees "
                             "at the same path, not stdin or a URL",
                             hint="save it to a file (a shared one on a cluster), or run "
                             "without --engine spark")


def plan(pipeline: Pipeline, names: Sequence[str], split_bytes: int | None = None) -> Plan:
    """Cut the inputs into tasks of about ``split_bytes`` (else :data:`SPLIT_BYTES`) each, in
    input order."""
    check_names(names)
    split_bytes = split_bytes or SPLIT_BYTES
    result = Plan([])
    group: list[str] = []
    grouped = 0
    for name in names:
        size = os.path.getsize(name)
        found = _ranges(pipeline, name, split_bytes) if size > split_bytes else None
        if name.endswith(COMPRESSED_SUFFIXES):
            size *= COMPRESSION_RATIO  # what the task reads
        if found is None:
            if group and grouped + size > split_bytes:
                result.tasks.append(Task(tuple(group)))
                group, grouped = [], 0
            group.append(name)
            grouped += size
            continue
        if group:
            result.tasks.append(Task(tuple(group)))
            group, grouped = [], 0
        stats, ranges = found
        result.split[name] = stats
        result.tasks.extend(Task((name,), start, end, index == 0, stats.name, stats.encoding)
                            for index, (start, end) in enumerate(ranges))
    if group:
        result.tasks.append(Task(tuple(group)))
    return result


def _ranges(pipeline: Pipeline, name: str,
            split_bytes: int) -> tuple[ReadStats, list[tuple[int, int]]] | None:
    """A JSON Lines file's ranges (and its accounting, empty), or None: it is read whole."""
    opened, stats, _ = pipeline.open(name)
    try:
        if (opened.compression is not None or opened.raw is None or opened.converted
                or not splittable(pipeline, stats)
                or not stat.S_ISREG(os.stat(name).st_mode)):
            return None
        ranges = split_points(name, math.ceil(os.path.getsize(name) / split_bytes))
        return (stats, ranges) if len(ranges) > 1 else None
    finally:
        opened.close()


# -- summary -------------------------------------------------------------------------------------


@dataclass
class TaskResult:
    """What a task sends the driver: its part, and the inputs it read whole."""

    part: Part
    inputs: list[ReadStats]


@dataclass(frozen=True)
class _Job:
    """What every task of a summary needs (broadcast once)."""

    recipe: Recipe
    options: dict[str, Any]
    with_timeline: bool
    requested: int | None

    def timeline(self) -> Timeline | None:
        from txdiag.timeline import Timeline

        return Timeline(self.requested) if self.with_timeline else None


def _fold_task(job: _Job, task: Task) -> TaskResult:
    """A task: fold its range, or its whole files in order (on an executor)."""
    pipeline = job.recipe.build()
    timeline = job.timeline()
    if task.is_range:
        part = fold_range(pipeline, task.paths[0], task.name, task.encoding, task.start,
                          task.end, first=task.first, timeline=timeline, options=job.options)
        return TaskResult(part, [])
    # Whole files count their own lines: the part's are none, nothing to shift.
    ledger = RunLedger()
    part = fold_part(pipeline, ReadStats(name=""), lambda fold: fold.run(task.paths),
                     timeline=timeline, options=job.options, ledger=ledger)
    return TaskResult(part, ledger.inputs)


def fold_files(spark: SparkSession, fold: SummaryFold, names: Sequence[str], *,
               split_bytes: int | None = None) -> None:
    """Fold the files into ``fold`` (its summary, timeline and ledger) on Spark,
    with the result of ``fold.run(names)``; its callbacks see the unreadable examples and the
    progress of each part as it is added. Raises what a local run raises, once what was read
    before is added."""
    pipeline = fold.pipeline
    tasks = plan(pipeline, names, split_bytes)
    if not tasks.tasks:
        return
    timeline = fold.timeline
    job = _Job(Recipe.of(pipeline), summary_options(fold.summary), timeline is not None,
               timeline.requested if timeline is not None else None)
    shared = spark.sparkContext.broadcast(job)
    results = _collect(spark.sparkContext.parallelize(tasks.tasks, len(tasks.tasks)).map(
        lambda task: _fold_task(shared.value, task)))
    try:
        for task, result in zip(tasks.tasks, results, strict=True):
            if task.is_range:
                stats = tasks.split[task.paths[0]]
                if task.first:
                    fold.ledger.inputs.append(stats)
                add_part(fold, stats, result.part)
                continue
            fold.ledger.inputs.extend(result.inputs)
            add_part(fold, ReadStats(name=""), result.part)
    finally:
        fold.flush()
        shared.unpersist()


def summarize(spark: SparkSession, paths_or_dataframe: Sequence[str] | str | DataFrame, *,
              pipeline: Pipeline | None = None, timeline: Timeline | None = None,
              templates: bool = True, mask: bool = True, split_bytes: int | None = None,
              **options: Any) -> Summary:
    """The :class:`Summary` of files (or a DataFrame) folded on Spark: the one ``txdiag
    summary`` gives locally (``summary_dict`` makes its JSON).

    ``pipeline``: the run's pipeline, else one from ``options`` (:func:`build_pipeline`:
    ``rules``, ``profile``, ``field_maps``, ``since``, ``until``, ``assume_tz``, ``config``,
    ``encoding``, ``strict``); ``timeline`` is filled too; ``templates``: failures no rule
    explains grouped by message template, their examples masked unless ``mask`` is False.
    An input error raises (:class:`~txdiag.errors.InputError`).
    """
    if pipeline is None:
        pipeline = build_pipeline(**options)
    elif options:
        raise TypeError(f"options with a pipeline: {', '.join(sorted(options))}")
    summary = Summary(mine_templates=templates, mask_examples=mask)
    fold = SummaryFold(pipeline, summary, timeline)
    if isinstance(paths_or_dataframe, str | Sequence):
        names = [paths_or_dataframe] if isinstance(paths_or_dataframe, str) else list(
            paths_or_dataframe)
        fold_files(spark, fold, names, split_bytes=split_bytes)
    else:
        fold_dataframe(fold, paths_or_dataframe)
    summary.filtered_out = fold.ledger.filtered_out
    return summary


def fold_dataframe(fold: SummaryFold, frame: DataFrame) -> None:
    """Fold a DataFrame's rows into ``fold``, partition by partition, as one input named
    :data:`DATAFRAME_SOURCE` whose lines are the rows in order."""
    pipeline = fold.pipeline
    timeline = fold.timeline
    job = _Job(Recipe.of(pipeline), summary_options(fold.summary), timeline is not None,
               timeline.requested if timeline is not None else None)
    text = _is_text(frame)
    shared = frame.sparkSession.sparkContext.broadcast(job)
    parts = _collect(frame.rdd.mapPartitions(
        lambda rows: iter([_fold_rows(shared.value, rows, text)])))
    stats = ReadStats(name=DATAFRAME_SOURCE, format="jsonl" if text else "dataframe")
    fold.ledger.inputs.append(stats)
    try:
        for part in parts:
            add_part(fold, stats, part)
    finally:
        fold.flush()
        shared.unpersist()


def _fold_rows(job: _Job, rows: Iterable[Any], text: bool) -> Part:
    """A partition's rows folded, numbered from 1 (on an executor)."""
    pipeline = job.recipe.build()
    stats = ReadStats(name=DATAFRAME_SOURCE, format="jsonl" if text else "dataframe")

    def read(fold: SummaryFold) -> None:
        for event in _row_events(pipeline, rows, text, stats, fold.ledger):
            fold.add_event(event)

    return fold_part(pipeline, stats, read, timeline=job.timeline(), options=job.options)


def _row_events(pipeline: Pipeline, rows: Iterable[Any], text: bool,
                stats: ReadStats, ledger: RunLedger) -> Iterator[Event]:
    """The events of a partition's rows: JSON Lines text read as a file's lines, records as
    the mappings a JSON object would give (nulls left out); what the time window leaves out
    is counted in ``ledger``."""
    event_of = pipeline.event_of
    if text:
        lines = b"".join((row[0] or "").encode("utf-8", "surrogatepass") + b"\n"
                         for row in rows)
        opened = _opened_bytes(lines)
        items: Iterable[RawItem] = read_jsonl(opened, stats, pipeline.read_options.max_line_bytes,
                                              pipeline.key_guard)
    else:
        items = _row_items(rows, stats)
    for item in items:
        event = event_of(item, DATAFRAME_SOURCE, ledger)
        if event is not None:
            yield event


def _row_items(rows: Iterable[Any], stats: ReadStats) -> Iterator[RawItem]:
    for number, row in enumerate(rows, 1):
        stats.lines.lines = number
        yield item_of(row, number)


def item_of(row: Any, number: int) -> RawItem:
    """A DataFrame row as the reader's item: the mapping ``json.loads`` gives for its JSON
    object (nested rows as objects, nulls, the columns a record did not have, left out), or
    unreadable when Spark could not parse its line (``_corrupt_record``)."""
    data = _without_nulls(row.asDict(recursive=True))
    if data.pop(CORRUPT_RECORD, None) is not None:
        return Unreadable(DATAFRAME_SOURCE, number, UnreadableCause.INVALID_JSON,
                          f"Spark could not parse it ({CORRUPT_RECORD})")
    return number, data


def _without_nulls(data: dict[str, Any]) -> dict[str, Any]:
    return {name: _without_nulls(value) if isinstance(value, dict) else value
            for name, value in data.items() if value is not None}


def _opened_bytes(data: bytes) -> Any:
    """Bytes in memory as an opened input."""
    import io

    from txdiag.sources import OpenedInput

    stream = io.BufferedReader(io.BytesIO(data))
    return OpenedInput(DATAFRAME_SOURCE, stream, None, b"", None, len(data))


def _is_text(frame: DataFrame) -> bool:
    """A DataFrame of JSON Lines text: one string column ``value`` (``spark.read.text``)."""
    from pyspark.sql.types import StringType

    fields = frame.schema.fields
    return (len(fields) == 1 and fields[0].name == "value"
            and isinstance(fields[0].dataType, StringType))


# -- diagnose ------------------------------------------------------------------------------------


def diagnose(frame: DataFrame, *, pipeline: Pipeline | None = None, lang: Lang = "en",
             failures_only: bool = True, **options: Any) -> DataFrame:
    """The DataFrame's rows with the diagnosis of each failure: its columns, then
    :data:`DIAGNOSIS_COLUMNS` (the hint and action in ``lang``). ``failures_only``: only the
    failed records (as ``txdiag diagnose`` shows), else every row, with null diagnosis
    columns where a record did not fail, is unreadable or outside the time window.
    ``pipeline`` or ``options``: as for :func:`summarize`. The input columns are the caller's
    own data, passed through as they are (masking is for what txdiag writes)."""
    from pyspark.sql.types import StringType, StructField, StructType

    if pipeline is None:
        pipeline = build_pipeline(**options)
    elif options:
        raise TypeError(f"options with a pipeline: {', '.join(sorted(options))}")
    clash = sorted(set(frame.columns) & set(DIAGNOSIS_COLUMNS))
    if clash:
        raise UsageError(f"the DataFrame already has the column(s) {', '.join(clash)}",
                         hint="rename them before diagnosing")
    recipe = frame.sparkSession.sparkContext.broadcast(Recipe.of(pipeline))
    text = _is_text(frame)
    schema = StructType([*frame.schema.fields,
                         *(StructField(name, StringType()) for name in DIAGNOSIS_COLUMNS)])
    rows = frame.rdd.mapPartitions(
        lambda part: _diagnosed_rows(recipe.value, part, text, lang, failures_only))
    return frame.sparkSession.createDataFrame(rows, schema)


def _diagnosed_rows(recipe: Recipe, rows: Iterable[Any], text: bool, lang: Lang,
                    failures_only: bool) -> Iterator[tuple[Any, ...]]:
    pipeline = recipe.build()
    empty = (None,) * len(DIAGNOSIS_COLUMNS)
    for row in rows:
        if text:
            stats = ReadStats(name=DATAFRAME_SOURCE)
            events = list(_row_events(pipeline, [row], True, stats, RunLedger()))
        else:
            event = pipeline.event_of(item_of(row, 0), DATAFRAME_SOURCE, RunLedger())
            events = [] if event is None else [event]
        diagnosis = (events[0].diagnosis if events and isinstance(events[0], Observation)
                     else None)
        if diagnosis is None:
            if not failures_only:
                yield (*row, *empty)
            continue
        evidence = diagnosis.evidence
        yield (*row, diagnosis.category.value, diagnosis.reason, diagnosis.retryable.value,
               evidence.level, evidence.rule_id, diagnosis.hint.get(lang),
               diagnosis.action.get(lang))


@dataclass(frozen=True)
class _Rows:
    """What every task of ``diagnose --engine spark`` needs (broadcast once)."""

    recipe: Recipe
    presenter: Presenter
    categories: frozenset[str] | None


@dataclass
class Written:
    """What :func:`write_findings` wrote and met."""

    rows: int
    errors: list[tuple[int, str, str | None]]
    """Input errors by task (its index, message, hint): the other tasks' rows are written."""


def finding_lines(spark: SparkSession, pipeline: Pipeline, names: Sequence[str],
                  presenter: Presenter, *, categories: Iterable[str] | None = None,
                  split_bytes: int | None = None) -> tuple[RDD[str], Any]:
    """The rows of ``txdiag diagnose --format jsonl`` over the files, as an RDD of lines in
    input order, and the accumulator of the input errors its tasks meet. A file read in
    ranges has its lines counted first (one cheap pass), so that every row names its line."""
    tasks = plan(pipeline, names, split_bytes)
    context = spark.sparkContext
    job = context.broadcast(_Rows(Recipe.of(pipeline), presenter,
                                  frozenset(categories) if categories else None))
    offsets = _line_offsets(spark, tasks, pipeline.read_options.max_line_bytes)
    errors: Any = context.accumulator([], cast(Any, _ListParam()))
    indexed = list(zip(tasks.tasks, offsets, range(len(tasks.tasks)), strict=True))
    lines = context.parallelize(indexed, max(len(indexed), 1)).flatMap(
        lambda entry: _task_lines(job.value, entry, errors))
    return lines, errors


def _line_offsets(spark: SparkSession, tasks: Plan, max_line_bytes: int) -> list[int]:
    """The lines before each task in its file (0 for whole files)."""
    ranges = [task for task in tasks.tasks if task.is_range]
    if not ranges:
        return [0] * len(tasks.tasks)
    counts = iter(_collect(spark.sparkContext.parallelize(ranges, len(ranges)).map(
        lambda task: _count_lines(task, max_line_bytes))))
    offsets: list[int] = []
    before = 0
    for task in tasks.tasks:
        if not task.is_range:
            offsets.append(0)
            continue
        if task.first:
            before = 0
        offsets.append(before)
        before += next(counts)
    return offsets


def _count_lines(task: Task, max_line_bytes: int) -> int:
    """The lines of a range, counted as the reader counts them."""
    stats = ReadStats(name=task.name)
    opened = opened_range(task.paths[0], task.name, task.start, task.end)
    try:
        for _ in iter_chunks(opened, stats.lines, max_line_bytes=max_line_bytes):
            pass
    finally:
        opened.close()
    return stats.lines.lines


def _task_lines(job: _Rows, entry: tuple[Task, int, int], errors: Any) -> Iterator[str]:
    """A task's rows (on an executor); an input error goes to ``errors``."""
    from txdiag.render.writers import FindingRows

    task, offset, index = entry
    pipeline = job.recipe.build()
    rows = FindingRows(job.presenter)
    zone = pipeline.normalizer.assume_tz
    wanted = job.categories
    try:
        for event in _task_events(pipeline, task, offset):
            if not isinstance(event, Observation) or event.diagnosis is None:
                continue
            if wanted is None or event.diagnosis.category.value in wanted:
                yield rows.of_observation(event, zone)
    except TxdiagError as exc:
        errors.add([(index, exc.message, exc.hint)])


def _task_events(pipeline: Pipeline, task: Task, offset: int) -> Iterator[Event]:
    if not task.is_range:
        yield from pipeline.run(task.paths)
        return
    stats = ReadStats(name=task.name, format="jsonl", encoding=task.encoding)
    opened = opened_range(task.paths[0], task.name, task.start, task.end)
    ledger = RunLedger()
    try:
        for item in read_jsonl(opened, stats, pipeline.read_options.max_line_bytes,
                               pipeline.key_guard):
            shifted: RawItem = (replace(item, line=item.line + offset)
                                if isinstance(item, Unreadable)
                                else (item[0] + offset, item[1]))
            event = pipeline.event_of(shifted, task.name, ledger)
            if event is not None:
                yield event
    finally:
        opened.close()


def write_findings(spark: SparkSession, pipeline: Pipeline, names: Sequence[str],
                   presenter: Presenter, output: str, *, output_format: str = "jsonl",
                   categories: Iterable[str] | None = None,
                   split_bytes: int | None = None) -> Written:
    """Write the rows of ``txdiag diagnose`` over the files to the directory ``output`` (as
    Spark writes: part files), as JSON Lines (the very lines of ``--format jsonl``) or
    Parquet (one column per field of those lines, ``evidence`` as JSON text, ``source`` as
    ``source_file`` and ``source_line``)."""
    if output_format not in OUTPUT_FORMATS:
        raise UsageError(f"unknown output format {output_format!r}",
                         hint=f"one of {', '.join(OUTPUT_FORMATS)}")
    lines, errors = finding_lines(spark, pipeline, names, presenter, categories=categories,
                                  split_bytes=split_bytes)
    rows = spark.sparkContext.accumulator(0)

    def counted(line: str) -> str:
        rows.add(1)
        return line

    lines = lines.map(counted)
    try:
        if output_format == "jsonl":
            lines.saveAsTextFile(output)
        else:
            from pyspark.sql.types import LongType, StringType, StructField, StructType

            schema = StructType([*(StructField(name, StringType()) for name in FLAT_COLUMNS),
                                 StructField("source_line", LongType())])
            spark.createDataFrame(lines.map(flat_row), schema).write.parquet(output)
    except Exception as exc:  # noqa: BLE001 - Py4J and Java errors: one line for the user
        raise InputError(f"{output}: Spark could not write the rows: {_first_line(exc)}",
                         hint="an output directory must not exist yet") from None
    return Written(rows.value, sorted(errors.value))


FLAT_COLUMNS = (*record_columns(), "category", "reason", "title", "retryable", "hint",
                "action", "evidence", "source_file")
"""The Parquet columns of ``diagnose --engine spark`` (then ``source_line``), all text."""


def flat_row(line: str) -> tuple[Any, ...]:
    """One row of ``diagnose --format jsonl`` as the Parquet columns."""
    data = json.loads(line)
    source = data.pop("source")
    data["source_file"] = source["file"]
    values = [data.get(name) for name in FLAT_COLUMNS]
    return (*(value if value is None or isinstance(value, str)
              else json.dumps(value, ensure_ascii=False) for value in values),
            source["line"])


# -- Spark helpers -------------------------------------------------------------------------------


def _collect(rdd: Any) -> list[Any]:
    """``rdd.collect()``, a failed Spark job as an :class:`InputError` in one line."""
    try:
        return list(rdd.collect())
    except Exception as exc:  # noqa: BLE001 - Py4J and Java errors: one line for the user
        raise InputError(f"a Spark job failed: {_first_line(exc)}",
                         hint="the executors' logs have the details") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


class _ListParam:
    """An accumulator of lists (Spark's ``AccumulatorParam``, duck-typed: PySpark is only
    imported where it is used)."""

    def zero(self, value: list[Any]) -> list[Any]:
        return []

    def addInPlace(self, value: list[Any], other: list[Any]) -> list[Any]:  # noqa: N802
        value.extend(other)
        return value


__all__ = ["COMPRESSED_SUFFIXES", "COMPRESSION_RATIO", "CORRUPT_RECORD",
           "DATAFRAME_SOURCE", "DIAGNOSIS_COLUMNS", "FLAT_COLUMNS",
           "OUTPUT_FORMATS", "SPLIT_BYTES", "Plan", "Task", "TaskResult", "Written",
           "build_pipeline", "check_names", "diagnose", "finding_lines", "flat_row",
           "fold_dataframe", "fold_files", "item_of", "plan", "require_spark", "spark_session",
           "summarize", "write_findings"]
