"""Every setting of webbarchive, declared once: name, environment variable,
default and help (datasette's ``SETTINGS`` in the form of a dataclass).

A setting is a field of :class:`Settings` made with :func:`setting`; its
environment variable overrides the default, parsed by the field's type
(``str``, ``int``, ``float``, ``bool``). ``webbarchive settings`` lists them
with their current values; the server reads them once at start
(:meth:`Settings.from_env`) and domain code that runs outside the server
(ingest, the pixel store) calls :func:`current`.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import MISSING, Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from webbarchive.catalog.db import DEFAULT_DB
from webbarchive.catalog.rights import CommunityRights

PREFIX = "WEBBARCHIVE_"


class SettingError(ValueError):
    """An environment variable holds a value its setting cannot take."""


def setting(env: str, default: Any, help: str) -> Any:
    """A :class:`Settings` field read from ``WEBBARCHIVE_<env>``."""
    return field(default=default, metadata={"env": PREFIX + env, "help": help})


@dataclass(frozen=True)
class Settings:
    db_url: str = setting(
        "DB", DEFAULT_DB, "the catalog: a SQLite file, or postgresql://user@host:port/db"
    )
    public_url: str = setting(
        "PUBLIC_URL",
        "http://127.0.0.1:8000",
        "base URL the server is reached at, for links in scripts, listings and VOTables",
    )
    rate_limits: str = setting(
        "RATE_LIMITS",
        "",
        "rate limits per client: 'name=capacity/period_s,...', 'name=off' or 'off' "
        "(the rules and their defaults: webbarchive.api.ratelimit.DEFAULT_RULES)",
    )
    pixels_root: str = setting(
        "PIXELS",
        str(Path.home() / ".local/share/webbarchive/pixels"),
        "folder of the pixel stores of PostgreSQL catalogs (SQLite: beside the file)",
    )
    previews_root: str = setting(
        "PREVIEWS",
        str(Path(tempfile.gettempdir()) / "webbarchive-previews"),
        "folder of cached DJA spectrum previews of PostgreSQL catalogs (SQLite: beside the file)",
    )
    community_rights: str = setting(
        "COMMUNITY_RIGHTS",
        "",
        "who reads community files, per collection: 'collection=mode,...' with collections "
        "msaexp (msaexp spectra, their files, previews and traces), redshifts (z, grade, "
        "comment of redshift tables and spectrum headers) and msa (MSA shutter rows: source "
        "ids and positions), modes 'program' (default: public once the program named by the "
        "file name or PROGRAM header is released; until then, and while the program's release "
        "is unknown, only its PI, collaborators and admins) or 'public' (everyone); e.g. "
        "'msaexp=program,redshifts=public'. The catalogued MSA metadata FITS files are JWST "
        "products and always follow their program",
    )
    mashup_wait_s: float = setting(
        "MASHUP_WAIT_S", 10.0, "seconds a Mashup request waits for its query before EXECUTING"
    )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """The defaults, overridden by the environment (``environ``: os.environ),
        then by ``overrides`` (``Settings.from_env(db_url=...)``)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f.metadata["env"])
            if raw is not None:
                values[f.name] = parse(f, raw)
        return cls(**(values | overrides))

    def community(self) -> CommunityRights:
        """:attr:`community_rights` parsed; SettingError says what is accepted."""
        try:
            return CommunityRights.parse(self.community_rights)
        except ValueError as exc:
            raise SettingError(f"{PREFIX}COMMUNITY_RIGHTS: {exc}") from None

    def with_values(self, **values: Any) -> Settings:
        return replace(self, **values)


def parse(f: Field, raw: str) -> Any:
    """``raw`` as the type of setting ``f``; SettingError names the variable."""
    kind = type(f.default) if f.default is not MISSING else str
    try:
        if kind is bool:
            lowered = raw.strip().lower()
            if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
                raise ValueError(raw)
            return lowered in ("1", "true", "yes", "on")
        return kind(raw.strip()) if kind is not str else raw
    except ValueError:
        raise SettingError(
            f"{f.metadata['env']}={raw!r} is not a valid {kind.__name__}: {f.metadata['help']}"
        ) from None


def current() -> Settings:
    """The settings of this process (environment over defaults)."""
    return Settings.from_env()


def describe(settings: Settings | None = None) -> list[tuple[str, str, str]]:
    """``(variable, current value, help)`` of every setting."""
    settings = settings or current()
    return [
        (f.metadata["env"], repr(getattr(settings, f.name)), f.metadata["help"])
        for f in fields(Settings)
    ]
