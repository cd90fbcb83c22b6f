"""Level-3 spectroscopic products: x1d, c1d, s2d (NIRSpec MOS/FS, MIRI LRS) and s3d
(NIRSpec IFU, MIRI MRS), built with stdatamodels so the layout is the pipeline's.

Fluxes agree across products of one source: an s2d's SCI summed over its rows (MJy) is the
x1d FLUX (Jy) / 1e6 up to noise, and an s3d's SCI (MJy/sr) summed over the spaxels times the
spaxel solid angle is the x1d FLUX.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from stdatamodels.jwst import datamodels

from webbarchive.mock import common
from webbarchive.mock.cube_wcs import cube_gwcs
from webbarchive.mock.sky import Observation
from webbarchive.mock.spectra import MODES, SpectralMode, Spectrum, synthesize

ARCSEC2_PER_SR = (180.0 / np.pi * 3600.0) ** 2


@dataclass(frozen=True)
class Setup:
    """How one kind of spectroscopic observation is taken and reduced."""

    exp_type: str
    aperture: str
    exposure_s: float
    readpatt: str
    ngroups: int
    width_arcsec: float  # footprint across the slit (or cube width)
    height_arcsec: float  # footprint along the slit (or cube height)


SETUPS = {
    "mos": Setup("NRS_MSASPEC", "NRS_FULL_MSA", 2918.0, "NRSIRS2RAPID", 19, 0.20, 0.46),
    "fs": Setup("NRS_FIXEDSLIT", "NRS_S200A1_SLIT", 600.0, "NRSRAPID", 25, 0.20, 3.30),
    "ifu": Setup("NRS_IFU", "NRS_FULL_IFU", 3300.0, "NRSIRS2RAPID", 22, 3.0, 3.0),
    "lrs": Setup("MIR_LRS-FIXEDSLIT", "MIRIM_SLIT", 300.0, "FASTR1", 100, 0.51, 4.70),
    "mrs": Setup("MIR_MRS", "MIRIFU_CHANNEL", 555.0, "FASTR1", 25, 0.0, 0.0),
}

# MRS field of view (arcsec) and cube spaxel size per channel (JDox, cube_build defaults).
MRS_FOV = {
    "1": (3.2, 3.7, 0.13),
    "2": (4.0, 4.8, 0.17),
    "3": (5.2, 6.2, 0.20),
    "4": (6.6, 7.7, 0.35),
}
NIRSPEC_IFU_SPAXEL = 0.10
BAND_LETTER = {"SHORT": "A", "MEDIUM": "B", "LONG": "C"}


def optical_name(obs: Observation, mode: SpectralMode) -> str:
    """The optical-element part of a level-3 name, ordered as the pipeline orders it."""
    if mode.channel:
        return f"ch{mode.channel}-{mode.band.lower()}"
    if mode.instrument == "MIRI":
        return mode.filter.lower()
    if obs.kind == "ifu":
        return f"{mode.grating}-{mode.filter}".lower()
    base = f"{mode.filter}-{mode.grating}".lower()
    if obs.kind == "fs":
        return f"{base}-s200a1-{(obs.subarray or 'full').lower()}"
    return base


def _instrument_keywords(obs: Observation, mode: SpectralMode, setup: Setup) -> dict:
    if mode.instrument == "NIRSPEC":
        return {
            "instrument": "NIRSPEC",
            "detector": "NRS1" if obs.kind == "fs" else "MULTIPLE",
            "filter": mode.filter,
            "grating": mode.grating,
            "aperture": setup.aperture,
            "subarray": obs.subarray or "FULL",
        }
    if mode.channel:
        return {
            "instrument": "MIRI",
            "detector": "MIRIFUSHORT" if mode.channel in "12" else "MIRIFULONG",
            "aperture": f"MIRIFU_CHANNEL{mode.channel}{BAND_LETTER[mode.band]}",
        }
    return {
        "instrument": "MIRI",
        "detector": "MIRIMAGE",
        "filter": mode.filter,
        "aperture": setup.aperture,
    }


def _meta(model, obs, mode, setup, timing, filename, asn_table):
    keywords = _instrument_keywords(obs, mode, setup)
    common.fill_meta(
        model,
        obs,
        timing,
        filename=filename,
        exp_type=setup.exp_type,
        asn_table=asn_table,
        readpatt=setup.readpatt,
        ngroups=setup.ngroups,
        **keywords,
    )
    if mode.channel:
        model.meta.instrument.channel = mode.channel
        model.meta.instrument.band = mode.band
    if obs.kind == "fs":
        model.meta.instrument.fixed_slit = "S200A1"
    if obs.kind == "mos":  # the MSA file and nod the exposure used (x1d/c1d/s2d alike)
        from webbarchive.mock import msa

        model.meta.instrument.msa_metadata_file = msa.msa_name(obs)
        model.meta.instrument.msa_metadata_id = msa.MSA_ID
        model.meta.dither.position_number = msa.FIRST_NOD
    return keywords


def _spec_table(model_class, spectrum: Spectrum, pixel_sr: float) -> np.ndarray:
    """The EXTRACT1D table with every column the pipeline writes, consistent with the
    flux and its error (variances split 80/20 between Poisson and read noise)."""
    dtype = common.table_dtype(model_class, "spec_table")
    names = dtype.names
    table = np.zeros(spectrum.wavelength.size, dtype=dtype)
    npixels = 5.0
    to_sb = 1e-6 / (pixel_sr * npixels)  # Jy over the aperture -> MJy/sr
    variance = spectrum.flux_error**2
    values = {
        "WAVELENGTH": spectrum.wavelength,
        "FLUX": spectrum.flux,
        "FLUX_ERROR": spectrum.flux_error,
        "FLUX_VAR_POISSON": 0.8 * variance,
        "FLUX_VAR_RNOISE": 0.2 * variance,
        "FLUX_VAR_FLAT": 0.0 * variance,
        "SURF_BRIGHT": spectrum.flux * to_sb,
        "SB_ERROR": spectrum.flux_error * to_sb,
        "SB_VAR_POISSON": 0.8 * variance * to_sb**2,
        "SB_VAR_RNOISE": 0.2 * variance * to_sb**2,
        "SB_VAR_FLAT": 0.0 * variance,
        "DQ": spectrum.dq,
        "BACKGROUND": np.where(np.isnan(spectrum.flux), np.nan, 0.01),
        "BKGD_ERROR": np.where(np.isnan(spectrum.flux), np.nan, 0.001),
        "BKGD_VAR_POISSON": np.where(np.isnan(spectrum.flux), np.nan, 1e-6),
        "BKGD_VAR_RNOISE": np.where(np.isnan(spectrum.flux), np.nan, 0.0),
        "BKGD_VAR_FLAT": np.where(np.isnan(spectrum.flux), np.nan, 0.0),
        "NPIXELS": np.full(spectrum.wavelength.size, npixels),
        "RF_FLUX": spectrum.flux,
        "RF_SURF_BRIGHT": spectrum.flux * to_sb,
        "RF_BACKGROUND": np.where(np.isnan(spectrum.flux), np.nan, 0.01),
    }
    for name in names:
        table[name] = values[name]
    return table


def _combined_table(spectrum: Spectrum, n_input: int, pixel_sr: float) -> np.ndarray:
    dtype = common.table_dtype(datamodels.CombinedSpecModel, "spec_table")
    table = np.zeros(spectrum.wavelength.size, dtype=dtype)
    to_sb = 1e-6 / (pixel_sr * 5.0)
    table["WAVELENGTH"] = spectrum.wavelength
    table["FLUX"] = spectrum.flux
    table["ERROR"] = spectrum.flux_error
    table["SURF_BRIGHT"] = spectrum.flux * to_sb
    table["SB_ERROR"] = spectrum.flux_error * to_sb
    table["DQ"] = spectrum.dq
    table["WEIGHT"] = np.where(np.isnan(spectrum.flux), 0.0, float(n_input))
    table["N_INPUT"] = np.where(np.isnan(spectrum.flux), 0.0, float(n_input))
    return table


# Column units as the pipeline's extract_1d and combine_1d write them (TUNITn).
UNITS = {
    "WAVELENGTH": "um", "FLUX": "Jy", "FLUX_ERROR": "Jy", "ERROR": "Jy", "RF_FLUX": "Jy",
    "FLUX_VAR_POISSON": "Jy^2", "FLUX_VAR_RNOISE": "Jy^2", "FLUX_VAR_FLAT": "Jy^2",
    "SURF_BRIGHT": "MJy/sr", "SB_ERROR": "MJy/sr", "BACKGROUND": "MJy/sr",
    "BKGD_ERROR": "MJy/sr", "RF_SURF_BRIGHT": "MJy/sr", "RF_BACKGROUND": "MJy/sr",
    "SB_VAR_POISSON": "MJy^2 / sr^2", "SB_VAR_RNOISE": "MJy^2 / sr^2",
    "SB_VAR_FLAT": "MJy^2 / sr^2", "BKGD_VAR_POISSON": "MJy^2 / sr^2",
    "BKGD_VAR_RNOISE": "MJy^2 / sr^2", "BKGD_VAR_FLAT": "MJy^2 / sr^2",
}  # fmt: skip


def _set_units(table) -> None:
    for column in table.columns:
        if column.name in UNITS:
            column.unit = UNITS[column.name]


@dataclass(frozen=True)
class Source:
    source_id: int
    ra: float
    dec: float
    s_region: str
    s_region_valid: bool = True


def _set_source(spec, source: Source, obs: Observation) -> None:
    spec.source_id = source.source_id
    spec.source_name = f"{obs.program.number}_{source.source_id}"
    spec.source_alias = str(source.source_id)
    spec.source_ra = source.ra % 360.0
    spec.source_dec = source.dec
    spec.slit_ra = source.ra % 360.0
    spec.slit_dec = source.dec
    spec.source_type = "POINT"
    spec.stellarity = 0.1


def write_x1d(path, obs, mode, setup, timing, spectrum, source, asn_table, pixel_sr) -> None:
    model_class = datamodels.MRSSpecModel if mode.channel else datamodels.SpecModel
    multi = (
        common.new(datamodels.MRSMultiSpecModel)
        if mode.channel
        else common.new(datamodels.MultiSpecModel)
    )
    _meta(multi, obs, mode, setup, timing, path.name, asn_table)
    spec = common.new(model_class)
    spec.meta.date = multi.meta.date  # a nested model is stamped with the clock on creation
    spec.spec_table = _spec_table(model_class, spectrum, pixel_sr)
    _set_units(spec.spec_table)
    spec.name = {"mos": "NRS_MSASPEC", "fs": "S200A1"}.get(obs.kind, "")
    spec.spectral_order = 1
    spec.dispersion_direction = 1
    spec.s_region = source.s_region
    spec.position_angle = obs.roll_deg
    _set_source(spec, source, obs)
    multi.spec.append(spec)
    common.save(multi, path)


def write_c1d(path, obs, mode, setup, timing, spectrum, source, asn_table, n_input, pixel_sr):
    model = common.new(datamodels.CombinedSpecModel)
    _meta(model, obs, mode, setup, timing, path.name, asn_table)
    model.spec_table = _combined_table(spectrum, n_input, pixel_sr)
    _set_units(model.spec_table)
    model.spectral_order = 1
    model.dispersion_direction = 1
    model.source_id = source.source_id
    model.source_type = "POINT"
    common.save(model, path)


def write_s2d(path, obs, mode, setup, timing, spectrum, source, asn_table, rng) -> tuple:
    """A resampled 2-D spectrum: rows across the slit, columns on the x1d's grid."""
    # Rows across the slit as in real products: 25 for the prism and fixed slits, 41 for
    # MOS gratings (the real G395M MOS s2d is 41 x 1215).
    n_rows = 25 if mode.dispersion == "prism" or obs.kind != "mos" else 41
    model = common.new(datamodels.SlitModel)
    _meta(model, obs, mode, setup, timing, path.name, asn_table)
    rows = np.arange(n_rows) - (n_rows - 1) / 2.0
    profile = np.exp(-0.5 * (rows / 1.6) ** 2)
    profile /= profile.sum()
    flux_mjy = np.nan_to_num(spectrum.flux) * 1e-6
    error_mjy = np.nan_to_num(spectrum.flux_error) * 1e-6
    noise = rng.normal(0.0, 1.0, (n_rows, spectrum.wavelength.size)).astype(np.float32)
    pixel_error = (error_mjy / np.sqrt(profile.size))[None, :] * np.ones((n_rows, 1))
    data = profile[:, None] * flux_mjy[None, :] + 0.3 * noise * pixel_error
    edge = np.isnan(spectrum.flux)
    data[:, edge] = np.nan
    model.data = data.astype(np.float32)
    model.err = np.where(np.isnan(data), np.nan, pixel_error).astype(np.float32)
    model.wht = np.where(np.isnan(data), 0.0, 3.0).astype(np.float32)
    model.con = np.ones((1, n_rows, spectrum.wavelength.size), dtype=np.int32) * 7
    model.var_poisson = (0.8 * model.err**2).astype(np.float32)
    model.var_rnoise = (0.2 * model.err**2).astype(np.float32)
    model.var_flat = np.zeros_like(model.data)
    # Real s2d files keep their wavelengths in the gwcs of the ASDF extension; the mock
    # writes no gwcs, so it carries them as the WAVELENGTH image SlitModel also defines.
    model.wavelength = np.broadcast_to(
        spectrum.wavelength.astype(np.float32), model.data.shape
    ).copy()
    model.meta.bunit_data = "MJy"
    model.meta.bunit_err = "MJy"
    model.name = "S200A1" if obs.kind == "fs" else str(1 + source.source_id % 170)
    model.source_id = source.source_id
    model.source_name = f"{obs.program.number}_{source.source_id}"
    model.source_alias = str(source.source_id)
    model.source_ra = source.ra % 360.0
    model.source_dec = source.dec
    model.source_type = "POINT"
    model.stellarity = 0.1
    model.xstart, model.xsize = 1, spectrum.wavelength.size
    model.ystart, model.ysize = 1, n_rows
    model.meta.wcsinfo.s_region = source.s_region
    model.meta.wcsinfo.dispersion_direction = 1
    model.meta.wcsinfo.spectral_order = 1 if mode.instrument == "MIRI" else -1
    model.meta.wcsinfo.waverange_start = float(mode.wave_min_um) * 1e-6
    model.meta.wcsinfo.waverange_end = float(mode.wave_max_um) * 1e-6
    common.set_pointing(model, source.ra, source.dec, obs.roll_deg)
    if obs.kind == "mos":  # the first nod's telescope pointing, MSA reference on the target
        from webbarchive.mock import msa

        for name, value in msa.pointing_keywords(obs).items():
            setattr(model.meta.wcsinfo, name, value)
    common.save(model, path)


def write_s3d(path, obs, mode, setup, timing, spectrum, source, asn_table, rng, geometry):
    """A sky-aligned cube, (wavelength, y, x), MJy/sr; prism cubes use a WAVE-TAB axis."""
    width, height, spaxel = geometry
    nx, ny = int(round(width / spaxel)), int(round(height / spaxel))
    pixel_sr = spaxel**2 / ARCSEC2_PER_SR
    model = common.new(datamodels.IFUCubeModel)
    _meta(model, obs, mode, setup, timing, path.name, asn_table)
    y, x = np.mgrid[0:ny, 0:nx]
    psf = np.exp(-0.5 * (((x - (nx - 1) / 2) ** 2 + (y - (ny - 1) / 2) ** 2) / 1.5**2))
    psf /= psf.sum()
    flux_mjysr = np.nan_to_num(spectrum.flux) * 1e-6 / pixel_sr
    error_mjysr = np.nan_to_num(spectrum.flux_error) * 1e-6 / pixel_sr / np.sqrt(psf.size)
    cube = flux_mjysr[:, None, None] * psf[None, :, :]
    cube = cube + 0.3 * error_mjysr[:, None, None] * rng.standard_normal(cube.shape, np.float32)
    edge = np.isnan(spectrum.flux)
    cube[edge] = np.nan
    model.data = cube.astype(np.float32)
    model.err = np.broadcast_to(error_mjysr[:, None, None], cube.shape).astype(np.float32)
    model.err[edge] = np.nan
    dq = np.broadcast_to(spectrum.dq[:, None, None], cube.shape).astype(np.uint32)
    model.dq = dq
    model.weightmap = np.where(np.isnan(cube), 0.0, 4.0).astype(np.float32)
    model.meta.bunit_data = "MJy/sr"
    model.meta.bunit_err = "MJy/sr"
    wcsinfo = model.meta.wcsinfo
    wcsinfo.wcsaxes = 3
    wcsinfo.ctype1, wcsinfo.ctype2 = "RA---TAN", "DEC--TAN"
    wcsinfo.cunit1, wcsinfo.cunit2, wcsinfo.cunit3 = "deg", "deg", "um"
    wcsinfo.crval1, wcsinfo.crval2 = source.ra % 360.0, source.dec
    wcsinfo.crpix1, wcsinfo.crpix2 = (nx + 1) / 2.0, (ny + 1) / 2.0
    wcsinfo.cdelt1 = wcsinfo.cdelt2 = spaxel / 3600.0
    wcsinfo.pc1_1, wcsinfo.pc1_2, wcsinfo.pc1_3 = -1.0, 0.0, 0.0
    wcsinfo.pc2_1, wcsinfo.pc2_2, wcsinfo.pc2_3 = 0.0, 1.0, 0.0
    wcsinfo.pc3_1, wcsinfo.pc3_2, wcsinfo.pc3_3 = 0.0, 0.0, 1.0
    wavelength = spectrum.wavelength
    if mode.dispersion == "prism":
        wcsinfo.ctype3 = "WAVE-TAB"
        wcsinfo.ps3_0 = "WCS-TABLE"
        wcsinfo.ps3_1 = "wavelength"
        wcsinfo.crval3, wcsinfo.cdelt3, wcsinfo.crpix3 = 1.0, 1.0, 1.0
        table = np.zeros(1, dtype=[("wavelength", "<f4", (wavelength.size, 1))])
        table["wavelength"][0, :, 0] = wavelength
        model.wavetable = table
    else:
        wcsinfo.ctype3 = "WAVE"
        wcsinfo.crval3 = float(wavelength[0])
        wcsinfo.cdelt3 = float(wavelength[1] - wavelength[0])
        wcsinfo.crpix3 = 1.0
    wcsinfo.s_region = source.s_region
    wcsinfo.spectral_order = 0
    model.meta.wcs = cube_gwcs(cube.shape, source.ra, source.dec, spaxel / 3600.0, wavelength)
    common.set_pointing(model, source.ra, source.dec, obs.roll_deg)
    common.save(model, path)
    return pixel_sr


# --- per observation ------------------------------------------------------------------


def write_observation(obs: Observation, out: Path, rng: np.random.Generator) -> list[dict]:
    """Every level-3 spectroscopic product of ``obs``, its MSA file and its associations."""
    from webbarchive.mock import associations, msa

    setup = SETUPS[obs.kind]
    entries: list[dict] = []
    if obs.kind == "mos":  # sources scattered over the MSA field, each in its shutter
        positions, shutters = msa.place_sources(obs, rng, obs.n_sources)
    else:
        positions = [(0, obs.target.ra, obs.target.dec)]
    redshifts = {pos[0]: float(rng.uniform(0.5, 9.0)) for pos in positions}
    if obs.kind == "mos":
        entries.append(msa.write_msa(obs, out, positions, shutters))
    for index, mode_name in enumerate(obs.configs):
        mode = MODES[mode_name]
        timings = common.exposure_timings(obs, index, setup.exposure_s)
        timing = common.combined(timings)
        optical = optical_name(obs, mode)
        asn_name = associations.level3_asn_name(obs, "spec3", index + 1)
        products: list[str] = []
        for source_id, ra, dec in positions:
            label = f"s{source_id:05d}" if obs.kind == "mos" else "t001"
            if obs.kind == "fs":
                label = "s00004"
            stem = common.level3_name(
                obs, label, "miri" if mode.instrument == "MIRI" else "nirspec", optical
            )
            products.append(stem)
            written = _write_source(
                obs, out, mode, setup, timing, stem, source_id, ra, dec, redshifts.get(source_id),
                asn_name, rng, len(timings),
            )  # fmt: skip
            entries.extend(written)
        members = [
            common.level2_name(obs, index + 1, t + 1, det) + "_cal.fits"
            for t in range(len(timings))
            for det in _detectors(mode, obs)
        ]
        product_names = (
            [common.level3_name(obs, "{source_id}", "nirspec", optical)]
            if obs.kind == "mos"
            else products
        )
        entries.append(
            associations.write_asn(out / asn_name, obs, "spec3", product_names, members, timing)
        )
    return entries


def _detectors(mode: SpectralMode, obs: Observation) -> list[str]:
    if mode.channel:
        return ["mirifushort" if mode.channel in "12" else "mirifulong"]
    if mode.instrument == "MIRI":
        return ["mirimage"]
    return ["nrs1"] if obs.kind == "fs" else ["nrs1", "nrs2"]


def _write_source(
    obs, out, mode, setup, timing, stem, source_id, ra, dec, redshift, asn_name, rng, n_exp
):
    entries = []
    spectrum = synthesize(rng, mode, redshift=redshift)
    valid = not obs.bad_s_region
    if obs.kind in ("ifu", "mrs"):
        geometry = (3.0, 3.0, NIRSPEC_IFU_SPAXEL) if obs.kind == "ifu" else MRS_FOV[mode.channel]
        region = common.s_region(ra, dec, geometry[0], geometry[1], 0.0)
    elif valid:
        region = common.s_region(ra, dec, setup.width_arcsec, setup.height_arcsec, obs.roll_deg)
    source = Source(source_id, ra, dec, region if valid else "", valid)
    kw = dict(obs=obs, mode=mode, setup=setup, timing=timing, spectrum=spectrum, asn_table=asn_name)
    instrument = mode.instrument
    meta = dict(
        obs_id=stem, ra=ra, dec=dec, instrument=instrument, exp_type=setup.exp_type, timing=timing
    )
    extra = {"mode": mode.name, "source_id": source_id, "n_pixels": int(mode.n_pixels),
             "wave_min_um": mode.wave_min_um, "wave_max_um": mode.wave_max_um}  # fmt: skip

    pixel_sr = (0.1 * 0.1) / ARCSEC2_PER_SR
    if obs.kind in ("ifu", "mrs"):
        path = out / f"{stem}_s3d.fits"
        pixel_sr = write_s3d(path, source=source, rng=rng, geometry=geometry, **kw)
        entries.append(
            common.manifest_entry(
                path, "s3d", obs, s_region=region, s_region_valid=True, **meta, **extra
            )
        )
    else:
        path = out / f"{stem}_s2d.fits"
        s2d_source = (
            source
            if valid
            else Source(source_id, ra, dec, common.absurd_s_region(ra, dec, 0), False)
        )
        write_s2d(path, source=s2d_source, rng=rng, **kw)
        entries.append(
            common.manifest_entry(
                path,
                "s2d",
                obs,
                s_region=s2d_source.s_region,
                s_region_valid=valid,
                **meta,
                **extra,
            )
        )
    path = out / f"{stem}_x1d.fits"
    x1d_source = (
        source if valid else Source(source_id, ra, dec, common.absurd_s_region(ra, dec, 1), False)
    )
    write_x1d(path, source=x1d_source, pixel_sr=pixel_sr, **kw)
    entries.append(
        common.manifest_entry(
            path, "x1d", obs, s_region=x1d_source.s_region, s_region_valid=valid, **meta, **extra
        )
    )
    if obs.kind == "mos" and source_id % 2 == 0 or obs.kind == "mrs":
        path = out / f"{stem}_c1d.fits"
        write_c1d(path, source=source, n_input=n_exp, pixel_sr=pixel_sr, **kw)
        entries.append(
            common.manifest_entry(
                path, "c1d", obs, s_region=None, s_region_valid=None, **meta, **extra
            )
        )
    return entries
