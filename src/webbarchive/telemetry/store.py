"""The telemetry store: one Parquet file per mnemonic and UTC day, beside the catalog.

Layout (Hive-style partitions, readable as one table by DuckDB or Spark)::

    <root>/mnemonic=SA_ZATTEST2/day=2022-07-07/samples.parquet
    <root>/mnemonic=IGDP_NRSD_ALG_A1_TEMP/day=2022-07-07/samples.parquet

A day file holds the samples of one mnemonic in time order, in row groups of
:data:`ROW_GROUP_ROWS`, so the per-row-group min/max of ``time_us`` prunes a
window to the groups it touches (a 3-hour window of a 1 Hz mnemonic reads 2 or
3 groups of one file). Columns: ``time_us`` (int64, microseconds since
1970-01-01 UTC), ``value`` (float64, null for text mnemonics), ``text``
(string, null for numeric ones). The mnemonic's ``sqldataType`` is in the
file's key-value metadata. Files are written under a temporary name and
renamed, so a reader never sees half a file; re-ingesting a day merges (a
sample at the same microsecond is replaced).

Where the root is: ``<file>.db.telemetry/`` beside a SQLite catalog; for
PostgreSQL ``$WEBBARCHIVE_TELEMETRY/<host>_<port>_<database>/`` (as the pixel
store, :func:`webbarchive.pixels.store.pixels_root`).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from webbarchive.storage.beside_catalog import store_folder
from webbarchive.telemetry.errors import TelemetryInputError
from webbarchive.telemetry.wire import US_PER_DAY, Samples, concat, is_numeric

ROW_GROUP_ROWS = 8_192
COMPRESSION = "lz4"
FILE_NAME = "samples.parquet"
SQL_TYPE_KEY = b"sqldataType"

SCHEMA = pa.schema([("time_us", pa.int64()), ("value", pa.float64()), ("text", pa.string())])

#: EDB mnemonics are upper-case letters, digits and underscores (SA_ZATTEST2,
#: IGDP_NRSD_ALG_A1_TEMP); anything else is refused before it reaches a path.
MNEMONIC_PATTERN = re.compile(r"^[A-Z0-9_]{1,64}$")


def telemetry_root(engine: Engine) -> Path:
    """Folder of the telemetry store of the catalog behind ``engine``."""
    from webbarchive.config import current

    return store_folder(engine, "telemetry", current().telemetry_root)


def mnemonic_name(raw: str) -> str:
    """``raw`` upper-cased and checked against :data:`MNEMONIC_PATTERN`."""
    name = (raw or "").strip().upper()
    if not MNEMONIC_PATTERN.match(name):
        raise TelemetryInputError(
            f"{raw!r} is not a mnemonic name",
            accepted="1 to 64 letters, digits and underscores, e.g. SA_ZATTEST2",
        )
    return name


def day_of(time_us: int) -> str:
    """The UTC day (YYYY-MM-DD) of an instant in microseconds since 1970."""
    return str(np.datetime64(int(time_us), "us").astype("datetime64[D]"))


def _mnemonic_dir(root: Path, mnemonic: str) -> Path:
    return root / f"mnemonic={mnemonic}"


def day_path(root: Path, mnemonic: str, day: str) -> Path:
    return _mnemonic_dir(root, mnemonic) / f"day={day}" / FILE_NAME


def days(root: Path, mnemonic: str) -> list[str]:
    """The days (YYYY-MM-DD, sorted) that hold samples of ``mnemonic``."""
    folder = _mnemonic_dir(root, mnemonic)
    if not folder.is_dir():
        return []
    found = [
        entry.name[4:]
        for entry in os.scandir(folder)
        if entry.name.startswith("day=") and os.path.exists(os.path.join(entry.path, FILE_NAME))
    ]
    return sorted(found)


def sql_type(root: Path, mnemonic: str) -> str | None:
    """The stored ``sqldataType`` of ``mnemonic`` (None without samples)."""
    stored = days(root, mnemonic)
    if not stored:
        return None
    metadata = pq.read_schema(day_path(root, mnemonic, stored[0])).metadata or {}
    return metadata.get(SQL_TYPE_KEY, b"real").decode()


# --- writing ----------------------------------------------------------------------------


def _to_table(samples: Samples) -> pa.Table:
    numeric = samples.text is None
    value = (
        pa.array(samples.value, pa.float64()) if numeric else pa.nulls(len(samples), pa.float64())
    )
    text = pa.nulls(len(samples), pa.string()) if numeric else pa.array(samples.text, pa.string())
    table = pa.table([pa.array(samples.time_us, pa.int64()), value, text], schema=SCHEMA)
    return table.replace_schema_metadata({SQL_TYPE_KEY: samples.sql_type.encode()})


def _from_table(table: pa.Table, sql_type: str) -> Samples:
    time_us = table.column("time_us").to_numpy()
    if is_numeric(sql_type):
        return Samples(sql_type, time_us, table.column("value").to_numpy(zero_copy_only=False))
    text = np.array(table.column("text").to_pylist(), dtype=object)
    return Samples(sql_type, time_us, np.full(len(time_us), np.nan), text)


def _dedupe_last(samples: Samples) -> Samples:
    """Sorted by time, one sample per microsecond (the later-given one wins)."""
    order = np.argsort(samples.time_us, kind="stable")
    ordered = samples.take(order)
    t = ordered.time_us
    keep = np.ones(len(t), bool)
    keep[:-1] = t[1:] != t[:-1]
    return ordered.take(keep)


def write(root: Path, mnemonic: str, samples: Samples) -> int:
    """Add ``samples`` of ``mnemonic`` to the store, merging with stored days.

    Returns the number of day files written. ValueError when the mnemonic is
    stored with another ``sqldataType``.
    """
    mnemonic = mnemonic_name(mnemonic)
    if not len(samples):
        return 0
    stored_type = sql_type(root, mnemonic)
    if stored_type is not None and stored_type.lower() != samples.sql_type.lower():
        raise ValueError(
            f"{mnemonic} is stored with sqldataType {stored_type}; the new samples say "
            f"{samples.sql_type}"
        )
    day_index = samples.time_us // US_PER_DAY
    written = 0
    for day_number in np.unique(day_index):
        part = samples.take(day_index == day_number)
        day = day_of(int(day_number) * US_PER_DAY)
        path = day_path(root, mnemonic, day)
        if path.exists():
            old = _from_table(pq.read_table(path), samples.sql_type)
            part = concat([old, part], samples.sql_type)
        _write_file(path, _to_table(_dedupe_last(part)))
        written += 1
    return written


def _write_file(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
    pq.write_table(
        table,
        partial,
        row_group_size=ROW_GROUP_ROWS,
        compression=COMPRESSION,
        use_dictionary=["text"],
        # Times step by a near-constant cadence: delta encoding stores a 1 Hz
        # day's times in about a byte a sample instead of eight.
        column_encoding={"time_us": "DELTA_BINARY_PACKED"},
        write_statistics=["time_us"],
    )
    os.replace(partial, path)


# --- reading ----------------------------------------------------------------------------


def _group_bounds(meta: pq.FileMetaData) -> list[tuple[int, int]]:
    bounds = []
    for i in range(meta.num_row_groups):
        stats = meta.row_group(i).column(0).statistics
        bounds.append((stats.min, stats.max))
    return bounds


def read_day(
    root: Path,
    mnemonic: str,
    day: str,
    sql: str,
    lo_us: int | None = None,
    hi_us: int | None = None,
) -> Samples:
    """Samples of one day file with ``lo_us <= time_us <= hi_us`` (None: unbounded),
    reading only the row groups whose time range meets the window."""
    handle = pq.ParquetFile(day_path(root, mnemonic, day))
    lo = -(2**63) if lo_us is None else lo_us
    hi = 2**63 - 1 if hi_us is None else hi_us
    groups = [i for i, (a, b) in enumerate(_group_bounds(handle.metadata)) if b >= lo and a <= hi]
    if not groups:
        return Samples.empty(sql)
    samples = read_day_groups(handle, groups, sql)
    first = np.searchsorted(samples.time_us, lo, "left")
    last = np.searchsorted(samples.time_us, hi, "right")
    return samples.take(slice(first, last))


def last_before(root: Path, mnemonic: str, day: str, sql: str, before_us: int) -> Samples:
    """The last sample of one day file strictly before ``before_us`` (0 or 1 sample)."""
    handle = pq.ParquetFile(day_path(root, mnemonic, day))
    groups = [i for i, (a, _) in enumerate(_group_bounds(handle.metadata)) if a < before_us]
    if not groups:
        return Samples.empty(sql)
    samples = read_day_groups(handle, groups[-1:], sql)
    at = np.searchsorted(samples.time_us, before_us, "left")
    return samples.take(slice(at - 1, at))


def first_after(root: Path, mnemonic: str, day: str, sql: str, after_us: int) -> Samples:
    """The first sample of one day file strictly after ``after_us`` (0 or 1 sample)."""
    handle = pq.ParquetFile(day_path(root, mnemonic, day))
    groups = [i for i, (_, b) in enumerate(_group_bounds(handle.metadata)) if b > after_us]
    if not groups:
        return Samples.empty(sql)
    samples = read_day_groups(handle, groups[:1], sql)
    at = np.searchsorted(samples.time_us, after_us, "right")
    return samples.take(slice(at, at + 1))


def read_day_groups(handle: pq.ParquetFile, groups: list[int], sql: str) -> Samples:
    return _from_table(handle.read_row_groups(groups), sql)
