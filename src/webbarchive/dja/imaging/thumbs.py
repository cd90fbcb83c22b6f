"""Thumbnail composition as DJA's ``field_rgb`` does it (grizli ``auto_script``):
channel choice, per-channel photometric scaling, Lupton (default) or asinh stretch,
inversion, the all-filters strip and the slit overlay; PNG encoding.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass, field

import numpy as np
from astropy.visualization import make_lupton_rgb, simple_norm
from astropy.wcs import WCS
from PIL import Image, ImageDraw

from webbarchive.dja.imaging.names import pivot_um
from webbarchive.sphere import from_tangent

#: ``default_filters=``: DJA's sets.
DEFAULT_FILTERS = {
    "hst": ("f814w", "f125w", "f160w"),
    "jwst": ("f115w-clear", "f277w-clear", "f444w-clear"),
}
#: Channel preferences (grizli ``get_rgb_filters``), best first.
PREFERENCES = {
    "r": ("h", "f160w", "f140w", "f444w-clear", "f410m-clear", "f356w-clear", "f277w-clear",
          "f200w-clear", "f150w-clear"),
    "g": ("j", "yj", "f125w", "f110w", "f105w", "f098m", "f277w-clear", "f356w-clear",
          "f200w-clear", "f150w-clear", "f115w-clear", "f410m-clear", "f300m-clear"),
    "b": ("opt", "visr", "visb", "f814w", "f606w", "f775w", "f850lp", "f435w", "f115w-clear",
          "f090w-clear", "f070w-clear", "f277w-clear", "f150w-clear"),
}  # fmt: skip
PAD_PIXELS = 2


@dataclass
class Channel:
    filter: str  # DJA name, lower case
    image: np.ndarray  # resampled onto the thumbnail grid, 10 nJy per native pixel
    pixel_scale_arcsec: float
    photflam: float | None = None
    photplam: float | None = None  # Angstrom
    imgmed: float | None = None


@dataclass
class Style:
    """The scaling parameters of ``/thumb`` (DJA's names and defaults)."""

    scl: float = 1.0
    rgb_scl: tuple[float, float, float] = (1.0, 1.0, 1.0)
    rgb_min: float = -0.01
    pl: float = 0.0
    pf: float = 1.0
    asinh: bool = False
    invert: bool = False
    explicit: set[str] = field(default_factory=set)  # parameters the request set


def wavelength(name: str) -> float:
    return pivot_um(name) or 0.0


def rgb_filters(available: list[str]) -> list[str]:
    """[r, g, b] from the available filters: DJA's preference lists, else by wavelength
    (longest red). One filter gives a monochrome image, two give g as their mean."""
    if len(available) <= 2:
        return sorted(available, key=wavelength, reverse=True)
    chosen = {}
    for channel in ("r", "g", "b"):
        for name in PREFERENCES[channel]:
            if name in available and name not in chosen.values():
                chosen[channel] = name
                break
    if len(chosen) == 3 and wavelength(chosen["r"]) >= wavelength(chosen["g"]) >= wavelength(
        chosen["b"]
    ):
        return [chosen["r"], chosen["g"], chosen["b"]]
    ordered = sorted(available, key=wavelength, reverse=True)
    return [ordered[0], ordered[len(ordered) // 2], ordered[-1]]


def auto_rgb_scale(filters: list[str]) -> tuple[float, float, float]:
    """DJA's automatic ``rgb_scl`` for common NIRCam triplets."""
    short = [f.split("-")[0] for f in filters]
    r, g, b = (short + short[-1:] * 3)[:3]
    table = {
        ("f444w", "f356w", "f277w"): (2.7, 2.0, 1.0),
        ("f200w", "f150w", "f115w"): (1.1, 1.0, 1.0),
        ("f444w", "f200w", "f115w"): (2.0, 1.1, 1.0),
        ("f356w", "f200w", "f115w"): (2.0, 1.1, 1.0),
        ("f444w", "f277w", "f115w"): (2.0, 1.5, 1.0),
    }
    if (r, g, b) in table:
        return table[(r, g, b)]
    if (r, g) == ("f444w", "f356w") and b in ("f115w", "f090w", "f150w", "f200w"):
        return (1.4, 1.0, 0.35)
    if all(f.endswith("-clear") for f in filters[:3]):
        lw = [wavelength(f) > 2.4 for f in filters[:3]]
        return tuple(2.0 if is_lw else 1.0 for is_lw in (lw + lw[-1:] * 3)[:3])  # type: ignore[return-value]
    return (1.0, 1.0, 1.0)


def _scaled(channel: Channel, style: Style, factor: float) -> np.ndarray:
    image = channel.image - (channel.imgmed or 0.0)
    photflam = channel.photflam or 5e-20
    photplam = channel.photplam or 1e4
    value = image * (photflam / 5e-20) ** style.pf * (photplam / 1e4) ** style.pl
    return value * style.scl * factor * (0.06 / channel.pixel_scale_arcsec) ** 2


def compose(channels: list[Channel], style: Style) -> np.ndarray:
    """(ny, nx, 3) uint8 RGB image, row 0 at the bottom (south)."""
    if style.asinh:
        style = Style(**{**style.__dict__})
        if "rgb_scl" not in style.explicit:
            style.rgb_scl = (2.0, 0.8, 1.0)
        if "pl" not in style.explicit:
            style.pl = 1.5
        if "pf" not in style.explicit:
            style.pf = 1.0
    rgb_scale = style.rgb_scl
    if len(channels) >= 3 and tuple(rgb_scale) == (1.0, 1.0, 1.0):
        rgb_scale = auto_rgb_scale([c.filter for c in channels])
    if len(channels) == 1:
        planes = [_scaled(channels[0], style, 1.0)] * 3
    elif len(channels) == 2:
        red, blue = (
            _scaled(channels[0], style, rgb_scale[0]),
            _scaled(channels[1], style, rgb_scale[2]),
        )
        planes = [red, 0.5 * (red + blue), blue]
    else:
        planes = [_scaled(c, style, s) for c, s in zip(channels[:3], rgb_scale, strict=True)]
    if style.asinh:
        cube = np.dstack(planes)
        norm = simple_norm(cube, stretch="asinh", vmin=-0.01, vmax=1.0, clip=True, asinh_a=0.03)
        image = np.clip(np.round(np.asarray(norm(cube)) * 255), 0, 255).astype(np.uint8)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "minimum" is deprecated in favour of interval
            image = make_lupton_rgb(*planes, stretch=0.1, minimum=style.rgb_min, Q=8)
    if style.invert:
        image = 255 - image
    return image


def strip(panels: list[np.ndarray], pad: int = PAD_PIXELS) -> np.ndarray:
    """Panels side by side with ``pad`` white pixels between them."""
    height = panels[0].shape[0]
    gap = np.full((height, pad, 3), 255, np.uint8)
    parts = []
    for index, panel in enumerate(panels):
        if index:
            parts.append(gap)
        parts.append(panel)
    return np.concatenate(parts, axis=1)


def slit_corners(
    ra: float, dec: float, pa_deg: float, width_arcsec: float, length_arcsec: float
) -> list[tuple[float, float]]:
    """Sky corners (deg) of a slit: ``length`` along position angle ``pa`` (east of
    north), ``width`` across it."""
    theta = math.radians(pa_deg)
    half_w, half_l = width_arcsec / 2.0 / 3600.0, length_arcsec / 2.0 / 3600.0
    local = [(-half_w, -half_l), (half_w, -half_l), (half_w, half_l), (-half_w, half_l)]
    x, y = [], []
    for across, along in local:
        # east = +x on the tangent plane; PA rotates north towards east
        x.append(math.radians(along * math.sin(theta) + across * math.cos(theta)))
        y.append(math.radians(along * math.cos(theta) - across * math.sin(theta)))
    ras, decs = from_tangent(np.array(x), np.array(y), ra, dec)
    return list(zip(ras.tolist(), decs.tolist(), strict=True))


#: MSA shutter outline colours (DJA's overlay): the metafile's source shutters,
#: its background shutters, and shutters of other MSA files in the cutout.
SHUTTER_SOURCE = (255, 255, 0)
SHUTTER_BACKGROUND = (0, 255, 255)
SHUTTER_OTHER = (128, 128, 128)
SLIT = (255, 0, 255)


def _shutter_colour(shutter: dict) -> tuple[int, int, int]:
    if not shutter.get("highlight", True):
        return SHUTTER_OTHER
    return SHUTTER_SOURCE if shutter.get("is_source") else SHUTTER_BACKGROUND


def png(
    image: np.ndarray, grid: WCS | None = None, slits=(), offset_x: int = 0, shutters=()
) -> bytes:
    """PNG of an image whose row 0 is south (flipped so north is up), with slit
    outlines and MSA shutters (dicts with ``polygon``, ``is_source``, ``highlight``)
    drawn in the thumbnail panel starting at column ``offset_x``."""
    height = image.shape[0]
    picture = Image.fromarray(np.ascontiguousarray(np.flipud(image)), mode="RGB")
    outlines = [(s["polygon"], _shutter_colour(s)) for s in shutters]
    outlines += [(corners, SLIT) for corners in slits]  # the slit on top
    if outlines and grid is not None:
        draw = ImageDraw.Draw(picture)
        for corners, colour in outlines:
            x, y = grid.wcs_world2pix([c[0] for c in corners], [c[1] for c in corners], 0)
            points = [
                (float(xi) + offset_x, height - 1 - float(yi)) for xi, yi in zip(x, y, strict=True)
            ]
            draw.polygon(points, outline=colour)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)  # speed over bytes
    return buffer.getvalue()
