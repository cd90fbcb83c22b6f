"""Every domain error is answered with its documented 4xx, saying what is
accepted: JSON on the MAST and DJA routes, an ERROR VOTable on the VO routes."""

from __future__ import annotations

import io

import pytest
from astropy.io.votable import parse
from fastapi import FastAPI
from fastapi.testclient import TestClient

from webbarchive import errors, positions, uris
from webbarchive.api import errors as api_errors
from webbarchive.catalog import accounts
from webbarchive.catalog.sky import FootprintError
from webbarchive.mast.filters import FilterError
from webbarchive.mast.missions import SEARCH_ACCEPTED, MissionsError
from webbarchive.pixels.syntax import QueryError
from webbarchive.plans import PlanInputError, PlanNotFound
from webbarchive.portal.search import PortalInputError
from webbarchive.telemetry import TelemetryInputError, TelemetryNotFound
from webbarchive.vo.adql import AdqlError
from webbarchive.vo.dal import DalError
from webbarchive.vo.vosi import DEFAULT_MAXREC, HARD_MAXREC, parse_maxrec

# (error, documented status): the domain's own names, each under one kind.
CASES = [
    (positions.PositionError("ra must be within [0, 360)", positions.ACCEPTED), 400),
    (uris.UriError("not a product file name: '..'", uris.ACCEPTED), 400),
    (QueryError("unknown column 'flux2'", {"columns": ["flux"]}), 400),
    (MissionsError("conditions must be a list of {column: value}"), 400),
    (FilterError("unknown filter 'x'"), 400),
    (DalError("POS must be CIRCLE, RANGE or POLYGON"), 400),
    (AdqlError("unknown table 'foo'"), 400),
    (PlanInputError("bad status 'x'", ["FLIGHT READY", "SCHEDULED"]), 400),
    (PlanNotFound("no planned visit targets 'M99'", "a target name from /plans"), 404),
    (TelemetryInputError("bad mnemonic", "upper-case letters, digits and _"), 400),
    (TelemetryNotFound("no telemetry for 'FOO'"), 404),
    (accounts.AccountInputError("a user name is one word without spaces, not 'a b'"), 400),
    (accounts.UnknownAccount("no user named 'nobody'"), 404),
    (PortalInputError("unknown sort 'x'"), 400),
    (FootprintError("a polygon needs three vertices"), 400),
    (errors.InvalidInput("radius must be positive", "0 < radius", parameter="radius"), 400),
    (errors.NotFound("no such product"), 404),
    (errors.Forbidden("exclusive access until 2027-03-01"), 403),
    (errors.Unauthorized("this needs a MAST token"), 401),
]
IDS = [type(e).__name__ for e, _ in CASES]


@pytest.fixture(scope="module")
def client() -> TestClient:
    """An app with the real handlers and one route per family raising CASES[i]."""
    app = FastAPI()
    api_errors.install(app)

    @app.get("/api/v0.1/raise/{i}")
    def json_route(i: int):
        raise CASES[i][0]

    @app.get("/scs/raise/{i}")
    def vo_route(i: int):
        raise CASES[i][0]

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(("i", "case"), list(enumerate(CASES)), ids=IDS)
def test_json_routes_answer_the_documented_status_and_what_is_accepted(client, i, case):
    error, status = case
    response = client.get(f"/api/v0.1/raise/{i}")
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ERROR" and body["error"] == status
    assert body["message"] == error.message
    if error.accepted is not None:
        assert body["accepted"] == error.accepted
    else:
        assert "accepted" not in body
    assert body.get("parameter") == error.parameter


@pytest.mark.parametrize(("i", "case"), list(enumerate(CASES)), ids=IDS)
def test_vo_routes_answer_an_error_votable(client, i, case):
    error, status = case
    response = client.get(f"/scs/raise/{i}")
    assert response.status_code == status
    assert "votable" in response.headers["content-type"]
    table = parse(io.BytesIO(response.content))
    info = next(i for i in table.resources[0].infos if i.name == "QUERY_STATUS")
    assert info.value == "ERROR"
    assert error.message in info.content
    if error.accepted is not None:
        assert str(error.accepted) in info.content


def test_every_domain_error_is_an_archive_error_of_one_kind():
    kinds = (errors.InvalidInput, errors.NotFound, errors.Forbidden, errors.Unauthorized)
    for error, _ in CASES:
        assert isinstance(error, errors.ArchiveError)
        assert sum(isinstance(error, k) for k in kinds) == 1, type(error).__name__


def test_invalid_input_stays_a_value_error():
    # Code that reads values with ``except ValueError`` keeps catching them.
    for error, status in CASES:
        assert isinstance(error, ValueError) == (status == 400), type(error).__name__


def test_missions_errors_say_the_search_syntax_by_default():
    assert MissionsError("bad").accepted == SEARCH_ACCEPTED


def test_a_route_error_keeps_its_explicit_status():
    assert api_errors.status_of(api_errors.ApiError(409, "cap reached")) == 409


def test_an_unexpected_error_is_a_500_not_an_archive_error(client):
    app = FastAPI()
    api_errors.install(app)

    @app.get("/boom")
    def boom():
        raise RuntimeError("disk on fire")

    response = TestClient(app, raise_server_exceptions=False).get("/boom")
    assert response.status_code == 500
    assert "disk on fire" not in response.text


@pytest.mark.parametrize(
    ("text", "rows"),
    [(None, DEFAULT_MAXREC), ("", DEFAULT_MAXREC), ("0", 0), (" 25 ", 25), ("10", 10)],
)
def test_maxrec(text, rows):
    assert parse_maxrec(text) == rows


def test_maxrec_is_capped():
    assert parse_maxrec(str(HARD_MAXREC * 10)) == HARD_MAXREC


@pytest.mark.parametrize("text", ["-1", "ten", "1.5", "1e3"])
def test_bad_maxrec(text):
    with pytest.raises(errors.InvalidInput) as info:
        parse_maxrec(text)
    assert info.value.parameter == "MAXREC"
    assert str(HARD_MAXREC) in info.value.accepted
