"""One mnemonic over an interval, as the EDB answers it: every sample with
``start <= theTime <= end`` plus the samples bracketing the interval (the last
one before ``start`` and the first one after ``end``, however far away), which
clients such as the jwst pipeline's ``engdb_mast`` keep or drop themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from webbarchive.telemetry import store
from webbarchive.telemetry.errors import TelemetryInputError, TelemetryNotFound
from webbarchive.telemetry.wire import Samples, concat, times_to_us

#: ``mast:jwstedb/<MNEMONIC>-<yyyymmddThhmmss>-<yyyymmddThhmmss>.csv``
EDB_URI_PREFIX = "mast:jwstedb/"
EDB_URI_FORM = "mast:jwstedb/<MNEMONIC>-<yyyymmddThhmmss>-<yyyymmddThhmmss>.csv"
_URI = re.compile(r"^(?P<mnemonic>[^/]+)-(?P<start>\d{8}T\d{6})-(?P<end>\d{8}T\d{6})\.csv$", re.I)
#: Time forms taken by the Mashup service ``Mast.JwstEdb.GetTimeseries.All``.
TIME_FORMS = ["YYYY-MM-DD HH:MM:SS[.ffffff]", "YYYY-MM-DDTHH:MM:SS[.ffffff]", "yyyymmddThhmmss"]


@dataclass(frozen=True)
class Interval:
    """A request for ``mnemonic`` from ``start_us`` to ``end_us`` (inclusive,
    microseconds since 1970-01-01 UTC)."""

    mnemonic: str
    start_us: int
    end_us: int

    def __post_init__(self) -> None:
        if self.start_us > self.end_us:
            raise TelemetryInputError(
                f"the interval of {self.mnemonic} ends before it starts",
                accepted="a start time at or before the end time",
            )


def is_edb_uri(uri: str | None) -> bool:
    return bool(uri) and uri.strip().lower().startswith(EDB_URI_PREFIX)


def parse_edb_uri(uri: str) -> Interval:
    """The interval a ``mast:jwstedb/...csv`` uri asks for."""
    name = uri.strip()[len(EDB_URI_PREFIX) :]
    match = _URI.match(name)
    if not match:
        raise TelemetryInputError(f"malformed EDB uri {uri!r}", accepted=EDB_URI_FORM)
    mnemonic = store.mnemonic_name(match["mnemonic"])
    start, end = (_compact_time(match[k], uri) for k in ("start", "end"))
    return Interval(mnemonic, start, end)


def _compact_time(text: str, uri: str) -> int:
    try:
        moment = datetime.strptime(text, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise TelemetryInputError(
            f"{text!r} in {uri!r} is not a valid time", accepted=EDB_URI_FORM
        ) from None
    return int(moment.timestamp()) * 1_000_000


def parse_time(text: object, what: str) -> int:
    """A Mashup time parameter (see :data:`TIME_FORMS`) in microseconds since 1970."""
    raw = str(text or "").strip()
    if re.fullmatch(r"\d{8}T\d{6}", raw):
        return _compact_time(raw, raw)
    try:
        return int(times_to_us([raw])[0])
    except ValueError:
        raise TelemetryInputError(f"{what} {raw!r} is not a time", accepted=TIME_FORMS) from None


def samples(root: Path, interval: Interval, known: bool = False) -> Samples:
    """The samples of ``interval`` with its bracketing samples.

    ``known``: the mnemonic is in the dictionary, so no samples at all is an
    empty answer rather than :class:`TelemetryNotFound`.
    """
    mnemonic = interval.mnemonic
    stored = store.days(root, mnemonic)
    sql = store.sql_type(root, mnemonic)
    if sql is None:
        if known:
            return Samples.empty("real")
        raise TelemetryNotFound(f"no mnemonic {mnemonic!r} in this archive's engineering data")
    first_day = store.day_of(interval.start_us)
    last_day = store.day_of(interval.end_us)
    lo = int(np.searchsorted(stored, first_day, "left"))
    hi = int(np.searchsorted(stored, last_day, "right"))
    inside = [
        store.read_day(root, mnemonic, day, sql, interval.start_us, interval.end_us)
        for day in stored[lo:hi]
    ]
    before = Samples.empty(sql)
    for day in reversed(stored[: min(hi, lo + 1)]):
        before = store.last_before(root, mnemonic, day, sql, interval.start_us)
        if len(before):
            break
    after = Samples.empty(sql)
    for day in stored[max(lo, hi - 1) :]:
        after = store.first_after(root, mnemonic, day, sql, interval.end_us)
        if len(after):
            break
    return concat([before, *inside, after], sql)
