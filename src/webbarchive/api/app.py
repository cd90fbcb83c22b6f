"""The FastAPI application: one router per API family over one catalog."""

from __future__ import annotations

from importlib import import_module

from fastapi import FastAPI

from webbarchive import __version__
from webbarchive.api import allow_header, deps, errors, openapi_docs, storage_errors
from webbarchive.catalog.db import open_catalog
from webbarchive.config import SettingError, Settings
from webbarchive.pixels.distributed import Cluster

#: Router modules, one per API family, each exposing ``router``. The probe suite
#: (tests/auth/test_route_probes.py) fails for a route it does not know.
ROUTER_MODULES = (
    "webbarchive.api.viz",
    "webbarchive.api.spectra",
    "webbarchive.api.download",
    "webbarchive.api.path_lookup",
    "webbarchive.api.auth",
    "webbarchive.api.admin",
    "webbarchive.api.pixel_search",
    "webbarchive.api.mashup",
    "webbarchive.api.missions",
    "webbarchive.api.bundle",
    "webbarchive.api.vo.tap",
    "webbarchive.api.vo.scs",
    "webbarchive.api.vo.sia",
    "webbarchive.api.vo.ssa",
    "webbarchive.api.dja_imaging",
    "webbarchive.api.dja_spectra",
    "webbarchive.api.portal",
    "webbarchive.api.portal_sky",
    "webbarchive.api.portal_tools",
    "webbarchive.api.duplication",
    "webbarchive.api.mast_api_root",
    "webbarchive.api.portal_products",
    "webbarchive.api.portal_basket",
    "webbarchive.api.portal_duplication",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="webbarchive",
        version=__version__,
        description="A self-hostable JWST archive: MAST viz/spectra APIs, downloads, "
        "astroquery's Mashup, the DJA tools and IVOA services over one catalog.",
        default_response_class=errors.JsonResponse,
    )
    app.state.settings = settings
    app.state.community_rights = settings.community()  # a bad value stops the start
    app.state.engine = open_catalog(
        settings.db_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_overflow,
        query_role=settings.query_role,
    )
    try:  # the pixel search's Dask cluster, started on first use
        app.state.pixel_cluster = Cluster(settings.dask)
    except ValueError as exc:  # a bad value stops the start
        raise SettingError(f"WEBBARCHIVE_DASK: {exc}") from None
    errors.install(app)
    deps.install(app)  # token resolver and rate limits
    storage_errors.install(app)  # an unreachable object store: 503, Retry-After
    for name in ROUTER_MODULES:
        app.include_router(import_module(name).router)
    openapi_docs.install(app)  # every operation's error answers, by route family
    allow_header.install(app)  # a 405 lists every method of the path
    return app
