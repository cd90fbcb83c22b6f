"""Ingest reads compression from the content, never from the name (issue 13, item 1).

Truths: astropy opens every one of these files (it recognises gzip, bzip2 and xz
by their first bytes, and reads fpack tile-compressed images); Python's gzip
module gives the length of a decompressed stream.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

import pytest
from astropy.io import fits
from sqlalchemy import select

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import keywords, products
from webbarchive.ingest.headers import decode
from webbarchive.ingest.runner import ingest_paths

#: The MIRI i2d files of program 1288: gzip streams under a .fits name.
MIRI_1288 = (
    "imaging/jw01288015001_04101_00001_mirimage_i2d.fits",
    "imaging/jw01288015001_26101_00003_mirimage_i2d.fits",
    "imaging/jw01288016001_34101_00002_mirimage_i2d.fits",
)


def _catalogued(url: str, filename: str) -> tuple[dict, dict]:
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        row = conn.execute(select(products).where(products.c.filename == filename)).mappings().one()
        stored = {
            name: decode(value)
            for name, value in conn.execute(
                select(keywords.c.name, keywords.c.value).where(
                    keywords.c.product_id == row["product_id"]
                )
            )
        }
    engine.dispose()
    return dict(row), stored


def _check_against_astropy(url: str, path: Path, filename: str | None = None) -> None:
    """The catalogued product carries the primary and SCI keywords astropy reads."""
    row, stored = _catalogued(url, filename or path.name)
    with fits.open(path) as hdul:
        hdul.verify("exception")
        for hdu in hdul:
            hdu.data  # noqa: B018 - every HDU's data is there to read
        primary, science = hdul[0].header, hdul["SCI"].header
        assert stored["program"] == int(primary["PROGRAM"])  # an integer, as MAST types it
        assert stored["instrume"] == primary["INSTRUME"]
        assert stored["filter"] == primary["FILTER"]
        assert row["instrument"] == primary["INSTRUME"]
        expected = [float(v) for v in science["S_REGION"].split()[2:]]
    got = [float(v) for v in row["s_region"].split()[2:]]
    assert got == pytest.approx(expected, abs=1e-9)
    assert row["footprint_source"] == "s_region"


def test_gzip_fits_named_fits_is_ingested(catalog_url, real_dir):
    paths = [real_dir / name for name in MIRI_1288]
    for path in paths:
        assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip, whatever the name says
    report = ingest_paths([str(p) for p in paths], db_url=catalog_url, workers=1, progress=False)
    assert report.skipped == []
    assert sorted(report.ingested) == sorted(str(p.resolve()) for p in paths)
    for path in paths:
        _check_against_astropy(catalog_url, path)
    again = ingest_paths([str(p) for p in paths], db_url=catalog_url, workers=1, progress=False)
    assert len(again.unchanged) == 3 and not again.ingested and not again.replaced


def _fpack(source: Path, target: Path) -> None:
    """Tile-compress every image HDU, as fpack does (astropy writes the same convention);
    the file ends with a compressed image, whose stored size is far below its image size."""
    with fits.open(source) as hdul:
        out = fits.HDUList([fits.PrimaryHDU(header=hdul[0].header)])
        images = [h for h in hdul[1:] if h.is_image and h.data is not None]
        for hdu in images:
            out.append(fits.CompImageHDU(data=hdu.data, header=hdu.header, name=hdu.name))
        out.writeto(target)


@pytest.fixture(scope="module")
def encoded(real_dir, tmp_path_factory) -> dict[str, Path]:
    """One real i2d in every encoding astropy reads, under misleading names."""
    folder = tmp_path_factory.mktemp("encoded")
    fits_bytes = gzip.decompress((real_dir / MIRI_1288[0]).read_bytes())
    stem = "jw01288015001_04101_00001_mirimage"
    files = {
        "plain named .fits.gz": (f"{stem}_i2d.fits.gz", fits_bytes),
        "bzip2 named .fits": (f"{stem}_i2d.fits", bz2.compress(fits_bytes)),
        "xz named .fits.bz2": (f"{stem}_i2d.fits.bz2", lzma.compress(fits_bytes)),
    }
    out = {}
    for label, (name, data) in files.items():
        (folder / label.replace(" ", "_")).mkdir()
        out[label] = folder / label.replace(" ", "_") / name
        out[label].write_bytes(data)
    plain = folder / "plain.fits"
    plain.write_bytes(fits_bytes)
    for label, name in (
        ("fpack named .fits.fz", "_i2d.fits.fz"),
        ("fpack named .fits", "_i2d.fits"),
    ):
        (folder / label.replace(" ", "_")).mkdir()
        out[label] = folder / label.replace(" ", "_") / f"{stem}{name}"
        _fpack(plain, out[label])
    with fits.open(out["fpack named .fits"]) as hdul:  # the case the size check must read right
        assert isinstance(hdul[-1], fits.CompImageHDU)
        assert hdul[-1]._data_offset + hdul[-1].size > out["fpack named .fits"].stat().st_size
    return out


@pytest.mark.parametrize(
    "label",
    ["plain named .fits.gz", "bzip2 named .fits", "xz named .fits.bz2", "fpack named .fits.fz",
     "fpack named .fits"],
)  # fmt: skip
def test_every_encoding_astropy_reads_is_ingested(catalog_url, encoded, label):
    path = encoded[label]
    report = ingest_paths([str(path)], db_url=catalog_url, workers=1, progress=False)
    assert report.skipped == [] and report.ingested == [str(path.resolve())], report.summary()
    _check_against_astropy(catalog_url, path)


def test_skip_reasons_are_the_true_ones(catalog_url, real_dir, tmp_path):
    compressed = (real_dir / MIRI_1288[0]).read_bytes()
    stream = gzip.decompress(compressed)
    cut_stream = tmp_path / "cut_stream" / "jw01288015001_04101_00001_mirimage_i2d.fits"
    cut_fits = tmp_path / "cut_fits" / "jw01288015001_04101_00001_mirimage_i2d.fits"
    cut_stream.parent.mkdir()
    cut_fits.parent.mkdir()
    cut_stream.write_bytes(compressed[: len(compressed) // 2])  # the gzip stream is cut
    half = stream[: len(stream) // 2]  # a complete gzip stream of half a FITS file
    cut_fits.write_bytes(gzip.compress(half))
    with pytest.raises(EOFError):
        gzip.decompress(cut_stream.read_bytes())
    report = ingest_paths(
        [str(cut_stream), str(cut_fits)], db_url=catalog_url, workers=1, progress=False
    )
    reasons = dict(report.skipped)
    assert reasons[str(cut_stream)].startswith("corrupt or truncated gzip stream")
    with fits.open(real_dir / MIRI_1288[0]) as hdul:  # the first HDU the half stream cuts
        index = next(i for i, h in enumerate(hdul) if h._data_offset + h.size > len(half))
        needs = hdul[index]._data_offset + hdul[index].size
        name = hdul[index].name
    assert reasons[str(cut_fits)] == (
        f"truncated: HDU {index} ({name}) needs {needs} bytes, "
        f"its gzip stream decompresses to {len(half)}"
    )
    assert not report.ingested
