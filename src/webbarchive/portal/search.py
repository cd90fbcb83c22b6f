"""The search form of the portal and its translation to the CAOM query.

The form is a GET form: every field is a query parameter, so a search is a
link that can be shared. :class:`SearchForm` reads and checks the fields (no
HTTP here: bad input is a :class:`PortalInputError` saying what is accepted)
and :func:`run` turns them into the Mashup filters and position that
:func:`webbarchive.mast.caom.observations_query` already answers, with the
same authorization (:func:`webbarchive.catalog.rights.visible_observations`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields, replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import Connection, func, select

from webbarchive import positions
from webbarchive.catalog.rights import EXCLUSIVE_ACCESS, PUBLIC, User, visible_observations
from webbarchive.catalog.schema import observations
from webbarchive.errors import InvalidInput
from webbarchive.mast import caom
from webbarchive.mast.render import MashupError, MashupPage
from webbarchive.portal import targets

PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 25
DEFAULT_RADIUS_ARCMIN = 3.0
MAX_PAGE = 1_000_000
MJD_EPOCH = date(1858, 11, 17)
#: Columns of the results table, in order: (column, header, unit or "").
TABLE_COLUMNS = (
    ("obs_id", "Observation", ""),
    ("dataRights", "Data rights", ""),
    ("target_name", "Target", ""),
    ("s_ra", "RA", "deg"),
    ("s_dec", "Dec", "deg"),
    ("instrument_name", "Instrument", ""),
    ("filters", "Filters", ""),
    ("proposal_id", "Program", ""),
    ("calib_level", "Level", ""),
    ("dataproduct_type", "Type", ""),
    ("t_min", "Start", "UTC"),
    ("t_exptime", "Exposure", "s"),
    ("proposal_pi", "PI", ""),
)
SORTABLE = tuple(name for name, _, _ in TABLE_COLUMNS) + ("distance",)
RIGHTS = {"public": PUBLIC, "exclusive": EXCLUSIVE_ACCESS}


#: Fields of the form that are free text (kept as typed when the form is refused).
TEXT_FIELDS = (
    "target",
    "position",
    "radius",
    "instrument",
    "mode",
    "filter",
    "program",
    "pi",
    "date_from",
    "date_to",
    "calib_level",
    "product_type",
    "rights",
    "sort",
    "order",
)


class PortalInputError(InvalidInput):
    """A form field the portal cannot use; the message says what is accepted."""


@dataclass(frozen=True)
class SearchForm:
    """The fields of the search form, as typed (strings), plus paging and sort."""

    target: str = ""
    position: str = ""
    radius: str = ""  # arcmin
    instrument: str = ""
    mode: str = ""  # the part of instrument_name after "/": IMAGE, MSA, IFU ...
    filter: str = ""
    program: str = ""
    pi: str = ""  # part of the PI's name, case ignored
    date_from: str = ""  # YYYY-MM-DD (UTC): observations ending on or after this day
    date_to: str = ""  # YYYY-MM-DD (UTC): observations starting on or before this day
    calib_level: str = ""
    product_type: str = ""
    rights: str = ""  # "", "public" or "exclusive"
    sort: str = ""
    order: str = "asc"
    page: int = 1
    pagesize: int = DEFAULT_PAGE_SIZE

    @classmethod
    def parse(cls, params: dict[str, str]) -> SearchForm:
        text = {f.name: (params.get(f.name) or "").strip() for f in fields(cls)}
        form = cls(
            **{k: v for k, v in text.items() if k not in ("page", "pagesize", "order")},
            order=text["order"] or "asc",
            page=_whole(text["page"], 1, "page", MAX_PAGE),
            pagesize=_whole(text["pagesize"], DEFAULT_PAGE_SIZE, "pagesize", max(PAGE_SIZES)),
        )
        if form.pagesize not in PAGE_SIZES:
            raise PortalInputError(f"pagesize must be one of {', '.join(map(str, PAGE_SIZES))}")
        if form.order not in ("asc", "desc"):
            raise PortalInputError("order must be 'asc' or 'desc'")
        if form.sort and form.sort not in SORTABLE:
            raise PortalInputError(f"sort must be one of {', '.join(SORTABLE)}")
        if form.sort == "distance" and not form.position:
            raise PortalInputError("sort by distance needs a position")
        if form.rights and form.rights not in RIGHTS:
            raise PortalInputError("release state must be 'public' or 'exclusive'")
        if form.calib_level and not form.calib_level.lstrip("-").isdigit():
            raise PortalInputError(f"calibration level must be 0 to 4 (got {form.calib_level!r})")
        low, high = form.dates_mjd()
        if low is not None and high is not None and low > high:
            raise PortalInputError(f"the date range ends ({form.date_to}) before it starts")
        return form

    def dates_mjd(self) -> tuple[float | None, float | None]:
        """The date range as MJD (UTC): the start of ``date_from`` and the end
        of ``date_to`` (its whole day included)."""
        low = _day_mjd(self.date_from, "from date") if self.date_from else None
        high = _day_mjd(self.date_to, "to date") + 1.0 if self.date_to else None
        return low, high

    def query(self, **changes: Any) -> str:
        """This search's query string with ``changes`` (empty fields left out)."""
        values = {f.name: getattr(replace(self, **changes), f.name) for f in fields(self)}
        defaults = {"page": 1, "pagesize": DEFAULT_PAGE_SIZE, "order": "asc"}
        return urlencode({k: v for k, v in values.items() if v not in ("", None, defaults.get(k))})


def _day_mjd(text: str, name: str) -> float:
    """``"2022-07-12"`` -> MJD of its 00:00 UTC."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise PortalInputError(f"{name} must be a date YYYY-MM-DD (got {text[:40]!r})") from None
    return float((day - MJD_EPOCH).days)


def _whole(text: str, default: int, name: str, maximum: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise PortalInputError(f"{name} must be a whole number from 1 to {maximum:,}")
    return int(text)


@dataclass
class SearchResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0
    #: Catalog target names the typed name resolved to (None: no name given).
    resolved: list[str] | None = None
    #: RA, Dec, radius (deg) of a positional search.
    cone: tuple[float, float, float] | None = None


def _position(form: SearchForm) -> tuple[float, float, float] | None:
    if not form.position:
        if form.radius:
            raise PortalInputError("a radius needs a position")
        return None
    try:
        where = positions.parse_position(coords=form.position)
        radius = positions.parse_radius(
            form.radius or DEFAULT_RADIUS_ARCMIN,
            unit="arcmin",
            maximum_deg=caom.MAX_RADIUS_DEG,
        )
    except positions.PositionError as exc:
        raise PortalInputError(
            f"{exc.message}. A position is 'RA Dec' in degrees (53.16 -27.78) or sexagesimal "
            "(03:32:38.4 -27:46:48); the radius is in arcmin"
        ) from None
    return where.ra, where.dec, radius


def _filters(form: SearchForm, names: list[str] | None) -> list[dict[str, Any]]:
    filters: list[dict[str, Any]] = []
    if names is not None:
        filters.append({"paramName": "target_name", "values": names})
    if form.instrument and form.mode:
        filters.append(
            {"paramName": "instrument_name", "values": [f"{form.instrument}/{form.mode}"]}
        )
    elif form.instrument:  # a family (NIRSPEC) matches its modes (NIRSPEC/MSA)
        filters.append(
            {
                "paramName": "instrument_name",
                "values": [form.instrument],
                "freeText": f"{form.instrument}/%",
            }
        )
    elif form.mode:
        filters.append({"paramName": "instrument_name", "values": [], "freeText": f"%/{form.mode}"})
    if form.filter:
        filters.append({"paramName": "filters", "separator": ";", "values": [form.filter]})
    if form.program:
        filters.append({"paramName": "proposal_id", "values": [form.program.lstrip("0") or "0"]})
    if form.pi:
        filters.append({"paramName": "proposal_pi", "values": [], "freeText": f"%{form.pi}%"})
    low, high = form.dates_mjd()
    if low is not None:  # the observation ends on or after the first day
        filters.append({"paramName": "t_max", "values": [{"min": low}]})
    if high is not None:  # and starts before the last day is over
        filters.append({"paramName": "t_min", "values": [{"max": high}]})
    if form.calib_level:
        filters.append({"paramName": "calib_level", "values": [int(form.calib_level)]})
    if form.product_type:
        filters.append({"paramName": "dataproduct_type", "values": [form.product_type]})
    if form.rights:
        filters.append({"paramName": "dataRights", "values": [RIGHTS[form.rights]]})
    return filters


def run(conn: Connection, user: User, form: SearchForm) -> SearchResult:
    """The page of observations ``user`` may see that match ``form``, and their total."""
    cone = _position(form)
    names = targets.resolve(conn, user, form.target) if form.target else None
    result = SearchResult(resolved=names, cone=cone)
    if names == []:
        return result  # a name the catalog does not know matches nothing
    params: dict[str, Any] = {
        "filters": _filters(form, names),
        "columns": ",".join(["obsid", "jpegURL", "s_region", *(n for n, _, _ in TABLE_COLUMNS)]),
    }
    if cone is not None:
        params.update(ra=cone[0], dec=cone[1], radius=cone[2])
        params["columns"] += ",distance"
    order = (form.sort, form.order == "desc") if form.sort else None
    try:
        table = caom.observations_query(
            conn,
            user,
            params,
            MashupPage(form.page, form.pagesize),
            positional=cone is not None,
            order=order,
        )
    except MashupError as exc:
        raise PortalInputError(str(exc)) from None
    result.rows, result.total = table.rows, table.total
    return result


#: Seconds the select lists of the form are reused before being read again: they
#: take a scan of the catalog (0.6 s at 10^5 observations) and only help typing.
CHOICES_TTL_S = 60.0
_choices_cache: dict[tuple, tuple[float, dict[str, list[str]]]] = {}


def choices(conn: Connection, user: User) -> dict[str, list[str]]:
    """Values for the form's selects, from what ``user`` may see: instrument
    families and modes, filters, product types and calibration levels.

    One scan of the catalog, kept :data:`CHOICES_TTL_S` per catalog and per
    set of rights (users who may see the same programs share it), so that a
    value of an exclusive-access observation is never offered to a stranger."""
    key = (str(conn.engine.url), user.admin, user.programs)
    now = time.monotonic()
    cached = _choices_cache.get(key)
    if cached and now - cached[0] < CHOICES_TTL_S:
        return cached[1]
    o = observations.c
    rows = conn.execute(
        select(func.upper(o.instrument_name), o.filters, o.dataproduct_type, o.calib_level)
        .where(visible_observations(user))
        .distinct()
    ).all()

    def values(i: int) -> list[str]:
        return sorted({str(r[i]) for r in rows if r[i] is not None})

    instruments = values(0)
    found = {
        "instrument": sorted({v.split("/")[0] for v in instruments}),
        "mode": sorted({v.split("/", 1)[1] for v in instruments if "/" in v}),
        "filter": sorted({f for v in values(1) for f in v.split(";") if f}),
        "product_type": values(2),
        "calib_level": values(3),
    }
    if len(_choices_cache) > 1000:  # many distinct rights: start again
        _choices_cache.clear()
    _choices_cache[key] = (now, found)
    return found
