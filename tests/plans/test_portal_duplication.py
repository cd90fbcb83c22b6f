"""The portal's duplication check page (TestClient, both backends): the table
holds the visits the brute force finds, the API URL it shows gives the same
answer, a target list upload gives the POST route's rows, and bad input is the
page again with a 400 and the message."""

from __future__ import annotations

import html
import re

import pytest

from tests.plans.test_target_list import _as_csv, _keyed, _targets
from tests.plans.truth import brute_force

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::erfa.ErfaWarning"),
]
PAGE = "/portal/duplication"


def _table(text: str) -> list[list[str]]:
    body = re.search(r'<table id="results">.*?<tbody>(.*?)</tbody>', text, re.S)
    if body is None:
        return []
    rows = re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        for row in rows
    ]


def _api_url(text: str) -> str:
    return html.unescape(re.search(r'<a href="([^"]+)" id="api-url">', text).group(1))


def test_empty_page_has_both_forms_and_the_nav_link(plans_client):
    page = plans_client.get(PAGE)
    assert page.status_code == 200
    assert 'id="position-form"' in page.text and 'enctype="multipart/form-data"' in page.text
    assert "NIRCam Imaging (280″)" in page.text
    assert '<a href="/portal/duplication">Duplication check</a>' in plans_client.get("/").text


@pytest.mark.parametrize("ra, dec", [(0.0, -1.2), (123.0, 89.97)])
def test_position_table_equals_brute_force_and_api(plans_client, truth, ra, dec):
    page = plans_client.get(PAGE, params={"position": f"{ra} {dec}"})
    assert page.status_code == 200, page.text
    expected, border = brute_force(truth, ra, dec)
    shown = {(int(r[0]), int(r[1]), int(r[2])): float(r[7]) for r in _table(page.text)}
    assert set(shown) - border == set(expected) - border and expected
    for key, separation in expected.items():
        assert shown[key] == pytest.approx(separation, abs=0.01)
    api = plans_client.get(_api_url(page.text))
    assert api.status_code == 200
    assert {(r["program"], r["observation"], r["visit"]) for r in api.json()["results"]} == set(
        shown
    )
    assert re.search(r'<span id="count">(\d+)</span>', page.text).group(1) == str(len(shown))


def test_filters_reach_the_table_and_the_api_url(plans_client, truth):
    page = plans_client.get(
        PAGE, params={"position": "0 -1.2", "radius": "900", "template": "NIRCam Imaging"}
    )
    expected, border = brute_force(truth, 0.0, -1.2, radius=900.0, templates={"NIRCam Imaging"})
    rows = _table(page.text)
    assert {(int(r[0]), int(r[1]), int(r[2])) for r in rows} - border == set(expected) - border
    assert rows and {r[4] for r in rows} == {"NIRCam Imaging"}
    assert "radius=900" in _api_url(page.text) and "template=NIRCam+Imaging" in _api_url(page.text)


def test_list_upload_equals_the_post_route(plans_client, truth):
    targets = _targets(truth)
    text = _as_csv(targets)
    page = plans_client.post(PAGE, files={"file": ("targets.csv", text, "text/csv")})
    assert page.status_code == 200, page.text
    api = plans_client.post("/duplication/api/v0.1/search", content=text)
    want = _keyed(row for t in api.json()["targets"] for row in t["results"])
    shown = {(int(r[0]), int(r[2]), int(r[3]), int(r[4])) for r in _table(page.text)}
    assert shown == set(want) and len(shown) > 15
    assert "curl -F file=@targets.csv" in page.text


@pytest.mark.parametrize(
    "params, says",
    [
        ({"position": "400 100"}, "RA"),
        ({"position": "0 0", "radius": "-3"}, "radius"),
        ({"position": "0 0", "template": "Hubble"}, "unknown template"),
        ({"target": "NO-SUCH-TARGET"}, "no planned visit has the target"),
    ],
)
def test_bad_input_is_the_page_with_a_400(plans_client, params, says):
    page = plans_client.get(PAGE, params=params)
    assert page.status_code == 400
    alert = re.search(r'<p class="error" role="alert">(.*?)</p>', page.text, re.S).group(1)
    assert says.lower() in html.unescape(alert).lower()


def test_bad_uploads_are_the_page_with_a_400(plans_client):
    assert plans_client.post(PAGE, data={"radius": "10"}).status_code == 400
    page = plans_client.post(PAGE, files={"file": ("t.csv", "name,x\nA,1\n", "text/csv")})
    assert page.status_code == 400 and "needs ra and dec" in page.text
    page = plans_client.post(PAGE, files={"file": ("t.csv", b"\xff\xfe\x00", "text/csv")})
    assert page.status_code == 400 and "UTF-8" in page.text
