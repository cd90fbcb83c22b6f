"""The tool pages over the scripted APIs, both catalog backends: each page
shows the URL of its API call, and what it shows is what that call answers to
the same person (asked directly here, the independent truth)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.auth.eap import EAP_FLUX

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _as(archive, who: str) -> dict[str, str]:
    return {"Authorization": f"token {archive.tokens[who]}"} if who != "anonymous" else {}


def _api_urls(html: str) -> list[str]:
    """The API calls a page says it made (path and query)."""
    return [
        re.sub(r"^https?://[^/]+", "", unescape(u))
        for u in re.findall(r'<code class="api-url">([^<]+)</code>', html)
    ]


def _cells(html: str) -> list[list[str]]:
    bodies = re.findall(r'<table class="answer-table">.*?<tbody>(.*?)</tbody>', html, re.S)
    return [
        [unescape(c) for c in re.findall(r"<td[^>]*>([^<]*)</td>", row)]
        for body in bodies
        for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)
    ]


@pytest.mark.parametrize("who", ["stranger", "pi"])
def test_pixel_page_shows_what_its_api_call_answers(portal_client, eap_archive, who):
    page = portal_client.get(
        "/portal/tools/pixels?wavelength=2.8,5.3&flux.gt=30000", headers=_as(eap_archive, who)
    )
    assert page.status_code == 200
    (url,) = _api_urls(page.text)
    assert url.startswith("/spectra/api/v0.1/search?") and "flux.gt=30000" in url
    api = portal_client.get(url, headers=_as(eap_archive, who)).json()
    shown = _cells(page.text)
    assert len(shown) == len(api["results"])
    assert (str(EAP_FLUX) in page.text) == (who == "pi") == bool(api["results"])
    total = re.search(r'<span class="count">([\d,]+)</span>', page.text).group(1)
    assert int(total.replace(",", "")) == api["paging"]["total"]


def test_pixel_page_says_what_is_wrong(portal_client):
    page = portal_client.get("/portal/tools/pixels?wavelength=abc")
    assert page.status_code == 400
    assert "wavelength" in re.search(r'role="alert">([^<]+)<', page.text).group(1)


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("stranger", 403), ("pi", 200)])
def test_nirspec_page_of_an_exclusive_spectrum(portal_client, eap_archive, who, status):
    name = eap_archive.context["mock_msaexp"]
    page = portal_client.get(f"/portal/tools/nirspec?file={name}", headers=_as(eap_archive, who))
    assert page.status_code == status
    urls = _api_urls(page.text)
    assert urls[0] == f"/nirspec_file_redshift?file={name}&output=json"
    api = portal_client.get(urls[1], headers=_as(eap_archive, who))
    assert api.status_code == status
    if status == 200:
        rows = _cells(page.text)
        assert name in {cell for row in rows for cell in row}
        assert len(rows) == 1 + len(api.json())  # the redshift row, then the spectra
    else:
        assert _cells(page.text) == []  # no redshift, no spectrum: the API's refusal only
        assert api.json()["message"] in unescape(page.text)


def test_nirspec_page_near_a_position_lists_the_extractions_there(portal_client, eap_archive):
    ra, dec = eap_archive.context["mock_spec_ra"], eap_archive.context["mock_spec_dec"]
    pi = _as(eap_archive, "pi")
    page = portal_client.get(f"/portal/tools/nirspec?coords={ra} {dec}&size=600", headers=pi)
    extractions, slits = _api_urls(page.text)
    assert extractions.startswith("/nirspec_extractions?") and slits.startswith("/nirspec_slits?")
    files = [r["file"] for r in portal_client.get(extractions, headers=pi).json()]
    assert files and all(f in page.text for f in files)
    stranger = portal_client.get(
        f"/portal/tools/nirspec?coords={ra} {dec}&size=600", headers=_as(eap_archive, "stranger")
    )
    assert not any(f in stranger.text for f in files)


def test_thumb_page_shows_the_png_or_the_apis_reason(portal_client, eap_archive):
    ra, dec = eap_archive.context["mock_ra"], eap_archive.context["mock_dec"]
    page = portal_client.get(f"/portal/tools/thumb?coords={ra} {dec}&size=4&asinh=true")
    (url,) = _api_urls(page.text)
    assert url == f"/thumb?coords={ra}+{dec}&size=4&asinh=true"
    api = portal_client.get(url)
    assert page.status_code == api.status_code
    if api.status_code == 200:
        import base64

        data = re.search(r'src="data:image/png;base64,([^"]+)"', page.text).group(1)
        assert base64.b64decode(data) == api.content
    else:
        assert api.json()["message"] in unescape(page.text)


def test_tool_pages_without_parameters_are_forms(portal_client):
    for tool in ("pixels", "thumb", "nirspec"):
        page = portal_client.get(f"/portal/tools/{tool}")
        assert page.status_code == 200 and "<form" in page.text and "api-url" not in page.text
    assert portal_client.get("/portal/tools").text.count('href="/portal/tools/') == 3


@pytest.mark.parametrize("who", ["anonymous", "pi"])
def test_thumb_page_shows_the_png_of_a_real_mosaic(mosaic_client, mosaic_archive, who):
    """Over tests/portal/mosaic_archive.py, where a public DJA field mosaic covers the
    position: the page shows the PNG /thumb answers (byte for byte), its size in
    pixels (read here with PIL) and the API URL."""
    import base64
    import io

    from PIL import Image

    from tests.portal.mosaic_archive import FIELD

    headers = {"Authorization": f"token {mosaic_archive.tokens[who]}"} if who == "pi" else {}
    query = f"coords={FIELD.ra} {FIELD.dec}&size=3&filters=f200w,f444w&asinh=true"
    page = mosaic_client.get(f"/portal/tools/thumb?{query}", headers=headers)
    assert page.status_code == 200
    (url,) = _api_urls(page.text)
    assert url == f"/thumb?coords={FIELD.ra}+{FIELD.dec}&size=3&filters=f200w%2Cf444w&asinh=true"
    api = mosaic_client.get(url, headers=headers)
    assert api.status_code == 200 and api.headers["content-type"] == "image/png"
    shown = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page.text).group(1))
    assert shown == api.content
    width, height = Image.open(io.BytesIO(api.content)).size
    assert (width, height) == (120, 120)  # 2 x 3" at DJA's 0.05"/pixel
    size = re.search(r'<span class="pixels">(\d+) × (\d+)</span>', page.text)
    assert (int(size.group(1)), int(size.group(2))) == (width, height)
    assert f'width="{width}" height="{height}"' in page.text
    assert f"{len(api.content):,} bytes" in page.text
    assert 'role="alert"' not in page.text
