"""Filter names on every DJA imaging route (both backends): ``filters=`` in any case,
by full DJA name or by band, selects exactly the rows whose ``filter`` is that DJA
filter (brute force over the unfiltered answer); ``/thumb`` names the requested
filters it lacks instead of drawing others."""

from __future__ import annotations

import csv
import io

import pytest

from tests.dja.imaging.conftest import RA0

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

COORDS = f"{RA0.ra},{RA0.dec}"
#: Every spelling of NIRCam F200W (DJA name F200W-CLEAR) a user may type.
SPELLINGS = ("F200W-CLEAR", "f200w-clear", "F200W", "f200w", "F200w")
ROUTES = [
    ("/assoc", {"coords": COORDS, "output": "csv"}),
    ("/exposures", {"coords": COORDS}),
    ("/assoc_mosaic", {"coords": COORDS, "output": "csv"}),
]


def _rows(client, path: str, params: dict) -> list[dict]:
    answer = client.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text)))


@pytest.mark.parametrize(("path", "params"), ROUTES)
def test_filters_in_any_case_and_by_band(dja_client, path, params):
    everything = _rows(dja_client, path, params)
    truth = [r for r in everything if r["filter"] == "F200W-CLEAR"]
    assert truth and len(truth) < len(everything)  # the filter selects, and some rows remain
    for spelling in SPELLINGS:
        assert _rows(dja_client, path, {**params, "filters": spelling}) == truth, spelling
    both = [r for r in everything if r["filter"] in ("F200W-CLEAR", "F444W-CLEAR")]
    assert _rows(dja_client, path, {**params, "filters": "f444w,F200W-clear"}) == both


@pytest.mark.parametrize(("path", "params"), ROUTES)
def test_unreadable_filter_names_are_refused(dja_client, path, params):
    for bad in ("f200w%", "F200W_CLEAR", "f200w-clear-x", "'; drop"):
        answer = dja_client.get(path, params={**params, "filters": bad})
        assert answer.status_code == 400, (bad, answer.text)
        assert "filter names" in answer.json()["message"]


def test_thumb_accepts_the_same_spellings(dja_client):
    images = {
        spelling: dja_client.get("/thumb", params={"coords": COORDS, "filters": spelling})
        for spelling in SPELLINGS
    }
    assert {r.status_code for r in images.values()} == {200}
    assert len({r.content for r in images.values()}) == 1


def test_thumb_names_the_missing_filters(dja_client):
    # The RA 0 field has NIRCam F115W, F200W and F444W: no F277W.
    partial = dja_client.get("/thumb", params={"coords": COORDS, "filters": "f115w,f277w"})
    assert partial.status_code == 404, "a thumbnail of other filters than those asked for"
    body = partial.json()
    assert "f277w" in body["message"] and "f115w'" not in body["message"].split("requested")[0]
    assert body["accepted"]["filters_here"] == ["f115w-clear", "f200w-clear", "f444w-clear"]
    jwst = dja_client.get("/thumb", params={"coords": COORDS, "default_filters": "jwst"})
    assert jwst.status_code == 404 and "f277w-clear" in jwst.json()["message"]
    assert (
        dja_client.get("/thumb", params={"coords": COORDS, "filters": "f115w,F444W"}).status_code
        == 200
    )
