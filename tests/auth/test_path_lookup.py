"""``/api/v0.1/path_lookup/`` answers in MAST's shape, per URI, within the caller's rights.

Independent truths: astroquery's own parser of this answer
(``astroquery.mast.utils.mast_relative_path`` reads ``answer[uri]["path"]``),
the statuses the download route gives the same caller for the same file, and
the object keys of ``s3://`` locations written by hand.
"""

from __future__ import annotations

import pytest

from tests.auth.eap import EAP_FILE, PUBLIC_FILE

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

URL = "/api/v0.1/path_lookup/"


def _headers(archive, who: str) -> dict[str, str]:
    return {} if who == "anonymous" else {"Authorization": f"token {archive.tokens[who]}"}


@pytest.mark.parametrize("who", ["anonymous", "stranger", "pi"])
def test_statuses_follow_the_download_route(eap_client, eap_archive, who):
    headers = _headers(eap_archive, who)
    uris = [f"mast:JWST/product/{EAP_FILE}", PUBLIC_FILE, "mast:JWST/product/nothing.fits"]
    answer = eap_client.get(URL, params={"uri": uris}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == set(uris)
    for uri in uris:
        download = eap_client.head("/api/v0.1/Download/file", params={"uri": uri}, headers=headers)
        expected = download.status_code
        # The mock archive's files are on local disk: readable ones have no cloud path.
        if expected == 200:
            assert body[uri] == {
                "status_code": 404,
                "path": None,
                "reason": body[uri]["reason"],
            }
            assert "local disk" in body[uri]["reason"]
        else:
            assert body[uri] == {"status_code": expected, "path": None}


def test_astroquery_reads_the_answer(eap_client, monkeypatch):
    from astroquery.mast import utils

    def through_the_archive(url, params):
        assert url.endswith("/api/v0.1/path_lookup/")
        return eap_client.get(URL, params=params)

    monkeypatch.setattr(utils, "_simple_request", through_the_archive)
    with pytest.warns(Warning, match="Failed to retrieve MAST relative path"):
        assert utils.mast_relative_path([f"mast:JWST/product/{PUBLIC_FILE}"]) == [None]


def test_object_storage_locations_answer_their_key():
    from webbarchive.api.path_lookup import cloud_path

    assert (
        cloud_path("s3://stpubdata/jwst/public/jw01/f_x1d.fits") == "/jwst/public/jw01/f_x1d.fits"
    )
    assert cloud_path("s3://bucket//a.fits") == "/a.fits"
    assert cloud_path("/srv/archive/jw01/f_x1d.fits") is None
    assert cloud_path("s3://bucket-only") is None


def test_bad_requests_are_clear_400s(eap_client):
    missing = eap_client.get(URL)
    assert missing.status_code == 400 and "missing parameter 'uri'" in missing.text
    too_many = eap_client.get(URL, params={"uri": [PUBLIC_FILE] * 501})
    assert too_many.status_code == 400 and "500" in too_many.text
    odd = eap_client.get(URL, params={"uri": "mast:HST/product/x.fits"})
    assert odd.status_code == 200 and odd.json()["mast:HST/product/x.fits"]["status_code"] == 400
