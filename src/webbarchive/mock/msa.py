"""NIRSpec MSA metadata files (``jw<ppppp><ooo><vvv>_01_msa.fits``), written with astropy as
the observatory writes them (they are not pipeline datamodels): a SHUTTER_IMAGE, and the
SHUTTER_INFO and SOURCE_INFO tables with the columns and FITS formats of the real files.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from astropy.coordinates import Angle
from astropy.io import fits

from webbarchive.mock import common
from webbarchive.mock.sky import Observation

N_ROWS, N_COLUMNS = 730, 342  # SHUTTER_IMAGE: 4 quadrants of 365 x 171 shutters
N_NODS = 3  # the 3-shutter slitlet nod pattern


MSA_ID = 1  # MSAMETID: the one configuration of a mock MSA file
FIRST_NOD = 1  # PATT_NUM of the exposure a level-3 product's SCI header describes


def msa_name(obs: Observation) -> str:
    return f"jw{obs.program.padded}{obs.number:03d}001_01_msa.fits"


@lru_cache(maxsize=1)
def _full_msa_reference() -> tuple[float, float, float]:
    """V2_REF, V3_REF (arcsec) and V3I_YANG (deg) of the NRS_FULL_MSA aperture (pysiaf)."""
    from webbarchive.siaf import pysiaf

    aperture = pysiaf().Siaf("NIRSpec")["NRS_FULL_MSA"]
    return float(aperture.V2Ref), float(aperture.V3Ref), float(aperture.V3IdlYAngle)


def pointing_keywords(obs: Observation) -> dict[str, float]:
    """The SCI-header pointing of the observation's first nod, as the pipeline writes it:
    the MSA reference point (NRS_FULL_MSA) on the target, V3 at the observation's roll."""
    v2_ref, v3_ref, v3yangle = _full_msa_reference()
    return {
        "ra_ref": obs.target.ra % 360.0, "dec_ref": obs.target.dec, "roll_ref": obs.roll_deg,
        "v2_ref": v2_ref, "v3_ref": v3_ref, "v3yangle": v3yangle,
    }  # fmt: skip


@dataclass(frozen=True)
class Shutter:
    """Where a source sits in the MSA at the first nod: its shutter and the fractional
    position inside it (``estimated_source_in_shutter_x/y``)."""

    quadrant: int
    row: int
    column: int
    x: float
    y: float


def place_sources(
    obs: Observation, rng: np.random.Generator, count: int, half_width_arcsec: float = 100.0
) -> tuple[list[tuple], list[Shutter]]:
    """``count`` sources scattered over the MSA field around the target, each with the
    shutter that sees it at the first nod (inverse of the DJA shutter geometry). A draw
    that falls in a quadrant gap, off the MSA, too near a quadrant's edge column for the
    3-shutter slitlet, or within 0.2 shutter of a bar is drawn again."""
    from webbarchive.dja.spectra.geometry import Pointing, sky_to_shutter

    kw = pointing_keywords(obs)
    pointing = Pointing(kw["ra_ref"], kw["dec_ref"], kw["roll_ref"], kw["v2_ref"], kw["v3_ref"])
    ids = rng.choice(np.arange(1, 99_999), size=count, replace=False)
    cos_dec = np.cos(np.deg2rad(obs.target.dec))
    positions, shutters = [], []
    for source_id in ids:
        while True:
            dx, dy = rng.uniform(-half_width_arcsec, half_width_arcsec, 2) / 3600.0
            ra, dec = (obs.target.ra + dx / cos_dec) % 360.0, obs.target.dec + dy
            where = sky_to_shutter(pointing, ra, dec)
            if where is None:
                continue
            quadrant, row, column = where
            r, c = int(np.floor(row + 0.5)), int(np.floor(column + 0.5))
            x, y = row - r + 0.5, column - c + 0.5
            # the slitlet spans columns c .. c+2 (the source nods along it); sources are
            # planned clear of the bars between shutters (a centring constraint)
            if 1 <= r <= 365 and 1 <= c <= 169 and max(abs(x - 0.5), abs(y - 0.5)) < 0.3:
                break
        positions.append((int(source_id), float(ra), float(dec)))
        shutters.append(Shutter(quadrant, r, c, x, y))
    return positions, shutters


def _shutter_info(positions: list[tuple], shutters: list[Shutter]) -> fits.BinTableHDU:
    """Three open shutters per source (its slitlet, columns c..c+2) for each of the three
    nods; at nod ``d`` the source is in column ``c + d - 1`` at the same place in it."""
    rows = []
    for slitlet, ((source_id, _ra, _dec), at) in enumerate(
        zip(positions, shutters, strict=True), start=1
    ):
        quadrant, row, column = at.quadrant, at.row, at.column + 1  # slitlet centre
        for dither in range(1, N_NODS + 1):
            for k in range(N_NODS):
                primary = k == dither - 1
                x, y = (at.x, at.y) if primary else (np.nan, np.nan)
                rows.append((slitlet, MSA_ID, quadrant, row, column + k - 1, source_id,
                             "N" if primary else "Y", "OPEN", x, y, dither,
                             "Y" if primary else "N"))  # fmt: skip
    columns = list(zip(*rows, strict=True)) if rows else [[]] * 12
    specs = [
        ("slitlet_id", "I"), ("msa_metadata_id", "I"), ("shutter_quadrant", "I"),
        ("shutter_row", "I"), ("shutter_column", "I"), ("source_id", "J"),
        ("background", "1A"), ("shutter_state", "6A"),
        ("estimated_source_in_shutter_x", "E"), ("estimated_source_in_shutter_y", "E"),
        ("dither_point_index", "I"), ("primary_source", "1A"),
    ]  # fmt: skip
    cols = [
        fits.Column(name=n, format=f, array=np.array(v))
        for (n, f), v in zip(specs, columns, strict=True)
    ]
    return fits.BinTableHDU.from_columns(cols, name="SHUTTER_INFO")


def _source_info(program: int, positions: list[tuple]) -> fits.BinTableHDU:
    ids = [p[0] for p in positions]
    ras = np.array([p[1] for p in positions])
    decs = np.array([p[2] for p in positions])
    aliases = [
        f"{Angle(r, 'deg').to_string('hourangle', sep=':', precision=4, pad=True)} "
        f"{Angle(d, 'deg').to_string(sep=':', precision=2, alwayssign=True, pad=True)}"
        for r, d in zip(ras, decs, strict=True)
    ]
    cols = [
        fits.Column(name="program", format="J", array=np.full(len(ids), program)),
        fits.Column(name="source_id", format="J", array=np.array(ids)),
        fits.Column(name="source_name", format="20A", array=[f"{program}_{i}" for i in ids]),
        fits.Column(name="alias", format="31A", array=aliases),
        fits.Column(name="ra", format="D", array=ras),
        fits.Column(name="dec", format="D", array=decs),
        fits.Column(name="preimage_id", format="30A", array=["None"] * len(ids)),
        fits.Column(name="stellarity", format="D", array=np.zeros(len(ids))),
    ]
    return fits.BinTableHDU.from_columns(cols, name="SOURCE_INFO")


def write_msa(obs: Observation, out: Path, positions: list[tuple], shutters: list[Shutter]) -> dict:
    path = out / msa_name(obs)
    primary = fits.PrimaryHDU()
    header = primary.header
    header["ORIGIN"] = ("STSCI", "institution responsible for creating FITS file")
    header["TELESCOP"] = ("JWST", "telescope used to acquire data")
    header["INSTRUME"] = ("NIRSPEC", "identifier for instrument used to acquire data")
    header["DATE"] = common.iso(obs.start_mjd - 20.0)[:19]
    header["FILENAME"] = (path.name, "name of file")
    header["PPSDBVER"] = ("PPSDB95", "version of PPS database used")
    header["PROGRAM"] = (obs.program.padded, "program number")
    header["VISIT"] = ("001", "visit number")
    header["OBSERVTN"] = (f"{obs.number:03d}", "observation number")
    header["VISIT_ID"] = (f"{obs.program.padded}{obs.number:03d}001", "visit identifier")
    header["MSACFG10"] = (1, "base 10 nirspec_msa_at_exposure_spec.msa_config")
    header["MSACFG36"] = ("01", "base 36 version of MSACFG10")
    image = np.zeros((N_ROWS, N_COLUMNS), dtype=np.int16)
    table = _shutter_info(positions, shutters)
    for slitlet, quadrant, row, column in zip(
        table.data["slitlet_id"], table.data["shutter_quadrant"],
        table.data["shutter_row"], table.data["shutter_column"], strict=True,
    ):  # fmt: skip
        image[(quadrant - 1) // 2 * 365 + row - 1, (quadrant - 1) % 2 * 171 + column - 1] = slitlet
    hdus = fits.HDUList(
        [primary, fits.ImageHDU(image, name="SHUTTER_IMAGE"), table,
         _source_info(obs.program.number, positions)]
    )  # fmt: skip
    hdus.writeto(path, overwrite=True)
    timing = common.Timing(obs.start_mjd, obs.start_mjd, 0.0)
    return common.manifest_entry(
        path, "msa", obs, obs_id=None, ra=obs.target.ra, dec=obs.target.dec,
        instrument="NIRSPEC", exp_type=None, timing=timing, n_sources=len(positions),
    )  # fmt: skip
