"""The web portal's pages: search at ``/``, an observation page, sign-in.

Server-rendered (Jinja2, templates in :mod:`webbarchive.portal`); every page
works without JavaScript. The user comes from :func:`deps.current_user` and
every query goes through :mod:`webbarchive.catalog.rights`, as for the APIs.
A token the portal cannot accept (expired, revoked) does not lock a person
out of the public archive: the page is shown as to an anonymous visitor and
says why the token was refused. Errors are HTML pages whose message is in
``<p class="error" role="alert">``.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine

from webbarchive.api import deps, portal_csrf
from webbarchive.api import openapi_docs as doc
from webbarchive.api.errors import ApiError, status_of
from webbarchive.catalog import accounts
from webbarchive.catalog.queries import observation_by_obs_id, observation_products
from webbarchive.catalog.rights import ANONYMOUS, User, check_named, rights_for
from webbarchive.errors import ArchiveError, NotFound
from webbarchive.portal import search, targets
from webbarchive.portal.formats import footprint_json, mjd_date, preview_src
from webbarchive.portal.products import si_keywords

router = APIRouter(tags=["portal"], include_in_schema=True)

STATIC = Path(__file__).resolve().parents[1] / "portal" / "static"
PLOTLY = "plotly.js-dist-min/plotly.min.js"
#: Products the observation page plots with the retrieve API.
PLOTTED_SUFFIXES = ("x1d", "c1d")
COOKIE_MAX_AGE_S = 30 * 86400

templates = Environment(
    loader=PackageLoader("webbarchive.portal", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

templates.filters["mjd_date"] = mjd_date
templates.filters["preview_src"] = preview_src
templates.filters["footprint_json"] = footprint_json


def portal_user(request: Request) -> tuple[User, str | None]:
    """The user, and why the presented token was refused (None when it was not)."""
    try:
        return deps.user_of(request), None
    except ApiError as exc:
        if exc.status_code != 401:
            raise
        return ANONYMOUS, exc.message


#: What the search form's parser accepts, field by field, where a schema can say it.
#: A radius, and sort=distance, need a position: a rule between fields that
#: OpenAPI cannot write (tests/api/test_schemathesis.py says so where it applies).
_FIELD_SCHEMAS: dict[str, dict[str, Any]] = {
    "calib_level": {"type": "string", "enum": ["", "0", "1", "2", "3", "4"]},
    "rights": {"type": "string", "enum": ["", *search.RIGHTS]},
    "sort": {"type": "string", "enum": ["", *search.SORTABLE]},
    "order": {"type": "string", "enum": ["", "asc", "desc"]},
    "page": {"type": "integer", "minimum": 1, "maximum": search.MAX_PAGE},
    "pagesize": {"type": "integer", "enum": list(search.PAGE_SIZES)},
    "position": {
        "type": "string",
        "pattern": r"^$|^(0|[1-9]\d?|[12]\d\d|3[0-5]\d)(\.\d{1,6})? -?[1-8]?\d(\.\d{1,6})?$",
    },
    "radius": {"type": "string", "pattern": r"^$|^(0\.\d{0,5}[1-9]|[1-9]\d?(\.\d{1,6})?)$"},
}
_FIELD_HELP = {
    "position": "ra dec (ICRS degrees), e.g. '53.16 -27.78'",
    "radius": "cone radius (arcmin, default 3), with a position",
    "sort": "a column of the table, or distance (with a position)",
}


def _field_schema(name: str) -> dict[str, Any]:
    return _FIELD_SCHEMAS.get(name, {"type": "string"})


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    user, refused = portal_user(request)
    csrf, new = portal_csrf.form_token(request)
    html = templates.get_template(template).render(
        user=user, token_refused=refused, path=request.url.path, csrf=csrf, **context
    )
    answer = HTMLResponse(html, status_code=status)
    if new:
        portal_csrf.remember(answer, request, csrf)
    return answer


def _error(request: Request, status: int, message: str, title: str = "Error") -> HTMLResponse:
    return _page(request, "error.html", status, title=title, message=message)


@router.get(
    "/",
    response_class=HTMLResponse,
    summary="Portal: search observations",
    openapi_extra=doc.query(
        *(
            doc.Param(
                f.name,
                _FIELD_HELP.get(f.name, f"search form field {f.name}"),
                _field_schema(f.name),
            )
            for f in fields(search.SearchForm)
        )
    ),
    responses=doc.html_errors(400, 401),
)
def search_page(request: Request, engine: Engine = Depends(deps.catalog)) -> HTMLResponse:
    user, _ = portal_user(request)
    with engine.connect() as conn:
        options = search.choices(conn, user)
        try:
            form = search.SearchForm.parse(dict(request.query_params))
            result = search.run(conn, user, form)
            problem = None
        except search.PortalInputError as exc:
            form = search.SearchForm(
                **{k: v for k, v in request.query_params.items() if k in search.TEXT_FIELDS}
            )
            result, problem = search.SearchResult(), str(exc)
    return _page(
        request,
        "search.html",
        400 if problem else 200,
        title="Search",
        form=form,
        result=result,
        problem=problem,
        options=options,
        columns=search.TABLE_COLUMNS,
        page_sizes=search.PAGE_SIZES,
        sky_survey=request.app.state.settings.portal_sky_survey,
    )


@router.get(
    "/portal/observation/{obs_id}",
    response_class=HTMLResponse,
    summary="Portal: one observation, its products and its spectrum",
    responses=doc.html_errors(400, 401, 403, 404),
)
def observation_page(
    request: Request,
    obs_id: str,
    plot: str | None = Query(None, description="file name of the x1d/c1d product to plot"),
    engine: Engine = Depends(deps.catalog),
) -> HTMLResponse:
    user, _ = portal_user(request)
    with engine.connect() as conn:
        row = observation_by_obs_id(conn, obs_id)
        try:
            check_named(user, row, obs_id, f"no observation {obs_id!r} in this archive")
        except ArchiveError as exc:
            title = "Not found" if isinstance(exc, NotFound) else "Exclusive access"
            return _error(request, status_of(exc), exc.message, title)
        files, total = observation_products(conn, row["obsid"], user)
        keywords = si_keywords(conn, row, files)
    for f in files:
        f["dataRights"] = rights_for(f["release_mjd"])
    spectra = [f for f in files if f["suffix"] in PLOTTED_SUFFIXES]
    plotted = next((f for f in spectra if f["filename"] == plot), None)
    if plot and plotted is None:
        return _error(request, 400, f"{plot!r} is not an x1d or c1d product of {obs_id}")
    plotted = plotted or (max(spectra, key=lambda f: f["calib_level"] or 0) if spectra else None)
    parameters = {k: v for k, v in row.items() if k != "release_mjd"}
    parameters["dataRights"] = rights_for(row["release_mjd"])
    return _page(
        request,
        "observation.html",
        title=obs_id,
        obs=parameters,
        products=files,
        total=total,
        plotted=plotted,
        keywords=keywords,
    )


@router.get("/portal/account", response_class=HTMLResponse, summary="Portal: who you are")
def account_page(request: Request) -> HTMLResponse:
    return _page(request, "account.html", title="Account")


@router.post(
    "/portal/account/signin",
    openapi_extra=doc.refine(body_required=("token",)),
    summary="Portal: keep a token as the mast_token cookie",
    response_class=HTMLResponse,
    responses={
        303: {"description": "signed in: to /portal/account, with the cookie set"},
        **doc.html_errors(400, 401, 403),
    },
)
def sign_in(
    request: Request,
    token: str | None = Form(
        None,
        description="an API token of this archive (required: a blank one is a 400 page)",
        json_schema_extra={"pattern": r"\S"},
    ),
    csrf: str = Form("", description="the anti-forgery token of the sign-in form"),
    engine: Engine = Depends(deps.catalog),
) -> Response:
    if not portal_csrf.genuine(request, csrf):
        return _error(request, 403, portal_csrf.REFUSED, "Sign in")
    token = (token or "").strip()
    if not token:
        return _error(request, 400, "paste a token to sign in", "Sign in")
    try:
        accounts.resolve_token(engine, token, now_mjd=deps._clock(request))
    except accounts.TokenRejected as rejected:
        return _error(request, 401, f"that token was refused: {rejected.message}", "Sign in")
    answer = RedirectResponse("/portal/account", status_code=303)
    answer.set_cookie(
        deps.TOKEN_COOKIE,
        token,
        max_age=COOKIE_MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return answer


@router.post(
    "/portal/account/signout",
    summary="Portal: forget the mast_token cookie",
    response_class=HTMLResponse,
    responses={
        303: {"description": "signed out: to /, with the cookie deleted"},
        **doc.html_errors(403),
    },
)
def sign_out(
    request: Request,
    csrf: str = Form("", description="the anti-forgery token of the sign-out form"),
) -> Response:
    if not portal_csrf.genuine(request, csrf):
        return _error(request, 403, portal_csrf.REFUSED, "Sign out")
    answer = RedirectResponse("/", status_code=303)
    answer.delete_cookie(deps.TOKEN_COOKIE, path="/", httponly=True, samesite="lax")
    return answer


@router.get("/portal/api/targets", summary="Portal: target names for suggestions as you type")
def target_suggestions(
    request: Request,
    q: str = Query("", max_length=200, description="the start of a target name"),
    engine: Engine = Depends(deps.catalog),
) -> dict[str, list[str]]:
    user, _ = portal_user(request)
    with engine.connect() as conn:
        return {"targets": targets.suggest(conn, user, q)}


@router.get(
    "/portal/vendor/plotly.min.js",
    summary="Portal: Plotly.js, from node_modules",
    response_class=Response,
    responses={**doc.media("text/javascript"), **doc.json_errors(404)},
)
def plotly(request: Request) -> Response:
    path = Path(request.app.state.settings.portal_vendor) / PLOTLY
    if not path.is_file():
        raise ApiError(404, f"Plotly.js is not installed at {path}: run 'npm ci'")
    return FileResponse(path, media_type="text/javascript")


STATIC_TYPES = {".js": "text/javascript", ".css": "text/css"}


@router.get(
    "/portal/static/{name}",
    summary="Portal: its stylesheet and JavaScript modules",
    response_class=Response,
    responses=doc.media(*sorted(set(STATIC_TYPES.values()))),
)
def static_file(name: str) -> Response:
    files = {p.name: p for p in STATIC.iterdir() if p.suffix in STATIC_TYPES}
    if name not in files:
        raise ApiError(404, f"no portal file {name!r}", accepted=sorted(files))
    path = files[name]
    return FileResponse(path, media_type=STATIC_TYPES[path.suffix])
