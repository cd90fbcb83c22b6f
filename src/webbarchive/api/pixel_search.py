"""Pixel search: ``GET /spectra/api/v0.1/search`` (also ``/viz/api/v0.1/search``).

The seed's syntax (001_a0a2d59d1416d624): ``wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5``;
``<column>.<op>=value`` with op in gt, gte, lt, lte, eq, ne (min, max = gte, lte)
on wavelength (microns), flux, fluxErr, derSnr; product filters instrument,
grating, filter, exp_type, program, target and ra/dec/radius (degrees);
``productType`` x1d (default), c1d, s2d, s3d; ``limit`` (default 1000) and
``offset``. Only products the user may read are searched. With
``WEBBARCHIVE_DASK`` set, the pixels are read on a Dask cluster
(:mod:`webbarchive.pixels.distributed`), with the same answer.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import Engine

from webbarchive.api.deps import catalog, current_user
from webbarchive.api.heavy_queries import gate
from webbarchive.api.identity import identity
from webbarchive.api.params import Page
from webbarchive.catalog.rights import User
from webbarchive.pixels.query import parse, search

router = APIRouter(tags=["spectra"])


def _search(request: Request, engine: Engine, user: User) -> dict:
    params = request.query_params
    page = Page.parse(params.get("limit"), params.get("offset"), default=1000)
    query = parse(params.multi_items())
    with gate(request.app).slot(identity(request)):
        scan = request.app.state.pixel_cluster.scan()  # None: this process
        found = search(engine, query, user, page.limit, page.offset, scan)
    return {
        "status": 1,
        "query": found.query,
        "results": found.results,
        "paging": page.paging(found.total, len(found.results)),
    }


@router.get("/spectra/api/v0.1/search", summary="Search spectral pixels (MAST Spectral DB)")
def spectra_search(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> dict:
    return _search(request, engine, user)


@router.get("/viz/api/v0.1/search", summary="Search spectral pixels (viz alias)")
def viz_search(
    request: Request, engine: Engine = Depends(catalog), user: User = Depends(current_user)
) -> dict:
    return _search(request, engine, user)
