"""A telemetry archive for the tests, and its independent truth.

The truth is read straight from the files the mock wrote, with the standard
library's csv module and pyarrow, never through webbarchive.telemetry: for
each mnemonic the sorted list of ``(theTime, euvalue)`` strings. ``theTime``
is fixed-width (``YYYY-MM-DD HH:MM:SS.ffffff``), so string order is time order.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.mock import telemetry as mock_telemetry
from webbarchive.mock.sky import plan
from webbarchive.telemetry.ingest import ingest_telemetry

US = 1_000_000
#: 2022-07-07 23:50:00 UTC: a window across midnight, on the day of the first
#: mock observation (two windows on one day, a long gap between them).
LATE_START_US = 1_657_237_800 * US


def starts_us() -> list[int]:
    return sorted(mock_telemetry.observation_starts_us(plan("small"))[:3] + [LATE_START_US])


@dataclass
class EdbArchive:
    url: str
    folder: Path
    token: str
    truth: dict[str, list[tuple[str, str]]]
    sql_types: dict[str, str]


def read_truth(folder: Path) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    samples: dict[str, list[tuple[str, str]]] = {}
    types: dict[str, str] = {}
    for path in sorted(folder.glob("*-*-*.csv")):
        mnemonic = path.name.split("-")[0]
        with open(path, newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[0] == ["theTime", "MJD", "euvalue", "sqldataType"]
        samples.setdefault(mnemonic, []).extend((r[0], r[2]) for r in rows[1:])
        types[mnemonic] = rows[1][3]
    table = pq.read_table(folder / mock_telemetry.STATES_PARQUET).to_pylist()
    for row in table:
        samples.setdefault(row["mnemonic"], []).append((row["theTime"], row["euvalue"]))
        types[row["mnemonic"]] = row["sqldataType"]
    return {m: sorted(v) for m, v in samples.items()}, types


def build(url: str, root: Path) -> EdbArchive:
    written = mock_telemetry.write_all(starts_us(), root, seed=11)
    engine = open_catalog(url)
    report = ingest_telemetry(engine, written)
    assert report.files == len(written)
    accounts.add_user(engine, "engineer")
    token = accounts.create_token(engine, "engineer", "edb").token
    engine.dispose()
    truth, types = read_truth(root / mock_telemetry.FOLDER)
    return EdbArchive(url, root / mock_telemetry.FOLDER, token, truth, types)


def expected(truth: list[tuple[str, str]], start: str, end: str) -> list[tuple[str, str]]:
    """Brute force: samples with start <= theTime <= end, plus the last one
    before start and the first one after end."""
    inside = [s for s in truth if start <= s[0] <= end]
    before = [s for s in truth if s[0] < start][-1:]
    after = [s for s in truth if s[0] > end][:1]
    return before + inside + after
