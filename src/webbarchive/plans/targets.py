"""The duplication check of a target list (a proposal's targets at once).

A target list is CSV with a header, or JSON (a list of objects, or
``{"targets": [...]}``), one target a row::

    target_name,ra,dec,pm_ra,pm_dec,epoch
    NGC 1365,53.4016,-36.1404,,,
    BARNARD,17:57:48.5,+04:41:36,-798.58,10328.12,2000.0

- ``target_name`` (or ``name``, ``target``): any text, echoed in the answer;
- ``ra``, ``dec``: ICRS, decimal degrees or sexagesimal (the project's one
  position parser, :mod:`webbarchive.positions`);
- ``pm_ra`` (times cos dec), ``pm_dec``: proper motion in mas/yr, optional,
  at ``epoch`` (Julian year, default 2000.0).

Each target is compared with each planned visit at the visit's planned window:
a target with a proper motion is moved (astropy's ``apply_space_motion``) to
the window's start of each candidate visit, as the visit's own target is
(:mod:`webbarchive.plans.load`); the radius is the caller's or the visit's
template's. Answer rows are the visits of :func:`webbarchive.plans.query.search`
with the target's fields first: ``query_index`` (1-based), ``query_name``,
``query_ra``, ``query_dec`` (degrees as given) and ``query_ra_at_visit``,
``query_dec_at_visit`` (moved to the visit's window).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection

from webbarchive import positions
from webbarchive.plans.crossmatch import match
from webbarchive.plans.errors import PlanInputError
from webbarchive.plans.load import json_records
from webbarchive.plans.query import Filters, render

#: Most targets one request may hold.
MAX_TARGETS = 10_000
NAME_KEYS = ("target_name", "name", "target")
FORM = (
    "CSV with a header target_name,ra,dec[,pm_ra,pm_dec,epoch] (degrees or sexagesimal; "
    'mas/yr; Julian year), or JSON [{"target_name":..,"ra":..,"dec":..}, ...]'
)
QUERY_COLUMNS = (
    "query_index",
    "query_name",
    "query_ra",
    "query_dec",
    "query_ra_at_visit",
    "query_dec_at_visit",
)


@dataclass(frozen=True)
class Target:
    """One target of a list: ICRS degrees at ``epoch_jyear``, proper motion in mas/yr."""

    index: int
    name: str
    ra: float
    dec: float
    pm_ra_mas_yr: float | None = None
    pm_dec_mas_yr: float | None = None
    epoch_jyear: float = 2000.0

    @property
    def moving(self) -> bool:
        return bool(self.pm_ra_mas_yr or self.pm_dec_mas_yr)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _number(record: dict, key: str, where: str) -> float | None:
    value = record.get(key)
    if _blank(value):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise PlanInputError(f"{where}: {key} must be a finite number (got {value!r})", FORM)
    return number


def target_of(record: dict, index: int) -> Target:
    where = f"target {index}"
    name = next((str(record[k]).strip() for k in NAME_KEYS if not _blank(record.get(k))), "")
    if _blank(record.get("ra")) or _blank(record.get("dec")):
        raise PlanInputError(f"{where}: ra and dec are required", FORM)
    try:
        position = positions.parse_position(str(record["ra"]), str(record["dec"]))
    except positions.PositionError as exc:
        raise PlanInputError(f"{where}: {exc.message}", FORM) from None
    pm_ra, pm_dec = _number(record, "pm_ra", where), _number(record, "pm_dec", where)
    if (pm_ra is None) != (pm_dec is None):
        raise PlanInputError(f"{where}: give both pm_ra and pm_dec or neither", FORM)
    epoch = _number(record, "epoch", where)
    return Target(
        index, name or f"target {index}", position.ra, position.dec, pm_ra, pm_dec, epoch or 2000.0
    )


def read_targets(text: str, source: str = "the target list") -> list[Target]:
    """The targets of a CSV or JSON text; :class:`PlanInputError` saying what is wrong."""
    stripped = text.lstrip("\ufeff \t\r\n")
    if not stripped:
        raise PlanInputError(f"{source} is empty", FORM)
    if stripped.startswith(("[", "{")):
        records = json_records(stripped, source, "targets", FORM)
    else:
        reader = csv.DictReader(io.StringIO(stripped))
        header = [(name or "").strip().lower() for name in reader.fieldnames or []]
        if "ra" not in header or "dec" not in header:
            raise PlanInputError(f"{source}: the header needs ra and dec columns", FORM)
        records = [{(k or "").strip().lower(): v for k, v in r.items()} for r in reader]
    if not records:
        raise PlanInputError(f"{source} holds no targets", FORM)
    if len(records) > MAX_TARGETS:
        raise PlanInputError(
            f"{source} holds {len(records)} targets; at most {MAX_TARGETS} per request", FORM
        )
    return [target_of(record, i + 1) for i, record in enumerate(records)]


def check_targets(
    conn: Connection,
    targets: list[Target],
    filters: Filters = Filters(),
    progress: Callable[[int], None] | None = None,
) -> list[dict]:
    """The planned visits matching each target, in list order and nearest first
    within a target, each with the target's fields (:data:`QUERY_COLUMNS`) first;
    ``progress(n)`` as targets are done. All targets are matched at once
    (:mod:`webbarchive.plans.crossmatch`)."""
    matches, rows = match(conn, targets, filters, progress)
    return [
        {
            "query_index": m.target.index,
            "query_name": m.target.name,
            "query_ra": m.target.ra,
            "query_dec": m.target.dec,
            "query_ra_at_visit": m.ra_at_visit,
            "query_dec_at_visit": m.dec_at_visit,
            **render(rows[m.key], m.separation_arcsec),
        }
        for m in matches
    ]
