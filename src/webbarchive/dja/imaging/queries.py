"""Catalog queries of the DJA tools, all through :mod:`webbarchive.catalog.rights`.

Candidates come from HEALPix cells of the region (``dja_exposure_cells`` for
exposures, ``sky_index`` for mosaics), rights and instrument/filter filters are
applied in SQL, and every candidate is confirmed
with the exact spherical overlap test of :class:`~webbarchive.dja.imaging.geometry.Region`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sqlalchemy import Connection, or_, select

from webbarchive.catalog import sky
from webbarchive.catalog.rights import (
    User,
    product_release_expr,
    visible_observations,
    visible_products,
)
from webbarchive.catalog.schema import observations, products, sky_index
from webbarchive.dja.imaging.geometry import Region, pad
from webbarchive.dja.imaging.names import filter_patterns
from webbarchive.dja.imaging.tables import (
    EXPOSURE_CELL_DEPTH,
    EXPOSURE_COLUMNS,
    dja_associations,
    dja_exposure_cells,
    dja_exposures,
    dja_mosaics,
)

ASSOC_COLUMNS = ("assoc_name", "target", "proposal_id", "proposal_pi", "filter",
                 "instrument_name", "status")  # fmt: skip
MOSAIC_COLUMNS = (
    "file assoc_name filter modtime tile pixscale_mas detector version status nexp visit "
    "instrument exptime expstart sky ra dec t_obs_release footprint dateobs preview"
).split()
_CORNERS = [f"{c}{i}" for i in range(1, 5) for c in ("ra", "dec")]


def _filter_clause(column, filters: Sequence[str]):
    """Rows whose DJA filter any of ``filters`` means (``filter_matches`` of
    names.py; each name already checked against its ``FILTER_NAME``)."""
    return or_(*[column.like(p) for f in filters for p in filter_patterns(f)])


def _candidates(region: Region):
    return (
        select(sky_index.c.obsid)
        .where(sky.cells_clause(region.cell_ranges()))
        .distinct()
        .scalar_subquery()
    )


def _fetch_tuples(conn: Connection, query) -> list[tuple]:
    """Rows of ``query`` as plain DB-API tuples: at 10^6 exposures a cone returns
    hundreds of candidates, and SQLAlchemy's Row objects cost as much as the
    query. The statement still goes through SQLAlchemy's compiled cache (its
    shape repeats: IN lists expand, ranges come in a few counts)."""
    result = conn.execute(query)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


def _fine_candidates(region: Region):
    """Exposures with a ``dja_exposure_cells`` cell in the region's cover."""
    cells = sky.cells_clause(region.cell_ranges(EXPOSURE_CELL_DEPTH), dja_exposure_cells.c.hpx)
    # no DISTINCT: IN ignores repeats, and SQLite would satisfy DISTINCT by walking
    # the obsid index instead of the (hpx, obsid) key ranges
    return select(dja_exposure_cells.c.obsid).where(cells).scalar_subquery()


def exposures(
    conn: Connection,
    region: Region,
    user: User,
    instruments: Sequence[str] = (),
    filters: Sequence[str] = (),
) -> list[dict]:
    """Exposures (DJA columns) whose footprint overlaps ``region``, visible to ``user``,
    sorted by start time then file.

    Two steps: the candidates' corners only (from the covering index, filters in
    SQL), the exact test, then the full rows of the exposures kept, joined to
    their observations for the data rights - a third of the candidates pass the
    exact test, and reading only their corners is what keeps a query in deep
    fields fast.
    """
    query = select(dja_exposures.c.obsid, *[dja_exposures.c[c] for c in _CORNERS]).where(
        dja_exposures.c.obsid.in_(_fine_candidates(region))
    )
    if instruments:
        query = query.where(dja_exposures.c.instrume.in_([i.upper() for i in instruments]))
    if filters:
        query = query.where(_filter_clause(dja_exposures.c.filter, filters))
    candidates = _fetch_tuples(conn, query)
    if not candidates:
        return []
    corners = np.array([row[1:] for row in candidates], dtype=float).reshape(-1, 4, 2)
    keep = [row[0] for row, k in zip(candidates, region.overlaps(corners), strict=True) if k]
    found: list[dict] = []
    columns = [dja_exposures.c[name] for name in EXPOSURE_COLUMNS]
    for start in range(0, len(keep), 5000):  # bounded IN lists
        chunk = keep[start : start + 5000]
        rows = _fetch_tuples(
            conn,
            select(*columns)
            .join(observations, observations.c.obsid == dja_exposures.c.obsid)
            .where(dja_exposures.c.obsid.in_(chunk), visible_observations(user)),
        )
        found.extend(dict(zip(EXPOSURE_COLUMNS, row, strict=True)) for row in rows)
    found.sort(key=lambda r: (r["expstart"] or 0.0, r["file"]))
    return found


def associations(
    conn: Connection,
    region: Region,
    user: User,
    instruments: Sequence[str] = (),
    filters: Sequence[str] = (),
) -> tuple[list[dict], list[dict]]:
    """Associations with a visible exposure overlapping ``region``, and those exposures."""
    found = exposures(conn, region, user, instruments, filters)
    names = sorted({r["assoc"] for r in found if r["assoc"]})
    if not names:
        return [], found
    rows = [
        dict(r)
        for r in conn.execute(
            select(dja_associations).where(dja_associations.c.assoc_name.in_(names))
        ).mappings()
    ]
    rows.sort(key=lambda r: (r["t_min"] or 0.0, r["assoc_name"]))
    return rows, found


def mosaics(
    conn: Connection,
    region: Region,
    user: User,
    filters: Sequence[str] = (),
    kinds: Sequence[str] = ("assoc",),
) -> list[dict]:
    """Mosaics whose footprint overlaps ``region`` that ``user`` may read (the others
    do not exist for them: a position must not tell where hidden data lie)."""
    release = product_release_expr()
    query = (
        select(
            dja_mosaics,
            products.c.path,
            products.c.proposal_id,
            products.c.t_min.label("product_t_min"),
            release.label("t_obs_release"),
        )
        .join(products, products.c.product_id == dja_mosaics.c.product_id)
        .where(dja_mosaics.c.obsid.in_(_candidates(region)))
        .where(dja_mosaics.c.kind.in_(list(kinds)))
        .where(visible_products(user))
    )
    if filters:
        query = query.where(_filter_clause(dja_mosaics.c.filter, filters))
    rows = [dict(r) for r in conn.execute(query).mappings()]
    if not rows:
        return []
    polygons = []
    for r in rows:
        try:
            polygons.append(sky.parse_stcs(r["footprint"]))
        except (sky.FootprintError, TypeError):
            polygons.append([(0.0, -90.0)] * 3)  # never matches a region
    keep = region.overlaps(pad(polygons))
    found = [r for r, k in zip(rows, keep, strict=True) if k]
    names = {r["assoc_name"] for r in found if r["assoc_name"]}
    status = {}
    if names:
        status = dict(
            conn.execute(
                select(dja_associations.c.assoc_name, dja_associations.c.status).where(
                    dja_associations.c.assoc_name.in_(sorted(names))
                )
            ).all()
        )
    for r in found:
        r["status"] = status.get(r["assoc_name"], 2)
    found.sort(key=lambda r: (r["expstart"] or 0.0, r["file"]))
    return found


def wht_path(conn: Connection, product_id: int | None) -> str | None:
    if product_id is None:
        return None
    return conn.execute(
        select(products.c.path).where(products.c.product_id == product_id)
    ).scalar_one_or_none()


def known_filters(conn: Connection, user: User) -> list[str]:
    """Every filter of the mosaics and exposures ``user`` may read (DJA names): a
    filter only an exclusive-access program has is not named to others."""
    mosaic_filters = (
        select(dja_mosaics.c.filter)
        .join(products, products.c.product_id == dja_mosaics.c.product_id)
        .where(visible_products(user))
        .distinct()
    )
    exposure_filters = (
        select(dja_exposures.c.filter)
        .join(observations, observations.c.obsid == dja_exposures.c.obsid)
        .where(visible_observations(user))
        .distinct()
    )
    names = {f for (f,) in conn.execute(mosaic_filters) if f}
    names |= {f for (f,) in conn.execute(exposure_filters) if f}
    return sorted(names)
