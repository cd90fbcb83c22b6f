"""Parsing shared by every router: MAST data URIs and paging."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from webbarchive import uris
from webbarchive.api.errors import bad_request

MAX_LIMIT = 100_000
MAX_OFFSET = 2**62


#: ``mast:JWST/product/<file>`` or a bare file name -> the file name; a bad one
#: raises :class:`webbarchive.uris.UriError`, which the API answers as a 400.
filename_from_uri = uris.filename_from_uri


def product_uri(filename: str) -> str:
    return f"mast:JWST/product/{filename}"


@dataclass(frozen=True)
class Page:
    """A window on a result list. ``paging()`` reports it with the total and
    whether the limit cut the result, so no list is ever silently truncated."""

    limit: int
    offset: int = 0

    @classmethod
    def parse(
        cls, limit: Any, offset: Any, *, default: int = 1000, maximum: int = MAX_LIMIT
    ) -> Page:
        try:
            lim = default if limit in (None, "") else int(limit)
            off = 0 if offset in (None, "") else int(offset)
        except (TypeError, ValueError):
            raise bad_request(
                f"limit and offset must be integers (got limit={limit!r}, offset={offset!r})",
                accepted={"limit": f"1..{maximum}", "offset": ">= 0"},
            ) from None
        # The offset bound keeps it within a 64-bit SQL integer.
        if not 1 <= lim <= maximum or not 0 <= off <= MAX_OFFSET:
            raise bad_request(
                f"limit must be 1..{maximum} and offset >= 0 (got {lim}, {off})",
                accepted={"limit": f"1..{maximum}", "offset": f"0..{MAX_OFFSET}"},
            )
        return cls(lim, off)

    def paging(self, total: int, returned: int) -> dict[str, Any]:
        return {
            "total": total,
            "limit": self.limit,
            "offset": self.offset,
            "returned": returned,
            "truncated": self.offset + returned < total,
        }

    def window(self, rows: list) -> tuple[list, dict[str, Any]]:
        """This page of ``rows`` (a whole result in memory) and its paging."""
        shown = rows[self.offset : self.offset + self.limit]
        return shown, self.paging(len(rows), len(shown))


def paging_headers(paging: dict[str, Any]) -> dict[str, str]:
    """Paging as headers, for bodies with no room for it (CSV, HTML, MAST's JSON)."""
    return {
        "X-Total-Count": str(paging["total"]),
        "X-Returned": str(paging["returned"]),
        "X-Truncated": "true" if paging["truncated"] else "false",
    }
