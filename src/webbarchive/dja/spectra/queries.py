"""Catalog queries of the DJA spectroscopy tools. Every query takes the requesting
:class:`~webbarchive.catalog.rights.User` and keeps only what it may read:

- msaexp spectra (and their traces) and redshifts follow the rights of the program
  in their file name or header, or are public, as the collection's
  :class:`~webbarchive.catalog.rights.CommunityRights` say
  (:func:`~webbarchive.catalog.rights.visible_community`); a spectrum whose program
  has no catalogued JWST product is hidden while that program's release is unknown.
- MSA shutter rows need their exposure (a JWST product,
  :func:`~webbarchive.catalog.rights.visible_products`) and the ``msa`` collection's
  rule for their program.

``policy`` defaults to every collection following its program (the strictest).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from sqlalchemy import Connection, String, and_, cast, select

from webbarchive.catalog import sky
from webbarchive.catalog.rights import (
    DEFAULT_COMMUNITY_RIGHTS,
    CommunityRights,
    User,
    community_release_expr,
    visible_community,
    visible_products,
)
from webbarchive.catalog.schema import products
from webbarchive.dja.spectra.geometry import parse_footprint
from webbarchive.dja.spectra.redshifts import merged_redshift
from webbarchive.dja.spectra.tables import (
    EXTRACTION_COLUMNS,
    SLIT_COLUMNS,
    mosfire_spectra,
    nirspec_extractions,
    nirspec_redshifts,
    nirspec_slits,
    nirspec_traces,
)

#: A shutter is < 1" across: the dec prefilter widens the cone by this much (deg).
_SHUTTER_MARGIN_DEG = 2.0 / 3600.0


def _dec_window(column, dec: float, radius_deg: float):
    pad = radius_deg + _SHUTTER_MARGIN_DEG
    return and_(column >= dec - pad, column <= dec + pad)


def _visible_slits(user: User, policy: CommunityRights):
    """Shutter rows ``user`` may read (the query joins their exposure's product)."""
    program = cast(nirspec_slits.c.program, String)
    return and_(visible_products(user), visible_community("msa", program, user, policy))


def slits_in_cone(
    conn: Connection,
    user: User,
    ra: float,
    dec: float,
    radius_deg: float,
    policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS,
) -> list[dict[str, Any]]:
    """Shutters whose footprint overlaps the cone, in DJA's columns, by root and shutter."""
    query = (
        select(*[nirspec_slits.c[c] for c in SLIT_COLUMNS])
        .join(products, products.c.product_id == nirspec_slits.c.product_id)
        .where(_dec_window(nirspec_slits.c.dec, dec, radius_deg), _visible_slits(user, policy))
        .order_by(nirspec_slits.c.root, nirspec_slits.c.slitlet_id, nirspec_slits.c.shutter_column)
    )
    rows = []
    for row in conn.execute(query).mappings():
        polygon = parse_footprint(row["footprint"])
        if sky.polygon_intersects_cone(polygon, ra, dec, radius_deg):
            rows.append(dict(row))
    return rows


def slit_counts(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Shutter rows counted by (program, grating, filter), DJA's ``count=True`` summary."""
    counts = Counter((r["program"], r["grating"], r["filter"]) for r in rows)
    return [
        {"program": p, "count": n, "grating": g, "filter": f}
        for (p, g, f), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0] or 0, str(kv[0][1]), str(kv[0][2]))
        )
    ]


#: DJA's short form of an MSA file: the visit (``jw01345061001``), optionally with
#: its configuration number (``jw01345061001_01``), as the seed writes it.
MSA_PREFIX = re.compile(r"^jw\d{11}(_\d{2})?$")


def msa_files_named(conn: Connection, metafile: str) -> list[str]:
    """The MSA metadata files ``metafile`` names: that file, or, for DJA's short form
    (:data:`MSA_PREFIX`), every MSA file whose name starts with it and ``_`` (DJA highlights
    the shutters whose ``msametfl`` starts with ``metafile``). Code-point order;
    empty when none exists. Callers authorize each before using it."""
    if MSA_PREFIX.match(metafile):
        # "_" closes the prefix: jw01345061001 is not the start of jw013450610011_...
        where = and_(
            products.c.filename.startswith(metafile + "_", autoescape=True),
            products.c.suffix == "msa",
        )
    else:
        where = products.c.filename == metafile
    names = conn.execute(select(products.c.filename).where(where)).scalars()
    return sorted(set(names))


def shutters_of_metafile(
    conn: Connection,
    user: User,
    metafile: str,
    ra: float | None = None,
    dec: float | None = None,
    radius_deg: float | None = None,
    policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS,
) -> list[dict[str, Any]]:
    """Shutter polygons for a ``/thumb?nirspec=True&metafile=`` overlay.

    Returns dicts with ``polygon`` (list of (ra, dec) deg), ``is_source``, ``msametfl``,
    ``patt_num`` and ``highlight`` (the row's metafile starts with ``metafile``, as
    DJA colours it). With a cone, every visible shutter in it is returned (others drawn
    in ``msa_other``); without one, only the shutters of ``metafile``.
    """
    query = (
        select(
            nirspec_slits.c.footprint,
            nirspec_slits.c.is_source,
            nirspec_slits.c.msametfl,
            nirspec_slits.c.patt_num,
        )  # fmt: skip
        .join(products, products.c.product_id == nirspec_slits.c.product_id)
        .where(_visible_slits(user, policy), nirspec_slits.c.valid.is_(True))
    )
    if ra is not None and dec is not None and radius_deg is not None:
        query = query.where(_dec_window(nirspec_slits.c.dec, dec, radius_deg))
    elif metafile:
        query = query.where(nirspec_slits.c.msametfl.startswith(metafile, autoescape=True))
    else:
        return []
    out = []
    for row in conn.execute(query):
        polygon = parse_footprint(row.footprint)
        if ra is not None and not sky.polygon_intersects_cone(polygon, ra, dec, radius_deg):
            continue
        out.append({
            "polygon": polygon, "is_source": bool(row.is_source), "msametfl": row.msametfl,
            "patt_num": row.patt_num,
            "highlight": bool(metafile) and str(row.msametfl).startswith(metafile),
        })  # fmt: skip
    return out


def _extraction_query(user: User, policy: CommunityRights):
    program = nirspec_extractions.c.proposal_id
    return (
        select(
            *[
                nirspec_extractions.c[c]
                for c in EXTRACTION_COLUMNS
                if c not in ("z", "grade", "comment")
            ],
            nirspec_redshifts.c.z,
            nirspec_redshifts.c.grade,
            nirspec_redshifts.c.comment,
            nirspec_extractions.c.path,
            nirspec_extractions.c.objid,
            nirspec_extractions.c.program,
            nirspec_extractions.c.proposal_id,
            community_release_expr("msaexp", program, policy).label("release_mjd"),
        )  # fmt: skip
        .select_from(nirspec_extractions)
        .outerjoin(
            nirspec_redshifts,
            and_(
                nirspec_redshifts.c.file == nirspec_extractions.c.file,
                visible_community("redshifts", program, user, policy),
            ),
        )
        .where(visible_community("msaexp", program, user, policy))
    )


def extractions_in_cone(
    conn: Connection,
    user: User,
    ra: float,
    dec: float,
    radius_deg: float,
    policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS,
) -> list[dict[str, Any]]:
    query = (
        _extraction_query(user, policy)
        .where(_dec_window(nirspec_extractions.c.dec, dec, radius_deg))
        .order_by(nirspec_extractions.c.root, nirspec_extractions.c.file)
    )
    rows = []
    for row in conn.execute(query).mappings():
        if sky.angular_distance_deg(ra, dec, row["ra"], row["dec"]) <= radius_deg:
            rows.append(dict(row))
    return rows


def extraction_by_file(
    conn: Connection, user: User, file: str, policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS
) -> dict[str, Any] | None:
    """One visible spectrum by file name, or None."""
    row = (
        conn.execute(_extraction_query(user, policy).where(nirspec_extractions.c.file == file))
        .mappings()
        .first()
    )
    return dict(row) if row else None


def extraction_exists(
    conn: Connection, file: str, policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS
) -> dict[str, Any] | None:
    """The spectrum's program and effective release whatever the user (for 401/403)."""
    program = nirspec_extractions.c.proposal_id
    row = (
        conn.execute(
            select(
                program,
                community_release_expr("msaexp", program, policy).label("release_mjd"),
            ).where(nirspec_extractions.c.file == file)  # fmt: skip
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def spectra_of_source(
    conn: Connection, user: User, objid: int, policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS
) -> list[dict[str, Any]]:
    query = (
        _extraction_query(user, policy)
        .where(nirspec_extractions.c.objid == objid)
        .order_by(nirspec_extractions.c.root, nirspec_extractions.c.file)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def file_redshift(
    conn: Connection, user: User, file: str, policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS
) -> dict[str, Any] | None:
    this = extraction_by_file(conn, user, file, policy)
    if this is None:
        return None
    spectra = (
        spectra_of_source(conn, user, this["objid"], policy)
        if this["objid"] is not None
        else [this]
    )
    return merged_redshift(file, spectra)


def traces_of(conn: Connection, file: str) -> list[dict[str, Any]]:
    query = (
        select(nirspec_traces)
        .where(nirspec_traces.c.file == file)
        .order_by(nirspec_traces.c.exposure_index)
    )
    return [dict(r) for r in conn.execute(query).mappings()]


def traces_on_exposure(
    conn: Connection,
    user: User,
    exposure: str,
    detector: str | None,
    policy: CommunityRights = DEFAULT_COMMUNITY_RIGHTS,
):
    """Traces of every visible spectrum extracted from ``exposure`` and ``detector``."""
    visible_files = select(nirspec_extractions.c.file).where(
        visible_community("msaexp", nirspec_extractions.c.proposal_id, user, policy)
    )
    query = select(nirspec_traces).where(
        nirspec_traces.c.exposure == exposure, nirspec_traces.c.file.in_(visible_files)
    )
    if detector:
        query = query.where(nirspec_traces.c.detector == detector)
    return [dict(r) for r in conn.execute(query).mappings()]


def mosfire_in_cone(conn: Connection, ra: float, dec: float, radius_deg: float):
    """MOSFIRE spectra whose target lies within the cone (Keck data: all public)."""
    pad = radius_deg
    query = (
        select(mosfire_spectra)
        .where(mosfire_spectra.c.dec_targ >= dec - pad, mosfire_spectra.c.dec_targ <= dec + pad)
        .order_by(mosfire_spectra.c.mosfire_id)
    )
    out = []
    for row in conn.execute(query).mappings():
        if row["ra_targ"] is None or not math.isfinite(row["ra_targ"]):
            continue
        if sky.angular_distance_deg(ra, dec, row["ra_targ"], row["dec_targ"]) <= radius_deg:
            out.append(dict(row))
    return out


#: Where DJA serves the MOSFIRE spectra its listings name (seed 003).
MOSFIRE_BUCKET = "https://s3.amazonaws.com/mosfire-pipeline/Spectra/"


def mosfire_spectrum_path(conn: Connection, file: str) -> tuple[bool, str | None]:
    """Whether a MOSFIRE listing names ``file``, and the path of the spectrum when this
    archive holds it: ``Spectra/<file>`` beside the listing, never outside that folder
    (a listing's ``file`` with ``..`` in it does not reach elsewhere)."""
    import os

    listings = conn.execute(
        select(mosfire_spectra.c.source_path).where(mosfire_spectra.c.file == file).distinct()
    ).scalars()
    named = False
    for listing in listings:
        named = True
        if not listing:
            continue
        root = os.path.realpath(os.path.join(os.path.dirname(listing), "Spectra"))
        path = os.path.realpath(os.path.join(root, file))
        if path.startswith(root + os.sep) and os.path.isfile(path):
            return True, path
    return named, None
