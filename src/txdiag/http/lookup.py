"""Look up one transaction by id: expand a URL template, find the record in the response.

Kept apart from :mod:`txdiag.http.client` because nothing here needs httpx: the CLI validates
its arguments with these functions before any request is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final
from urllib.parse import quote

from txdiag.errors import UsageError

PLACEHOLDER: Final = "{txn_id}"
WRAPPER_KEYS: Final = (
    "data", "transaction", "txn", "result", "payment", "order", "trade", "record", "item",
    "response", "body",
)
"""Keys an API wraps the record in: ``{"code": 0, "msg": "ok", "data": {...}}``."""
_MAX_DEPTH = 4


def expand_template(template: str, txn_id: str) -> str:
    """``https://host/v1/transactions/{txn_id}`` with the id filled in, percent-encoded.

    Encoding every reserved character (``/``, ``?``, ``#``, ``..``) keeps an id typed or
    pasted by an agent inside its path segment: it can never address another resource.
    """
    if PLACEHOLDER not in template:
        raise UsageError(f"the lookup URL has no {PLACEHOLDER} placeholder",
                         hint="e.g. --url 'https://api.example.com/v1/transactions/{txn_id}'")
    if not template.startswith(("http://", "https://")):
        raise UsageError("the lookup URL must start with http:// or https://")
    if not txn_id.strip():
        raise UsageError("the transaction id is empty")
    return template.replace(PLACEHOLDER, quote(txn_id.strip(), safe=""))


def find_transaction(
    document: Any,
    txn_id: str,
    *,
    records_path: str | None = None,
    id_of: Callable[[dict[str, Any]], str | None] | None = None,
) -> dict[str, Any] | None:
    """The transaction in a lookup response, or None when the response holds none.

    Accepted shapes: the record itself; the record inside a wrapper (``data``, ``result``, ...,
    at most a few levels deep); a list of records, in which the one whose id (``id_of``) is
    ``txn_id`` wins, or the only one. ``records_path`` names the place outright.
    """
    node = document
    if records_path:
        for part in records_path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
    return _pick(node, txn_id.strip(), id_of, 0)


def _pick(node: Any, txn_id: str, id_of: Callable[[dict[str, Any]], str | None] | None,
          depth: int) -> dict[str, Any] | None:
    if isinstance(node, list):
        records = [item for item in node if isinstance(item, dict)]
        if id_of is not None:
            for record in records:
                if id_of(record) == txn_id:
                    return record
        return records[0] if len(records) == 1 else None
    if not isinstance(node, dict):
        return None
    own_id = id_of(node) if id_of is not None else None
    if own_id is not None and own_id == txn_id:
        return node
    if depth < _MAX_DEPTH:
        lowered = {key.lower(): key for key in node if isinstance(key, str)}
        for wrapper in WRAPPER_KEYS:
            key = lowered.get(wrapper)
            if key is None:
                continue
            if isinstance(node[key], dict | list):
                return _pick(node[key], txn_id, id_of, depth + 1)
            if node[key] is None and own_id is None:
                return None  # an envelope without a record: {"code": 404, "data": null}
    return node or None
