"""Refuse, don't answer empty (issue 13, item 7), on both catalog backends: a position
outside RA [0, 360) or Dec [-90, 90] is refused by every route that takes one (it used
to be wrapped, ``ra=400`` searching at RA 40, or searched as given and found nothing),
and a reversed range is refused where it would select nothing.

Each route's refusal is in its own protocol: a 400 JSON body for the MAST and DJA
routes, a 400 ERROR VOTable for the VO services, an ERROR envelope for Mashup (whose
clients read errors from the body)."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: (RA, Dec) in degrees that no route may accept.
OFF_SKY = [(400.0, 0.0), (-0.5, 10.0), (360.0, 0.0), (10.0, 90.5), (10.0, -91.0)]


@pytest.fixture()
def client(catalog_url, tmp_path):
    """The app over a catalog holding one public product with a ``program`` keyword
    (so MastMissions knows the column): a refusal must not depend on the data."""
    from sqlalchemy import insert
    from tests.rows import add_file_product

    from webbarchive.api.app import create_app
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import keywords
    from webbarchive.config import Settings

    engine = open_catalog(catalog_url)
    with engine.begin() as conn:
        name = "jw01000-o001_t001_nircam_clear-f200w_i2d.fits"
        product_id = add_file_product(
            conn, "jw01000-o001_t001_nircam_clear-f200w", name, tmp_path / name,
            proposal_id="1000", s_ra=40.0, s_dec=0.0,
        )  # fmt: skip
        conn.execute(
            insert(keywords).values(
                product_id=product_id, name="program", hdu="PRIMARY", value="1000", num=1000.0
            )
        )
    engine.dispose()
    with TestClient(create_app(Settings.from_env(db_url=catalog_url))) as app:
        yield app


def _json_routes(ra: float, dec: float) -> list[str]:
    where = f"ra={ra}&dec={dec}"
    return [
        f"/assoc?{where}",
        f"/assoc?polygon=rect({ra},{dec},1)",
        f"/exposures?{where}",
        f"/exposures?coords={ra},{dec}&output=table",
        f"/assoc_mosaic?coords={ra},{dec}",
        f"/assoc_mosaic?coords={ra},{dec},1",
        f"/thumb?{where}",
        f"/nirspec_slits?{where}",
        f"/nirspec_extractions?coord={ra} {dec}",
        f"/mosfire?{where}&mode=json",
        f"/spectra/api/v0.1/search?wavelength=1,2&{where}",
        f"/viz/api/v0.1/search?wavelength=1,2&{where}",
    ]


@pytest.mark.parametrize(("ra", "dec"), OFF_SKY)
def test_json_routes_refuse_a_position_off_the_sky(client, ra, dec):
    for url in _json_routes(ra, dec):
        answer = client.get(url)
        assert answer.status_code == 400, (url, answer.status_code, answer.text[:300])
        message = answer.json()["message"]
        assert ("ra must be within [0, 360)" in message) or ("dec must be within" in message), (
            url,
            message,
        )


@pytest.mark.parametrize(("ra", "dec"), OFF_SKY)
def test_mast_missions_refuses_a_target_off_the_sky(client, ra, dec):
    answer = client.post(
        "/search/jwst/api/v0.1/search",
        json={
            "target": [f"{ra} {dec}"],
            "radius": 3,
            "radius_units": "arcminutes",
            "select_cols": ["program"],
        },  # fmt: skip
    )
    assert answer.status_code == 400, answer.text
    assert "must be within" in answer.json()["message"]


@pytest.mark.parametrize(("ra", "dec"), OFF_SKY)
def test_mashup_refuses_a_position_off_the_sky(client, ra, dec):
    for service, params in [
        ("Mast.Caom.Cone", {"ra": ra, "dec": dec, "radius": 0.1}),
        ("Mast.Caom.Filtered.Position",
         {"columns": "*", "filters": [], "position": f"{ra}, {dec}, 0.1"}),
    ]:  # fmt: skip
        request = {"service": service, "params": params, "format": "json", "page": 1}
        reply = client.post("/api/v0/invoke", data={"request": json.dumps(request)}).json()
        assert reply["status"] == "ERROR", (service, reply)
        assert "must be within" in reply["msg"], reply


@pytest.mark.parametrize(("ra", "dec"), OFF_SKY)
def test_vo_services_refuse_a_position_off_the_sky(client, ra, dec):
    for url, params in [
        ("/scs", {"RA": ra, "DEC": dec, "SR": 0.1}),
        ("/sia/query", {"POS": f"CIRCLE {ra} {dec} 0.1"}),
        ("/ssa", {"REQUEST": "queryData", "POS": f"{ra},{dec}"}),
    ]:
        answer = client.get(url, params=params)
        assert answer.status_code == 400, (url, answer.text[:300])
        assert 'name="QUERY_STATUS" value="ERROR"' in answer.text, answer.text[:500]
        assert "must be within" in answer.text


def test_positions_on_the_sky_are_accepted(client):
    # The edges that are on the sky: RA 0 and just below 360, both poles.
    for ra, dec in [(0.0, 0.0), (359.9999, -90.0), (180.0, 90.0)]:
        assert client.get(f"/exposures?ra={ra}&dec={dec}").status_code == 200
        assert client.get("/scs", params={"RA": ra, "DEC": dec, "SR": 0.1}).status_code == 200


@pytest.mark.parametrize("path", ["/spectra/api/v0.1/search", "/viz/api/v0.1/search"])
def test_pixel_search_refuses_a_reversed_range(client, path):
    for query in ("wavelength=1.3,1.2", "flux=10,-10", "derSnr=5,1"):
        answer = client.get(f"{path}?{query}")
        assert answer.status_code == 400, (query, answer.text)
        assert "exceeds the high bound" in answer.json()["message"]
    # an empty side is an open bound, and equal bounds a single value: both accepted
    for query in ("wavelength=1.2,", "wavelength=,1.3", "wavelength=1.2,1.2"):
        assert client.get(f"{path}?{query}").status_code == 200, query


def test_mashup_refuses_a_reversed_range(client):
    request = {
        "service": "Mast.Caom.Filtered",
        "params": {"columns": "*",
                   "filters": [{"paramName": "t_exptime", "values": [{"min": 2000, "max": 100}]}]},
        "format": "json", "page": 1,
    }  # fmt: skip
    reply = client.post("/api/v0/invoke", data={"request": json.dumps(request)}).json()
    assert reply["status"] == "ERROR" and "exceeds max" in reply["msg"], reply


def test_mast_missions_refuses_a_reversed_range(client):
    answer = client.post(
        "/search/jwst/api/v0.1/search",
        json={"conditions": [{"program": "2000..1000"}], "select_cols": ["program"]},
    )
    assert answer.status_code == 400, answer.text
    assert "low bound exceeds the high bound" in answer.json()["message"]


def test_sia_refuses_a_reversed_range(client):
    for pos in ("RANGE 20 10 0 1", "RANGE 10 20 1 0"):
        answer = client.get("/sia/query", params={"POS": pos})
        assert answer.status_code == 400 and "ra1 &lt;= ra2" in answer.text, (pos, answer.text)
    assert client.get("/sia/query", params={"POS": "RANGE 10 20 0 1"}).status_code == 200
