"""Mock DJA spectroscopy: msaexp ``*.spec.fits`` for every source of the mock's MSA
files, a redshift table (ECSV) and a MOSFIRE listing (CSV) with its two spectra, in
``<out>/dja/``.

Spectra take their source, position, slitlet and MSA file from the MSA metadata the
mock already wrote (:mod:`webbarchive.mock.msa`), one per spectral mode of the MOS
observation, in the newer msaexp layout: SPEC1D (wave um, flux/err uJy), SCI, WHT and
SLITS (one row per nod: exposure name, detector, cutout and trace). The trace of each
slitlet lies where its shutter column puts it on NRS1 (about 5.3 px per shutter), so
spectra of one observation can overlap as RUBIES' do. These files are not JWST
pipeline products: they are not in ``mock_manifest.json``; ingest hands them to
:mod:`webbarchive.dja.spectra`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

from webbarchive.mock.msa import msa_name
from webbarchive.mock.sky import Observation
from webbarchive.mock.spectra import MODES

FOLDER = "dja"
REDSHIFT_TABLE = "mock_nirspec_redshifts.ecsv"
MOSFIRE_LISTING = "mock_mosfire_spectra.csv"
VERSION = "0.9.5.dev2+mock"
PIXELS_PER_SHUTTER = 5.3
_LINES_UM = (0.6565, 0.5008, 0.3728)  # H-alpha, [OIII], [OII] rest wavelengths


def _root(obs: Observation) -> str:
    word = re.sub(r"[^a-z0-9]", "", obs.program.title.split()[0].lower()) or "mock"
    return f"{word}-o{obs.number:03d}-v4"


def _spectrum(mode, z: float, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    wave = mode.wavelength
    flux = np.full(wave.size, float(rng.uniform(0.05, 2.0)))  # uJy continuum
    for rest in _LINES_UM:
        centre = rest * (1 + z)
        width = centre / float(np.median(mode.resolving_power)) / 2.355
        flux += 3 * flux.mean() * np.exp(-0.5 * ((wave - centre) / width) ** 2)
    err = np.full(wave.size, float(flux.mean()) / rng.uniform(5.0, 40.0))
    return wave, flux + rng.normal(0.0, err), err


def _slits(obs, source_id, slitlet, column, n_pixels) -> fits.BinTableHDU:
    names = [
        f"jw{obs.program.padded}{obs.number:03d}001_03101_0000{k}_nrs1_rate.fits" for k in (1, 2, 3)
    ]
    ystart = np.array([PIXELS_PER_SHUTTER * column + 6.0 * (k - 1) for k in (1, 2, 3)])
    table = Table(
        {
            "filename": names,
            "detector": ["NRS1"] * 3,
            "msa_metadata_id": [1] * 3,
            "source_id": [source_id] * 3,
            "slitlet_id": [slitlet] * 3,
            "xstart": [200] * 3,
            "xsize": [n_pixels] * 3,
            "ystart": ystart.astype(int),
            "ysize": [31] * 3,
            "trace_c0": [15.0] * 3,
            "trace_c1": [2.0e-3] * 3,
            "trace_c2": [0.0] * 3,
        }
    )
    return fits.BinTableHDU(table, name="SLITS")


def _write_spec(path, obs, mode, source, z, rng) -> None:
    source_id, ra, dec, slitlet, column = source
    wave, flux, err = _spectrum(mode, z, rng)
    spec1d = fits.BinTableHDU(Table({"wave": wave, "flux": flux, "err": err}), name="SPEC1D")
    spec1d.columns["wave"].unit, spec1d.columns["flux"].unit, spec1d.columns["err"].unit = (
        "um",
        "uJy",
        "uJy",
    )
    header = spec1d.header
    for key, value in {
        "VERSION": VERSION, "GRATING": mode.grating, "FILTER": mode.filter, "NFILES": 3,
        "EFFEXPTM": 2918.0 * 3, "EXPTIME": 2918.0 * 3, "SRCNAME": f"{obs.program.number}_{source_id}",
        "SRCID": source_id, "SRCRA": ra, "SRCDEC": dec, "MSAMETFL": msa_name(obs),
        "MSAMETID": 1, "SLITID": slitlet, "PATT_NUM": 1,
    }.items():  # fmt: skip
        header[key] = value
    sci = np.outer(np.exp(-0.5 * ((np.arange(31) - 15) / 1.2) ** 2), flux).astype(np.float32)
    hdus = [fits.PrimaryHDU(), spec1d, fits.ImageHDU(sci, name="SCI"),
            fits.ImageHDU(np.full_like(sci, 1.0 / err.mean() ** 2), name="WHT"),
            _slits(obs, source_id, slitlet, column, wave.size)]  # fmt: skip
    fits.HDUList(hdus).writeto(path, overwrite=True)


def _sources(path: Path) -> list[tuple[int, float, float, int, int]]:
    with fits.open(path) as hdul:
        info = hdul["SOURCE_INFO"].data
        shutters = hdul["SHUTTER_INFO"].data
        primary = shutters[shutters["primary_source"] == "Y"]
        place = {int(s): (int(sl), int(c)) for s, sl, c in
                 zip(primary["source_id"], primary["slitlet_id"], primary["shutter_column"], strict=True)}  # fmt: skip
        return [
            (int(s), float(r), float(d), *place.get(int(s), (0, 0)))
            for s, r, d in zip(info["source_id"], info["ra"], info["dec"], strict=True)
        ]


def write_all(observations: list[Observation], out: Path, seed: int) -> list[Path]:
    """Write the mock DJA spectroscopy files for the MOS ``observations``; returns them."""
    folder = Path(out) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    written: list[Path] = []
    redshifts = []
    for obs in observations:
        metafile = Path(out) / msa_name(obs)
        if obs.kind != "mos" or not metafile.exists():
            continue
        for source in _sources(metafile):
            z = float(rng.uniform(0.8, 7.0))
            grade = int(rng.choice([3, 3, 3, 2, 1]))
            for mode_name in obs.configs:
                mode = MODES[mode_name]
                name = (f"{_root(obs)}_{mode.grating.lower()}-{mode.filter.lower()}_"
                        f"{obs.program.number}_{source[0]}.spec.fits")  # fmt: skip
                _write_spec(folder / name, obs, mode, source, z, rng)
                measured = z + float(rng.normal(0, 0.002 if mode.grating != "PRISM" else 0.01))
                redshifts.append((name, measured, grade, "mock redshift" if grade == 3 else ""))
                written.append(folder / name)
    table = Table(rows=redshifts or None, names=("file", "z", "grade", "comment"),
                  dtype=(str, float, int, str))  # fmt: skip
    table["z"].description = "redshift fitted by msaexp (mock)"
    table["grade"].description = "3 robust, 2 ambiguous, 1 no features, 0 bad data"
    table.write(folder / REDSHIFT_TABLE, format="ascii.ecsv", overwrite=True)
    mosfire = Table(
        rows=[
            (
                34.405167,
                -5.224939,
                "UDS_field_new4_20160128",
                "mosfireeng",
                "lensed_target",
                "H",
                14616.5,
                17898.85,
                7157.6,
                "UDS_field_new4_20160128/Reduced/UDS_field_new4/2016jan28/H/UDS_field_new4_20160128-H-slit_12-lensed_target_sp.fits",
                0.7,
                15.1,
                10.0,
                34.405,
                -5.22575,
            ),
            (
                34.405167,
                -5.224236,
                "UDSK1_20160118",
                "Scoville",
                "DM_uds_9612",
                "K",
                19681.02,
                24050.97,
                2147.3,
                "UDSK1_20160118/Reduced/UDSK1/2016jan18/K/UDSK1_20160118-K-slit_13-DM_uds_9612_sp.fits",
                0.7,
                22.8,
                39.0,
                34.403875,
                -5.225817,
            ),
        ],
        names="ra_targ dec_targ datemask progpi target_name filter wmin wmax exptime file "
        "slit_width slit_length skypa3 ra_slit dec_slit".split(),
    )  # fmt: skip  (the two rows of seed 003's example)
    mosfire.write(folder / MOSFIRE_LISTING, format="ascii.csv", overwrite=True)
    spectra = [_write_mosfire_spectrum(folder, row) for row in mosfire]
    return [*written, folder / REDSHIFT_TABLE, folder / MOSFIRE_LISTING, *spectra]


def _write_mosfire_spectrum(folder: Path, row) -> Path:
    """One MOSFIRE spectrum of the listing, at ``Spectra/<file>`` beside it (the layout
    of DJA's mosfire-pipeline bucket): wavelength (Angstrom) over the row's wmin..wmax,
    flux and error (arbitrary units), deterministic."""
    path = folder / "Spectra" / str(row["file"])
    path.parent.mkdir(parents=True, exist_ok=True)
    wave = np.linspace(float(row["wmin"]), float(row["wmax"]), 200)
    flux = 1.0 + 0.2 * np.sin(wave / 50.0)
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("wave", "D", unit="Angstrom", array=wave),
            fits.Column("flux", "D", array=flux),
            fits.Column("err", "D", array=np.full(wave.size, 0.1)),
        ],
        name="SPEC1D",
    )
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "Keck I"
    primary.header["INSTRUME"] = "MOSFIRE"
    primary.header["TARGNAME"] = str(row["target_name"])
    primary.header["FILTER"] = str(row["filter"])
    fits.HDUList([primary, table]).writeto(path, overwrite=True)
    return path
