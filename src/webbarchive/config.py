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
    rate_limits: str = setting(
        "RATE_LIMITS",
        "",
        "rate limits per client: 'name=capacity/period_s,...', 'name=off' or 'off' "
        "(the rules and their defaults: webbarchive.api.ratelimit.DEFAULT_RULES)",
    )
    pixels_root: str = setting(
        "PIXELS",
        str(Path.home() / ".local/share/webbarchive/pixels"),
        "folder of the pixel stores of PostgreSQL catalogs (SQLite: beside the file), or "
        "s3://bucket/prefix: every catalog's pixel store in object storage",
    )
    results_root: str = setting(
        "RESULTS",
        str(Path.home() / ".local/share/webbarchive/results"),
        "folder of the async TAP job results of PostgreSQL catalogs (SQLite: beside the file)",
    )
    telemetry_root: str = setting(
        "TELEMETRY",
        str(Path.home() / ".local/share/webbarchive/telemetry"),
        "folder of the engineering telemetry stores of PostgreSQL catalogs (SQLite: beside the file)",
    )
    portal_vendor: str = setting(
        "PORTAL_VENDOR",
        str(Path(__file__).resolve().parents[2] / "node_modules"),
        "folder of the portal's browser libraries, installed by 'npm ci' from package.json",
    )
    portal_sky_survey: str = setting(
        "PORTAL_SKY_SURVEY",
        "P/DSS2/color",
        "HiPS survey under the portal's sky view (an id or URL); empty: a coordinate grid only (offline)",
    )
    previews_root: str = setting(
        "PREVIEWS",
        str(Path(tempfile.gettempdir()) / "webbarchive-previews"),
        "folder of preview images (product JPEGs, DJA spectrum PNGs) of PostgreSQL catalogs "
        "(SQLite: beside the file)",
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
    upload_hosts: str = setting(
        "UPLOAD_HOSTS",
        "",
        "comma-separated hosts a TAP UPLOAD=name,http(s)://host/... may fetch from (public "
        "addresses only); empty: only inline uploads (UPLOAD=name,param:part) are accepted",
    )
    upload_max_bytes: int = setting(
        "UPLOAD_MAX_BYTES", 10_000_000, "bytes at most a TAP upload URL may answer"
    )
    upload_timeout_s: float = setting(
        "UPLOAD_TIMEOUT_S", 10.0, "seconds at most to fetch one TAP upload URL, all included"
    )
    uws_max_active_jobs: int = setting(
        "UWS_MAX_ACTIVE_JOBS",
        20,
        "async TAP jobs one user (anonymous: one client address) may hold unfinished "
        "(PENDING, QUEUED or EXECUTING)",
    )
    uws_max_jobs: int = setting(
        "UWS_MAX_JOBS",
        200,
        "async TAP jobs one user (anonymous: one client address) may hold in any phase, "
        "until deleted or destroyed",
    )
    uws_results_mb: float = setting(
        "UWS_RESULTS_MB",
        1024.0,
        "megabytes (10^6 bytes) of async TAP results the server keeps on disk, all jobs together",
    )
    uws_results_mb_per_owner: float = setting(
        "UWS_RESULTS_MB_PER_OWNER",
        256.0,
        "megabytes of async TAP results one user (anonymous: one client address) may keep",
    )
    max_tokens_per_user: int = setting(
        "MAX_TOKENS_PER_USER",
        20,
        "active API tokens one user may hold; past it, creating one is refused (revoke one)",
    )
    heavy_queries: int = setting(
        "HEAVY_QUERIES",
        4,
        "heavy queries (TAP, pixel search) running at once in each API worker process",
    )
    mashup_queries: int = setting(
        "MASHUP_QUERIES",
        4,
        "Mashup queries running at once in each API worker process (a gate apart from TAP's)",
    )
    heavy_queries_per_client: int = setting(
        "HEAVY_QUERIES_PER_CLIENT",
        2,
        "heavy queries running at once per user (or per address without a token)",
    )
    heavy_query_wait_s: float = setting(
        "HEAVY_QUERY_WAIT_S",
        2.0,
        "seconds a heavy query waits for a free slot before 429 (its client's share is "
        "used) or 503 (the server's), with Retry-After",
    )
    query_timeout_s: float = setting(
        "QUERY_TIMEOUT_S",
        60.0,
        "seconds an ADQL query (TAP, SCS, SIA, SSA) may run before it is cancelled",
    )
    dask: str = setting(
        "DASK",
        "",
        "where the pixel search reads pixels: '' (this process), 'local:N' (a Dask "
        "LocalCluster of N workers started by the server) or 'tcp://host:port' (a Dask scheduler)",
    )
    storage: str = setting(
        "STORAGE",
        "",
        "where ingest puts the products it is given: '' (they stay where they are, on local "
        "disk) or s3://bucket/prefix (uploaded there; endpoint, region and credentials from "
        "AWS_ENDPOINT_URL, AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or "
        "~/.aws). Products already catalogued are read from where their path says",
    )
    download_redirect: bool = setting(
        "DOWNLOAD_REDIRECT",
        False,
        "answer downloads of products in object storage with a 307 redirect to a presigned "
        "URL (the client fetches from the store, Range included) instead of streaming them",
    )
    download_redirect_s: int = setting(
        "DOWNLOAD_REDIRECT_S", 3600, "seconds a presigned download URL stays valid"
    )
    storage_cache: str = setting(
        "STORAGE_CACHE",
        str(Path(tempfile.gettempdir()) / "webbarchive-storage-cache"),
        "folder of local copies of objects that astropy reads (retrieve, thumbnails), "
        "one per object version; safe to empty",
    )
    storage_timeout_s: float = setting(
        "STORAGE_TIMEOUT_S",
        5.0,
        "seconds to connect to, or wait for, the object store before answering 503",
    )
    pools: str = setting(
        "POOLS",
        "",
        "capacity per class of heavy work in each worker: 'class=size/queue,...', "
        "'class=off' or 'off' (classes thumbnails, pixel_scans, downloads; defaults: "
        "webbarchive.api.pools.DEFAULT_CLASSES); past size + queue, 503 with Retry-After",
    )
    pool_wait_s: float = setting(
        "POOL_WAIT_S",
        15.0,
        "seconds a heavy request may wait in its class's queue before 503 (long enough for "
        "a full queue of 64 thumbnails to drain, so the queue bound, not the clock, refuses)",
    )
    gil_switch_ms: float = setting(
        "GIL_SWITCH_MS",
        1.0,
        "milliseconds a thread may keep Python's GIL while another waits for it "
        "(sys.setswitchinterval; Python's default is 5): shorter lets the event loop and "
        "light requests in sooner between the Python steps of heavy work",
    )
    metadata_threads: int = setting(
        "METADATA_THREADS",
        16,
        "threads of each worker kept for light requests (metadata, Mashup, portal) beyond "
        "the heavy pools' sizes",
    )
    db_pool_size: int = setting(
        "DB_POOL_SIZE",
        10,
        "PostgreSQL connections each worker keeps open (its pool), plus DB_POOL_OVERFLOW more "
        "at peaks; workers x (size + overflow) must stay below the server's max_connections",
    )
    db_pool_overflow: int = setting(
        "DB_POOL_OVERFLOW", 10, "PostgreSQL connections a worker may open beyond DB_POOL_SIZE"
    )
    query_role: str = setting(
        "QUERY_ROLE",
        "",
        "PostgreSQL role user ADQL runs as (SET LOCAL ROLE), one that may only SELECT: "
        "'' creates and uses webbarchive_reader; 'none' runs ADQL as the catalog's own role",
    )
    storage_cache_mb: float = setting(
        "STORAGE_CACHE_MB",
        4096.0,
        "megabytes (10^6 bytes) the storage cache folder may hold; the least recently used "
        "copies are removed beyond it (copies in use are kept, so it may exceed it by those)",
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
