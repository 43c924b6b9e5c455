"""Safety layer: mask personal data and make untrusted log text safe to display.

Everything txdiag shows passes through here. Pure Python with no dependency on the CLI or the
renderer (no typer, no rich), so library users get the same protection.
"""

from txdiag.safety.mask import (
    REDACTED,
    SECRET_PARAM_NAMES,
    is_secret_name,
    mask_text,
    mask_value,
    redact_url,
)
from txdiag.safety.quote import quoted, shown
from txdiag.safety.terminal import neutralize_csv_cell, strip_ansi, visible

__all__ = [
    "REDACTED",
    "SECRET_PARAM_NAMES",
    "is_secret_name",
    "mask_text",
    "mask_value",
    "neutralize_csv_cell",
    "quoted",
    "redact_url",
    "shown",
    "strip_ansi",
    "visible",
]
