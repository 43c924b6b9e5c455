"""Values quoted in error texts: masked and visible, so an exception message is safe on its own.

The CLI masks and escapes every error line it prints, but a library caller may print
``exc.message`` or log it as it is. Errors about rule files, config files and patterns quote
what they complain about (a rule id, a config key, a pattern) through these, so personal data in
it is masked and a control character in it is shown as ``\\x1b``, never sent raw.
"""

from __future__ import annotations

from txdiag.safety.mask import mask_text
from txdiag.safety.terminal import visible

__all__ = ["quoted", "shown"]


def shown(value: object) -> str:
    """``str(value)`` with personal data masked and every unsafe character made visible.

    One line whatever the value (newlines become ``\\n``); ordinary names come back unchanged.
    """
    return visible(mask_text(str(value)))


def quoted(value: object) -> str:
    """:func:`shown` between single quotes: how an error text names a value (``rule 'r1'``)."""
    return f"'{shown(value)}'"
