"""On the IVOA services a refused token, and a bad parameter, are ERROR VOTables (DALI
section 4.4 and the protocols' error documents), not the JSON of the MAST routes.

The truth: astropy's VOTable parser reads each body, and QUERY_STATUS=ERROR is its
INFO; the MAST and DJA routes keep their JSON error body.
"""

from __future__ import annotations

import io

import pytest
from astropy.io.votable import parse as parse_votable
from fastapi.testclient import TestClient

from webbarchive.api.app import create_app
from webbarchive.catalog import accounts
from webbarchive.config import Settings

T0 = 60_000.0  # MJD

VO_QUERIES = [
    "/tap/sync?LANG=ADQL&QUERY=SELECT+TOP+1+obs_id+FROM+ivoa.obscore",
    "/scs?RA=53.16&DEC=-27.78&SR=0.1",
    "/ssa?REQUEST=queryData&POS=53.16,-27.78&SIZE=0.1",
    "/sia/query?POS=CIRCLE+53.16+-27.78+0.1",
    "/tap/async",
]
MAST_QUERIES = ["/viz/api/v0.1/products?uri=mast:JWST/product/x_x1d.fits", "/thumb?ra=1&dec=1"]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    url = str(tmp_path_factory.mktemp("vo-auth") / "catalog.db")
    app = create_app(Settings.from_env(db_url=url))
    app.state.rate_limiter = None
    accounts.add_user(app.state.engine, "jdoe", now_mjd=T0)
    with TestClient(app) as test_client:
        yield test_client


def _error_votable(response) -> str:
    """The message of an ERROR VOTable (failing the test if the body is not one)."""
    assert response.headers["content-type"].startswith("application/x-votable+xml")
    table = parse_votable(io.BytesIO(response.content))
    infos = {info.name: info for resource in table.resources for info in resource.infos}
    assert infos["QUERY_STATUS"].value == "ERROR"
    return infos["QUERY_STATUS"].content


@pytest.mark.parametrize("path", VO_QUERIES)
@pytest.mark.parametrize(
    "header",
    ["token not-a-token-of-this-archive", "Bearer not-a-token-of-this-archive", "Basic abc"],
)
def test_bad_token_on_vo_routes_is_an_error_votable(client, path, header):
    response = client.get(path, headers={"Authorization": header})
    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers
    message = _error_votable(response)
    assert "token" in message.lower() or "authorization" in message.lower()


@pytest.mark.parametrize("path", VO_QUERIES[:4])
def test_expired_token_on_vo_routes_is_an_error_votable(client, path):
    old = accounts.create_token(client.app.state.engine, "jdoe", "old", now_mjd=T0).token
    client.app.state.clock_mjd = lambda: T0 + 11  # unused for 11 days: expired
    try:
        response = client.get(path, headers={"Authorization": f"token {old}"})
    finally:
        client.app.state.clock_mjd = None
    assert response.status_code == 401
    assert "unused for 10 days" in _error_votable(response)


@pytest.mark.parametrize(
    "path",
    [
        "/scs?RA=abc&DEC=1&SR=0.1",
        "/tap/sync?LANG=ADQL&QUERY=SELECT+1&MAXREC=-3",
        "/sia/query?POS=CIRCLE+1+2",
        "/ssa?REQUEST=queryData&POS=1,2&SIZE=x",
        "/tap/async/no-such-job/phase?PHASE=RUN&x=1",
    ],
)
def test_bad_parameters_on_vo_routes_are_not_json(client, path):
    response = client.get(path)
    assert 400 <= response.status_code < 500
    assert not response.headers["content-type"].startswith("application/json")


def test_unknown_vo_path_is_an_error_votable(client):
    response = client.get("/tap/no-such-endpoint")
    assert response.status_code == 404
    assert "no such endpoint" in _error_votable(response)


@pytest.mark.parametrize("path", MAST_QUERIES)
def test_mast_and_dja_routes_keep_json_errors(client, path):
    response = client.get(path, headers={"Authorization": "token not-a-token-of-this-archive"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ERROR" and body["error"] == 401
