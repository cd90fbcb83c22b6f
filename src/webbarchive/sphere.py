"""Sphere geometry in one place: unit vectors, great-circle distances, the
tangent-plane (gnomonic) projection and planar tests on it.

Positions are ICRS (ra, dec) in degrees. The gnomonic projection about a
centre (ra0, dec0) maps great circles to straight lines, so planar geometry
on its coordinates is exact for polygons with great-circle edges (the
catalog's footprints, ADQL polygons, DJA regions) as long as every vertex is
on the near hemisphere of the centre. Tangent coordinates are in tangent
units (the tangent of the angle from the centre: radians near the centre);
``x`` grows to the east, ``y`` to the north, as astropy's TAN projection does
with its intermediate world coordinates (which are in degrees: ``degrees(x)``).

Edge rules, said once and used by every caller:

* :func:`inside` (crossing number) counts a point exactly on a polygon edge
  or vertex as inside for some edges and outside for others; callers that
  need the boundary closed test the distance to the edges as well.
* :func:`segments_cross` takes ``touching``: ``True`` counts segments that
  only touch (an end on the other segment, collinear overlap) as crossing,
  the rule for "do these shapes share any point" (INTERSECTS, region
  overlaps); ``False`` counts only proper crossings, the rule for "does one
  shape leave the other" (CONTAINS, where a shared edge is still inside).
  Points within rounding of a line (:data:`COLLINEAR_SINE`) are on it.
"""

from __future__ import annotations

import math

import numpy as np

#: Points whose cosine of the angle to the centre is at most this are behind
#: the tangent plane (90 degrees less 0.2 milliarcsec): not projected.
FRONT_MIN = 1e-9


#: Three points whose turn has a sine below this are collinear (1e-10: 20
#: microarcsec of bend), so that a vertex that lies on an edge, computed in
#: floating point, touches it.
COLLINEAR_SINE = 1e-10


def unit_vectors(ra_deg, dec_deg) -> np.ndarray:
    """Cartesian unit vectors (..., 3) of positions in degrees."""
    ra = np.radians(np.asarray(ra_deg, dtype=float))
    dec = np.radians(np.asarray(dec_deg, dtype=float))
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def to_radec(vectors) -> tuple[np.ndarray, np.ndarray]:
    """(ra, dec) in degrees of vectors (..., 3), which need not be unit length."""
    v = np.asarray(vectors, dtype=float)
    v = v / np.linalg.norm(v, axis=-1, keepdims=True)
    ra = np.degrees(np.arctan2(v[..., 1], v[..., 0])) % 360.0
    dec = np.degrees(np.arcsin(np.clip(v[..., 2], -1.0, 1.0)))
    return ra, dec


def angular_distance_deg(ra1, dec1, ra2, dec2) -> np.ndarray:
    """Great-circle distance (deg), numerically stable at all separations."""
    a, b = unit_vectors(ra1, dec1), unit_vectors(ra2, dec2)
    cross = np.linalg.norm(np.cross(a, b), axis=-1)
    return np.degrees(np.arctan2(cross, np.sum(a * b, axis=-1)))


def tangent_basis(ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(centre, east, north) unit vectors of the plane tangent at (ra0, dec0).
    At a pole, where east is undefined, the direction of increasing RA at ra0
    stands for it (north then points along the meridian ra0 + 180 deg at
    the north pole)."""
    centre = unit_vectors(ra0, dec0)
    east = np.cross([0.0, 0.0, 1.0], centre)
    if np.linalg.norm(east) < 1e-12:
        east = np.array([-math.sin(math.radians(ra0)), math.cos(math.radians(ra0)), 0.0])
    east = east / np.linalg.norm(east)
    north = np.cross(centre, east)
    return centre, east, north


def to_tangent(ra, dec, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gnomonic coordinates (x east, y north; tangent units) of (ra, dec) about
    (ra0, dec0), and a mask of the points on the near hemisphere, where the
    projection is defined (points behind get x = y = their unscaled offsets)."""
    centre, east, north = tangent_basis(ra0, dec0)
    v = unit_vectors(ra, dec)
    depth = v @ centre
    front = depth > FRONT_MIN
    safe = np.where(front, depth, 1.0)
    return (v @ east) / safe, (v @ north) / safe, front


def from_tangent(x, y, ra0: float, dec0: float) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`to_tangent`: (ra, dec) in degrees."""
    centre, east, north = tangent_basis(ra0, dec0)
    x, y = np.asarray(x, float), np.asarray(y, float)
    return to_radec(centre + x[..., None] * east + y[..., None] * north)


def inside(x, y, px, py) -> np.ndarray:
    """Crossing-number test of points (..., P) in planar polygons (..., V)
    broadcast over the leading axes: a (..., P) mask. See the module's edge rules."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    px, py = np.asarray(px, float), np.asarray(py, float)
    x1, y1 = x[..., None, :], y[..., None, :]
    x2 = np.roll(x, -1, axis=-1)[..., None, :]
    y2 = np.roll(y, -1, axis=-1)[..., None, :]
    px, py = px[..., None], py[..., None]
    straddle = (y1 > py) != (y2 > py)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (py - y1) * (x2 - x1) / (y2 - y1)
    crossings = straddle & (px < x_cross)
    return (crossings.sum(axis=-1) % 2) == 1


def segments_cross(ax, ay, bx, by, cx, cy, dx, dy, *, touching: bool) -> np.ndarray:
    """Whether planar segments a-b and c-d meet (arrays broadcast together).

    ``touching=True``: any shared point counts, an end on the other segment
    or a collinear overlap included (two collinear segments apart do not).
    ``touching=False``: only a proper crossing, each segment's ends strictly
    on both sides of the other's line.
    """

    def orient(px, py, qx, qy, rx, ry):
        # Collinear within rounding (sine of the angle under COLLINEAR_SINE)
        # counts as collinear: a vertex computed onto an edge is on it.
        ux, uy, vx, vy = qx - px, qy - py, rx - px, ry - py
        cross = ux * vy - uy * vx
        scale = np.hypot(ux, uy) * np.hypot(vx, vy)
        return np.where(np.abs(cross) <= COLLINEAR_SINE * scale, 0.0, np.sign(cross))

    o1, o2 = orient(ax, ay, bx, by, cx, cy), orient(ax, ay, bx, by, dx, dy)
    o3, o4 = orient(cx, cy, dx, dy, ax, ay), orient(cx, cy, dx, dy, bx, by)
    if not touching:
        return (o1 * o2 < 0) & (o3 * o4 < 0)
    proper_or_end = (o1 * o2 <= 0) & (o3 * o4 <= 0)
    collinear = (o1 == 0) & (o2 == 0) & (o3 == 0) & (o4 == 0)
    ax, ay, bx, by, cx, cy, dx, dy = np.broadcast_arrays(ax, ay, bx, by, cx, cy, dx, dy)
    overlap = (
        (np.maximum(np.minimum(ax, bx), np.minimum(cx, dx)) <= np.minimum(np.maximum(ax, bx), np.maximum(cx, dx)))
        & (np.maximum(np.minimum(ay, by), np.minimum(cy, dy)) <= np.minimum(np.maximum(ay, by), np.maximum(cy, dy)))
    )  # fmt: skip
    return np.where(collinear, overlap, proper_or_end)


def rings_cross(a: np.ndarray, b: np.ndarray, *, touching: bool) -> bool:
    """Whether any edge of planar ring ``a`` (V, 2) meets an edge of ring ``b``
    (W, 2) under the :func:`segments_cross` rule ``touching``."""
    a2, b2 = np.roll(a, -1, axis=0), np.roll(b, -1, axis=0)
    return bool(
        segments_cross(
            a[:, None, 0], a[:, None, 1], a2[:, None, 0], a2[:, None, 1],
            b[None, :, 0], b[None, :, 1], b2[None, :, 0], b2[None, :, 1],
            touching=touching,
        ).any()
    )  # fmt: skip
