"""Imaging products: level-2 rate (DN/s) and cal (MJy/sr) per exposure, level-2 i2d for
MIRI, level-3 i2d mosaics per filter, and the image3 association - NIRCam, MIRI, NIRISS.

Images stay small by using the instruments' real subarrays (SUB160, SUB400P, SUB128 ...);
pixel scales and subarray shapes are the instruments', so footprints have the right size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels

from webbarchive.mock import associations, common
from webbarchive.mock.sky import Observation

ARCSEC2_PER_SR = (180.0 / np.pi * 3600.0) ** 2

# (rows, columns) of each subarray: NIRCam, MIRI imager, NIRISS.
SUBARRAYS = {
    "NIRCAM": {"SUB160": (160, 160), "SUB320": (320, 320), "SUB400P": (400, 400),
               "SUB640": (640, 640), "FULL": (2048, 2048)},
    "MIRI": {"SUB64": (64, 72), "SUB128": (128, 136), "SUB256": (256, 256),
             "BRIGHTSKY": (512, 512), "FULL": (1024, 1032)},
    "NIRISS": {"SUB64": (64, 64), "SUB128": (128, 128), "SUB256": (256, 256),
               "FULL": (2048, 2048)},
}  # fmt: skip


@dataclass(frozen=True)
class Camera:
    instrument: str
    detector: str
    exp_type: str
    scale_arcsec: float  # pixel scale
    aperture_prefix: str
    readpatt: str
    exposure_s: float


def camera(instrument: str, filter: str, pupil: str | None) -> Camera:
    if instrument == "NIRCAM":
        long_wave = int(filter[1:4]) >= 250
        if long_wave:
            return Camera("NIRCAM", "NRCBLONG", "NRC_IMAGE", 0.063, "NRCB5", "RAPID", 1030.8)
        return Camera("NIRCAM", "NRCB1", "NRC_IMAGE", 0.031, "NRCB1", "RAPID", 1030.8)
    if instrument == "MIRI":
        return Camera("MIRI", "MIRIMAGE", "MIR_IMAGE", 0.11, "MIRIM", "FASTR1", 555.0)
    return Camera("NIRISS", "NIS", "NIS_IMAGE", 0.0656, "NIS", "NISRAPID", 622.0)


def optical_name(instrument: str, filter: str, pupil: str | None) -> str:
    if instrument == "MIRI":
        return filter.lower()
    if instrument == "NIRISS":
        return f"{filter}-{pupil}".lower()
    return f"{pupil}-{filter}".lower()


def _sources(obs: Observation, rng: np.random.Generator, count: int = 40) -> np.ndarray:
    """Galaxies around the pointing: (ra, dec, flux_mjysr_peak, sigma_arcsec)."""
    cos_dec = max(np.cos(np.deg2rad(obs.target.dec)), 1e-3)
    dx, dy = rng.uniform(-40.0, 40.0, (2, count)) / 3600.0
    return np.column_stack(
        [
            (obs.target.ra + dx / cos_dec) % 360.0,
            obs.target.dec + dy,
            10 ** rng.uniform(-1.5, 1.0, count),
            rng.uniform(0.05, 0.4, count),
        ]
    )


def _render(wcs, shape, sources, scale_arcsec, sky, rng, noise) -> np.ndarray:
    ny, nx = shape
    image = np.full(shape, sky, dtype=np.float64)
    x, y = wcs.world_to_pixel_values(sources[:, 0], sources[:, 1])
    yy, xx = np.mgrid[0:ny, 0:nx]
    for xi, yi, peak, sigma in zip(x, y, sources[:, 2], sources[:, 3] / scale_arcsec, strict=True):
        if -5 * sigma < xi < nx + 5 * sigma and -5 * sigma < yi < ny + 5 * sigma:
            image += peak * np.exp(-0.5 * ((xx - xi) ** 2 + (yy - yi) ** 2) / sigma**2)
    return image + rng.normal(0.0, noise, shape)


def _dq(rng, shape) -> np.ndarray:
    dq = np.zeros(shape, dtype=np.uint32)
    hot = rng.random(shape) < 0.002
    dq[hot] = 1 | 2048  # DO_NOT_USE | HOT
    jump = rng.random(shape) < 0.01
    dq[jump] |= 4  # JUMP_DET
    return dq


def _image_model(
    kind: str, obs, cam, timing, filename, filter, pupil, subarray, wcs, shape, data, rng,
    *, exposure_number=1, activity=1, asn_table=None, level3=False, n_exposures=None,
):  # fmt: skip
    """An ImageModel for a rate, cal or i2d: data in DN/s (rate) or MJy/sr."""
    model = common.new(datamodels.ImageModel)
    common.fill_meta(
        model, obs, timing, filename=filename, instrument=cam.instrument,
        detector="MULTIPLE" if level3 and cam.instrument == "NIRCAM" else cam.detector,
        exp_type=cam.exp_type,
        filter=filter, pupil=pupil, subarray=subarray,
        aperture=f"{cam.aperture_prefix}_{subarray}" if subarray != "FULL" else f"{cam.aperture_prefix}_FULL",
        asn_table=asn_table, exposure_number=exposure_number, activity=activity,
        n_exposures=n_exposures, pattern_number=exposure_number, readpatt=cam.readpatt,
        ngroups=7, nints=1,
    )  # fmt: skip
    rows, columns = shape
    if not level3:  # a mosaic is not read out of one subarray
        model.meta.subarray.xstart, model.meta.subarray.ystart = 1, 1
        model.meta.subarray.xsize, model.meta.subarray.ysize = columns, rows
    data = data.astype(np.float32)
    error = np.full(shape, float(np.nanstd(data[: max(rows // 8, 2)])) + 1e-3, np.float32)
    model.data = data
    model.err = error
    model.var_poisson = (0.6 * error**2).astype(np.float32)
    model.var_rnoise = (0.4 * error**2).astype(np.float32)
    if kind in ("rate", "cal"):
        model.dq = _dq(rng, shape)
    if kind in ("cal", "i2d"):
        model.var_flat = np.zeros(shape, np.float32)
    if kind == "cal":
        model.area = np.ones(shape, np.float32)
    if kind == "i2d":
        model.wht = np.where(np.isnan(data), 0.0, timing.exposure_time_s).astype(np.float32)
        model.con = np.where(np.isnan(data), 0, 1).astype(np.int32)[None]
    pixel_sr = cam.scale_arcsec**2 / ARCSEC2_PER_SR
    model.meta.bunit_data = "DN/s" if kind == "rate" else "MJy/sr"
    model.meta.bunit_err = model.meta.bunit_data
    if kind != "rate":
        model.meta.photometry.conversion_megajanskys = 0.3
        model.meta.photometry.pixelarea_steradians = pixel_sr
        model.meta.photometry.pixelarea_arcsecsq = cam.scale_arcsec**2
    center = wcs.pixel_to_world_values((columns - 1) / 2.0, (rows - 1) / 2.0)
    common.set_pointing(model, float(center[0]), float(center[1]), obs.roll_deg)
    common.set_image_wcs(model, wcs)
    model.meta.wcsinfo.s_region = common.polygon(wcs.calc_footprint(axes=(columns, rows)))
    return model


def write_observation(obs: Observation, out: Path, rng: np.random.Generator) -> list[dict]:
    entries: list[dict] = []
    sources = _sources(obs, rng)
    for index, (instrument, filter, pupil) in enumerate(obs.configs):
        cam = camera(instrument, filter, pupil)
        subarray = obs.subarray or "FULL"
        shape = SUBARRAYS[instrument][subarray]
        timings = common.exposure_timings(obs, index, cam.exposure_s)
        asn_name = associations.level3_asn_name(obs, "image3", index + 1)
        fits_filter, fits_pupil = filter, pupil
        if instrument == "MIRI":
            fits_pupil = None
        stem3 = common.level3_name(obs, "t001", instrument, optical_name(instrument, filter, pupil))
        members = []
        # Dithers: a small pattern of offsets (arcsec) along the detector axes.
        offsets = [
            (1.1 * i * shape[1] * cam.scale_arcsec / 40.0, 0.8 * i) for i in range(len(timings))
        ]
        for number, (timing, (ox, oy)) in enumerate(zip(timings, offsets, strict=True), start=1):
            stem = common.level2_name(obs, index + 1, number, cam.detector)
            cos_dec = max(np.cos(np.deg2rad(obs.target.dec)), 1e-3)
            ra = obs.target.ra + ox / 3600.0 / cos_dec
            dec = obs.target.dec + oy / 3600.0
            wcs = common.tan_wcs(ra, dec, cam.scale_arcsec, shape, obs.roll_deg)
            sky = 0.2 if instrument != "MIRI" else 15.0
            image = _render(
                wcs, shape, sources, cam.scale_arcsec, sky, rng, noise=0.02 * (1 + sky / 5)
            )
            footprint = common.polygon(wcs.calc_footprint(axes=(shape[1], shape[0])))
            meta = dict(
                obs_id=stem,
                ra=ra,
                dec=dec,
                instrument=instrument,
                exp_type=cam.exp_type,
                timing=timing,
            )
            extra = dict(filter=filter, pupil=pupil, subarray=subarray, shape=list(shape),
                         pixel_scale_arcsec=cam.scale_arcsec, s_region=footprint, s_region_valid=True)  # fmt: skip
            kinds = ["rate", "cal"] + (["i2d"] if instrument == "MIRI" else [])
            for kind in kinds:
                path = out / f"{stem}_{kind}.fits"
                data = image / 0.3 if kind == "rate" else image
                model = _image_model(
                    kind, obs, cam, timing, path.name, fits_filter, fits_pupil, subarray, wcs,
                    shape, data, rng, exposure_number=number, activity=index + 1,
                    asn_table=None if kind == "rate" else asn_name, n_exposures=len(timings),
                )  # fmt: skip
                common.save(model, path)
                entries.append(common.manifest_entry(path, kind, obs, **meta, **extra))
            members.append(f"{stem}_cal.fits")
        entries.append(_write_mosaic(obs, out, cam, index, filter, fits_pupil, subarray, shape,
                                     timings, offsets, sources, stem3, asn_name, rng, fits_filter))  # fmt: skip
        entries.append(
            associations.write_asn(
                out / asn_name, obs, "image3", [stem3], members, common.combined(timings)
            )
        )
    return entries


def _write_mosaic(obs, out, cam, index, filter, pupil, subarray, shape, timings, offsets,
                  sources, stem3, asn_name, rng, fits_filter) -> dict:  # fmt: skip
    """A level-3 i2d covering all dithers, on the native pixel scale, NaN where uncovered."""
    span_x = max(abs(o[0]) for o in offsets) / cam.scale_arcsec
    span_y = max(abs(o[1]) for o in offsets) / cam.scale_arcsec
    mosaic_shape = (shape[0] + int(np.ceil(span_y)) + 2, shape[1] + int(np.ceil(span_x)) + 2)
    cos_dec = max(np.cos(np.deg2rad(obs.target.dec)), 1e-3)
    mean_x = np.mean([o[0] for o in offsets])
    mean_y = np.mean([o[1] for o in offsets])
    ra = obs.target.ra + mean_x / 3600.0 / cos_dec
    dec = obs.target.dec + mean_y / 3600.0
    wcs = common.tan_wcs(ra, dec, cam.scale_arcsec, mosaic_shape, obs.roll_deg)
    sky = 0.0
    image = _render(wcs, mosaic_shape, sources, cam.scale_arcsec, sky, rng, noise=0.01)
    # Corners outside every exposure are NaN, as drizzle leaves them.
    image[:2, :3] = np.nan
    image[-2:, -3:] = np.nan
    timing = common.combined(timings)
    path = out / f"{stem3}_i2d.fits"
    model = _image_model(
        "i2d", obs, cam, timing, path.name, fits_filter, pupil, subarray, wcs, mosaic_shape,
        image, rng, activity=index + 1, asn_table=asn_name, level3=True, n_exposures=len(timings),
    )  # fmt: skip
    common.save(model, path)
    return common.manifest_entry(
        path, "i2d", obs, obs_id=stem3, ra=ra, dec=dec, instrument=cam.instrument,
        exp_type=cam.exp_type, timing=timing, filter=filter, pupil=pupil, subarray=subarray,
        shape=list(mosaic_shape), pixel_scale_arcsec=cam.scale_arcsec,
        s_region=model_footprint(wcs, mosaic_shape), s_region_valid=True,
    )  # fmt: skip


def model_footprint(wcs, shape) -> str:
    return common.polygon(wcs.calc_footprint(axes=(shape[1], shape[0])))
