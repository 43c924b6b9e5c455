"""The output policy every renderer applies, and what the lightest outputs need.

All output funnels through :class:`Presenter`: personal data is masked (unless the user turned
it off), and for text formats control characters are made visible so log content can neither
forge rows nor drive the terminal. No pydantic and no Rich here: ``explain`` renders with this
alone (:mod:`txdiag.render.common` has the rest and re-exports it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from txdiag.safety import mask_text, visible
from txdiag.vocabulary import Lang

if TYPE_CHECKING:
    from txdiag.diagnosis import Diagnosis

SCHEMA_VERSION = 1
CATEGORY_TITLES_ZH = {
    "balance": "余额/额度", "network": "网络", "card_binding": "绑卡/卡片信息",
    "risk_control": "风控", "system": "系统", "unknown": "未知/无法判断",
}
"""The categories' names in Chinese (the ids stay, they are what JSON and filters use)."""

# JSON escapes C0 itself; these are the characters it lets through that a terminal may act
# on, and the line/paragraph separators that split a JSON Lines row for str.splitlines().
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069"
                          "\ufeff]")


def json_escape_unsafe(text: str) -> str:
    """Escape DEL, C1, bidi controls and zero-width characters in serialized JSON (JSON allows
    them raw; we do not: table, CSV and Markdown show them as escapes too)."""
    if not _JSON_UNSAFE.search(text):
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def dumps(value: Any, *, indent: int | None = None) -> str:
    """JSON with UTF-8 text kept readable and terminal-unsafe characters escaped.

    Compact unless ``indent`` is given.
    """
    separators = (",", ": ") if indent else (",", ":")
    return json_escape_unsafe(
        json.dumps(value, ensure_ascii=False, separators=separators, indent=indent)
    )


def md_cell(text: str) -> str:
    """A Markdown table cell: pipes escaped (text is already visible, so no newlines)."""
    return text.replace("\\", "\\\\").replace("|", "\\|") if text else " "


def share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


@lru_cache(maxsize=4096)
def _masked(text: str) -> str:
    # Bounded like every memo of a run: values repeat (channels, statuses, messages of one
    # template), while distinct messages (an order number in each) would fill a big memo
    # with texts seen once: 65,536 of them held about 30 MB.
    return mask_text(text)


@dataclass(frozen=True, slots=True)
class Presenter:
    """Applies the output policy to untrusted text."""

    mask: bool = True
    lang: Lang = "en"
    titles: Mapping[str, str] | None = field(default=None, compare=False, hash=False)
    """Reason id -> its title in ``lang``, shown beside the id in Chinese tables (the ids are
    English words); None: no titles."""

    def title(self, reason_or_category: str) -> str:
        """The Chinese title of a reason or category, for tables under ``--lang zh``; else ""."""
        if self.lang != "zh":
            return ""
        if reason_or_category in CATEGORY_TITLES_ZH:
            return CATEGORY_TITLES_ZH[reason_or_category]
        return (self.titles or {}).get(reason_or_category, "")

    def data(self, value: str | None) -> str | None:
        """For machine formats: masked, otherwise as is (the serializer escapes)."""
        if value is None or not self.mask:
            return value
        return _masked(value)

    def number(self, value: float | None) -> float | str | None:
        """A number stays a number, unless it is personal data (a card in a mis-mapped field)."""
        if value is None or not self.mask:
            return value
        text = str(value)
        masked = _masked(text)
        return value if masked == text else masked

    def text(self, value: str | None) -> str:
        """For text formats: masked and visible (never a raw control character)."""
        if value is None:
            return ""
        return visible(_masked(value) if self.mask else value)


def diagnosis_dict(diagnosis: Diagnosis, p: Presenter) -> dict[str, Any]:
    ev = diagnosis.evidence
    return {
        "category": diagnosis.category.value,
        "reason": diagnosis.reason,
        "title": diagnosis.title.get(p.lang),
        "retryable": diagnosis.retryable.value,
        "hint": diagnosis.hint.get(p.lang),
        "action": diagnosis.action.get(p.lang),
        "evidence": {
            "rule_id": ev.rule_id,
            "level": ev.level,
            "field": ev.field,
            "value": p.data(ev.value),
            "pattern": ev.pattern,
            "rule_source": ev.rule_source,
            "codes": [{"field": c.field, "value": p.data(c.value)} for c in ev.codes],
        },
    }
