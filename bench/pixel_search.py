"""Pixel search at archive scale: our store against a B-tree pixel table, same run.

    .venv/bin/python -m bench.pixel_search [--pixels 1e8] [--workdir DIR]

Builds a catalog (SQLite) of ~60,000 x1d spectra per 10^8 pixels on the
spectral modes of NIRSpec and MIRI (``webbarchive.mock.spectra``), writes their
pixels to the pixel store (measuring the ingest rate), loads the same pixels
into a plain table with a B-tree index on wavelength in the same database (the
baseline), then times the seed query and narrower and wider ones: p50/p95 of
the first page of 1,000 results and of the total count, on both, with ratios.

``--dask N`` also times the same queries on a Dask LocalCluster of N one-thread
worker processes (:mod:`webbarchive.pixels.distributed`) against the single
process, in the same run (rows ``[... dask N]``: "base" is the single process,
the ratio below 1 when the cluster is slower); both answers are checked equal.

Both sides answer the same question: pixels of x1d products the (anonymous)
user may read, joined to derSnr and file name. Fluxes are drawn at levels where
the seed's ``flux >= 10`` selects a fraction of the pixels, as at MAST.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import time
from pathlib import Path

import numpy as np
from sqlalchemy import delete, func, insert, select

from bench.common import Timing, measure, report
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import ANONYMOUS, now_mjd
from webbarchive.catalog.schema import observations, products, programs
from webbarchive.pixels.extract import from_arrays
from webbarchive.pixels.index import compact, record_segment
from webbarchive.pixels.query import count, page, parse, prepare
from webbarchive.pixels.store import PixelStore, SegmentWriter, mode_name, pixels_root
from webbarchive.pixels.tables import pixel_segments, spectral_characteristics

QUERIES = [
    ("seed 1.2-1.3um flux>=10 derSnr>5", "wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5"),
    ("narrow 1.25-1.251um flux>=10 derSnr>5", "wavelength=1.25,1.251&flux.gte=10&derSnr.gt=5"),
    (
        "seed + instrument=NIRSPEC grating=G140H",
        "wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5&instrument=NIRSPEC&grating=G140H",
    ),
    ("MIRI 10-12um flux>=10", "wavelength=10,12&flux.gte=10"),
    ("wide 2-5um flux>=10 derSnr>5", "wavelength=2,5&flux.gte=10&derSnr.gt=5"),
    ("everywhere flux>=100", "flux.gte=100"),
    # no flux predicate: the catalog's zone maps decide (whole spectra counted unread)
    ("NIRSpec 0.5-6um all pixels", "wavelength=0.5,6&instrument=NIRSPEC"),
    ("1-2um derSnr>5 (straddlers)", "wavelength=1,2&derSnr.gt=5"),
]


def _modes():
    try:
        from webbarchive.mock.spectra import MODES, synthesize

        return MODES, synthesize
    except ImportError:  # the mock package not there yet: linear grids of the same modes
        return None, None


def spectra(rng: np.random.Generator, n_pixels: int):
    """Yield (mode name, instrument, grating, filter, wavelength, flux, error, dq)."""
    modes, synthesize = _modes()
    if modes is None:
        grid = {
            "nirspec_prism_clear": ("NIRSPEC", "PRISM", "CLEAR", 0.6, 5.3, 431),
            "nirspec_g140h_f100lp": ("NIRSPEC", "G140H", "F100LP", 0.97, 1.89, 3400),
            "nirspec_g235m_f170lp": ("NIRSPEC", "G235M", "F170LP", 1.66, 3.17, 1300),
            "nirspec_g395m_f290lp": ("NIRSPEC", "G395M", "F290LP", 2.87, 5.27, 1215),
            "miri_lrs_p750l": ("MIRI", None, "P750L", 5.0, 14.0, 388),
            "miri_mrs_ch2-long": ("MIRI", None, None, 10.02, 11.7, 1293),
        }
    names = sorted(modes) if modes else sorted(grid)
    done = 0
    while done < n_pixels:
        name = names[rng.integers(len(names))]
        level = float(10 ** rng.normal(0.5, 0.8))  # median ~3, so flux >= 10 cuts
        if modes:
            mode = modes[name]
            s = synthesize(rng, mode, continuum_jy=level)
            item = (
                name,
                mode.instrument,
                mode.grating,
                mode.filter,
                s.wavelength,
                s.flux,
                s.flux_error,
                s.dq,
            )
        else:
            inst, grating, filt, lo, hi, n = grid[name]
            wave = np.linspace(lo, hi, n)
            err = np.full(n, level / rng.uniform(2, 40))
            item = (
                name,
                inst,
                grating,
                filt,
                wave,
                level + rng.normal(0, 1, n) * err,
                err,
                np.zeros(n, np.int32),
            )
        done += item[4].size
        yield item


#: Spectra are synthesized, catalogued and written this many pixels at a time, so a
#: 10^9-pixel build holds one chunk (plus the writer's buffers) in memory, not all.
CHUNK_PIXELS = 10_000_000


def build(
    workdir: Path,
    n_pixels: int,
    seed: int = 1,
    store_only: bool = False,
    baseline: bool = True,
    buffer_bytes: int | None = None,
) -> tuple[str, dict]:
    """Catalog, pixel store and baseline table in ``workdir``; with ``store_only``,
    keep the catalog and the baseline of an earlier run (same seed) and write the
    pixel store again (for a change of store layout: the B-tree takes minutes);
    without ``baseline`` no B-tree table (at 10^9 pixels it would take hours).

    Spectra are made and written :data:`CHUNK_PIXELS` at a time; ``ingest_s``
    times only the pixel ingest (characteristics, sort, Parquet, segment rows,
    compaction), not the synthesis nor the catalog rows; ``close_s`` is the part of
    it spent after the last chunk (leftover buffers and compaction). ``buffer_bytes``:
    the writer's memory budget (default ``store.BUFFER_BYTES``; about 256 MB, 8
    million 1-D pixels, is the behaviour before the budget: every partition written a
    fraction of a segment at a time, then merged)."""
    url = str(workdir / "catalog.db")
    if store_only:
        engine = open_catalog(url)
        with engine.begin() as conn:
            conn.execute(delete(spectral_characteristics))
            conn.execute(delete(pixel_segments))
        shutil.rmtree(pixels_root(engine), ignore_errors=True)
    else:
        if workdir.exists():
            shutil.rmtree(workdir)
        workdir.mkdir(parents=True)
        engine = open_catalog(url)
    rng = np.random.default_rng(seed)
    release = now_mjd()
    store = PixelStore(pixels_root(engine))
    checksums: dict[int, str] = {}
    writer = SegmentWriter(
        store,
        lambda info, pids, sp: record_segment(engine, info, pids, sp, checksums),
        buffer_bytes=buffer_bytes,
    )
    synth_s = ingest_s = 0.0
    # CPU seconds of this process too: on a shared machine the wall clock measures
    # the other processes as much as the ingest
    synth_cpu = ingest_cpu = 0.0
    n = total = 0
    generator = spectra(rng, n_pixels)
    started = time.perf_counter()
    while True:
        t0, c0 = time.perf_counter(), time.process_time()
        chunk, size = [], 0
        for item in generator:
            chunk.append(item)
            size += item[4].size
            if size >= CHUNK_PIXELS:
                break
        synth_s += time.perf_counter() - t0
        synth_cpu += time.process_time() - c0
        if not chunk:
            break
        if not store_only:  # else the catalog rows are those of the earlier run
            with engine.begin() as conn:
                _catalog_rows(conn, chunk, release, first=n)
        checksums.update({n + i + 1: f"{n + i:032x}" for i in range(len(chunk))})
        t0, c0 = time.perf_counter(), time.process_time()
        total += _write_chunk(writer, chunk, first=n)
        ingest_s += time.perf_counter() - t0
        ingest_cpu += time.process_time() - c0
        n += len(chunk)
        elapsed = time.perf_counter() - started
        print(
            f"  built {total:,} pixels ({n:,} spectra) in {elapsed:.0f} s; ingest "
            f"{total / ingest_s / 1e6:.2f} M pixels/s",
            flush=True,
        )
    t0, c0 = time.perf_counter(), time.process_time()
    writer.close()
    with engine.connect() as conn:
        written = conn.execute(select(func.count()).select_from(pixel_segments)).scalar_one()
    merged = compact(engine, store)
    close_s = time.perf_counter() - t0
    ingest_s += close_s
    ingest_cpu += time.process_time() - c0
    with engine.connect() as conn:
        listed = conn.execute(select(pixel_segments.c.segment)).scalars().all()
    facts = {
        "buffer_bytes": writer.buffer_bytes,
        "segments_written": written,
        "segments_merged": merged,
        "close_s": close_s,
        "spectra": n,
        "pixels": total,
        "synthesis_s": synth_s,
        "ingest_s": ingest_s,
        "synthesis_cpu_s": synth_cpu,
        "ingest_cpu_s": ingest_cpu,
        "build_s": time.perf_counter() - started,
        # listed segments (merged-away files stay on disk for a grace period)
        "store_bytes": sum(store.path(s).stat().st_size for s in listed),
        "segments": len(listed),
        "disk_bytes": sum(p.stat().st_size for p in store.root.rglob("*.parquet")),
    }
    if store_only or not baseline:
        return url, facts
    return _baseline(engine, url, facts)


def _catalog_rows(conn, generated, release, first: int = 0) -> None:
    """Programs, observations, products and grating/filter keywords of the spectra
    (product ids from ``first + 1`` on)."""
    if True:
        if not first:
            conn.execute(insert(programs), [{"proposal_id": str(1000 + k)} for k in range(200)])
        obs, prods, kws = [], [], []
        for i, (name, inst, grating, filt, *_rest) in enumerate(generated, start=first):
            program = str(1000 + i % 200)
            # 5% still in their exclusive access period
            mjd = release + 300 if i % 20 == 0 else release - 300
            obs.append(
                {
                    "obsid": i + 1,
                    "obs_id": f"jw0{program}-o{i:06d}_t001_{name}",
                    "proposal_id": program,
                    "t_obs_release": mjd,
                    "target_name": f"T{i % 997}",
                }
            )
            prods.append(
                {
                    "product_id": i + 1,
                    "obsid": i + 1,
                    "filename": f"jw0{program}-o{i:06d}_t001_{name}_x1d.fits",
                    "path": f"/bench/{i}",
                    "suffix": "x1d",
                    "instrument": inst,
                    "proposal_id": program,
                    "publicReleaseDate_mjd": mjd,
                    "size": 1,
                    "checksum": f"{i:032x}",
                }
            )
            for key, value in (("grating", grating), ("filter", filt)):
                if value:
                    kws.append({"product_id": i + 1, "name": key, "value": f'"{value}"'})
        conn.execute(insert(observations), obs)
        conn.execute(insert(products), prods)
        from webbarchive.catalog.schema import keywords

        conn.execute(insert(keywords), kws)


def _write_chunk(writer: SegmentWriter, generated, first: int = 0) -> int:
    """Pixel ingest of a chunk: arrays -> characteristics (DER_SNR ...) -> the
    writer's per-mode buffers (sorted Parquet segments when they fill)."""
    total = 0
    for i, (name, _inst, _g, _f, wave, flux, err, dq) in enumerate(generated, start=first):
        pixels = from_arrays(wave, flux, err, dq)
        writer.add("x1d", i + 1, pixels, mode_name(*name.split("_")))
        total += pixels.npix
    return total


def _baseline(engine, url, facts: dict) -> tuple[str, dict]:
    """The same pixels in a plain table, B-tree on wavelength, same database."""
    n, total, ingest_s = facts["spectra"], facts["pixels"], facts["ingest_s"]
    t0 = time.perf_counter()
    print(
        f"{n:,} spectra, {total:,} pixels written to the store in {ingest_s:.1f} s "
        f"({total / ingest_s / 1e6:.2f} M pixels/s); loading the baseline table ...",
        flush=True,
    )
    engine.dispose()
    db = sqlite3.connect(url)
    db.execute("PRAGMA synchronous=OFF")
    db.execute(
        "CREATE TABLE pixel_btree (product_id INTEGER, x INTEGER, y INTEGER, "
        "wavelength REAL, flux REAL, flux_error REAL)"
    )
    import pyarrow.parquet as pq

    for segment in sorted(p for p in pixels_root(engine).rglob("*.parquet")):
        for batch in pq.ParquetFile(segment).iter_batches(
            batch_size=500_000, columns=["product_id", "x", "y", "wavelength", "flux", "flux_error"]
        ):
            cols = [batch.column(k).to_pylist() for k in range(6)]
            db.executemany("INSERT INTO pixel_btree VALUES (?,?,?,?,?,?)", zip(*cols, strict=True))
    db.commit()
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    db.execute("CREATE INDEX ix_pixel_btree_wavelength ON pixel_btree (wavelength)")
    db.execute("ANALYZE")
    db.commit()
    db.close()
    index_s = time.perf_counter() - t0
    return url, {**facts, "baseline_load_s": load_s, "baseline_index_s": index_s}


def baseline_sql(query: str, count: bool) -> tuple[str, list]:
    """The same search on the B-tree table, written as MAST's SQL (join for derSnr)."""
    parsed = parse([tuple(kv.split("=", 1)) for kv in query.split("&")])
    columns = {
        "wavelength": "s.wavelength",
        "flux": "s.flux",
        "fluxErr": "s.flux_error",
        "derSnr": 'c."derSnr"',
    }
    where = [f"{columns[p.column]} {p.op} ?" for p in parsed.predicates]
    values: list = [p.value for p in parsed.predicates]
    where.append(
        'coalesce((SELECT release_override_mjd FROM programs g WHERE g.proposal_id = p.proposal_id), p."publicReleaseDate_mjd", 1e9) <= ?'
    )
    values.append(now_mjd())
    for name, vals in parsed.filters.items():
        if name == "instrument":
            where.append("upper(p.instrument) = ?")
            values.append(vals[0].upper())
        else:
            where.append(
                "p.product_id IN (SELECT product_id FROM keywords WHERE name = ? AND upper(value) = ?)"
            )
            values += [name, f'"{vals[0].upper()}"']
    head = (
        "SELECT count(*)"
        if count
        else 'SELECT p.filename, s.x, s.y, s.wavelength, s.flux, c."derSnr"'
    )
    sql = (
        f"{head} FROM pixel_btree s JOIN spectral_characteristics c ON c.product_id = s.product_id "
        f"JOIN products p ON p.product_id = s.product_id WHERE {' AND '.join(where)}"
    )
    return (sql if count else sql + " LIMIT 1000"), values


def duckdb_counts(paths: list[str], predicates) -> tuple[np.ndarray, np.ndarray]:
    """The count's competitor: DuckDB's parallel scan of whole segments,
    ``count(*) GROUP BY product_id`` (the wide-count path before the batches)."""
    from webbarchive.pixels.query import _duckdb, _pixel_where
    from webbarchive.pixels.segment_files import duckdb_source

    source, tables = duckdb_source(paths)
    where, values = _pixel_where(predicates)
    cursor = _duckdb("count")
    try:
        for name, table in tables.items():
            cursor.register(name, table)
        grouped = cursor.execute(
            f"SELECT product_id, count(*) AS n FROM {source} WHERE {where} GROUP BY product_id",
            values,
        ).fetchnumpy()
    finally:
        cursor.close()
    return np.asarray(grouped["product_id"], np.int64), np.asarray(grouped["n"], np.int64)


def compare_count_scanners(engine, parsed, repeat: int) -> tuple[Timing, Timing] | None:
    """The pixel scan of a count (the segments the catalog planned, derSnr left
    to the catalog), decoded in batches of row groups and counted by numpy
    (ours) against DuckDB's grouped scan, same run; both answers checked equal.
    None when the catalog decides the count without a flux read."""
    from webbarchive.pixels.query import _candidate_segments, snapshot
    from webbarchive.pixels.scan import matching_counts, plan
    from webbarchive.pixels.store import segment_paths

    scanned = [p for p in parsed.predicates if p.column != "derSnr"]
    if not any(p.column not in ("wavelength", "derSnr") for p in scanned):
        return None
    spectra = snapshot(engine, parsed).spectra
    everyone = np.ones(spectra.size, bool)
    paths = segment_paths(engine, _candidate_segments(spectra, parsed, everyone))
    planned = plan(paths, scanned)
    ours = matching_counts(planned, scanned)
    ids, n = duckdb_counts([path for path, _ in planned], scanned)
    order = np.argsort(ids)
    assert np.array_equal(ours[0], ids[order]) and np.array_equal(ours[1], n[order])
    return (
        measure("batches", lambda: matching_counts(plan(paths, scanned), scanned), repeat, 1),
        measure(
            "duckdb",
            lambda: duckdb_counts([path for path, _ in plan(paths, scanned)], scanned),
            repeat,
            1,
        ),
    )


def measure_rates(engine, client=None, repeat: int = 5) -> dict:
    """The scaling model's inputs (:mod:`bench.pixel_scaling`), measured on this store:

    - ``segment_scan_pixels_per_s``: the count's batch reader
      (:func:`~webbarchive.pixels.scan.matching_counts`, every core) counting
      ``flux >= 100`` over whole segments, pixels per second per core;
      ``duckdb_scan_pixels_per_s``: one DuckDB thread doing the same (the
      wide-count path before the batches), for comparison;
    - ``group_read_s``: core-seconds per row group of the seed query's planned
      groups, counted by the batch reader (the count path of a window);
      ``group_read_one_by_one_s``: seconds per group read one by one (the
      narrow-count and first-page path);
    - ``seed_groups``, ``row_groups``, ``segments``: the seed query's planned row
      groups and the store's totals (both grow with the archive);
    - ``catalog_plan_s`` and ``spectra``: the server's per-search catalog work
      (rights and zone-map masks over every spectrum), which grows with spectra;
    - ``dask_roundtrip_s`` and ``dask_task_s``: a no-op task's round trip, and the
      marginal cost of one more task in a batch of 64, on ``client``'s cluster.
    """
    import statistics

    import duckdb
    import pyarrow.parquet as pq

    from webbarchive.pixels.query import _candidate_segments, candidate_total, snapshot
    from webbarchive.pixels.scan import matching_counts, matching_ids, plan
    from webbarchive.pixels.store import segment_paths
    from webbarchive.pixels.syntax import Predicate

    def p50(fn, n=repeat) -> float:
        fn()
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - t0)
        return statistics.median(samples)

    rates: dict = {}
    root = pixels_root(engine)
    paths = sorted(str(p) for p in root.rglob("*.parquet"))
    rates["segments"] = len(paths)
    rates["row_groups"] = sum(pq.read_metadata(p).num_row_groups for p in paths)
    rates["pixels"] = sum(pq.read_metadata(p).num_rows for p in paths)
    con = duckdb.connect()
    con.execute("SET threads = 1")
    sample = paths[:: max(1, len(paths) // 4)][:4]
    rows = sum(pq.read_metadata(p).num_rows for p in sample)
    sql = (
        "SELECT product_id, count(*) FROM read_parquet(["
        + ", ".join(f"'{p}'" for p in sample)
        + "]) WHERE flux >= 100 GROUP BY product_id"
    )
    rates["duckdb_scan_pixels_per_s"] = rows / p50(lambda: con.execute(sql).fetchall(), 3)
    cores = os.cpu_count() or 1
    everything = [Predicate("flux", ">=", 100.0)]
    whole = plan(sample, everything)
    rates["segment_scan_pixels_per_s"] = (
        rows / p50(lambda: matching_counts(whole, everything), 3) / cores
    )
    seed = parse([tuple(kv.split("=", 1)) for kv in QUERIES[0][1].split("&")])
    snap = snapshot(engine, seed)
    spectra = snap.spectra
    scanned = [p for p in seed.predicates if p.column != "derSnr"]  # the catalog decides it
    planned = plan(
        segment_paths(engine, _candidate_segments(spectra, seed, np.ones(spectra.size, bool))),
        scanned,
    )
    groups = sum(g.size for _, g in planned)
    rates["seed_groups"] = groups
    rates["group_read_s"] = p50(lambda: matching_counts(planned, scanned)) * cores / max(groups, 1)
    rates["group_read_one_by_one_s"] = p50(lambda: matching_ids(planned, scanned)) / max(groups, 1)
    rates["spectra"] = spectra.size
    ids = spectra.product_id.copy()
    counts = np.ones(ids.size, np.int64)
    everyone = np.ones(spectra.size, bool)
    rates["merge_s_per_spectrum"] = p50(
        lambda: candidate_total(ids, counts, spectra, everyone), 5
    ) / max(ids.size, 1)
    rates["catalog_plan_s"] = p50(
        lambda: spectra.allowed(seed, ANONYMOUS) & spectra.may_match(seed.predicates), 10
    )
    if client is not None:
        rates["dask_roundtrip_s"] = p50(lambda: client.submit(int, 1, pure=False).result(), 20)
        batch = 64
        many = p50(
            lambda: client.gather([client.submit(int, k, pure=False) for k in range(batch)]), 5
        )
        rates["dask_task_s"] = max(many - rates["dask_roundtrip_s"], 0.0) / (batch - 1)
    return rates


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pixels", type=float, default=1e8)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/webbarchive-bench-pixels"))
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--count-repeat", type=int, default=None, help="default: --repeat")
    parser.add_argument("--baseline-repeat", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="reuse a catalog built before")
    parser.add_argument(
        "--only", help="run only the queries whose label contains one of these (comma-separated)"
    )
    parser.add_argument(
        "--dask",
        type=int,
        default=0,
        metavar="N",
        help="also time the queries on a Dask LocalCluster of N workers (processes)",
    )
    parser.add_argument(
        "--dask-all",
        action="store_true",
        help="send every read to the cluster (no small read kept in the server)",
    )
    parser.add_argument(
        "--rewrite-store",
        action="store_true",
        help="keep the catalog and baseline of an earlier run, write the pixel store again",
    )
    parser.add_argument(
        "--no-baseline", action="store_true", help="no B-tree table (hours at 10^9 pixels)"
    )
    parser.add_argument("--build-only", action="store_true", help="build, print the facts, stop")
    parser.add_argument(
        "--buffer-mb",
        type=float,
        default=None,
        help="the pixel writer's memory budget in MB (default store.BUFFER_BYTES; "
        "256 is the behaviour before the budget: small segments merged at the end)",
    )
    parser.add_argument("--json", type=Path, help="write the build facts and p50s here")
    parser.add_argument(
        "--rates", action="store_true", help="also measure the scaling model's inputs (--json)"
    )
    args = parser.parse_args(argv)
    count_repeat = args.count_repeat or args.repeat
    budget = int(args.buffer_mb * 1e6) if args.buffer_mb else None

    if args.reuse and (args.workdir / "catalog.db").exists():
        url, facts = str(args.workdir / "catalog.db"), {}
    elif args.rewrite_store:
        url, facts = build(args.workdir, int(args.pixels), store_only=True, buffer_bytes=budget)
        print(
            f"{facts['spectra']:,} spectra, {facts['pixels']:,} pixels rewritten; pixel ingest "
            f"{facts['ingest_s']:.1f} s = {facts['pixels'] / facts['ingest_s'] / 1e6:.2f} "
            "M pixels/s (target > 2)"
        )
    else:
        url, facts = build(
            args.workdir, int(args.pixels), baseline=not args.no_baseline, buffer_bytes=budget
        )
        text = (
            f"{facts['spectra']:,} spectra, {facts['pixels']:,} pixels in {facts['build_s']:.0f} s; "
            f"synthesis {facts['synthesis_s']:.1f} s = "
            f"{facts['pixels'] / facts['synthesis_s'] / 1e6:.2f} M pixels/s (not counted); "
            "pixel ingest "
            f"{facts['ingest_s']:.1f} s = {facts['pixels'] / facts['ingest_s'] / 1e6:.2f} "
            f"M pixels/s (target > 2); store {facts['store_bytes'] / 1e9:.2f} GB in "
            f"{facts['segments']} segments ({facts['segments_written']} written, "
            f"{facts['segments_merged']} merged); CPU seconds: synthesis "
            f"{facts['synthesis_cpu_s']:.1f}, ingest {facts['ingest_cpu_s']:.1f} = "
            f"{facts['pixels'] / facts['ingest_cpu_s'] / 1e6:.2f} M pixels per CPU-second ("
            f"after the last chunk {facts['close_s']:.1f} s; "
            f"writer budget {facts['buffer_bytes'] / 1e6:.0f} MB)"
        )
        if "baseline_load_s" in facts:
            text += (
                f"; baseline load {facts['baseline_load_s']:.1f} s + "
                f"B-tree {facts['baseline_index_s']:.1f} s"
            )
        print(text, flush=True)
    results: dict = {"pixels": args.pixels, "build": facts, "queries": {}}
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.build_only:
        return
    engine = open_catalog(url)
    db = sqlite3.connect(url, check_same_thread=False)
    has_baseline = bool(
        db.execute("SELECT 1 FROM sqlite_master WHERE name = 'pixel_btree'").fetchone()
    )
    scan = None
    if args.dask:
        from webbarchive.pixels.distributed import DaskScan, connect

        scan = DaskScan(connect(f"local:{args.dask}"))
        if args.dask_all:  # every read on the cluster, as before small reads stayed local
            scan.local_first_groups = scan.local_count_groups = 0
    only = [w.strip() for w in args.only.split(",")] if args.only else None
    rows: list[tuple[str, Timing, Timing | None]] = []
    for label, query in QUERIES:
        if only and not any(w in label for w in only):
            continue
        parsed = parse([tuple(kv.split("=", 1)) for kv in query.split("&")])
        ours_total = count(engine, parsed, ANONYMOUS)
        assert ours_total == prepare(engine, parsed, ANONYMOUS).total()  # both plans agree
        base_page = base_count = None
        if has_baseline:
            page_sql, page_values = baseline_sql(query, count=False)
            count_sql, count_values = baseline_sql(query, count=True)
            base_total = db.execute(count_sql, count_values).fetchone()[0]
            assert ours_total == base_total, (label, ours_total, base_total)
        ours_page = measure(
            "page", lambda p=parsed: page(engine, p, ANONYMOUS, 1000, 0), repeat=args.repeat
        )
        ours_count = measure(
            "count", lambda p=parsed: count(engine, p, ANONYMOUS), repeat=count_repeat, warmup=1
        )
        if has_baseline:
            base_page = measure(
                "bpage",
                lambda s=page_sql, v=page_values: db.execute(s, v).fetchall(),
                repeat=args.baseline_repeat,
                warmup=1,
            )
            base_count = measure(
                "bcount",
                lambda s=count_sql, v=count_values: db.execute(s, v).fetchone(),
                repeat=args.baseline_repeat,
                warmup=1,
            )
        rows.append((f"{label} [page]", ours_page, base_page))
        rows.append((f"{label} [count={ours_total:,}]", ours_count, base_count))
        print(report(rows[-2:]).splitlines()[-2], flush=True)
        print(report(rows[-1:]).splitlines()[-1], flush=True)
        entry = {"total": ours_total, "page_p50_ms": ours_page.p50, "count_p50_ms": ours_count.p50}
        scanners = compare_count_scanners(engine, parsed, count_repeat)
        if scanners is not None:
            rows.append((f"{label} [count scan: batches vs DuckDB]", *scanners))
            print(report(rows[-1:]).splitlines()[-1], flush=True)
            entry.update(batch_scan_p50_ms=scanners[0].p50, duckdb_scan_p50_ms=scanners[1].p50)
        if scan is not None:
            assert count(engine, parsed, ANONYMOUS, scan=scan) == ours_total, label
            assert page(engine, parsed, ANONYMOUS, 1000, 0, scan) == page(
                engine, parsed, ANONYMOUS, 1000, 0
            ), label
            dask_page = measure(
                "dpage",
                lambda p=parsed: page(engine, p, ANONYMOUS, 1000, 0, scan),
                repeat=args.repeat,
            )
            dask_count = measure(
                "dcount",
                lambda p=parsed: count(engine, p, ANONYMOUS, scan=scan),
                repeat=count_repeat,
                warmup=1,
            )
            rows.append((f"{label} [page, dask {args.dask}]", dask_page, ours_page))
            rows.append((f"{label} [count, dask {args.dask}]", dask_count, ours_count))
            print(report(rows[-2:]).splitlines()[-2], flush=True)
            print(report(rows[-1:]).splitlines()[-1], flush=True)
            entry.update(
                dask_workers=args.dask,
                dask_page_p50_ms=dask_page.p50,
                dask_count_p50_ms=dask_count.p50,
            )
        results["queries"][label] = entry
        if args.json:
            args.json.write_text(json.dumps(results, indent=1))
    if args.rates:
        results["rates"] = measure_rates(engine, scan.client if scan is not None else None)
        print("rates:", json.dumps(results["rates"], indent=1), flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    print()
    print(report(rows))


if __name__ == "__main__":
    main()
