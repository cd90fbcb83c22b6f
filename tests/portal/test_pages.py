"""The portal's HTML through the real app (TestClient), both catalog backends:
what the pages show against the catalog tables, and what they refuse."""

from __future__ import annotations

import re

import pytest

from tests.auth.eap import (
    EAP_FILE,
    EAP_OBS_ID,
    EAP_PROGRAM,
    EAP_SENTINELS,
    PUBLIC_FILE,
    PUBLIC_OBS_ID,
)
from tests.portal.truth import obs_ids_of_program, product_files, public_obs_ids

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _as(archive, who: str) -> dict[str, str]:
    return {"Authorization": f"token {archive.tokens[who]}"} if who != "anonymous" else {}


def _total(html: str) -> int:
    return int(re.search(r'<span id="total">([\d,]+)</span>', html).group(1).replace(",", ""))


def _obs_ids(html: str) -> list[str]:
    return re.findall(r'<a href="/portal/observation/[^"]+">([^<]+)</a>', html)


def test_total_is_what_anonymous_may_see(portal_client, eap_archive):
    page = portal_client.get("/?pagesize=200")
    assert page.status_code == 200
    public = public_obs_ids(eap_archive.engine)
    assert _total(page.text) == len(public)
    assert set(_obs_ids(page.text)) == public
    for sentinel in EAP_SENTINELS + eap_archive.sentinels:
        assert sentinel not in page.text


def test_pi_sees_exclusive_rows_marked(portal_client, eap_archive):
    page = portal_client.get(f"/?program={EAP_PROGRAM}", headers=_as(eap_archive, "pi"))
    assert _obs_ids(page.text) == [EAP_OBS_ID]
    assert 'class="badge eap"' in page.text
    stranger = portal_client.get(f"/?program={EAP_PROGRAM}", headers=_as(eap_archive, "stranger"))
    assert _total(stranger.text) == 0 and EAP_OBS_ID not in stranger.text


def test_sexagesimal_and_decimal_positions_agree(portal_client):
    decimal = portal_client.get("/?position=53.16,-27.78&radius=1")
    sexagesimal = portal_client.get("/?position=03:32:38.4 -27:46:48&radius=1")
    assert _obs_ids(decimal.text) == _obs_ids(sexagesimal.text)
    assert PUBLIC_OBS_ID in _obs_ids(decimal.text)
    far = portal_client.get("/?position=10 10&radius=1")
    assert _total(far.text) == 0


@pytest.mark.parametrize("typed", ["public-target", " Public-Target ", "PUBLIC - TARGET"])
def test_target_names_ignore_case_and_spaces(portal_client, typed):
    page = portal_client.get("/", params={"target": typed})
    assert _obs_ids(page.text) == [PUBLIC_OBS_ID]


def test_unknown_target_says_so(portal_client):
    page = portal_client.get("/?target=no-such-galaxy")
    assert page.status_code == 200
    assert "No target named" in page.text and _obs_ids(page.text) == []


def test_stranger_cannot_resolve_or_suggest_an_exclusive_target(portal_client, eap_archive):
    stranger = _as(eap_archive, "stranger")
    assert (
        "No target named" in portal_client.get("/?target=eapsecret-target", headers=stranger).text
    )
    assert portal_client.get("/portal/api/targets?q=eaps", headers=stranger).json() == {
        "targets": []
    }
    pi = _as(eap_archive, "pi")
    assert portal_client.get("/portal/api/targets?q=eaps", headers=pi).json() == {
        "targets": ["EAPSECRET-TARGET"]
    }


def test_sorted_by_obs_id_descending(portal_client, eap_archive):
    page = portal_client.get("/?sort=obs_id&order=desc&pagesize=200")
    ids = _obs_ids(page.text)
    assert ids == sorted(public_obs_ids(eap_archive.engine), reverse=True)


def test_pages_partition_the_results(portal_client, eap_archive):
    public = public_obs_ids(eap_archive.engine)
    assert len(public) > 10, "the archive is too small to page"
    seen: list[str] = []
    for number in range(1, (len(public) + 9) // 10 + 1):
        page = portal_client.get(f"/?sort=obs_id&pagesize=10&page={number}").text
        assert _total(page) == len(public)
        seen += _obs_ids(page)
    assert seen == sorted(public)


@pytest.mark.parametrize(
    "query, says",
    [
        ("position=nowhere", "position"),
        ("position=10 95", "dec"),
        ("position=10 10&radius=-1", "radius"),
        ("radius=3", "needs a position"),
        ("pagesize=7", "pagesize"),
        ("page=0", "page"),
        ("sort=password", "sort must be one of"),
        ("calib_level=high", "calibration level"),
        ("rights=secret", "release state"),
    ],
)
def test_bad_input_is_a_400_page_saying_what_is_accepted(portal_client, query, says):
    page = portal_client.get("/?" + query)
    assert page.status_code == 400
    alert = re.search(r'role="alert">([^<]+)<', page.text).group(1)
    assert says in alert


def test_observation_page_lists_products_with_size_and_md5(portal_client, eap_archive):
    page = portal_client.get(f"/portal/observation/{PUBLIC_OBS_ID}")
    assert page.status_code == 200
    for name, (size, md5) in product_files(eap_archive.engine, PUBLIC_OBS_ID).items():
        assert f"uri=mast%3AJWST/product/{name}" in page.text
        assert f"{size:,}" in page.text and md5 in page.text
    assert f'data-uri="mast:JWST/product/{PUBLIC_FILE}"' in page.text


@pytest.mark.parametrize("who, status", [("anonymous", 401), ("stranger", 403), ("pi", 200)])
def test_exclusive_observation_page(portal_client, eap_archive, who, status):
    page = portal_client.get(f"/portal/observation/{EAP_OBS_ID}", headers=_as(eap_archive, who))
    assert page.status_code == status
    if status != 200:
        assert "EAPSECRET" not in page.text and EAP_FILE not in page.text


def test_unknown_observation_is_404(portal_client):
    assert portal_client.get("/portal/observation/jw00000-nothing").status_code == 404


def _csrf(client) -> str:
    """The anti-forgery token of the sign-in form (its cookie is now in ``client``)."""
    form = client.get("/portal/account").text
    return re.search(r'name="csrf" value="([^"]+)"', form).group(1)


def test_sign_in_keeps_the_token_as_an_httponly_cookie(portal_client, eap_archive):
    portal_client.cookies.clear()
    answer = portal_client.post(
        "/portal/account/signin",
        data={"token": eap_archive.tokens["pi"], "csrf": _csrf(portal_client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"mast_token={eap_archive.tokens['pi']};")
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    portal_client.cookies.clear()
    refused = portal_client.post(
        "/portal/account/signin", data={"token": "wrong", "csrf": _csrf(portal_client)}
    )
    assert refused.status_code == 401 and "refused" in refused.text
    assert "set-cookie" not in refused.headers


def test_expired_token_shows_public_pages_and_says_why(portal_client, eap_archive):
    page = portal_client.get("/", headers=_as(eap_archive, "expired"))
    assert page.status_code == 200
    assert "Your token was not accepted" in page.text
    assert _total(page.text) == len(public_obs_ids(eap_archive.engine))
    assert obs_ids_of_program(eap_archive.engine, EAP_PROGRAM).isdisjoint(_obs_ids(page.text))
