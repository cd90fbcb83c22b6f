"""The portal's duplication check page: ``/portal/duplication``.

A form for one position (or a planned target's name) and a form that uploads
a target list, with the filters of the API (template, optical elements,
status, radius). Results are the API's own rows
(:func:`webbarchive.plans.query.search` and
:func:`webbarchive.plans.targets.check_targets`) in a table, with the API URL
that gives the same answer as JSON, CSV or VOTable, so a proposer can script
what they tried here. Planned visits are public metadata
(:mod:`webbarchive.api.duplication`); bad input is the page again, status 400,
with the message in ``<p class="error" role="alert">``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from sqlalchemy import Engine

from webbarchive import positions
from webbarchive.api import deps
from webbarchive.api import openapi_docs as doc
from webbarchive.api.duplication import MAX_BODY_BYTES
from webbarchive.api.portal import _page
from webbarchive.plans import PlanInputError, PlanNotFound
from webbarchive.plans.query import parse_filters, search, target_position
from webbarchive.plans.targets import FORM as TARGETS_FORM
from webbarchive.plans.targets import check_targets, read_targets
from webbarchive.plans.templates import STATUSES, TEMPLATES, radius_arcsec

router = APIRouter(tags=["portal"])

PAGE = "/portal/duplication"
API = "/duplication/api/v0.1/search"
#: Rows shown on the page; the API URL gives them all.
MAX_SHOWN = 2000


@dataclass
class DuplicationForm:
    """The page's fields as typed (text), echoed back into the form."""

    position: str = ""
    target: str = ""
    radius: str = ""
    template: str = ""
    optical_elements: str = ""
    status: str = ""

    def filters(self) -> dict[str, str]:
        """The API's filter parameters that are set."""
        wanted = ("radius", "template", "optical_elements", "status")
        return {k: v for k, v in asdict(self).items() if k in wanted and v.strip()}


def _render(
    request: Request,
    form: DuplicationForm,
    *,
    rows: list[dict] | None = None,
    problem: str | None = None,
    api_url: str | None = None,
    listed: int | None = None,
) -> HTMLResponse:
    return _page(
        request,
        "duplication.html",
        400 if problem else 200,
        title="Duplication check",
        form=form,
        rows=None if rows is None else rows[:MAX_SHOWN],
        count=None if rows is None else len(rows),
        shown=MAX_SHOWN,
        listed=listed,
        problem=problem,
        api_url=api_url,
        templates=[(t, radius_arcsec(t)) for t in TEMPLATES],
        statuses=STATUSES,
        targets_form=TARGETS_FORM,
        request_base=str(request.base_url).rstrip("/"),
    )


@router.get(
    PAGE,
    response_class=HTMLResponse,
    summary="Portal: the duplication check",
    responses=doc.html_errors(400, 404),
)
def duplication_page(
    request: Request,
    position: str = Query("", description="'RA Dec', degrees or sexagesimal"),
    target: str = Query("", description="a planned target's name instead of a position"),
    radius: str = Query("", description="arcsec; empty: each visit's template radius"),
    template: str = Query("", description="an APT template"),
    optical_elements: str = Query("", description="filters/gratings, comma-separated"),
    status: str = Query("", description="a visit status"),
    engine: Engine = Depends(deps.catalog),
) -> HTMLResponse:
    form = DuplicationForm(position, target, radius, template, optical_elements, status)
    if not (position.strip() or target.strip()):
        return _render(request, form)
    try:
        filters = parse_filters(template, optical_elements, status, radius)
        with engine.connect() as conn:
            if position.strip():
                where = positions.parse_position(coords=position)
                ra, dec = where.ra, where.dec
                place = {"ra": repr(ra), "dec": repr(dec)}
            else:
                ra, dec = target_position(conn, target)
                place = {"target": target.strip()}
            rows = search(conn, ra, dec, filters)
    except positions.PositionError as exc:
        return _render(request, form, problem=f"{exc.message} (e.g. 53.16 -27.78)")
    except (PlanInputError, PlanNotFound) as exc:
        return _render(request, form, problem=exc.message)
    api_url = f"{API}?{urlencode({**place, **form.filters()})}"
    return _render(request, form, rows=rows, api_url=api_url)


@router.post(
    PAGE,
    response_class=HTMLResponse,
    summary="Portal: duplication check of a list",
    responses=doc.html_errors(400, 413),
)
async def duplication_list_page(
    request: Request,
    file: UploadFile | None = File(None, description="the target list: " + TARGETS_FORM),
    radius: str = Form(""),
    template: str = Form(""),
    optical_elements: str = Form(""),
    status: str = Form(""),
    engine: Engine = Depends(deps.catalog),
) -> HTMLResponse:
    form = DuplicationForm("", "", radius, template, optical_elements, status)
    if file is None:
        return _render(request, form, problem=f"choose a target list file: {TARGETS_FORM}")
    raw = await file.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return _render(request, form, problem=f"the list is larger than {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
        filters = parse_filters(template, optical_elements, status, radius)
        targets = read_targets(text, file.filename or "the target list")
    except UnicodeDecodeError:
        return _render(request, form, problem="the target list must be UTF-8 text")
    except PlanInputError as exc:
        return _render(request, form, problem=f"{exc.message}. Accepted: {exc.accepted}")
    rows = await run_in_threadpool(_check, engine, targets, filters)
    query = urlencode(form.filters())
    api_url = f"{API}{'?' + query if query else ''}"
    return _render(request, form, rows=rows, api_url=api_url, listed=len(targets))


def _check(engine: Engine, targets, filters) -> list[dict]:
    with engine.connect() as conn:
        return check_targets(conn, targets, filters)
