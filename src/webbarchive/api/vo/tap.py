"""TAP 1.1 over ``ivoa.obscore``: /tap/sync, /tap/async (UWS 1.1), VOSI and examples."""

from __future__ import annotations

import asyncio
import threading

from fastapi import APIRouter, Request
from fastapi.responses import (
    FileResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.concurrency import run_in_threadpool

from webbarchive.api import heavy_queries, ratelimit
from webbarchive.api.deps import catalog_of, user_of
from webbarchive.api.identity import identity
from webbarchive.api.vo import documented as doc
from webbarchive.api.vo import error_response, query_context, vo_params, votable_response
from webbarchive.catalog.accounts import AccountError, user_for
from webbarchive.catalog.rights import ANONYMOUS, User, rights_fingerprint
from webbarchive.errors import InvalidInput
from webbarchive.vo import uws, vosi
from webbarchive.vo.adql import AdqlError
from webbarchive.vo.execute import DEFAULT_TIMEOUT_S, QueryTimeout, run_query, stream_query
from webbarchive.vo.formats import STREAMED, accepted_formats, find_format, render, render_stream
from webbarchive.vo.obscore import QueryContext
from webbarchive.vo.uploads import UrlUploads, read_uploads

router = APIRouter(prefix="/tap", tags=["IVOA TAP"])
XML = "text/xml"
# What the UWS and VOSI endpoints answer (UWS 1.1 documents, plain-text job fields).
_XML = doc.media(XML)
_NOT_FOUND = {404: {"description": "no such job for this user", "content": {"text/plain": {}}}}
_JOB_XML = _XML | _NOT_FOUND
_JOB_TEXT = doc.media("text/plain") | _NOT_FOUND
_JOB_RESULT = doc.media(*doc.TAP_MEDIA, "text/plain") | _NOT_FOUND
_REDIRECT = (
    {303: {"description": "see the job (or the service's home)"}}
    | _NOT_FOUND
    | {
        400: {
            "description": "bad parameter",
            "content": {"text/plain": {}, doc.VOTABLE: doc.VOTABLE_ERROR},
        }
    }
)
_CREATED = {303: {"description": "the new job"}} | doc.votable_errors(400, 413)


class TapError(InvalidInput):
    """A TAP request this service cannot run; the message says what it needs."""


def _tap_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/tap"


_STORE_LOCK = threading.Lock()


def _store(request: Request) -> uws.JobStore:
    """The app's job store, built on first use (it reads the catalog: call it
    from a worker thread, never on the event loop)."""
    store = getattr(request.app.state, "uws_jobs", None)
    if store is not None:
        return store
    with _STORE_LOCK:
        store = getattr(request.app.state, "uws_jobs", None)
        if store is not None:
            return store
        settings = request.app.state.settings
        caps = uws.Caps(
            max_active_jobs=settings.uws_max_active_jobs,
            max_jobs=settings.uws_max_jobs,
            results_bytes=int(settings.uws_results_mb * uws.MB),
            results_bytes_per_owner=int(settings.uws_results_mb_per_owner * uws.MB),
        )
        engine = catalog_of(request)
        root = uws.results_root(engine, settings.results_root)
        store = request.app.state.uws_jobs = uws.JobStore(engine, root, caps=caps)
    return store


def _maxrec(params: dict[str, str]) -> int:
    return vosi.parse_maxrec(params.get("MAXREC"))


def _check(params: dict[str, str]):
    lang = params.get("LANG")
    if not lang:
        raise TapError("missing parameter LANG (use LANG=ADQL)")
    if not lang.upper().startswith("ADQL"):
        raise TapError(f"LANG={lang} is not supported; use LANG=ADQL")
    request_kind = params.get("REQUEST", "doQuery")
    if request_kind.lower() != "doquery":
        raise TapError(f"REQUEST={request_kind} is not supported; use REQUEST=doQuery")
    if not params.get("QUERY", "").strip():
        raise TapError("missing parameter QUERY (an ADQL SELECT statement)")
    fmt_name = params.get("RESPONSEFORMAT") or params.get("FORMAT")
    fmt = find_format(fmt_name)
    if fmt is None:
        raise TapError(
            f"RESPONSEFORMAT={fmt_name} is not supported; accepted: {', '.join(accepted_formats())}"
        )
    return fmt


def _execute(
    engine, ctx, params: dict[str, str], uploads, timeout_s: float = DEFAULT_TIMEOUT_S
) -> tuple[bytes, str]:
    fmt = _check(params)
    result = run_query(
        engine, params["QUERY"], ctx, maxrec=_maxrec(params), uploads=uploads, timeout_s=timeout_s
    )
    body = render(fmt, result.columns, result.rows, overflow=result.overflow)
    return body, fmt.mime


def _answer(
    engine, ctx, params: dict[str, str], uploads, timeout_s: float = DEFAULT_TIMEOUT_S
) -> Response:
    """The sync answer: written whole when the first batch of rows is the whole
    result (or the format needs it whole), else streamed batch by batch, so a
    large result is never held in memory. Errors before the first rows raise."""
    fmt = _check(params)
    stream = stream_query(
        engine, params["QUERY"], ctx, maxrec=_maxrec(params), uploads=uploads, timeout_s=timeout_s
    )
    batches = stream.batches()
    first = next(batches)
    if stream.done or fmt.key not in STREAMED:
        rows = first + [row for batch in batches for row in batch]
        body = render(fmt, stream.columns, rows, overflow=stream.overflow)
        return Response(body, media_type=fmt.mime)
    chunks = render_stream(
        fmt, stream.columns, first, batches, lambda: stream.overflow, (AdqlError, QueryTimeout)
    )
    return StreamingResponse(chunks, media_type=fmt.mime)


async def _uploads(request: Request, params: dict[str, str]):
    if not params.get("UPLOAD"):
        return []
    await asyncio.to_thread(ratelimit.enforce, request, "tap_upload")
    parts: dict[str, bytes] = {}
    if request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if not isinstance(value, str):
                parts[key] = await value.read()
    policy = UrlUploads.from_settings(request.app.state.settings)
    return await read_uploads(params["UPLOAD"], parts, policy)


_SYNC_ANSWERS = doc.media(*doc.TAP_MEDIA, description="the result") | doc.votable_errors(
    400, 401, 408, 413, 429, 503
)


@router.get(
    "/sync",
    summary="Synchronous ADQL query",
    openapi_extra=doc.get_params(doc.TAP_QUERY),
    responses=_SYNC_ANSWERS,
    response_class=Response,
)
@router.post(
    "/sync",
    summary="Synchronous ADQL query",
    openapi_extra=doc.post_params(doc.TAP_QUERY),
    responses=_SYNC_ANSWERS,
    response_class=Response,
)
async def sync(request: Request) -> Response:
    """``LANG=ADQL&QUERY=...`` with optional MAXREC, RESPONSEFORMAT (votable,
    votable/td, votable/b2, csv, tsv, json, fits) and UPLOAD."""
    params = await vo_params(request)
    try:
        uploads = await _uploads(request, params)
        who, ctx = await run_in_threadpool(_caller, request)
        return await heavy_queries.gate(request.app).run(
            who,
            _answer,
            catalog_of(request),
            ctx,
            params,
            uploads,
            request.app.state.settings.query_timeout_s,
        )
    except QueryTimeout as exc:
        return error_response(str(exc), 408)


def _caller(request: Request) -> tuple[str, QueryContext]:
    """The caller's identity and query context: both may read the catalog (a
    token not seen before), so they are looked up in a worker thread."""
    return identity(request), query_context(request)


# --- async (UWS 1.1) -------------------------------------------------------------
#
# Every catalog read or write of these routes (the job store, the owner check,
# the caller's token) runs in the server's thread pool: routes without a body are
# plain ``def`` routes, the others read their form on the event loop and hand the
# rest to ``run_in_threadpool``.


def _job_url(request: Request, job: uws.Job) -> str:
    return f"{_tap_url(request)}/async/{job.job_id}"


def _owned_job(request: Request, job_id: str) -> uws.Job | None:
    """The job if the caller owns it (anonymous jobs: whoever holds the id), else
    None, answered 404 as if it did not exist."""
    job = _store(request).get(job_id)
    if job is None or job.owner != user_of(request).name:
        return None
    return job


def _not_found(job_id: str) -> Response:
    return PlainTextResponse(f"no job {job_id!r} (unknown, destroyed or not yours)", 404)


WITHDRAWN = (
    "the results of this job were computed with access rights that have changed since it "
    "ran (a program's collaborators or release changed); they are withdrawn. Submit the "
    "query again as a new job"
)


def _rights_checked(request: Request, job: uws.Job) -> uws.Job:
    """Withdraw a completed job's result when its owner's rights (the caller's,
    loaded at this request) differ from those it ran with."""
    if job.phase == uws.COMPLETED and not job.withdrawn:
        with catalog_of(request).connect() as conn:
            now = rights_fingerprint(conn, user_of(request))
        if now != job.rights:
            _store(request).withdraw(job, WITHDRAWN)
    return job


def _owner_rights(engine, owner: str | None) -> User:
    """The owner's rights as the catalog holds them now."""
    if owner is None:
        return ANONYMOUS
    try:
        return user_for(engine, owner)
    except AccountError:
        raise TapError(f"the account {owner!r} that owns this job no longer exists") from None


def _limits(request: Request) -> dict:
    """What a job needs to run within the heavy-query bound and the time limit."""
    settings = request.app.state.settings
    return {
        "identity": identity(request),
        "heavy_queries": heavy_queries.gate(request.app),
        "timeout_s": settings.query_timeout_s,
    }


def _runner(engine):
    def run(job: uws.Job) -> tuple[bytes, str]:
        user = _owner_rights(engine, job.owner)
        # Fingerprint first: a change between the two makes the result stale, never wrong.
        with engine.connect() as conn:
            job.rights = rights_fingerprint(conn, user)
        context = job.context or {}
        ctx = QueryContext(user, context.get("base_url") or job.base_url)
        params, uploads = job.parameters, context.get("uploads", [])
        gate = context.get("heavy_queries")
        timeout_s = context.get("timeout_s", DEFAULT_TIMEOUT_S)
        if gate is None:
            return _execute(engine, ctx, params, uploads, timeout_s)
        # A job waits for its slot as long as it may run, then fails with the reason.
        with gate.slot(context["identity"], wait_s=timeout_s):
            return _execute(engine, ctx, params, uploads, timeout_s)

    return run


@router.get(
    "/async",
    summary="UWS job list",
    openapi_extra=doc.get_params(doc.UWS_JOB_LIST),
    responses=_XML,
    response_class=Response,
)
async def job_list(request: Request) -> Response:
    return await run_in_threadpool(_job_list, request, await vo_params(request))


def _job_list(request: Request, params: dict[str, str]) -> Response:
    jobs = _store(request).list(user_of(request).name)
    phases = {p.upper() for p in request.query_params.getlist("PHASE")}
    if phases:
        jobs = [j for j in jobs if j.phase in phases]
    if params.get("LAST", "").isdigit():
        jobs = sorted(jobs, key=lambda j: j.created, reverse=True)[: int(params["LAST"])]
    return Response(uws.job_list_xml(jobs, f"{_tap_url(request)}/async"), media_type=XML)


@router.post(
    "/async",
    summary="Create a UWS job (PHASE=RUN starts it)",
    openapi_extra=doc.post_params(
        doc.TAP_QUERY + (doc.text("PHASE", "RUN starts the job", "RUN", enum=["RUN"]),)
    ),
    responses=_CREATED,
    response_class=Response,
)
async def create_job(request: Request) -> Response:
    params = await vo_params(request)
    try:
        uploads = await _uploads(request, params)
    except AdqlError as exc:
        return error_response(str(exc))
    return await run_in_threadpool(_create_job, request, params, uploads)


def _create_job(request: Request, params: dict[str, str], uploads) -> Response:
    phase = params.pop("PHASE", "").upper()
    store = _store(request)
    try:
        job = store.create(
            user_of(request).name,
            identity(request),  # whom the job caps count against
            params,
            {"base_url": query_context(request).base_url, "uploads": uploads, **_limits(request)},
        )
    except uws.JobLimit as exc:
        return error_response(str(exc), 429)
    if phase == "RUN":
        store.start(job, _runner(catalog_of(request)))
    return RedirectResponse(_job_url(request, job), status_code=303)


@router.get(
    "/async/{job_id}",
    summary="UWS job",
    openapi_extra=doc.get_params(doc.UWS_WAIT),
    responses=_JOB_XML,
    response_class=Response,
)
async def get_job(request: Request, job_id: str) -> Response:
    job = await run_in_threadpool(_owned_job, request, job_id)
    if job is None:
        return _not_found(job_id)
    wait = request.query_params.get("WAIT")
    if wait is not None:
        seconds = 60.0 if wait.strip() in ("-1", "") else min(float(wait), 60.0)
        phase = request.query_params.get("PHASE")
        # Its own thread (asyncio's executor): a long wait holds none of the server's pool.
        job = await asyncio.to_thread(_store(request).wait, job, seconds, phase and phase.upper())
    return await run_in_threadpool(_job_document, request, job)


def _job_document(request: Request, job: uws.Job) -> Response:
    _rights_checked(request, job)
    return Response(uws.job_xml(job, _job_url(request, job)), media_type=XML)


@router.post(
    "/async/{job_id}",
    summary="UWS job action (ACTION=DELETE)",
    openapi_extra=doc.post_params(doc.UWS_ACTION),
    responses=_REDIRECT,
    response_class=Response,
)
async def post_job(request: Request, job_id: str) -> Response:
    return await run_in_threadpool(_post_job, request, job_id, await vo_params(request))


def _post_job(request: Request, job_id: str, params: dict[str, str]) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    if params.get("ACTION", "").upper() == "DELETE":
        _store(request).delete(job_id)
        return RedirectResponse(f"{_tap_url(request)}/async", status_code=303)
    return PlainTextResponse("send ACTION=DELETE", 400)


@router.delete(
    "/async/{job_id}", summary="Delete a UWS job", responses=_REDIRECT, response_class=Response
)
def delete_job(request: Request, job_id: str) -> Response:
    if _owned_job(request, job_id) is None:
        return _not_found(job_id)
    _store(request).delete(job_id)
    return RedirectResponse(f"{_tap_url(request)}/async", status_code=303)


@router.get("/async/{job_id}/phase", responses=_JOB_TEXT, response_class=Response)
def get_phase(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    return (
        _not_found(job_id)
        if job is None
        else PlainTextResponse(_rights_checked(request, job).phase)
    )


@router.post(
    "/async/{job_id}/phase",
    openapi_extra=doc.post_params(doc.UWS_PHASE),
    responses=_REDIRECT,
    response_class=Response,
)
async def post_phase(request: Request, job_id: str) -> Response:
    job = await run_in_threadpool(_owned_job, request, job_id)
    if job is None:
        return _not_found(job_id)
    phase = (await vo_params(request)).get("PHASE", "").upper()
    if phase == "RUN":
        if job.context is None and job.phase == uws.PENDING:
            # Created through another server process: what the run needs comes from
            # this request; URL uploads are fetched again, inline ones are gone.
            try:
                uploads = await _uploads(request, {"UPLOAD": job.parameters.get("UPLOAD", "")})
            except AdqlError as exc:
                return error_response(
                    f"{exc} (inline uploads are kept by the server process that received "
                    "the job; send PHASE=RUN with the job's creation)"
                )
            limits = await run_in_threadpool(_limits, request)
            job.context = {"base_url": job.base_url, "uploads": uploads, **limits}
        await run_in_threadpool(_store(request).start, job, _runner(catalog_of(request)))
    elif phase == "ABORT":
        await run_in_threadpool(_store(request).abort, job)
    else:
        return PlainTextResponse("PHASE must be RUN or ABORT", 400)
    return RedirectResponse(_job_url(request, job), status_code=303)


@router.get("/async/{job_id}/executionduration", responses=_JOB_TEXT, response_class=Response)
def get_duration(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    return _not_found(job_id) if job is None else PlainTextResponse(str(job.execution_duration))


@router.post(
    "/async/{job_id}/executionduration",
    openapi_extra=doc.post_params(doc.UWS_DURATION),
    responses=_REDIRECT,
    response_class=Response,
)
async def post_duration(request: Request, job_id: str) -> Response:
    value = (await vo_params(request)).get("EXECUTIONDURATION", "")
    return await run_in_threadpool(_post_duration, request, job_id, value)


def _post_duration(request: Request, job_id: str, value: str) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    try:
        seconds = int(value)
    except ValueError:
        return PlainTextResponse("EXECUTIONDURATION must be an integer (seconds)", 400)
    _store(request).set_execution_duration(job, max(1, min(seconds, uws.MAX_EXECUTION_DURATION_S)))
    return RedirectResponse(_job_url(request, job), status_code=303)


@router.get("/async/{job_id}/destruction", responses=_JOB_TEXT, response_class=Response)
def get_destruction(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    return _not_found(job_id) if job is None else PlainTextResponse(uws.isoformat(job.destruction))


@router.post(
    "/async/{job_id}/destruction",
    openapi_extra=doc.post_params(doc.UWS_DESTRUCTION),
    responses=_REDIRECT,
    response_class=Response,
)
async def post_destruction(request: Request, job_id: str) -> Response:
    value = (await vo_params(request)).get("DESTRUCTION", "")
    return await run_in_threadpool(_post_destruction, request, job_id, value)


def _post_destruction(request: Request, job_id: str, value: str) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    try:
        when = min(uws.parse_destruction(value), job.created + uws.DEFAULT_LIFETIME_S)
    except ValueError:
        return PlainTextResponse("DESTRUCTION must be an ISO 8601 time", 400)
    _store(request).set_destruction(job, when)
    return RedirectResponse(_job_url(request, job), status_code=303)


@router.get("/async/{job_id}/quote", responses=_JOB_TEXT, response_class=Response)
def get_quote(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    return _not_found(job_id) if job is None else PlainTextResponse("")


@router.get("/async/{job_id}/owner", responses=_JOB_TEXT, response_class=Response)
def get_owner(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    return _not_found(job_id) if job is None else PlainTextResponse(job.owner or "")


@router.get("/async/{job_id}/error", responses=_JOB_RESULT, response_class=Response)
def get_error(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    if job.error_document is None:
        return PlainTextResponse(f"job {job_id} has no error (phase {job.phase})", 404)
    return votable_response(job.error_document)


@router.get("/async/{job_id}/parameters", responses=_JOB_XML, response_class=Response)
def get_parameters(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    return Response(uws.parameters_xml(job), media_type=XML)


@router.post(
    "/async/{job_id}/parameters",
    openapi_extra=doc.post_params(doc.TAP_QUERY),
    responses=_REDIRECT,
    response_class=Response,
)
async def post_parameters(request: Request, job_id: str) -> Response:
    return await run_in_threadpool(_post_parameters, request, job_id, await vo_params(request))


def _post_parameters(request: Request, job_id: str, params: dict[str, str]) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    if job.phase != uws.PENDING:
        return PlainTextResponse(f"job is {job.phase}; parameters change only when PENDING", 400)
    if not _store(request).set_parameters(job, job.parameters | params):
        return PlainTextResponse("job is no longer PENDING; parameters change only then", 400)
    return RedirectResponse(_job_url(request, job), status_code=303)


@router.get("/async/{job_id}/results", responses=_JOB_XML, response_class=Response)
def get_results(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    _rights_checked(request, job)
    return Response(uws.results_xml(job, _job_url(request, job)), media_type=XML)


@router.get("/async/{job_id}/results/result", responses=_JOB_RESULT, response_class=Response)
def get_result(request: Request, job_id: str) -> Response:
    job = _owned_job(request, job_id)
    if job is None:
        return _not_found(job_id)
    _rights_checked(request, job)
    if job.withdrawn:
        return error_response(WITHDRAWN, 403)
    if job.phase == uws.ERROR and job.error_document is not None:
        return votable_response(job.error_document)
    path = _store(request).result_file(job)
    if path is None:
        return PlainTextResponse(f"job {job_id} has no result yet (phase {job.phase})", 404)
    return FileResponse(path, media_type=job.result_mime)


# --- VOSI and examples -----------------------------------------------------------


@router.get("/availability", summary="VOSI availability", responses=_XML, response_class=Response)
async def availability() -> Response:
    return Response(vosi.availability_xml(), media_type=XML)


@router.get(
    "/capabilities",
    summary="VOSI capabilities (TAPRegExt)",
    responses=_XML,
    response_class=Response,
)
async def capabilities(request: Request) -> Response:
    return Response(vosi.tap_capabilities_xml(_tap_url(request)), media_type=XML)


@router.get("/tables", summary="VOSI tables", responses=_XML, response_class=Response)
async def tables() -> Response:
    return Response(vosi.tables_xml(), media_type=XML)


@router.get(
    "/examples",
    summary="DALI examples",
    responses=doc.media("application/xhtml+xml", "text/html"),
    response_class=Response,
)
async def examples(request: Request) -> Response:
    return Response(vosi.examples_xhtml(_tap_url(request)), media_type="application/xhtml+xml")


@router.get("", summary="TAP service root", responses=_REDIRECT, response_class=Response)
async def root(request: Request) -> Response:
    return RedirectResponse(f"{_tap_url(request)}/capabilities", status_code=303)
