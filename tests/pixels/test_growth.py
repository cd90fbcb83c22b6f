"""A store that grows: append, compact, delete and replace keep every search equal
to brute-force numpy; a search planned before a compaction reads the retired
files and finishes right; ``verify(deep=True)`` (``webbarchive pixels verify``)
is clean after all of it and reports each injected drift. Both backends."""

from __future__ import annotations

import threading

import numpy as np
import pyarrow.parquet as pq
import pytest
from sqlalchemy import delete, insert, select, update

import webbarchive.pixels.index as index_module
import webbarchive.pixels.store as store_module
from tests.pixels import synthetic
from tests.pixels.synthetic import PAST_MJD, brute_force
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import ANONYMOUS
from webbarchive.catalog.schema import products
from webbarchive.cli import main as cli_main
from webbarchive.pixels.index import compact_store, purge_retired
from webbarchive.pixels.index import update as update_pixels
from webbarchive.pixels.query import count, parse, pixel_first_page, prepare, search, snapshot
from webbarchive.pixels.store import PixelStore, pixels_root
from webbarchive.pixels.tables import pixel_retired, pixel_segments, spectral_characteristics
from webbarchive.pixels.verify import verify

OPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "<>": "ne"}
QUERIES = [
    "wavelength=1.2,1.3&flux.gte=10",
    "wavelength=0.5,6&instrument=NIRSPEC",
    "flux.gte=5&derSnr.gt=2",
    "wavelength=3,15",
    "productType=s2d&flux.gte=1",
    "productType=s3d&wavelength=5.01,5.05",
]


def _parse(text: str):
    return parse([tuple(kv.split("=", 1)) for kv in text.split("&")])


def _truth(items, text: str) -> list[tuple]:
    q = _parse(text)
    predicates = [(p.column, OPS[p.op], p.value) for p in q.predicates]

    def keep(item) -> bool:
        return all(
            str(getattr(item, name)).upper() in {v.upper() for v in values}
            for name, values in q.filters.items()
        )

    return brute_force(
        items,
        predicates,
        product_type=q.product_type,
        visible=lambda item: item.release_mjd <= PAST_MJD,
        keep=keep,
    )


def _rows(results: list[dict]) -> list[tuple]:
    rows = [
        (r["fileName"], r["x"], r.get("y"), r.get("z"), r["wavelength"], r["flux"]) for r in results
    ]
    return sorted(rows, key=lambda t: (t[0], t[1], t[2] or 0, t[3] or 0))


def _assert_searches_equal_truth(engine, items) -> None:
    for text in QUERIES:
        found = search(engine, _parse(text), ANONYMOUS, 100_000, 0)
        truth = _truth(items, text)
        assert found.total == len(truth), text
        assert _rows(found.results) == truth, text


def _listed(engine) -> set[str]:
    with engine.connect() as conn:
        return set(conn.execute(select(pixel_segments.c.segment)).scalars())


@pytest.fixture
def small_segments(monkeypatch):
    """Segments of a few thousand pixels, and no automatic merge during updates
    (the partitions' small segments never reach the threshold), so appends
    leave several segments per partition for ``compact`` to merge."""
    monkeypatch.setattr(store_module, "SEGMENT_ROWS", 3_000)
    # a writer budget of about 3,000 1-D pixels (32 bytes each): the fullest
    # partition is written whenever the buffers hold that much, so modes mixed in
    # one ingest leave several small segments per partition
    monkeypatch.setattr(store_module, "BUFFER_BYTES", 3_000 * 32)
    monkeypatch.setattr(index_module, "MAX_SMALL_SEGMENTS", 10_000)


@pytest.fixture
def grown(catalog_url, tmp_path, small_segments, monkeypatch):
    """A catalog indexed in two ingests: half the products, then the rest, in
    segments of a few thousand pixels; compaction then merges up to 10^6."""
    engine = open_catalog(catalog_url)
    items = synthetic.make_products(tmp_path, seed=5, n_x1d=12)
    first, second = items[::2], items[1::2]
    synthetic.catalog(engine, first)
    update_pixels(engine, progress=False)
    _assert_searches_equal_truth(engine, first)
    before = _listed(engine)
    synthetic.catalog(engine, second)
    summary = update_pixels(engine, progress=False)
    assert summary.added == len(second)
    # appending wrote new segments beside the old ones, rewriting none
    assert before < _listed(engine)
    monkeypatch.setattr(store_module, "SEGMENT_ROWS", 1_000_000)
    return engine, items


def test_append_compact_delete_replace_equal_brute_force(grown):
    engine, items = grown
    _assert_searches_equal_truth(engine, items)
    assert verify(engine, deep=True).consistent

    listed = _listed(engine)
    summary = compact_store(engine)
    assert summary.merged >= 2 and summary.segments < len(listed)
    _assert_searches_equal_truth(engine, items)
    # the merged segments' files wait out their grace period, then go
    retired = listed - _listed(engine)
    root = pixels_root(engine)
    assert retired and all((root / s).exists() for s in retired)
    assert verify(engine, deep=True).consistent  # retired files are not orphans
    assert set(purge_retired(engine, PixelStore(root), grace_s=0)) == retired
    assert not any((root / s).exists() for s in retired)

    gone = next(i for i in items if i.suffix == "x1d" and i.release_mjd <= PAST_MJD)
    with engine.begin() as conn:
        conn.execute(delete(products).where(products.c.product_id == gone.product_id))
    items = [i for i in items if i is not gone]
    assert update_pixels(engine, progress=False).dropped == 1
    _assert_searches_equal_truth(engine, items)
    for segment in _listed(engine):
        ids = pq.read_table(root / segment, columns=["product_id"]).column("product_id")
        assert gone.product_id not in ids.to_pylist()

    changed = next(i for i in items if i.suffix == "x1d" and i.release_mjd <= PAST_MJD)
    synthetic.rewrite(engine, changed, changed.flux * 3.0 + 7.0)
    assert update_pixels(engine, progress=False).replaced == 1
    _assert_searches_equal_truth(engine, items)
    report = verify(engine, deep=True)
    assert report.consistent, report.summary()
    assert report.checksummed == report.segments and not report.unchecked


def test_search_planned_before_compaction_finishes(grown):
    """The plan (catalog snapshot, segment list) is taken, compaction swaps the
    list and retires the files; the old plan still reads them and answers right."""
    engine, items = grown
    q = _parse("wavelength=0.5,6&instrument=NIRSPEC")
    truth = _truth(items, "wavelength=0.5,6&instrument=NIRSPEC")
    snap = snapshot(engine, q)
    prepared = prepare(engine, q, ANONYMOUS, snap)
    first_before, _sql = pixel_first_page(engine, q, ANONYMOUS, 50, 0, snap)
    assert compact_store(engine).merged >= 2
    assert set(prepared.files) - _listed(engine)  # the plan reads retired segments
    assert count(engine, q, ANONYMOUS, snap) == len(truth)
    assert _rows(prepared.page(100_000, 0)) == truth
    first_after, _sql = pixel_first_page(engine, q, ANONYMOUS, 50, 0, snap)
    assert first_after == first_before and len(first_after) == 50
    # a new search plans on the new list and answers the same
    assert _rows(search(engine, q, ANONYMOUS, 100_000, 0).results) == truth


def test_searches_during_compaction_all_answer_right(grown):
    """Readers in a loop while compaction and the purge run in another thread."""
    engine, items = grown
    text = "flux.gte=5&derSnr.gt=2"
    truth = _truth(items, text)
    errors: list = []
    done = threading.Event()

    def reader():
        while not done.is_set():
            try:
                found = search(engine, _parse(text), ANONYMOUS, 100_000, 0)
                assert found.total == len(truth) and _rows(found.results) == truth
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    try:
        compact_store(engine, grace_s=0)
    finally:
        done.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]


def test_verify_reports_injected_drift(grown):
    engine, items = grown
    root = pixels_root(engine)
    assert verify(engine, deep=True).consistent

    # a product row whose pixels are not in the store
    with engine.begin() as conn:
        obsid = conn.execute(
            select(products.c.obsid).where(products.c.product_id == items[0].product_id)
        ).scalar_one()
        conn.execute(
            insert(products).values(
                obsid=obsid,
                filename="jw09999-o001_t001_nirspec_prism_x1d.fits",
                path=str(root / "nowhere.fits"),
                suffix="x1d",
                instrument="NIRSPEC",
                proposal_id="1001",
                size=1,
                checksum="0" * 32,
            )
        )
    report = verify(engine, deep=True)
    assert not report.consistent and len(report.unindexed) == 1
    assert verify(engine).consistent  # the shallow check counts it as pending only
    with engine.begin() as conn:
        conn.execute(delete(products).where(products.c.path == str(root / "nowhere.fits")))
    assert verify(engine, deep=True).consistent

    # two spectra of one segment swap their pixel counts: the segment's total holds
    with engine.connect() as conn:
        segment, a, b = next(
            (s, rows[0], rows[1])
            for s in sorted(_listed(engine))
            if len(
                rows := conn.execute(
                    select(spectral_characteristics.c.product_id, spectral_characteristics.c.npix)
                    .where(spectral_characteristics.c.segment == s)
                    .order_by(spectral_characteristics.c.product_id)
                ).all()
            )
            >= 2
            and rows[0].npix != rows[1].npix
        )
    with engine.begin() as conn:
        for pid, npix in ((a.product_id, b.npix), (b.product_id, a.npix)):
            conn.execute(
                update(spectral_characteristics)
                .where(spectral_characteristics.c.product_id == pid)
                .values(npix=npix)
            )
    assert verify(engine).consistent  # per-segment totals cannot see it
    report = verify(engine, deep=True)
    assert {p[0] for p in report.products_drifted} == {a.product_id, b.product_id}
    with engine.begin() as conn:
        for row in (a, b):
            conn.execute(
                update(spectral_characteristics)
                .where(spectral_characteristics.c.product_id == row.product_id)
                .values(npix=row.npix)
            )

    # bytes altered inside a data page: readable, same row count, other checksum
    path = root / segment
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    report = verify(engine, deep=True)
    assert [name for name, _ in report.drifted] == [segment]
    assert "SHA-256" in report.drifted[0][1]

    # a deleted segment
    other = sorted(_listed(engine) - {segment})[0]
    (root / other).unlink()
    report = verify(engine, deep=True)
    assert report.missing == [other] and not report.consistent
    # the repair marks their spectra; the next update extracts them again
    verify(engine, repair=True, deep=True)
    update_pixels(engine, progress=False)
    report = verify(engine, deep=True)
    assert report.consistent, report.summary()
    _assert_searches_equal_truth(engine, items)


def test_cli_pixels_verify_and_compact(grown, capsys):
    engine, _items = grown
    url = str(engine.url.render_as_string(hide_password=False))
    if url.startswith("sqlite:///"):
        url = url.removeprefix("sqlite:///")
    assert cli_main(["pixels", "verify", "--db", url]) == 0
    assert "checksums match" in capsys.readouterr().out
    assert cli_main(["pixels", "compact", "--db", url, "--grace", "0"]) == 0
    out = capsys.readouterr().out
    assert "small segments merged" in out
    with engine.connect() as conn:
        assert not conn.execute(select(pixel_retired)).all()
    (pixels_root(engine) / sorted(_listed(engine))[0]).unlink()
    assert cli_main(["pixels", "verify", "--db", url]) == 1
    assert "missing" in capsys.readouterr().out


# --- every spectrum searchable: a cone prunes inside a cube ---------------------------


@pytest.mark.parametrize("radius_arcsec", [0.3, 0.8, 1.3, 60.0])
def test_cone_prunes_spaxels_inside_a_cube(catalog_url, tmp_path, radius_arcsec):
    """``productType=s3d&ra=..&dec=..&radius=..`` keeps the spaxels within the
    radius (astropy's WCS and separation as the truth), pages and totals alike,
    in this process and through DuckDB's plans."""
    from astropy.coordinates import SkyCoord

    engine = open_catalog(catalog_url)
    items = synthetic.make_products(tmp_path, seed=5, n_x1d=4)
    synthetic.catalog(engine, items)
    update_pixels(engine, progress=False)
    cube = next(i for i in items if i.suffix == "s3d")
    # the centre between spaxels, so that radii cut through the cube
    centre = cube.sky()[1 * 4 + 1]  # any spaxel's position; offset by 0.2"
    centre = SkyCoord(centre.ra.deg + 0.2 / 3600, centre.dec.deg, unit="deg")
    radius = radius_arcsec / 3600
    for extra in ("", "&wavelength=5.05,5.2&flux.gte=3"):
        text = (
            f"productType=s3d&ra={float(centre.ra.deg)!r}&dec={float(centre.dec.deg)!r}"
            f"&radius={radius!r}{extra}"
        )
        q = _parse(text)
        inside = cube.sky().separation(centre).deg <= radius
        columns = {"wavelength": cube.wavelength, "flux": cube.flux}
        for p in q.predicates:
            if p.column in columns:
                inside &= p.holds(columns[p.column])
        truth = sorted(
            (cube.filename, int(cube.x[k]), int(cube.y[k]), int(cube.z[k]))
            for k in np.flatnonzero(inside)
        )
        found = search(engine, q, ANONYMOUS, 100_000, 0)
        got = sorted((r["fileName"], r["x"], r["y"], r["z"]) for r in found.results)
        assert found.total == len(truth) and got == truth, text
        if radius_arcsec < 1 and not extra:
            assert 0 < len({t[1:3] for t in truth}) < 12  # some spaxels, not all
        # DuckDB's count and deep page evaluate the same cone
        prepared = prepare(engine, q, ANONYMOUS)
        assert prepared.total() == len(truth)
        rows = prepared.scan.deep_rows(prepared, 100_000, 0)
        assert sorted((cube.filename, *r[1:4]) for r in rows) == truth


def test_reextract_rewrites_only_the_types_asked(grown, catalog_url, capsys):
    """``webbarchive pixels reextract`` (after an extractor change): the s2d spectra
    are extracted again into new segments; the other spectra keep theirs; searches
    still equal brute force and the store verifies clean."""
    engine, items = grown

    def segment_of() -> dict[int, tuple[str, str]]:
        with engine.connect() as conn:
            chars = spectral_characteristics.c
            return {
                pid: (kind, segment)
                for pid, kind, segment in conn.execute(
                    select(chars.product_id, chars.productType, chars.segment)
                )
            }

    before = segment_of()
    listed_before = _listed(engine)
    n_s2d = sum(1 for kind, _ in before.values() if kind == "s2d")
    assert n_s2d and any(kind != "s2d" for kind, _ in before.values())
    assert cli_main(["pixels", "reextract", "--db", catalog_url]) == 0
    assert f"{n_s2d} replaced" in capsys.readouterr().out
    after = segment_of()
    assert after.keys() == before.keys()
    for pid, (kind, segment) in after.items():
        if kind == "s2d":
            assert segment not in listed_before, pid  # written anew
        else:
            assert segment == before[pid][1], pid  # untouched
    _assert_searches_equal_truth(engine, items)
    report = verify(engine, deep=True)
    assert report.consistent, report.summary()
