"""CSV and HTML tables of the DJA tools (DJA's CSV is pandas-style: a header line,
empty fields for missing values; its HTML is a plain readable table)."""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Sequence


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value) if value == value else ""
    return str(value)


def csv_text(columns: Sequence[str], rows: Iterable[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        # csv writes None as "" and floats as repr; only NaN needs blanking.
        writer.writerow(
            [None if v.__class__ is float and v != v else v for v in map(row.get, columns)]
        )
    return buffer.getvalue()


def html_table(
    title: str,
    columns: Sequence[str],
    rows: list[dict],
    links: dict[str, str] | None = None,
    note: str = "",
    raw: set[str] = frozenset(),
) -> str:
    """A readable HTML page; ``links`` maps a column to the row key holding its URL,
    ``raw`` names columns whose values are already HTML (links, preview images)."""
    links = links or {}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            if c in raw:
                cells.append(f"<td>{row.get(c) or ''}</td>")
                continue
            text = html.escape(_cell(row.get(c)))
            url = row.get(links[c]) if c in links else None
            if url:
                text = f'<a href="{html.escape(url)}">{text or "link"}</a>'
            cells.append(f"<td>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:sans-serif;font-size:13px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px}th{background:#eee}</style></head><body>"
        f"<h3>{html.escape(title)}</h3><p>{html.escape(note)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
        "</body></html>"
    )
