"""Ingest throughput on a medium mock archive, against opening the same files with astropy.

``.venv/bin/python -m bench.ingest [--scale medium] [--workers N] [--db URL]``

Baseline (same run, same files): open every file with astropy and read every
header of every HDU, sequentially, in one process. Ingest does that plus
integrity checks, md5, classification, keyword typing, footprints, and the
catalog writes; it reads in ``workers`` processes. The hooks of other
capabilities called at the end of an ingest (pixel search, DJA tables) are
timed separately so the ingest figure is the catalog's own.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from astropy.io import fits

from webbarchive.ingest import runner

#: End-of-ingest hooks of other capabilities, timed apart from the catalog's own work.
HOOKS = ("_post_ingest",)  # one call per capability (webbarchive.capabilities)


def open_all_headers(paths: list[str]) -> float:
    """Seconds to open every file and read all its headers with astropy."""
    start = time.perf_counter()
    for path in paths:
        if path.endswith(".json"):
            Path(path).read_bytes()
            continue
        with fits.open(path, memmap=False) as hdul:
            for hdu in hdul:
                _ = hdu.header
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="medium", choices=("small", "medium", "large"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workers", type=int, default=None, help="reader processes (default: cores)"
    )
    parser.add_argument("--db", default=None, help="catalog URL (default: SQLite in the temp dir)")
    args = parser.parse_args(argv)

    from webbarchive.mock import generate

    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        files = Path(tmp) / "files"
        print(generate(files, seed=args.seed, scale=args.scale, progress=True))
        db = args.db or str(Path(tmp) / "catalog.db")
        hook_seconds: list[float] = [0.0, 0.0]  # first run, re-run
        originals = {name: getattr(runner, name) for name in HOOKS if hasattr(runner, name)}
        run = [0]

        def timed(hook):
            def wrapper(*args, **kwargs):
                start = time.perf_counter()
                hook(*args, **kwargs)
                hook_seconds[run[0]] += time.perf_counter() - start

            return wrapper

        for name, hook in originals.items():
            setattr(runner, name, timed(hook))
        try:
            report = runner.ingest_paths(
                [str(files)], db_url=db, workers=args.workers, progress=True
            )
            run[0] = 1
            again = runner.ingest_paths(
                [str(files)], db_url=db, workers=args.workers, progress=False
            )
        finally:
            for name, hook in originals.items():
                setattr(runner, name, hook)
        ingest = report.seconds - hook_seconds[0]
        rerun = again.seconds - hook_seconds[1]
        # the baseline reads exactly the files ingest catalogued (not those it
        # handed to the DJA tools), after ingest so both find them in the page cache
        paths = (
            report.ingested + report.replaced + report.unchanged + [p for p, _ in report.skipped]
        )
        total_mb = sum(Path(p).stat().st_size for p in paths) / 1e6
        baseline = open_all_headers(paths)

    n = len(paths)
    print("\n".join(report.summary().splitlines()[:3]))
    print(f"\n{n} files, {total_mb:.1f} MB ({args.scale} mock, seed {args.seed})")
    print(f"{'case':44s} {'seconds':>8s} {'files/s':>9s} {'MB/s':>8s}")
    rows = [
        ("baseline: astropy open + all headers (1 proc)", baseline),
        (f"ingest (catalog only, {args.workers or 'all'} workers)", ingest),
        ("re-ingest, nothing changed", rerun),
        ("other capabilities' hooks (pixels, DJA)", hook_seconds[0]),
    ]
    for label, seconds in rows:
        print(f"{label:44s} {seconds:8.2f} {n / seconds:9.1f} {total_mb / seconds:8.1f}")
    print(f"\ningest / baseline time ratio: {ingest / baseline:.2f}x")


if __name__ == "__main__":
    main()
