"""What ``/thumb`` makes from the mosaics covering a position: one mosaic per
filter, the filters asked for (or DJA's RGB choice), then the PNG (RGB image,
with monochrome panels beside it for ``all_filters``) or the FITS cutouts.

The web layer parses the parameters and answers these bytes; everything between
lives here. Positions in degrees; ``size_arcsec`` is DJA's half-width in arcsec.
Drawing (stretches, overlays) is :mod:`.thumbs`; resampling and Cutout2D are
:mod:`.cutouts`.
"""

from __future__ import annotations

from webbarchive.dja.imaging import cutouts, thumbs
from webbarchive.dja.imaging.names import filter_matches
from webbarchive.errors import NotFound


def best_mosaics(rows: list[dict]) -> dict[str, dict]:
    """One mosaic per filter (lower-case DJA name): field mosaics before
    sub-mosaics, then the deepest (longest ``exptime``), then by file name."""
    best: dict[str, dict] = {}
    for row in sorted(
        rows, key=lambda r: (r["kind"] != "field", -(r["exptime"] or 0.0), r["file"])
    ):
        best.setdefault(row["filter"].lower(), row)
    return best


def match_filter(wanted: str, available: list[str]) -> str | None:
    """The available filter (lower-case DJA name) a requested name means:
    ``f115w-clear`` or ``f115w``, in any case."""
    if wanted.lower() in available:
        return wanted.lower()
    return next((name for name in available if filter_matches(wanted, name)), None)


def choose_filters(
    best: dict[str, dict], requested: list[str] | None, rgb_only: bool, where: str
) -> list[str]:
    """The filters to draw or cut: those ``requested`` (each matched to one here,
    :class:`~webbarchive.errors.NotFound` naming those that are not: never a
    thumbnail of other filters than those asked for), else every filter here, or
    DJA's three RGB channels among them when ``rgb_only``."""
    available = sorted(best, key=thumbs.wavelength)
    if requested is None:
        return thumbs.rgb_filters(available) if rgb_only else available
    missing = [f for f in requested if match_filter(f, available) is None]
    if missing:
        raise NotFound(
            f"No cutout found for {where} in filters {missing} (requested {requested})",
            accepted={"filters_here": available},
        )
    return list(dict.fromkeys(m for f in requested if (m := match_filter(f, available))))


def fits_cutouts(
    best: dict[str, dict],
    chosen: list[str],
    wht_paths: dict[str, str | None],
    ra: float,
    dec: float,
    size_arcsec: float,
    weight: bool,
) -> bytes:
    """A FITS file of one Cutout2D per chosen filter (native pixels and WCS, the
    mosaic named in ``MOSAIC``), each followed by its inverse-variance (WHT)
    cutout when ``weight``."""
    parts = []
    for name in chosen:
        row = best[name]
        data, header = cutouts.fits_cutout(row["path"], ra, dec, 2 * size_arcsec, 0.0)
        header["MOSAIC"] = row["file"]
        parts.append((row["filter"], "SCI", data, header))
        if weight:
            path = wht_paths.get(name)
            if path is None:
                raise NotFound(f"no weight (wht) image for {row['file']}")
            wdata, wheader = cutouts.fits_cutout(path, ra, dec, 2 * size_arcsec, 0.0)
            wheader["MOSAIC"] = row["wht_file"]
            parts.append((row["filter"], "WHT", wdata, wheader))
    return cutouts.fits_document(parts)


def fits_name(ra: float, dec: float) -> str:
    """The file name a FITS cutout is offered under."""
    return f"cutout_{ra:.5f}_{dec:+.5f}.fits"


def _channel(row: dict, grid, n: int) -> thumbs.Channel:
    image, scale = cutouts.resample(row["path"], grid, n)
    return thumbs.Channel(
        filter=row["filter"].lower(), image=image, pixel_scale_arcsec=scale,
        photflam=row["photflam"], photplam=row["photplam"], imgmed=row["imgmed"],
    )  # fmt: skip


def png(
    best: dict[str, dict],
    chosen: list[str],
    ra: float,
    dec: float,
    size_arcsec: float,
    style: thumbs.Style,
    all_filters: bool,
    slit,
    shutters: list[dict],
) -> bytes:
    """The thumbnail PNG at 0.05"/pixel: the RGB image of the chosen filters
    (DJA's three RGB channels when more are chosen), with ``all_filters`` preceded by
    one inverted monochrome panel per filter; ``slit`` corners and MSA
    ``shutters`` outlined."""
    grid, n = cutouts.thumb_grid(ra, dec, size_arcsec)
    by_wavelength = sorted(chosen, key=thumbs.wavelength, reverse=True)
    channels = {name: _channel(best[name], grid, n) for name in chosen}
    rgb_names = thumbs.rgb_filters(by_wavelength) if len(chosen) > 3 else by_wavelength
    rgb = thumbs.compose([channels[name] for name in rgb_names], style)
    slits = [slit] if slit else []
    if not all_filters:
        return thumbs.png(rgb, grid, slits, shutters=shutters)
    panels = []
    mono_style = thumbs.Style(**{**style.__dict__, "invert": True, "asinh": False})
    for name in sorted(chosen, key=thumbs.wavelength):
        panels.append(thumbs.compose([channels[name]], mono_style))
    panels.append(rgb)
    offset = (n + thumbs.PAD_PIXELS) * (len(panels) - 1)
    return thumbs.png(thumbs.strip(panels), grid, slits, offset_x=offset, shutters=shutters)
