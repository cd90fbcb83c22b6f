"""Footprint figures (PNG) of ``/assoc``, ``/exposures`` and ``/assoc_mosaic``.

Like DJA's, they draw each footprint on the sky, coloured by filter, with the
query region; unlike DJA's planar RA/Dec axes they use offsets (arcmin) on the
tangent plane about the query centre (east to the left), which stay right across
RA 0/360 and at the poles.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure

from webbarchive.dja.imaging.geometry import Region
from webbarchive.sphere import to_tangent

ARCMIN_PER_RADIAN = 180.0 / np.pi * 60.0


def _xy(polygon, region: Region):
    ra, dec = np.array(polygon, dtype=float).T
    x, y, _ = to_tangent(ra, dec, region.ra, region.dec)
    x, y = x * ARCMIN_PER_RADIAN, y * ARCMIN_PER_RADIAN
    return np.append(x, x[0]), np.append(y, y[0])


def footprints_png(
    region: Region, groups: dict[str, list[list[tuple[float, float]]]], title: str
) -> bytes:
    """PNG of footprints grouped by label (a filter), with the query region."""
    figure = Figure(figsize=(6, 6), dpi=90)
    axes = figure.add_subplot(1, 1, 1)
    colours = dict(zip(sorted(groups), _palette(len(groups)), strict=True))  # one colour per filter
    for label in sorted(groups):
        for index, polygon in enumerate(groups[label]):
            x, y = _xy(polygon, region)
            axes.fill(x, y, color=colours[label], alpha=0.15, lw=0)
            axes.plot(x, y, color=colours[label], lw=1, label=label if index == 0 else None)
    x, y = _xy(region.vertices(points_per_side=8), region)
    axes.plot(x, y, color="k", lw=1.5, ls="--", label=f"query ({region.kind})")
    axes.scatter([0], [0], marker="+", color="k", s=60)
    axes.set_aspect("equal")
    axes.invert_xaxis()  # east to the left, as on the sky
    axes.set_xlabel("east offset (arcmin)")
    axes.set_ylabel("north offset (arcmin)")
    axes.set_title(title, fontsize=9)
    axes.grid(alpha=0.3)
    if groups:
        axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _palette(n: int):
    from matplotlib import colormaps

    cmap = colormaps["turbo"]
    return [cmap(v) for v in np.linspace(0.1, 0.9, max(n, 1))][:n]
