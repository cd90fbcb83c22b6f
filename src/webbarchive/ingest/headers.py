"""Header keywords as MAST's keyword service returns them.

Names are lower case with ``-`` turned into ``_`` (``DATE-OBS`` -> ``date_obs``);
values keep their FITS type, except where MAST types a keyword otherwise
(:mod:`webbarchive.catalog.keyword_types`: ``PROGRAM = '01039'`` -> 1039); booleans become ``"t"``/``"f"`` (MAST's
convention); date-time strings are normalised to ISO (``2022-05-07T12:04:20.098000``)
and get a ``<name>_mjd`` twin (UTC MJD, from astropy Time). ``DATE-OBS``,
which JWST writes as a date with the time in ``TIME-OBS``, is combined with it
the way MAST shows it. Structural keywords (``NAXISn``, ``TFORMn`` ...) are
left out: they describe the file, not the observation.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

import orjson
from astropy.io import fits
from astropy.time import Time

from webbarchive.catalog.keyword_types import mast_value

_STRUCTURAL = re.compile(
    r"^(SIMPLE|BITPIX|NAXIS\d*|EXTEND|XTENSION|PCOUNT|GCOUNT|TFIELDS|EXTNAME|EXTVER|EXTLEVEL"
    r"|T(FORM|TYPE|UNIT|DIM|NULL|SCAL|ZERO|DISP)\d+|CHECKSUM|DATASUM|ZIMAGE|ZBITPIX|ZNAXIS\d*"
    r"|ZTILE\d*|ZCMPTYPE|ZQUANTIZ|ZTENSION|ZPCOUNT|ZGCOUNT|THEAP|END|COMMENT|HISTORY|CONTINUE)$"
)
_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?$")

#: Keywords used by several modules, spelled once.
DATE_KEY = "date_obs"


def keyword_name(fits_name: str) -> str:
    """MAST's column name for a FITS keyword: ``DATE-OBS`` -> ``date_obs``."""
    return fits_name.strip().lower().replace("-", "_")


def parse_datetime(text: str) -> datetime | None:
    """A datetime for an ISO date or date-time string (``T`` or space, any
    number of decimals), else None."""
    match = _DATETIME.match(text.strip())
    if not match:
        return None
    day, clock = match.groups()
    clock = clock or "00:00:00"
    if clock.count(":") == 1:
        clock += ":00"
    whole, _, fraction = clock.partition(".")
    micro = int((fraction + "000000")[:6]) if fraction else 0
    try:
        parsed = datetime.strptime(f"{day}T{whole}", "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return parsed.replace(microsecond=micro)


def typed(value: Any) -> Any:
    """A FITS value as a JSON-ready Python value (MAST conventions)."""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, fits.card.Undefined) or value is None:
        return None
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, complex):
        return str(value)
    return str(value).rstrip()


def header_keywords(header: fits.Header, hdu_name: str) -> dict[str, tuple[str, Any]]:
    """``{name: (hdu_name, value)}`` of one header, structural keywords left out."""
    out: dict[str, tuple[str, Any]] = {}
    for card in header.cards:
        key = card.keyword
        if not key or _STRUCTURAL.match(key):
            continue
        out.setdefault(keyword_name(key), (hdu_name, typed(card.value)))
    return out


def keyword_rows(
    primary: fits.Header, science: fits.Header | None, science_name: str | None
) -> list[dict[str, Any]]:
    """Rows for the ``keywords`` table (without ``product_id``).

    The primary header wins when a keyword appears in both headers.
    """
    merged = header_keywords(primary, "PRIMARY")
    if science is not None:
        for name, entry in header_keywords(science, science_name or "SCI").items():
            merged.setdefault(name, entry)
    _combine_date_obs(merged)
    rows = []
    for name, (hdu, value) in merged.items():
        rows.extend(_rows_for(name, hdu, value))
    return _unique(rows)


def plain_rows(values: dict[str, Any], hdu: str) -> list[dict[str, Any]]:
    """Keyword rows from a mapping of already-plain values (association files)."""
    rows = []
    for name, value in values.items():
        rows.extend(_rows_for(keyword_name(name), hdu, typed(value)))
    return _unique(rows)


def _unique(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """First row per name: a real ``X_MJD`` keyword beats the twin of ``X``."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(row["name"], row)
    return _add_mjd(list(seen.values()))


def _combine_date_obs(merged: dict[str, tuple[str, Any]]) -> None:
    hdu, date = merged.get(DATE_KEY, (None, None))
    _, clock = merged.get("time_obs", (None, None))
    if (
        isinstance(date, str)
        and isinstance(clock, str)
        and re.fullmatch(r"\d{4}-\d{2}-\d{2}", date)
    ):
        merged[DATE_KEY] = (hdu, f"{date.strip()}T{clock.strip()}")


def _rows_for(name: str, hdu: str, value: Any) -> list[dict[str, Any]]:
    value = mast_value(name, value)  # PROGRAM '01039' is stored as MAST's 1039
    num = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        num = float(value)
    rows = [{"name": name[:72], "hdu": hdu, "value": encode(value), "num": num}]
    if isinstance(value, str) and (moment := parse_datetime(value)) is not None:
        rows[0]["value"] = encode(moment.isoformat())
        # the MJD is filled in by _add_mjd, one astropy Time for the whole header
        rows.append(
            {"name": f"{name}_mjd"[:72], "hdu": hdu, "value": None, "num": None, "_at": moment}
        )
    return rows


def _add_mjd(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    twins = [row for row in rows if "_at" in row]
    if twins:
        mjds = Time([row.pop("_at") for row in twins], scale="utc").mjd
        for row, mjd in zip(twins, mjds, strict=True):
            row["num"] = float(mjd)
            row["value"] = encode(float(mjd))
    return rows


def encode(value: Any) -> str:
    """JSON text of a keyword value (what ``keywords.value`` stores)."""
    return orjson.dumps(value).decode()


def decode(text: str | None) -> Any:
    """The typed value stored in ``keywords.value``."""
    return None if text is None else orjson.loads(text)
