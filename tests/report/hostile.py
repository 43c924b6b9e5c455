"""A generated log with an incident window, whose text is hostile (shared by the report tests)."""

from __future__ import annotations

import json
from pathlib import Path

BURST = range(40, 45)
"""The minutes of the system-failure burst."""
CARD = "4111111111111111"
PHONE = "13812345678"
EMAIL = "zhang.san@example.com"
MARKUP_CHANNEL = "<img src=x onerror=alert(1)>"
SCRIPT_ID = "<script>alert(1)</script>"
FORMULA_USER = '=HYPERLINK("http://evil.example/","x")'


def write_log(path: Path) -> Path:
    """An hour, 30 records a minute; minutes 40-44 hold a burst of system failures."""
    rows = []
    for minute in range(60):
        for n in range(30):
            ts = f"2026-11-11T00:{minute:02d}:{n * 2:02d}Z"
            txn = f"T{minute:02d}{n:02d}"
            row: dict[str, object] = {"ts": ts, "txn_id": txn, "channel": "alipay",
                                      "status": "success", "amount": "10.00", "currency": "CNY",
                                      "user_id": f"u{n}"}
            if minute in BURST and n < 20:
                if n % 2:
                    row |= {"channel": MARKUP_CHANNEL, "status": "failed", "http_status": 503,
                            "txn_id": f"{SCRIPT_ID}{txn}", "user_id": PHONE}
                else:
                    row |= {"channel": "wechatpay", "status": "failed", "code": "SYSTEMERROR",
                            "msg": f"<script>alert(2)</script> card {CARD}",
                            "user_id": FORMULA_USER, "amount": "-5.00"}
            elif n == 28:
                row |= {"channel": "iso8583", "status": "failed", "code": "51"}
            elif n == 29:
                row |= {"channel": "bank-gw", "status": "failed",
                        "msg": f"\x1b[31m<b>boom</b>\x1b]8;;http://evil.example\x07 {EMAIL} "
                               f"{CARD} \u202eevil"}
            rows.append(json.dumps(row, ensure_ascii=False))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path
