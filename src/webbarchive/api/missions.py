"""astroquery's MastMissions for JWST: ``/search/util/api/v0.1/column_list``,
``/search/jwst/api/v0.1/search``, ``post_list_products`` (and the GET
``list_products``) and ``retrieve_product`` (served by the Download/file code).

astroquery turns any 400 into "invalid input", so the 400 body is for humans
and other clients: it says which column or value was wrong.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from webbarchive.api import download
from webbarchive.api.deps import catalog, current_user
from webbarchive.api.errors import bad_request
from webbarchive.catalog.rights import User
from webbarchive.mast import missions

router = APIRouter(tags=["astroquery MastMissions"])
MISSIONS = ["jwst"]
PREFIX = "/search/jwst/api/v0.1"


def _jwst_only(mission: str | None) -> None:
    if (mission or "").lower() not in MISSIONS:
        raise bad_request(f"unknown mission {mission!r}", accepted=MISSIONS)


@router.get("/search/util/api/v0.1/column_list", summary="Searchable columns of a mission")
def column_list(
    mission: str | None = Query(None, examples=["jwst"]),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> list[dict[str, Any]]:
    _jwst_only(mission)
    with engine.connect() as conn:
        return missions.column_list(conn, user)


@router.post(f"{PREFIX}/search", summary="JWST mission search (one row per fileSetName)")
def search(
    body: dict[str, Any] = Body(
        ...,
        examples=[
            {"conditions": [{"program": 2736}, {"exp_type": "NRS_*"}], "limit": 10},
            {"target": ["110.83 -73.45"], "radius": 60, "radius_units": "arcseconds"},
        ],
    ),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    with engine.connect() as conn:
        return missions.search(conn, user, body)


def _products(engine: Engine, user: User, dataset_ids: list[str]) -> dict[str, Any]:
    with engine.connect() as conn:
        return {"products": missions.list_products(conn, user, dataset_ids)}


@router.post(f"{PREFIX}/post_list_products", summary="Files of JWST datasets")
def post_list_products(
    body: dict[str, Any] = Body(
        ..., examples=[{"dataset_ids": ["jw02736007001_03103_00001_nrs1"]}]
    ),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    ids = body.get("dataset_ids")
    ids = [ids] if isinstance(ids, str) else ids
    if not isinstance(ids, list):
        raise bad_request("dataset_ids must be a list of fileSetName values")
    return _products(engine, user, ids)


@router.get(f"{PREFIX}/list_products", summary="Files of JWST datasets (GET form)")
def list_products(
    dataset_ids: list[str] = Query(..., description="fileSetName, repeated or comma-separated"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> dict[str, Any]:
    ids = [part for item in dataset_ids for part in item.split(",")]
    return _products(engine, user, ids)


# One route per method: a route with two methods gives both the same OpenAPI operation id.
@router.get(
    f"{PREFIX}/retrieve_product",
    response_class=Response,
    summary="Download one file of a dataset (as Download/file, with ranges)",
)
@router.head(
    f"{PREFIX}/retrieve_product",
    response_class=Response,
    summary="Download one file of a dataset (as Download/file, with ranges)",
)
def retrieve_product(
    request: Request,
    product_name: str | None = Query(None, description="<fileSetName>/<filename> or <filename>"),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    if not product_name:
        raise bad_request("missing parameter 'product_name'", accepted="<fileSetName>/<filename>")
    filename = missions.product_filename(product_name)
    return download.download_file(request, uri=filename, bundle_name=None, engine=engine, user=user)
