"""Screenshots of the portal's main pages at 1280x800, for a reviewer's eyes.

Generates a small mock archive (one program made exclusive-access, its PI
given a token), serves it with uvicorn on a free loopback port and photographs
the pages with Debian's headless chromium through Playwright::

    python scripts/screenshots.py screenshots/     (make screenshots)
"""

from __future__ import annotations

import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
FAR_FUTURE_MJD = 99_999.0


def build_archive(root: Path) -> tuple[str, str, str]:
    """(catalog path, PI token, exclusive program) of a fresh small mock archive."""
    from sqlalchemy import func, select

    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import observations
    from webbarchive.ingest.runner import ingest_paths
    from webbarchive.mock import generate

    generate(root / "files", seed=7, scale="small", progress=False)
    db = str(root / "catalog.db")
    ingest_paths([str(root / "files")], db_url=db, workers=1, progress=False)
    engine = open_catalog(db)
    with engine.connect() as conn:
        program = conn.execute(
            select(observations.c.proposal_id)
            .group_by(observations.c.proposal_id)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
    accounts.set_release(engine, program, FAR_FUTURE_MJD)
    accounts.add_user(engine, "pi", display_name="Jane Doe")
    accounts.set_pi(engine, program, "pi")
    return db, accounts.create_token(engine, "pi", "screenshots").token, program


def public_products(db: str, exclusive: str) -> dict[str, str]:
    """suffix -> the first public product with it (i2d, s2d, s3d, x1d)."""
    from sqlalchemy import select

    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import products

    with open_catalog(db).connect() as conn:
        rows = conn.execute(
            select(products.c.suffix, products.c.filename)
            .where(products.c.proposal_id != exclusive)
            .order_by(products.c.filename.desc())
        )
        return {suffix: name for suffix, name in rows}


def position_of(db: str, filename: str) -> str:
    """'ra dec' (degrees, 6 decimals) of a product, as the search form takes it."""
    from sqlalchemy import select

    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import products

    with open_catalog(db).connect() as conn:
        ra, dec = conn.execute(
            select(products.c.s_ra, products.c.s_dec).where(products.c.filename == filename)
        ).one()
    return f"{ra:.6f} {dec:.6f}"


def serve(db: str, **settings: str):
    import uvicorn

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(Settings.from_env(db_url=db, **settings))
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def main(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        db, token, program = build_archive(Path(tmp))
        server, base = serve(db)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
            page = browser.new_page(viewport=VIEWPORT, base_url=base)

            def shot(name: str, url: str | None = None) -> None:
                if url:
                    page.goto(url)
                page.wait_for_load_state("load")
                if page.locator("#sky").count():  # Aladin keeps the network busy: wait for it
                    page.wait_for_selector(
                        "#sky[data-drawn], #sky[data-failed]", state="attached", timeout=30000
                    )
                    page.wait_for_timeout(1500)  # the survey's first tiles, when online
                else:
                    page.wait_for_load_state("networkidle")
                page.screenshot(path=str(out / f"{name}.png"))
                print(out / f"{name}.png")

            shot("search", "/")
            shot("search-position", "/?position=53.16 -27.78&radius=10&sort=distance")
            page.locator("#sky").scroll_into_view_if_needed()
            page.mouse.move(640, 400)
            shot("sky-view")
            shot("tools", "/portal/tools")
            shot("tool-pixels", "/portal/tools/pixels?wavelength=1.0,2.0&limit=20")
            shot("tool-nirspec", "/portal/tools/nirspec?coords=53.16 -27.78&size=600")
            shot("tool-thumb", "/portal/tools/thumb?coords=53.16 -27.78&size=4")
            page.goto("/?product_type=spectrum&calib_level=3")
            page.locator("#results tbody a").first.click()
            page.wait_for_selector("#spectrum[data-drawn]", timeout=30000)
            shot("observation")
            for box in page.locator("input.basket").all()[:3]:
                box.check()
            named = public_products(db, program)
            page.goto(f"/portal/product/{named['i2d']}")
            page.wait_for_selector("#limits:not(:empty)")
            page.get_by_label("Stretch").select_option("log")
            page.wait_for_selector("#image[data-stretch=log]")
            shot("product-image")
            page.locator("input.basket").check()
            page.goto(f"/portal/product/{named['s3d']}?stretch=sqrt&lo=1&hi=99.5")
            page.wait_for_selector("#limits:not(:empty)")
            shot("product-cube")
            shot("product-s2d", f"/portal/product/{named['s2d']}?stretch=asinh")
            page.goto("/portal/basket")
            page.wait_for_url("**/portal/basket?file=*")
            shot("basket")
            page.goto("/portal/account")
            shot("signin")
            page.get_by_label("API token").fill(token)
            page.get_by_role("button", name="Sign in").click()
            shot("account")
            shot("search-signed-in", f"/?program={program}")
            shot("error", "/?position=somewhere")
            # offline (no survey): the archive's own mosaics under the footprints
            offline, offline_base = serve(db, portal_sky_survey="")
            page.goto(f"{offline_base}/?position={position_of(db, named['i2d'])}")
            page.wait_for_selector("#sky[data-mosaics], #sky[data-failed]", state="attached")
            page.locator("#sky").scroll_into_view_if_needed()
            shot("sky-view-offline-mosaics")
            offline.should_exit = True
            browser.close()
        server.should_exit = True


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
