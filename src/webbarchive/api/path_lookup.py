"""``GET /api/v0.1/path_lookup/?uri=...&uri=...``: where products live, as MAST answers.

astroquery's ``mast_relative_path`` (behind ``Observations.get_cloud_uris``)
sends up to 50 ``uri`` parameters and reads ``answer[uri]["path"]``, a path
whose leading ``/`` it strips before putting it after the bucket. Here the
path is the object's key in its bucket with a leading ``/`` (a product stored
at ``s3://bucket/prefix/file.fits`` answers ``/prefix/file.fits``, so
``s3://bucket/`` + the stripped path is the object). ``status_code`` says per
URI what the download route would answer, and the path is null unless it is
200: 404 (no such product, or a product on the server's local disk, which has
no cloud path: ``reason`` says so and names the download route), 401/403 (the
caller may not read it), 400 (not a product URI).
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from webbarchive.api.deps import catalog_of, readable_product, user_of
from webbarchive.api.errors import bad_request, status_of
from webbarchive.api.openapi_docs import refine
from webbarchive.api.params import filename_from_uri
from webbarchive.errors import ArchiveError

router = APIRouter(tags=["downloads"])

#: URIs one request may name (astroquery sends 50 at most).
MAX_URIS = 500


@router.get(
    "/api/v0.1/path_lookup/",
    summary="Storage paths of products, as MAST's path_lookup",
    openapi_extra=refine(
        ("uri",),
        uri={"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_URIS},
    ),
    responses={
        200: {
            "description": "per URI asked: 200 and its storage path, or 400/403/404 and null",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["status_code", "path"],
                            "properties": {
                                "status_code": {"type": "integer"},
                                "path": {"type": ["string", "null"]},
                            },
                        },
                    }
                }
            },
        }
    },
)
@router.get("/api/v0.1/path_lookup", include_in_schema=False)
def path_lookup(
    request: Request,
    uri: list[str] = Query(
        default=[],
        description="mast:JWST/product/<filename> or a bare file name; repeat for several",
        examples=["mast:JWST/product/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"],
    ),
) -> dict[str, dict]:
    """``{uri: {"status_code": 200, "path": "/<storage key>"}}`` per URI asked."""
    if not uri:
        raise bad_request(
            "missing parameter 'uri'", accepted=["mast:JWST/product/<filename>", "<filename>"]
        )
    if len(uri) > MAX_URIS:
        raise bad_request(f"at most {MAX_URIS} uri parameters per request, got {len(uri)}")
    engine, user = catalog_of(request), user_of(request)
    answer: dict[str, dict] = {}
    for one in uri:
        try:
            row = readable_product(engine, user, filename_from_uri(one))
        except ArchiveError as refused:  # unknown, malformed or not the caller's to read
            answer[one] = {"status_code": status_of(refused), "path": None}
        else:
            key = cloud_path(row["path"])
            answer[one] = (
                {"status_code": 200, "path": key}
                if key is not None
                else {"status_code": 404, "path": None, "reason": LOCAL}
            )
    return answer


LOCAL = (
    "this product is on the archive's local disk, not in object storage; download it "
    "with /api/v0.1/Download/file?uri=<uri>"
)


def cloud_path(storage_path: str) -> str | None:
    """``/key`` of an object-storage location (``s3://bucket/key``), as MAST's
    path_lookup answers it; None for a local file, which has none."""
    scheme, sep, rest = storage_path.partition("://")
    if not sep or scheme not in ("s3", "s3a", "gs", "az") or "/" not in rest:
        return None
    return "/" + rest.split("/", 1)[1].lstrip("/")
