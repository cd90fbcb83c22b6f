"""Preview JPEGs at ``/api/v0.1/Download/file?uri=mast:JWST/product/<stem>.jpg``,
where MAST serves them and where ``jpegURL`` points.

A preview is not a product row: it belongs to the product ``<stem>.fits``
and follows its rights, so a stranger asking for the preview of an
exclusive-access product gets the same 401/403 as for the product itself,
and an unknown name the same 404. A missing preview is drawn on demand
(:func:`webbarchive.previews.store.ensure`); one that cannot be drawn is a 404
that says why.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import Engine

from webbarchive.api.errors import not_found
from webbarchive.catalog.queries import product_by_filename
from webbarchive.catalog.rights import User, check_named
from webbarchive.previews import store
from webbarchive.previews.draw import PreviewError
from webbarchive.uris import UriError, filename_from_uri

#: Browsers may keep a preview an hour; it changes only when its product does.
CACHE_CONTROL = "private, max-age=3600"


def names_preview(engine: Engine, uri: str | None) -> bool:
    """Whether ``uri`` names a preview (``<stem>.jpg`` that is no product of its own)."""
    try:
        filename = filename_from_uri(uri)
    except UriError:
        return False
    if not filename.lower().endswith(store.PREVIEW_ENDING):
        return False
    with engine.connect() as conn:
        return product_by_filename(conn, filename) is None


def preview_download(request: Request, uri: str, engine: Engine, user: User) -> Response:
    """The preview JPEG named by ``uri`` (GET), or its headers (HEAD)."""
    filename = filename_from_uri(uri)
    with engine.connect() as conn:
        product = store.source_product(conn, filename)
    if product is None:
        raise not_found(f"no product named {filename!r} in this archive")
    check_named(user, product, filename)
    try:
        path = store.ensure(engine, product)
    except PreviewError as exc:
        raise not_found(f"no preview {filename!r}: {exc}") from None
    return FileResponse(
        path,
        media_type="image/jpeg",
        headers={"Cache-Control": CACHE_CONTROL},
        content_disposition_type="inline",
        filename=filename,
    )
