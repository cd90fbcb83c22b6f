"""The duplication check: planned visits near a position, with their separations.

A planned visit matches a position when its target, moved by proper motion to
the visit's planned window (``s_ra``/``s_dec``, see :mod:`webbarchive.plans.load`),
lies within the radius: the caller's, or else the visit's own template's
(:func:`~webbarchive.plans.templates.radius_arcsec`), so that a NIRCam imaging
visit 250" away matches while a MIRI MRS visit 10" away does not.

The database narrows the candidates to a band of declination (and of right
ascension, away from the poles, wrapping at 0/360); the exact angular
separation (Vincenty's formula, numpy) decides. Units: degrees in, separations
in arcsec out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, or_, select

from webbarchive.catalog.schema import planned_visits
from webbarchive.plans.errors import PlanInputError, PlanNotFound
from webbarchive.plans.templates import (
    LARGEST_RADIUS_ARCSEC,
    OTHER_RADIUS_ARCSEC,
    RADIUS_ARCSEC,
    STATUSES,
    accepted_templates,
    status_name,
    template_name,
)

#: The largest radius a caller may ask for, arcsec (one degree).
MAX_RADIUS_ARCSEC = 3600.0
#: Where the APT information of a program is published (PDF of the public phase 2).
APT_URL = "https://www.stsci.edu/jwst/phase2-public/{program}.pdf"


@dataclass(frozen=True)
class Filters:
    """What a duplication request restricts the visits to (None: no restriction)."""

    templates: tuple[str, ...] | None = None
    optical_elements: tuple[str, ...] | None = None  # upper case, any of them
    statuses: tuple[str, ...] | None = None
    radius_arcsec: float | None = None  # None: each visit's template radius


def _split(text: str | None) -> list[str]:
    if text is None:
        return []
    return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]


def parse_filters(
    template: str | None = None,
    optical_elements: str | None = None,
    status: str | None = None,
    radius_arcsec: str | float | None = None,
) -> Filters:
    """Filters from request text (comma-separated lists); :class:`PlanInputError` if bad."""
    templates = []
    for text in _split(template):
        name = template_name(text)
        if name is None:
            raise PlanInputError(f"unknown template {text!r}", accepted_templates())
        templates.append(name)
    statuses = []
    for text in _split(status):
        name = status_name(text)
        if name is None:
            raise PlanInputError(f"unknown status {text!r}", list(STATUSES))
        statuses.append(name)
    radius = None
    if radius_arcsec not in (None, ""):
        try:
            radius = float(radius_arcsec)
        except (TypeError, ValueError):
            radius = math.nan
        if not (math.isfinite(radius) and 0.0 < radius <= MAX_RADIUS_ARCSEC):
            raise PlanInputError(
                f"radius must be a number of arcsec in (0, {MAX_RADIUS_ARCSEC:g}] "
                f"(got {radius_arcsec!r})",
                "radius=<arcsec>; absent: each visit's template radius "
                + ", ".join(f'{k} {v:g}"' for k, v in RADIUS_ARCSEC.items())
                + f', others {OTHER_RADIUS_ARCSEC:g}"',
            )
    elements = [e.upper() for e in _split(optical_elements)]
    return Filters(
        tuple(templates) or None, tuple(elements) or None, tuple(statuses) or None, radius
    )


def separation_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Angular separation (arcsec) of positions in degrees, stable at all angles."""
    ra1, dec1, ra2, dec2 = (np.radians(np.asarray(v, dtype=float)) for v in (ra1, dec1, ra2, dec2))
    dra = ra2 - ra1
    s1, c1, s2, c2 = np.sin(dec1), np.cos(dec1), np.sin(dec2), np.cos(dec2)
    num = np.hypot(c2 * np.sin(dra), c1 * s2 - s1 * c2 * np.cos(dra))
    return np.degrees(np.arctan2(num, s1 * s2 + c1 * c2 * np.cos(dra))) * 3600.0


def _sky_band(ra: float, dec: float, radius_deg: float):
    """A WHERE clause holding every position within ``radius_deg`` of (ra, dec)."""
    c = planned_visits.c
    low, high = dec - radius_deg, dec + radius_deg
    clause = c.s_dec.between(low, high)
    if low <= -90.0 or high >= 90.0:
        return clause  # the cap holds a pole: every right ascension
    half = math.degrees(
        math.asin(min(1.0, math.sin(math.radians(radius_deg)) / math.cos(math.radians(dec))))
    )
    if half >= 180.0 - 1e-9 or half >= 90.0:
        return clause
    lo, hi = ra - half, ra + half
    if lo < 0.0:
        return and_(clause, or_(c.s_ra >= lo + 360.0, c.s_ra <= hi))
    if hi >= 360.0:
        return and_(clause, or_(c.s_ra >= lo, c.s_ra <= hi - 360.0))
    return and_(clause, c.s_ra.between(lo, hi))


def render(row: dict[str, Any], separation: float) -> dict[str, Any]:
    program = row["proposal_id"]
    return {
        "program": int(program),
        "observation": row["observation"],
        "visit": row["visit"],
        "target_name": row["target_name"],
        "template": row["template"],
        "instrument": row["instrument"],
        "optical_elements": row["optical_elements"],
        "status": row["status"],
        "separation_arcsec": round(float(separation), 4),
        "s_ra": row["s_ra"],
        "s_dec": row["s_dec"],
        "target_ra": row["target_ra"],
        "target_dec": row["target_dec"],
        "pm_ra_mas_yr": row["pm_ra_mas_yr"],
        "pm_dec_mas_yr": row["pm_dec_mas_yr"],
        "epoch_jyear": row["epoch_jyear"],
        "t_plan_start": row["t_plan_start"],
        "t_plan_end": row["t_plan_end"],
        "calib_level": row["calib_level"],
        "apt_url": APT_URL.format(program=program),
    }


def candidates(
    conn: Connection, ra: float, dec: float, filters: Filters, widen_arcsec: float = 0.0
) -> list[dict]:
    """Visits passing the filters whose positions may lie within their radius of
    (ra, dec) in degrees, plus ``widen_arcsec`` (a moving target's reach)."""
    largest = (filters.radius_arcsec or LARGEST_RADIUS_ARCSEC) + widen_arcsec
    c = planned_visits.c
    query = select(planned_visits).where(_sky_band(ra % 360.0, dec, min(largest / 3600.0, 180.0)))
    if filters.templates:
        query = query.where(c.template.in_(filters.templates))
    if filters.statuses:
        query = query.where(c.status.in_(filters.statuses))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    if filters.optical_elements:
        rows = [
            r for r in rows if has_optical_element(r["optical_elements"], filters.optical_elements)
        ]
    return rows


def has_optical_element(optical_elements: str | None, wanted: tuple[str, ...]) -> bool:
    """Whether a visit's ``optical_elements`` ("F290LP;G395M") hold any of ``wanted``
    (upper case)."""
    return bool(set(wanted) & set(_split((optical_elements or "").upper())))


def matching(rows: list[dict], separations: np.ndarray, filters: Filters) -> list[int]:
    """Indexes of ``rows`` within their radius (arcsec ``separations``), nearest first."""
    if filters.radius_arcsec is not None:
        radii = np.full(len(rows), filters.radius_arcsec)
    else:
        radii = np.array([RADIUS_ARCSEC.get(r["template"], OTHER_RADIUS_ARCSEC) for r in rows])
    keep = np.flatnonzero(separations <= radii)
    keep = keep[np.lexsort((
        [rows[i]["visit"] for i in keep],
        [rows[i]["observation"] for i in keep],
        [int(rows[i]["proposal_id"]) for i in keep],
        separations[keep],
    ))]  # fmt: skip
    return [int(i) for i in keep]


def search(conn: Connection, ra: float, dec: float, filters: Filters = Filters()) -> list[dict]:
    """Planned visits matching (ra, dec) in degrees, nearest first."""
    rows = candidates(conn, ra, dec, filters)
    if not rows:
        return []
    separations = separation_arcsec(ra, dec, [r["s_ra"] for r in rows], [r["s_dec"] for r in rows])
    return [render(rows[i], separations[i]) for i in matching(rows, separations, filters)]


def target_position(conn: Connection, name: str) -> tuple[float, float]:
    """The catalogued position (degrees) of a planned target named ``name``
    (any case, blanks and '-'/'_' ignored); :class:`PlanNotFound` if none."""
    key = _name_key(name)
    if not key:
        raise PlanInputError("target name is empty", "target=<a planned target's name>")
    c = planned_visits.c
    rows = conn.execute(
        select(c.target_name, c.target_ra, c.target_dec).distinct().order_by(c.target_name)
    ).all()
    for target, ra, dec in rows:
        if _name_key(target) == key:
            return float(ra), float(dec)
    raise PlanNotFound(
        f"no planned visit has the target {name!r}; give ra and dec instead",
        ["ra=<deg>&dec=<deg>", "target=<a planned target's name>"],
    )


def _name_key(name: str) -> str:
    return "".join(ch for ch in name.upper() if ch.isalnum() or ch in "+.")
