"""What the portal's observation and product pages show of products."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection

from webbarchive.catalog.queries import product_keywords


def decoded(value: str | None) -> Any:
    """A keyword's stored JSON value as a Python value (the text when it is not JSON)."""
    try:
        return json.loads(value) if value is not None else None
    except ValueError:
        return value


def keyword_rows(conn: Connection, product_id: int) -> list[tuple[str, Any]]:
    """(name, value) of every header keyword of a product, by name."""
    return [(name, decoded(value)) for name, value in product_keywords(conn, product_id)]


def si_keywords(
    conn: Connection, observation: Mapping[str, Any], files: list[Mapping[str, Any]]
) -> tuple[str | None, list[tuple[str, Any]]]:
    """The science-instrument keywords an observation page shows: those of the
    product its ``dataURL`` names (the representative product), if the user
    may read it (it is then among ``files``); (file name, rows)."""
    uri = observation.get("dataURL") or ""
    chosen = next((f for f in files if uri.endswith("/" + f["filename"])), None)
    if chosen is None:
        return None, []
    return chosen["filename"], keyword_rows(conn, chosen["product_id"])
