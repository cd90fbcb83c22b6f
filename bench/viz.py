"""Latency of the viz API (``/viz/api/v0.1/``) over an ingested mock archive.

    .venv/bin/python -m bench.viz [--scale small] [--seed 1] [--repeat 200]

Builds a mock archive (``webbarchive mock``), ingests it into a fresh SQLite
catalog, loads a synthetic mnemonic table through ``ingest-mnemonics``'s
loader, serves the real app with uvicorn (its own process) on 127.0.0.1 and times each endpoint
with httpx, cycling over every x1d of the archive. Baselines measured in the
same run:

- keywords/search: reading the same file's primary and first extension
  headers with astropy (what a client holding the file would do);
- parameters, products: the same catalog query called directly, without HTTP
  (the database's share of the latency);
- info/keywords?name=: stdatamodels' own ``find_fits_keyword`` on a data model;
- the rest: a request to an unknown path (the HTTP and framework floor).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from astropy.io import fits
from sqlalchemy import select

from bench.common import Timing, free_port, measure, report
from webbarchive.catalog import queries
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.keyword_dictionary import keyword_dictionary
from webbarchive.catalog.rights import ANONYMOUS, visible_products
from webbarchive.catalog.schema import products
from webbarchive.ingest.mnemonics import COLUMNS, load_mnemonics
from webbarchive.ingest.runner import ingest_paths
from webbarchive.mock import generate

V = "/viz/api/v0.1"
MNEMONICS = 5000


def _write_mnemonics(path: Path, count: int) -> None:
    subsystems = ("FOS", "OTE", "NIRSPEC", "MIRI", "NIRCAM", "NIRISS", "SCS")
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(count):
            writer.writerow(
                [subsystems[i % 7], f"MNEMONIC_{i:05d}", 500000 + i, f"test {i}", "float", "rad"]
            )


class _Server:
    """``uvicorn`` serving the real app in its own process (so the client's
    work does not share the server's interpreter)."""

    def __init__(self, db_url: str) -> None:
        self.port = free_port()
        self.env = {**os.environ, "WEBBARCHIVE_DB": db_url}
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> str:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "webbarchive.api.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
            ],
            env=self.env,
        )
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(base + "/docs", timeout=1.0)
                return base
            except httpx.TransportError:
                if self.process.poll() is not None:
                    raise RuntimeError("uvicorn exited before serving") from None
                time.sleep(0.2)
        raise RuntimeError("uvicorn did not start within 60 s")

    def __exit__(self, *_exc) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def run(scale: str, seed: int, repeat: int, workdir: Path) -> str:
    started = time.perf_counter()
    summary = generate(workdir / "mock", seed=seed, scale=scale, progress=True)
    print(summary)
    db_url = str(workdir / "catalog.db")
    ingest = ingest_paths([str(workdir / "mock")], db_url=db_url, workers=2, progress=True)
    print(f"ingested {ingest.files} files in {ingest.seconds:.1f} s")
    engine = open_catalog(db_url)
    _write_mnemonics(workdir / "mnemonics.csv", MNEMONICS)
    load_mnemonics(engine, workdir / "mnemonics.csv")

    with engine.connect() as conn:
        rows = conn.execute(
            select(products.c.filename, products.c.path, products.c.obsid)
            .where(products.c.suffix == "x1d", visible_products(ANONYMOUS))
            .order_by(products.c.filename)
        ).all()
    if not rows:
        raise SystemExit("the mock archive has no public x1d product to benchmark with")
    print(f"{len(rows)} public x1d products; {repeat} requests per case\n")
    files = itertools.cycle(rows)

    t0 = time.perf_counter()
    keyword_dictionary()
    cold_dictionary_ms = (time.perf_counter() - t0) * 1000.0

    cases: list[tuple[str, Timing, Timing | None]] = []
    with _Server(db_url) as base, httpx.Client(base_url=base, timeout=30.0) as http:

        def get(path: str, **params) -> httpx.Response:
            reply = http.get(path, params=params)
            if reply.status_code != 200:
                raise RuntimeError(f"{path} {params}: {reply.status_code} {reply.text[:200]}")
            return reply

        floor = measure("404", lambda: http.get("/no/such/path"), repeat=repeat)

        def timed(label: str, fn, baseline: Timing | None) -> None:
            cases.append((label, measure(label, fn, repeat=repeat), baseline))

        query_only = measure("query", lambda: _observation(engine, next(files)[2]), repeat)
        timed("parameters", lambda: get(f"{V}/parameters", uri=next(files)[0]), query_only)
        astropy = measure("astropy", lambda: _headers(next(files)[1]), repeat=repeat)
        timed("keywords/search", lambda: get(f"{V}/keywords/search", uri=next(files)[0]), astropy)
        query_only = measure("query", lambda: _products(engine, next(files)[2]), repeat)
        timed("products", lambda: get(f"{V}/products", uri=next(files)[0]), query_only)
        timed(
            "products level=3",
            lambda: get(f"{V}/products", uri=next(files)[0], level=3),
            query_only,
        )
        from stdatamodels.jwst.datamodels import ImageModel

        model = ImageModel()
        stdatamodels = measure(
            "find_fits_keyword",
            lambda: model.find_fits_keyword("BKGDTARG", return_result=True),
            repeat,
        )
        timed(
            "info/keywords?name=BKGDTARG",
            lambda: get(f"{V}/info/keywords", name="BKGDTARG"),
            stdatamodels,
        )
        timed("info/keywords (all, ~0.5 MB)", lambda: get(f"{V}/info/keywords/"), floor)
        names = itertools.cycle([f"mnemonic_{i:05d}" for i in range(0, MNEMONICS, 7)])
        timed("info/mnemonics?name=", lambda: get(f"{V}/info/mnemonics", name=next(names)), floor)
        timed(
            f"info/mnemonics (all {MNEMONICS}, limit 5000)",
            lambda: get(f"{V}/info/mnemonics", limit=MNEMONICS),
            floor,
        )
    lines = [
        f"viz API over a {scale} mock archive (seed {seed}): {summary.total_files} files, "
        f"{len(rows)} public x1d; SQLite; uvicorn + httpx on 127.0.0.1",
        "ratio = baseline p50 / ours p50; the HTTP floor is a 404 on an unknown path "
        f"(p50 {floor.p50:.2f} ms, p95 {floor.p95:.2f} ms)",
        f"keyword dictionary, first build from the stdatamodels schemas: {cold_dictionary_ms:.0f} ms",
        "",
        report(cases),
        "",
        f"total bench time {time.perf_counter() - started:.0f} s",
    ]
    return "\n".join(lines)


def _observation(engine, obsid: int):
    with engine.connect() as conn:
        return queries.observation_of_product(conn, obsid)


def _products(engine, obsid: int):
    with engine.connect() as conn:
        return queries.observation_products(conn, obsid, ANONYMOUS)


def _headers(path: str):
    with fits.open(path) as hdul:
        return hdul[0].header, hdul[1].header


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", default="small", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=200, help="requests per case")
    parser.add_argument("--workdir", type=Path, help="where to build the archive (default: temp)")
    args = parser.parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        print(run(args.scale, args.seed, args.repeat, args.workdir))
    else:
        with tempfile.TemporaryDirectory(prefix="bench-viz-") as tmp:
            print(run(args.scale, args.seed, args.repeat, Path(tmp)))


if __name__ == "__main__":
    main()
