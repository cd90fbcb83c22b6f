"""A 3-hour window of a 1 Hz mnemonic from a large telemetry store, against baselines.

    .venv/bin/python -m bench.telemetry [--samples 1e9] [--mnemonics 100] [--build-s 300]

Builds a store of ``--mnemonics`` mnemonics at 1 Hz (86,400 samples a day, a
random walk rounded to 4 decimals) through :func:`webbarchive.telemetry.store.write`,
day by day for all mnemonics at once, until ``--samples`` or ``--build-s``
seconds (two processes), and says the size reached. Then, over random 3-hour
windows (10,800 samples plus the two bracketing ones) of one mnemonic:

- ``store query``: :func:`webbarchive.telemetry.query.samples`;
- ``HTTP download``: ``GET /api/v0.1/Download/file?uri=mast:jwstedb/...`` through
  the real app (token check, store query, MAST CSV rendering);
- baselines on the same data (pyarrow, as pandas is not installed): reading the
  whole day's Parquet file and filtering; reading the whole day as MAST CSV
  (the flat files an EDB download gives) and filtering; a SQLite table
  ``(mnemonic, time_us, value)`` with an index on ``(mnemonic, time_us)``
  holding every day of the queried mnemonic (window and brackets in 3 queries).
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from bench.common import measure, report
from webbarchive.telemetry import query, store
from webbarchive.telemetry.wire import Samples, render_csv

DAY_US = 86_400_000_000
#: 2023-01-01 00:00:00 UTC
FIRST_DAY_US = 1_672_531_200 * 1_000_000
WINDOW_US = 3 * 3600 * 1_000_000


def mnemonic(i: int) -> str:
    return f"BENCH_TEMP_{i:03d}"


def day_samples(i: int, day: int) -> Samples:
    rng = np.random.default_rng([i, day])
    phase = int(rng.integers(0, 1_000_000))
    time_us = FIRST_DAY_US + day * DAY_US + phase + np.arange(86_400, dtype=np.int64) * 1_000_000
    value = np.round(40 + i * 0.01 + np.cumsum(rng.normal(0, 2e-3, 86_400)), 4)
    return Samples("real", time_us, value)


def _write(task: tuple[str, int, int, float, bool]) -> int:
    root, i, day, deadline, reuse = task
    if reuse and _day_file(Path(root), i, day).exists():
        return 86_400  # built by an earlier run (--keep, --reuse)
    if time.monotonic() > deadline:
        return 0
    store.write(Path(root), mnemonic(i), day_samples(i, day))
    return 86_400


def _day_file(root: Path, i: int, day: int) -> Path:
    return store.day_path(root, mnemonic(i), store.day_of(FIRST_DAY_US + day * DAY_US))


def build(
    root: Path, samples: float, mnemonics: int, build_s: float, reuse: bool = False
) -> tuple[int, int, float]:
    """(samples in the store, days of the queried mnemonic, seconds); ``reuse``: keep
    the day files an earlier run wrote and write only the missing ones."""
    days = max(1, int(np.ceil(samples / (mnemonics * 86_400))))
    started = time.monotonic()
    deadline = started + build_s
    tasks = [(str(root), i, d, deadline, reuse) for d in range(days) for i in range(mnemonics)]
    written = 0
    with multiprocessing.get_context("fork").Pool(2) as pool:
        for n in pool.imap_unordered(_write, tasks, chunksize=4):
            written += n
    return written, len(store.days(root, mnemonic(0))), time.monotonic() - started


def compact(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y%m%dT%H%M%S")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=float, default=1e9)
    parser.add_argument("--mnemonics", type=int, default=100)
    parser.add_argument("--build-s", type=float, default=300.0)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", help="build the store in this folder and keep it")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="with --keep: keep the day files of an earlier run, write only missing days "
        "(and, with a smaller --samples, query a prefix of a larger store)",
    )
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog
    from webbarchive.config import Settings

    work = Path(args.keep or tempfile.mkdtemp(prefix="bench-telemetry-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "bench.db"
    engine = open_catalog(str(db))
    root = store.telemetry_root(engine)
    written, days, seconds = build(root, args.samples, args.mnemonics, args.build_s, args.reuse)
    size = sum(p.stat().st_size for p in root.rglob("*.parquet"))
    print(
        f"store: {written:,} samples ({written / 1e9:.3f}e9) over {args.mnemonics} mnemonics, "
        f"{days} days of {mnemonic(0)}, {size / 1e9:.2f} GB, built in {seconds:.0f} s "
        f"({written / seconds / 1e6:.2f} M samples/s)"
    )

    rng = np.random.default_rng(3)
    # Windows wholly inside one day (so the day-file baselines read one file).
    windows = []
    for _ in range(args.repeat):
        day = int(rng.integers(0, days))
        start = FIRST_DAY_US + day * DAY_US + int(rng.integers(3600, 20 * 3600)) * 1_000_000
        windows.append((day, start, start + WINDOW_US))
    turn = iter(range(10**9))

    def window():
        return windows[next(turn) % len(windows)]

    name = mnemonic(0)

    def ours():
        _, lo, hi = window()
        return query.samples(root, query.Interval(name, lo, hi))

    if not any(u["name"] == "bench" for u in accounts.list_users(engine)):  # --keep: a rerun
        accounts.add_user(engine, "bench")
    token = accounts.create_token(engine, "bench", "bench").token
    client = TestClient(create_app(Settings.from_env(db_url=str(db))))
    headers = {"Authorization": f"token {token}"}

    def http():
        _, lo, hi = window()
        uri = f"mast:jwstedb/{name}-{compact(lo)}-{compact(hi)}.csv"
        response = client.get("/api/v0.1/Download/file", params={"uri": uri}, headers=headers)
        assert response.status_code == 200
        return response.content

    def whole_day_parquet():
        _, lo, hi = window()
        table = pq.read_table(store.day_path(root, name, store.day_of(lo)))
        t = table.column("time_us").to_numpy()
        return table.filter((t >= lo) & (t <= hi))

    csv_dir = work / "csv"
    csv_dir.mkdir(exist_ok=True)
    for day in sorted({w[0] for w in windows}):
        (csv_dir / f"{day}.csv").write_text(render_csv(day_samples(0, day)))

    def whole_day_csv():
        day, lo, hi = window()
        table = pa_csv.read_csv(csv_dir / f"{day}.csv")
        t = table.column("theTime").cast("timestamp[us]").cast("int64").to_numpy()
        return table.filter((t >= lo) & (t <= hi))

    lite = sqlite3.connect(work / "baseline.sqlite")
    lite.execute("CREATE TABLE IF NOT EXISTS samples (mnemonic TEXT, time_us INTEGER, value REAL)")
    lite.execute("DELETE FROM samples")
    started = time.monotonic()
    for day in range(days):
        s = day_samples(0, day)
        lite.executemany(
            "INSERT INTO samples VALUES (?, ?, ?)",
            zip([name] * len(s), s.time_us.tolist(), s.value.tolist(), strict=True),
        )
    lite.execute("CREATE INDEX IF NOT EXISTS ix ON samples (mnemonic, time_us)")
    lite.commit()
    print(
        f"sqlite baseline: {days * 86_400:,} rows of {name} in {time.monotonic() - started:.0f} s"
    )

    def sqlite_window(lo: int, hi: int) -> list:
        inside = lite.execute(
            "SELECT time_us, value FROM samples WHERE mnemonic=? AND time_us BETWEEN ? AND ? "
            "ORDER BY time_us",
            (name, lo, hi),
        ).fetchall()
        before = lite.execute(
            "SELECT time_us, value FROM samples WHERE mnemonic=? AND time_us<? "
            "ORDER BY time_us DESC LIMIT 1",
            (name, lo),
        ).fetchall()
        after = lite.execute(
            "SELECT time_us, value FROM samples WHERE mnemonic=? AND time_us>? "
            "ORDER BY time_us LIMIT 1",
            (name, hi),
        ).fetchall()
        return before + inside + after

    def sqlite_indexed():
        _, lo, hi = window()
        return sqlite_window(lo, hi)

    # Same answers before timing: ours equals the SQLite baseline.
    for _, lo, hi in windows[:5]:
        got = query.samples(root, query.Interval(name, lo, hi))
        want = sqlite_window(lo, hi)
        assert got.time_us.tolist() == [w[0] for w in want]
        assert got.value.tolist() == [w[1] for w in want]
        assert 10_800 <= len(got) <= 10_803

    repeat = args.repeat
    rows = [
        ("3 h of 1 Hz: store query vs whole-day Parquet", measure("ours", ours, repeat),
         measure("day parquet", whole_day_parquet, repeat)),
        ("3 h of 1 Hz: store query vs SQLite indexed", measure("ours", ours, repeat),
         measure("sqlite", sqlite_indexed, repeat)),
        ("3 h of 1 Hz: HTTP CSV vs whole-day CSV", measure("http", http, repeat),
         measure("day csv", whole_day_csv, repeat)),
    ]  # fmt: skip
    print(report(rows))
    client.close()
    lite.close()
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
