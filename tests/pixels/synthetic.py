"""A small archive of synthetic spectral products, written as FITS and cataloged
by hand, with the arrays kept in memory as the truth for brute-force checks.

Independent of ingest and of the mock generator on purpose: the pixel store is
tested on inputs whose every value the test knows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits
from sqlalchemy import Engine, insert, update

from webbarchive.catalog import sky
from webbarchive.catalog.schema import keywords, observations, products, programs, sky_index

FUTURE_MJD = 99_000.0  # exclusive access for a long while
PAST_MJD = 59_000.0

# (instrument, grating, filter, exp_type, wave_min, wave_max, npix)
MODES = [
    ("NIRSPEC", "PRISM", "CLEAR", "NRS_MSASPEC", 0.6, 5.3, 431),
    ("NIRSPEC", "G140M", "F100LP", "NRS_FIXEDSLIT", 0.97, 1.89, 1426),
    ("NIRSPEC", "G395M", "F290LP", "NRS_MSASPEC", 2.87, 5.27, 1215),
    ("MIRI", None, "P750L", "MIR_LRS-FIXEDSLIT", 5.0, 14.0, 388),
]


def der_snr_loop(flux) -> float | None:
    """DER_SNR written out term by term (Stoehr et al. 2008), as the test's truth:
    zero (padding) and non-finite fluxes are skipped."""
    values = [float(f) for f in np.ravel(flux) if np.isfinite(f) and f != 0.0]
    n = len(values)
    if n < 5:
        return None
    diffs = []
    for i in range(2, n - 2):
        diffs.append(abs(2.0 * values[i] - values[i - 2] - values[i + 2]))
    noise = 1.482602 / 6.0**0.5 * float(np.median(diffs))
    if noise == 0:
        return None
    return float(np.median(values)) / noise


@dataclass
class Product:
    filename: str
    path: Path
    suffix: str
    instrument: str
    grating: str | None
    filter: str
    exp_type: str
    program: str
    target: str
    ra: float
    dec: float
    release_mjd: float
    # pixel truth, flattened, one element per pixel with finite wavelength
    x: np.ndarray
    y: np.ndarray | None
    z: np.ndarray | None
    wavelength: np.ndarray
    flux: np.ndarray
    flux_error: np.ndarray
    snr_flux: np.ndarray  # fluxes in the order DER_SNR reads them
    product_id: int | None = None
    header: object = None  # s3d: the SCI header (its celestial WCS places the spaxels)

    def sky(self):
        """Each pixel's sky position (astropy SkyCoord), cubes only."""
        from astropy.wcs import WCS

        return WCS(self.header).celestial.pixel_to_world(self.x, self.y)

    @property
    def der_snr(self) -> float | None:
        return der_snr_loop(self.snr_flux)


def _spectrum(rng, npix, wmin, wmax):
    wave = np.linspace(wmin, wmax, npix)
    level = 10 ** rng.uniform(0.0, 2.0)  # 1-100, so flux >= 10 splits the archive
    error = level / rng.uniform(2.0, 40.0)
    flux = level * (wave / wave.mean()) ** rng.uniform(-1, 1) + rng.normal(0, error, npix)
    flux[: rng.integers(0, 4)] = np.nan
    return wave, flux, np.full(npix, error)


def write_x1d(path: Path, wave, flux, error) -> None:
    cols = [
        fits.Column("WAVELENGTH", "D", array=wave, unit="um"),
        fits.Column("FLUX", "D", array=flux, unit="Jy"),
        fits.Column("FLUX_ERROR", "D", array=error, unit="Jy"),
        fits.Column("DQ", "J", array=np.zeros(wave.size, np.int32)),
    ]
    hdu = fits.BinTableHDU.from_columns(cols, name="EXTRACT1D")
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)


def make_products(folder: Path, seed: int = 3, n_x1d: int = 24) -> list[Product]:
    rng = np.random.default_rng(seed)
    out: list[Product] = []
    for i in range(n_x1d):
        inst, grating, filt, exp_type, wmin, wmax, npix = MODES[i % len(MODES)]
        shift = rng.uniform(-0.05, 0.05)
        wave, flux, error = _spectrum(rng, npix, wmin + shift, wmax + shift)
        if i == 5:
            wave[10:13] = np.nan  # pixels without a wavelength are not stored
        program = ["1001", "1002", "2000"][i % 3]
        name = f"jw0{program}-o{i:03d}_t001_{inst.lower()}_{(grating or filt).lower()}_x1d.fits"
        path = folder / name
        write_x1d(path, wave, flux, error)
        keep = np.isfinite(wave)
        out.append(
            Product(
                name,
                path,
                "x1d",
                inst,
                grating,
                filt,
                exp_type,
                program,
                f"TARGET-{i % 4}",
                10.0 + (i % 4) * 2.0,
                -5.0,
                FUTURE_MJD if program == "2000" else PAST_MJD,
                np.arange(npix)[keep],
                None,
                None,
                wave[keep],
                flux[keep],
                error[keep],
                flux,
            )
        )
    # two s2d (WAVELENGTH extension) and one s3d (linear WAVE axis)
    for j in range(2):
        ny, nx = 5, 60
        wave1 = np.linspace(1.0 + j, 1.5 + j, nx)
        wave = np.tile(wave1, (ny, 1))
        sci = 10 ** rng.uniform(0, 2) + rng.normal(0, 1, (ny, nx))
        err = np.ones((ny, nx))
        name = f"jw01001-o10{j}_t001_nirspec_g140m_s2d.fits"
        hdul = fits.HDUList(
            [
                fits.PrimaryHDU(),
                fits.ImageHDU(sci, name="SCI"),
                fits.ImageHDU(err, name="ERR"),
                fits.ImageHDU(wave, name="WAVELENGTH"),
            ]
        )
        hdul.writeto(folder / name, overwrite=True)
        yy, xx = np.mgrid[:ny, :nx]
        out.append(
            Product(
                name,
                folder / name,
                "s2d",
                "NIRSPEC",
                "G140M",
                "F100LP",
                "NRS_FIXEDSLIT",
                "1001",
                "TARGET-0",
                10.0,
                -5.0,
                PAST_MJD,
                xx.ravel(),
                yy.ravel(),
                None,
                wave.ravel(),
                sci.ravel(),
                err.ravel(),
                sci.ravel(),
            )
        )
    nz, ny, nx = 40, 3, 4
    sci = 10 ** rng.uniform(0, 2) + rng.normal(0, 1, (nz, ny, nx))
    header = fits.Header({"CTYPE3": "WAVE", "CRVAL3": 5.0, "CDELT3": 0.01, "CRPIX3": 1.0})
    # a celestial WCS of 0.5" spaxels centred on the target (12, -5)
    header.update(
        {
            "CTYPE1": "RA---TAN",
            "CTYPE2": "DEC--TAN",
            "CRVAL1": 12.0,
            "CRVAL2": -5.0,
            "CRPIX1": 2.5,
            "CRPIX2": 2.0,
            "CDELT1": -0.5 / 3600,
            "CDELT2": 0.5 / 3600,
            "CUNIT1": "deg",
            "CUNIT2": "deg",
        }
    )
    name = "jw01001-o200_t001_miri_ch1-short_s3d.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(sci, header, name="SCI")]).writeto(
        folder / name, overwrite=True
    )
    zz, yy, xx = np.indices((nz, ny, nx))
    out.append(
        Product(
            name,
            folder / name,
            "s3d",
            "MIRI",
            None,
            None,
            "MIR_MRS",
            "1001",
            "TARGET-1",
            12.0,
            -5.0,
            PAST_MJD,
            xx.ravel(),
            yy.ravel(),
            zz.ravel(),
            (5.0 + 0.01 * zz).ravel(),
            sci.ravel(),
            np.full(sci.size, np.nan),
            sci.transpose(1, 2, 0).ravel(),
            header=header,
        )
    )
    return out


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def catalog(engine: Engine, items: list[Product]) -> None:
    """Insert programs, observations, products, keywords and sky cells for ``items``."""
    import json

    from sqlalchemy import select

    with engine.begin() as conn:
        known = set(conn.execute(select(programs.c.proposal_id)).scalars())
        for program in sorted({p.program for p in items} - known):
            conn.execute(insert(programs).values(proposal_id=program))
        for p in items:
            polygon = sky.target_box(p.ra, p.dec, 0.01)
            obsid = conn.execute(
                insert(observations)
                .values(
                    obs_id=p.filename.rsplit("_", 1)[0],
                    target_name=p.target,
                    s_ra=p.ra,
                    s_dec=p.dec,
                    s_region=sky.to_stcs(polygon),
                    proposal_id=p.program,
                    t_obs_release=p.release_mjd,
                )
                .returning(observations.c.obsid)
            ).scalar_one()
            rows = sky.index_rows(obsid, polygon)
            if rows:
                conn.execute(insert(sky_index), rows)
            p.product_id = conn.execute(
                insert(products)
                .values(
                    obsid=obsid,
                    filename=p.filename,
                    path=str(p.path),
                    suffix=p.suffix,
                    instrument=p.instrument,
                    exp_type=p.exp_type,
                    proposal_id=p.program,
                    publicReleaseDate_mjd=p.release_mjd,
                    size=p.path.stat().st_size,
                    checksum=md5(p.path),
                )
                .returning(products.c.product_id)
            ).scalar_one()
            for name, value in (("grating", p.grating), ("filter", p.filter)):
                if value is not None:
                    conn.execute(
                        insert(keywords).values(
                            product_id=p.product_id, name=name, value=json.dumps(value)
                        )
                    )


def rewrite(engine: Engine, product: Product, flux) -> None:
    """Replace an x1d's fluxes on disk and its checksum in the catalog, as a re-ingest would."""
    wave = product.wavelength
    product.flux = np.asarray(flux, np.float64)
    product.snr_flux = product.flux
    write_x1d(product.path, wave, product.flux, product.flux_error)
    with engine.begin() as conn:
        conn.execute(
            update(products)
            .where(products.c.product_id == product.product_id)
            .values(checksum=md5(product.path))
        )


def brute_force(items, predicates, *, product_type="x1d", visible=None, keep=None):
    """Every matching pixel as (fileName, x, y, z, wavelength, flux), by numpy alone."""
    found = []
    for p in items:
        if p.suffix != product_type:
            continue
        if visible is not None and not visible(p):
            continue
        if keep is not None and not keep(p):
            continue
        snr = p.der_snr
        columns = {
            "wavelength": p.wavelength,
            "flux": p.flux,
            "fluxErr": p.flux_error,
            "derSnr": np.full(p.wavelength.size, np.nan if snr is None else snr),
        }
        mask = np.ones(p.wavelength.size, bool)
        for column, op, value in predicates:
            values = columns[column]
            with np.errstate(invalid="ignore"):
                test = {
                    "gt": values > value,
                    "gte": values >= value,
                    "lt": values < value,
                    "lte": values <= value,
                    "eq": values == value,
                    "ne": values != value,
                }[op]
            mask &= test & np.isfinite(values)
        for k in np.flatnonzero(mask):
            found.append(
                (
                    p.filename,
                    int(p.x[k]),
                    None if p.y is None else int(p.y[k]),
                    None if p.z is None else int(p.z[k]),
                    float(p.wavelength[k]),
                    float(p.flux[k]) if np.isfinite(p.flux[k]) else None,
                )
            )
    return sorted(found, key=lambda t: (t[0], t[1], t[2] or 0, t[3] or 0))


@dataclass
class Archive:
    url: str
    engine: Engine
    items: list[Product]
    folder: Path


def build_archive(request, tmp_path_factory, name: str) -> Archive:
    """Synthetic products cataloged on the backend of ``request.param`` and indexed."""
    import os

    from webbarchive.catalog.db import open_catalog
    from webbarchive.pixels.index import update as update_pixels

    folder = tmp_path_factory.mktemp(name)
    if request.param == "sqlite":
        url = str(folder / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"{name}_{os.getpid()}")
    engine = open_catalog(url)
    items = make_products(folder)
    catalog(engine, items)
    update_pixels(engine, progress=False)
    return Archive(url, engine, items, folder)
