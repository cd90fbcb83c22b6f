"""``webbarchive ingest-telemetry FILES...``: engineering telemetry into the store.

Accepted files:

- MAST's CSV (``theTime,MJD,euvalue,sqldataType``, CRLF or LF), named as MAST
  names it, ``<MNEMONIC>-<yyyymmddThhmmss>-<yyyymmddThhmmss>.csv``, or
  ``<MNEMONIC>.csv``;
- Parquet with the same columns (``theTime`` as text or a timestamp, UTC) and
  optionally a ``mnemonic`` column (several mnemonics in one file); without it
  the mnemonic comes from the file name as for CSV;
- the mnemonic dictionary: a CSV whose header names ``subsystem, tlmMnemonic,
  tlmIdentifier, description, sqlDataType, unit`` (the rows
  ``/viz/api/v0.1/info/mnemonics`` and ``Mast.JwstEdb.Dictionary`` serve).

A mnemonic with samples but no dictionary row gets one with its
``sqlDataType``, so the Mashup ``Mast.JwstEdb.Mnemonics`` lists every mnemonic
that has data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine, insert, select

from webbarchive.catalog.schema import mnemonics
from webbarchive.ingest.mnemonics import COLUMNS as DICTIONARY_COLUMNS
from webbarchive.ingest.mnemonics import load_mnemonics
from webbarchive.telemetry import store
from webbarchive.telemetry.wire import Samples, from_columns, parse_csv, us_to_times

_MAST_NAME = re.compile(r"^(?P<mnemonic>.+?)-\d{8}T\d{6}-\d{8}T\d{6}$", re.I)


@dataclass
class TelemetryReport:
    samples: int = 0
    day_files: int = 0
    mnemonics: set[str] = field(default_factory=set)
    dictionary_rows: int = 0
    files: int = 0

    def summary(self) -> str:
        return (
            f"ingested {self.samples:,} samples of {len(self.mnemonics)} mnemonics from "
            f"{self.files} files into {self.day_files} day files; "
            f"{self.dictionary_rows} dictionary rows loaded"
        )


def mnemonic_from_filename(path: Path) -> str:
    stem = path.name.split(".")[0]
    match = _MAST_NAME.match(stem)
    return store.mnemonic_name(match["mnemonic"] if match else stem)


def _is_dictionary(path: Path) -> bool:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        header = handle.readline()
    return "tlmmnemonic" in header.lower()


def _parquet_samples(path: Path) -> list[tuple[str, Samples]]:
    table = pq.read_table(path)
    names = {n.lower(): n for n in table.column_names}
    missing = [c for c in ("thetime", "euvalue", "sqldatatype") if c not in names]
    if missing:
        raise ValueError(
            f"{path}: Parquet telemetry needs columns theTime, euvalue, sqldataType "
            f"(and optionally mnemonic); missing {', '.join(missing)}"
        )
    times = table.column(names["thetime"])
    if pa.types.is_timestamp(times.type):  # naive timestamps are taken as UTC
        unit = pa.timestamp("us", tz=times.type.tz)
        times = np.array(us_to_times(times.cast(unit).cast(pa.int64()).to_numpy()), dtype=object)
    else:
        times = np.array(times.cast(pa.string()).to_pylist(), dtype=object)
    values = np.array(table.column(names["euvalue"]).to_pylist(), dtype=object)
    types = np.array(table.column(names["sqldatatype"]).to_pylist(), dtype=object)
    key = names.get("mnemonic") or names.get("tlmmnemonic")
    if key is None:
        groups = {mnemonic_from_filename(path): np.ones(len(times), bool)}
    else:
        which = np.array([store.mnemonic_name(str(m)) for m in table.column(key).to_pylist()])
        groups = {m: which == m for m in np.unique(which)}
    out = []
    for mnemonic, mask in groups.items():
        kinds = set(types[mask])
        if len(kinds) != 1:
            raise ValueError(f"{path}: {mnemonic} has several sqldataTypes {sorted(kinds)}")
        samples = from_columns(times[mask], values[mask], str(kinds.pop()), str(path))
        out.append((mnemonic, samples))
    return out


def read_file(path: Path) -> list[tuple[str, Samples]]:
    """``(mnemonic, samples)`` of one telemetry file; ValueError naming the problem."""
    if path.suffix.lower() == ".parquet":
        return _parquet_samples(path)
    if path.suffix.lower() != ".csv":
        raise ValueError(f"{path}: telemetry files are .csv (MAST's EDB CSV) or .parquet")
    text = path.read_text(encoding="utf-8-sig")
    return [(mnemonic_from_filename(path), parse_csv(text, str(path)))]


def _add_missing_dictionary_rows(engine: Engine, types: dict[str, str]) -> None:
    with engine.begin() as conn:
        known = set(conn.execute(select(mnemonics.c.tlmMnemonic)).scalars())
        rows = [
            {"tlmMnemonic": m, "sqlDataType": t} for m, t in sorted(types.items()) if m not in known
        ]
        if rows:
            conn.execute(insert(mnemonics), rows)


def ingest_telemetry(engine: Engine, paths: list[str | Path]) -> TelemetryReport:
    """Load telemetry files and dictionaries (see the module docstring)."""
    from webbarchive.catalog.writer_lock import writer_lock

    root = store.telemetry_root(engine)
    report = TelemetryReport()
    files = sorted(Path(p) for p in paths)
    for path in files:
        if not path.is_file():
            raise ValueError(f"{path}: no such file")
    types: dict[str, str] = {}
    with writer_lock(engine):
        dictionaries = [p for p in files if p.suffix.lower() == ".csv" and _is_dictionary(p)]
        for path in dictionaries:
            report.dictionary_rows += load_mnemonics(engine, path)
        for path in files:
            if path in dictionaries:
                continue
            for mnemonic, samples in read_file(path):
                report.day_files += store.write(root, mnemonic, samples)
                report.samples += len(samples)
                report.mnemonics.add(mnemonic)
                types[mnemonic] = samples.sql_type
            report.files += 1
        report.files += len(dictionaries)
        _add_missing_dictionary_rows(engine, types)
    return report


__all__ = ["DICTIONARY_COLUMNS", "TelemetryReport", "ingest_telemetry", "read_file"]
