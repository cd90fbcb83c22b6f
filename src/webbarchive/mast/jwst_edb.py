"""The Mashup services of the JWST engineering database (used by jwql's and
jwedb's ``edb_interface`` through ``Mast.service_request_async``):

- ``Mast.JwstEdb.Mnemonics`` (no params): the mnemonic dictionary, every row;
- ``Mast.JwstEdb.Dictionary`` (``{"mnemonic": name}``): that mnemonic's row;
- ``Mast.JwstEdb.GetTimeseries.All`` (``{"mnemonic", "start", "end"}``, times
  as ``YYYY-MM-DD HH:MM:SS[.fff]``, UTC): the samples from start to end with
  the bracketing ones, rows ``theTime, MJD, euvalue, sqldataType`` as in the
  EDB CSV (``euvalue`` a number for numeric mnemonics).

The dictionary is public; the time series needs a logged-in user
(:func:`webbarchive.catalog.rights.may_read_engineering`, checked by the router).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from webbarchive.catalog.queries import mnemonic_rows
from webbarchive.mast.render import MashupError, MashupPage, MashupTable
from webbarchive.telemetry import TelemetryError, query, store
from webbarchive.telemetry.wire import INTEGER_TYPES, Samples, us_to_mjd, us_to_times

MNEMONICS = "mast.jwstedb.mnemonics"
DICTIONARY = "mast.jwstedb.dictionary"
TIMESERIES = "mast.jwstedb.gettimeseries.all"
SERVICES = {MNEMONICS: "Mast.JwstEdb.Mnemonics", DICTIONARY: "Mast.JwstEdb.Dictionary",
            TIMESERIES: "Mast.JwstEdb.GetTimeseries.All"}  # fmt: skip
#: Services that need a logged-in user.
NEEDS_LOGIN = frozenset({TIMESERIES})

DICTIONARY_FIELDS = [
    {"name": "subsystem", "type": "string"},
    {"name": "tlmMnemonic", "type": "string"},
    {"name": "tlmIdentifier", "type": "int"},
    {"name": "description", "type": "string"},
    {"name": "sqlDataType", "type": "string"},
    {"name": "unit", "type": "string"},
]


def needs_login(service: Any) -> bool:
    return str(service or "").lower() in NEEDS_LOGIN


def _dictionary_row(row: dict[str, Any]) -> dict[str, Any]:
    """A dictionary row as MAST writes it (empty strings, not nulls, for text)."""
    return {
        f["name"]: (row.get(f["name"]) if f["type"] == "int" else row.get(f["name"]) or "")
        for f in DICTIONARY_FIELDS
    }


def _mnemonic_param(params: dict[str, Any]) -> str:
    raw = params.get("mnemonic")
    if not isinstance(raw, str) or not raw.strip():
        raise MashupError(
            "the parameter 'mnemonic' (a mnemonic name, e.g. SA_ZATTEST2) is required"
        )
    try:
        return store.mnemonic_name(raw)
    except TelemetryError as exc:
        raise MashupError(f"{exc.message}; accepted: {exc.accepted}") from None


def run(conn: Connection, service: str, params: dict[str, Any], page: MashupPage) -> MashupTable:
    """One JwstEdb service call (``service`` lower case, one of :data:`SERVICES`)."""
    if service == MNEMONICS:
        rows, total = mnemonic_rows(conn, limit=page.pagesize, offset=page.offset)
        return MashupTable(DICTIONARY_FIELDS, [_dictionary_row(r) for r in rows], total)
    name = _mnemonic_param(params)
    rows, _ = mnemonic_rows(conn, name, limit=1)
    if service == DICTIONARY:
        if not rows:
            raise MashupError(f"Mnemonic {name} not found in the engineering dictionary")
        return MashupTable(DICTIONARY_FIELDS, [_dictionary_row(rows[0])], 1)
    try:
        start = query.parse_time(params.get("start"), "start")
        end = query.parse_time(params.get("end"), "end")
        interval = query.Interval(name, start, end)
        found = query.samples(store.telemetry_root(conn.engine), interval, known=bool(rows))
    except TelemetryError as exc:
        accepted = f"; accepted: {exc.accepted}" if exc.accepted else ""
        raise MashupError(exc.message + accepted) from None
    if not len(found) and rows and rows[0].get("sqlDataType"):
        found = Samples.empty(rows[0]["sqlDataType"])
    return _timeseries_table(found, page)


def _timeseries_table(samples: Samples, page: MashupPage) -> MashupTable:
    window = samples.take(slice(page.offset, page.offset + page.pagesize))
    times, mjds = us_to_times(window.time_us), us_to_mjd(window.time_us)
    kind = samples.sql_type.lower()
    if window.text is not None:
        values: list[Any] = [str(v) for v in window.text]
        value_type = "string"
    elif kind in INTEGER_TYPES:
        values, value_type = [int(v) for v in window.value], "int"
    else:
        values, value_type = [float(v) for v in window.value], "float"
    fields = [
        {"name": "theTime", "type": "string"},
        {"name": "MJD", "type": "float"},
        {"name": "euvalue", "type": value_type},
        {"name": "sqldataType", "type": "string"},
    ]
    rows = [
        {"theTime": t, "MJD": round(float(m), 10), "euvalue": v, "sqldataType": samples.sql_type}
        for t, m, v in zip(times, mjds, values, strict=True)
    ]
    return MashupTable(fields, rows, len(samples))
