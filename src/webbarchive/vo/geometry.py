"""Exact spherical geometry for ADQL on backends without pgsphere (SQLite).

Shapes travel through SQL as short strings in STC-S-like form, the same
form the catalog stores ``s_region`` in (degrees, ICRS)::

    POINT ra dec
    CIRCLE ra dec radius
    POLYGON ra1 dec1 ra2 dec2 ...      (great-circle edges, < a hemisphere)

A frame word after the shape name (``ICRS``) is accepted and ignored. The
predicates below are registered as SQL functions on every SQLite connection
that runs a translated ADQL query (:func:`register_sqlite`); on PostgreSQL the
same ADQL turns into pgsphere operators instead (see :mod:`webbarchive.vo.adql`).

Point-in-polygon and point-to-edge distances are the catalog's own
(:mod:`webbarchive.catalog.sky`); polygon crossings use the one tangent-plane
projection (:mod:`webbarchive.sphere`: great circles become straight lines),
exact for shapes smaller than a hemisphere. Edges: INTERSECTS counts polygons
that only touch as intersecting, CONTAINS keeps a polygon that shares an edge
with the outer one inside (the closed shapes of pgsphere).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from webbarchive import sphere
from webbarchive.catalog import sky

#: A point this close to a polygon's edge (deg, 3.6 microarcsec) is on it.
ON_EDGE_DEG = 1e-9

_FRAMES = {"ICRS", "FK5", "J2000", "UNKNOWNFRAME", "GEOCENTER", "BARYCENTER", "TOPOCENTER"}


def unit_vector(ra_deg: float, dec_deg: float) -> np.ndarray:
    return sphere.unit_vectors(ra_deg, dec_deg)


def angular_distance_deg(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance in degrees (stable at all separations)."""
    return float(sphere.angular_distance_deg(ra1, dec1, ra2, dec2))


@dataclass(frozen=True)
class Point:
    ra: float
    dec: float


@dataclass(frozen=True)
class Circle:
    ra: float
    dec: float
    radius: float


@dataclass(frozen=True)
class Polygon:
    vertices: tuple[tuple[float, float], ...]

    @property
    def centre(self) -> np.ndarray:
        c = sum(unit_vector(ra, dec) for ra, dec in self.vertices)
        return c / np.linalg.norm(c)


Shape = Point | Circle | Polygon


@lru_cache(maxsize=4096)
def parse_shape(text: str | None) -> Shape | None:
    """Read a shape string (see module doc); None for NULL or unreadable input."""
    if not text:
        return None
    words = text.replace(",", " ").replace("(", " ").replace(")", " ").split()
    if not words:
        return None
    kind = words[0].upper()
    rest = words[1:]
    while rest and rest[0].upper() in _FRAMES:
        rest = rest[1:]
    try:
        numbers = [float(w) for w in rest]
    except ValueError:
        return None
    if kind == "POINT" and len(numbers) == 2:
        return Point(*numbers)
    if kind == "CIRCLE" and len(numbers) == 3:
        return Circle(*numbers)
    if kind == "POLYGON" and len(numbers) >= 6 and len(numbers) % 2 == 0:
        pairs = tuple(zip(numbers[::2], numbers[1::2], strict=True))
        if len(pairs) > 3 and pairs[0] == pairs[-1]:
            pairs = pairs[:-1]  # closed rings repeat the first vertex
        return Polygon(pairs)
    return None


def box_polygon(ra: float, dec: float, width: float, height: float) -> Polygon:
    """ADQL BOX as the polygon of its corners (centre +- half width/height,
    the width measured along the parallel through the centre)."""
    half_h = height / 2
    half_w = width / 2 / max(math.cos(math.radians(dec)), 1e-9)
    return Polygon(
        (
            (ra - half_w, dec - half_h),
            (ra + half_w, dec - half_h),
            (ra + half_w, dec + half_h),
            (ra - half_w, dec + half_h),
        )
    )


def _planar(poly: Polygon, ra0: float, dec0: float) -> np.ndarray | None:
    """The polygon's vertices (V, 2) on the plane tangent at (ra0, dec0), or
    None when one is behind it."""
    ra, dec = zip(*poly.vertices, strict=True)
    x, y, front = sphere.to_tangent(ra, dec, ra0, dec0)
    return np.stack([x, y], axis=-1) if np.all(front) else None


def point_in_polygon(ra: float, dec: float, poly: Polygon) -> bool:
    try:
        return sky.point_in_polygon(list(poly.vertices), ra, dec)
    except sky.FootprintError:  # a polygon wider than a hemisphere: not supported
        return False


def _min_edge_distance(ra: float, dec: float, poly: Polygon) -> float:
    vs = poly.vertices
    return min(
        sky.distance_to_arc_deg(ra, dec, vs[i], vs[(i + 1) % len(vs)]) for i in range(len(vs))
    )


def _polygons_cross(a: Polygon, b: Polygon, *, touching: bool) -> bool:
    """Whether an edge of ``a`` meets an edge of ``b`` (the rule ``touching``
    of :func:`webbarchive.sphere.segments_cross`), projected about the two
    polygons' mean centre."""
    centre = a.centre + b.centre
    if np.linalg.norm(centre) < 1e-12:
        return False
    ra0, dec0 = sphere.to_radec(centre)
    ra_, rb_ = _planar(a, float(ra0), float(dec0)), _planar(b, float(ra0), float(dec0))
    if ra_ is None or rb_ is None:
        return False
    return sphere.rings_cross(ra_, rb_, touching=touching)


def contains(inner: Shape | None, outer: Shape | None) -> bool | None:
    """ADQL CONTAINS(inner, outer): whether ``inner`` lies within ``outer``."""
    if inner is None or outer is None:
        return None
    if isinstance(inner, Point):
        if isinstance(outer, Point):
            return inner == outer
        if isinstance(outer, Circle):
            return angular_distance_deg(inner.ra, inner.dec, outer.ra, outer.dec) <= outer.radius
        return point_in_polygon(inner.ra, inner.dec, outer)
    if isinstance(inner, Circle):
        if isinstance(outer, Point):
            return False
        if isinstance(outer, Circle):
            d = angular_distance_deg(inner.ra, inner.dec, outer.ra, outer.dec)
            return d + inner.radius <= outer.radius
        return (
            point_in_polygon(inner.ra, inner.dec, outer)
            and _min_edge_distance(inner.ra, inner.dec, outer) >= inner.radius
        )
    # inner is a polygon: spherical caps under 90 degrees are convex, so
    # vertices inside a circle put the great-circle edges inside it too.
    if isinstance(outer, Point):
        return False
    if isinstance(outer, Circle):
        return all(
            angular_distance_deg(ra, dec, outer.ra, outer.dec) <= outer.radius
            for ra, dec in inner.vertices
        )
    # Closed shapes: a vertex on outer's boundary and a shared edge stay
    # inside; only a proper crossing takes inner out.
    return all(
        point_in_polygon(ra, dec, outer) or _min_edge_distance(ra, dec, outer) <= ON_EDGE_DEG
        for ra, dec in inner.vertices
    ) and not _polygons_cross(inner, outer, touching=False)


def intersects(a: Shape | None, b: Shape | None) -> bool | None:
    """ADQL INTERSECTS(a, b): whether the two shapes share any point."""
    if a is None or b is None:
        return None
    if isinstance(a, Point):
        return contains(a, b)
    if isinstance(b, Point):
        return contains(b, a)
    if isinstance(a, Circle) and isinstance(b, Circle):
        return angular_distance_deg(a.ra, a.dec, b.ra, b.dec) <= a.radius + b.radius
    if isinstance(a, Polygon) and isinstance(b, Circle):
        a, b = b, a
    if isinstance(a, Circle):  # b is a polygon
        return point_in_polygon(a.ra, a.dec, b) or _min_edge_distance(a.ra, a.dec, b) <= a.radius
    return (
        any(point_in_polygon(ra, dec, b) for ra, dec in a.vertices)
        or any(point_in_polygon(ra, dec, a) for ra, dec in b.vertices)
        # Polygons that only touch share the touching points.
        or _polygons_cross(a, b, touching=True)
    )


def area_deg2(shape: Shape | None) -> float | None:
    """ADQL AREA in square degrees (polygons via spherical excess)."""
    if shape is None:
        return None
    if isinstance(shape, Point):
        return 0.0
    if isinstance(shape, Circle):
        steradians = 2 * math.pi * (1 - math.cos(math.radians(shape.radius)))
        return steradians * (180 / math.pi) ** 2
    vs = [unit_vector(ra, dec) for ra, dec in shape.vertices]
    centre = shape.centre
    total = 0.0
    # Fan of triangles from the centre; Van Oosterom-Strackee triangle formula.
    for i in range(len(vs)):
        a, b = vs[i], vs[(i + 1) % len(vs)]
        num = float(np.dot(centre, np.cross(a, b)))
        den = 1 + float(np.dot(centre, a) + np.dot(a, b) + np.dot(b, centre))
        total += 2 * math.atan2(num, den)
    return abs(total) * (180 / math.pi) ** 2


def fov_deg(shape: Shape | None) -> float | None:
    """Diameter (degrees) of the smallest centred circle holding ``shape``:
    ObsCore's s_fov."""
    if shape is None:
        return None
    if isinstance(shape, Point):
        return 0.0
    if isinstance(shape, Circle):
        return 2 * shape.radius
    c = shape.centre
    ra_c = math.degrees(math.atan2(c[1], c[0])) % 360
    dec_c = math.degrees(math.asin(max(-1.0, min(1.0, c[2]))))
    return 2 * max(angular_distance_deg(ra_c, dec_c, ra, dec) for ra, dec in shape.vertices)


def centre_radius(shape: Shape) -> tuple[float, float, float]:
    """A circle (ra, dec, radius in degrees) enclosing ``shape``, for index lookups."""
    if isinstance(shape, Point):
        return shape.ra, shape.dec, 0.0
    if isinstance(shape, Circle):
        return shape.ra, shape.dec, shape.radius
    c = shape.centre
    ra_c = math.degrees(math.atan2(c[1], c[0])) % 360
    dec_c = math.degrees(math.asin(max(-1.0, min(1.0, c[2]))))
    radius = max(angular_distance_deg(ra_c, dec_c, ra, dec) for ra, dec in shape.vertices)
    return ra_c, dec_c, radius


# --- SQL functions ---------------------------------------------------------------


def _fmt(x: float) -> str:
    return repr(float(x))


def _sql_point(ra, dec):
    return None if ra is None or dec is None else f"POINT {_fmt(ra)} {_fmt(dec)}"


def _sql_circle(ra, dec, r):
    if ra is None or dec is None or r is None:
        return None
    return f"CIRCLE {_fmt(ra)} {_fmt(dec)} {_fmt(r)}"


def _sql_polygon(*coords):
    if any(c is None for c in coords):
        return None
    return "POLYGON " + " ".join(_fmt(c) for c in coords)


def _sql_box(ra, dec, w, h):
    if None in (ra, dec, w, h):
        return None
    poly = box_polygon(ra, dec, w, h)
    return "POLYGON " + " ".join(f"{_fmt(a)} {_fmt(b)}" for a, b in poly.vertices)


def _sql_contains(a, b):
    r = contains(parse_shape(a), parse_shape(b))
    return None if r is None else int(r)


def _sql_intersects(a, b):
    r = intersects(parse_shape(a), parse_shape(b))
    return None if r is None else int(r)


def _sql_distance(ra1, dec1, ra2, dec2):
    if None in (ra1, dec1, ra2, dec2):
        return None
    return angular_distance_deg(ra1, dec1, ra2, dec2)


def _sql_coord(which: int):
    def coord(text):
        shape = parse_shape(text)
        if isinstance(shape, Point):
            return shape.ra if which == 1 else shape.dec
        return None

    return coord


def _sql_shape_fov(text):
    return fov_deg(parse_shape(text))


def _sql_area(text):
    return area_deg2(parse_shape(text))


SQLITE_FUNCTIONS = {
    ("wa_point", 2): _sql_point,
    ("wa_circle", 3): _sql_circle,
    ("wa_polygon", -1): _sql_polygon,
    ("wa_box", 4): _sql_box,
    ("wa_contains", 2): _sql_contains,
    ("wa_intersects", 2): _sql_intersects,
    ("wa_distance", 4): _sql_distance,
    ("wa_coord1", 1): _sql_coord(1),
    ("wa_coord2", 1): _sql_coord(2),
    ("wa_area", 1): _sql_area,
    ("wa_fov", 1): _sql_shape_fov,
}


def register_sqlite(dbapi_connection) -> None:
    """Make the ``wa_*`` geometry functions available on a sqlite3 connection."""
    for (name, nargs), fn in SQLITE_FUNCTIONS.items():
        dbapi_connection.create_function(name, nargs, fn, deterministic=True)


# The PostgreSQL counterparts (wa_region, wa_fov, spoint_dwithin, square_degrees) are
# created with the catalog: webbarchive.catalog.pgsphere.
