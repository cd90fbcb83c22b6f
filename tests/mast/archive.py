"""The catalog the astroquery tests run against: the real files of ../shared
ingested, plus synthetic rows whose truths are easy to compute independently:

- CLUSTER: public observations around (150, 2) deg at known offsets, each with
  a 1-arcsec square footprint, for cone searches;
- BIG_OBS: one observation with MANY_PRODUCTS products, for paging;
- EAP: program 9999 still in its exclusive access period, PI "pi9999".

Synthetic products point at small files written to ``files_dir``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert

from webbarchive.catalog import accounts, sky
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import now_mjd
from webbarchive.catalog.schema import keywords, observations, products, programs, sky_index

CENTRE = (150.0, 2.0)
#: (offset in dec, degrees) of each public cluster observation from CENTRE.
OFFSETS_DEG = [0.0, 0.01, 0.03, 0.05, 0.08, 0.12, 0.18, 0.25, 0.33, 0.5]
MANY_PRODUCTS = 23
EAP_PROGRAM = "9999"
EAP_PI = "pi9999"


@dataclass
class Archive:
    url: str
    files_dir: Path
    pi_token: str
    other_token: str


def _square(ra: float, dec: float, half_deg: float = 1 / 3600) -> str:
    return sky.to_stcs(
        [
            (ra - half_deg, dec - half_deg),
            (ra + half_deg, dec - half_deg),
            (ra + half_deg, dec + half_deg),
            (ra - half_deg, dec + half_deg),
        ]
    )


def _file(files_dir: Path, name: str, size: int) -> tuple[str, str, int]:
    path = files_dir / name
    data = hashlib.sha256(name.encode()).digest() * (size // 32 + 1)
    path.write_bytes(data[:size])
    return str(path), hashlib.md5(data[:size]).hexdigest(), size


def _observation(
    conn, obs_id: str, ra: float, dec: float, proposal_id: str, release: float, **extra
) -> int:
    s_region = _square(ra, dec)
    obsid = conn.execute(
        insert(observations).values(
            obs_id=obs_id,
            obs_collection="JWST",
            dataproduct_type="image",
            calib_level=3,
            intentType="science",
            target_name=extra.pop("target_name", "CLUSTER"),
            s_ra=ra,
            s_dec=dec,
            s_region=s_region,
            t_min=60000.0,
            t_max=60000.1,
            t_exptime=extra.pop("t_exptime", 1000.0),
            instrument_name="NIRCAM/IMAGE",
            filters="F200W",
            t_obs_release=release,
            proposal_id=proposal_id,
            project="JWST",
            **extra,
        )
    ).inserted_primary_key[0]
    conn.execute(insert(sky_index), sky.index_rows(obsid, sky.parse_stcs(s_region)))
    return obsid


def _product(conn, files_dir, obsid, obs_id, filename, proposal_id, release, size=2048):
    path, md5, size = _file(files_dir, filename, size)
    pid = conn.execute(
        insert(products).values(
            obsid=obsid,
            filename=filename,
            path=path,
            fileSetName=obs_id,
            productLevel="3",
            calib_level=3,
            suffix=filename.rsplit("_", 1)[1].split(".")[0],
            productType="SCIENCE",
            productSubGroupDescription=filename.rsplit("_", 1)[1].split(".")[0].upper(),
            type="D",
            dataproduct_type="image",
            instrument="NIRCAM",
            exp_type="NRC_IMAGE",
            proposal_id=proposal_id,
            s_ra=None,
            s_dec=None,
            size=size,
            checksum=md5,
            publicReleaseDate_mjd=release,
        )
    ).inserted_primary_key[0]
    conn.execute(
        insert(keywords),
        [
            {
                "product_id": pid,
                "name": "instrume",
                "hdu": "PRIMARY",
                "value": '"NIRCAM"',
                "num": None,
            },
            {
                "product_id": pid,
                "name": "program",
                "hdu": "PRIMARY",
                "value": str(int(proposal_id)),  # typed as ingest types it (keyword_types)
                "num": float(proposal_id),
            },
        ],
    )


def build(url: str, files_dir: Path, real_dir: Path | None) -> Archive:
    if real_dir is not None and real_dir.is_dir():
        from webbarchive.ingest.runner import ingest_paths

        ingest_paths([str(real_dir)], db_url=url, workers=1, progress=False)
    engine = open_catalog(url)
    past, future = 59000.0, now_mjd() + 365.0
    files_dir.mkdir(parents=True, exist_ok=True)
    with engine.begin() as conn:
        conn.execute(insert(programs).values(proposal_id="8888", proposal_pi="Cluster"))
        conn.execute(insert(programs).values(proposal_id=EAP_PROGRAM, proposal_pi="Secret"))
        for i, offset in enumerate(OFFSETS_DEG):
            obs_id = f"jw08888-o{i + 1:03d}_t001_nircam_clear-f200w"
            obsid = _observation(
                conn, obs_id, CENTRE[0], CENTRE[1] + offset, "8888", past, t_exptime=100.0 * (i + 1)
            )
            _product(conn, files_dir, obsid, obs_id, f"{obs_id}_i2d.fits", "8888", past, 1024 + i)
        big = "jw08888-o099_t001_nircam_clear-f444w"
        obsid = _observation(conn, big, 10.0, -40.0, "8888", past, target_name="BIG")
        for i in range(MANY_PRODUCTS):
            _product(conn, files_dir, obsid, big, f"{big}-{i:03d}_cal.fits", "8888", past, 512)
        secret = "jw09999-o001_t001_nircam_clear-f200w"
        obsid = _observation(
            conn, secret, CENTRE[0] + 0.02, CENTRE[1], EAP_PROGRAM, future, target_name="SECRET"
        )
        _product(conn, files_dir, obsid, secret, f"{secret}_i2d.fits", EAP_PROGRAM, future, 4096)
    accounts.add_user(engine, EAP_PI, display_name="P. I.")
    accounts.set_pi(engine, EAP_PROGRAM, EAP_PI)
    accounts.add_user(engine, "outsider", display_name="Out Sider")
    pi_token = accounts.create_token(engine, EAP_PI, "astroquery").token
    other_token = accounts.create_token(engine, "outsider", "astroquery").token
    engine.dispose()
    return Archive(url, files_dir, pi_token, other_token)


def write_astroquery_config(root: Path, server: str) -> Path:
    """``$XDG_CONFIG_HOME/astropy/astroquery.cfg`` with ``[mast] server``."""
    cfg = root / "astropy" / "astroquery.cfg"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text(f"[mast]\nserver = {server}\n")
    os.environ["XDG_CONFIG_HOME"] = str(root)
    return cfg
