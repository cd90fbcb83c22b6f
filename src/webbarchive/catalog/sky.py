"""Footprints on the sky: parse and validate S_REGION, index it as HEALPix, query cones.

All angles are degrees (ICRS). A footprint is a list of ``(ra_deg, dec_deg)``
vertices joined by great-circle arcs, as STC-S ``POLYGON`` means.

Indexing: each observation's footprint is covered by HEALPix NESTED cells at
:data:`~webbarchive.catalog.schema.SKY_INDEX_DEPTH` (``sky_index`` rows). A cone
query turns the cone into cells at the same depth, joins ``sky_index`` for
candidates, then confirms every candidate with exact spherical geometry
(:func:`polygon_intersects_cone`), so the cells only ever make the query fast,
never wrong.

Example
-------
>>> poly = parse_stcs("POLYGON ICRS 10.0 -5.0 10.1 -5.0 10.1 -4.9 10.0 -4.9")
>>> polygon_intersects_cone(poly, 10.05, -4.95, 0.001)
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

import astropy.units as u
import numpy as np
from astropy.coordinates import Latitude, Longitude
from cdshealpix.nested import cone_search, lonlat_to_healpix, polygon_search
from sqlalchemy import ColumnElement, Connection, or_, select

from webbarchive import sphere
from webbarchive.catalog.schema import SKY_INDEX_DEPTH, observations, sky_index
from webbarchive.errors import InvalidInput
from webbarchive.sphere import angular_distance_deg, unit_vectors

Polygon = list[tuple[float, float]]

#: Largest footprint accepted as plausible for one JWST observation (deg^2).
#: The biggest mosaics of a single observation stay well below this; the
#: broken fixed-slit S_REGIONs of pipeline 1.8.2 span thousands of deg^2.
MAX_AREA_DEG2 = 1.0
#: Largest distance (deg) between a footprint's centre and the pointing.
MAX_OFFSET_DEG = 1.0
#: Half size (deg) of the box used when only the target position is known (1 arcsec).
TARGET_BOX_HALF_DEG = 1.0 / 3600.0
#: Most cell ranges one SQL condition may hold. SQLite parses ``a OR b OR ...``
#: as a chain as deep as it is long and refuses depths over 1,000 ("Expression
#: tree is too large"); coarser cells keep any region under this, at the cost
#: of a few more candidates for the exact test.
MAX_CELL_RANGES = 256

_STCS_POLYGON = re.compile(r"^\s*POLYGON\s+(?:(ICRS|FK5|J2000|UNKNOWNFRAME)\s+)?(.*)$", re.I)


class FootprintError(InvalidInput):
    """A footprint that cannot be trusted; the message says why."""


def parse_stcs(text: str) -> Polygon:
    """Vertices of an STC-S ``POLYGON [frame] ra dec ...`` string (degrees).

    Raises :class:`FootprintError` for anything else (CIRCLE, unions, odd
    number of values, non-numeric values).
    """
    match = _STCS_POLYGON.match(text or "")
    if not match:
        raise FootprintError(f"not an STC-S POLYGON: {text[:60]!r}")
    try:
        values = [float(v) for v in match.group(2).split()]
    except ValueError as exc:
        raise FootprintError(f"non-numeric value in S_REGION: {exc}") from None
    if len(values) % 2 or len(values) < 6:
        raise FootprintError(f"S_REGION needs at least 3 ra/dec pairs, got {len(values)} values")
    return [(values[i] % 360.0, values[i + 1]) for i in range(0, len(values), 2)]


def to_stcs(polygon: Polygon) -> str:
    """STC-S text of ``polygon`` as the JWST pipeline writes it."""
    return "POLYGON ICRS " + " ".join(f"{ra:.9f} {dec:.9f}" for ra, dec in polygon)


def _to_radec(vector: np.ndarray) -> tuple[float, float]:
    ra, dec = sphere.to_radec(vector)
    return float(ra), float(dec)


def centroid(polygon: Polygon) -> tuple[float, float]:
    """Mean position of the vertices (deg), correct across RA 0/360 and at the poles."""
    ra, dec = zip(*polygon, strict=True)
    return _to_radec(unit_vectors(ra, dec).sum(axis=0))


def _gnomonic(polygon: Polygon, centre: tuple[float, float]) -> np.ndarray:
    """Gnomonic (tangent-plane) coordinates around ``centre``.

    Great circles project to straight lines, so planar geometry on these
    coordinates is exact for polygons of great-circle edges.
    """
    ra, dec = zip(*polygon, strict=True)
    x, y, front = sphere.to_tangent(ra, dec, *centre)
    if not np.all(front):
        raise FootprintError("polygon spans more than a hemisphere")
    return np.stack([x, y], axis=-1)


def area_deg2(polygon: Polygon) -> float:
    """Area (deg^2) of a small polygon, from its tangent-plane projection."""
    xy = _gnomonic(polygon, centroid(polygon))
    x, y = xy[:, 0], xy[:, 1]
    return (
        abs(0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
        * (180.0 / math.pi) ** 2
    )


def validate(polygon: Polygon, reference: tuple[float, float] | None = None) -> Polygon:
    """Return ``polygon`` if it is a plausible JWST footprint, else raise
    :class:`FootprintError` saying which check failed.

    Checks: finite vertices, dec in [-90, 90], at least 3 distinct vertices,
    0 < area < :data:`MAX_AREA_DEG2`, and the centre within
    :data:`MAX_OFFSET_DEG` of ``reference`` (the pointing) when given.
    """
    values = np.asarray(polygon, dtype=float)
    if values.ndim != 2 or values.shape[1] != 2 or not np.all(np.isfinite(values)):
        raise FootprintError("non-finite vertex")
    if np.any(np.abs(values[:, 1]) > 90.0):
        raise FootprintError("declination outside [-90, 90]")
    distinct = {(round(ra % 360.0, 9), round(dec, 9)) for ra, dec in polygon}
    if len(distinct) < 3:
        raise FootprintError(f"only {len(distinct)} distinct vertices")
    try:
        area = area_deg2(polygon)
    except FootprintError as exc:
        raise FootprintError(f"implausible footprint: {exc}") from None
    if not 0.0 < area < MAX_AREA_DEG2:
        raise FootprintError(f"implausible area {area:.3g} deg^2 (accepted: 0 < area < 1)")
    if reference is not None and all(v is not None for v in reference):
        offset = float(angular_distance_deg(*centroid(polygon), *reference))
        if offset > MAX_OFFSET_DEG:
            raise FootprintError(f"centre {offset:.3g} deg from the pointing (accepted: <= 1 deg)")
    return [(ra % 360.0, dec) for ra, dec in polygon]


def target_box(ra_deg: float, dec_deg: float, half_deg: float = TARGET_BOX_HALF_DEG) -> Polygon:
    """A small square around a position, for products that only know their target."""
    cos_dec = max(math.cos(math.radians(dec_deg)), 1e-6)
    d_ra = min(half_deg / cos_dec, 180.0)
    top, bottom = min(dec_deg + half_deg, 90.0), max(dec_deg - half_deg, -90.0)
    return [
        ((ra_deg - d_ra) % 360.0, bottom),
        ((ra_deg + d_ra) % 360.0, bottom),
        ((ra_deg + d_ra) % 360.0, top),
        ((ra_deg - d_ra) % 360.0, top),
    ]


def convex_hull(polygons: Sequence[Polygon]) -> Polygon:
    """The convex hull (counter-clockwise on the sky) of several small footprints."""
    vertices = [v for polygon in polygons for v in polygon]
    if len(polygons) == 1:
        return list(polygons[0])
    centre = centroid(vertices)
    xy = _gnomonic(vertices, centre)
    order = _monotone_chain(xy)
    return [(vertices[i][0] % 360.0, vertices[i][1]) for i in order]


def _monotone_chain(xy: np.ndarray) -> list[int]:
    points = sorted(range(len(xy)), key=lambda i: (xy[i, 0], xy[i, 1]))

    def cross(o: int, a: int, b: int) -> float:
        return (xy[a, 0] - xy[o, 0]) * (xy[b, 1] - xy[o, 1]) - (xy[a, 1] - xy[o, 1]) * (
            xy[b, 0] - xy[o, 0]
        )

    lower: list[int] = []
    upper: list[int] = []
    for p in points:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(points):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


# --- HEALPix -----------------------------------------------------------------------


def polygon_cells(polygon: Polygon, depth: int = SKY_INDEX_DEPTH) -> list[int]:
    """NESTED HEALPix cells at ``depth`` that overlap ``polygon``.

    The vertices' own cells are added: cdshealpix may miss a polygon much
    smaller than a cell, and the index must never miss a footprint.
    """
    return polygons_cells(np.asarray([polygon], dtype=float), depth)[0]


def polygons_cells(polygons: np.ndarray, depth: int = SKY_INDEX_DEPTH) -> list[list[int]]:
    """:func:`polygon_cells` of each of ``polygons`` ((N, V, 2) ra, dec in deg), with
    the vertex cells of all of them found in one call (most of the cost)."""
    polygons = np.asarray(polygons, dtype=float)
    if not len(polygons):
        return []
    ra, dec = polygons[..., 0] % 360.0, polygons[..., 1]
    # one thread: a rayon pool per call costs more than a few vertices
    vertex_cells = lonlat_to_healpix(
        Longitude(ra.ravel(), u.deg), Latitude(dec.ravel(), u.deg), depth, num_threads=1
    ).reshape(ra.shape)
    lon, lat = Longitude(ra, u.deg), Latitude(dec, u.deg)
    found = []
    for k in range(len(polygons)):
        cells = set(vertex_cells[k].tolist())
        try:
            ipix, _, _ = polygon_search(lon[k], lat[k], depth, flat=True)
            cells.update(ipix.tolist())
        except (IndexError, ValueError):  # degenerate polygon: vertex cells suffice
            pass
        found.append(sorted(int(c) for c in cells))
    return found


def cone_ranges(
    ra: float, dec: float, radius_deg: float, depth: int = SKY_INDEX_DEPTH
) -> list[tuple[int, int]]:
    """The cone's cells at ``depth`` as merged half-open ranges ``[start, stop)``.

    A large cone covers millions of depth-10 cells but few coarse ones: the
    coarse cells of the MOC become ranges of NESTED indices, which keeps the
    SQL short at any radius.
    """
    ipix, depths, _ = cone_search(
        Longitude(ra, u.deg), Latitude(dec, u.deg), radius_deg * u.deg, depth
    )
    ranges = sorted(
        (int(c) << (2 * (depth - int(d))), (int(c) + 1) << (2 * (depth - int(d))))
        for c, d in zip(ipix, depths, strict=True)
    )
    centre = int(
        lonlat_to_healpix(Longitude([ra], u.deg), Latitude([dec], u.deg), depth, num_threads=1)[0]
    )
    ranges.append((centre, centre + 1))
    return coarsen_ranges(ranges)


def _merged(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for start, stop in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    return [(a, b) for a, b in merged]


def coarsen_ranges(
    ranges: Iterable[tuple[int, int]], max_ranges: int = MAX_CELL_RANGES
) -> list[tuple[int, int]]:
    """Half-open NESTED cell ranges, merged, then widened to whole parent cells
    (one HEALPix order coarser per step) until at most ``max_ranges`` remain.
    The result covers every input cell: a superset, as a pre-filter needs."""
    merged = _merged(ranges)
    step = 1
    while len(merged) > max_ranges:
        size = 4**step
        merged = _merged((a // size * size, -(-b // size) * size) for a, b in merged)
        step += 1
    return merged


def cells_clause(ranges: list[tuple[int, int]], column=sky_index.c.hpx) -> ColumnElement:
    """``column`` (a HEALPix cell) in one of the half-open ``ranges``."""
    singles = [a for a, b in ranges if b - a == 1]
    spans = [column.between(a, b - 1) for a, b in ranges if b - a > 1]
    clauses = spans + ([column.in_(singles)] if singles else [])
    return or_(*clauses)


# --- exact spherical tests -----------------------------------------------------------


def point_in_polygon(polygon: Polygon, ra: float, dec: float) -> bool:
    """Whether a point lies inside a small polygon (great-circle edges)."""
    centre = centroid(polygon)
    if float(angular_distance_deg(ra, dec, *centre)) >= 89.0:
        return False
    xy = _gnomonic([*polygon, (ra, dec)], centre)
    px, py = xy[-1]
    return bool(sphere.inside(xy[:-1, 0], xy[:-1, 1], [px], [py])[0])


def distance_to_arc_deg(ra: float, dec: float, a: tuple[float, float], b: tuple[float, float]):
    """Smallest angular distance (deg) from a point to the great-circle arc a-b."""
    p, va, vb = unit_vectors(ra, dec), unit_vectors(*a), unit_vectors(*b)
    normal = np.cross(va, vb)
    norm = np.linalg.norm(normal)
    if norm > 1e-15:
        normal /= norm
        foot = p - np.dot(p, normal) * normal
        if np.linalg.norm(foot) > 1e-15 and (
            np.dot(np.cross(va, foot), normal) >= 0 and np.dot(np.cross(foot, vb), normal) >= 0
        ):
            return math.degrees(math.asin(min(1.0, abs(float(np.dot(p, normal))))))
    return float(min(angular_distance_deg(ra, dec, *a), angular_distance_deg(ra, dec, *b)))


def polygon_intersects_cone(polygon: Polygon, ra: float, dec: float, radius_deg: float) -> bool:
    """Exact test: does the footprint overlap the cone (centre and radius in deg)?

    True when the centre lies inside the polygon or any edge comes within
    ``radius_deg`` of the centre.
    """
    if point_in_polygon(polygon, ra, dec):
        return True
    n = len(polygon)
    return any(
        distance_to_arc_deg(ra, dec, polygon[i], polygon[(i + 1) % n]) <= radius_deg
        for i in range(n)
    )


def observations_in_cone(
    conn: Connection,
    ra: float,
    dec: float,
    radius_deg: float,
    where: ColumnElement | None = None,
) -> list[int]:
    """``obsid`` of observations whose footprint overlaps the cone, sorted.

    Candidates come from ``sky_index``; each is confirmed with
    :func:`polygon_intersects_cone` on its ``s_region``. ``where`` is an extra
    clause on :data:`observations` (e.g. a rights filter from
    :mod:`webbarchive.catalog.rights`).
    """
    if not (math.isfinite(ra) and math.isfinite(dec) and math.isfinite(radius_deg)):
        raise ValueError("ra, dec and radius must be finite numbers of degrees")
    if not -90.0 <= dec <= 90.0 or radius_deg < 0:
        raise ValueError("dec must be in [-90, 90] and radius >= 0 (degrees)")
    candidates = (
        select(sky_index.c.obsid)
        .where(cells_clause(cone_ranges(ra % 360.0, dec, radius_deg)))
        .distinct()
        .scalar_subquery()
    )
    query = select(observations.c.obsid, observations.c.s_region).where(
        observations.c.obsid.in_(candidates)
    )
    if where is not None:
        query = query.where(where)
    found = []
    for obsid, s_region in conn.execute(query):
        try:
            polygon = parse_stcs(s_region)
        except FootprintError:
            continue
        if polygon_intersects_cone(polygon, ra % 360.0, dec, radius_deg):
            found.append(int(obsid))
    return sorted(found)


def index_rows(obsid: int, polygon: Polygon | None) -> list[dict[str, int]]:
    """``sky_index`` rows for one observation's footprint."""
    if not polygon:
        return []
    return [{"obsid": obsid, "hpx": cell} for cell in polygon_cells(polygon)]
