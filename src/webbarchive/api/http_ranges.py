"""HTTP range requests and conditional requests (RFC 9110 sections 13 and 14)
for file downloads.

Only single byte ranges are answered with 206. A request for several ranges
is answered with the whole file (200): RFC 9110 lets a server ignore
``Range``, and every client we serve (astroquery's resume, curl ``-C -``)
asks for one range.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime

from webbarchive.api.errors import ApiError

ACCEPTED_RANGES = ["bytes=<first>-<last>", "bytes=<first>-", "bytes=-<suffix length>"]
_SPEC = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``first`` to ``last`` inclusive of a file of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        return self.last - self.first + 1

    def content_range(self) -> str:
        return f"bytes {self.first}-{self.last}/{self.size}"


def unsatisfiable(size: int, message: str) -> ApiError:
    return ApiError(
        416,
        message,
        accepted=ACCEPTED_RANGES,
        headers={"Content-Range": f"bytes */{size}", "Accept-Ranges": "bytes"},
    )


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range asked for, or None to send the whole file.

    None for: no header, a unit other than ``bytes`` (which RFC 9110 says to
    ignore), and several ranges (answered in full). Raises 416 for a
    malformed or unsatisfiable byte range.
    """
    if header is None:
        return None
    unit, sep, specs = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    parts = [p for p in specs.split(",") if p.strip()]
    if not parts:
        raise unsatisfiable(size, f"malformed Range header {header!r}")
    ranges = [_one(part, size, header) for part in parts]
    if len(ranges) > 1:
        # Satisfiable as a whole if any part is: answer them all with the file.
        if all(r is None for r in ranges):
            raise unsatisfiable(size, f"no range of {header!r} overlaps the {size}-byte file")
        return None
    if ranges[0] is None:
        raise unsatisfiable(size, f"range {header!r} does not overlap the {size}-byte file")
    return ranges[0]


def _one(spec: str, size: int, header: str) -> ByteRange | None:
    """One range-spec; None when it is valid but unsatisfiable."""
    match = _SPEC.match(spec)
    if not match or (not match[1] and not match[2]):
        raise unsatisfiable(size, f"malformed Range header {header!r}")
    first, last = match[1], match[2]
    if not first:  # suffix range: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return None
        return ByteRange(max(0, size - suffix), size - 1, size)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        raise unsatisfiable(size, f"malformed Range header {header!r}: last byte before first")
    if start >= size:
        return None
    return ByteRange(start, min(end, size - 1), size)


# --- conditional requests -------------------------------------------------------------


def http_date(unix_seconds: float) -> str:
    return formatdate(int(unix_seconds), usegmt=True)


def _parse_http_date(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # RFC 9110: an invalid date is ignored


def _entity_tags(value: str) -> list[str]:
    return [tag.strip() for tag in value.split(",") if tag.strip()]


def _opaque(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def _matches(header: str, etag: str | None, *, weak: bool) -> bool:
    tags = _entity_tags(header)
    if "*" in tags:
        return etag is not None
    if etag is None:
        return False
    if weak:
        return any(_opaque(t) == _opaque(etag) for t in tags)
    return any(t == etag and not t.startswith("W/") for t in tags)


def precondition(headers, etag: str | None, mtime: float) -> int | None:
    """The status a conditional GET/HEAD gets before any body: 412, 304, or
    None to go on. Follows the evaluation order of RFC 9110 section 13.2.2."""
    seconds = int(mtime)
    if_match = headers.get("if-match")
    if if_match is not None:
        if not _matches(if_match, etag, weak=False):
            return 412
    else:
        since = _parse_http_date(headers.get("if-unmodified-since"))
        if since is not None and seconds > since:
            return 412
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if _matches(if_none_match, etag, weak=True):
            return 304
    else:
        since = _parse_http_date(headers.get("if-modified-since"))
        if since is not None and seconds <= since:
            return 304
    return None


def range_applies(headers, etag: str | None, mtime: float) -> bool:
    """Whether ``Range`` is honoured given ``If-Range`` (an entity tag, compared
    strongly, or the exact Last-Modified date)."""
    if_range = headers.get("if-range")
    if if_range is None:
        return True
    if_range = if_range.strip()
    if if_range.startswith('"') or if_range.startswith("W/"):
        return etag is not None and if_range == etag
    when = _parse_http_date(if_range)
    return when is not None and int(mtime) == when
