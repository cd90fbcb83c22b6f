"""s2d pixels carry their sky position (ra, dec from the product's gwcs), and a
cone on ``productType=s2d`` keeps exactly the pixels inside it.

Truths: the gwcs as stdatamodels opens it (``datamodels.open(path).meta.wcs``),
astropy's angular separations, brute force over the extracted arrays. The real
s2d files are NIRSpec: jw02736's MOS slitlet (jwst 1.12.5), whose gwcs places
each row of the slit on the sky, and jw01492's fixed slit (jwst 1.8.2), whose
gwcs spreads the 1.6" slit over 30 degrees and so gets no positions.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.io import fits
from sqlalchemy import select

from tests.pixels import synthetic
from tests.pixels.synthetic import PAST_MJD
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import ANONYMOUS
from webbarchive.pixels import query as query_module
from webbarchive.pixels import scan
from webbarchive.pixels import scan as scan_module
from webbarchive.pixels.extract import extract
from webbarchive.pixels.index import update as update_pixels
from webbarchive.pixels.query import _cone_obsids, count, parse, prepare, search
from webbarchive.pixels.store import PixelStore, pixels_root
from webbarchive.pixels.tables import pixel_segments

#: Positions agree with the gwcs's to this (degrees; 3.6 micro-arcseconds).
TOLERANCE_DEG = 1e-9


def _real_s2d(real_dir: Path) -> list[Path]:
    files = sorted((real_dir / "spectra").glob("*_s2d.fits"))
    if not files:
        pytest.skip("no real s2d files")
    return files


def _gwcs_world(path: Path, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """(ra, dec, wavelength) of pixels (x, y) by the datamodel's gwcs."""
    from stdatamodels.jwst import datamodels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with datamodels.open(str(path)) as model:
            return tuple(np.asarray(v, np.float64) for v in model.meta.wcs(x, y))


def _with_wavelength_extension(path: Path, folder: Path) -> Path:
    """A copy of a real s2d with the WAVELENGTH image the pipeline writes since
    2024 (from its own gwcs), in ``folder``: the path where extraction needs the
    gwcs only for positions."""
    with fits.open(path) as hdul:
        ny, nx = hdul["SCI"].data.shape
        yy, xx = np.mgrid[:ny, :nx]
        wave = _gwcs_world(path, xx, yy)[2].astype(np.float32)
        hdul.insert(len(hdul) - 1, fits.ImageHDU(wave, name="WAVELENGTH"))
        out = folder / path.name.replace("_s2d", "-wavelength_s2d")
        hdul.writeto(out)
    return out


def _spread_deg(ra: np.ndarray, dec: np.ndarray) -> float:
    """Largest separation of a pixel from the first one (degrees, astropy)."""
    sky = SkyCoord(ra, dec, unit="deg")
    return float(sky.separation(sky[0]).deg.max())


def test_real_s2d_positions_are_the_gwcs_answer(real_dir, tmp_path):
    rng = np.random.default_rng(17)
    placed = 0
    for real in _real_s2d(real_dir):
        for path in (real, _with_wavelength_extension(real, tmp_path)):
            pixels = extract(str(path), "s2d")
            sample = rng.choice(pixels.npix, size=min(500, pixels.npix), replace=False)
            x, y = pixels.x[sample], pixels.y[sample]
            ra, dec, wave = _gwcs_world(real, x, y)
            np.testing.assert_allclose(pixels.wavelength[sample], wave, rtol=1e-6)
            spread = _spread_deg(ra, dec)
            if spread > 20 / 60:  # no slit is that long: the gwcs is wrong, no positions
                assert pixels.ra is None and pixels.dec is None, path.name
                continue
            assert spread < 1 / 60, f"{path.name}: {spread * 3600:.1f} arcsec, neither"
            placed += 1
            assert pixels.ra.shape == pixels.dec.shape == pixels.wavelength.shape
            assert np.isfinite(pixels.ra).all() and np.isfinite(pixels.dec).all()
            np.testing.assert_allclose(pixels.dec[sample], dec, rtol=0, atol=TOLERANCE_DEG)
            d_ra = (pixels.ra[sample] - ra + 180.0) % 360.0 - 180.0
            np.testing.assert_allclose(d_ra, 0.0, rtol=0, atol=TOLERANCE_DEG)
    assert placed, "no real s2d file got positions: the comparison ran on nothing"


def test_s2d_without_a_gwcs_has_no_positions(tmp_path):
    # the synthetic s2d carry a WAVELENGTH image and no ASDF extension
    items = synthetic.make_products(tmp_path, seed=3, n_x1d=0)
    s2d = next(i for i in items if i.suffix == "s2d")
    pixels = extract(str(s2d.path), "s2d")
    assert pixels.ra is None and pixels.dec is None
    np.testing.assert_array_equal(pixels.wavelength, s2d.wavelength)


# --- the cone on productType=s2d --------------------------------------------------------


def _product(path: Path, ra: float, dec: float) -> synthetic.Product:
    """A real s2d as a hand-catalogued product whose observation footprint (a 72"
    box around ra, dec) holds the slit: the catalog's cone passes it, and only the
    pixel positions decide."""
    pixels = extract(str(path), "s2d")
    header = fits.getheader(path)
    return synthetic.Product(
        path.name,
        path,
        "s2d",
        header["INSTRUME"],
        header["GRATING"],
        header["FILTER"],
        header["EXP_TYPE"],
        str(header["PROGRAM"]).lstrip("0"),
        header["TARGPROP"],
        ra,
        dec,
        PAST_MJD,
        pixels.x,
        pixels.y,
        None,
        pixels.wavelength,
        pixels.flux,
        pixels.flux_error,
        pixels.flux,
    )


@pytest.fixture
def slit_archive(real_dir, catalog_url):
    """The real s2d files catalogued by hand and extracted, with the pixels of
    the one that carries positions."""
    engine = open_catalog(catalog_url)
    files = _real_s2d(real_dir)
    extracted = {p.name: extract(str(p), "s2d") for p in files}
    placed = [p for p in files if extracted[p.name].ra is not None]
    assert placed, "no real s2d file got positions (jw02736's gwcs places its slit)"
    slit = extracted[placed[0].name]
    centre = SkyCoord(np.mean(slit.ra), np.mean(slit.dec), unit="deg")
    items = [_product(p, float(centre.ra.deg), float(centre.dec.deg)) for p in files]
    synthetic.catalog(engine, items)
    update_pixels(engine, progress=False)
    return engine, extracted, centre


def _cone_truth(extracted: dict, centre: SkyCoord, radius_deg: float) -> list[tuple]:
    """(fileName, x, y) of every extracted pixel within the radius (astropy)."""
    truth = []
    for name, pixels in extracted.items():
        if pixels.ra is None:
            continue
        separation = SkyCoord(pixels.ra, pixels.dec, unit="deg").separation(centre).deg
        # no pixel so near the edge that rounding could decide it
        assert np.abs(separation - radius_deg).min() > 1e-10
        inside = np.flatnonzero(separation <= radius_deg)
        truth += [(name, int(pixels.x[k]), int(pixels.y[k])) for k in inside]
    return sorted(truth)


def _cone(centre: SkyCoord, radius_deg: float):
    return parse(
        [
            ("productType", "s2d"),
            ("ra", repr(float(centre.ra.deg))),
            ("dec", repr(float(centre.dec.deg))),
            ("radius", repr(radius_deg)),
        ]
    )


@pytest.mark.parametrize("radius_arcsec", [0.07, 0.25, 0.6, 5.0])
def test_cone_keeps_exactly_the_s2d_pixels_inside(slit_archive, radius_arcsec):
    engine, extracted, middle = slit_archive
    # off the slit's axis and between its rows, so that radii cut across it
    centre = middle.spherical_offsets_by(0.03 * u.arcsec, 0.04 * u.arcsec)
    radius = radius_arcsec / 3600
    truth = _cone_truth(extracted, centre, radius)
    assert truth, "the cone holds no pixel: nothing tested"
    if radius_arcsec < 1:  # some rows of the slit, not all of it
        total = sum(p.npix for p in extracted.values() if p.ra is not None)
        assert len(truth) < total
    q = _cone(centre, radius)
    found = search(engine, q, ANONYMOUS, 200_000, 0)
    got = sorted((r["fileName"], r["x"], r["y"]) for r in found.results)
    assert found.total == len(truth) and got == truth
    # the count's batches of row groups (two groups each, so edges and
    # interiors split across several) evaluate the same cone
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(query_module, "COUNT_SCAN_MAX_GROUPS", -1)
        patch.setattr(scan_module, "COUNT_BATCH_GROUPS", 2)
        assert count(engine, q, ANONYMOUS) == len(truth)
    # DuckDB's count and deep page evaluate the same cone
    prepared = prepare(engine, q, ANONYMOUS)
    assert prepared.total() == len(truth)
    rows = prepared.scan.deep_rows(prepared, 200_000, 0)  # (product_id, x, y, ...)
    assert sorted((int(r[1]), int(r[2])) for r in rows) == [t[1:] for t in truth]


def test_cone_beside_the_slit_finds_none(slit_archive):
    engine, extracted, middle = slit_archive
    centre = middle.spherical_offsets_by(0 * u.arcsec, 12 * u.arcsec)
    radius = 3 / 3600
    assert _cone_truth(extracted, centre, radius) == []
    q = _cone(centre, radius)
    # the catalog's cone keeps the observations (their footprint holds it): the
    # pixels' own positions are what leave them out
    assert _cone_obsids(engine, q)
    assert search(engine, q, ANONYMOUS, 1000, 0).total == 0
    assert prepare(engine, q, ANONYMOUS).total() == 0
    # without the cone, every pixel of both files is there
    everything = search(engine, parse([("productType", "s2d")]), ANONYMOUS, 1, 0)
    assert everything.total == sum(p.npix for p in extracted.values())


# --- segments written before s2d positions -------------------------------------------


@pytest.mark.parametrize("written", ["null columns", "no columns"])
def test_segments_without_positions_read_as_null(slit_archive, written):
    """Segments of s2d pixels stored without positions, by the extractor before
    this one (``ra``/``dec`` null) or before the columns existed (absent), read
    them as null: a cone finds none of their pixels, in the row-group scan and in
    DuckDB alike, and every other search is unchanged."""
    engine, _extracted, middle = slit_archive
    root = pixels_root(engine)
    with engine.connect() as conn:
        segments = list(conn.execute(select(pixel_segments.c.segment)).scalars())
    q_cone = _cone(middle, 5 / 3600)
    assert search(engine, q_cone, ANONYMOUS, 1, 0).total > 0
    everything = parse([("productType", "s2d"), ("flux.gte", "0")])
    before = search(engine, everything, ANONYMOUS, 1, 0).total
    for segment in segments:
        table = pq.read_table(root / segment)
        if written == "no columns":
            table = table.drop_columns(["ra", "dec"])
        else:
            for name in ("ra", "dec"):
                k = table.column_names.index(name)
                table = table.set_column(k, name, pa.nulls(table.num_rows, pa.float64()))
        pq.write_table(table, root / segment, row_group_size=8192)
    scan.footer.cache_clear()  # segments are immutable in service; here they changed
    scan._open.cache_clear()
    store = PixelStore(root)
    for segment in segments:
        table = store.read(segment)
        assert table.column("ra").null_count == table.num_rows
        assert table.column("dec").null_count == table.num_rows
    assert search(engine, q_cone, ANONYMOUS, 1, 0).total == 0
    assert count(engine, q_cone, ANONYMOUS) == 0
    assert prepare(engine, q_cone, ANONYMOUS).total() == 0  # DuckDB's count
    assert prepare(engine, q_cone, ANONYMOUS).page(10, 30_000) == []  # the DuckDB page
    assert search(engine, everything, ANONYMOUS, 1, 0).total == before


# --- gwcs of every kind: positions, or null, never an error ---------------------------


def _slit_file(folder: Path, kind: str) -> tuple[Path, object]:
    """An s2d (SlitModel, WAVELENGTH image) whose gwcs maps row y along a slit
    (``placed``), has no celestial output (``no sky``), or raises when evaluated
    at the pixels (``fails``)."""
    from astropy import coordinates as coord
    from astropy.modeling import models
    from gwcs import WCS
    from gwcs import coordinate_frames as cf
    from stdatamodels.jwst import datamodels

    ny, nx = 6, 40
    spectral = models.Scale(0.001) | models.Shift(1.0)
    detector = cf.Frame2D(name="detector", axes_order=(0, 1), unit=(u.pix, u.pix))
    wavelength = cf.SpectralFrame(name="spectral", axes_order=(2,), unit=(u.micron,))
    sky = cf.CelestialFrame(name="sky", axes_order=(0, 1), reference_frame=coord.ICRS())
    along = models.Scale(1e-5) | models.Shift(359.99997)  # across RA 0
    if kind == "fails":  # a table of 2 rows looked up at 6, out of its bounds
        along = models.Tabular1D(points=np.arange(2.0), lookup_table=[1.0, 1.1], bounds_error=True)
    if kind == "no sky":
        slit = cf.CoordinateFrame(
            naxes=1, axes_type=("SPATIAL",), axes_order=(0,), unit=(u.arcsec,),
            axes_names=("slit",), name="slit",
        )  # fmt: skip
        wavelength = cf.SpectralFrame(name="spectral", axes_order=(1,), unit=(u.micron,))
        transform = models.Mapping((1, 0)) | models.Scale(0.1) & spectral
        world = cf.CompositeFrame([slit, wavelength], name="world")
    else:
        transform = models.Mapping((1, 1, 0)) | (
            along & (models.Scale(2e-5) | models.Shift(-30.0)) & spectral
        )
        world = cf.CompositeFrame([sky, wavelength], name="world")
    wcs = WCS([(detector, transform), (world, None)])
    wcs.bounding_box = ((-0.5, nx - 0.5), (0.5, ny - 0.5))  # row 0 outside: NaN there
    yy, xx = np.mgrid[:ny, :nx]
    model = datamodels.SlitModel(
        data=np.ones((ny, nx), np.float32), wavelength=1.0 + 0.001 * xx.astype(np.float32)
    )
    model.meta.wcs = wcs
    path = folder / f"jw09999-o001_s00001_nirspec_{kind.replace(' ', '')}_s2d.fits"
    model.save(path)
    return path, wcs


@pytest.mark.parametrize("kind", ["placed", "no sky", "fails"])
def test_gwcs_gives_positions_or_none(tmp_path, kind):
    path, wcs = _slit_file(tmp_path, kind)
    pixels = extract(str(path), "s2d")
    assert pixels.npix == 6 * 40  # every pixel kept, its wavelength from the image
    np.testing.assert_allclose(pixels.wavelength, 1.0 + 0.001 * pixels.x, rtol=1e-6)
    if kind == "fails":
        with pytest.raises(ValueError, match="out of bounds"):
            wcs(pixels.x, pixels.y)
    if kind != "placed":
        assert pixels.ra is None and pixels.dec is None
        return
    ra, dec, _ = wcs(pixels.x, pixels.y)  # NaN on row 0, outside the bounding box
    assert np.isnan(ra[pixels.y == 0]).all() and np.isfinite(ra[pixels.y > 0]).all()
    np.testing.assert_array_equal(np.isnan(pixels.ra), np.isnan(ra))
    inside = np.isfinite(ra)
    np.testing.assert_allclose(pixels.ra[inside], ra[inside] % 360.0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(pixels.dec[inside], dec[inside], rtol=0, atol=1e-12)
    assert (pixels.ra[inside] < 360.0).all() and (pixels.ra[inside] < 1.0).any()  # wrapped
