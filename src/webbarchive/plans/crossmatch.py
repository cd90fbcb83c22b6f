"""Many targets against the planned visits at once (the target-list duplication check).

Checking targets one at a time costs a query and a Python row per candidate
visit per target; a list of 1,000 targets in crowded fields built hundreds of
thousands of rows. Here instead:

1. one query reads only what matching needs (key, position at the window,
   template, optical elements, window start) for the visits passing the
   filters, in the declination bands the targets can reach (or the whole
   table, when the bands cover most of it), into numpy arrays;
2. a KD-tree on unit vectors (scipy) pairs every target with every visit within
   the largest radius in play (plus, for a moving target, the distance its
   proper motion carries it in :data:`REACH_YEARS`);
3. moving targets are moved to each candidate visit's window start (astropy's
   ``apply_space_motion``, one vectorised call over the pairs), exact
   separations (Vincenty, :func:`~webbarchive.plans.query.separation_arcsec`)
   decide against each visit's radius;
4. one more query (chunked) reads the full rows of the matched visits only.

Units: degrees for positions, arcsec for radii and separations, mas/yr for
proper motions, MJD (UTC) for windows, Julian years for epochs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time
from scipy.spatial import cKDTree
from sqlalchemy import Connection, and_, or_, select, tuple_

from webbarchive.catalog.schema import planned_visits
from webbarchive.plans.query import Filters, has_optical_element, separation_arcsec
from webbarchive.plans.templates import LARGEST_RADIUS_ARCSEC, radius_arcsec

if TYPE_CHECKING:
    from webbarchive.plans.targets import Target

#: Years a moving target is followed from its epoch when bounding the candidates.
REACH_YEARS = 100.0
#: More declination bands than this: read the visits between the lowest and the
#: highest band instead (one range scan beats a long OR).
MAX_BANDS = 40
#: Matched visits read per full-row query.
FETCH_CHUNK = 300
_LIGHT = (
    planned_visits.c.proposal_id,
    planned_visits.c.observation,
    planned_visits.c.visit,
    planned_visits.c.s_ra,
    planned_visits.c.s_dec,
    planned_visits.c.template,
    planned_visits.c.optical_elements,
    planned_visits.c.t_plan_start,
)


@dataclass(frozen=True)
class Visits:
    """The matching fields of candidate visits, one array element a visit."""

    keys: list[tuple[str, int, int]]  # (proposal_id as stored, observation, visit)
    ra: np.ndarray  # degrees, at the window start
    dec: np.ndarray
    radius: np.ndarray  # arcsec: the caller's, or the template's
    start_mjd: np.ndarray  # NaN: no window


@dataclass(frozen=True)
class Match:
    """One (target, visit) pair within the visit's radius."""

    target: Target
    key: tuple[str, int, int]
    separation_arcsec: float
    ra_at_visit: float  # the target at the visit's window start, degrees
    dec_at_visit: float


def reach_arcsec(target: Target) -> float:
    """How far (arcsec) the target's proper motion carries it in :data:`REACH_YEARS`."""
    if not target.moving:
        return 0.0
    total = math.hypot(target.pm_ra_mas_yr or 0.0, target.pm_dec_mas_yr or 0.0)
    return total / 1000.0 * REACH_YEARS


def _bands(targets: Sequence[Target], search_arcsec: np.ndarray) -> list[tuple[float, float]]:
    """Merged declination intervals (degrees) holding every visit a target may match."""
    spans = sorted(
        (t.dec - r / 3600.0, t.dec + r / 3600.0)
        for t, r in zip(targets, search_arcsec, strict=True)
    )
    merged: list[list[float]] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return [(max(low, -90.0), min(high, 90.0)) for low, high in merged]


def load_visits(conn: Connection, filters: Filters, bands: list[tuple[float, float]]) -> Visits:
    """The visits passing ``filters`` with positions in the declination ``bands``."""
    c = planned_visits.c
    query = select(*_LIGHT)
    if len(bands) <= MAX_BANDS:
        query = query.where(or_(*(c.s_dec.between(low, high) for low, high in bands)))
    elif bands[0][0] > -90.0 or bands[-1][1] < 90.0:
        query = query.where(c.s_dec.between(bands[0][0], bands[-1][1]))
    if filters.templates:
        query = query.where(c.template.in_(filters.templates))
    if filters.statuses:
        query = query.where(c.status.in_(filters.statuses))
    rows = conn.execute(query).all()
    if filters.optical_elements:
        rows = [r for r in rows if has_optical_element(r[6], filters.optical_elements)]
    if filters.radius_arcsec is not None:
        radius = np.full(len(rows), filters.radius_arcsec)
    else:
        by_template: dict[str, float] = {}
        radius = np.array(
            [by_template.setdefault(r[5], radius_arcsec(r[5])) for r in rows], dtype=float
        )
    return Visits(
        keys=[(r[0], int(r[1]), int(r[2])) for r in rows],
        ra=np.array([r[3] for r in rows], dtype=float),
        dec=np.array([r[4] for r in rows], dtype=float),
        radius=radius,
        start_mjd=np.array([np.nan if r[7] is None else r[7] for r in rows], dtype=float),
    )


def unit_vectors(ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """(n, 3) unit vectors of positions in degrees."""
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.column_stack((np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)))


def _chord(arcsec: np.ndarray) -> np.ndarray:
    """The chord of unit vectors ``arcsec`` apart, a hair longer so that rounding
    never drops a pair the exact separation keeps."""
    angle = np.radians(np.minimum(arcsec / 3600.0, 180.0))
    return 2.0 * np.sin(angle / 2.0) * (1.0 + 1e-9) + 1e-12


def _moved(
    targets: Sequence[Target], pair_target: np.ndarray, start_mjd: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each pair's target position (degrees) at its visit's window start: moving
    targets moved by proper motion, others (and windowless visits) as given."""
    ra = np.array([targets[i].ra for i in pair_target], dtype=float)
    dec = np.array([targets[i].dec for i in pair_target], dtype=float)
    moving = np.array([targets[i].moving for i in pair_target], dtype=bool)
    move = np.flatnonzero(moving & np.isfinite(start_mjd))
    if move.size == 0:
        return ra, dec
    which = [targets[i] for i in pair_target[move]]
    coord = SkyCoord(
        ra=ra[move] * u.deg,
        dec=dec[move] * u.deg,
        pm_ra_cosdec=np.array([t.pm_ra_mas_yr or 0.0 for t in which]) * u.mas / u.yr,
        pm_dec=np.array([t.pm_dec_mas_yr or 0.0 for t in which]) * u.mas / u.yr,
        obstime=Time(np.array([t.epoch_jyear for t in which]), format="jyear"),
        frame="icrs",
    )
    with warnings.catch_warnings():  # ERFA: no parallax, "dubious year" of future windows
        warnings.simplefilter("ignore")
        at = coord.apply_space_motion(new_obstime=Time(start_mjd[move], format="mjd", scale="utc"))
    ra[move] = np.asarray(at.ra.deg) % 360.0
    dec[move] = np.asarray(at.dec.deg)
    return ra, dec


def match(
    conn: Connection,
    targets: Sequence[Target],
    filters: Filters = Filters(),
    progress: Callable[[int], None] | None = None,
    chunk: int = 500,
) -> tuple[list[Match], dict[tuple[str, int, int], dict]]:
    """Every (target, visit) pair within the visit's radius, in target-list order
    and nearest first within a target (ties by program, observation, visit), and
    the full rows of the matched visits by key. ``progress(n)`` after each
    ``chunk`` targets."""
    if not targets:
        return [], {}
    reach = np.array([reach_arcsec(t) for t in targets], dtype=float)
    largest = filters.radius_arcsec or LARGEST_RADIUS_ARCSEC
    visits = load_visits(conn, filters, _bands(targets, largest + reach))
    if not visits.keys:
        if progress is not None:
            progress(len(targets))
        return [], {}
    tree = cKDTree(unit_vectors(visits.ra, visits.dec))
    largest = float(visits.radius.max())
    program = np.array([int(k[0]) for k in visits.keys], dtype=np.int64)
    observation = np.array([k[1] for k in visits.keys], dtype=np.int64)
    visit = np.array([k[2] for k in visits.keys], dtype=np.int64)
    matches: list[Match] = []
    for first in range(0, len(targets), chunk):
        part = targets[first : first + chunk]
        where = unit_vectors(np.array([t.ra for t in part]), np.array([t.dec for t in part]))
        near = tree.query_ball_point(where, _chord(largest + reach[first : first + chunk]))
        counts = np.fromiter((len(n) for n in near), dtype=np.int64, count=len(part))
        if counts.sum():
            pair_target = np.repeat(np.arange(len(part)), counts)
            pair_visit = np.concatenate([np.asarray(n, dtype=np.int64) for n in near if n])
            ra, dec = _moved(part, pair_target, visits.start_mjd[pair_visit])
            separation = separation_arcsec(ra, dec, visits.ra[pair_visit], visits.dec[pair_visit])
            keep = np.flatnonzero(separation <= visits.radius[pair_visit])
            v = pair_visit[keep]
            keep = keep[
                np.lexsort((visit[v], observation[v], program[v], separation[keep],
                            pair_target[keep]))
            ]  # fmt: skip
            matches.extend(
                Match(
                    part[pair_target[i]],
                    visits.keys[pair_visit[i]],
                    float(separation[i]),
                    float(ra[i]),
                    float(dec[i]),
                )
                for i in keep
            )
        if progress is not None:
            progress(len(part))
    return matches, full_rows(conn, {m.key for m in matches})


def full_rows(conn: Connection, keys: set[tuple[str, int, int]]) -> dict[tuple, dict]:
    """The ``planned_visits`` rows of ``keys`` (proposal_id, observation, visit)."""
    c = planned_visits.c
    found: dict[tuple, dict] = {}
    ordered = sorted(keys)
    for start in range(0, len(ordered), FETCH_CHUNK):
        part = ordered[start : start + FETCH_CHUNK]
        programs = sorted({k[0] for k in part})
        query = select(planned_visits).where(
            and_(
                c.proposal_id.in_(programs), tuple_(c.proposal_id, c.observation, c.visit).in_(part)
            )
        )
        result = conn.execute(query)
        names = list(result.keys())  # once: a RowMapping asks for them per row
        for values in result.all():
            row = dict(zip(names, values, strict=True))
            found[(row["proposal_id"], row["observation"], row["visit"])] = row
    return found
