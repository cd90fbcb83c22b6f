"""File downloads: ``GET``/``HEAD /api/v0.1/Download/file?uri=`` as MAST serves them.

astroquery sends HEAD then GET with the uri quoted as ``quote(uri, safe=':/')``
and resumes with ``Range: bytes=<have>-``; MAST's curl scripts add
``bundle_name`` and use the ``/jwst`` prefix. Each answer carries
Content-Length, ``Accept-Ranges: bytes``, an ETag (the catalog's md5),
``X-Checksum-MD5`` (hex, the whole file) and, on full bodies, ``Content-MD5``
(base64). A single byte range gets 206; several ranges get the whole file
(see :mod:`webbarchive.api.http_ranges`). Files are streamed from storage in
chunks, never read whole.
"""

from __future__ import annotations

import base64
import binascii
import itertools
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine

from webbarchive.api import pools
from webbarchive.api.deps import catalog, current_user, readable_product
from webbarchive.api.engineering import edb_download
from webbarchive.api.errors import ApiError, not_found
from webbarchive.api.http_ranges import http_date, parse_range, precondition, range_applies
from webbarchive.api.openapi_docs import PRODUCT_URI, json_errors, refine
from webbarchive.api.params import filename_from_uri
from webbarchive.api.previews import names_preview, preview_download
from webbarchive.catalog.rights import User
from webbarchive.storage import open_storage
from webbarchive.telemetry.query import is_edb_uri

router = APIRouter(tags=["downloads"])

DOWNLOAD_PATHS = ("/api/v0.1/Download/file", "/jwst/api/v0.1/Download/file")

_MEDIA_TYPES = {
    ".fits": "application/fits",
    ".fits.gz": "application/gzip",
    ".gz": "application/gzip",
    ".json": "application/json",
    ".csv": "text/csv",
    ".ecsv": "text/plain",
    ".asdf": "application/octet-stream",
}


def media_type(filename: str) -> str:
    lower = filename.lower()
    for suffix in sorted(_MEDIA_TYPES, key=len, reverse=True):
        if lower.endswith(suffix):
            return _MEDIA_TYPES[suffix]
    return "application/octet-stream"


def _content_disposition(filename: str) -> str:
    ascii_name = "".join(c for c in filename if 32 <= ord(c) < 127 and c not in '"\\')
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def _checksum_headers(md5_hex: str | None) -> dict[str, str]:
    """ETag and checksum headers from the catalog's md5 (hex), when it has one."""
    if not md5_hex:
        return {}
    try:
        raw = binascii.unhexlify(md5_hex)
    except (binascii.Error, ValueError):
        return {}
    return {
        "ETag": f'"{md5_hex.lower()}"',
        "X-Checksum-MD5": md5_hex.lower(),
        "Content-MD5": base64.b64encode(raw).decode("ascii"),
    }


def _presigned_redirect(request: Request, storage, path: str, filename: str) -> Response | None:
    """307 to a presigned URL of an object-storage product when the server is set to
    (``download_redirect``): the store then serves the bytes, ranges included."""
    settings = request.app.state.settings
    if not settings.download_redirect:
        return None
    url = storage.presigned_url(path, settings.download_redirect_s, filename)
    if url is None:  # a local file: streamed here
        return None
    return Response(status_code=307, headers={"Location": url, "Cache-Control": "no-store"})


def _download(request: Request, uri: str | None, engine: Engine, user: User) -> Response:
    filename = filename_from_uri(uri)
    row = readable_product(engine, user, filename)
    storage = open_storage(row["path"], request.app.state.settings)
    stat = storage.stat(row["path"])
    if stat is None:
        raise not_found(
            f"{filename} is in the catalog but its file is missing from storage; "
            "the archive operator should re-run 'webbarchive ingest'"
        )
    if row["size"] is not None and stat.size != row["size"]:
        raise ApiError(
            409,
            f"{filename} changed on disk since it was ingested ({row['size']} bytes in the "
            f"catalog, {stat.size} now); its checksum is stale until it is re-ingested",
        )

    redirect = _presigned_redirect(request, storage, row["path"], filename)
    if redirect is not None:
        return redirect

    checksums = _checksum_headers(row.get("checksum"))
    etag = checksums.get("ETag")
    headers: dict[str, Any] = {
        "Accept-Ranges": "bytes",
        "Last-Modified": http_date(stat.mtime),
        "Content-Disposition": _content_disposition(filename),
        **{k: v for k, v in checksums.items() if k != "Content-MD5"},
    }
    kind = media_type(filename)

    status = precondition(request.headers, etag, stat.mtime)
    if status is not None:
        if status == 412:
            raise ApiError(412, f"precondition failed: {filename} has ETag {etag}")
        return Response(status_code=304, headers=headers)

    byte_range = None
    if request.method == "GET" and range_applies(request.headers, etag, stat.mtime):
        byte_range = parse_range(request.headers.get("range"), stat.size)

    if byte_range is None:
        headers["Content-Length"] = str(stat.size)
        if "Content-MD5" in checksums:
            headers["Content-MD5"] = checksums["Content-MD5"]
        if request.method == "HEAD":
            return Response(status_code=200, headers=headers, media_type=kind)
        return StreamingResponse(
            pools.stream(
                request.app, "downloads", storage.iter_bytes(row["path"], 0, stat.size - 1)
            ),
            status_code=200,
            headers=headers,
            media_type=kind,
        )

    headers["Content-Length"] = str(byte_range.length)
    headers["Content-Range"] = byte_range.content_range()
    return StreamingResponse(
        pools.stream(
            request.app,
            "downloads",
            storage.iter_bytes(row["path"], byte_range.first, byte_range.last),
        ),
        status_code=206,
        headers=headers,
        media_type=kind,
    )


def download_file(
    request: Request,
    uri: str | None = Query(
        None,
        description="mast:JWST/product/<filename>, a bare file name, or "
        "mast:jwstedb/<MNEMONIC>-<yyyymmddThhmmss>-<yyyymmddThhmmss>.csv",
        examples=["mast:JWST/product/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"],
    ),
    bundle_name: str | None = Query(
        None, description="added by MAST curl scripts; accepted and ignored"
    ),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    """Download one archived file, with byte ranges and conditional requests;
    or engineering telemetry as CSV (``mast:jwstedb/...``, needs a token)."""
    if is_edb_uri(uri):
        return edb_download(request, uri, engine, user)
    if names_preview(engine, uri):
        return preview_download(request, uri, engine, user)
    return _download(request, uri, engine, user)


# One route per method: a route with two methods gives both the same OpenAPI operation id.
for _path, _method in itertools.product(DOWNLOAD_PATHS, ("GET", "HEAD")):
    router.add_api_route(
        _path,
        download_file,
        methods=[_method],
        response_class=Response,
        summary="Download a file",
        responses={
            200: {"content": {"application/fits": {}}, "description": "the whole file"},
            206: {"description": "one byte range (Range: bytes=a-b, a-, -n)"},
            304: {"description": "If-None-Match / If-Modified-Since matched"},
            307: {"description": "presigned object-storage URL (download_redirect set)"},
            416: {"description": "malformed or unsatisfiable byte range"},
            503: {"description": "object storage unreachable; Retry-After says when to retry"},
            **json_errors(403, 404, 409, 412),
        },
        # The schema holds product names; telemetry URIs (the description's third
        # form) need an interval whose start precedes its end, which no pattern says.
        openapi_extra=refine(("uri",), uri=PRODUCT_URI),
    )
