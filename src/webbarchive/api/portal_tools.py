"""Portal pages over the scripted tools: the spectral pixel search, the DJA
thumbnail (filters, stretch, slit and MSA shutter overlays) and the NIRSpec
extractions, redshifts and MSA slits.

Each page is a GET form (the query lives in the URL, no JavaScript needed)
whose answer is the answer of the existing API endpoint, asked in-process
through the whole app (:func:`_ask_api`: same parameter checks, same
authorization, same rate limits as a script gets), shown with the API URL so
the person can script the same call next. A token the portal refuses
(expired) is not forwarded: the page shows what an anonymous visitor may see.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse

from webbarchive.api import openapi_docs as doc
from webbarchive.api.portal import _page, portal_user

router = APIRouter(tags=["portal"])

#: Rows shown on a page; the API URL gives them all (with limit/offset).
SHOWN_ROWS = 200


@dataclass(frozen=True)
class Field:
    """One input of a tool's form: query parameter, label, placeholder, choices."""

    name: str
    label: str
    placeholder: str = ""
    choices: tuple[str, ...] = ()  # a select ("" = any) when given
    hint: str = ""

    def documented(self) -> doc.Param:
        """This field as an OpenAPI query parameter, for /docs."""
        described = f"{self.label}{'; ' + self.hint if self.hint else ''}"
        extra = {"enum": ["", *self.choices]} if self.choices else {}
        example = None if self.placeholder.startswith(("e.g.", "<")) else self.placeholder
        return doc.text(self.name, described, example or None, **extra)


def _documented(fields: tuple[Field, ...]) -> dict[str, Any]:
    return doc.query(*(f.documented() for f in fields))


@dataclass
class Answer:
    """What one API call gave, for the page: its URL and a table, an image or an error."""

    title: str
    url: str
    status: int = 200
    columns: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: int | None = None
    image: str = ""  # a data: URI (PNG)
    image_size: tuple[int, int] = (0, 0)  # width, height (pixels)
    image_bytes: int = 0
    error: str = ""
    links: dict[str, str] = field(default_factory=dict)  # column -> URL template


async def _ask_api(request: Request, url: str, forward: bool) -> tuple[int, dict[str, str], bytes]:
    """GET ``url`` (path and query) from this same app, in-process, as the
    person's browser would: with their token when ``forward``."""
    path, _, query = url.partition("?")
    headers = [(b"host", request.headers.get("host", "localhost").encode())]
    if forward:
        headers += [
            (name.encode(), request.headers[name].encode())
            for name in ("authorization", "cookie")
            if name in request.headers
        ]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": request.url.scheme,
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": headers,
        "client": request.scope.get("client"),
        "server": request.scope.get("server"),
    }
    started: dict[str, Any] = {}
    body: list[bytes] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            body.append(message.get("body", b""))

    await request.app(scope, receive, send)
    answer_headers = {k.decode().lower(): v.decode() for k, v in started.get("headers", [])}
    return started.get("status", 500), answer_headers, b"".join(body)


def _message(status: int, content: bytes) -> str:
    """The API's own words for a refusal (JSON ``message``), else the status."""
    try:
        document = json.loads(content)
    except ValueError:
        return f"the API answered {status}"
    text = str(document.get("message") or document.get("msg") or f"the API answered {status}")
    accepted = document.get("accepted")
    return f"{text} (accepted: {json.dumps(accepted)})" if accepted else text


def _rows_of(document: Any) -> tuple[list[str], list[dict[str, Any]]]:
    """Columns and rows of a JSON answer: a list of records, pandas'
    ``{column: {index: value}}``, or the pixel search's ``results``."""
    if isinstance(document, dict) and isinstance(document.get("results"), list):
        document = document["results"]
    if isinstance(document, list):
        columns = list(dict.fromkeys(k for row in document for k in row))
        return columns, document
    if isinstance(document, dict) and all(isinstance(v, dict) for v in document.values()):
        columns = list(document)
        indices = sorted({i for v in document.values() for i in v}, key=lambda i: int(i))
        return columns, [{c: document[c].get(i) for c in columns} for i in indices]
    return [], []


async def _table(request: Request, title: str, url: str, forward: bool, **kw: Any) -> Answer:
    status, headers, content = await _ask_api(request, url, forward)
    answer = Answer(title, url, status, **kw)
    if status != 200:
        answer.error = _message(status, content)
        return answer
    document = json.loads(content)
    answer.columns, rows = _rows_of(document)
    answer.rows = rows[:SHOWN_ROWS]
    if isinstance(document, dict) and isinstance(document.get("paging"), dict):
        answer.total = document["paging"].get("total")
    elif "x-total-count" in headers:
        answer.total = int(headers["x-total-count"])
    else:
        answer.total = len(rows)
    return answer


async def _image(request: Request, title: str, url: str, forward: bool) -> Answer:
    status, headers, content = await _ask_api(request, url, forward)
    answer = Answer(title, url, status)
    if status != 200:
        answer.error = _message(status, content)
    elif headers.get("content-type", "").startswith("image/png"):
        answer.image = "data:image/png;base64," + base64.b64encode(content).decode()
        answer.image_size, answer.image_bytes = _png_size(content), len(content)
    else:
        answer.error = f"the API answered {headers.get('content-type')!r}, not a PNG"
    return answer


def _png_size(content: bytes) -> tuple[int, int]:
    """Width and height of a PNG, from its IHDR chunk (bytes 16-24: big-endian)."""
    return int.from_bytes(content[16:20], "big"), int.from_bytes(content[20:24], "big")


def _query(request: Request, fields: tuple[Field, ...], **extra: str) -> dict[str, str]:
    """The form's non-empty fields, in the form's order, then ``extra``."""
    values = {f.name: request.query_params.get(f.name, "").strip() for f in fields}
    return {k: v for k, v in {**values, **extra}.items() if v}


async def _tool_page(
    request: Request,
    template_title: str,
    intro: str,
    fields: tuple[Field, ...],
    answers: list[Answer],
) -> HTMLResponse:
    status = max([a.status for a in answers if a.status >= 400] or [200])
    status = status if status < 500 else 502
    values = {f.name: request.query_params.get(f.name, "") for f in fields}
    return await run_in_threadpool(
        _page,
        request,
        "tool.html",
        status,
        title=template_title,
        intro=intro,
        fields=fields,
        values=values,
        answers=answers,
        base=str(request.base_url).rstrip("/"),
    )


async def _forward(request: Request) -> bool:
    user, refused = await run_in_threadpool(portal_user, request)
    return refused is None and not user.anonymous


@router.get("/portal/tools", response_class=HTMLResponse, summary="Portal: the tools")
def tools_index(request: Request) -> HTMLResponse:
    return _page(request, "tools.html", title="Tools")


# --- the spectral pixel search --------------------------------------------------------
PIXEL_FIELDS = (
    Field(
        "wavelength", "Wavelength range (µm)", "1.2,1.3", hint="low,high; either side may be empty"
    ),
    Field("flux.gt", "Flux above (Jy)", "1e-6"),
    Field("derSnr.gt", "DER_SNR above", "5"),
    Field("productType", "Product type", choices=("x1d", "c1d", "s2d", "s3d")),
    Field("instrument", "Instrument", "NIRSPEC"),
    Field("grating", "Grating", "G395M"),
    Field("filter", "Filter", "F290LP"),
    Field("program", "Program", "e.g. 2736"),
    Field("target", "Target", ""),
    Field("ra", "RA (deg)", "53.16"),
    Field("dec", "Dec (deg)", "-27.78"),
    Field("radius", "Radius (deg)", "0.05"),
    Field("limit", "Rows", "50", hint=f"at most {SHOWN_ROWS} shown here"),
)


@router.get(
    "/portal/tools/pixels",
    responses=doc.html_errors(400, 401, 403, 404, 502),
    response_class=HTMLResponse,
    summary="Portal: pixel search",
    openapi_extra=_documented(PIXEL_FIELDS),
)
async def pixels_page(request: Request) -> HTMLResponse:
    query = _query(request, PIXEL_FIELDS)
    answers = []
    if query:
        query.setdefault("limit", "50")
        url = "/spectra/api/v0.1/search?" + urlencode(query)
        answers.append(await _table(request, "Pixels", url, await _forward(request)))
    return await _tool_page(
        request,
        "Pixel search",
        "Search the pixels of the archive's 1-D and 2-D spectra by wavelength, flux and "
        "signal-to-noise, within the spectra a product filter selects.",
        PIXEL_FIELDS,
        answers,
    )


# --- the DJA thumbnail ------------------------------------------------------------------
THUMB_FIELDS = (
    Field("coords", "Position (RA Dec)", "53.16 -27.78", hint="degrees or sexagesimal"),
    Field("size", "Half-width (arcsec)", "4"),
    Field("filters", "Filters", "f115w,f277w,f444w", hint="empty: the filters there, as DJA picks"),
    Field("asinh", "Stretch", choices=("false", "true"), hint="true: asinh; false: Lupton RGB"),
    Field("scl", "Scale", "1"),
    Field("rgb_min", "Black level", "-0.01"),
    Field("invert", "Invert", choices=("false", "true")),
    Field("all_filters", "Every filter", choices=("false", "true"), hint="panels side by side"),
    Field("slit", "Slit overlay", "ra,dec,PA,width,length", hint="deg, deg, deg, arcsec, arcsec"),
    Field("metafile", "MSA shutters of", "jwPPPPPOOOVVV_01_msa.fits", hint="an MSA file name"),
)


@router.get(
    "/portal/tools/thumb",
    responses=doc.html_errors(400, 401, 403, 404, 502),
    response_class=HTMLResponse,
    summary="Portal: thumbnails",
    openapi_extra=_documented(THUMB_FIELDS),
)
async def thumb_page(request: Request) -> HTMLResponse:
    shutters = {"nirspec": "True"} if request.query_params.get("metafile", "").strip() else {}
    query = _query(request, THUMB_FIELDS, **shutters)
    answers = []
    if query:
        url = "/thumb?" + urlencode(query)
        answers.append(await _image(request, "Thumbnail", url, await _forward(request)))
    return await _tool_page(
        request,
        "Thumbnail",
        "A colour (or per-filter) cutout of the drizzled mosaics at a position, with the "
        "stretch you choose, and a slit or the shutters of an MSA file drawn over it.",
        THUMB_FIELDS,
        answers,
    )


# --- NIRSpec extractions, redshifts and MSA slits ---------------------------------------
NIRSPEC_FIELDS = (
    Field("coords", "Position (RA Dec)", "53.16 -27.78"),
    Field("size", "Radius (arcsec)", "1"),
    Field("file", "or a spectrum file", "<root>_<grating>-<filter>_<program>_<srcid>.spec.fits"),
)


@router.get(
    "/portal/tools/nirspec",
    responses=doc.html_errors(400, 401, 403, 404, 502),
    response_class=HTMLResponse,
    summary="Portal: NIRSpec spectra",
    openapi_extra=_documented(NIRSPEC_FIELDS),
)
async def nirspec_page(request: Request) -> HTMLResponse:
    forward = await _forward(request)
    cone = _query(request, NIRSPEC_FIELDS[:2])
    file = request.query_params.get("file", "").strip()
    answers = []
    if file:
        where = urlencode({"file": file, "output": "json"})
        answers.append(
            await _table(request, "Redshift", f"/nirspec_file_redshift?{where}", forward)
        )
        answers.append(
            await _table(
                request, "Spectra of this source", f"/nirspec_extractions?{where}", forward
            )
        )
    elif cone:
        where = urlencode({**cone, "output": "json"})
        answers.append(
            await _table(request, "Extractions", f"/nirspec_extractions?{where}", forward)
        )
        answers.append(await _table(request, "MSA slits", f"/nirspec_slits?{where}", forward))
    return await _tool_page(
        request,
        "NIRSpec spectra",
        "The msaexp extractions and redshifts near a position or of one spectrum's source, "
        "and the MSA shutters that covered the position.",
        NIRSPEC_FIELDS,
        answers,
    )
