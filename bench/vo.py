"""ADQL cone search at 10^6 observations, both backends, against a sequential scan.

    .venv/bin/python -m bench.vo [--n 1000000] [--repeat 20]

Inserts ``n`` synthetic observations uniformly over the sky (one science
product each, the HEALPix depth-10 cell of each centre in ``sky_index``),
then times the whole TAP path (translation, rights filter, execution) of

    SELECT obs_id FROM ivoa.obscore
    WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', ra, dec, r))

at random centres, against the same translated query with the spatial index
out of play (SQLite: no sky_index pre-filter; PostgreSQL: index and bitmap
scans disabled), and checks both return the same rows.

Then the cost of the rights barrier (``catalog.rights.barrier``, which keeps
user expressions off hidden rows): the cone, a program equality and a
``TOP 10 *`` preview, each timed with the barrier and with the barrier
removed (the leaky form every query had before it), same rows asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import tempfile
import time
from pathlib import Path
from unittest import mock

import astropy.units as u
import cdshealpix
import numpy as np
from sqlalchemy import Engine

from bench.common import Timing, measure, report
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import ANONYMOUS
from webbarchive.catalog.schema import SKY_INDEX_DEPTH
from webbarchive.vo import adql as adql_module
from webbarchive.vo import obscore as obscore_module
from webbarchive.vo.execute import _execute, dialect_of, run_query
from webbarchive.vo.obscore import QueryContext

CTX = QueryContext(ANONYMOUS, "http://bench")
RELEASED_MJD = 59000.0


@contextlib.contextmanager
def _no_barrier():
    """The translation without the rights barrier: user conditions may then run
    on hidden rows (the error oracle of issue 12). For comparison only."""
    with mock.patch.object(obscore_module, "barrier", lambda query: query):
        yield


def _synthetic(n: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))  # uniform on the sphere
    cells = cdshealpix.nested.lonlat_to_healpix(ra * u.deg, dec * u.deg, SKY_INDEX_DEPTH)
    return ra, dec, cells


def fill(engine: Engine, n: int) -> None:
    ra, dec, cells = _synthetic(n)
    # 1,000 programs, all released (MJD 59000) so every row is public.
    obs = [
        (i + 1, f"jw0{i:07d}", "JWST", "image", 3, float(ra[i]), float(dec[i]), "NIRCAM/IMAGE",
         str(1000 + i % 1000), RELEASED_MJD)
        for i in range(n)
    ]  # fmt: skip
    prods = [
        (i + 1, i + 1, f"jw0{i:07d}_i2d.fits", "/x", "SCIENCE", 1000, "0" * 32,
         str(1000 + i % 1000), RELEASED_MJD)
        for i in range(n)
    ]  # fmt: skip
    sky = [(i + 1, int(cells[i])) for i in range(n)]
    progs = [(str(1000 + k),) for k in range(min(n, 1000))]
    obs_sql = (
        "observations (obsid, obs_id, obs_collection, dataproduct_type, calib_level, "
        "s_ra, s_dec, instrument_name, proposal_id, t_obs_release)"
    )
    prod_sql = (
        'products (product_id, obsid, filename, path, "productType", size, checksum, '
        'proposal_id, "publicReleaseDate_mjd")'
    )
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        if dialect_of(engine) == "postgresql":
            with raw.cursor() as cur:
                for table, rows in (
                    ("programs (proposal_id)", progs),
                    (obs_sql, obs),
                    (prod_sql, prods),
                    ("sky_index (obsid, hpx)", sky),
                ):
                    with cur.copy(f"COPY {table} FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                cur.execute("ANALYZE")
        else:
            cur = raw.cursor()
            cur.executemany("INSERT INTO programs (proposal_id) VALUES (?)", progs)
            cur.executemany(f"INSERT INTO {obs_sql} VALUES (?,?,?,?,?,?,?,?,?,?)", obs)
            cur.executemany(f"INSERT INTO {prod_sql} VALUES (?,?,?,?,?,?,?,?,?)", prods)
            cur.executemany("INSERT INTO sky_index (obsid, hpx) VALUES (?,?)", sky)
            cur.execute("ANALYZE")


def _cone(ra: float, dec: float, r: float) -> str:
    return (
        "SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        f"CIRCLE('ICRS', {ra}, {dec}, {r}))"
    )


def _seqscan(engine: Engine, adql: str) -> list[tuple]:
    dialect = dialect_of(engine)
    with mock.patch.object(adql_module, "sky_cells_sql", lambda shape: None):  # no pre-filter
        tr = adql_module.translate(adql, dialect, CTX, maxrec=10**7)
    if dialect == "postgresql":
        with engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                cur.execute("SET LOCAL enable_indexscan = off")
                cur.execute("SET LOCAL enable_bitmapscan = off")
                cur.execute("SET LOCAL jit = off")
                cur.execute(tr.sql)
                rows = cur.fetchall()
            conn.rollback()
        return rows
    return _execute(engine, dialect, tr.sql, 600)


def bench_backend(name: str, url: str, n: int, repeat: int, barrier_only: bool = False) -> list:
    engine = open_catalog(url)
    start = time.perf_counter()
    fill(engine, n)
    print(
        f"{name}: {n} observations inserted (GiST index maintained on PostgreSQL) in {time.perf_counter() - start:.1f} s"
    )
    rows = []
    for radius, queries in _cones().items():
        if barrier_only:
            break
        counts = []
        for q in queries:
            ours = sorted(run_query(engine, q, CTX, maxrec=10**7).rows)
            base = sorted(_seqscan(engine, q))
            assert ours == base, f"index and scan disagree for {q}"
            counts.append(len(ours))
        ours_cycle, scan_cycle = itertools.cycle(queries), itertools.cycle(queries)
        ours_t = measure(
            "ours", lambda c=ours_cycle: run_query(engine, next(c), CTX, maxrec=10**7), repeat
        )
        base_t: Timing = measure(
            "scan", lambda c=scan_cycle: _seqscan(engine, next(c)), max(3, repeat // 5), 1
        )
        label = f"{name} cone r={radius} deg (mean {np.mean(counts):.0f} rows)"
        rows.append((label, ours_t, base_t))
    rows += _barrier_cost(name, engine, repeat)
    engine.dispose()
    return rows


def _cones() -> dict[float, list[str]]:
    """Eight cones at random centres per radius (deg), the same in every run."""
    rng = np.random.default_rng(11)
    cones = {}
    for radius in (0.05, 0.5, 2.0):
        centres = [(float(rng.uniform(0, 360)), float(rng.uniform(-60, 60))) for _ in range(8)]
        cones[radius] = [_cone(ra, dec, radius) for ra, dec in centres]
    return cones


def _barrier_cost(name: str, engine: Engine, repeat: int) -> list:
    """Each query with the rights barrier (ours) vs without it (baseline)."""
    queries = {f"cone r={r}": cones for r, cones in _cones().items()}
    queries["proposal_id = '1345'"] = ["SELECT obs_id FROM ivoa.obscore WHERE proposal_id = '1345'"]
    queries["TOP 10 *"] = ["SELECT TOP 10 * FROM ivoa.obscore"]
    rows = []
    for label, adqls in queries.items():
        counts = []
        for adql in adqls:
            ours = run_query(engine, adql, CTX, maxrec=10**7).rows
            with _no_barrier():
                assert sorted(run_query(engine, adql, CTX, maxrec=10**7).rows) == sorted(ours)
            counts.append(len(ours))

        def timed(cycle=None, adqls=adqls):
            cycle = itertools.cycle(adqls)
            return lambda: run_query(engine, next(cycle), CTX, maxrec=10**7)

        with _no_barrier():
            leaky = measure("leaky", timed(), repeat)
        fenced = measure("barrier", timed(), repeat)
        mean = f"mean {np.mean(counts):.0f} rows"
        rows.append((f"{name} barrier: {label} ({mean})", fenced, leaky))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pg", help="postgresql:// URL of an empty catalog database")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument(
        "--barrier-only", action="store_true", help="skip the index-vs-scan cones (slow at 10^6)"
    )
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        results += bench_backend(
            "sqlite", str(Path(tmp) / "bench.db"), args.n, args.repeat, args.barrier_only
        )
    cluster = None
    pg_url = args.pg
    if pg_url is None and not args.sqlite_only:
        from tests import pgcluster

        if pgcluster.available():
            cluster = pgcluster.Cluster().start()
            pg_url = cluster.create_database("bench_vo")
    try:
        if pg_url:
            results += bench_backend("postgresql", pg_url, args.n, args.repeat, args.barrier_only)
        else:
            print("PostgreSQL with pgsphere not available: skipped")
    finally:
        if cluster:
            cluster.stop()
    print(report(results))


if __name__ == "__main__":
    main()
