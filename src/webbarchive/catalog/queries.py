"""Catalog queries shared by the routers. Each takes a connection and the user,
and applies :mod:`webbarchive.catalog.rights`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from webbarchive.catalog.rights import product_release_expr
from webbarchive.catalog.schema import products


def product_by_filename(conn: Connection, filename: str) -> dict[str, Any] | None:
    """The product row for ``filename`` with its effective release as
    ``release_mjd``, or None. Callers authorize with
    :func:`webbarchive.api.deps.authorize` before using it."""
    row = (
        conn.execute(
            select(products, product_release_expr().label("release_mjd")).where(
                products.c.filename == filename
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
