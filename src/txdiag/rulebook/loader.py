"""Load rule files, validate them and merge them into one :class:`Rulebook`.

The shipped rulebook, once validated and merged, is kept as a snapshot in the user cache
directory; a process that needs only the shipped rules reads it back without pydantic (which
is most of a start-up) and validates a rule file only if it asks for its definitions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from txdiag.concepts import check_concept, parse_combination
from txdiag.errors import RulebookError
from txdiag.rulebook.cache import (
    SNAPSHOT_FORMAT,
    parse_shipped,
    read_snapshot,
    shipped_texts,
    write_snapshot,
)
from txdiag.rulebook.resolved import ChannelDef, ConceptDef, ReasonDef, Rule, parse_status_range
from txdiag.safety import quoted, shown
from txdiag.tomlfile import read_toml
from txdiag.vocabulary import LocalizedText, Retryable

if TYPE_CHECKING:
    from pydantic import ValidationError

    from txdiag.rulebook.model import RuleDef, RuleFile

StatusKind = Literal["success", "failure", "pending"]
NO_MATCH_REASON = "unknown.no_match"


@dataclass(frozen=True, slots=True)
class LoadedFile:
    """A validated rule file and where it came from."""

    path: str
    content: RuleFile
    user: bool


def read_rule_file(path: Path | str, *, user: bool = True, text: str | None = None) -> LoadedFile:
    """Parse and validate one rule file; any problem is a one-line :class:`RulebookError`.

    The error text is safe to print as it is: the file name, rule ids and values it quotes are
    masked (:func:`~txdiag.safety.mask_text`) and their control characters made visible.
    """
    import tomllib

    from pydantic import ValidationError

    from txdiag.rulebook.model import RuleFile

    name = str(path)
    try:
        if text is None:
            raw = _read_toml(Path(path))
        elif not user:
            raw = parse_shipped(text)
        else:
            raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError(f"{shown(name)}: not valid TOML: {shown(exc)}") from None
    try:
        content = RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise RulebookError(_describe(name, raw, exc)) from None
    return LoadedFile(name, content, user)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return read_toml(path, "rule file", RulebookError)
    except FileNotFoundError:
        raise RulebookError(f"{shown(path)}: rule file not found") from None
    except IsADirectoryError:
        raise RulebookError(f"{shown(path)}: is a directory, not a rule file") from None
    except OSError as exc:
        raise RulebookError(f"{shown(path)}: cannot read rule file: {exc.strerror}") from None


def _describe(name: str, raw: Mapping[str, Any], exc: ValidationError) -> str:
    """The first validation error as ``FILE: rule 'ID' field 'F': what is wrong``.

    Only pydantic's message is used, never the offending input value. The file name, the rule
    id (the locator) and the field name (an unknown key is one) are written masked and visible,
    so a rule file cannot smuggle personal data or control characters into an error.
    """
    error = exc.errors(include_input=False, include_url=False)[0]
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] in {"rules", "reasons", "channels"} and isinstance(loc[1], int):
        section, index = str(loc[0]), loc[1]
        entries = raw.get(section)
        entry_id = None
        if isinstance(entries, list) and index < len(entries) and isinstance(entries[index], dict):
            entry_id = entries[index].get("id")
        kind = section.rstrip("s")
        where = f"{kind} " + (quoted(entry_id) if isinstance(entry_id, str) else f"#{index + 1}")
        loc = loc[2:]
    field = ".".join(str(part) for part in loc)
    parts = [shown(name) + ":", where, f"field {quoted(field)}:" if field else ""]
    prefix = " ".join(p for p in parts if p)
    if not field and where:
        prefix += ":"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
        # (the second: an unknown field of a reason, a channel or a text, plain dataclasses)
        message = "unknown field (check the spelling)"
    return f"{prefix} {message}"


def shipped_files() -> list[LoadedFile]:
    """The rule files shipped inside the package, in precedence order."""
    return list(_shipped_files())


@cache
def _shipped_files() -> tuple[LoadedFile, ...]:
    files = [
        read_rule_file(f"txdiag/rulebook/data/{name}", user=False, text=text)
        for name, text in shipped_texts()
    ]
    files.sort(key=lambda f: f.content.pack.order)
    return tuple(files)


def _shipped_rulebook() -> Rulebook:
    """The shipped rulebook from its snapshot; when there is none (or a damaged one), from the
    validated rule files, and the snapshot is written for the next time. A cache that cannot
    be read or written is ignored."""
    data = read_snapshot()
    if data:
        with contextlib.suppress(KeyError, TypeError, ValueError, AttributeError):
            return Rulebook.from_snapshot(data)
    rulebook = Rulebook(_shipped_files())
    write_snapshot(rulebook.snapshot())
    return rulebook


def _said(value: bool | None, replaced: bool | None) -> bool | None:
    """A channel flag: as declared, else as the declaration it replaces said (None: never
    said, which reads as no)."""
    return replaced if value is None else value


def _text(data: Mapping[str, str]) -> LocalizedText:
    return LocalizedText(data["en"], data["zh"])


class Rulebook:
    """The merged rulebook: reasons, channels, status vocabulary and resolved rules in order."""

    def __init__(self, files: Sequence[LoadedFile]) -> None:
        self._files: tuple[LoadedFile, ...] | None = tuple(files)
        self.reasons: dict[str, ReasonDef] = {}
        self.channels: dict[str, ChannelDef] = {}
        self.concepts: dict[str, ConceptDef] = {}
        self.char_folds: dict[str, str] = {}
        self._aliases: dict[str, str] = {}
        self._status: dict[str, StatusKind] = {}
        self._success_codes: set[str] = set()
        self._channel_success: dict[str, set[str]] = {}
        for loaded in self.files:
            self._add_vocabulary(loaded)
        if NO_MATCH_REASON not in self.reasons:
            raise RulebookError(f"the rulebook defines no {NO_MATCH_REASON!r} reason")
        self.rules: tuple[Rule, ...] = self._resolve_rules()
        self._by_id = {rule.id: rule for rule in self.rules}

    @property
    def files(self) -> tuple[LoadedFile, ...]:
        """The validated rule files it was merged from (a snapshot's are validated now)."""
        if self._files is None:
            self._files = _shipped_files()
        return self._files

    def definition(self, rule: Rule) -> RuleDef | None:
        """The rule as its file wrote it."""
        if rule.definition is not None:
            return rule.definition
        found = None
        for loaded in self.files:  # the last file defining the id is the one that counts
            for definition in loaded.content.rules:
                if definition.id == rule.id:
                    found = definition
        return found

    # -- the snapshot ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Everything the shipped rulebook knows as plain JSON data; :meth:`from_snapshot`
        reads it. Only the shipped rulebook has one: a snapshot keeps no rule file, and the
        definitions (``rules export``) are read again from the shipped files."""
        if self._files is not None and self._files != _shipped_files():
            raise ValueError("only the shipped rulebook has a snapshot (user rule files are "
                             "validated on every run)")

        def text(value: LocalizedText) -> dict[str, str]:
            return {"en": value.en, "zh": value.zh}

        def rule(r: Rule) -> dict[str, Any]:
            reason = self.reasons[r.reason]
            return {
                "id": r.id, "reason": r.reason,
                "retryable": None if r.retryable is reason.retryable else r.retryable.value,
                "hint": None if r.hint == reason.hint else text(r.hint),
                "action": None if r.action == reason.action else text(r.action),
                "selector": r.selector, "channel": r.channel, "fallback": r.fallback,
                "source": r.source, "pack": r.pack, "origin": r.origin, "user": r.user,
                "codes": r.codes, "messages": r.messages,
                "concepts": [list(c) for c in r.concepts], "http_status": r.http_status,
                "min_latency_ms": r.min_latency_ms, "statuses": r.statuses,
            }

        return {
            "format": SNAPSHOT_FORMAT,
            "reasons": [
                {"id": r.id, "title": text(r.title), "description": text(r.description),
                 "retryable": r.retryable.value, "hint": text(r.hint), "action": text(r.action)}
                for r in self.reasons.values()
            ],
            "channels": [
                {"id": c.id, "title": c.title, "aliases": c.aliases,
                 "success_codes": c.success_codes, "inherits": c.inherits,
                 "message_first": c.message_first, "shared_numbering": c.shared_numbering}
                for c in self.channels.values()
            ],
            "concepts": [
                {"id": c.id, "terms": c.terms, "title": c.title, "negatable": c.negatable,
                 "exclude": c.exclude}
                for c in self.concepts.values()
            ],
            "char_folds": self.char_folds,
            "aliases": self._aliases,
            "status": self._status,
            "success_codes": sorted(self._success_codes),
            "channel_success": {k: sorted(v) for k, v in self._channel_success.items()},
            "rules": [rule(r) for r in self.rules],
        }

    @classmethod
    def from_snapshot(cls, data: Mapping[str, Any]) -> Rulebook:
        """The shipped rulebook a :meth:`snapshot` was taken of, without validating anything
        again (its rule files are validated if :attr:`files` or :meth:`definition` is asked
        for). The data is trusted: it comes from txdiag's own cache directory."""
        book = cls.__new__(cls)
        book._files = None
        book.reasons = {
            r["id"]: ReasonDef(r["id"], _text(r["title"]), _text(r["description"]),
                               Retryable(r["retryable"]), _text(r["hint"]), _text(r["action"]))
            for r in data["reasons"]
        }
        book.channels = {
            c["id"]: ChannelDef(c["id"], c["title"], list(c["aliases"]), list(c["success_codes"]),
                                list(c["inherits"]), c["shared_numbering"], c["message_first"])
            for c in data["channels"]
        }
        book.concepts = {
            c["id"]: ConceptDef(c["id"], list(c["terms"]), c["title"], c["negatable"],
                                list(c["exclude"]))
            for c in data["concepts"]
        }
        book.char_folds = dict(data["char_folds"])
        book._aliases = dict(data["aliases"])
        book._status = dict(data["status"])
        book._success_codes = set(data["success_codes"])
        book._channel_success = {k: set(v) for k, v in data["channel_success"].items()}
        rules = []
        for r in data["rules"]:
            reason = book.reasons[r["reason"]]
            rules.append(Rule(
                id=r["id"], reason=reason.id, category=reason.category, title=reason.title,
                retryable=Retryable(r["retryable"]) if r["retryable"] else reason.retryable,
                hint=_text(r["hint"]) if r["hint"] else reason.hint,
                action=_text(r["action"]) if r["action"] else reason.action,
                selector=r["selector"], channel=r["channel"], fallback=r["fallback"],
                source=r["source"], pack=r["pack"], origin=r["origin"], user=r["user"],
                codes=tuple(r["codes"]), messages=tuple(r["messages"]),
                concepts=tuple(tuple(c) for c in r["concepts"]),
                http_status=tuple((low, high) for low, high in r["http_status"]),
                min_latency_ms=r["min_latency_ms"], statuses=tuple(r["statuses"]),
            ))
        book.rules = tuple(rules)
        book._by_id = {rule.id: rule for rule in book.rules}
        return book

    # -- building ----------------------------------------------------------------------------

    def _add_vocabulary(self, loaded: LoadedFile) -> None:
        content = loaded.content
        for reason in content.reasons:
            if reason.id in self.reasons and not loaded.user:
                raise RulebookError(
                    f"{shown(loaded.path)}: reason {quoted(reason.id)} is defined twice"
                )
            self.reasons[reason.id] = reason
        for channel in content.channels:
            replaced = self.channels.get(channel.id)
            if replaced is not None and not loaded.user:
                raise RulebookError(
                    f"{shown(loaded.path)}: channel {quoted(channel.id)} is defined twice"
                )
            # A flag the new declaration does not set keeps the value it replaces (a user file
            # adding an alias to iso8583 must not stop bare ISO codes being read).
            channel = replace(
                channel,
                shared_numbering=_said(channel.shared_numbering,
                                       replaced.shared_numbering if replaced else None),
                message_first=_said(channel.message_first,
                                    replaced.message_first if replaced else None))
            self.channels[channel.id] = channel
            self._aliases[channel.id] = channel.id
            for alias in channel.aliases:
                self._aliases[alias.strip().lower()] = channel.id
            self._channel_success[channel.id] = {c.strip().upper() for c in channel.success_codes}
        in_file: set[str] = set()
        for concept in content.concepts:
            if concept.id in in_file or (concept.id in self.concepts and not loaded.user):
                raise RulebookError(
                    f"{shown(loaded.path)}: concept {quoted(concept.id)} is defined twice"
                )
            in_file.add(concept.id)
            try:
                check_concept(concept)
            except ValueError as exc:
                raise RulebookError(
                    f"{shown(loaded.path)}: concept {quoted(concept.id)} {exc}") from None
            # A user file's concept of the same id replaces the shipped one (its rules then
            # read the user's terms).
            self.concepts[concept.id] = concept
        for variant, plain in content.char_folds.items():
            if len(variant) != 1 or len(plain) != 1:
                raise RulebookError(
                    f"{shown(loaded.path)}: char_folds {quoted(variant)} = {quoted(plain)}: "
                    "each side must be one character"
                )
            self.char_folds[variant] = plain
        if content.status is not None:
            for kind in ("success", "failure", "pending"):
                for value in getattr(content.status, kind):
                    self._status[value.strip().lower()] = kind
        self._success_codes.update(c.strip().upper() for c in content.success_codes)

    def _resolve_rules(self) -> tuple[Rule, ...]:
        resolved: dict[str, Rule] = {}
        for loaded in self.files:
            pack = loaded.content.pack
            for definition in loaded.content.rules:
                rule = self._resolve(definition, loaded, pack.id, pack.channel)
                if rule.id in resolved and not loaded.user:
                    raise RulebookError(
                        f"{shown(loaded.path)}: rule {quoted(rule.id)} is defined twice"
                    )
                # A user rule with a shipped rule's id replaces it.
                resolved[rule.id] = rule
        for channel in self.channels.values():
            for parent in channel.inherits:
                if parent not in self.channels:
                    raise RulebookError(
                        f"channel {quoted(channel.id)} inherits unknown channel {quoted(parent)}"
                    )
        self._check_code_clashes(resolved.values())
        # User rules first; otherwise load order (pack order, then file order). Everywhere the
        # classifier looks, the first rule in this order wins.
        return tuple(sorted(resolved.values(), key=lambda r: not r.user))

    @staticmethod
    def _check_code_clashes(rules: Iterable[Rule]) -> None:
        """Two shipped rules claiming the same (channel, code) is a mistake in the rulebook."""
        seen: dict[tuple[str | None, str, bool], Rule] = {}
        for rule in rules:
            if rule.user:
                continue
            for code in rule.codes:
                key = (rule.channel, code, rule.fallback)
                other = seen.setdefault(key, rule)
                if other is not rule:
                    raise RulebookError(
                        f"{shown(rule.origin)}: rule {quoted(rule.id)} claims code {quoted(code)}"
                        f" of channel {quoted(rule.channel or '(any)')}, already claimed by "
                        f"{quoted(other.id)}"
                    )

    def _resolve(self, d: RuleDef, loaded: LoadedFile, pack: str, pack_channel: str | None) -> Rule:
        reason = self.reasons.get(d.reason)
        if reason is None:
            raise RulebookError(
                f"{shown(loaded.path)}: rule {quoted(d.id)} field 'reason': "
                f"unknown reason {quoted(d.reason)}",
                hint="define it in a [[reasons]] entry or use one listed by `txdiag rules list`",
            )
        channel = d.channel if d.channel is not None else pack_channel
        channel = self.canonical_channel(channel) if channel else None
        combinations = tuple(parse_combination(c) for c in d.concepts or ())
        for combination in combinations:
            for concept in combination:
                if concept not in self.concepts:
                    raise RulebookError(
                        f"{shown(loaded.path)}: rule {quoted(d.id)} field 'concepts': "
                        f"unknown concept {quoted(concept)}",
                        hint="define it in a [[concepts]] entry or use one listed by "
                             "`txdiag rules concepts`",
                    )
        return Rule(
            id=d.id,
            reason=reason.id,
            category=reason.category,
            title=reason.title,
            retryable=d.retryable or reason.retryable,
            hint=d.hint or reason.hint,
            action=d.action or reason.action,
            selector=d.selector,
            channel=channel,
            fallback=d.fallback,
            source=d.source,
            pack=pack,
            origin=loaded.path,
            user=loaded.user,
            codes=tuple(c.strip().upper() for c in d.codes or ()),
            messages=tuple(d.messages or ()),
            concepts=combinations,
            http_status=tuple(parse_status_range(str(v)) for v in d.http_status or ()),
            min_latency_ms=d.min_latency_ms,
            statuses=tuple(s.strip().lower() for s in d.statuses or ()),
            definition=d,
        )

    # -- queries -----------------------------------------------------------------------------

    def canonical_channel(self, name: str) -> str:
        """The channel id for a name or alias as it appears in logs (unknown names lower-cased)."""
        key = name.strip().lower()
        return self._aliases.get(key, key)

    def channel_lineage(self, channel: str) -> tuple[str, ...]:
        """The channel followed by the channels it inherits, depth first, without repeats."""
        order: list[str] = []
        pending = [channel]
        while pending:
            current = pending.pop(0)
            if current in order:
                continue
            order.append(current)
            definition = self.channels.get(current)
            if definition is not None:
                pending.extend(definition.inherits)
        return tuple(order)

    def status_words(self) -> dict[str, StatusKind]:
        """Every status word the vocabulary knows, lower-cased, with its kind."""
        return dict(self._status)

    def global_success_codes(self) -> frozenset[str]:
        """Codes that mean "no error" on every channel."""
        return frozenset(self._success_codes)

    def status_kind(self, status: str) -> StatusKind | None:
        return self._status.get(status.strip().lower())

    def is_success_code(self, code: str, channel: str | None) -> bool:
        if code in self._success_codes:
            return True
        return channel is not None and code in self._channel_success.get(channel, ())

    def rule(self, rule_id: str) -> Rule | None:
        return self._by_id.get(rule_id)

    def reason_for(self, reason_id: str) -> ReasonDef:
        return self.reasons[reason_id]


def load_rulebook(user_files: Iterable[Path | str] = (), *, shipped: bool = True) -> Rulebook:
    """The shipped rulebook plus user rule files (user files override shipped rules)."""
    user = list(user_files)
    if shipped and not user:
        return _shipped_rulebook()
    files = shipped_files() if shipped else []
    files.extend(read_rule_file(path, user=True) for path in user)
    return Rulebook(files)
