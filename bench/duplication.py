"""The duplication check of a target list against many planned visits, against a
brute force with astropy.

    .venv/bin/python -m bench.duplication [--visits 100000] [--targets 1000] [--repeat 5]

Builds a catalog of ``--visits`` random planned visits (clusters at RA 0/360
and the poles, a tenth with proper motions; :func:`webbarchive.mock.plans.random_plans`)
through ``ingest-plans``, then times, over ``--targets`` targets (half of them
planned targets, half anywhere on the sky; a tenth with proper motions):

- ``check_targets``: :func:`webbarchive.plans.targets.check_targets` (the POST
  route and ``webbarchive duplication-check`` run it), each visit's template radius;
- ``POST``: the same list through the real app as CSV;
- baseline: astropy ``SkyCoord.separation`` of every target against every visit
  (positions at the windows already computed, targets not moved), the radius
  per visit: the brute force a notebook would write.

The two are checked to find the same (target, visit) pairs for the targets
without proper motion.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord

from bench.common import measure, report
from webbarchive.catalog.db import open_catalog
from webbarchive.mock.plans import random_plans, render_csv
from webbarchive.plans.load import load_plans
from webbarchive.plans.query import Filters
from webbarchive.plans.targets import Target, check_targets, read_targets
from webbarchive.plans.templates import OTHER_RADIUS_ARCSEC, RADIUS_ARCSEC


def _targets(rows: list[dict], n: int, seed: int) -> list[Target]:
    rng = np.random.default_rng(seed)
    targets = []
    picks = rng.choice(len(rows), n // 2, replace=False)
    for i, k in enumerate(picks):
        targets.append(Target(i + 1, f"P{i}", float(rows[k]["s_ra"]), float(rows[k]["s_dec"])))
    for i in range(n // 2, n):
        ra, dec = float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
        pm = rng.normal(0, 500, 2) if rng.uniform() < 0.2 else (None, None)
        targets.append(
            Target(i + 1, f"R{i}", ra, dec, *(None if p is None else float(p) for p in pm))
        )
    return targets


def _brute_force(targets: list[Target], sky: SkyCoord, radii: np.ndarray) -> set[tuple]:
    pairs = set()
    for target in targets:
        separations = SkyCoord(target.ra * u.deg, target.dec * u.deg).separation(sky).arcsec
        pairs.update((target.index, int(j)) for j in np.flatnonzero(separations <= radii))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--db", help="reuse a catalog built by an earlier run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-duplication-"))
    db = args.db or str(folder / "catalog.db")
    engine = open_catalog(db)
    from sqlalchemy import func, select

    from webbarchive.catalog.schema import planned_visits

    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(planned_visits)).scalar_one()
    if have != args.visits:
        started = time.perf_counter()
        path = folder / "plans.csv"
        path.write_text(render_csv(random_plans(args.visits, 18)))
        print(load_plans(engine, path).summary(), f"in {time.perf_counter() - started:.0f} s")
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(planned_visits)).mappings()]
    keys = [(int(r["proposal_id"]), r["observation"], r["visit"]) for r in rows]
    sky = SkyCoord([r["s_ra"] for r in rows] * u.deg, [r["s_dec"] for r in rows] * u.deg)
    radii = np.array([RADIUS_ARCSEC.get(r["template"], OTHER_RADIUS_ARCSEC) for r in rows])
    targets = _targets(rows, args.targets, 7)
    still = [t for t in targets if not t.moving]

    def ours():
        with engine.connect() as conn:
            return check_targets(conn, targets, Filters())

    found = ours()
    index = {k: j for j, k in enumerate(keys)}
    got = {(r["query_index"], index[(r["program"], r["observation"], r["visit"])]) for r in found}
    still_ids = {t.index for t in still}
    truth = _brute_force(still, sky, radii)
    assert {p for p in got if p[0] in still_ids} == truth, "check_targets and brute force differ"
    print(f"{len(targets)} targets, {len(found)} matches; equal to the brute force on {len(still)}")

    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    body = "target_name,ra,dec,pm_ra,pm_dec\n" + "".join(
        f"{t.name},{t.ra!r},{t.dec!r},{t.pm_ra_mas_yr or ''},{t.pm_dec_mas_yr or ''}\n"
        for t in targets
    )
    assert len(read_targets(body)) == len(targets)
    app = create_app(Settings.from_env(db_url=db))
    app.state.rate_limiter = None
    client = TestClient(app)

    def post():
        response = client.post("/duplication/api/v0.1/search?format=csv", content=body)
        assert response.status_code == 200

    baseline = measure("brute force", lambda: _brute_force(still, sky, radii), args.repeat, 1)
    rows_out = [
        (f"check_targets, {len(targets)} targets", measure("ours", ours, args.repeat, 1), baseline),
        (f"POST csv, {len(targets)} targets", measure("post", post, args.repeat, 1), baseline),
    ]
    print(f"{len(rows)} planned visits; baseline: SkyCoord brute force on {len(still)} targets")
    print(report(rows_out))


if __name__ == "__main__":
    main()
