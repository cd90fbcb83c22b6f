"""Time to a rendered results page of the web portal, in headless Chromium, for
a search matching 10,000 observations in a catalog of 100,000, p50/p95, with
the competing approach measured in the same run: the bare JSON API call for
the same search and page (astroquery's Mashup ``Mast.Caom.Filtered``).

    .venv/bin/python -m bench.portal [--observations 100000] [--matching 10000] [--repeat 30]

Builds a synthetic SQLite catalog (one public program; every observation with
a footprint and a preview URL, ``--matching`` of them NIRCam, the rest spread
over the other instruments), serves the real app with uvicorn (its own
process) on 127.0.0.1, and for each sample navigates a tab of a warm
browser to the search (``goto(..., wait_until="domcontentloaded")``) and waits
for the results table holding its 25 rows; the same in a fresh tab each time. Also reported: the sky view drawn (Aladin Lite,
footprints of the page, offline grid) and the first preview image loaded.
Target: p50 under 500 ms. The browser's own clock (Navigation and Paint Timing,
from navigation start) is reported beside the wall clock of the driver, whose
round trips to the browser are part of the latter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

from sqlalchemy import insert

from bench.common import Timing, measure, report
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import observations, programs

PROGRAM = "4242"
CHROMIUM = "/usr/bin/chromium"
OTHERS = ("NIRSPEC/MSA", "MIRI/IMAGE", "NIRISS/WFSS", "MIRI/IFU", "NIRSPEC/IFU")
PAGE_SIZE = 25
BATCH = 5_000


def _polygon(ra: float, dec: float, half: float = 0.02) -> str:
    return (
        f"POLYGON ICRS {ra - half:.6f} {dec - half:.6f} {ra + half:.6f} {dec - half:.6f} "
        f"{ra + half:.6f} {dec + half:.6f} {ra - half:.6f} {dec + half:.6f}"
    )


def build(db: Path, n: int, matching: int) -> None:
    """``n`` public observations, every ``n // matching``-th of them NIRCam."""
    engine = open_catalog(str(db))
    step = n // matching
    with engine.begin() as conn:
        conn.execute(insert(programs).values(proposal_id=PROGRAM, proposal_pi="Bench"))
        for start in range(0, n, BATCH):
            rows = []
            for i in range(start, min(n, start + BATCH)):
                nircam = i % step == 0 and i // step < matching
                ra, dec = 53.0 + (i % 400) * 0.01, -27.0 - (i // 400) * 0.01
                name = f"jw0{PROGRAM}-o{i:06d}_t001_{'nircam' if nircam else 'other'}"
                rows.append(
                    {
                        "obs_id": name,
                        "obs_collection": "JWST",
                        "dataproduct_type": "image",
                        "calib_level": 3,
                        "target_name": f"FIELD-{i % 97}",
                        "s_ra": ra,
                        "s_dec": dec,
                        "s_region": _polygon(ra, dec),
                        "t_min": 59800.0 + i * 0.01,
                        "t_max": 59800.0 + i * 0.01 + 0.05,
                        "t_exptime": 1000.0,
                        "instrument_name": "NIRCAM/IMAGE" if nircam else OTHERS[i % len(OTHERS)],
                        "filters": "F444W" if nircam else "CLEAR",
                        "t_obs_release": 59000.0,
                        "proposal_pi": "Bench",
                        "proposal_id": PROGRAM,
                        "jpegURL": f"mast:JWST/product/{name}_i2d.jpg",
                    }
                )
            conn.execute(insert(observations), rows)
    engine.dispose()


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as answer:
        return answer.read()


def _mashup(server: str) -> dict:
    """The same search through the JSON API: Mast.Caom.Filtered, first page."""
    request = {
        "service": "Mast.Caom.Filtered",
        "format": "json",
        "pagesize": PAGE_SIZE,
        "page": 1,
        "params": {
            "columns": "*",
            "filters": [
                {"paramName": "instrument_name", "values": ["NIRCAM"], "freeText": "NIRCAM/%"}
            ],
        },
    }
    body = urllib.parse.urlencode({"request": json.dumps(request)}).encode()
    with urllib.request.urlopen(f"{server}/api/v0/invoke", data=body, timeout=60) as answer:
        return json.loads(answer.read())


def run(server: str, args) -> None:
    from playwright.sync_api import sync_playwright

    url = f"{server}/?instrument=NIRCAM"
    reply = _mashup(server)
    assert reply["paging"]["rowsTotal"] == args.matching, reply["paging"]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(viewport={"width": 1280, "height": 800})

        tab = context.new_page()

        def one_page(extra: str = "", fresh: bool = False) -> tuple[float, float, float, float]:
            """(ms to domcontentloaded and the table filled, measured here; the
            browser's own navigation-start to DOMContentLoaded-end; ms to ``extra``)
            in the same tab, as a person searching again, or in a ``fresh`` tab
            (its renderer process started inside the time)."""
            page = context.new_page() if fresh else tab
            if not fresh:
                page.goto("about:blank")
            start = time.perf_counter()
            page.goto(url, wait_until="domcontentloaded")
            page.wait_for_function(
                f"document.querySelectorAll('#results tbody tr').length === {PAGE_SIZE}"
            )
            filled = (time.perf_counter() - start) * 1000.0
            own = page.evaluate(
                "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
            )
            paints = page.evaluate(
                "performance.getEntriesByType('paint').map((p) => [p.name, p.startTime])"
            )
            if os.environ.get("BENCH_VERBOSE"):
                print(f"{filled:.0f} ms here, DCL {own:.0f}, paints {paints}")
            later = filled
            if extra:
                page.wait_for_function(extra)
                later = (time.perf_counter() - start) * 1000.0
            if fresh:
                page.close()
            painted = dict(paints).get("first-contentful-paint", float("nan"))
            return filled, own, later, painted

        one_page()  # warm the browser's cache
        page = context.new_page()
        page.goto(url)
        total = page.locator("#total").inner_text().replace(",", "")
        assert int(total) == args.matching, total
        page.close()
        samples = [one_page() for _ in range(args.repeat)]
        page_timing = Timing("page", [s[0] for s in samples])
        browser_own = Timing("navigation timing", [s[1] for s in samples])
        painted = Timing("first contentful paint", [s[3] for s in samples])
        fresh = Timing("fresh tab", [one_page(fresh=True)[0] for _ in range(args.repeat)])
        sky = Timing(
            "sky",
            [
                one_page("document.querySelector('#sky[data-drawn], #sky[data-failed]')")[2]
                for _ in range(max(3, args.repeat // 3))
            ],
        )
        first_preview = Timing(
            "preview",
            [
                one_page(
                    "[...document.querySelectorAll('#results td.thumb img, #results td.thumb span')]"
                    ".some((e) => e.tagName === 'SPAN' || (e.complete && e.naturalWidth > 0))"
                )[2]
                for _ in range(max(3, args.repeat // 3))
            ],
        )
        api = measure("JSON API, same search (Mashup)", lambda: _mashup(server), repeat=args.repeat)
        html = measure("portal HTML alone (no browser)", lambda: _get(url), repeat=args.repeat)
        browser.close()
    print(
        report(
            [
                ("page: domcontentloaded + table filled", page_timing, api),
                ("  browser's own clock: DOMContentLoaded end", browser_own, api),
                ("  browser's own clock: first contentful paint", painted, api),
                ("  the same in a fresh tab (process start)", fresh, api),
                ("page: then the sky view drawn", sky, api),
                ("page HTML over HTTP, no browser", html, api),
                ("first preview shown (or 'no preview')", first_preview, None),
            ]
        )
    )
    print(f"(baseline column: the bare JSON API call; ratio = base p50 / ours p50; "
          f"target p50 < 500 ms; {args.matching:,} of {args.observations:,} match)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--observations", type=int, default=100_000)
    parser.add_argument("--matching", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-portal-"))
    db = work / "catalog.db"
    start = time.perf_counter()
    build(db, args.observations, args.matching)
    print(f"catalog of {args.observations:,} built in {time.perf_counter() - start:.1f} s")
    from bench.common import free_port

    port = free_port()
    server = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "webbarchive.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "WEBBARCHIVE_DB": str(db), "WEBBARCHIVE_PORTAL_SKY_SURVEY": ""},
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                _get(f"{server}/portal/static/portal.css")
                break
            except OSError:
                time.sleep(0.2)
        run(server, args)
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
