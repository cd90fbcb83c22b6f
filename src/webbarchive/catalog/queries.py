"""Catalog queries shared by the routers. Each takes a connection and the user,
and applies :mod:`webbarchive.catalog.rights`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, and_, func, select

from webbarchive.catalog.rights import (
    User,
    and_visible,
    observation_release_expr,
    product_release_expr,
    visible_products,
)
from webbarchive.catalog.schema import keywords, mnemonics, observations, products


def product_by_filename(conn: Connection, filename: str) -> dict[str, Any] | None:
    """The product row for ``filename`` with its effective release as
    ``release_mjd``, or None. Callers authorize with
    :func:`webbarchive.catalog.rights.check_named` before using it."""
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


def _codepoint_order(conn: Connection, column):
    """``column`` for ORDER BY in code-point order, as SQLite sorts text:
    PostgreSQL's locale collations ignore punctuation ("-" vs "0" in file names)."""
    return column.collate("C") if conn.dialect.name == "postgresql" else column


def observation_of_product(conn: Connection, obsid: int) -> dict[str, Any] | None:
    """The observation row ``obsid`` with its effective release (program
    override applied) as ``release_mjd``, or None."""
    row = (
        conn.execute(
            select(observations, observation_release_expr().label("release_mjd")).where(
                observations.c.obsid == obsid
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def named_product_observation(
    conn: Connection, filename: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The product named ``filename`` as :func:`webbarchive.catalog.rights.check_named`
    reads it (``filename``, ``proposal_id``, effective ``release_mjd``) and its
    observation as :func:`observation_of_product` gives it, in one statement
    (one round trip on PostgreSQL instead of two); ``(None, None)`` when no
    product has that name. Callers authorize the product before using either."""
    row = (
        conn.execute(
            select(
                observations,
                observation_release_expr().label("release_mjd"),
                products.c.filename.label("_product_filename"),
                products.c.proposal_id.label("_product_proposal_id"),
                product_release_expr().label("_product_release_mjd"),
            )
            .select_from(products.outerjoin(observations, products.c.obsid == observations.c.obsid))
            .where(products.c.filename == filename)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None, None
    product = {
        "filename": row["_product_filename"],
        "proposal_id": row["_product_proposal_id"],
        "release_mjd": row["_product_release_mjd"],
    }
    if row["obsid"] is None:  # no observation row (the foreign key forbids it)
        return product, None
    observation = {k: v for k, v in row.items() if not k.startswith("_product_")}
    return product, observation


def product_keywords(conn: Connection, product_id: int) -> list[tuple[str, str | None]]:
    """``(name, JSON-encoded value)`` of every keyword of a product, by name."""
    rows = conn.execute(
        select(keywords.c.name, keywords.c.value)
        .where(keywords.c.product_id == product_id)
        .order_by(_codepoint_order(conn, keywords.c.name))
    )
    return [(name, value) for name, value in rows]


def observation_products(
    conn: Connection,
    obsid: int,
    user: User,
    *,
    calib_level: int | None = None,
    limit: int = 1000,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """The products of observation ``obsid`` that ``user`` may read, by file
    name, with their effective release as ``release_mjd`` and the observation's
    obs_id, obs_collection and dataproduct_type (``obs_*`` labels); and the
    total number of them before ``limit``/``offset``."""
    where = and_visible(products.c.obsid == obsid, visible_products(user))
    if calib_level is not None:
        where = and_(where, products.c.calib_level == calib_level)
    total = conn.execute(select(func.count()).select_from(products).where(where)).scalar_one()
    query = (
        select(
            products,
            product_release_expr().label("release_mjd"),
            observations.c.obs_id.label("obs_obs_id"),
            observations.c.obs_collection.label("obs_obs_collection"),
            observations.c.dataproduct_type.label("obs_dataproduct_type"),
            observations.c.proposal_id.label("obs_proposal_id"),
        )
        .join(observations, observations.c.obsid == products.c.obsid)
        .where(where)
        .order_by(_codepoint_order(conn, products.c.filename))
        .limit(limit)
        .offset(offset)
    )
    return [dict(row) for row in conn.execute(query).mappings()], int(total)


def mnemonic_rows(
    conn: Connection, name: str | None = None, *, limit: int = 1000, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Engineering mnemonics (all, or the one named ``name``, case-insensitive)
    by name, and their total before ``limit``/``offset``."""
    where = mnemonics.c.tlmMnemonic == name.strip().upper() if name is not None else None
    count = select(func.count()).select_from(mnemonics)
    query = select(
        mnemonics.c.subsystem,
        mnemonics.c.tlmMnemonic,
        mnemonics.c.tlmIdentifier,
        mnemonics.c.description,
        mnemonics.c.sqlDataType,
        mnemonics.c.unit,
    ).order_by(_codepoint_order(conn, mnemonics.c.tlmMnemonic))
    if where is not None:
        count, query = count.where(where), query.where(where)
    total = conn.execute(count).scalar_one()
    rows = conn.execute(query.limit(limit).offset(offset)).mappings()
    return [dict(row) for row in rows], int(total)


def observation_by_obs_id(conn: Connection, obs_id: str) -> dict[str, Any] | None:
    """The observation ``obs_id`` with its effective release as ``release_mjd``,
    or None. Callers authorize with :func:`webbarchive.catalog.rights.check_named`."""
    row = (
        conn.execute(
            select(observations, observation_release_expr().label("release_mjd"))
            .where(observations.c.obs_id == obs_id)
            .order_by(observations.c.obsid)
            .limit(1)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None
