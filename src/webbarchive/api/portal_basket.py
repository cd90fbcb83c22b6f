"""The portal's basket: ``/portal/basket`` lists the chosen products (their
count and total size, and which of them the user may not fetch) before any
download; ``/portal/basket.zip`` streams them as one zip made on the fly.

The basket itself lives in the browser (localStorage, ``basket.js``); the
page receives it as repeated ``file`` fields (GET, a shareable link, or POST
for long baskets). The curl script is the Mashup bundle
(``POST /api/v0.1/Download/bundle.sh``), which resumes and checks md5.

The zip is written while it is sent: members are stored (FITS data barely
compress, and the server's cores are better spent elsewhere) in chunks read
from storage, so memory holds one chunk, never the archive. Every file is
checked first with the download rules (:func:`deps.readable_product`): one
unknown or unreadable file refuses the whole zip with the 404/401/403 its
download would get, before a byte is sent. ``MD5SUMS`` closes the zip.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from sqlalchemy import Engine, select
from starlette.datastructures import FormData

from webbarchive.api import deps
from webbarchive.api.errors import ApiError, bad_request
from webbarchive.api.openapi_docs import json_errors, refine
from webbarchive.api.portal import _page, portal_user
from webbarchive.catalog.schema import observations
from webbarchive.mast import bundle
from webbarchive.storage import open_storage

router = APIRouter(tags=["portal"])
#: Products one basket may hold.
MAX_FILES = 2000
FILE_HELP = "a product file name (repeat the field for each product)"


#: The ``file`` field as the parser takes it: names, blanks ignored (at least one for the zip).
_FILES = {
    "type": "array",
    "items": {"type": "string", "pattern": r"\S"},
    "minItems": 1,
    "maxItems": MAX_FILES,
}


async def _files(request: Request, query: list[str]) -> list[str]:
    """The distinct file names of the query and (POST) the form, in order."""
    names = list(query)
    if request.method == "POST":
        form: FormData = await request.form()
        names += [str(v) for v in form.getlist("file")]
    names = list(dict.fromkeys(n.strip() for n in names if n and n.strip()))
    if len(names) > MAX_FILES:
        raise bad_request(f"at most {MAX_FILES} products per basket (got {len(names)})")
    return names


async def basket_page(
    request: Request,
    file: list[str] = Query([], description=FILE_HELP),
    engine: Engine = Depends(deps.catalog),
) -> HTMLResponse:
    """The basket: each product with its size, md5 and access, the count and
    total size of what the user may fetch, and the three ways to fetch it."""
    names = await _files(request, file)
    resolved = await run_in_threadpool(_resolved, request, engine, names)
    readable = [f for f in resolved if f.filename]
    return _page(
        request,
        "basket.html",
        title="Basket",
        files=resolved,
        readable=readable,
        total_bytes=sum(f.size for f in readable),
        unavailable=[f.uri.rsplit("/", 1)[-1] for f in resolved if not f.filename],
    )


def _resolved(request: Request, engine: Engine, names: list[str]) -> list:
    """The basket's products as the caller sees them (catalog reads: off the event loop)."""
    user, _ = portal_user(request)
    with engine.connect() as conn:
        return bundle.resolve(conn, user, [f"mast:JWST/product/{n}" for n in names])


for _method in ("GET", "POST"):
    router.add_api_route(
        "/portal/basket",
        basket_page,
        methods=[_method],
        response_class=HTMLResponse,
        summary="Portal: the basket, with counts and total size",
        name=f"basket_page_{_method.lower()}",
    )


class _Sink(io.RawIOBase):
    """A write-only, unseekable file: zipfile writes into it, the response takes
    what was written after each chunk (zipfile then uses data descriptors)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def zip_stream(rows: list[dict], date: datetime) -> Iterator[bytes]:
    """The zip of ``rows`` (product rows with ``arcname``), chunk by chunk."""
    sink = _Sink()
    stamp = date.timetuple()[:6]
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for row in rows:
            info = zipfile.ZipInfo(row["arcname"], date_time=stamp)
            info.file_size = row["size"]
            storage = open_storage(row["path"])
            with zf.open(info, mode="w", force_zip64=row["size"] >= 2**31) as member:
                for chunk in storage.iter_bytes(row["path"]):
                    member.write(chunk)
                    yield sink.take()
        sums = "".join(f"{r['checksum']}  {r['arcname']}\n" for r in rows if r["checksum"])
        zf.writestr(zipfile.ZipInfo("MD5SUMS", date_time=stamp), sums)
    yield sink.take()


def _checked_rows(request: Request, engine: Engine, names: list[str]) -> list[dict]:
    """The products, each checked as its download is (404 / 401 / 403), with their
    place in the zip, and present in storage at their catalogued size (409 if not).
    Catalog and storage reads: run off the event loop."""
    user = deps.user_of(request)
    rows = [deps.readable_product(engine, user, name) for name in names]
    with engine.connect() as conn:
        obs_ids = dict(
            conn.execute(
                select(observations.c.obsid, observations.c.obs_id).where(
                    observations.c.obsid.in_({r["obsid"] for r in rows})
                )
            ).all()
        )
    for row in rows:
        row["arcname"] = f"JWST/{obs_ids.get(row['obsid'], 'unknown')}/{row['filename']}"
        stat = open_storage(row["path"]).stat(row["path"])
        if stat is None or stat.size != row["size"]:
            raise ApiError(
                409,
                f"{row['filename']} is missing from storage or changed since it was ingested; "
                "the archive operator should re-run 'webbarchive ingest'",
            )
    return rows


async def basket_zip(
    request: Request,
    file: list[str] = Query([], description=FILE_HELP),
    engine: Engine = Depends(deps.catalog),
) -> Response:
    """The products as one zip (``JWST/<obs_id>/<file>`` and ``MD5SUMS``), streamed."""
    names = await _files(request, file)
    if not names:
        raise bad_request(
            "no products: send the field 'file' once per product", accepted="file=<name>"
        )
    rows = await run_in_threadpool(_checked_rows, request, engine, names)
    now = datetime.now(UTC)
    name = "webbarchive_" + now.strftime("%Y-%m-%dT%H%M%S") + ".zip"
    return StreamingResponse(
        zip_stream(rows, now),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Files": str(len(rows)),
            "X-Total-Bytes": str(sum(r["size"] for r in rows)),
        },
    )


for _method in ("GET", "POST"):
    router.add_api_route(
        "/portal/basket.zip",
        basket_zip,
        methods=[_method],
        response_class=Response,
        summary="Portal: the basket's products as one zip, streamed",
        responses={200: {"content": {"application/zip": {}}}, **json_errors(403, 404, 409)},
        openapi_extra=refine(("file",), file=_FILES),
        name=f"basket_zip_{_method.lower()}",
    )
