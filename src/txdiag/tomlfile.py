"""Reading a TOML file a person wrote (config, rules): bounded, UTF-8, errors that name the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from txdiag.errors import TxdiagError
from txdiag.safety.quote import shown

MAX_TOML_BYTES = 8 * 1024 * 1024
"""A config or rule file is text a person wrote; past this it is refused (``/dev/zero``)."""


def read_toml(path: Path, what: str, error: type[TxdiagError]) -> dict[str, Any]:
    """The TOML table in ``path``; ``error`` (naming the file, and the line) when it is larger
    than :data:`MAX_TOML_BYTES`, not UTF-8 or not TOML. ``OSError`` is left to the caller,
    which knows what a missing file means for it."""
    import tomllib  # on first use: most commands read no TOML

    with path.open("rb") as handle:
        data = handle.read(MAX_TOML_BYTES + 1)
    if len(data) > MAX_TOML_BYTES:
        raise error(f"{shown(path)}: {what} is larger than {MAX_TOML_BYTES // 2**20} MiB; "
                    "not read")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{shown(path)}:{line}: {what} is not UTF-8 "
                    f"(byte 0x{data[exc.start]:02x})",
                    hint="TOML files are UTF-8: convert it, e.g. iconv -f GBK -t UTF-8") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{shown(path)}: not valid TOML: {shown(exc)}") from None
