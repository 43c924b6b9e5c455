"""Reading: formats, compression, line accounting and bad input."""

from __future__ import annotations

import bz2
import gzip
import lzma
from collections import Counter
from pathlib import Path

import pytest

from txdiag.errors import InputError
from txdiag.formats import read_records
from txdiag.readers import InputFormat, Unreadable
from txdiag.sources import LineStats, iter_lines, open_input

GOOD = b'{"txn_id":"T1","code":"51"}\n{"txn_id":"T2","status":"success"}\n'


def read_all(path: Path, **kwargs: object) -> tuple[list[object], object]:
    opened = open_input(str(path))
    try:
        stats, items = read_records(opened, **kwargs)  # type: ignore[arg-type]
        return list(items), stats
    finally:
        opened.close()


def causes(items: list[object]) -> Counter[str]:
    return Counter(i.cause.value for i in items if isinstance(i, Unreadable))


def test_jsonl_mixed_good_and_bad_lines_are_all_accounted(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    path.write_bytes(
        b'{"txn_id":"T1","code":"51"}\n'
        b"\n"
        b"not json\n"
        b"[1,2]\n"
        b'{"txn_id":"T\xff2"}\n'
        b"   \n"
        b'{"txn_id":"T3","msg":"\xe8\xb6\x85\xe6\x97\xb6"}'  # 超时, no final newline
    )
    items, stats = read_all(path)
    records = [i for i in items if not isinstance(i, Unreadable)]
    assert [r[0] for r in records] == [1, 7]  # physical line numbers
    assert records[1][1]["msg"] == "超时"
    assert causes(items) == {"invalid_json": 1, "not_an_object": 1, "bad_encoding": 1}
    assert stats.blank_lines == 2  # type: ignore[attr-defined]
    assert stats.lines.lines == 7  # type: ignore[attr-defined]
    bad = [i for i in items if isinstance(i, Unreadable)]
    assert [(u.line, u.source) for u in bad] == [(3, str(path)), (4, str(path)), (5, str(path))]


def test_crlf_bom_and_missing_final_newline_match_lf(tmp_path: Path) -> None:
    lf = tmp_path / "lf.jsonl"
    lf.write_bytes(GOOD)
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(b"\xef\xbb\xbf" + GOOD.replace(b"\n", b"\r\n").rstrip(b"\r\n"))
    assert read_all(lf)[0] == read_all(crlf)[0]


@pytest.mark.parametrize(
    ("suffix", "compress", "name"),
    [(".gz", gzip.compress, "gzip"), (".bz2", bz2.compress, "bz2"), (".xz", lzma.compress, "xz")],
)
def test_compression_by_magic_bytes(tmp_path: Path, suffix: str, compress: object,
                                    name: str) -> None:
    path = tmp_path / ("log" + ".data")  # the name says nothing: content decides
    path.write_bytes(compress(GOOD))  # type: ignore[operator]
    items, stats = read_all(path)
    assert stats.compression == name  # type: ignore[attr-defined]
    assert len(items) == 2


def test_multi_member_gzip(tmp_path: Path) -> None:
    path = tmp_path / "multi.gz"
    path.write_bytes(gzip.compress(GOOD) + gzip.compress(GOOD))
    assert len(read_all(path)[0]) == 4


def test_truncated_gzip_keeps_records_before_the_cut(tmp_path: Path) -> None:
    body = b"".join(b'{"txn_id":"T%d","code":"51"}\n' % i for i in range(50000))
    blob = gzip.compress(body)
    path = tmp_path / "cut.gz"
    path.write_bytes(blob[: len(blob) // 2])
    opened = open_input(str(path))
    seen = 0
    _, items = read_records(opened)
    with pytest.raises(InputError, match="truncated or corrupt"):
        for _ in items:
            seen += 1
    assert 0 < seen < 50000


def test_over_long_line_is_counted_not_loaded(tmp_path: Path) -> None:
    path = tmp_path / "long.jsonl"
    big = b'{"msg":"' + b"x" * (5 * 1024 * 1024) + b'"}'
    path.write_bytes(GOOD + big + b"\n" + GOOD)
    items, stats = read_all(path)
    assert causes(items) == {"line_too_long": 1}
    assert len(items) == 5
    assert [i.line for i in items if isinstance(i, Unreadable)] == [3]


def test_line_splitter_across_block_boundaries(tmp_path: Path) -> None:
    # Lines straddling the 1 MiB block size must come out whole and numbered right.
    lines = [b"%d:" % n + b"y" * (n * 7919 % 300000) for n in range(40)]
    path = tmp_path / "blocks.txt"
    path.write_bytes(b"\n".join(lines) + b"\n")
    opened = open_input(str(path))
    got = list(iter_lines(opened, LineStats()))
    opened.close()
    assert got == list(enumerate(lines, start=1))


def test_csv_with_quoted_newline_and_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        'txn_id,code,msg\n'
        'T1,51,"余额不足, 请充值"\n'
        'T2,96,"line one\nline two"\n'
        'T3,05\n'
        '\n'
        'T4,14,ok\n',
        encoding="utf-8",
    )
    items, stats = read_all(path)
    assert stats.format == "csv"  # type: ignore[attr-defined]
    records = [i for i in items if not isinstance(i, Unreadable)]
    assert [(n, r["txn_id"]) for n, r in records] == [(2, "T1"), (3, "T2"), (7, "T4")]
    assert records[1][1]["msg"] == "line one\nline two"
    assert causes(items) == {"bad_row": 1}


def test_tsv_detected(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("txn_id\tcode\tmsg\nT1\t51\t余额不足\n", encoding="utf-8")
    items, stats = read_all(path)
    assert stats.format == "tsv"  # type: ignore[attr-defined]
    assert items == [(2, {"txn_id": "T1", "code": "51", "msg": "余额不足"})]


def test_forced_format(tmp_path: Path) -> None:
    path = tmp_path / "t.log"
    path.write_text('{"a":1}\n', encoding="utf-8")
    _, stats = read_all(path, input_format=InputFormat.CSV)
    assert stats.format == "csv"  # type: ignore[attr-defined]


@pytest.mark.parametrize("setup", ["missing", "directory"])
def test_unopenable_inputs(tmp_path: Path, setup: str) -> None:
    path = tmp_path / "x"
    if setup == "directory":
        path.mkdir()
    with pytest.raises(InputError, match=str(path)):
        open_input(str(path))


# -- a key that decides a verdict given twice (issue 13) ---------------------------------------

DUPLICATES = [
    # (line, the key given twice or None)
    (b'{"txn_id":"D1","status":"FAILED","code":"51","status":"SUCCESS"}', "status"),
    (b'{"txn_id":"D2","code":"51","code":"10000"}', "code"),
    (b'{"txn_id":"D3","http_status":503,"http_status":200}', "http_status"),
    (b'{"txn_id":"D4","st\\u0061tus":"FAILED","status":"SUCCESS"}', "status"),
    (b'{"txn_id":"D5","status":"FAILED", "status" :"SUCCESS"}', "status"),
    (b'{"txn_id":"D6","error":{"code":"51"},"error":{"code":"0"}}', "error"),
    # Not a verdict key twice: a value, a nested key, a key txdiag does not decide by.
    (b'{"txn_id":"N1","status":"FAILED","msg":"status","data":{"status":"x"}}', None),
    (b'{"txn_id":"N2","status":"FAILED","error":{"code":"51"},"code":"51"}', None),
    (b'{"txn_id":"N3","status":"FAILED","note":"a","note":"b","msg":"x","msg":"y"}', None),
    (b'{"txn_id":"N4","status":null,"code":"51"}', None),
]


def _guarded_read(path: Path, fmt: InputFormat) -> list[object]:
    from txdiag.normalize import FieldMap
    from txdiag.readers import KeyGuard

    return read_all(path, input_format=fmt,
                    guard=KeyGuard(FieldMap.default().decides_verdict))[0]


@pytest.mark.parametrize("fmt", [InputFormat.JSONL, InputFormat.JSON])
@pytest.mark.parametrize("repeat", [1, 300])  # one line on its own; chunks of many
def test_a_verdict_key_given_twice_makes_the_record_unreadable(tmp_path: Path, fmt: InputFormat,
                                                               repeat: int) -> None:
    lines = [line for line, _ in DUPLICATES] * repeat
    path = tmp_path / "dup"
    if fmt is InputFormat.JSONL:
        path.write_bytes(b"\n".join(lines) + b"\n")
    else:
        path.write_bytes(b"[\n" + b",\n".join(lines) + b"\n]\n")
    items = _guarded_read(path, fmt)
    assert len(items) == len(lines)  # nothing lost: a record or an unreadable per line
    expected = [twice for _, twice in DUPLICATES] * repeat
    for item, twice in zip(items, expected, strict=True):
        if twice is None:
            assert isinstance(item, tuple), item
        else:
            assert isinstance(item, Unreadable), item
            assert item.cause.value == "duplicate_key"
            assert item.detail == f"key '{twice}' given twice"


def test_without_a_guard_the_last_key_wins_as_json_says(tmp_path: Path) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_bytes(DUPLICATES[0][0] + b"\n")
    items, _ = read_all(path)
    assert items == [(1, {"txn_id": "D1", "status": "SUCCESS", "code": "51"})]


LOGFMT_DUPLICATES = [
    (b"txn=L1 status=FAILED code=51 status=SUCCESS", "status"),
    (b'txn=L2 status=FAILED code=51 code="0" msg="a=b"', "code"),
    (b'txn=L3 status=FAILED code=51 msg="status=SUCCESS code=0"', None),  # inside a value
    (b"txn=L4 status=FAILED code=51 note=a note=b", None),  # not a deciding key
]


def test_a_logfmt_line_giving_a_deciding_key_twice_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "dup.log"
    path.write_bytes(b"\n".join(line for line, _ in LOGFMT_DUPLICATES) + b"\n")
    items = _guarded_read(path, InputFormat.LOGFMT)
    assert len(items) == len(LOGFMT_DUPLICATES)
    for item, (_, twice) in zip(items, LOGFMT_DUPLICATES, strict=True):
        if twice is None:
            assert isinstance(item, tuple), item
        else:
            assert isinstance(item, Unreadable), item
            assert (item.cause.value, item.detail) == ("duplicate_key",
                                                      f"key '{twice}' given twice")


@pytest.mark.parametrize("delimiter", [",", "\t"])
def test_a_csv_row_filling_a_deciding_column_twice_is_unreadable(tmp_path: Path,
                                                                 delimiter: str) -> None:
    rows = [["txn_id", "status", "error_code", "status", "note", "note"],
            ["R1", "FAILED", "51", "SUCCESS", "", ""],   # two statuses: which one?
            ["R2", "FAILED", "51", "", "a", "b"],        # one status; a note twice is no verdict
            ["R3", "", "51", "FAILED", "", ""]]
    path = tmp_path / "dup.csv"
    path.write_text("\n".join(delimiter.join(row) for row in rows) + "\n", encoding="utf-8")
    fmt = InputFormat.CSV if delimiter == "," else InputFormat.TSV
    items = _guarded_read(path, fmt)
    assert isinstance(items[0], Unreadable) and items[0].line == 2
    assert (items[0].cause.value, items[0].detail) == ("duplicate_key",
                                                      "column 'status' given twice")
    assert [item[1]["txn_id"] for item in items[1:]] == ["R2", "R3"]  # type: ignore[index]


@pytest.mark.parametrize(("line", "twice"), [d for d in DUPLICATES if d[1] is not None])
def test_one_duplicate_among_many_clean_records_is_found(tmp_path: Path, line: bytes,
                                                         twice: str) -> None:
    # The chunk check counts names over many lines at once: a lone duplicate must not hide.
    clean = [b'{"txn_id":"C%d","status":"FAILED","code":"51","error":{"code":"x"}}' % i
             for i in range(400)]
    clean.insert(217, line)
    path = tmp_path / "one.jsonl"
    path.write_bytes(b"\n".join(clean) + b"\n")
    items = _guarded_read(path, InputFormat.JSONL)
    flagged = [item for item in items if isinstance(item, Unreadable)]
    assert [(u.line, u.detail) for u in flagged] == [(218, f"key '{twice}' given twice")]
    assert len(items) == 401


def test_the_stack_trace_of_a_refused_logfmt_line_is_not_read_as_records(tmp_path: Path) -> None:
    path = tmp_path / "trace.log"
    path.write_bytes(b"txn=L1 status=FAILED code=51 code=05 msg=boom\n"
                     b"java.net.SocketTimeoutException: Read timed out\n"
                     b"\tat com.pay.Gateway.call(Gateway.java:42)\n"
                     b"txn=L2 status=FAILED code=51\n")
    items = _guarded_read(path, InputFormat.LOGFMT)
    assert [type(item).__name__ for item in items] == ["Unreadable", "tuple"]
    assert items[0].cause.value == "duplicate_key"  # type: ignore[union-attr]


def test_a_blank_cell_does_not_fill_a_column_given_twice(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("txn_id,code,status,code\nB1,51,FAILED, \n", encoding="utf-8")
    items = _guarded_read(path, InputFormat.CSV)
    assert isinstance(items[0], tuple) and items[0][1]["txn_id"] == "B1"
