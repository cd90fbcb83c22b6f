"""get_product_list for a 20,000-product program through the real astroquery
against a live server, p50/p95, with baselines measured in the same run:

- per-observation loop: what users do when MAST times out (one
  Mast.Caom.Products request per observation, then vstack);
- parse only: astroquery turning the same reply JSON into a Table, i.e. the
  client's share of the time, which no server can remove.

    .venv/bin/python -m bench.mast [--products 20000] [--observations 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert
from tests.mast.archive import write_astroquery_config
from tqdm import tqdm

from bench.common import free_port, measure, report
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import observations, products, programs

PROGRAM = "7777"


def build(db: Path, n_products: int, n_observations: int) -> None:
    engine = open_catalog(str(db))
    per_obs = n_products // n_observations
    with engine.begin() as conn:
        conn.execute(insert(programs).values(proposal_id=PROGRAM, proposal_pi="Bench"))
        for o in tqdm(range(n_observations), desc="synthetic observations", unit="obs"):
            obs_id = f"jw0{PROGRAM}-o{o:03d}_t001_nircam_clear-f200w"
            obsid = conn.execute(
                insert(observations).values(
                    obs_id=obs_id,
                    obs_collection="JWST",
                    calib_level=3,
                    proposal_id=PROGRAM,
                    s_ra=10.0,
                    s_dec=-40.0,
                    t_obs_release=59000.0,
                    instrument_name="NIRCAM/IMAGE",
                    target_name="BENCH",
                    project="JWST",
                )  # fmt: skip
            ).inserted_primary_key[0]
            conn.execute(
                insert(products),
                [
                    {
                        "obsid": obsid,
                        "filename": f"{obs_id}_{i:05d}_cal.fits",
                        "path": "/dev/null",
                        "fileSetName": obs_id,
                        "productLevel": "2b",
                        "calib_level": 2,
                        "suffix": "cal",
                        "productType": "SCIENCE",
                        "productSubGroupDescription": "CAL",
                        "type": "D",
                        "dataproduct_type": "image",
                        "instrument": "NIRCAM",
                        "proposal_id": PROGRAM,
                        "size": 1000 + i,
                        "checksum": "0" * 32,
                        "publicReleaseDate_mjd": 59000.0,
                    }  # fmt: skip
                    for i in range(per_obs)
                ],
            )
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=20_000)
    parser.add_argument("--observations", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-mast-"))
    port = free_port()
    server = f"http://127.0.0.1:{port}"
    write_astroquery_config(work / "config", server)  # before astroquery is imported
    db = work / "catalog.db"
    build(db, args.products, args.observations)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "webbarchive.api.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env={**os.environ, "WEBBARCHIVE_DB": str(db)},
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{server}/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        run(args)
    finally:
        proc.terminate()
        proc.wait(10)


def run(args) -> None:
    from astropy.table import vstack
    from astroquery.mast import Observations
    from astroquery.mast.discovery_portal import _json_to_table

    obs = Observations.query_criteria(proposal_id=PROGRAM)
    assert len(obs) == args.observations, len(obs)
    table = Observations.get_product_list(obs)
    assert len(table) == args.products == len(set(table["productFilename"])), len(table)

    ours = measure(
        "get_product_list, one request",
        lambda: Observations.get_product_list(obs),
        repeat=args.repeat,
        warmup=1,
    )
    loop = measure(
        "per-observation loop (baseline)",
        lambda: vstack([Observations.get_product_list(row["obsid"]) for row in obs]),
        repeat=max(2, args.repeat // 2),
        warmup=0,
    )
    reply = Observations.get_product_list_async(obs)[0].json()
    parse = measure(
        "astroquery parse only (client share)",
        lambda: _json_to_table(reply),
        repeat=args.repeat,
        warmup=1,
    )
    print(f"\n{args.products} products in {args.observations} observations of program {PROGRAM}")
    print(report([
        ("get_product_list vs per-observation loop", ours, loop),
        ("astroquery parse of the same reply", parse, None),
    ]))  # fmt: skip
    print(f"server + transfer share of one request ~ {ours.p50 - parse.p50:.0f} ms (p50)")


if __name__ == "__main__":
    main()
