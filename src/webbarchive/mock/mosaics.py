"""DJA-style drizzled mosaics over the mock's imaging fields: ``*_drc_sci.fits`` with
their inverse-variance ``*_drc_wht.fits``.

For every imaging configuration of the plan (program, visit, instrument, filter,
detector: one DJA association) a sub-mosaic covers that association's exposures,
and for every (field, program, filter) a field mosaic covers all of them. All
mosaics of a field share one tangent point (the field's target) and a north-up
pixel grid at 20 mas (NIRCam short wavelength) or 40 mas (everything else), so
sub-mosaics are integer-pixel slices of each other, as DJA's are.

Pixels are in 10 nJy (AB zero point 28.9), like DJA's. The sky holds galaxies
(Sersic profiles with a power-law colour) and stars (Moffat PSFs whose width
grows with wavelength), seeded per field, so every filter sees the same objects
with different brightness and thumbnails look like the sky.

Names and association keys come from :mod:`webbarchive.dja.imaging.names`, the module
ingest uses to build associations from the exposures, so they always agree.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.modeling.models import Moffat2D, Sersic2D
from astropy.wcs import WCS

from webbarchive.dja.imaging.names import association_name, dja_filter, pivot_um
from webbarchive.mock import common, imaging
from webbarchive.mock.sky import Observation

ZERO_POINT_AB = 28.9  # 10 nJy per unit
PHOTFNU_JY = 1e-8
VERSION = "v7.0"
MARGIN_ARCSEC = 2.0
MIN_SIDE_ARCSEC = 16.0


def pixel_scale_arcsec(instrument: str, filter_name: str) -> float:
    """20 mas for NIRCam short-wavelength filters, 40 mas otherwise (DJA's choice)."""
    wave = pivot_um(filter_name) or 2.0
    return 0.02 if instrument == "NIRCAM" and wave < 2.4 else 0.04


@dataclass(frozen=True)
class Source:
    ra: float
    dec: float
    flux_2um: float  # total flux at 2 um, 10 nJy
    slope: float  # f_nu ~ lambda**slope
    star: bool
    r_eff_arcsec: float
    sersic_n: float
    ellipticity: float
    theta_rad: float


def field_sources(name: str, ra: float, dec: float, seed: int, radius_arcsec: float = 60.0):
    """Galaxies and stars around (ra, dec), the same for every filter of the field."""
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    n_gal, n_star = 900, 40
    cos_dec = max(np.cos(np.radians(dec)), 1e-6)
    out = []
    for index in range(n_gal + n_star):
        star = index >= n_gal
        dx, dy = rng.uniform(-radius_arcsec, radius_arcsec, 2) / 3600.0
        mag = rng.uniform(19.0, 24.0) if star else 20.5 + 6.5 * rng.power(1.5)
        out.append(
            Source(
                ra=(ra + dx / cos_dec) % 360.0,
                dec=float(np.clip(dec + dy, -90.0, 90.0)),
                flux_2um=10 ** (-0.4 * (mag - ZERO_POINT_AB)),
                slope=rng.uniform(-1.8, -0.6) if star else rng.uniform(-0.5, 2.5),
                star=star,
                r_eff_arcsec=0.0 if star else 10 ** rng.uniform(-1.2, -0.3),
                sersic_n=rng.choice([1.0, 1.5, 2.5, 4.0]),
                ellipticity=rng.uniform(0.0, 0.7),
                theta_rad=rng.uniform(0, np.pi),
            )
        )
    return out


def grid_wcs(ra: float, dec: float, scale_arcsec: float, x0: int, y0: int, shape) -> WCS:
    """North-up TAN WCS of the field grid whose pixel (0, 0) is at the tangent point,
    sliced to start at grid pixel (x0, y0) (0-based) with ``shape`` (ny, nx)."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.crval = [ra % 360.0, dec]
    wcs.wcs.crpix = [1.0 - x0, 1.0 - y0]
    wcs.wcs.cd = np.array([[-scale_arcsec, 0.0], [0.0, scale_arcsec]]) / 3600.0
    wcs.pixel_shape = (shape[1], shape[0])
    return wcs


def grid_box(ra, dec, scale_arcsec, vertices, margin_arcsec=MARGIN_ARCSEC):
    """(x0, y0, shape) of the grid slice covering ``vertices`` (deg) plus a margin,
    at least :data:`MIN_SIDE_ARCSEC` on a side."""
    full = grid_wcs(ra, dec, scale_arcsec, 0, 0, (1, 1))
    xs, ys = full.all_world2pix(np.array(vertices)[:, 0], np.array(vertices)[:, 1], 0)
    margin = margin_arcsec / scale_arcsec
    low_x, high_x = xs.min() - margin, xs.max() + margin
    low_y, high_y = ys.min() - margin, ys.max() + margin
    minimum = MIN_SIDE_ARCSEC / scale_arcsec
    cx, cy = (low_x + high_x) / 2, (low_y + high_y) / 2
    half_x = max(high_x - low_x, minimum) / 2
    half_y = max(high_y - low_y, minimum) / 2
    x0, y0 = int(np.floor(cx - half_x)), int(np.floor(cy - half_y))
    return x0, y0, (int(np.ceil(2 * half_y)), int(np.ceil(2 * half_x)))


def render(wcs: WCS, shape, sources, filter_name: str, scale_arcsec: float) -> np.ndarray:
    """Noise-free sky of ``sources`` in ``filter_name`` (10 nJy per pixel)."""
    ny, nx = shape
    image = np.zeros(shape, dtype=np.float64)
    wave = pivot_um(filter_name) or 2.0
    psf_fwhm = max(0.032 * wave, 0.04) / scale_arcsec  # pixels; diffraction ~ lambda
    ra = np.array([s.ra for s in sources])
    dec = np.array([s.dec for s in sources])
    x, y = wcs.all_world2pix(ra, dec, 0)
    for s, xi, yi in zip(sources, x, y, strict=True):
        flux = s.flux_2um * (wave / 2.0) ** s.slope
        if s.star:
            half = int(6 * psf_fwhm) + 2
        else:
            r_pix = max(s.r_eff_arcsec / scale_arcsec, 0.7 * psf_fwhm)
            half = int(min(8 * r_pix, 200)) + 2
        if not (-half < xi < nx + half and -half < yi < ny + half):
            continue
        x_lo, x_hi = max(int(xi) - half, 0), min(int(xi) + half + 1, nx)
        y_lo, y_hi = max(int(yi) - half, 0), min(int(yi) + half + 1, ny)
        if x_lo >= x_hi or y_lo >= y_hi:
            continue
        yy, xx = np.mgrid[y_lo:y_hi, x_lo:x_hi]
        if s.star:
            alpha = 2.5
            gamma = psf_fwhm / (2 * np.sqrt(2 ** (1 / alpha) - 1))
            profile = Moffat2D(1.0, xi, yi, gamma, alpha)(xx, yy)
            norm = np.pi * gamma**2 / (alpha - 1)
        else:
            profile = Sersic2D(1.0, r_pix, s.sersic_n, xi, yi, s.ellipticity, s.theta_rad)(xx, yy)
            norm = None
        if norm is None:
            # normalise on a box large enough to hold nearly all the light
            total = profile.sum()
            norm = total if total > 0 else 1.0
        image[y_lo:y_hi, x_lo:x_hi] += flux * profile / norm
    return image


def write_pair(
    out: Path,
    stem: str,
    wcs: WCS,
    shape,
    sources,
    filter_name: str,
    scale_arcsec: float,
    cards: dict,
    rng: np.random.Generator,
    noise: float = 0.02,
) -> tuple[Path, Path]:
    """Write ``{stem}_drc_sci.fits`` and ``{stem}_drc_wht.fits``."""
    sky = render(wcs, shape, sources, filter_name, scale_arcsec)
    sci = (sky + rng.normal(0.0, noise, shape)).astype(np.float32)
    wht = np.full(shape, 1.0 / noise**2, dtype=np.float32)
    header = wcs.to_header()
    ny, nx = shape
    footprint = wcs.calc_footprint(axes=(nx, ny))
    wave = pivot_um(filter_name) or 2.0
    photplam = wave * 1e4
    header.update(cards)
    header["S_REGION"] = common.polygon(footprint)
    header["BUNIT"] = ("10nJy", "pixel unit: 10 nJy (AB zero point 28.9)")
    header["ZP"] = (ZERO_POINT_AB, "AB zero point")
    header["PHOTFNU"] = (PHOTFNU_JY, "Jy per unit")
    header["PHOTPLAM"] = (photplam, "pivot wavelength, Angstrom")
    header["PHOTFLAM"] = (PHOTFNU_JY * 1e-23 * 2.99792458e18 / photplam**2, "erg/s/cm2/A per unit")
    header["IMGMED"] = (float(np.median(sci)), "median of the image")
    header["VERSION"] = VERSION
    sci_path = out / f"{stem}_drc_sci.fits"
    wht_path = out / f"{stem}_drc_wht.fits"
    fits.PrimaryHDU(sci, header).writeto(sci_path, overwrite=True)
    wht_header = header.copy()
    wht_header["BUNIT"] = ("1/(10nJy)**2", "inverse variance")
    fits.PrimaryHDU(wht, wht_header).writeto(wht_path, overwrite=True)
    return sci_path, wht_path


def _exposure_vertices(obs: Observation, instrument, filter, pupil) -> list[tuple[float, float]]:
    """Corners of the exposures the imaging mock writes for one configuration
    (same camera, subarray, dither pattern and roll)."""
    cam = imaging.camera(instrument, filter, pupil)
    shape = imaging.SUBARRAYS[instrument][obs.subarray or "FULL"]
    cos_dec = max(np.cos(np.deg2rad(obs.target.dec)), 1e-3)
    vertices = []
    for i in range(obs.n_exposures):
        ox, oy = 1.1 * i * shape[1] * cam.scale_arcsec / 40.0, 0.8 * i
        wcs = common.tan_wcs(
            obs.target.ra + ox / 3600.0 / cos_dec,
            obs.target.dec + oy / 3600.0,
            cam.scale_arcsec,
            shape,
            obs.roll_deg,
        )
        vertices.extend(map(tuple, wcs.calc_footprint(axes=(shape[1], shape[0]))))
    return vertices


def _cards(obs: Observation, instrument, detector, filter, pupil, timings, kind, name) -> dict:
    t = common.combined(timings)
    program = obs.program
    cards = {
        "TELESCOP": "JWST",
        "INSTRUME": instrument,
        "DETECTOR": detector,
        "FILTER": filter,
        "PUPIL": pupil or "N/A",
        "EXP_TYPE": imaging.camera(instrument, filter, pupil).exp_type,
        "PROGRAM": program.padded,
        "OBSERVTN": f"{obs.number:03d}",
        "VISIT": "001",
        "VISIT_ID": f"{program.padded}{obs.number:03d}001",
        "CATEGORY": program.category,
        "TITLE": program.title[:68],
        "PI_NAME": program.pi_name,
        "TARGPROP": obs.target.name,
        "TARGNAME": obs.target.name.upper(),
        "TARG_RA": obs.target.ra % 360.0,
        "TARG_DEC": obs.target.dec,
        "EXPSTART": t.start_mjd,
        "EXPEND": t.end_mjd,
        "EFFEXPTM": t.exposure_time_s,
        "DATE-BEG": common.iso(t.start_mjd),
        "DATE-END": common.iso(t.end_mjd),
        "DATE-OBS": common.iso(t.start_mjd)[:10],
        "NDRIZIM": len(timings),
        "DJAKIND": (kind, "DJA mosaic: field or assoc (sub-mosaic)"),
        "DJAFIELD": obs.target.field,
    }
    if kind == "assoc":
        cards["ASSOC"] = name
    return cards


def write_all(observations: list[Observation], out: Path, seed: int) -> list[dict]:
    """Write the mosaics of every imaging observation; return manifest entries."""
    entries: list[dict] = []
    fields: dict[tuple, list] = {}
    sources_of: dict[str, list[Source]] = {}
    for obs in observations:
        if obs.kind != "image":
            continue
        target = obs.target
        sources = sources_of.setdefault(
            target.name, field_sources(target.name, target.ra, target.dec, seed)
        )
        for index, (instrument, filter, pupil) in enumerate(obs.configs):
            cam = imaging.camera(instrument, filter, pupil)
            fits_pupil = None if instrument == "MIRI" else pupil
            name = dja_filter(instrument, filter, fits_pupil)
            scale = pixel_scale_arcsec(instrument, name)
            vertices = _exposure_vertices(obs, instrument, filter, pupil)
            timings = common.exposure_timings(obs, index, cam.exposure_s)
            visit = f"jw{obs.program.padded}{obs.number:03d}001"
            assoc = association_name(
                target.ra, target.dec, target.name, str(obs.program.number), visit,
                instrument, name, cam.detector,
            )  # fmt: skip
            x0, y0, shape = grid_box(target.ra, target.dec, scale, vertices)
            wcs = grid_wcs(target.ra, target.dec, scale, x0, y0, shape)
            cards = _cards(
                obs, instrument, cam.detector, filter, fits_pupil, timings, "assoc", assoc
            )
            rng = np.random.default_rng([seed, zlib.crc32(assoc.encode())])
            stem = f"{assoc}-{name.lower()}"
            paths = write_pair(out, stem, wcs, shape, sources, name, scale, cards, rng)
            entries.extend(_entries(paths, obs, stem, timings, instrument, cam.exp_type))
            key = (target.name, obs.program.number, name)
            fields.setdefault(key, []).append(
                (obs, instrument, filter, fits_pupil, cam, timings, vertices)
            )
    for (target_name, program, name), parts in sorted(fields.items()):
        obs, instrument, filter, pupil, cam, _, _ = parts[0]
        target = obs.target
        scale = pixel_scale_arcsec(instrument, name)
        vertices = [v for part in parts for v in part[6]]
        timings = [t for part in parts for t in part[5]]
        x0, y0, shape = grid_box(target.ra, target.dec, scale, vertices)
        wcs = grid_wcs(target.ra, target.dec, scale, x0, y0, shape)
        field_slug = "".join(c if c.isalnum() else "-" for c in target_name.lower())
        stem = f"{field_slug}-{program:05d}-grizli-{VERSION}-{name.lower()}"
        detector = "MULTIPLE" if len({p[4].detector for p in parts}) > 1 else cam.detector
        cards = _cards(obs, instrument, detector, filter, pupil, timings, "field", stem)
        rng = np.random.default_rng([seed, zlib.crc32(stem.encode())])
        paths = write_pair(out, stem, wcs, shape, sources_of[target_name], name, scale, cards, rng)
        entries.extend(_entries(paths, obs, stem, timings, instrument, cam.exp_type))
    return entries


def _entries(paths, obs, stem, timings, instrument, exp_type) -> list[dict]:
    timing = common.combined(timings)
    return [
        common.manifest_entry(
            path,
            suffix,
            obs,
            obs_id=stem,
            ra=obs.target.ra,
            dec=obs.target.dec,
            instrument=instrument,
            exp_type=exp_type,
            timing=timing,
        )  # fmt: skip
        for path, suffix in zip(paths, ("drc_sci", "drc_wht"), strict=True)
    ]
