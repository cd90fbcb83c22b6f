"""A small archive with real mosaics, for the sky view's image layers and the
thumbnail page: one field observed by two programs, each with NIRCam imaging
(level-3 ``i2d``) and DJA drizzled mosaics (``drc_sci``) written by the mock.

Program 6802 is public; program 6627 is in its exclusive access period
(``release_override_mjd`` far in the future), with ``pi`` its PI and
``stranger`` no one's. The exclusive observation points 14" away,
so its mosaics overlap the public ones in every view of the field.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from webbarchive.mock.sky import POLE_GO, RA0_GO, Observation, Target

PUBLIC_PROGRAM = str(RA0_GO.number)
EAP_PROGRAM = str(POLE_GO.number)
FIELD = Target("MOSAIC-FIELD", 150.1192, 2.2058, "COSMOS")
#: The exclusive observation's pointing: 14" east of the field centre.
EAP_POINTING = Target("MOSAIC-FIELD-E", 150.1192 + 14.0 / 3600.0, 2.2058, "COSMOS")
FAR_FUTURE_MJD = 99_999.0
PAST_MJD = 59_000.0
_NIRCAM = (("NIRCAM", "F200W", "CLEAR"), ("NIRCAM", "F444W", "CLEAR"))


@dataclass
class MosaicArchive:
    url: str
    tokens: dict[str, str] = field(default_factory=dict)


def observations() -> list[Observation]:
    return [
        Observation(RA0_GO, 41, FIELD, "image", _NIRCAM, "2023-03-01T10:00:00.000", 30.0,
                    subarray="SUB160"),
        Observation(POLE_GO, 42, EAP_POINTING, "image", _NIRCAM, "2023-04-01T10:00:00.000",
                    75.0, subarray="SUB160"),
    ]  # fmt: skip


def write_files(out: Path) -> None:
    from webbarchive.mock import imaging, mosaics

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for index, obs in enumerate(observations()):
            imaging.write_observation(obs, out, np.random.default_rng(index))
        mosaics.write_all(observations(), out, seed=11)


def build(url: str, files: Path) -> MosaicArchive:
    """Ingest ``files`` into the empty catalog at ``url``; programs, rights and users."""
    from sqlalchemy import update

    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import programs
    from webbarchive.ingest.runner import ingest_paths

    ingest_paths([str(files)], db_url=url, workers=1, progress=False)
    engine = open_catalog(url)
    with engine.begin() as conn:
        conn.execute(update(programs).values(release_override_mjd=PAST_MJD))
    accounts.set_release(engine, EAP_PROGRAM, FAR_FUTURE_MJD)
    archive = MosaicArchive(url)
    for name in ("pi", "stranger"):
        accounts.add_user(engine, name, display_name=name.title())
        archive.tokens[name] = accounts.create_token(engine, name, "tests").token
    accounts.set_pi(engine, EAP_PROGRAM, "pi")
    engine.dispose()
    return archive
