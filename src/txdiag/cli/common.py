"""The options every input-reading command shares, declared once.

:func:`reads_inputs` adds them to a command's signature (Typer reads ``__signature__``) and hands
the command one :class:`InputSettings` instead of a dozen parameters, so ``diagnose``,
``summary`` and the commands added later cannot drift apart.
"""

# No ``from __future__ import annotations`` here: Typer needs real annotation objects on the
# parameters this module builds.

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from txdiag.cli import options as opt
from txdiag.readers import InputFormat
from txdiag.sources import DEFAULT_MAX_LINE_BYTES


@dataclass(frozen=True)
class InputSettings:
    """How to read and interpret inputs, as given on the command line (None: not given)."""

    input_format: InputFormat = InputFormat.AUTO
    delimiter: str | None = None
    encoding: str | None = None
    assume_tz: str | None = None
    strict: bool = False
    rules: tuple[Path, ...] = ()
    no_mask: bool = False
    quiet: bool = False
    max_line_bytes: int | None = None
    config: Path | None = None
    profile: str | None = None
    field_maps: tuple[str, ...] = ()
    records_path: str | None = None
    since: str | None = None
    until: str | None = None
    headers: tuple[str, ...] = ()
    token_env: str | None = None
    next_path: str | None = None
    cursor_param: str | None = None
    max_pages: int | None = None
    timeout: float | None = None
    retries: int | None = None
    ca_bundle: Path | None = None
    no_proxy: bool = False
    api: str | None = None
    jobs: int = 1


_PARAMETERS: dict[str, tuple[Any, Any]] = {
    "input_format": (opt.InputFormatOpt, InputFormat.AUTO),
    "delimiter": (opt.Delimiter, None),
    "encoding": (opt.Encoding, None),
    "assume_tz": (opt.AssumeTz, None),
    "strict": (opt.Strict, False),
    "rules": (opt.Rules, None),
    "no_mask": (opt.NoMask, False),
    "quiet": (opt.Quiet, False),
    "max_line_bytes": (opt.MaxLineBytes, None),
    "config": (opt.ConfigPath, None),
    "profile": (opt.Profile, None),
    "field_maps": (opt.FieldMaps, None),
    "records_path": (opt.RecordsPath, None),
    "since": (opt.Since, None),
    "until": (opt.Until, None),
    "headers": (opt.Headers, None),
    "token_env": (opt.TokenEnv, None),
    "next_path": (opt.NextPath, None),
    "cursor_param": (opt.CursorParam, None),
    "max_pages": (opt.MaxPages, None),
    "timeout": (opt.Timeout, None),
    "retries": (opt.Retries, None),
    "ca_bundle": (opt.CaBundle, None),
    "no_proxy": (opt.NoProxy, False),
    "api": (opt.Api, None),
    "jobs": (opt.Jobs, 1),
}
assert set(_PARAMETERS) == {f.name for f in fields(InputSettings)}

F = TypeVar("F", bound=Callable[..., Any])


def reads_inputs(func: F) -> F:
    """Give ``func`` the shared input options; it receives them as ``settings``."""
    signature = inspect.signature(func, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "settings"]
    shared = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                          annotation=annotation)
        for name, (annotation, default) in _PARAMETERS.items()
    ]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _PARAMETERS}
        values["rules"] = tuple(values["rules"] or ())
        values["field_maps"] = tuple(values["field_maps"] or ())
        values["headers"] = tuple(values["headers"] or ())
        return func(*args, settings=InputSettings(**values), **kwargs)

    own_kinds = [p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in own]
    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own_kinds, *shared]
    )
    return wrapper  # type: ignore[return-value]


__all__ = ["DEFAULT_MAX_LINE_BYTES", "Annotated", "InputSettings", "reads_inputs", "typer"]
