"""The sky view in headless Chromium (Aladin Lite v3 on WebGL2 + WASM through
SwiftShader), both catalog backends: the footprints Aladin holds are the
results' S_REGIONs, and hovering links footprints and rows both ways."""

from __future__ import annotations

import pytest

from webbarchive.catalog.sky import parse_stcs

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

READ_BACK = """() => [...window.webbSky.overlay.overlayItems].map(
    (p) => ({obs_id: p.obsId, vertices: p.raDecArray}))"""


def _drawn(page, url: str) -> list[dict]:
    page.goto(url)
    page.wait_for_selector("#sky[data-drawn], #sky[data-failed]", state="attached", timeout=30000)
    assert page.locator("#sky").get_attribute("data-failed") is None
    return page.evaluate(READ_BACK)


def _regions(page) -> dict[str, str]:
    rows = page.locator("#results tbody tr[data-s-region]")
    return {
        rows.nth(i).get_attribute("data-obs-id"): rows.nth(i).get_attribute("data-s-region")
        for i in range(rows.count())
    }


def test_footprints_drawn_are_the_results_s_regions(page, eap_archive):
    drawn = _drawn(page, "/?pagesize=50")
    regions = _regions(page)
    assert len(regions) >= 5
    assert {d["obs_id"] for d in drawn} == set(regions)
    for footprint in drawn:
        truth = parse_stcs(regions[footprint["obs_id"]])
        flat = [x for vertex in footprint["vertices"] for x in vertex]
        assert flat == pytest.approx([x for vertex in truth for x in vertex], abs=1e-6)
    # WebGL2 really runs: Aladin's canvas is drawn
    assert page.locator("#sky canvas").count() >= 1


def _screen_point(page, obs_id: str) -> tuple[float, float]:
    """Page coordinates of the middle of the first edge of ``obs_id``'s footprint."""
    x, y = page.evaluate(
        """(obs) => {
            const { aladin, byObsId } = window.webbSky;
            const v = byObsId.get(obs).polygon.raDecArray;
            const a = aladin.world2pix(v[0][0], v[0][1]), b = aladin.world2pix(v[1][0], v[1][1]);
            return [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
        }""",
        obs_id,
    )
    box = page.locator("#sky").bounding_box()
    return box["x"] + x, box["y"] + y


def test_hover_links_footprint_and_row(page, eap_archive):
    drawn = _drawn(page, "/?position=53.16 -27.78&radius=1")
    assert drawn
    obs_id = drawn[0]["obs_id"]
    row = page.locator(f'#results tbody tr[data-obs-id="{obs_id}"]')
    assert "highlight" not in (row.get_attribute("class") or "")
    x, y = _screen_point(page, obs_id)
    page.mouse.move(x - 20, y - 20)
    page.mouse.move(x, y, steps=5)  # onto the footprint's edge, as a hand would
    page.wait_for_function(
        "(obs) => document.querySelector(`tr[data-obs-id='${obs}']`).classList.contains('highlight')",
        arg=obs_id,
        timeout=5000,
    )
    page.mouse.move(x + 200, y - 100, steps=5)  # away from it: the row is no longer highlighted
    page.wait_for_function(
        "(obs) => !document.querySelector(`tr[data-obs-id='${obs}']`).classList.contains('highlight')",
        arg=obs_id,
        timeout=5000,
    )
    row.hover()  # and back: the row's footprint is hovered in Aladin
    assert page.evaluate("(obs) => window.webbSky.byObsId.get(obs).polygon.isHovered", obs_id)
    assert "highlight" in row.get_attribute("class")
