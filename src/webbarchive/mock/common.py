"""What every mock product shares: exposure timing, header metadata, footprints, names,
and a deterministic save (no wall clock reaches a file).
"""

from __future__ import annotations

import contextlib
import functools
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import asdf
import numpy as np
import stdatamodels.jwst.datamodels.model_base as jwst_model_base
from astropy.time import Time
from astropy.wcs import WCS

from webbarchive.mock.sky import Observation

DAY_S = 86400.0
EXCLUSIVE_ACCESS_DAYS = 365.25
PROCESSING_DELAY_DAYS = 2.25  # DATE (file creation) follows DATE-END by this much
EXCLUSIVE_CATEGORIES = {"GO", "GTO"}


@dataclass(frozen=True)
class Timing:
    """Start and end of what a product covers, MJD (UTC)."""

    start_mjd: float
    end_mjd: float
    exposure_time_s: float  # effective exposure time (EFFEXPTM)

    @property
    def mid_mjd(self) -> float:
        return 0.5 * (self.start_mjd + self.end_mjd)


def exposure_timings(obs: Observation, config_index: int, exposure_s: float) -> list[Timing]:
    """Consecutive exposures of one configuration, separated by 150 s of overheads; each
    configuration of the observation starts after the previous one has finished."""
    step = (exposure_s + 150.0) / DAY_S
    first = obs.start_mjd + config_index * obs.n_exposures * step
    return [
        Timing(first + i * step, first + i * step + exposure_s / DAY_S, exposure_s)
        for i in range(obs.n_exposures)
    ]


def combined(timings: list[Timing]) -> Timing:
    return Timing(
        min(t.start_mjd for t in timings),
        max(t.end_mjd for t in timings),
        sum(t.exposure_time_s for t in timings),
    )


def release_mjd(category: str, end_mjd: float) -> float:
    """Public release: one year after the end of the observation for GO/GTO, at once for
    ERS, DD, COM and CAL."""
    return end_mjd + EXCLUSIVE_ACCESS_DAYS if category in EXCLUSIVE_CATEGORIES else end_mjd


def iso(mjd: float) -> str:
    return Time(mjd, format="mjd", scale="utc").isot


# --- names ---------------------------------------------------------------------------


def level3_name(obs: Observation, source: str, instrument: str, optical: str) -> str:
    """``jw01345-o062_s00933_nirspec_f290lp-g395m`` (source = s00933 or t001)."""
    return f"jw{obs.program.padded}-o{obs.number:03d}_{source}_{instrument}_{optical}".lower()


def level2_name(obs: Observation, activity: int, exposure: int, detector: str) -> str:
    """``jw01345062001_03101_00001_nrs1``: visit 001, visit group 03, sequence 1."""
    return (
        f"jw{obs.program.padded}{obs.number:03d}001_031{activity:02d}_{exposure:05d}_"
        f"{detector.lower()}"
    )


def version_id(obs: Observation) -> str:
    """Association/pool version id: the pipeline's processing time, after the data."""
    t = Time(obs.start_mjd + PROCESSING_DELAY_DAYS + 1.0, format="mjd").datetime
    return t.strftime("%Y%m%dt%H%M%S")


# --- footprints ----------------------------------------------------------------------


def tan_wcs(
    ra: float, dec: float, scale_arcsec: float, shape: tuple[int, int], roll_deg: float
) -> WCS:
    """A gnomonic WCS centred on (ra, dec) with square pixels and north rotated by
    ``roll_deg`` (east of north) - what the pipeline's FITS approximation looks like."""
    ny, nx = shape
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.cunit = ["deg", "deg"]
    wcs.wcs.crval = [ra % 360.0, dec]
    wcs.wcs.crpix = [(nx + 1) / 2.0, (ny + 1) / 2.0]
    scale = scale_arcsec / 3600.0
    theta = np.deg2rad(roll_deg)
    wcs.wcs.cd = scale * np.array([[-np.cos(theta), np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    return wcs


def corners(
    ra: float, dec: float, width_arcsec: float, height_arcsec: float, roll_deg: float
) -> np.ndarray:
    """The 4 (ra, dec) vertices, degrees, of a width x height rectangle centred on
    (ra, dec) whose height axis points ``roll_deg`` east of north."""
    wcs = tan_wcs(ra, dec, 1.0, (1, 1), roll_deg)
    half_w, half_h = width_arcsec / 2.0, height_arcsec / 2.0
    x = np.array([-half_w, half_w, half_w, -half_w]) + 1.0
    y = np.array([-half_h, -half_h, half_h, half_h]) + 1.0
    ra_v, dec_v = wcs.all_pix2world(x, y, 1)
    return np.column_stack([ra_v % 360.0, dec_v])


def polygon(vertices: np.ndarray) -> str:
    """S_REGION as the pipeline writes it."""
    return "POLYGON ICRS  " + " ".join(f"{ra:.9f} {dec:.9f}" for ra, dec in vertices)


def s_region(
    ra: float, dec: float, width_arcsec: float, height_arcsec: float, roll_deg: float
) -> str:
    return polygon(corners(ra, dec, width_arcsec, height_arcsec, roll_deg))


def absurd_s_region(ra: float, dec: float, style: int) -> str:
    """Footprints like those of pipeline 1.8.2 fixed-slit products: vertices on the other
    side of the sky (style 0), or a negative RA near -90 (style 1)."""
    if style == 0:
        return polygon(
            [
                [(ra + 194.76) % 360, dec - 0.055],
                [(ra + 4.07) % 360, dec - 0.055],
                [(ra + 4.07) % 360, dec + 91.685 if dec < -1.7 else dec - 40.0],
                [(ra + 194.76) % 360, dec + 91.685 if dec < -1.7 else dec - 40.0],
            ]
        )
    return "POLYGON ICRS  " + " ".join(
        f"{r:.9f} {d:.9f}"
        for r, d in [(-89.970, dec), (-89.968, dec), (-89.968, dec + 0.001), (-89.970, dec + 0.001)]
    )


# --- metadata ------------------------------------------------------------------------


def fill_meta(
    model,
    obs: Observation,
    timing: Timing,
    *,
    filename: str,
    instrument: str,
    detector: str,
    exp_type: str,
    filter: str | None = None,
    grating: str | None = None,
    pupil: str | None = None,
    subarray: str = "FULL",
    aperture: str = "",
    asn_table: str | None = None,
    exposure_number: int = 1,
    activity: int = 1,
    n_exposures: int | None = None,
    pattern_number: int = 1,
    readpatt: str = "NRSIRS2RAPID",
    ngroups: int = 20,
    nints: int = 1,
) -> None:
    """The primary-header keywords of a pipeline product (through the datamodel schema,
    so the FITS keyword names and HDUs are the pipeline's)."""
    program = obs.program
    meta = model.meta
    date_end = Time(timing.end_mjd, format="mjd").isot
    begin = Time(timing.start_mjd, format="mjd")
    meta.date = iso(timing.end_mjd + PROCESSING_DELAY_DAYS)
    meta.filename = filename
    meta.origin = "STSCI"
    meta.telescope = "JWST"
    meta.time_sys = "UTC"
    meta.calibration_software_version = program.cal_ver
    meta.data_processing_software_version = "2024_3"
    meta.prd_software_version = "PRDOPSSOC-067"
    meta.ref_file.crds.context_used = program.crds_ctx
    meta.ref_file.crds.version = "12.0.4"
    meta.program.pi_name = program.pi_name
    meta.program.title = program.title
    meta.program.category = program.category
    meta.program.sub_category = "UNKNOWN"
    meta.program.science_category = "Galaxies"

    meta.observation.program_number = program.padded
    meta.observation.observation_number = f"{obs.number:03d}"
    meta.observation.visit_number = "001"
    meta.observation.visit_group = "03"
    meta.observation.sequence_id = "1"
    meta.observation.activity_id = f"{activity:02d}"
    meta.observation.exposure_number = f"{exposure_number:05d}"
    meta.observation.visit_id = f"{program.padded}{obs.number:03d}001"
    meta.observation.obs_id = f"V{program.padded}{obs.number:03d}001P0000000031{activity:02d}"
    meta.observation.date = begin.isot[:10]
    meta.observation.time = begin.isot[11:]
    meta.observation.date_beg = begin.isot
    meta.observation.date_end = date_end
    meta.observation.observation_label = f"{obs.target.field} {obs.kind.upper()}"
    meta.observation.bkgdtarg = False
    meta.visit.status = "SUCCESSFUL"
    meta.visit.total_exposures = n_exposures or obs.n_exposures
    meta.visit.type = "PRIME_TARGETED_FIXED"

    meta.target.catalog_name = obs.target.name.upper()
    meta.target.proposer_name = obs.target.name
    meta.target.ra = obs.target.ra % 360.0
    meta.target.dec = obs.target.dec
    meta.target.type = "FIXED"
    meta.target.ra_uncertainty = 0.1
    meta.target.dec_uncertainty = 0.1

    meta.instrument.name = instrument
    meta.instrument.detector = detector
    if filter is not None:
        meta.instrument.filter = filter
    if grating is not None:
        meta.instrument.grating = grating
    if pupil is not None:
        meta.instrument.pupil = pupil

    meta.exposure.type = exp_type
    meta.exposure.start_time = timing.start_mjd
    meta.exposure.mid_time = timing.mid_mjd
    meta.exposure.end_time = timing.end_mjd
    meta.exposure.exposure_time = timing.exposure_time_s
    meta.exposure.duration = timing.exposure_time_s + 30.0
    meta.exposure.readpatt = readpatt
    meta.exposure.ngroups = ngroups
    meta.exposure.nints = nints
    meta.exposure.nframes = 1
    meta.exposure.groupgap = 0
    meta.exposure.integration_time = timing.exposure_time_s / nints
    meta.dither.position_number = pattern_number
    meta.dither.total_points = n_exposures or obs.n_exposures
    meta.dither.primary_type = "NONE"

    meta.subarray.name = subarray
    meta.aperture.name = aperture
    meta.aperture.position_angle = obs.roll_deg
    _assign(model, "meta.pointing.pa_v3", obs.roll_deg)
    if asn_table:
        meta.asn.pool_name = f"jw{program.padded}_{version_id(obs)}_pool.csv"
        meta.asn.table_name = asn_table


def _assign(model, dotted: str, value) -> None:
    """Set ``dotted`` when the model's schema has it (not every product carries every
    keyword: x1d files have no SCI header, hence no PA_V3)."""
    node = model
    *parents, leaf = dotted.split(".")
    try:
        for name in parents:
            node = getattr(node, name)
        setattr(node, leaf, value)
    except AttributeError:
        pass


def set_pointing(model, ra: float, dec: float, roll_deg: float) -> None:
    """RA_REF/DEC_REF/ROLL_REF and V2/V3 reference keywords of the SCI header."""
    _assign(model, "meta.coordinates.reference_frame", "ICRS")
    wcsinfo = model.meta.wcsinfo
    wcsinfo.ra_ref = ra % 360.0
    wcsinfo.dec_ref = dec
    wcsinfo.roll_ref = roll_deg
    wcsinfo.v2_ref = 0.0
    wcsinfo.v3_ref = 0.0
    wcsinfo.v3yangle = 0.0
    wcsinfo.vparity = -1


def set_image_wcs(model, wcs: WCS) -> None:
    """The FITS WCS keywords of an image SCI header (CRPIX/CRVAL/CDELT/PC, CTYPE TAN)."""
    wcsinfo = model.meta.wcsinfo
    cd = wcs.wcs.cd
    scale = float(np.hypot(cd[0, 0], cd[1, 0]))
    wcsinfo.ctype1, wcsinfo.ctype2 = "RA---TAN", "DEC--TAN"
    wcsinfo.cunit1, wcsinfo.cunit2 = "deg", "deg"
    wcsinfo.crval1, wcsinfo.crval2 = (float(v) for v in wcs.wcs.crval)
    wcsinfo.crpix1, wcsinfo.crpix2 = (float(v) for v in wcs.wcs.crpix)
    wcsinfo.cdelt1 = wcsinfo.cdelt2 = scale
    wcsinfo.pc1_1, wcsinfo.pc1_2 = float(cd[0, 0] / scale), float(cd[0, 1] / scale)
    wcsinfo.pc2_1, wcsinfo.pc2_2 = float(cd[1, 0] / scale), float(cd[1, 1] / scale)
    wcsinfo.wcsaxes = 2


def new(model_class):
    """A datamodel that validates once, when saved, rather than on every assignment
    (validating each keyword costs ~20 ms of schema resolution); strict, so that a value
    the schema rejects stops the generator instead of being dropped with a warning."""
    return model_class(validate_on_assignment=False, strict_validation=True)


@functools.cache
def table_dtype(model_class, attribute: str) -> np.dtype:
    """The numpy dtype of a table the schema defines (e.g. SpecModel.spec_table)."""
    columns = model_class().schema["properties"][attribute]["datatype"]
    return np.dtype([(c["name"], c["datatype"]) for c in columns])


_UPDATE_EXTENSION_HISTORY = asdf.AsdfFile._update_extension_history


def _sorted_extension_history(self, tree, serialization_context) -> None:
    _UPDATE_EXTENSION_HISTORY(self, tree, serialization_context)
    extensions = tree.get("history", {}).get("extensions")
    if extensions:
        extensions.sort(key=lambda m: (str(m.get("extension_uri")), str(m.get("extension_class"))))


def save(model, path: Path) -> int:
    """Write ``model`` to ``path`` exactly as ``model.save`` does, but with DATE taken
    from ``model.meta.date`` instead of the wall clock, and the ASDF history's list of
    extensions in a fixed order (asdf lists them from a set: a gwcs in ``meta.wcs``
    uses several, in an order that changes from one process to the next). Returns
    the size in bytes."""
    model.validate()
    date = model.meta.date

    class _Fixed:
        @staticmethod
        def now():
            return Time(date, scale="utc")

    with (
        mock.patch.object(jwst_model_base, "Time", _Fixed),
        mock.patch.object(asdf.AsdfFile, "_update_extension_history", _sorted_extension_history),
    ):
        model.save(str(path))
    with contextlib.suppress(Exception):
        model.close()
    return path.stat().st_size


def manifest_entry(
    path: Path,
    suffix: str,
    obs: Observation,
    *,
    obs_id: str | None,
    ra: float | None,
    dec: float | None,
    instrument: str,
    exp_type: str | None,
    timing: Timing,
    **extra,
) -> dict:
    """One row of ``mock_manifest.json``: what ingest should find in this file."""
    return {
        "filename": path.name,
        "suffix": suffix,
        "program": obs.program.padded,
        "obs_id": obs_id,
        "target_name": obs.target.name.upper(),
        "ra": None if ra is None else ra % 360.0,
        "dec": dec,
        "targ_ra": obs.target.ra % 360.0,
        "targ_dec": obs.target.dec,
        "instrument": instrument,
        "exp_type": exp_type,
        "category": obs.program.category,
        "date_beg": timing.start_mjd,
        "date_end": timing.end_mjd,
        "release_mjd": release_mjd(obs.program.category, timing.end_mjd),
        "size": path.stat().st_size,
        **extra,
    }
