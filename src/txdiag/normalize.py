"""Normalize raw records (parsed JSON objects, CSV rows, ...) into the fields txdiag reasons about.

Two steps, so the hot path stays cheap:

1. :meth:`Normalizer.extract` picks the fields out of a mapping by their known names, decides
   whether the record is a failure, and returns a small :class:`Extracted` (no validation, no
   timestamp parsing).
2. :meth:`Normalizer.to_record` turns an :class:`Extracted` into the validated pydantic
   :class:`~txdiag.models.Record` (timestamps, Decimal amounts), only for rows that are shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from decimal import Decimal, InvalidOperation
from fnmatch import fnmatchcase
from functools import cache
from typing import TYPE_CHECKING, Any

from txdiag.diagnosis import CodeValue
from txdiag.fields import FIELDS, Kind, field_names
from txdiag.rulebook import Rulebook
from txdiag.timeparse import parse_timestamp

if TYPE_CHECKING:
    from txdiag.models import Record, SourceRef

NORMALIZED_FIELDS = field_names()
"""The normalized fields, in the order of the field table (:mod:`txdiag.fields`)."""

VERDICT_FIELDS = frozenset(spec.name for spec in FIELDS if spec.verdict)
"""The fields that decide whether a record failed: a key feeding one of them given twice in
a JSON record is not believed either way (:class:`~txdiag.readers.KeyGuard`)."""

# Source field names recognised out of the box, most specific first (the field table's
# aliases). For error codes every name present is kept (a record may carry Alipay code +
# sub_code); for the other fields the first wins.
DEFAULT_ALIASES: dict[str, tuple[str, ...]] = {spec.name: spec.aliases for spec in FIELDS}


MINOR_UNIT_AMOUNTS = frozenset({"total_fee", "txnAmt", "amount.total"})
"""Amount names whose value is in the currency's minor unit (fen, cents) by the API that
defines them: WeChat Pay's ``total_fee`` (v2) and ``amount.total`` (v3, an object holding
``total`` and ``currency``) and UnionPay's ``txnAmt`` (``1999`` is 19.99 yuan).
Wherever one feeds ``amount`` (the default names, a profile, ``--map``), its value is read as
a whole number of fen and kept in yuan (:func:`minor_to_major`)."""


class FieldMap:
    """Which source fields (dotted paths into nested objects) feed each normalized field.

    Lookups are precomputed: one dictionary maps a top-level key (and its lower-cased form) to
    its field and rank; dotted paths are grouped under their first segment. A segment holding
    ``*`` matches any key (``*_response.sub_code`` finds Alipay's wrapped answers).
    """

    def __init__(self, aliases: Mapping[str, Sequence[str]],
                 minor_units: Iterable[str] = ()) -> None:
        unknown = set(aliases) - set(NORMALIZED_FIELDS)
        if unknown:
            raise ValueError(f"unknown normalized field(s): {', '.join(sorted(unknown))}")
        self.aliases = {name: tuple(paths) for name, paths in aliases.items()}
        self.top: dict[str, tuple[str, int]] = {}
        self.nested: dict[str, list[tuple[tuple[str, ...], str, int]]] = {}
        self.wild: list[tuple[str, tuple[str, ...], str, int]] = []
        for name, paths in self.aliases.items():
            for rank, path in enumerate(paths):
                head, _, rest = path.partition(".")
                if not rest or head == "@timestamp":
                    self.top.setdefault(path, (name, rank))
                elif "*" in head:
                    self.wild.append((head, tuple(rest.split(".")), name, rank))
                else:
                    self.nested.setdefault(head, []).append((tuple(rest.split(".")), name, rank))
        for key, slot in list(self.top.items()):
            self.top.setdefault(key.lower(), slot)
        self.minor_units = MINOR_UNIT_AMOUNTS | frozenset(minor_units)
        """The amount names read in minor units: :data:`MINOR_UNIT_AMOUNTS` and a profile's own
        (``amount_minor_units``)."""
        self.minor_unit_ranks = frozenset(
            rank for rank, path in enumerate(self.aliases.get("amount", ()))
            if path in self.minor_units)
        """The ranks of the ``amount`` names in minor units."""

    @classmethod
    def default(cls) -> FieldMap:
        return cls(DEFAULT_ALIASES)

    def with_overrides(self, overrides: Mapping[str, Sequence[str]],
                       minor_units: Iterable[str] = ()) -> FieldMap:
        """This map with some fields' sources replaced (``--map field=path`` and profiles), and
        more amount names read in minor units."""
        return FieldMap({**self.aliases, **{k: tuple(v) for k, v in overrides.items()}},
                        self.minor_units | frozenset(minor_units))

    def in_minor_units(self, key: str) -> bool:
        """Whether a top-level key feeds ``amount`` in minor units (fen)."""
        slot = self.top.get(key) or self.top.get(key.lower())
        return slot is not None and slot[0] == "amount" and slot[1] in self.minor_unit_ranks

    def decides_verdict(self, key: str) -> bool:
        """Whether a top-level key feeds a field of :data:`VERDICT_FIELDS` (itself, or by a
        nested path below it)."""
        slot = self.top.get(key) or self.top.get(key.lower())
        if slot is not None and slot[0] in VERDICT_FIELDS:
            return True
        return any(name in VERDICT_FIELDS for _, name, _ in self.nested_paths(key))

    def nested_paths(self, key: str) -> list[tuple[tuple[str, ...], str, int]]:
        """The paths below a top-level key holding an object."""
        found = self.nested.get(key, [])
        if self.wild:
            found = found + [(rest, name, rank) for head, rest, name, rank in self.wild
                             if fnmatchcase(key, head)]
        return found


def walk(value: Any, path: Sequence[str]) -> Any:
    """Follow a dotted path into nested mappings; ``*`` segments match any key (first hit)."""
    for part in path:
        if not isinstance(value, dict):
            return None
        if "*" in part:
            value = next((v for k, v in value.items() if fnmatchcase(k, part)), None)
        else:
            value = value.get(part)
    return value


@dataclass(slots=True)
class Extracted:
    """The fields of one record as found, before validation. Cheap to build on the hot path."""

    txn_id: str | None = None
    timestamp: Any = None
    status: str | None = None
    channel: str | None = None
    codes: tuple[tuple[str, str], ...] = ()
    message: str | None = None
    http_status: int | None = None
    latency_ms: float | None = None
    amount: Any = None
    currency: str | None = None
    installments: Any = None
    user_id: str | None = None
    failed: bool = False
    status_for_rules: str | None = None
    """The status as rules see it: a source-specific word (a profile's status_map) is replaced
    by its kind (``pending``, ``failed``), so shared status rules still apply."""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def error_code(self) -> str | None:
        return self.codes[0][1] if self.codes else None

    @property
    def error_message(self) -> str | None:
        """:attr:`message` by its field's name: every field of the table is an attribute."""
        return self.message


def text_value(value: Any) -> str | None:
    if value.__class__ is str:  # the common case first
        return value.strip() or None
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = value.strip() if isinstance(value, str) else str(value)
    return text or None


"""A text field's value as :meth:`Normalizer.extract` keeps it: stripped, None when empty or
not a scalar."""


def number_value(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # 400 digits overflow a float
        return None
    return number if number == number and abs(number) != float("inf") else None


MAX_PLANS = 4096
"""Distinct key sets whose extraction plan is kept (a log has a handful; this bounds memory)."""

MAX_DERIVED = 4096
"""Distinct combinations of deciding values whose consequences are kept."""

_RawFields = tuple[Any, Any, Any, Any, Any, Any, Any, Any, Any, Any, Any,
                   list[tuple[int, str, str]]]
"""What a compiled reader returns: the winning raw value of every field but the codes (None:
none), in :data:`_READ_ORDER`, then the codes as (rank, source, text)."""
_DeriveKey = tuple[str | None, str | None, str | None, float | None, bool,
                   tuple[tuple[str, str], ...]]
"""(channel, status, message as text, HTTP status as a number, no transaction id, codes)."""
_Derived = tuple[str | None, tuple[tuple[str, str], ...], str | None, str | None, int | None,
                 bool, str | None]
_DerivedBase = tuple[str | None, tuple[tuple[str, str], ...], int | None, bool | None, str | None]
"""(channel, codes, HTTP status, failed or None when the message says, status for rules)."""
UNUSABLE: Any = ("unusable",)
"""The derivation of a record with none of the fields txdiag can use."""

_READ_ORDER = tuple(spec.name for spec in FIELDS if spec.kind != "codes")
"""The fields a compiled reader returns one value of, in the field table's order (the codes
come last, all of them)."""


def _compile_reader(
    candidates: Mapping[str, Sequence[tuple[int, int, int, Any, tuple[str, ...] | None, str]]],
    minor_unit_ranks: frozenset[int] = frozenset(),
) -> Callable[[Mapping[str, Any]], _RawFields]:
    """Generate straight-line code reading one shape's fields (see ``Normalizer._reader``).

    A plain key feeds its field when its value is not None, not "" and not an object; a nested
    path feeds when the key holds an object and the path's value is not None and not "".
    Keys and paths enter the code as constants from a tuple, never as source text. An
    ``amount`` found under a name of ``minor_unit_ranks`` is converted to major units.
    """
    consts: list[Any] = []

    def const(value: Any) -> str:
        consts.append(value)
        return f"c{len(consts) - 1}"

    lines: list[str] = []

    def emit_field(found: Sequence[tuple[int, int, int, Any, tuple[str, ...] | None, str]],
                   target: str, indent: str, minor: frozenset[int] = frozenset()) -> None:
        if not found:
            lines.append(f"{indent}{target} = None")
            return
        rank, _, _, key, path, _ = found[0]
        lines.append(f"{indent}v = d[{const(key)}]")
        if path is None:
            lines.append(f"{indent}if v is None or v == '' or isinstance(v, dict):")
        else:
            lines.append(f"{indent}if isinstance(v, dict):")
            lines.append(f"{indent}    v = walk(v, {const(path)})")
            lines.append(f"{indent}else:")
            lines.append(f"{indent}    v = None")
            lines.append(f"{indent}if v is None or v == '':")
        emit_field(found[1:], target, indent + "    ", minor)
        lines.append(f"{indent}else:")
        lines.append(f"{indent}    {target} = {'major(v)' if rank in minor else 'v'}")

    for index, name in enumerate(_READ_ORDER):
        emit_field(candidates.get(name, ()), f"f{index}", "    ",
                   minor_unit_ranks if name == "amount" else frozenset())
    lines.append("    codes = []")
    for rank, _, _, key, path, source in candidates.get("error_code", ()):
        lines.append(f"    v = d[{const(key)}]")
        if path is None:
            lines.append("    if not (v is None or v == '' or isinstance(v, dict)):")
        else:
            lines.append("    if isinstance(v, dict):")
            lines.append(f"        v = walk(v, {const(path)})")
            lines.append("        if not (v is None or v == ''):")
            lines.append("            pass")
            lines.append("        else:")
            lines.append("            v = None")
            lines.append("    else:")
            lines.append("        v = None")
            lines.append("    if v is not None:")
        lines.append("        t = text(v)")
        lines.append("        if t is not None:")
        lines.append(f"            codes.append(({rank}, {const(source)}, t))")
    lines.append("    if len(codes) > 1:")
    lines.append("        codes.sort()")
    fields = ", ".join(f"f{index}" for index in range(len(_READ_ORDER)))
    lines.append(f"    return ({fields}, codes)")
    # Constants and helpers arrive as default arguments: locals are the fastest lookups.
    params = "".join(f", c{index}=C[{index}]" for index in range(len(consts)))
    lines.insert(0, f"def read(d, walk=walk, text=text, major=major, isinstance=isinstance, "
                    f"dict=dict{params}):")
    namespace: dict[str, Any] = {"C": tuple(consts), "walk": walk, "text": text_value,
                                 "major": minor_to_major}
    exec(compile("\n".join(lines), "<txdiag shape reader>", "exec"), namespace)  # noqa: S102
    reader: Callable[[Mapping[str, Any]], _RawFields] = namespace["read"]
    return reader


class Normalizer:
    """Extracts fields with a :class:`FieldMap` and decides success or failure by the rulebook."""

    def __init__(
        self,
        rulebook: Rulebook,
        field_map: FieldMap | None = None,
        *,
        assume_tz: tzinfo = UTC,
        constants: Mapping[str, str] | None = None,
        status_values: Mapping[str, str] | None = None,
    ) -> None:
        self.rulebook = rulebook
        self.field_map = field_map or FieldMap.default()
        self.assume_tz = assume_tz
        self.constants = dict(constants or {})
        """Values for fields the source never carries (a profile's ``constants``)."""
        self.status_values = {k.strip().lower(): v for k, v in (status_values or {}).items()}
        """Source-specific status words, consulted before the rulebook's vocabulary."""
        self._channels: dict[str, str] = {}
        self._readers: dict[tuple[Any, ...], Callable[[Mapping[str, Any]], _RawFields]] = {}
        self._derived: dict[_DeriveKey, _Derived] = {}
        self._bases: dict[tuple[str | None, str | None, float | None,
                                tuple[tuple[str, str], ...]], _DerivedBase] = {}

    def extract(self, data: Mapping[str, Any]) -> Extracted | None:
        """The record's fields, or ``None`` when it has none txdiag can use.

        What each key of a record means depends only on the key, so the lookups are done once
        per distinct set of keys (a "shape": logs have a handful), compiled into a small
        function; and what follows from the values that decide (channel, status, codes,
        message, HTTP status) is worked out once per distinct combination of them.
        """
        shape = tuple(data)
        read = self._readers.get(shape)
        if read is None:
            read = self._reader(shape)
        (txn_id, timestamp, status, channel, message, http_status, latency_ms, amount,
         currency, installments, user_id, raw_codes) = read(data)
        if self.constants:
            constants = self.constants
            txn_id = constants.get("txn_id") if txn_id is None else txn_id
            timestamp = constants.get("timestamp") if timestamp is None else timestamp
            status = constants.get("status") if status is None else status
            channel = constants.get("channel") if channel is None else channel
            message = constants.get("error_message") if message is None else message
            http_status = constants.get("http_status") if http_status is None else http_status
            latency_ms = constants.get("latency_ms") if latency_ms is None else latency_ms
            amount = constants.get("amount") if amount is None else amount
            currency = constants.get("currency") if currency is None else currency
            installments = (constants.get("installments") if installments is None
                            else installments)
            user_id = constants.get("user_id") if user_id is None else user_id
        txn_text = text_value(txn_id)
        key = (text_value(channel), text_value(status), text_value(message),
               number_value(http_status), txn_text is None,
               tuple([(source, code) for _, source, code in raw_codes]))
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derive(key)
        if derived is UNUSABLE:
            return None
        channel_id, codes, status_text, message_text, http_code, failed, for_rules = derived
        return Extracted(
            txn_id=txn_text,
            timestamp=timestamp,
            status=status_text,
            channel=channel_id,
            codes=codes,
            message=message_text,
            http_status=http_code,
            latency_ms=number_value(latency_ms),
            amount=amount,
            currency=text_value(currency),
            installments=installments,
            user_id=text_value(user_id),
            failed=failed,
            status_for_rules=for_rules,
        )

    def derive(self, data: Mapping[str, Any]) -> _Derived | None:
        """What decides a record's outcome, as :meth:`extract` finds it: (channel, codes,
        status, message, HTTP status, failed, status for rules); None when unusable. For
        callers that need no :class:`Extracted` (the summary's fast path)."""
        shape = tuple(data)
        read = self._readers.get(shape)
        if read is None:
            read = self._reader(shape)
        txn_id, _, status, channel, message, http_status, _, _, _, _, _, raw_codes = read(data)
        if self.constants:
            constants = self.constants
            txn_id = constants.get("txn_id") if txn_id is None else txn_id
            status = constants.get("status") if status is None else status
            channel = constants.get("channel") if channel is None else channel
            message = constants.get("error_message") if message is None else message
            http_status = constants.get("http_status") if http_status is None else http_status
        key = (text_value(channel), text_value(status), text_value(message),
               number_value(http_status), text_value(txn_id) is None,
               tuple([(source, code) for _, source, code in raw_codes]))
        derived = self._derived.get(key)
        if derived is None:
            derived = self._derive(key)
        return None if derived is UNUSABLE else derived

    def _derive(self, key: _DeriveKey) -> _Derived:
        """What the deciding values imply: :meth:`_assemble` and :meth:`_is_failure`, step by
        step, on values already made text (and kept for the next record like them). All but
        the message is worked out once per combination (:meth:`_derive_base`): a message
        holding an order number is new in nearly every record."""
        channel_raw, status, message, http_status, no_txn, raw_codes = key
        base_key = (channel_raw, status, http_status, raw_codes)
        base = self._bases.get(base_key)
        if base is None:
            base = self._derive_base(base_key)
        channel, codes, http_code, failed, for_rules = base
        derived: _Derived
        if failed is not None:
            derived = (channel, codes, status, message, http_code, failed, for_rules)
        elif message is not None:
            derived = (channel, codes, status, message, http_code,
                       self.status_kind(message) != "success", for_rules)
        elif no_txn and http_status is None:
            derived = UNUSABLE
        else:
            derived = (channel, codes, status, message, http_code,
                       http_code is not None and http_code >= 400, for_rules)
        if len(self._derived) >= MAX_DERIVED:
            self._derived.clear()
        self._derived[key] = derived
        return derived

    def _derive_base(self, key: tuple[str | None, str | None, float | None,
                                      tuple[tuple[str, str], ...]]) -> _DerivedBase:
        """What the channel, status, HTTP status and codes imply: the canonical channel, the
        codes that are not success codes, the HTTP status as a number, whether the record
        failed (None: its message, else its HTTP status, says) and the status rules see."""
        channel_raw, status, http_status, raw_codes = key
        channel = None
        if channel_raw is not None:
            channel = self._channels.get(channel_raw)
            if channel is None:
                channel = self._channels[channel_raw] = (
                    self.rulebook.canonical_channel(channel_raw))
        is_success_code = self.rulebook.is_success_code
        codes = tuple((source, code) for source, code in raw_codes
                      if not is_success_code(code.upper(), channel))
        http_code = int(http_status) if http_status is not None else None
        failed: bool | None = None
        if status is not None:
            kind = self.status_kind(status)
            failed = kind != "success" if kind is not None else bool(codes)
        elif codes:
            failed = True
        elif raw_codes:
            failed = False  # only success codes, whatever the message says ("OK")
        for_rules = None
        if status is not None:
            mapped = (self.status_values.get(status.strip().lower())
                      if self.status_values else None)
            for_rules = {"failure": "failed"}.get(mapped, mapped) if mapped else status
        base = (channel, codes, http_code, failed, for_rules)
        if len(self._bases) >= MAX_DERIVED:
            self._bases.clear()
        self._bases[key] = base
        return base

    def _reader(self, shape: tuple[Any, ...]) -> Callable[[Mapping[str, Any]], _RawFields]:
        """Compile the reader of one shape: for every field, the keys (and nested paths) that
        can feed it in precedence order (rank, then position in the record), each tried until
        one holds a value, as :meth:`extract_generic` decides key by key."""
        top = self.field_map.top
        candidates: dict[str, list[tuple[int, int, int, Any, tuple[str, ...] | None, str]]] = {}
        for position, key in enumerate(shape):
            slot = top.get(key)
            if slot is None and isinstance(key, str):
                slot = top.get(key.lower())
            if slot is not None:
                candidates.setdefault(slot[0], []).append((slot[1], position, 0, key, None, key))
            for sub, (path, name, rank) in enumerate(self.field_map.nested_paths(key), 1):
                candidates.setdefault(name, []).append(
                    (rank, position, sub, key, tuple(path), f"{key}.{'.'.join(path)}"))
        reader = _compile_reader(
            {name: sorted(found, key=lambda c: c[:3]) for name, found in candidates.items()},
            self.field_map.minor_unit_ranks)
        if len(self._readers) >= MAX_PLANS:
            self._readers.clear()
        self._readers[shape] = reader
        return reader

    def extract_generic(self, data: Mapping[str, Any]) -> Extracted | None:
        """:meth:`extract` without plans: key by key, the reference the plans are tested against."""
        top = self.field_map.top
        nested = self.field_map.nested_paths
        found: dict[str, tuple[int, Any]] = {}
        codes: list[tuple[int, str, str]] = []
        for key, value in data.items():
            if isinstance(value, dict):
                for path, name, rank in nested(key):
                    self._take(found, codes, name, rank, f"{key}.{'.'.join(path)}",
                               walk(value, path))
                continue
            slot = top.get(key)
            if slot is None:
                slot = top.get(key.lower()) if isinstance(key, str) else None
                if slot is None:
                    continue
            self._take(found, codes, slot[0], slot[1], key, value)
        return self._assemble(found, codes)

    @staticmethod
    def _take(
        found: dict[str, tuple[int, Any]],
        codes: list[tuple[int, str, str]],
        name: str,
        rank: int,
        source_key: str,
        value: Any,
    ) -> None:
        if value is None or value == "":
            return
        if name == "error_code":
            text = text_value(value)
            if text is not None:
                codes.append((rank, source_key, text))
            return
        previous = found.get(name)
        if previous is None or rank < previous[0]:
            found[name] = (rank, value)

    def _assemble(
        self, found: dict[str, tuple[int, Any]], raw_codes: list[tuple[int, str, str]]
    ) -> Extracted | None:
        constants = self.constants

        def get(name: str) -> Any:
            slot = found.get(name)
            return slot[1] if slot is not None else constants.get(name)

        amount = get("amount")
        if "amount" in found and found["amount"][0] in self.field_map.minor_unit_ranks:
            amount = minor_to_major(amount)

        channel_raw = text_value(get("channel"))
        channel = None
        if channel_raw is not None:
            channel = self._channels.get(channel_raw)
            if channel is None:
                channel = self._channels[channel_raw] = self.rulebook.canonical_channel(channel_raw)
        raw_codes.sort()
        codes = tuple(
            (key, code)
            for _, key, code in raw_codes
            if not self.rulebook.is_success_code(code.upper(), channel)
        )
        status = text_value(get("status"))
        message = text_value(get("error_message"))
        http_status = number_value(get("http_status"))
        txn_id = text_value(get("txn_id"))
        if (
            txn_id is None and status is None and not raw_codes and message is None
            and http_status is None
        ):
            return None
        status_http = int(http_status) if http_status is not None else None
        extracted = Extracted(
            txn_id=txn_id,
            timestamp=get("timestamp"),
            status=status,
            channel=channel,
            codes=codes,
            message=message,
            http_status=status_http,
            latency_ms=number_value(get("latency_ms")),
            amount=amount,
            currency=text_value(get("currency")),
            installments=get("installments"),
            user_id=text_value(get("user_id")),
        )
        extracted.failed = self._is_failure(extracted, bool(raw_codes))
        if status is not None:
            mapped = self.status_values.get(status.strip().lower()) if self.status_values else None
            extracted.status_for_rules = (
                {"failure": "failed"}.get(mapped, mapped) if mapped else status
            )
        return extracted

    def _is_failure(self, ex: Extracted, had_codes: bool) -> bool:
        """A failure when the status says so; with no known status, when an error is carried."""
        if ex.status is not None:
            kind = self.status_kind(ex.status)
            if kind is not None:
                return kind != "success"
            # An unrecognised status ("refunded", "created") is not a failure by itself.
            return bool(ex.codes)
        if ex.codes:
            return True
        if had_codes:
            return False  # only success codes, whatever the message says ("OK")
        if ex.message is not None:
            return self.status_kind(ex.message) != "success"
        return ex.http_status is not None and ex.http_status >= 400

    def status_kind(self, status: str) -> str | None:
        """success, failure or pending, by the source's own words first, then the rulebook's."""
        if self.status_values:
            kind = self.status_values.get(status.strip().lower())
            if kind is not None:
                return kind
        return self.rulebook.status_kind(status)

    def to_record(self, ex: Extracted, source: SourceRef) -> Record:
        """The :class:`Record`; an unparseable optional value becomes ``None``.

        Every value is already of its field's type here (text or None, an aware time, a
        ``Decimal``, whole numbers), so the model is built without validating it again:
        ``diagnose`` builds one per failure shown.
        """
        return record_builder()(ex, self.assume_tz, source)


_THOUSANDS = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")


def decimal_value(value: Any) -> Decimal | None:
    """An amount; None when it cannot be read for sure. Commas are read only as thousands
    separators in groups of three (``1,299.00``): ``1.000,50`` (decimal comma) and ``1,0,0``
    are refused rather than read as 1.0005 and 100, and so are non-ASCII digits."""
    if value is None or isinstance(value, bool):
        return None
    # str() first: a float from JSON becomes its shortest round-trip text, never binary noise.
    text = str(value).strip()
    if not text.isascii():
        return None
    if "," in text:
        if _THOUSANDS.fullmatch(text) is None:
            return None
        text = text.replace(",", "")
    try:
        amount = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None


def minor_to_major(value: Any) -> Decimal | None:
    """An amount in minor units (fen) in major units (yuan), exactly: ``1999`` is
    ``Decimal("19.99")``; None when it is not a whole number of fen."""
    amount = decimal_value(value)
    if amount is None or amount != amount.to_integral_value():
        return None
    return Decimal(int(amount)).scaleb(-2)


def int_value(value: Any) -> int | None:
    number = number_value(value)
    return int(number) if number is not None and number.is_integer() else None


RECORD_CONVERTERS: dict[Kind, Callable[[Any], Any]] = {"decimal": decimal_value,
                                                      "integer": int_value}
"""The conversion :meth:`Normalizer.to_record` gives a value of each kind of the field table
(:data:`txdiag.fields.Kind`) that :meth:`Normalizer.extract` keeps as found; text and numbers
are converted there already."""


@cache
def record_builder() -> Callable[[Extracted, tzinfo, SourceRef], Record]:
    """What :meth:`Normalizer.to_record` runs per failure shown: the
    :class:`~txdiag.models.Record` of an :class:`Extracted`, one attribute per field of the
    table (a timestamp parsed, with its original text beside it; every code), built by
    straight-line code generated from the table (on first use: pydantic is loaded only once
    rows are shown). Names enter the code only as identifiers (checked) and constants."""
    from txdiag.models import Record

    items: list[str] = []
    for spec in FIELDS:
        if not spec.name.isidentifier():
            raise ValueError(f"a field name must be an identifier: {spec.name!r}")
        value = f"ex.{spec.name}"
        if spec.kind == "timestamp":
            items += [f"{spec.name}=parse({value}, tz)", f"{spec.companion}=text({value})"]
        elif spec.kind == "codes":
            items += [f"{spec.name}={value}",
                      f"{spec.companion}=tuple(Code(f, v) for f, v in ex.codes)"]
        elif spec.kind in RECORD_CONVERTERS:
            items.append(f"{spec.name}=convert[{spec.kind!r}]({value})")
        else:
            items.append(f"{spec.name}={value}")
    source = ("def build(ex, tz, source, parse=parse, text=text, Code=Code, convert=convert, "
              "construct=construct):\n"
              f"    return construct({', '.join(items)}, source=source)")
    namespace: dict[str, Any] = {"parse": parse_timestamp, "text": text_value,
                                 "Code": CodeValue, "convert": RECORD_CONVERTERS,
                                 "construct": Record.model_construct}
    exec(compile(source, "<txdiag record builder>", "exec"), namespace)  # noqa: S102
    build: Callable[[Extracted, tzinfo, SourceRef], Record] = namespace["build"]
    return build
