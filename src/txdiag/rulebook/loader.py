"""Load rule files, validate them and merge them into one :class:`Rulebook`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from txdiag.errors import RulebookError
from txdiag.rulebook.model import (
    ChannelDef,
    ReasonDef,
    Rule,
    RuleDef,
    RuleFile,
    parse_status_range,
)
from txdiag.safety import quoted, shown

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
    name = str(path)
    try:
        if text is None:
            raw = _read_toml(Path(path))
        elif not user:
            raw = _parse_shipped(text)
        else:
            raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RulebookError(f"{shown(name)}: not valid TOML: {shown(exc)}") from None
    try:
        content = RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise RulebookError(_describe(name, raw, exc)) from None
    return LoadedFile(name, content, user)


def cache_dir() -> Path:
    """Where txdiag keeps what it can rebuild: ``$TXDIAG_CACHE_DIR``, else the platform's."""
    chosen = os.environ.get("TXDIAG_CACHE_DIR")
    if chosen:
        return Path(chosen)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / (
            "txdiag") / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "txdiag"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "txdiag"


def _parse_shipped(text: str) -> dict[str, Any]:
    """A shipped rule file parsed, from a JSON copy kept in :func:`cache_dir` when there is one.

    tomllib is pure Python and was most of a start-up; ``json`` reads the same data in C. The
    copy is named after a hash of the text, so an edited file is parsed afresh, and it is plain
    data: validation still runs on it. A cache that cannot be read or written is ignored.
    """
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
    cached = cache_dir() / f"rules-{digest}.json"
    try:
        with cached.open(encoding="utf-8") as handle:
            data = json.load(handle)
        if isinstance(data, dict):
            return data
    except (OSError, ValueError):
        pass
    raw = tomllib.loads(text)
    try:
        encoded = json.dumps(raw, ensure_ascii=False)  # TOML dates would not survive: skip
    except (TypeError, ValueError):
        return raw
    with contextlib.suppress(OSError):
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(encoded, encoding="utf-8")
        os.replace(partial, cached)
    return raw


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
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
    if error["type"] == "extra_forbidden":
        message = "unknown field (check the spelling)"
    return f"{prefix} {message}"


def shipped_files() -> list[LoadedFile]:
    """The rule files shipped inside the package, in precedence order."""
    return list(_shipped_files())


@cache
def _shipped_files() -> tuple[LoadedFile, ...]:
    data = resources.files("txdiag.rulebook") / "data"
    files = [
        read_rule_file(
            f"txdiag/rulebook/data/{entry.name}", user=False, text=entry.read_text("utf-8")
        )
        for entry in sorted(data.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]
    files.sort(key=lambda f: f.content.pack.order)
    return tuple(files)


class Rulebook:
    """The merged rulebook: reasons, channels, status vocabulary and resolved rules in order."""

    def __init__(self, files: Sequence[LoadedFile]) -> None:
        self.files = tuple(files)
        self.reasons: dict[str, ReasonDef] = {}
        self.channels: dict[str, ChannelDef] = {}
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
            if channel.id in self.channels and not loaded.user:
                raise RulebookError(
                    f"{shown(loaded.path)}: channel {quoted(channel.id)} is defined twice"
                )
            self.channels[channel.id] = channel
            self._aliases[channel.id] = channel.id
            for alias in channel.aliases:
                self._aliases[alias.strip().lower()] = channel.id
            self._channel_success[channel.id] = {c.strip().upper() for c in channel.success_codes}
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
    files = shipped_files() if shipped else []
    files.extend(read_rule_file(path, user=True) for path in user_files)
    return Rulebook(files)
