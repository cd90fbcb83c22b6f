"""NIRSpec MSA metadata files (``jw<ppppp><ooo><vvv>_01_msa.fits``), written with astropy as
the observatory writes them (they are not pipeline datamodels): a SHUTTER_IMAGE, and the
SHUTTER_INFO and SOURCE_INFO tables with the columns and FITS formats of the real files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from astropy.coordinates import Angle
from astropy.io import fits

from webbarchive.mock import common
from webbarchive.mock.sky import Observation

N_ROWS, N_COLUMNS = 730, 342  # SHUTTER_IMAGE: 4 quadrants of 365 x 171 shutters
N_NODS = 3  # the 3-shutter slitlet nod pattern


def msa_name(obs: Observation) -> str:
    return f"jw{obs.program.padded}{obs.number:03d}001_01_msa.fits"


def _shutter_info(positions: list[tuple], rng: np.random.Generator) -> fits.BinTableHDU:
    rows = []
    for slitlet, (source_id, _ra, _dec) in enumerate(positions, start=1):
        quadrant = int(rng.integers(1, 5))
        row, column = int(rng.integers(2, 364)), int(rng.integers(2, 170))
        for dither in range(1, N_NODS + 1):
            for k in range(N_NODS):
                primary = k == dither - 1
                x, y = rng.uniform(0.3, 0.7, 2) if primary else (np.nan, np.nan)
                rows.append((slitlet, 1, quadrant, row, column + k - 1, source_id,
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


def write_msa(obs: Observation, out: Path, positions: list[tuple], rng) -> dict:
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
    shutters = _shutter_info(positions, rng)
    for slitlet, quadrant, row, column in zip(
        shutters.data["slitlet_id"], shutters.data["shutter_quadrant"],
        shutters.data["shutter_row"], shutters.data["shutter_column"], strict=True,
    ):  # fmt: skip
        image[(quadrant - 1) // 2 * 365 + row - 1, (quadrant - 1) % 2 * 171 + column - 1] = slitlet
    hdus = fits.HDUList(
        [primary, fits.ImageHDU(image, name="SHUTTER_IMAGE"), shutters,
         _source_info(obs.program.number, positions)]
    )  # fmt: skip
    hdus.writeto(path, overwrite=True)
    timing = common.Timing(obs.start_mjd, obs.start_mjd, 0.0)
    return common.manifest_entry(
        path, "msa", obs, obs_id=None, ra=obs.target.ra, dec=obs.target.dec,
        instrument="NIRSPEC", exp_type=None, timing=timing, n_sources=len(positions),
    )  # fmt: skip
