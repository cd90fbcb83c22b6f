"""A small imaging archive for the DJA tools, per backend (session).

The mock's GOODS-N and CEERS-EGS imaging (CEERS is put in its exclusive access
period with ``programs.release_override_mjd``), its north-pole MIRI field (GO,
exclusive until 2027), plus two fields made here: three NIRCam filters straddling
RA 0/360 and two filters on top of the north celestial pole (both public).
"""

from __future__ import annotations

import itertools
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import update

from webbarchive.mock import imaging, mosaics
from webbarchive.mock.sky import CEERS, POLE_GO, RA0_GO, Observation, Target, plan

_counter = itertools.count()  # tests/security builds its own copy in the same cluster
EAP_PROGRAM = "1345"  # CEERS: exclusive access forced by an override
FUTURE_MJD = 99999.0
RA0 = Target("RA0-DEEP", 359.99985, 0.3712, "RA 0h")
POLE = Target("POLE-DEEP", 123.0, 89.9985, "north celestial pole")


def _observations() -> list[Observation]:
    kept = [o for o in plan("small") if o.kind == "image" and o.target.name in
            ("CEERS-EGS", "GOODS-N", "POLARIS-FIELD")]  # fmt: skip
    nircam = tuple(("NIRCAM", f, "CLEAR") for f in ("F115W", "F200W", "F444W"))
    return kept + [
        Observation(RA0_GO, 31, RA0, "image", nircam, "2023-08-01T10:00:00.000", 20.0, subarray="SUB160"),
        Observation(POLE_GO, 32, POLE, "image", nircam[1:], "2023-06-01T10:00:00.000", 70.0, subarray="SUB160"),
    ]  # fmt: skip


@pytest.fixture(scope="session")
def dja_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dja")
    observations = _observations()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, obs in enumerate(observations):
            imaging.write_observation(obs, out, np.random.default_rng(index))
        mosaics.write_all(observations, out, seed=7)
    return out


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def dja_url(request, dja_dir, tmp_path_factory) -> str:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import programs
    from webbarchive.ingest.runner import ingest_paths

    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("dja-archive") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(
            f"dja{next(_counter)}_{os.getpid()}"
        )
    ingest_paths([str(dja_dir)], db_url=url, workers=2, progress=False)
    engine = open_catalog(url)
    with engine.begin() as conn:
        conn.execute(
            update(programs)
            .where(programs.c.proposal_id == EAP_PROGRAM)
            .values(release_override_mjd=FUTURE_MJD)
        )
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def dja_client(dja_url):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    with TestClient(create_app(Settings.from_env(db_url=dja_url))) as client:
        yield client


__all__ = ["CEERS", "EAP_PROGRAM", "POLE", "RA0"]
