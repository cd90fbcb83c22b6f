"""Product pages and the basket in headless Chromium against a live server,
both backends: change a stretch, fill the basket across pages, download the
curl script and run it."""

from __future__ import annotations

import hashlib
import subprocess
import time

import pytest

from tests.auth.eap import PUBLIC_FILE, PUBLIC_OBS_ID
from tests.portal.truth import product_files

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def _public(archive, suffix: str) -> str:
    from sqlalchemy import select

    from webbarchive.catalog.schema import products

    with archive.engine.connect() as conn:
        return conn.execute(
            select(products.c.filename)
            .where(
                products.c.suffix == suffix,
                products.c.proposal_id.not_in([archive.context["mock_program"], "9999"]),
            )
            .order_by(products.c.filename)
        ).scalar()


def test_stretch_redraws_the_image(page, eap_archive):
    name = _public(eap_archive, "i2d")
    started = time.perf_counter()
    page.goto(f"/portal/product/{name}")
    page.wait_for_function("document.getElementById('preview').naturalWidth > 0", timeout=20000)
    first_preview_ms = (time.perf_counter() - started) * 1000
    page.wait_for_selector("#limits:not(:empty)")
    before = page.locator("#image").get_attribute("src")
    page.get_by_label("Stretch").select_option("log")
    page.wait_for_selector("#image[data-stretch=log]")
    after = page.locator("#image").get_attribute("src")
    assert after.startswith("blob:") and after != before
    assert "stretch=log" in page.url  # the choice stays in the link
    page.get_by_label("or minimum (data units)").fill("0")
    page.get_by_label("maximum").fill("0.01")
    page.get_by_role("button", name="Draw").click()
    page.wait_for_function("document.getElementById('limits').textContent == 'limits 0 to 0.01'")
    page.get_by_label("maximum").fill("-5")
    page.get_by_role("button", name="Draw").click()
    page.wait_for_selector("#limits.error")
    assert "vmin must be below vmax" in page.locator("#limits").inner_text()
    print(f"time to first preview: {first_preview_ms:.0f} ms")


def test_basket_across_pages_then_curl_script(page, eap_archive, tmp_path):
    image = _public(eap_archive, "i2d")
    page.goto(f"/portal/observation/{PUBLIC_OBS_ID}")
    page.get_by_label(f"basket: {PUBLIC_FILE}").check()
    assert page.locator("#basket-count").inner_text() == "(1)"
    page.goto(f"/portal/product/{image}")
    page.get_by_label("in the basket").check()
    assert page.locator("#basket-count").inner_text() == "(2)"
    page.goto("/")  # the basket survives a search
    assert page.locator("#basket-count").inner_text() == "(2)"
    page.get_by_role("link", name="Basket").click()
    page.wait_for_url("**/portal/basket?file=*")
    sizes = {**product_files(eap_archive.engine, PUBLIC_OBS_ID)}
    sizes[image] = _size_md5(eap_archive, image)
    chosen = {n: sizes[n] for n in (PUBLIC_FILE, image)}
    assert page.locator("#basket-files").inner_text() == "2"
    total = sum(s for s, _ in chosen.values())
    assert page.locator("#basket-bytes").inner_text() == f"{total:,}"
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the curl script").click()
    script = tmp_path / "fetch.sh"
    download.value.save_as(script)
    run = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    fetched = {p.name: p.read_bytes() for p in tmp_path.glob("MAST_*/JWST/*/*")}
    assert {n: (len(d), hashlib.md5(d).hexdigest()) for n, d in fetched.items()} == chosen
    with page.expect_download() as download:
        page.get_by_role("button", name="Download one zip").click()
    assert download.value.suggested_filename.endswith(".zip")
    page.get_by_role("button", name="Empty the basket").click()
    page.wait_for_selector("#basket-empty")
    assert page.locator("#basket-count").inner_text() == ""


def _size_md5(archive, filename: str) -> tuple[int, str]:
    from sqlalchemy import select

    from webbarchive.catalog.schema import products

    with archive.engine.connect() as conn:
        return tuple(
            conn.execute(
                select(products.c.size, products.c.checksum).where(products.c.filename == filename)
            ).one()
        )


def test_stretch_form_works_without_javascript(browser, live_server, eap_archive):
    context = browser.new_context(base_url=live_server, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"/portal/product/{_public(eap_archive, 's3d')}")
        page.get_by_label("Stretch").select_option("sqrt")
        page.get_by_role("button", name="Draw").click()
        assert "stretch=sqrt" in page.url
        source = page.locator("#image").get_attribute("src")
        assert "stretch=sqrt" in source
        drawn = page.request.get(source)
        assert drawn.status == 200 and drawn.headers["content-type"] == "image/png"
    finally:
        context.close()
