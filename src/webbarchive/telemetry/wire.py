"""MAST's engineering CSV, read and written, and the samples it carries.

MAST answers ``mast:jwstedb/<MNEMONIC>-<start>-<end>.csv`` with::

    theTime,MJD,euvalue,sqldataType\r\n
    2022-02-02 22:24:57.797000,59612.9340022801,-0.7914493680,real\r\n

``theTime`` is UTC to the microsecond, ``MJD`` the same instant as a Modified
Julian Date with 10 decimals (derived from ``theTime`` here, so it is not
stored), ``euvalue`` the engineering-unit value and ``sqldataType`` the
EDB's SQL type of the mnemonic (``real``, ``float``, ``int``, ``tinyint``,
``varchar`` ...). Lines end with CRLF, the last one too.

Times are held as int64 microseconds since 1970-01-01 UTC (``time_us``);
numeric values as float64, text values (``varchar`` mnemonics: wheel states,
mechanism names) as strings. Written back, a real is the shortest text that
reads as the same float64 (MAST pads to 10 decimals; clients parse either the
same) and ``MJD`` is exact to its 10 decimals.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = ("theTime", "MJD", "euvalue", "sqldataType")
CRLF = "\r\n"
MJD_UNIX_EPOCH = 40587.0
US_PER_DAY = 86_400_000_000

#: SQL types whose values are integers (written without a decimal point).
INTEGER_TYPES = frozenset({"int", "tinyint", "smallint", "bigint", "bit"})
#: SQL types whose values are numbers; every other type is text.
NUMERIC_TYPES = INTEGER_TYPES | frozenset({"real", "float", "double", "decimal", "numeric"})


def is_numeric(sql_type: str) -> bool:
    return sql_type.strip().lower() in NUMERIC_TYPES


@dataclass
class Samples:
    """Samples of one mnemonic, in time order.

    ``time_us``: int64 microseconds since 1970-01-01 UTC; ``value``: float64
    (NaN for text mnemonics); ``text``: object array of strings for text
    mnemonics, None for numeric ones.
    """

    sql_type: str
    time_us: np.ndarray
    value: np.ndarray
    text: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.time_us)

    @classmethod
    def empty(cls, sql_type: str) -> Samples:
        text = None if is_numeric(sql_type) else np.array([], dtype=object)
        return cls(sql_type, np.array([], np.int64), np.array([], np.float64), text)

    def take(self, index: np.ndarray | slice) -> Samples:
        text = None if self.text is None else self.text[index]
        return Samples(self.sql_type, self.time_us[index], self.value[index], text)


def concat(parts: list[Samples], sql_type: str) -> Samples:
    """Samples of ``parts`` end to end (callers keep them in time order)."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Samples.empty(sql_type)
    text = None if parts[0].text is None else np.concatenate([p.text for p in parts])
    return Samples(
        parts[0].sql_type,
        np.concatenate([p.time_us for p in parts]),
        np.concatenate([p.value for p in parts]),
        text,
    )


def times_to_us(texts: list[str] | np.ndarray) -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS[.ffffff]`` (or with ``T``) UTC to microseconds since 1970."""
    cleaned = np.array([str(t).strip().replace(" ", "T", 1).rstrip("Z") for t in texts])
    try:
        moments = cleaned.astype("datetime64[us]")
    except ValueError as exc:
        raise ValueError(f"theTime is not 'YYYY-MM-DD HH:MM:SS.ffffff': {exc}") from None
    if np.isnat(moments).any():  # numpy reads "" and "NaT" as not-a-time
        raise ValueError("theTime is empty or not a time")
    return moments.astype(np.int64)


def us_to_times(time_us: np.ndarray) -> list[str]:
    """Microseconds since 1970 to MAST's ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    iso = np.datetime_as_string(time_us.astype("datetime64[us]"), unit="us")
    return [t.replace("T", " ") for t in iso]


def us_to_mjd(time_us: np.ndarray) -> np.ndarray:
    """Microseconds since 1970 (UTC) to MJD (days)."""
    return MJD_UNIX_EPOCH + time_us / US_PER_DAY


def mjd_texts(time_us: np.ndarray) -> pa.Array:
    """MJD to 10 decimals, exact: the day fraction is time_us / 8.64e10, so in
    units of 1e-10 day it is time_us * 25 / 216, rounded half up in integers."""
    tenths = (time_us.astype(np.int64) * 25 + 108) // 216
    days = pa.array(MJD_UNIX_EPOCH + tenths // 10**10, pa.float64()).cast(pa.int64())
    fraction = pc.utf8_lpad(pa.array(tenths % 10**10).cast(pa.string()), 10, "0")
    return pc.binary_join_element_wise(days.cast(pa.string()), fraction, ".")


def _value_texts(samples: Samples) -> pa.Array:
    if samples.text is not None:
        quoted = [
            '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v
            for v in (str(t) for t in samples.text)
        ]
        return pa.array(quoted, pa.string())
    if samples.sql_type.strip().lower() in INTEGER_TYPES:
        return pa.array(samples.value.astype(np.int64)).cast(pa.string())
    # Shortest text that reads back as the same float64.
    return pa.array(samples.value, pa.float64()).cast(pa.string())


def render_csv(samples: Samples) -> str:
    """The CSV MAST serves for ``samples``: header, one line per sample, CRLF.

    Built column-wise in Arrow (no Python loop over samples): a 3-hour window
    of a 1 Hz mnemonic (10,800 lines) renders in a few milliseconds."""
    header = ",".join(HEADER) + CRLF
    if not len(samples):
        return header
    times = pa.array(samples.time_us, pa.timestamp("us")).cast(pa.string())
    kind = pa.scalar(samples.sql_type + CRLF, pa.string())
    lines = pc.binary_join_element_wise(
        times, mjd_texts(samples.time_us), _value_texts(samples), kind, ","
    )
    # A string array's data buffer is its values end to end: the body, as is.
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, np.int32)[lines.offset : lines.offset + len(lines) + 1]
    body = data[int(bounds[0]) : int(bounds[-1])].to_pybytes().decode()
    return header + body


def parse_csv(text: str, origin: str = "CSV") -> Samples:
    """Samples from MAST's CSV (CRLF or LF line ends); ValueError names the line."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip() for h in next(reader, [])]
    if [h.lower() for h in header[:4]] != [h.lower() for h in HEADER]:
        raise ValueError(
            f"{origin}: the header must be {','.join(HEADER)} (got {','.join(header)[:200]!r})"
        )
    times, values, types = [], [], set()
    for line, row in enumerate(reader, start=2):
        if not row:
            continue
        if len(row) < 4:
            raise ValueError(f"{origin}:{line}: expected 4 columns ({','.join(HEADER)})")
        times.append(row[0])
        values.append(row[2])
        types.add(row[3].strip())
    if len(types) > 1:
        raise ValueError(f"{origin}: one mnemonic has one sqldataType (found {sorted(types)})")
    sql_type = types.pop() if types else "real"
    return from_columns(times, values, sql_type, origin)


def from_columns(times, values, sql_type: str, origin: str) -> Samples:
    """Samples from the theTime and euvalue columns, sorted by time."""
    time_us = times_to_us(times)
    if is_numeric(sql_type):
        try:
            value = np.array([float(v) for v in values], dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(
                f"{origin}: sqldataType {sql_type} with a non-numeric euvalue"
            ) from None
        text = None
    else:
        value = np.full(len(time_us), np.nan)
        text = np.array(["" if v is None else str(v) for v in values], dtype=object)
    order = np.argsort(time_us, kind="stable")
    samples = Samples(sql_type, time_us, value, text)
    return samples.take(order)
