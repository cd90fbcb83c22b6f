"""The portal's POST forms refuse a forged request (login CSRF): another site
can make a browser send the sign-in or sign-out form, but without the
anti-forgery token of this archive's own page the archive refuses it and sets
no cookie. The token cookie and mast_token stay HttpOnly (scripts cannot read
them); mast_token is SameSite=Lax, the token cookie SameSite=Strict."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
EVIL = {"Origin": "https://evil.example", "Referer": "https://evil.example/page.html"}


def _form_token(client) -> str:
    page = client.get("/portal/account")
    cookie = page.headers.get("set-cookie", "")
    if cookie:  # the first page of a browser sets the token cookie
        assert cookie.startswith("portal_csrf=") and "HttpOnly" in cookie
        assert "samesite=strict" in cookie.lower()
    return re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


@pytest.fixture
def client(portal_client):
    portal_client.cookies.clear()
    yield portal_client
    portal_client.cookies.clear()


def test_cross_site_sign_in_without_the_token_is_refused(client, eap_archive):
    """The attacker's page posts its own valid token to sign the victim in."""
    _form_token(client)  # the victim has visited the archive: the cookie exists
    forged = client.post(
        "/portal/account/signin",
        data={"token": eap_archive.tokens["stranger"]},
        headers=EVIL,
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "anti-forgery" in forged.text
    assert "mast_token" not in forged.headers.get("set-cookie", "")


def test_a_token_from_another_browser_is_refused(client, eap_archive, portal_client):
    """The attacker can load the form in their own browser: its token is not
    the victim's cookie."""
    attackers = _form_token(client)
    client.cookies.clear()
    _form_token(client)  # the victim's own cookie, a different token
    forged = client.post(
        "/portal/account/signin",
        data={"token": eap_archive.tokens["stranger"], "csrf": attackers},
        headers=EVIL,
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "mast_token" not in forged.headers.get("set-cookie", "")


def test_a_post_without_any_cookie_is_refused(client, eap_archive):
    forged = client.post(
        "/portal/account/signin",
        data={"token": eap_archive.tokens["stranger"], "csrf": "x" * 43},
        follow_redirects=False,
    )
    assert forged.status_code == 403


def test_the_form_of_this_archive_signs_in_and_out(client, eap_archive):
    answer = client.post(
        "/portal/account/signin",
        data={"token": eap_archive.tokens["pi"], "csrf": _form_token(client)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    client.cookies.set("mast_token", eap_archive.tokens["pi"])
    assert 'id="whoami"' in client.get("/").text
    forged_out = client.post("/portal/account/signout", headers=EVIL, follow_redirects=False)
    assert forged_out.status_code == 403
    out = client.post(
        "/portal/account/signout", data={"csrf": _form_token(client)}, follow_redirects=False
    )
    assert out.status_code == 303 and 'mast_token=""' in out.headers["set-cookie"]
