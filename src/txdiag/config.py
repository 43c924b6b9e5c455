"""The configuration file: defaults, field-mapping profiles, text templates, API profiles.

Where it is looked for: ``--config PATH``, else ``$TXDIAG_CONFIG``, else ``config.toml`` in the
platform's user config directory (``$XDG_CONFIG_HOME/txdiag`` or ``~/.config/txdiag`` on Linux,
``~/Library/Application Support/txdiag`` on macOS, ``%APPDATA%\\txdiag`` on Windows). A named
file must exist; the default one is optional.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    ValidationError,
    create_model,
    field_validator,
    model_serializer,
)

from txdiag.errors import ConfigError, UsageError
from txdiag.locations import CONFIG_ENV as CONFIG_ENV
from txdiag.locations import config_path
from txdiag.locations import user_config_dir as user_config_dir
from txdiag.normalize import NORMALIZED_FIELDS, FieldMap
from txdiag.safety import quoted, shown
from txdiag.tomlfile import read_toml

StatusKind = Literal["success", "failure", "pending"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StatusMap(_Strict):
    """Status values of one source that the shared vocabulary does not know."""

    success: list[str] = []
    failure: list[str] = []
    pending: list[str] = []


class ProfileSettings(_Strict):
    """What a profile holds besides the fields' source names (:class:`Profile`)."""

    description: str = ""
    status_map: StatusMap = StatusMap()
    constants: dict[str, str] = {}
    """Values for fields a source never carries, e.g. ``channel = "unionpay"`` for an export."""
    amount_minor_units: list[str] = []
    """Amount names whose values are in the currency's minor unit (fen, cents): ``1999`` is
    19.99. WeChat Pay's ``total_fee`` and ``amount.total`` and UnionPay's ``txnAmt`` always are."""

    @field_validator(*NORMALIZED_FIELDS, mode="before", check_fields=False)
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("constants")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - set(NORMALIZED_FIELDS)
        if unknown:
            names = ", ".join(quoted(name) for name in sorted(unknown))
            raise ValueError(f"unknown field(s): {names}")
        return value

    @model_serializer(mode="wrap")
    def _fields_first(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """Written as a profile is read: its description, the fields' names, the rest."""
        data: dict[str, Any] = handler(self)
        head = {key: data.pop(key) for key in ("description", *NORMALIZED_FIELDS)
                if key in data}
        return {**head, **data}

    def paths(self) -> dict[str, list[str]]:
        """The source names of the fields the profile sets (one list per field)."""
        return {name: getattr(self, name) for name in NORMALIZED_FIELDS
                if getattr(self, name, None) is not None}

    def status_values(self) -> dict[str, StatusKind]:
        kinds: dict[str, StatusKind] = {}
        groups: tuple[tuple[StatusKind, list[str]], ...] = (
            ("success", self.status_map.success),
            ("failure", self.status_map.failure),
            ("pending", self.status_map.pending),
        )
        for kind, values in groups:
            for value in values:
                kinds[value.strip().lower()] = kind
        return kinds


if TYPE_CHECKING:
    Profile = ProfileSettings
else:
    Profile = create_model(
        "Profile",
        __base__=ProfileSettings,
        __module__=__name__,
        __doc__="Where the normalized fields come from in one kind of source: for every field "
        "of the field table (:mod:`txdiag.fields`), its source names (one or a list).",
        **dict.fromkeys(NORMALIZED_FIELDS, (list[str] | None, None)),
    )


class TextTemplate(_Strict):
    """A named-group regular expression for plain-text log lines."""

    pattern: str
    description: str = ""


class ApiProfile(_Strict):
    """A payment API to read records or look up transactions from (see docs/api.md)."""

    base_url: str | None = None
    lookup_url: str | None = None
    headers: dict[str, str] = {}
    token_env: str | None = None
    records_path: str | None = None
    next_path: str | None = None
    cursor_param: str = "cursor"
    profile: str | None = None
    timeout: float | None = Field(default=None, gt=0)


class Defaults(_Strict):
    lang: Literal["en", "zh"] | None = None
    assume_tz: str | None = None
    encoding: str | None = None
    max_line_bytes: int | None = Field(default=None, ge=1024)
    profile: str | None = None


class Config(_Strict):
    defaults: Defaults = Defaults()
    rules_files: list[str] = []
    profiles: dict[str, Profile] = {}
    templates: dict[str, TextTemplate] = {}
    api: dict[str, ApiProfile] = {}


def load_config(explicit: Path | None = None) -> tuple[Config, Path | None]:
    """The configuration and the file it came from (``None``: no file, all defaults)."""
    path, named = config_path(explicit)
    try:
        raw = read_toml(path, "config file", ConfigError)
    except FileNotFoundError:
        if named:
            raise ConfigError(f"{shown(path)}: config file not found",
                              hint="create one with `txdiag config init`") from None
        return Config(), None
    except IsADirectoryError:
        raise ConfigError(f"{shown(path)}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{shown(path)}: cannot read: {exc.strerror}") from None
    return parse_config(raw, str(path)), path


def parse_config(raw: Mapping[str, Any], name: str) -> Config:
    """Validate a parsed config file; any problem is a one-line :class:`ConfigError`.

    The error names the file and where in it (``profiles.NAME.constants``), never the offending
    value. Profile, API and template names and unknown keys are the user's own words, so they
    are written masked and with control characters visible, like every value an error quotes.
    """
    try:
        return Config.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(shown(part) for part in error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown setting (check the spelling)"
        raise ConfigError(f"{shown(name)}: {where}: {message}") from None


def builtin_profiles() -> dict[str, Profile]:
    text = (resources.files("txdiag") / "profiles.toml").read_text("utf-8")
    return {name: Profile.model_validate(p) for name, p in tomllib.loads(text)["profiles"].items()}


def resolve_profile(name: str | None, config: Config) -> Profile | None:
    if name is None:
        return None
    if name in config.profiles:
        return config.profiles[name]
    builtin = builtin_profiles()
    if name in builtin:
        return builtin[name]
    known = sorted({*builtin, *config.profiles})
    raise UsageError(f"unknown profile {quoted(name)}",
                     hint=f"known profiles: {', '.join(map(shown, known))}")


def parse_field_maps(maps: Sequence[str]) -> dict[str, list[str]]:
    """``["error_code=data.code", "error_code=code"]`` -> ``{"error_code": [both paths]}``."""
    result: dict[str, list[str]] = {}
    for item in maps:
        field, sep, path = item.partition("=")
        field, path = field.strip(), path.strip()
        if not sep or not path:
            raise UsageError(
                f"--map {quoted(item)}: expected FIELD=PATH, e.g. error_code=data.result.code"
            )
        if field not in NORMALIZED_FIELDS:
            raise UsageError(f"--map {quoted(item)}: unknown field {quoted(field)}",
                             hint="fields: " + ", ".join(NORMALIZED_FIELDS))
        result.setdefault(field, []).append(path)
    return result


def build_field_map(profile: Profile | None, maps: Sequence[str]) -> FieldMap:
    """The default names, replaced field by field by the profile, then by ``--map``."""
    overrides: dict[str, list[str]] = dict(profile.paths()) if profile else {}
    overrides.update(parse_field_maps(maps))
    minor_units = profile.amount_minor_units if profile else []
    field_map = FieldMap.default()
    if not overrides and not minor_units:
        return field_map
    return field_map.with_overrides(overrides, minor_units)
