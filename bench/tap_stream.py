"""Memory and time of a 10^6-row TAP answer: streamed against whole, same run.

    .venv/bin/python -m bench.tap_stream [--n 1000000] [--repeat 3] [--sqlite-only]

Fills a catalog with ``n`` public observations (``bench.vo.fill``), then
answers the anonymous ``SELECT * FROM ivoa.obscore`` with MAXREC = n in
VOTable BINARY and CSV two ways:

- streamed (ours): ``stream_query`` batches rendered by ``render_stream``,
  the bytes counted and dropped as a server sends them;
- whole (the path every sync answer took before): ``run_query`` (all rows)
  then ``render`` (the whole body).

Each run is a child process, so its peak RSS (``ru_maxrss``) is its own; the
table gives the time p50/p95 and the peak RSS above the child's RSS before
the query, with the ratios whole / streamed. Both ways must write the same
number of rows (checked on the CSV line count).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import Timing
from bench.vo import CTX, fill
from webbarchive.catalog.db import open_catalog


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def child(url: str, way: str, fmt_key: str, n: int) -> dict:
    """One answer, in this process; its time, bytes and peak RSS growth."""
    from webbarchive.vo.execute import run_query, stream_query
    from webbarchive.vo.formats import find_format, render, render_stream

    engine = open_catalog(url)
    fmt = find_format(fmt_key)
    adql = "SELECT * FROM ivoa.obscore"
    # Connect, import and warm both writers, so only the answer itself is measured.
    warm = run_query(engine, "SELECT TOP 1 * FROM ivoa.obscore", CTX, maxrec=1)
    render(fmt, warm.columns, warm.rows)
    list(render_stream(fmt, warm.columns, warm.rows, iter([]), lambda: False))
    before = _peak_mb()
    start = time.perf_counter()
    if way == "streamed":
        stream = stream_query(engine, adql, CTX, maxrec=n)
        batches = stream.batches()
        first = next(batches)
        size = lines = 0
        for chunk in render_stream(fmt, stream.columns, first, batches, lambda: stream.overflow):
            size += len(chunk)
            lines += chunk.count(b"\n")
    else:
        result = run_query(engine, adql, CTX, maxrec=n)
        body = render(fmt, result.columns, result.rows, overflow=result.overflow)
        size, lines = len(body), body.count(b"\n")
    seconds = time.perf_counter() - start
    engine.dispose()
    return {"seconds": seconds, "bytes": size, "lines": lines, "rss_mb": _peak_mb() - before}


def _run(url: str, way: str, fmt: str, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.tap_stream", "--child", url, way, fmt, str(n)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_backend(name: str, url: str, n: int, repeat: int) -> list[str]:
    engine = open_catalog(url)
    start = time.perf_counter()
    fill(engine, n)
    engine.dispose()
    print(f"{name}: {n} observations inserted in {time.perf_counter() - start:.1f} s", flush=True)
    lines = []
    for fmt in ("votable", "csv"):
        runs = {
            way: [_run(url, way, fmt, n) for _ in range(repeat)] for way in ("streamed", "whole")
        }
        if fmt == "csv":
            assert {r["lines"] for r in runs["streamed"]} == {r["lines"] for r in runs["whole"]}
            assert runs["streamed"][0]["lines"] == n + 1, "header and every row"
        t = {w: Timing(w, [r["seconds"] * 1000 for r in rs]) for w, rs in runs.items()}
        rss = {w: statistics.median(r["rss_mb"] for r in rs) for w, rs in runs.items()}
        mb = runs["streamed"][0]["bytes"] / 1e6
        lines.append(
            f"{name + ' ' + fmt + f' ({mb:.0f} MB)':32s} "
            f"{t['streamed'].p50:9.0f} {t['streamed'].p95:9.0f} "
            f"{t['whole'].p50:9.0f} {t['whole'].p95:9.0f} "
            f"{t['whole'].p50 / t['streamed'].p50:7.2f}x "
            f"{rss['streamed']:9.0f} {rss['whole']:9.0f} {rss['whole'] / max(rss['streamed'], 1):7.1f}x"
        )
    return lines


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        url, way, fmt, n = sys.argv[2:6]
        print(json.dumps(child(url, way, fmt, int(n))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pg", help="postgresql:// URL of an empty catalog database")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        lines += bench_backend("sqlite", str(Path(tmp) / "bench.db"), args.n, args.repeat)
    cluster, pg_url = None, args.pg
    if pg_url is None and not args.sqlite_only:
        from tests import pgcluster

        if pgcluster.available():
            cluster = pgcluster.Cluster().start()
            pg_url = cluster.create_database("bench_tap_stream")
    try:
        if pg_url:
            lines += bench_backend("postgresql", pg_url, args.n, args.repeat)
    finally:
        if cluster:
            cluster.stop()
    print(
        f"{'answer':32s} {'str p50':>9s} {'str p95':>9s} {'whole p50':>9s} {'whole p95':>9s} "
        f"{'t ratio':>8s} {'str MB':>9s} {'whole MB':>9s} {'MB ratio':>8s}"
    )
    print("\n".join(lines))
    print("times in ms; MB: peak RSS above the process's RSS before the query")


if __name__ == "__main__":
    main()
