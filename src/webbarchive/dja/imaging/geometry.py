"""Query regions of the DJA tools and exact, vectorised spherical overlap tests.

DJA's PostgreSQL works in planar RA/Dec (no RA wrap, wrong near the poles). Here
every test runs in the gnomonic (tangent-plane) projection about the query
centre, where great-circle edges are straight lines and the angular distance
from the centre grows monotonically with the planar radius, so:

- a cone of radius r is the disc of radius tan(r);
- ``rect(ra, dec, arcmin)`` is the square |x|, |y| <= tan(arcmin) on the
  tangent plane (east/north axes): a box of half-width ``arcmin`` whose edges
  are great circles, the same box at RA 0/360 or at the pole.

Footprints are arrays of shape (N, V, 2) (degrees); shorter polygons are padded
by repeating their last vertex. All angles in degrees unless a name says otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from webbarchive import sphere
from webbarchive.catalog import sky

#: Largest region accepted (arcmin): a radius or half-width of 10 degrees.
MAX_ARCMIN = 600.0


@dataclass(frozen=True)
class Region:
    """A cone (``kind='cone'``, ``size_deg`` = radius) or a box (``kind='rect'``,
    ``size_deg`` = half-width, optionally ``height_deg`` = half-height)."""

    kind: str
    ra: float
    dec: float
    size_deg: float
    height_deg: float | None = None

    @property
    def half_height_deg(self) -> float:
        return self.size_deg if self.height_deg is None else self.height_deg

    @property
    def enclosing_radius_deg(self) -> float:
        """Radius (deg) of a cone that contains the whole region."""
        if self.kind == "cone":
            return self.size_deg
        x, y = math.tan(math.radians(self.size_deg)), math.tan(math.radians(self.half_height_deg))
        return math.degrees(math.atan(math.hypot(x, y)))

    def vertices(self, points_per_side: int = 1) -> list[tuple[float, float]]:
        """Outline on the sky (deg): the box corners, or a 72-gon for a cone."""
        if self.kind == "cone":
            t = np.linspace(0, 2 * np.pi, 72, endpoint=False)
            r = math.tan(math.radians(self.size_deg))
            return list(
                zip(
                    *sphere.from_tangent(r * np.cos(t), r * np.sin(t), self.ra, self.dec),
                    strict=True,
                )
            )
        a = math.tan(math.radians(self.size_deg))
        b = math.tan(math.radians(self.half_height_deg))
        s = np.linspace(-1, 1, points_per_side + 1)[:-1]
        x = np.concatenate([s * a, np.full_like(s, a), -s * a, np.full_like(s, -a)])
        y = np.concatenate([np.full_like(s, -b), s * b, np.full_like(s, b), -s * b])
        return list(zip(*sphere.from_tangent(x, y, self.ra, self.dec), strict=True))

    def cell_ranges(self, depth: int = sky.SKY_INDEX_DEPTH) -> list[tuple[int, int]]:
        """HEALPix (NESTED, at ``depth``, the sky index's by default) ranges covering
        the region."""
        return sky.cone_ranges(self.ra % 360.0, self.dec, self.enclosing_radius_deg, depth)

    def overlaps(self, polygons: np.ndarray) -> np.ndarray:
        """Boolean mask: which footprints (N, V, 2) overlap the region (exact)."""
        polygons = np.asarray(polygons, dtype=float)
        if polygons.size == 0:
            return np.zeros(len(polygons), dtype=bool)
        x, y, front = sphere.to_tangent(polygons[..., 0], polygons[..., 1], self.ra, self.dec)
        valid = front.all(axis=1)
        x, y = np.where(valid[:, None], x, 0.0), np.where(valid[:, None], y, 0.0)
        if self.kind == "cone":
            hit = _disc_overlaps(x, y, math.tan(math.radians(self.size_deg)))
        else:
            hit = _box_overlaps(
                x,
                y,
                math.tan(math.radians(self.size_deg)),
                math.tan(math.radians(self.half_height_deg)),
            )
        return hit & valid


def _disc_overlaps(x: np.ndarray, y: np.ndarray, radius: float) -> np.ndarray:
    zero = np.zeros((len(x), 1))
    centre_in = sphere.inside(x, y, zero, zero)[:, 0]
    x2, y2 = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    dx, dy = x2 - x, y2 - y
    length2 = dx * dx + dy * dy
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.clip(np.where(length2 > 0, -(x * dx + y * dy) / length2, 0.0), 0.0, 1.0)
    distance = np.hypot(x + t * dx, y + t * dy)
    return centre_in | (distance.min(axis=1) <= radius)


def _box_overlaps(x: np.ndarray, y: np.ndarray, half_w: float, half_h: float) -> np.ndarray:
    vertex_in = ((np.abs(x) <= half_w) & (np.abs(y) <= half_h)).any(axis=1)
    corners_x = np.array([-half_w, half_w, half_w, -half_w])
    corners_y = np.array([-half_h, -half_h, half_h, half_h])
    n = len(x)
    corner_in = sphere.inside(x, y, np.tile(corners_x, (n, 1)), np.tile(corners_y, (n, 1))).any(
        axis=1
    )
    x2, y2 = np.roll(x, -1, axis=1), np.roll(y, -1, axis=1)
    cx2, cy2 = np.roll(corners_x, -1), np.roll(corners_y, -1)
    cross = sphere.segments_cross(
        x[:, :, None], y[:, :, None], x2[:, :, None], y2[:, :, None],
        corners_x, corners_y, cx2, cy2, touching=True,
    ).any(axis=(1, 2))  # fmt: skip
    return vertex_in | corner_in | cross


def pad(polygons: list[list[tuple[float, float]]]) -> np.ndarray:
    """(N, V, 2) array of polygons with different vertex counts (last vertex repeated)."""
    if not polygons:
        return np.zeros((0, 3, 2))
    width = max(len(p) for p in polygons)
    return np.array([list(p) + [p[-1]] * (width - len(p)) for p in polygons], dtype=float)


def path_text(polygon) -> str:
    """A footprint as DJA prints a Postgres path: ``((ra,dec),(ra,dec),...)``."""
    return "(" + ",".join(f"({ra:.7f},{dec:.7f})" for ra, dec in polygon) + ")"


def polygon_text(polygon) -> str:
    """A footprint as DJA's assoc_mosaic prints it: ``POLYGON((ra,dec),...)``."""
    return "POLYGON" + path_text(polygon)
