"""Accessibility of the portal's pages, both catalog backends: every form
control has a label, every image a text alternative, every data table header
a scope; the colours of the stylesheet meet WCAG AA contrast (4.5:1); and the
search form and the table's sort links work from the keyboard alone."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.auth.eap import PUBLIC_OBS_ID

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
CSS = Path(__file__).resolve().parents[2] / "src/webbarchive/portal/static/portal.css"
PAGES = (
    "/",
    "/?instrument=NIRCAM&pagesize=10",
    "/?position=53.16 -27.78&radius=1",
    f"/portal/observation/{PUBLIC_OBS_ID}",
    "/portal/account",
    "/portal/tools",
    "/portal/tools/pixels?wavelength=2.8,5.3",
    "/portal/tools/thumb",
    "/portal/tools/nirspec?coords=53.16 -27.78",
    "/?position=nowhere",
)


class Audit(HTMLParser):
    """Collects the controls, labels, images and headers of one page."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[dict] = []
        self.label_for: set[str] = set()
        self.label_depth = 0
        self.images: list[dict] = []
        self.headers: list[dict] = []
        self.lang = None
        self.h1 = 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "html":
            self.lang = a.get("lang")
        elif tag == "h1":
            self.h1 += 1
        elif tag == "label":
            self.label_depth += 1
            if a.get("for"):
                self.label_for.add(a["for"])
        elif tag in ("input", "select", "textarea"):
            if a.get("type") not in ("hidden", "submit", "button"):
                self.controls.append({**a, "tag": tag, "wrapped": self.label_depth > 0})
        elif tag == "img":
            self.images.append(a)
        elif tag == "th":
            self.headers.append(a)

    def handle_endtag(self, tag):
        if tag == "label":
            self.label_depth -= 1


@pytest.mark.parametrize("url", PAGES)
def test_every_control_is_labelled_and_every_image_described(portal_client, url):
    page = portal_client.get(url)
    assert page.status_code in (200, 400), url
    audit = Audit()
    audit.feed(page.text)
    assert audit.lang == "en" and audit.h1 == 1
    unlabelled = [
        c
        for c in audit.controls
        if not (c["wrapped"] or c.get("id") in audit.label_for or c.get("aria-label"))
    ]
    assert not unlabelled, unlabelled
    assert all(img.get("alt") for img in audit.images), audit.images
    assert all(th.get("scope") in ("col", "row") for th in audit.headers), audit.headers


def _luminance(hex_colour: str) -> float:
    rgb = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_contrast():
    css = CSS.read_text()
    var = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})", css))
    white = "#ffffff"
    pairs = {  # text colour on its background, as the stylesheet uses them
        "body text": (var["ink"], white),
        "muted text and units": (var["muted"], white),
        "links": (var["accent"], white),
        "muted text on table headers": (var["muted"], "#eef2f7"),
        "links in an exclusive-access row": (var["accent"], var["eap-bg"]),
        "exclusive badge": (var["eap"], var["eap-bg"]),
        "public badge": ("#1d5e20", white),
        "header links": (white, "#10243e"),
        "errors": ("#a00000", white),
        "links in a highlighted row": (var["accent"], "#fff3a8"),
    }
    for where, (text, background) in pairs.items():
        assert _contrast(text, background) >= 4.5, f"{where}: {_contrast(text, background):.2f}"


@pytest.mark.slow
def test_search_and_sort_from_the_keyboard(page):
    page.goto("/")
    page.keyboard.press("Tab")  # the first stop after the header links is the form
    focused = []
    for _ in range(40):
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.name"))
        if focused[-1] == "search-button":
            break
        page.keyboard.press("Tab")
    order = [f for f in focused if f]
    for control in ("target", "position", "radius", "instrument", "mode", "filter", "program",
                    "pi", "date_from", "date_to", "calib_level", "product_type", "rights"):  # fmt: skip
        assert control in order, (control, order)
    assert order.index("target") < order.index("instrument") < order.index("search-button")
    page.focus("#program")
    page.keyboard.type("1111")
    page.keyboard.press("Enter")  # submits the form
    page.wait_for_url("**/?*program=1111*")
    page.focus("a[data-sort=obs_id]")
    page.keyboard.press("Enter")  # a sort link follows from the keyboard
    page.wait_for_url("**sort=obs_id*")
    assert page.locator("th[aria-sort]").count() == 1
