"""MAST's "viz" JWST metadata API (``/viz/api/v0.1/``), as jdaviz calls it.

Five GET endpoints with the field names, order, types and nesting of MAST's
documented examples (seed 000, "API for JWST Metadata"): ``parameters``,
``keywords/search``, ``products``, ``info/keywords`` and ``info/mnemonics``.
Each also answers with a trailing slash (``/info/keywords/``), as MAST's
examples write it.

Every endpoint that takes a ``uri`` reads the product through
:func:`webbarchive.api.deps.readable_product` (404 unknown, 401/403 exclusive
access) and the user from :func:`webbarchive.api.deps.current_user`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import Connection, Engine

from webbarchive.api.deps import (
    authorize_product,
    catalog,
    current_user,
    read_catalog,
    readable_product_on,
)
from webbarchive.api.errors import bad_request, not_found
from webbarchive.api.openapi_docs import LIMIT, OFFSET, PRODUCT_URI, json_errors, refine
from webbarchive.api.params import Page, filename_from_uri, paging_headers, product_uri
from webbarchive.catalog import keyword_types, queries
from webbarchive.catalog.keyword_dictionary import keyword_dictionary, lookup
from webbarchive.catalog.rights import EXCLUSIVE_ACCESS, User, rights_for

router = APIRouter(prefix="/viz/api/v0.1", tags=["viz (MAST JWST metadata)"])

URI_DOC = "mast:JWST/product/<filename> or a bare product file name"
CALIB_LEVELS = (1, 2, 3, 4)
#: MAST's CAOM ``project`` of every pipeline product.
PRODUCT_PROJECT = "CALJWST"

#: The seed's ``parameters`` fields, in its order.
PARAMETER_FIELDS = (
    "dataproduct_type",
    "calib_level",
    "obs_collection",
    "obs_id",
    "obsType",
    "intentType",
    "target_name",
    "s_ra",
    "s_dec",
    "mtFlag",
    "t_min",
    "t_max",
    "t_exptime",
    "wavelength_region",
    "instrument_name",
    "filters",
    "em_min",
    "em_max",
    "pol_states",
    "target_classification",
    "obs_title",
    "t_obs_release",
    "proposal_pi",
    "proposal_id",
    "proposal_type",
    "provenance_name",
    "project",
    "sequence_number",
    "s_region",
    "jpegURL",
    "dataURL",
    "dataRights",
    "metaDataRights",
    "srcDen",
    "obsid",
    "objID",
)
#: The product fields that open and close ``keywords/search``; a header
#: keyword with one of these names is shadowed by the product's own value.
KEYWORD_HEAD = ("ArchiveFileID", "filename", "fileSetName", "productLevel")
KEYWORD_TAIL = (
    "fileSize",
    "checksum",
    "ingestStartDate",
    "ingestStartDate_mjd",
    "ingestCompletionDate",
    "ingestCompletionDate_mjd",
    "FileTypeID",
    "publicReleaseDate",
    "publicReleaseDate_mjd",
    "isRestricted",
    "isItar",
    "isStale",
    "FileSetId",
)
_MJD_EPOCH = datetime(1858, 11, 17)


def _product(conn: Connection, user: User, uri: str | None) -> dict[str, Any]:
    return readable_product_on(conn, user, filename_from_uri(uri))


def _isot(mjd: float | None) -> str | None:
    """MJD (UTC) -> ``2022-07-02T22:17:45.037000``, MAST's date form."""
    if mjd is None:
        return None
    return (_MJD_EPOCH + timedelta(days=mjd)).isoformat()


def _calib_level(level: str | None) -> int | None:
    if level is None or not level.strip():
        return None
    try:
        value = int(level.strip())
    except ValueError:
        value = None
    if value not in CALIB_LEVELS:
        raise bad_request(
            f"level must be a calibration level (got {level!r})", accepted=list(CALIB_LEVELS)
        )
    return value


def _json(body: Any, paging: dict[str, Any] | None = None) -> Response:
    """``body`` as JSON, serialised by orjson directly: FastAPI's response-model
    path costs ~20 ms on a 5000-row list. ``paging`` becomes the
    ``X-Total-Count`` / ``X-Truncated`` headers."""
    headers = None if paging is None else paging_headers(paging)
    return Response(orjson.dumps(body), media_type="application/json", headers=headers)


# --- renderers ---------------------------------------------------------------------


def render_parameters(observation: dict[str, Any]) -> dict[str, Any]:
    """The seed's flat CAOM observation dict."""
    rights = rights_for(observation["release_mjd"])
    row = {
        **observation,
        "dataRights": rights,
        "metaDataRights": rights,
        "proposal_id": None
        if observation["proposal_id"] is None
        else str(observation["proposal_id"]),
        "mtFlag": None if observation["mtFlag"] is None else bool(observation["mtFlag"]),
    }
    return {name: row.get(name) for name in PARAMETER_FIELDS}


def render_keywords(product: dict[str, Any], keywords: list[tuple[str, str | None]]) -> dict:
    """The seed's flat keyword dict: product identity, every header keyword
    (typed as MAST types it, :mod:`webbarchive.catalog.keyword_types`), then the archive's file facts."""
    result: dict[str, Any] = {
        "ArchiveFileID": product["product_id"],
        "filename": product["filename"],
        "fileSetName": product["fileSetName"],
        "productLevel": product["productLevel"],
    }
    shadowed = set(KEYWORD_HEAD) | set(KEYWORD_TAIL)
    for name, value in keywords:
        if name not in shadowed:
            result[name] = keyword_types.mast_value(name, keyword_types.decode(value))
    release = product["release_mjd"]
    result.update(
        fileSize=product["size"],
        checksum=product["checksum"],
        ingestStartDate=_isot(product["ingestStartDate_mjd"]),
        ingestStartDate_mjd=product["ingestStartDate_mjd"],
        ingestCompletionDate=_isot(product["ingestCompletionDate_mjd"]),
        ingestCompletionDate_mjd=product["ingestCompletionDate_mjd"],
        # MAST's internal file-type and file-set numbers have no equivalent here.
        FileTypeID=None,
        publicReleaseDate=_isot(release),
        publicReleaseDate_mjd=release,
        isRestricted=rights_for(release) == EXCLUSIVE_ACCESS,
        isItar=False,
        # A changed file replaces its rows at ingest, so no row is ever stale.
        isStale=False,
        FileSetId=None,
    )
    return result


def render_product(row: dict[str, Any]) -> dict[str, Any]:
    """One CAOM product row of ``products``, in the seed's field order."""
    proposal_id = row["proposal_id"] or row["obs_proposal_id"]
    return {
        "obsID": row["obsid"],
        "obs_collection": row["obs_obs_collection"],
        "obs_id": row["obs_obs_id"],
        "dataproduct_type": row["obs_dataproduct_type"] or row["dataproduct_type"],
        "type": row["type"],
        "productType": row["productType"],
        "productGroupDescription": row["productGroupDescription"],
        "productSubGroupDescription": row["productSubGroupDescription"],
        "productDocumentationURL": None,
        "project": PRODUCT_PROJECT,
        "prvversion": row["prvversion"],
        "proposal_id": None if proposal_id is None else str(proposal_id),
        "dataURI": product_uri(row["filename"]),
        "productFilename": row["filename"],
        "description": row["description"],
        "size": row["size"],
        "parent_obsid": row["obsid"],
        "dataRights": rights_for(row["release_mjd"]),
        "calib_level": row["calib_level"],
        "exp_type": row["exp_type"],
        "template": row["template"],
    }


def render_mnemonic(row: dict[str, Any]) -> dict[str, Any]:
    text = ("subsystem", "tlmMnemonic", "description", "sqlDataType", "unit")
    return {
        name: ("" if row[name] is None and name in text else row[name])
        for name in (
            "subsystem",
            "tlmMnemonic",
            "tlmIdentifier",
            "description",
            "sqlDataType",
            "unit",
        )
    }


# --- endpoints ---------------------------------------------------------------------


@router.get(
    "/parameters", openapi_extra=refine(("uri",), uri=PRODUCT_URI), responses=json_errors(403, 404)
)
@router.get("/parameters/", include_in_schema=False)
def parameters(
    uri: str | None = Query(None, description=URI_DOC),
    engine: Engine = Depends(read_catalog),
    user: User = Depends(current_user),
) -> Response:
    """The CAOM parameters of the observation a product belongs to.

    A flat dict with exactly MAST's fields in MAST's order; ``null`` where the
    archive does not know a value. dataRights and metaDataRights are computed
    now from the observation's effective release (program override applied).
    """
    filename = filename_from_uri(uri)
    with engine.connect() as conn:  # one statement: each costs a round trip
        product, observation = queries.named_product_observation(conn, filename)
    authorize_product(user, product, filename)
    if observation is None:  # a product row always has its observation (foreign key)
        raise not_found(f"no observation for product {product['filename']!r}")
    return _json(render_parameters(observation))


@router.get(
    "/keywords/search",
    openapi_extra=refine(("uri",), uri=PRODUCT_URI),
    responses=json_errors(403, 404),
)
@router.get("/keywords/search/", include_in_schema=False)
def keywords_search(
    uri: str | None = Query(None, description=URI_DOC),
    engine: Engine = Depends(read_catalog),
    user: User = Depends(current_user),
) -> Response:
    """Every science-instrument keyword of one product file.

    ``ArchiveFileID``, ``filename``, ``fileSetName``, ``productLevel``, then the
    header keywords (lower case, ``-`` as ``_``, dates also as ``<name>_mjd``,
    booleans as ``"t"``/``"f"``) by name, then ``fileSize``, ``checksum`` (md5),
    the ingest and public release dates (ISO and MJD), ``FileTypeID`` and
    ``FileSetId`` (MAST-internal numbers: ``null`` here), ``isRestricted``
    (still in exclusive access), ``isItar`` and ``isStale``.
    """
    with engine.connect() as conn:  # one connection: each costs round trips
        product = _product(conn, user, uri)
        keywords = queries.product_keywords(conn, product["product_id"])
    return _json(render_keywords(product, keywords))


@router.get(
    "/products",
    openapi_extra=refine(
        ("uri",),
        uri=PRODUCT_URI,
        level={"type": "string", "enum": ["", "1", "2", "3", "4"]},
        limit=LIMIT,
        offset=OFFSET,
    ),
    responses=json_errors(403, 404),
)
@router.get("/products/", include_in_schema=False)
def products(
    uri: str | None = Query(None, description=URI_DOC),
    level: str | None = Query(
        None, description="calib_level to keep: 1, 2, 3 or 4 (all if absent)"
    ),
    limit: str | None = Query(None, description="at most this many products (default 1000)"),
    offset: str | None = Query(None, description="skip this many products first"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    """The products of the observation a product belongs to.

    ``{"<obs_id>": [product, ...]}`` by file name, as MAST. Products the
    caller may not read (exclusive access) are left out. MAST's shape has no
    room for paging, so paging travels in headers: ``X-Total-Count`` is the
    number of products matching (after ``level`` and rights), ``X-Truncated``
    is ``true`` when ``limit``/``offset`` left some of them out.
    """
    page = Page.parse(limit, offset)
    calib_level = _calib_level(level)
    with engine.connect() as conn:  # one connection: each costs round trips
        product = _product(conn, user, uri)
        rows, total = queries.observation_products(
            conn,
            product["obsid"],
            user,
            calib_level=calib_level,
            limit=page.limit,
            offset=page.offset,
        )
        if rows:
            obs_id = rows[0]["obs_obs_id"]
        else:
            observation = queries.observation_of_product(conn, product["obsid"])
            obs_id = observation["obs_id"] if observation else product["filename"]
    return _json({obs_id: [render_product(row) for row in rows]}, page.paging(total, len(rows)))


@router.get(
    "/info/keywords",
    responses={
        200: {
            "description": "keyword definitions by schema group and model attribute",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "additionalProperties": {"type": "object"},
                        },
                    }
                }
            },
        },
        **json_errors(404),
    },
)
@router.get("/info/keywords/", include_in_schema=False)
def info_keywords(
    name: str | None = Query(None, description="a FITS keyword, any case (all if absent)"),
) -> Response:
    """The JWST keyword dictionary, from stdatamodels' schemas.

    ``{"<schema>.<section>.schema.json": {"<model attribute>": {fits_keyword,
    title, description, type, units, example, default_value, source,
    sw_source, calculation, destination, sql_dtype, si, mode, level, fits_hdu,
    section, misc}}}``; see :mod:`webbarchive.catalog.keyword_dictionary` for
    how schema files map to group names. With ``name``, only the groups
    defining that keyword; an unknown keyword is a 404.
    """
    if name is None or not name.strip():
        return Response(_dictionary_json(), media_type="application/json")
    found = lookup(name)
    if found is None:
        raise not_found(
            f"no JWST keyword named {name.strip().upper()!r} in the stdatamodels schemas; "
            "GET info/keywords without 'name' lists them all"
        )
    return _json(found)


_DICTIONARY_JSON: bytes | None = None


def _dictionary_json() -> bytes:
    # The whole dictionary is ~0.5 MB of JSON that never changes in a process:
    # serialise it once.
    global _DICTIONARY_JSON
    if _DICTIONARY_JSON is None:
        _DICTIONARY_JSON = orjson.dumps(keyword_dictionary())
    return _DICTIONARY_JSON


@router.get(
    "/info/mnemonics",
    openapi_extra=refine(
        name={"type": "string", "pattern": "^[^\\x00-\\x1f\\x7f]*$"}, limit=LIMIT, offset=OFFSET
    ),
    responses={
        200: {
            "description": 'the mnemonics, ``{"data": [...]}``',
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["data"],
                        "properties": {"data": {"type": "array", "items": {"type": "object"}}},
                    }
                }
            },
        },
        **json_errors(404),
    },
)
@router.get("/info/mnemonics/", include_in_schema=False)
def info_mnemonics(
    name: str | None = Query(None, description="a mnemonic, any case (all if absent)"),
    limit: str | None = Query(None, description="at most this many mnemonics (default 1000)"),
    offset: str | None = Query(None, description="skip this many mnemonics first"),
    engine: Engine = Depends(catalog),
) -> Response:
    """Engineering mnemonic metadata, ``{"data": [...]}``.

    Loaded by ``webbarchive ingest-mnemonics FILE.csv``; ``{"data": []}``
    until then. With ``name``, the one mnemonic (case-insensitive); a name
    absent from a loaded table is a 404. Paging as ``products``:
    ``X-Total-Count`` and ``X-Truncated`` headers.
    """
    page = Page.parse(limit, offset)
    if name is not None:
        name = name.strip() or None
    if name is not None and any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise bad_request(f"not a mnemonic name: {name!r}", accepted="letters, digits and _")
    with engine.connect() as conn:
        rows, total = queries.mnemonic_rows(conn, name, limit=page.limit, offset=page.offset)
        if name is not None and not total:
            _, loaded = queries.mnemonic_rows(conn, None, limit=1)
            if loaded:
                raise not_found(f"no engineering mnemonic named {name.upper()!r}")
    return _json({"data": [render_mnemonic(row) for row in rows]}, page.paging(total, len(rows)))
