"""The portal in headless Chromium against a live server over the EAP archive,
both catalog backends: what a person does, asserted on what the page shows."""

from __future__ import annotations

import pytest

from tests.auth.eap import EAP_OBS_ID, EAP_PROGRAM, PUBLIC_FILE, PUBLIC_OBS_ID
from tests.portal.truth import obs_ids_of_instrument, product_files, public_obs_ids

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _rows(page) -> list[str]:
    return page.locator("#results tbody tr td.obs a").all_inner_texts()


def _total(page) -> int:
    return int(page.locator("#total").inner_text().replace(",", ""))


def test_search_by_sexagesimal_position(page):
    page.goto("/")
    page.get_by_label("or position (RA Dec)").fill("03:32:38.4 -27:46:48")
    page.get_by_label("Radius (arcmin)").fill("1")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state("domcontentloaded")
    assert "position=03%3A32%3A38.4" in page.url  # the query lives in the URL
    assert PUBLIC_OBS_ID in _rows(page)
    assert page.locator("#results thead").inner_text().count("Distance") == 1


def test_search_by_name_with_suggestions(page):
    page.goto("/")
    page.get_by_label("Target name").press_sequentially("publ")
    page.wait_for_function(
        "document.querySelectorAll('#target-names option').length > 0", timeout=5000
    )
    assert page.locator("#target-names option").first.get_attribute("value") == "PUBLIC-TARGET"
    page.get_by_label("Target name").fill("Public - Target")
    page.get_by_label("Target name").press("Enter")
    page.wait_for_url("**/?target=*")
    assert _rows(page) == [PUBLIC_OBS_ID]
    assert page.locator("#results td.rights").inner_text() == "public"


def test_filter_sort_and_page(page, eap_archive):
    public = public_obs_ids(eap_archive.engine)
    nircam = public & obs_ids_of_instrument(eap_archive.engine, "NIRCAM")
    page.goto("/")
    page.get_by_label("Instrument").select_option("NIRCAM")
    page.get_by_role("button", name="Search").click()
    assert _total(page) == len(nircam) > 0
    assert set(_rows(page)) == nircam
    page.goto("/")
    page.get_by_label("Rows per page").select_option("10")
    page.get_by_role("button", name="Search").click()
    assert _total(page) == len(public) > 10
    page.locator("a[data-sort=obs_id]").click()
    page.locator("a[data-sort=obs_id]").click()  # second click: descending
    assert "order=desc" in page.url
    assert _rows(page) == sorted(public, reverse=True)[:10]
    page.locator("#next").click()
    assert _rows(page) == sorted(public, reverse=True)[10:20]
    assert "page 2 of 2" in page.locator("#page-info").inner_text()


def test_observation_page_draws_the_spectrum(page, eap_archive):
    page.goto("/?target=PUBLIC-TARGET")
    page.get_by_role("link", name=PUBLIC_OBS_ID).click()
    page.wait_for_selector("#spectrum[data-drawn]", timeout=20000)
    assert page.locator("#spectrum").get_attribute("data-drawn") == "50"  # points plotted
    assert page.locator("#spectrum-plot .main-svg").count() > 0
    axes = page.locator("#spectrum-plot").inner_text()
    assert "wavelength (um)" in axes and "flux (Jy)" in axes
    assert page.locator("#spectrum-plot .scatterlayer .trace").count() == 2  # flux, error
    size, md5 = product_files(eap_archive.engine, PUBLIC_OBS_ID)[PUBLIC_FILE]
    row = page.locator("#products tbody tr", has_text=PUBLIC_FILE)
    assert f"{size:,}" in row.inner_text() and md5 in row.inner_text()
    with page.expect_download() as download:
        row.get_by_role("link", name="download").click()
    assert download.value.suggested_filename == PUBLIC_FILE


def test_sign_in_shows_exclusive_rows_and_sign_out_hides_them(page, eap_archive):
    page.goto(f"/?program={EAP_PROGRAM}")
    assert _total(page) == 0 and EAP_OBS_ID not in page.content()
    page.get_by_role("link", name="Sign in").click()
    page.get_by_label("API token").fill(eap_archive.tokens["pi"])
    page.get_by_role("button", name="Sign in").click()
    assert page.locator("#account-name").inner_text().startswith("Pi (pi)")
    assert EAP_PROGRAM in page.locator("#account-programs").inner_text()
    cookie = next(c for c in page.context.cookies() if c["name"] == "mast_token")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert page.evaluate("document.cookie").find("mast_token") == -1  # not readable by scripts
    page.goto(f"/?program={EAP_PROGRAM}")
    assert _rows(page) == [EAP_OBS_ID]
    assert page.locator("#results tr.eap td.rights").inner_text() == "exclusive"
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/")
    assert page.get_by_role("link", name="Sign in").count() == 1
    page.goto(f"/?program={EAP_PROGRAM}")
    assert _total(page) == 0 and EAP_OBS_ID not in page.content()


def test_search_works_without_javascript(browser, live_server):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/")
        page.get_by_label("Target name").fill("public-target")
        page.get_by_role("button", name="Search").click()
        assert _rows(page) == [PUBLIC_OBS_ID]
        page.get_by_role("link", name=PUBLIC_OBS_ID).click()
        assert "needs JavaScript" in page.locator("#spectrum-plot").inner_text()
    finally:
        context.close()
