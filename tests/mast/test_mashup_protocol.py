"""Mashup protocol details checked in-process: the EXECUTING long-poll,
malformed bodies and the reply shapes of the recorded MAST fixtures."""

from __future__ import annotations

import json
import threading

import pytest
from fastapi.testclient import TestClient

from webbarchive.api import mashup
from webbarchive.api.app import create_app
from webbarchive.config import Settings


@pytest.fixture()
def app_client(tmp_path):
    with TestClient(create_app(Settings.from_env(db_url=str(tmp_path / "catalog.db")))) as client:
        yield client


def invoke(client, request: dict):
    return client.post("/api/v0/invoke", data={"request": json.dumps(request)})


def test_slow_query_answers_executing_then_the_result(app_client, monkeypatch):
    release = threading.Event()
    calls = []
    real = mashup.execute

    def slow(engine, user, request):
        calls.append(1)
        release.wait(10)
        return real(engine, user, request)

    monkeypatch.setattr(mashup, "execute", slow)
    app_client.app.state.mashup_wait_seconds = 0.05
    request = {
        "service": "Mast.Caom.Filtered",
        "params": {"columns": "COUNT_BIG(*)", "filters": []},
        "page": 1,
        "pagesize": 10,
    }
    first = invoke(app_client, request)
    assert first.status_code == 200 and first.json()["status"] == "EXECUTING"
    again = invoke(app_client, request)  # the identical re-post finds the same job
    assert again.json()["status"] == "EXECUTING"
    release.set()
    app_client.app.state.mashup_wait_seconds = 5
    done = invoke(app_client, request).json()
    assert done["status"] == "COMPLETE" and done["data"] == [{"Column1": 0}]
    assert len(calls) == 1


def test_reply_shape_matches_recorded_mast_replies(app_client, real_dir):
    recorded = json.loads((real_dir / "mast" / "astroquery_countsResp.json").read_text())
    body = invoke(
        app_client,
        {"service": "Mast.Caom.Filtered", "params": {"columns": "COUNT_BIG(*)", "filters": []}},
    ).json()
    assert set(recorded) <= set(body) and set(recorded["paging"]) == set(body["paging"])
    assert list(body["data"][0]) == list(recorded["data"][0]) == ["Column1"]
    recorded = json.loads((real_dir / "mast" / "astroquery_columnsconfig.json").read_text())
    config = app_client.post(
        "/portal/Mashup/Mashup.asmx/columnsconfig", data={"colConfigId": "Mast.Caom.Cone"}
    ).json()
    kept = {k for k, v in recorded.items() if not v.get("remove") and k != "_selected_"}
    assert kept <= set(config), kept - set(config)
    for name in kept:
        assert config[name]["vot.datatype"] in ("char", "double", "int", "long", "boolean")
        assert config[name].get("separator") == recorded[name].get("separator"), name


def test_malformed_requests_are_400_json(app_client):
    assert app_client.post("/api/v0/invoke").status_code == 400
    bad = app_client.post("/api/v0/invoke", data={"request": "{not json"})
    assert bad.status_code == 400 and "JSON" in bad.json()["message"]
    unknown = invoke(app_client, {"service": "Mast.Nope", "params": {}}).json()
    assert unknown["status"] == "ERROR" and "Mast.Caom.Cone" in unknown["msg"]
    paging = invoke(
        app_client,
        {"service": "Mast.Caom.Cone", "params": {"ra": 1, "dec": 2, "radius": 0.1}, "page": 0},
    ).json()
    assert paging["status"] == "ERROR"
    search = app_client.post("/search/jwst/api/v0.1/search", json={"conditions": [{"nope": 1}]})
    assert search.status_code == 400 and "nope" in search.json()["message"]


def test_mashup_positions_use_the_one_position_parser():
    """``position`` and ``ra``/``dec`` read as everywhere else: degrees or
    sexagesimal (SkyCoord's answer), errors in the Mashup envelope."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    from webbarchive.mast.caom import MashupError, parse_position

    truth = SkyCoord("10:00:28.6", "+02:12:21", unit=(u.hourangle, u.deg))
    ra, dec, radius = parse_position({"position": "10:00:28.6, +02:12:21, 0.1"})
    assert (ra, dec, radius) == pytest.approx((truth.ra.deg, truth.dec.deg, 0.1), abs=1e-12)
    assert parse_position({"ra": 150.1, "dec": 2.2}) == pytest.approx((150.1, 2.2, 0.2))
    assert parse_position({}) is None
    # RA outside [0, 360) is refused, never wrapped (issue 13)
    for bad in ({"position": "1, 2"}, {"ra": 1}, {"ra": "x", "dec": 0}, {"ra": 1, "dec": 91},
                {"ra": 1, "dec": 2, "radius": 31}, {"ra": -10, "dec": 0, "radius": 1},
                {"ra": 400, "dec": 0}, {"position": "360, 0, 0.1"}):  # fmt: skip
        with pytest.raises(MashupError):
            parse_position(bad)
