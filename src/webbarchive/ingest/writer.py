"""Writing read files into the catalog (the main process is the only writer).

Each file is written inside ONE transaction together with its program, its
keywords, and the recomputed aggregates and sky cells of its observation (the
runner groups a few files per transaction for speed, and retries them one by
one if the group fails). A failure rolls all of it back, so the catalog never
holds half a product.

Release dates are decided in the same transaction: an auxiliary file without
exposure times (MSA metadata, association) takes the latest release of its
program's science products, and a science product that moves that latest
release moves its program's auxiliary files with it. A product whose release
cannot be decided yet (an MSA file before any science product of its program)
keeps none, which :mod:`webbarchive.catalog.rights` treats as exclusive: no
commit, and no ingest killed between two commits, ever shows a row to users
before its rights are known.

Identity: ``products.filename`` is unique across the archive (as at MAST). A
file whose name is already catalogued:

- same checksum: unchanged (only ``mtime``/``size`` are refreshed so the next
  run recognises it from ``stat`` alone; ``path`` moves to the new location
  only when the catalogued path no longer exists);
- different checksum (at the same or another path): the new file replaces the
  product in place (same ``product_id``), its keywords are rewritten and its
  observation recomputed.

Two files of one name with different content, both present, are a conflict the
runner settles before anything is read (:mod:`webbarchive.ingest.duplicates`
states the rule): only the file that wins reaches the writer.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from webbarchive.catalog import sky
from webbarchive.catalog.rights import now_mjd, planned_expr
from webbarchive.catalog.schema import keywords, observations, products, programs, sky_index
from webbarchive.ingest.headers import decode
from webbarchive.ingest.observation import KEYWORDS_USED, aggregate, product_fields
from webbarchive.ingest.reader import ReadResult

INGESTED, REPLACED, UNCHANGED = "ingested", "replaced", "unchanged"
ASSOCIATION = "asn"  # the suffix of association files
_FOOTPRINT_PREFERENCE = ("s_region", "wcs", "target")
_KEYWORD_BATCH = 5000
# Statements with bound parameters compile once and hit SQLAlchemy's cache.
_UPDATE_PRODUCT = update(products).where(products.c.product_id == bindparam("b_product_id"))
_UPDATE_OBSERVATION = update(observations).where(observations.c.obsid == bindparam("b_obsid"))


def known_files(engine: Engine) -> dict[str, tuple[int, float]]:
    """``{path: (size, mtime)}`` of every catalogued file."""
    with engine.connect() as conn:
        rows = conn.execute(select(products.c.path, products.c.size, products.c.mtime))
        return {path: (size, mtime) for path, size, mtime in rows}


def catalogued_paths(engine: Engine) -> dict[str, str]:
    """``{filename: path}`` of every catalogued file."""
    with engine.connect() as conn:
        return dict(conn.execute(select(products.c.filename, products.c.path)).all())


def write(engine: Engine, result: ReadResult, start_mjd: float) -> str:
    """Write one read file in its own transaction; return INGESTED, REPLACED or UNCHANGED."""
    return write_batch(engine, [(result, start_mjd)])[0]


def write_batch(engine: Engine, batch: list[tuple[ReadResult, float]]) -> list[str]:
    """Write several read files in ONE transaction (all or none), recomputing each
    touched observation once. The runner falls back to :func:`write` per file
    when a batch fails, so one bad file never blocks the others."""
    with engine.begin() as conn:
        touched: set[int] = set()
        outcomes = []
        proposals: set[str] = set()
        for result, start_mjd in batch:
            outcome, obsids = _write_product(conn, result, start_mjd)
            outcomes.append(outcome)
            touched.update(obsids)
            if outcome in (INGESTED, REPLACED) and result.product.get("proposal_id"):
                proposals.add(result.product["proposal_id"])
        touched.update(settle_auxiliary_releases(conn, proposals))
        for obsid in sorted(touched):
            recompute_observation(conn, obsid)
    return outcomes


def _write_product(conn: Connection, result: ReadResult, start_mjd: float) -> tuple[str, set[int]]:
    existing = (
        conn.execute(
            select(
                products.c.product_id, products.c.obsid, products.c.path, products.c.checksum
            ).where(products.c.filename == result.filename)
        )
        .mappings()
        .first()
    )
    if existing is not None and existing["checksum"] == result.checksum:
        _refresh(conn, existing, result)
        return UNCHANGED, set()
    if result.describes:  # an association joins an observation, never makes one
        obsid = described_observation(conn, result.describes)
        if obsid is None:
            names = ", ".join(result.describes)
            return f"association describes no catalogued product ({names})", set()
    if result.program:
        _upsert_program(conn, result.program)
    if not result.describes:
        obsid = _observation_id(conn, result.obs_id)
    row = {
        **result.product,
        "obsid": obsid,
        "ingestStartDate_mjd": start_mjd,
        "ingestCompletionDate_mjd": now_mjd(),
    }
    if existing is None:
        product_id = conn.execute(insert(products), row).inserted_primary_key[0]
    else:
        product_id = existing["product_id"]
        conn.execute(delete(keywords).where(keywords.c.product_id == product_id))
        conn.execute(_UPDATE_PRODUCT, {**row, "b_product_id": product_id})
    rows = [{**k, "product_id": product_id} for k in result.keywords]
    for start in range(0, len(rows), _KEYWORD_BATCH):
        conn.execute(insert(keywords), rows[start : start + _KEYWORD_BATCH])
    touched = {obsid} if existing is None else {obsid, existing["obsid"]}
    return (INGESTED if existing is None else REPLACED), touched


def _refresh(conn: Connection, existing: Any, result: ReadResult) -> None:
    values: dict[str, Any] = {"size": result.size, "mtime": result.mtime}
    if existing["path"] != result.path:
        if os.path.exists(existing["path"]):
            return  # a second copy elsewhere: the catalogued one stays authoritative
        values["path"] = result.path
    conn.execute(
        update(products).where(products.c.product_id == existing["product_id"]).values(**values)
    )


def _upsert_program(conn: Connection, program: dict[str, Any]) -> None:
    current = (
        conn.execute(select(programs).where(programs.c.proposal_id == program["proposal_id"]))
        .mappings()
        .first()
    )
    if current is None:
        conn.execute(insert(programs).values(**program))
        return
    changes = {k: v for k, v in program.items() if v is not None and current[k] != v}
    if changes:  # release_override_mjd is the admin's: never touched here
        conn.execute(
            update(programs)
            .where(programs.c.proposal_id == program["proposal_id"])
            .values(**changes)
        )


def _association_clause():
    return products.c.suffix == ASSOCIATION


def _holds_products(obs_id_clause):
    """Observations matching the clause that hold a product other than an association."""
    real = (
        select(products.c.obsid)
        .where(products.c.obsid == observations.c.obsid, ~_association_clause())
        .exists()
    )
    return select(observations.c.obsid, observations.c.obs_id).where(obs_id_clause, real)


def described_observation(conn: Connection, names: list[str]) -> int | None:
    """The observation an association joins: that of the first of its product names
    the catalog holds a product of. A template name (``{source_id}`` in a spec3
    association of a MOS observation) stands for every observation it matches; the
    first by obs_id is taken. None when no product it describes is catalogued."""
    for name in names:
        if "{" not in name:
            row = conn.execute(_holds_products(observations.c.obs_id == name)).first()
            if row is not None:
                return int(row.obsid)
            continue
        prefix = name.split("{", 1)[0]
        pattern = re.compile(
            "".join(
                "[a-z0-9-]+" if part.startswith("{") else re.escape(part)
                for part in re.split(r"(\{[^}]*\})", name)
            )
        )
        rows = conn.execute(
            _holds_products(func.substr(observations.c.obs_id, 1, len(prefix)) == prefix)
        ).all()
        matches = sorted((r.obs_id, int(r.obsid)) for r in rows if pattern.fullmatch(r.obs_id))
        if matches:
            return matches[0][1]
    return None


def drop_association_only_observations(engine: Engine) -> int:
    """Remove observations that hold nothing but association files (catalogs written
    before associations stopped making observations): their association files are
    then read again by this run and join the observation they describe."""
    with engine.begin() as conn:
        others = (
            select(products.c.obsid)
            .where(products.c.obsid == observations.c.obsid, ~_association_clause())
            .exists()
        )
        obsids = (
            conn.execute(
                select(observations.c.obsid).where(~others, ~planned_expr())  # plans hold none
            )
            .scalars()
            .all()
        )
        for obsid in obsids:
            _drop_observation(conn, int(obsid))
    return len(obsids)


def _drop_observation(conn: Connection, obsid: int) -> None:
    ids = select(products.c.product_id).where(products.c.obsid == obsid).scalar_subquery()
    conn.execute(delete(keywords).where(keywords.c.product_id.in_(ids)))
    conn.execute(delete(products).where(products.c.obsid == obsid))
    conn.execute(delete(sky_index).where(sky_index.c.obsid == obsid))
    conn.execute(delete(observations).where(observations.c.obsid == obsid))


def _observation_id(conn: Connection, obs_id: str) -> int:
    obsid = conn.execute(
        select(observations.c.obsid).where(observations.c.obs_id == obs_id)
    ).scalar()
    if obsid is None:
        obsid = conn.execute(
            insert(observations).values(obs_id=obs_id, obs_collection="JWST")
        ).inserted_primary_key[0]
    return int(obsid)


def recompute_observation(conn: Connection, obsid: int) -> None:
    """Rebuild an observation's CAOM parameters and sky cells from its products;
    delete it when no product is left."""
    members = (
        conn.execute(
            select(
                products.c.product_id,
                products.c.filename,
                products.c.suffix,
                products.c.productType,
                products.c.calib_level,
                products.c.s_region,
                products.c.footprint_source,
                products.c.publicReleaseDate_mjd,
            ).where(products.c.obsid == obsid)
        )
        .mappings()
        .all()
    )
    if all(m["suffix"] == ASSOCIATION for m in members):
        # nothing left but associations (or nothing at all): not an observation; its
        # association files are read again by the next run and join another one
        _drop_observation(conn, obsid)
        return
    values: dict[int, dict[str, Any]] = defaultdict(dict)
    for product_id, name, value in conn.execute(
        select(keywords.c.product_id, keywords.c.name, keywords.c.value).where(
            keywords.c.product_id.in_([m["product_id"] for m in members]),
            keywords.c.name.in_(KEYWORDS_USED),
        )
    ):
        values[product_id][name] = decode(value)
    contributions = []
    for m in members:
        fields = product_fields(values[m["product_id"]])
        fields["t_obs_release"] = m["publicReleaseDate_mjd"]
        contributions.append({**fields, **dict(m)})
    obs_id = conn.execute(
        select(observations.c.obs_id).where(observations.c.obsid == obsid)
    ).scalar_one()
    row = aggregate(obs_id, contributions)
    polygon, source = _observation_footprint(contributions)
    row["s_region"] = sky.to_stcs(polygon) if polygon else None
    row["footprint_source"] = source
    if polygon and (
        row["s_ra"] is None or (row["dataproduct_type"] == "image" and source != "target")
    ):
        row["s_ra"], row["s_dec"] = sky.centroid(polygon)  # an image is where its pixels are
    row.pop("obs_id")
    conn.execute(_UPDATE_OBSERVATION, {**row, "b_obsid": obsid})
    conn.execute(delete(sky_index).where(sky_index.c.obsid == obsid))
    cells = sky.index_rows(obsid, polygon)
    if cells:
        conn.execute(insert(sky_index), cells)


def _observation_footprint(members: list[dict[str, Any]]) -> tuple[sky.Polygon | None, str | None]:
    """Convex hull of the products' footprints of the best kind available
    (S_REGION, then WCS, then target box), science products first."""
    science = [m for m in members if m["productType"] == "SCIENCE"] or members
    for source in _FOOTPRINT_PREFERENCE:
        polygons = []
        for m in science:
            if m["footprint_source"] == source and m["s_region"]:
                try:
                    polygons.append(sky.parse_stcs(m["s_region"]))
                except sky.FootprintError:
                    continue
        if polygons:
            hull = sky.convex_hull(polygons)
            try:
                return sky.validate(hull), source
            except sky.FootprintError:
                continue
    return None, None


def _auxiliary():
    """Products that carry no exposure times of their own (MSA, association)."""
    return and_(products.c.productType != "SCIENCE", products.c.t_max.is_(None))


def settle_auxiliary_releases(conn: Connection, proposal_ids: set[str]) -> set[int]:
    """Give the auxiliary files of ``proposal_ids`` the latest release of their
    program's science products, so they never become public before the data they
    describe; runs inside the transaction that wrote the products. Returns the
    obsids whose products changed (their observations must be recomputed)."""
    touched: set[int] = set()
    for proposal in sorted(proposal_ids):
        latest = conn.execute(
            select(func.max(products.c.publicReleaseDate_mjd)).where(
                products.c.proposal_id == proposal, products.c.productType == "SCIENCE"
            )
        ).scalar()
        if latest is None:
            continue  # no decided science release yet: they stay undecided (hidden)
        stale = and_(
            products.c.proposal_id == proposal,
            _auxiliary(),
            or_(
                products.c.publicReleaseDate_mjd.is_(None),
                products.c.publicReleaseDate_mjd != latest,
            ),
        )
        obsids = conn.execute(select(products.c.obsid).where(stale).distinct()).scalars().all()
        if obsids:
            conn.execute(update(products).where(stale).values(publicReleaseDate_mjd=latest))
            touched.update(int(o) for o in obsids if o is not None)
    return touched
