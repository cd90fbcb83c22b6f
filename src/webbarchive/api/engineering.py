"""Engineering telemetry downloads: ``/api/v0.1/Download/file?uri=mast:jwstedb/...``.

The download router hands ``mast:jwstedb/<MNEMONIC>-<yyyymmddThhmmss>-<yyyymmddThhmmss>.csv``
uris here (the jwst pipeline's ``engdb_mast`` and MAST's EDB scripts ask this
way, with ``Authorization: token <token>``). The answer is MAST's CSV with the
samples bracketing the interval (:mod:`webbarchive.telemetry`). Anonymous
requests get 401; a malformed uri, an unknown mnemonic name and an inverted
interval get 400 or 404, saying what is accepted.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy import Engine

from webbarchive.api.deps import ACCEPTED_TOKEN_FORMS
from webbarchive.api.errors import ApiError
from webbarchive.catalog.queries import mnemonic_rows
from webbarchive.catalog.rights import User, may_read_engineering
from webbarchive.telemetry import query, store
from webbarchive.telemetry.wire import render_csv


def edb_download(request: Request, uri: str, engine: Engine, user: User) -> Response:
    """The CSV for one ``mast:jwstedb`` uri (GET), or its headers (HEAD)."""
    if not may_read_engineering(user):
        raise ApiError(
            401,
            "engineering telemetry (mast:jwstedb) needs a valid MAST token; send it as one "
            "of the accepted forms",
            accepted=ACCEPTED_TOKEN_FORMS,
            headers={"WWW-Authenticate": 'Bearer realm="webbarchive"'},
        )
    interval = query.parse_edb_uri(uri)
    with engine.connect() as conn:
        known = bool(mnemonic_rows(conn, interval.mnemonic, limit=1)[0])
    samples = query.samples(store.telemetry_root(engine), interval, known=known)
    body = render_csv(samples).encode()
    filename = uri.strip()[len(query.EDB_URI_PREFIX) :]
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Content-Length": str(len(body)),
    }
    if request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type="text/csv")
    return Response(body, status_code=200, headers=headers, media_type="text/csv")
