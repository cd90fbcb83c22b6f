"""Pixel search: ``GET /spectra/api/v0.1/search`` (also ``/viz/api/v0.1/search``).

The seed's syntax (001_a0a2d59d1416d624): ``wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5``;
``<column>.<op>=value`` with op in gt, gte, lt, lte, eq, ne (min, max = gte, lte)
on wavelength (microns), flux, fluxErr, derSnr; product filters instrument,
grating, filter, exp_type, program, target and ra/dec/radius (degrees);
``productType`` x1d (default), c1d, s2d, s3d; ``collection`` JWST (default),
DJA (msaexp spectra) or all; ``limit`` (default 1000) and
``offset``. Only products the user may read are searched. With
``WEBBARCHIVE_DASK`` set, the pixels are read on a Dask cluster
(:mod:`webbarchive.pixels.distributed`), with the same answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine

from webbarchive.api import openapi_docs as doc
from webbarchive.api.deps import catalog, community_rights_of, current_user
from webbarchive.api.heavy_queries import gate
from webbarchive.api.identity import identity
from webbarchive.api.params import Page
from webbarchive.catalog.rights import User
from webbarchive.pixels.query import (
    COLLECTIONS,
    OPERATORS,
    PIXEL_COLUMNS,
    PRODUCT_FILTERS,
    PRODUCT_TYPES,
    parse,
    search,
)

router = APIRouter(tags=["spectra"])

_UNITS = {"wavelength": "microns", "flux": "the product's flux unit", "fluxErr": "as flux",
          "derSnr": "derived S/N"}  # fmt: skip
_NUMBER = r"^-?(0|[1-9]\d{0,3})(\.\d{1,4})?$"
#: The seed's parameters (001_a0a2d59d1416d624): ranges, ``<column>.<op>``, product filters.
PARAMETERS = doc.query(
    *(
        doc.text(
            column,
            f"range '<low>,<high>' ({_UNITS[column]}); either side may be empty",
            "1.2,1.3" if column == "wavelength" else None,
            pattern=_NUMBER[:-1] + "," + _NUMBER[1:],
        )  # fmt: skip
        for column in PIXEL_COLUMNS
    ),
    *(
        doc.number(
            f"{column}.{op}",
            f"{column} {OPERATORS[op]} value ({_UNITS[column]})",
            10 if (column, op) == ("flux", "gte") else None,
        )  # fmt: skip
        for column in PIXEL_COLUMNS
        for op in OPERATORS
    ),
    *(
        doc.text(name, f"product {name}, comma-separated values OR", pattern=r"[^,\s]")
        for name in PRODUCT_FILTERS  # at least one value that is not blank
    ),
    doc.number(
        "ra", "cone centre right ascension (degrees, with dec)", minimum=0, exclusiveMaximum=360
    ),
    doc.number("dec", "cone centre declination (degrees, with ra)", minimum=-90, maximum=90),
    doc.number("radius", "cone radius (degrees, default 0.05)", exclusiveMinimum=0, maximum=10),
    doc.text(
        "productType", "product type searched", "x1d", enum=list(PRODUCT_TYPES), default="x1d"
    ),
    doc.text(
        "collection",
        "spectra searched: JWST (MAST products of productType), DJA (msaexp spectra), all",
        "all",
        enum=list(COLLECTIONS),
        default="JWST",
    ),
    doc.integer("limit", "rows per page", 1000, minimum=1, maximum=100_000, default=1000),
    doc.integer("offset", "first row", 0, minimum=0, default=0),
)
ANSWERS = {
    200: {
        "description": "the matching pixels, the equivalent SQL and the paging",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status", "query", "results", "paging"],
                    "properties": {
                        "status": {"type": "integer"},
                        "query": {"type": "string"},
                        "results": {"type": "array", "items": {"type": "object"}},
                        "paging": {"type": "object"},
                    },
                }
            }
        },
    }
} | doc.json_errors(400, 401, 429, 503)


def _search(request: Request, engine: Engine, user: User) -> dict:
    params = request.query_params
    page = Page.parse(params.get("limit"), params.get("offset"), default=1000)
    query = parse(params.multi_items())
    query.community = community_rights_of(request)  # who reads msaexp spectra
    with gate(request.app).slot(identity(request)):
        scan = request.app.state.pixel_cluster.scan()  # None: this process
        found = search(engine, query, user, page.limit, page.offset, scan)
    return {
        "status": 1,
        "query": found.query,
        "results": found.results,
        "paging": page.paging(found.total, len(found.results)),
    }


@router.get(
    "/spectra/api/v0.1/search",
    summary="Search spectral pixels (MAST Spectral DB)",
    openapi_extra=PARAMETERS,
    responses=ANSWERS,
    response_model=None,
)
def spectra_search(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> dict:
    return _search(request, engine, user)


@router.get(
    "/viz/api/v0.1/search",
    summary="Search spectral pixels (viz alias)",
    openapi_extra=PARAMETERS,
    responses=ANSWERS,
    response_model=None,
)
def viz_search(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> dict:
    return _search(request, engine, user)
