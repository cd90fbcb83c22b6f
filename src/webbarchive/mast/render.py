"""Replies in Mashup form: status, msg, fields, data and a paging block that
always reports the total, so astroquery pages on and nothing is cut silently."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

#: Largest page served; astroquery asks for 50,000 and pages on when told.
MAX_PAGESIZE = 100_000
#: Largest page number: its offset must fit the databases' 64-bit integers.
MAX_PAGE = 1_000_000_000


class MashupError(Exception):
    """Answered as HTTP 200 ``{"status": "ERROR", "msg": ...}``, as MAST does
    (astroquery raises RemoteServiceError with the message)."""


@dataclass(frozen=True)
class MashupPage:
    page: int = 1
    pagesize: int = 50_000

    @classmethod
    def parse(cls, request: dict[str, Any]) -> MashupPage:
        try:
            page = int(1 if request.get("page") is None else request["page"])
            pagesize = int(50_000 if request.get("pagesize") is None else request["pagesize"])
        except (TypeError, ValueError):
            raise MashupError("page and pagesize must be positive integers") from None
        if not (1 <= page <= MAX_PAGE and pagesize >= 1):
            raise MashupError(
                f"page must be an integer in 1..{MAX_PAGE:,} and pagesize a positive integer"
            )
        return cls(page, min(pagesize, MAX_PAGESIZE))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.pagesize


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
