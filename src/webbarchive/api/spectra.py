"""MAST's spectra API: ``GET /spectra/api/v0.1/retrieve?uri=`` (seed 001).

The reply, as in the seed::

    {"status": 1, "message": "Successfully found data for <file>",
     "uri": "mast:JWST/product/<file>", "filename": "<file>",
     "column_metadata": {"wavelength": {"dtype": "float", "description": "wavelength values",
                                        "units": "um", "fitsExt": "WAVELENGTH"}, ...},
     "data": {"wavelength": [...], "flux": [...], "fluxErr": [...], ...}}

plus ``n_extensions`` and ``extension`` (index, extname, extver, slit_name,
source_id, spectral_order ... when the header has them) saying which spectrum
of the file the reply holds, and ``notes`` when something the file should
carry could not be given.

- x1d / c1d: every column of the EXTRACT1D / COMBINE1D table, 1-D arrays. A
  file with several tables (level-2 MOS with many slits, multi-order spectra)
  answers the first; ``ext=N`` (1-based) picks another, ``n_extensions`` says
  how many there are.
- s2d: ``wavelength``, ``flux`` (SCI), ``fluxErr`` (ERR), ``dq`` (DQ, when
  present) as 2-D arrays [row][column]; the wavelength comes from the
  WAVELENGTH extension, else from the gwcs in the ASDF extension. ``ext``
  picks a SCI extension of a multi-slit file.
- s3d: ``wavelength`` (1-D, one value per plane, from the WCS) and ``flux``,
  ``fluxErr``, ``dq`` as 3-D arrays [wavelength][y][x], streamed plane by plane.

NaN and infinite values are written as null. Arrays with more than one axis
carry their ``shape`` in ``column_metadata``. The pixel ``search`` route lives
in :mod:`webbarchive.api.pixel_search`.
"""

from __future__ import annotations

import contextlib

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import Engine

from webbarchive.api.deps import catalog, current_user, readable_product
from webbarchive.api.errors import ApiError, bad_request, not_found
from webbarchive.api.openapi_docs import PRODUCT_URI, json_errors, refine
from webbarchive.api.params import filename_from_uri, product_uri
from webbarchive.catalog.rights import User
from webbarchive.pixels.spectral_data import (
    SUPPORTED_SUFFIXES,
    ExtensionOutOfRange,
    ProductReadError,
    json_chunks,
    read_product,
)
from webbarchive.storage import open_storage

router = APIRouter(prefix="/spectra/api/v0.1", tags=["spectra"])

JSON = "application/json"


def _suffix(row: dict, filename: str) -> str:
    if row.get("suffix"):
        return str(row["suffix"]).lower()
    stem = filename.split(".", 1)[0]
    return stem.rsplit("_", 1)[-1].lower()


def _parse_ext(ext: str | None) -> int | None:
    if ext is None or not ext.strip():
        return None
    try:
        value = int(ext)
    except ValueError:
        raise bad_request(
            f"ext must be a positive integer (got {ext!r})", accepted="1..n_extensions"
        ) from None
    if value < 1:
        raise bad_request(f"ext must be 1 or more (got {value})", accepted="1..n_extensions")
    return value


@router.get(
    "/retrieve",
    summary="Pixel arrays of an x1d, c1d, s2d or s3d product",
    openapi_extra=refine(("uri",), uri=PRODUCT_URI, ext={"type": "integer", "minimum": 1}),
    responses=json_errors(403, 404, 422),
)
def retrieve(
    request: Request,
    uri: str | None = Query(
        None,
        description="mast:JWST/product/<filename> or a bare file name",
        examples=["mast:JWST/product/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"],
    ),
    ext: str | None = Query(
        None, description="which spectrum of a file holding several (1-based; default 1)"
    ),
    engine: Engine = Depends(catalog),
    user: User = Depends(current_user),
) -> Response:
    filename = filename_from_uri(uri)
    index = _parse_ext(ext)
    row = readable_product(engine, user, filename)
    suffix = _suffix(row, filename)
    if suffix not in SUPPORTED_SUFFIXES:
        raise bad_request(
            f"{filename} is a {suffix!r} product; retrieve serves spectral products only",
            accepted=list(SUPPORTED_SUFFIXES),
        )
    storage = open_storage(row["path"], request.app.state.settings)
    with contextlib.ExitStack() as using:
        try:  # S3: a cached local copy, kept while it is opened
            readable = using.enter_context(storage.cached(row["path"]))
        except FileNotFoundError:
            raise not_found(
                f"{filename} is in the catalog but its file is missing from storage"
            ) from None
        try:
            product = read_product(str(readable), suffix, index)
        except ExtensionOutOfRange as exc:
            raise bad_request(
                f"{filename} holds {exc.count} spectra; ext={exc.ext} is out of range",
                accepted=f"1..{exc.count}",
            ) from None
        except ProductReadError as exc:
            raise ApiError(422, f"{filename} cannot be read as a {suffix} product: {exc}") from None

    head = {
        "status": 1,
        "message": f"Successfully found data for {filename}",
        "uri": product_uri(filename),
        "filename": filename,
        "n_extensions": product.n_extensions,
        "extension": product.extension,
        "column_metadata": {c.name: c.metadata() for c in product.columns},
    }
    if product.notes:
        head["notes"] = product.notes
    chunks = json_chunks(head, product)
    if product.streamed:
        return StreamingResponse(chunks, media_type=JSON)
    return Response(b"".join(chunks), media_type=JSON)
