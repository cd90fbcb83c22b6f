"""Replies in Mashup form: status, msg, fields, data and a paging block that
always reports the total, so astroquery pages on and nothing is cut silently."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Largest page served; astroquery asks for 50,000 and pages on when told.
MAX_PAGESIZE = 100_000
#: Rows a page may start after: far beyond any catalog, well inside the 64-bit
#: OFFSET both databases take.
MAX_OFFSET = 2**53


class MashupError(Exception):
    """Answered as HTTP 200 ``{"status": "ERROR", "msg": ...}``, as MAST does
    (astroquery raises RemoteServiceError with the message)."""


@dataclass(frozen=True)
class MashupPage:
    page: int = 1
    pagesize: int = 50_000

    @classmethod
    def parse(cls, request: dict[str, Any]) -> MashupPage:
        page = _whole(request.get("page"), 1, "page")
        pagesize = min(_whole(request.get("pagesize"), 50_000, "pagesize"), MAX_PAGESIZE)
        if page > MAX_OFFSET // pagesize:
            raise MashupError(
                f"page must be an integer from 1 to {MAX_OFFSET // pagesize:,} with pagesize "
                f"{pagesize:,} (got {request.get('page')!r})"
            )
        return cls(page, pagesize)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.pagesize


def _whole(value: Any, default: int, name: str) -> int:
    """A positive whole number (an integral float such as 2.0 too) or MashupError."""
    if value is None:
        return default
    number: Any = value
    if isinstance(value, str):
        try:
            number = float(value) if value.strip() else None
        except ValueError:
            number = None
    if isinstance(number, bool) or not isinstance(number, int | float):
        number = None
    elif isinstance(number, float):
        number = int(number) if math.isfinite(number) and number.is_integer() else None
    if number is None or number < 1:
        raise MashupError(f"{name} must be a positive integer (got {value!r})")
    return number


@dataclass
class MashupTable:
    fields: list[dict[str, str]]
    rows: list[dict[str, Any]]
    total: int


def reply(table: MashupTable, page: MashupPage) -> dict[str, Any]:
    return {
        "status": "COMPLETE",
        "msg": "",
        "fields": table.fields,
        "data": table.rows,
        "paging": {
            "page": page.page,
            "pageSize": page.pagesize,
            "pagesFiltered": max(1, math.ceil(table.total / page.pagesize)),
            "rows": len(table.rows),
            "rowsFiltered": table.total,
            "rowsTotal": table.total,
        },
    }


def count_table(count: int) -> MashupTable:
    """The COUNT_BIG(*) reply: ``data: [{"Column1": N}]``."""
    return MashupTable([{"name": "Column1", "type": "int"}], [{"Column1": int(count)}], 1)


def error(message: str) -> dict[str, Any]:
    return {"status": "ERROR", "msg": message, "fields": [], "data": []}


def executing() -> dict[str, Any]:
    return {"status": "EXECUTING", "msg": "", "fields": [], "data": []}


def selected_columns(raw: Any) -> list[str] | None:
    """``columns``: "*" (None), "a,b,c" or a JSON list; "COUNT_BIG(*)" is handled by callers."""
    if raw in (None, "", "*"):
        return None
    names = raw if isinstance(raw, list) else str(raw).split(",")
    names = [str(n).strip() for n in names if str(n).strip()]
    return None if not names or names == ["*"] else names


def is_count(raw: Any) -> bool:
    return isinstance(raw, str) and raw.replace(" ", "").upper() == "COUNT_BIG(*)"
