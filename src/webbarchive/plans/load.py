"""Planned visits from a file into the catalog (``webbarchive ingest-plans FILE``).

The CSV form, one visit a row, header required, columns in any order::

    program,observation,visit,target_name,ra,dec,pm_ra,pm_dec,epoch,template,optical_elements,status,window_start,window_end
    1345,62,1,CEERS-EGS,214.8557,52.8556,,,,NIRSpec MultiObject Spectroscopy,F290LP;G395M,Completed,2022-12-21T04:51:20,2022-12-21T10:51:20

- ``program``: the program number (``1345`` or ``01345``); ``observation``, ``visit``: integers.
- ``ra``, ``dec``: ICRS degrees at ``epoch``.
- ``pm_ra`` (times cos dec), ``pm_dec``: proper motion in mas/yr, empty when unknown;
  ``epoch``: the Julian year of ``ra``/``dec`` (default 2000.0).
- ``template``: an APT template (:data:`~webbarchive.plans.templates.TEMPLATES`, or
  an alias such as ``NIRSpec MOS``); ``optical_elements``: filters and gratings,
  ``;``-separated; ``status``: one of :data:`~webbarchive.plans.templates.STATUSES`.
- ``window_start``, ``window_end``: the planned window, ISO UTC or MJD, either may be empty.
- optional ``instrument`` (else the template's first word).

The JSON form is a list of objects with the same keys (or ``{"visits": [...]}``).

A visit is keyed by (program, observation, visit): loading it again replaces it,
so a newer plan file updates statuses and windows. With a proper motion and a
window start, the position compared by the duplication check is the target's
moved to the window's start (astropy's ``SkyCoord.apply_space_motion``);
otherwise the catalogued position. Each visit also becomes a CAOM observation
with ``calib_level`` -1 (:mod:`webbarchive.plans.observations`), as MAST lists
planned visits to Mashup and ObsCore clients.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time
from sqlalchemy import Engine, delete, tuple_

from webbarchive.catalog.schema import planned_visits
from webbarchive.plans.errors import PlanInputError
from webbarchive.plans.observations import write_observations
from webbarchive.plans.templates import STATUSES, accepted_templates, status_name, template_name

COLUMNS = (
    "program",
    "observation",
    "visit",
    "target_name",
    "ra",
    "dec",
    "pm_ra",
    "pm_dec",
    "epoch",
    "template",
    "optical_elements",
    "status",
    "window_start",
    "window_end",
)
REQUIRED = ("program", "observation", "visit", "target_name", "ra", "dec", "template", "status")
DEFAULT_EPOCH = 2000.0
FORM = "CSV or JSON with " + ",".join(COLUMNS) + " (see webbarchive.plans.load)"


@dataclass
class LoadReport:
    visits: int
    source: str

    def summary(self) -> str:
        return f"loaded {self.visits} planned visits from {self.source}"


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _number(row: dict, key: str, where: str, *, integer: bool = False) -> Any:
    value = row.get(key)
    if _blank(value):
        return None
    try:
        number = int(str(value).strip()) if integer else float(value)
    except (TypeError, ValueError):
        kind = "an integer" if integer else "a number"
        raise PlanInputError(f"{where}: {key} must be {kind} (got {value!r})", FORM) from None
    if not integer and not math.isfinite(number):
        raise PlanInputError(f"{where}: {key} must be finite (got {value!r})", FORM)
    return number


def _mjd(value: Any, key: str, where: str) -> float | None:
    if _blank(value):
        return None
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        with warnings.catch_warnings():  # ERFA: "dubious year" past the leap-second table
            warnings.simplefilter("ignore")
            return float(Time(text, scale="utc").mjd)
    except ValueError:
        raise PlanInputError(
            f"{where}: {key} must be an ISO UTC time or an MJD (got {value!r})", FORM
        ) from None


def _mjd_number(value: Any, key: str, where: str) -> float | None:
    """An MJD given as a number (None for ISO text, read later, or blank)."""
    if _blank(value) or not _is_number(str(value).strip()):
        return None
    return _mjd(value, key, where)


def visit_row(row: dict, where: str) -> dict:
    """One visit of the file as a ``planned_visits`` row (position not yet moved)."""
    missing = [key for key in REQUIRED if _blank(row.get(key))]
    if missing:
        raise PlanInputError(f"{where}: missing {', '.join(missing)}", FORM)
    program = _number(row, "program", where, integer=True)
    if not 0 < program < 10**6:
        raise PlanInputError(f"{where}: program must be a JWST program number (got {program})")
    ra, dec = _number(row, "ra", where), _number(row, "dec", where)
    if not -90.0 <= dec <= 90.0:
        raise PlanInputError(f"{where}: dec must be within [-90, 90] degrees (got {dec})", FORM)
    template = template_name(str(row["template"]))
    if template is None:
        raise PlanInputError(f"{where}: unknown template {row['template']!r}", accepted_templates())
    status = status_name(str(row["status"]))
    if status is None:
        raise PlanInputError(f"{where}: unknown status {row['status']!r}", list(STATUSES))
    pm_ra, pm_dec = _number(row, "pm_ra", where), _number(row, "pm_dec", where)
    if (pm_ra is None) != (pm_dec is None):
        raise PlanInputError(f"{where}: give both pm_ra and pm_dec or neither", FORM)
    epoch = _number(row, "epoch", where)
    instrument = row.get("instrument")
    elements = row.get("optical_elements")
    return {
        "proposal_id": str(program),
        "observation": _number(row, "observation", where, integer=True),
        "visit": _number(row, "visit", where, integer=True),
        "calib_level": -1,
        "target_name": str(row["target_name"]).strip(),
        "target_ra": ra % 360.0,
        "target_dec": dec,
        "pm_ra_mas_yr": pm_ra,
        "pm_dec_mas_yr": pm_dec,
        "epoch_jyear": epoch
        if epoch is not None
        else (DEFAULT_EPOCH if pm_ra is not None else None),
        "instrument": (
            str(instrument).strip().upper()
            if not _blank(instrument)
            else template.split()[0].upper()
        ),  # fmt: skip
        "template": template,
        "optical_elements": None if _blank(elements) else str(elements).strip(),
        "status": status,
        # ISO windows are read for all rows at once (_windows_to_mjd)
        "t_plan_start": _mjd_number(row.get("window_start"), "window_start", where),
        "t_plan_end": _mjd_number(row.get("window_end"), "window_end", where),
    }


def move_to_window(rows: list[dict]) -> None:
    """Set ``s_ra``/``s_dec``: each target moved by its proper motion from its
    epoch to its window's start (astropy, vectorised), else its catalogued position."""
    for row in rows:
        row["s_ra"], row["s_dec"] = row["target_ra"], row["target_dec"]
    moving = [r for r in rows if r["pm_ra_mas_yr"] is not None and r["t_plan_start"] is not None]
    if not moving:
        return
    coords = SkyCoord(
        ra=[r["target_ra"] for r in moving] * u.deg,
        dec=[r["target_dec"] for r in moving] * u.deg,
        pm_ra_cosdec=[r["pm_ra_mas_yr"] for r in moving] * u.mas / u.yr,
        pm_dec=[r["pm_dec_mas_yr"] for r in moving] * u.mas / u.yr,
        obstime=Time([r["epoch_jyear"] for r in moving], format="jyear"),
        frame="icrs",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ERFA: "distance overridden" without a parallax
        moved = coords.apply_space_motion(
            new_obstime=Time([r["t_plan_start"] for r in moving], format="mjd", scale="utc")
        )
    for row, ra, dec in zip(
        moving, np.asarray(moved.ra.deg), np.asarray(moved.dec.deg), strict=True
    ):
        row["s_ra"], row["s_dec"] = float(ra) % 360.0, float(dec)


def json_records(text: str, source: str, key: str, form: str) -> list[dict]:
    """The objects of a JSON list, or of the list under ``key`` of a JSON object
    (``{"visits": [...]}``, ``{"targets": [...]}``); ``form`` is the accepted form
    that a :class:`PlanInputError` quotes."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanInputError(f"{source}: not valid JSON ({exc})", form) from None
    if isinstance(data, dict):
        data = data.get(key)
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise PlanInputError(f"{source}: JSON must be a list of {key[:-1]} objects", form)
    return data


def read_rows(text: str, source: str) -> list[dict]:
    """The visits of a CSV or JSON text, validated and with moved positions."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        records = json_records(stripped, source, "visits", FORM)
    else:
        reader = csv.DictReader(io.StringIO(text))
        header = [name.strip() for name in reader.fieldnames or []]
        absent = [key for key in REQUIRED if key not in header]
        if absent:
            raise PlanInputError(f"{source}: the header lacks {', '.join(absent)}", FORM)
        records = [{k.strip(): v for k, v in r.items() if k} for r in reader]
    rows = [visit_row(record, f"{source} visit {i + 1}") for i, record in enumerate(records)]
    seen: set[tuple] = set()
    for row in rows:
        key = (row["proposal_id"], row["observation"], row["visit"])
        if key in seen:
            raise PlanInputError(f"{source}: visit {key} appears twice")
        seen.add(key)
    _windows_to_mjd(rows, [record for record in records], source)
    move_to_window(rows)
    return rows


def _windows_to_mjd(rows: list[dict], records: list[dict], source: str) -> None:
    """The ISO windows of all rows in one astropy call (a call per row costs a
    millisecond each); a failing batch is read again row by row for the message."""
    for key, column in (("window_start", "t_plan_start"), ("window_end", "t_plan_end")):
        texts = [
            (i, str(r.get(key)).strip()) for i, r in enumerate(records) if not _blank(r.get(key))
        ]
        iso = [(i, t) for i, t in texts if not _is_number(t)]
        if not iso:
            continue
        try:
            with warnings.catch_warnings():  # ERFA: "dubious year" past the leap-second table
                warnings.simplefilter("ignore")
                mjds = Time([t for _, t in iso], scale="utc").mjd
        except ValueError:
            for i, text in iso:
                rows[i][column] = _mjd(text, key, f"{source} visit {i + 1}")
            continue
        for (i, _), mjd in zip(iso, mjds, strict=True):
            rows[i][column] = float(mjd)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_plans(engine: Engine, path: Path) -> LoadReport:
    """Load (or replace) the visits of the file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanInputError(f"cannot read {path}: {exc}", FORM) from None
    rows = read_rows(text, str(path))
    with engine.begin() as conn:
        keys = [(r["proposal_id"], r["observation"], r["visit"]) for r in rows]
        table = planned_visits
        for start in range(0, len(keys), 500):
            conn.execute(
                delete(table).where(
                    tuple_(table.c.proposal_id, table.c.observation, table.c.visit).in_(
                        keys[start : start + 500]
                    )
                )
            )
        if rows:
            conn.execute(table.insert(), rows)
        write_observations(conn, rows)
    return LoadReport(len(rows), str(path))
