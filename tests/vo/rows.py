"""Synthetic catalog rows for the VO tests and bench: observations with square
footprints, their science and auxiliary products, and the HEALPix sky index
(cells of the footprint and of the centre), inserted with SQLAlchemy."""

from __future__ import annotations

import math

import astropy.units as u
import cdshealpix
import numpy as np
from sqlalchemy import Engine, insert

from webbarchive.catalog.rights import now_mjd
from webbarchive.catalog.schema import (
    SKY_INDEX_DEPTH,
    observations,
    products,
    programs,
    sky_index,
)

FIELDS = [(53.16, -27.78), (150.1, 2.2), (214.9, 52.9), (0.2, 0.1), (359.9, -0.1)]
EXCLUSIVE_PROGRAM = "9999"
INSTRUMENTS = [
    ("NIRCAM/IMAGE", "image", 2000.0, 2300.0),
    ("NIRSPEC/MSA", "spectrum", 2870.0, 5100.0),
    ("MIRI/IFU", "cube", 4900.0, 5740.0),
    ("NIRISS/SOSS", "timeseries", 600.0, 2800.0),
]


def square(ra: float, dec: float, half: float) -> list[tuple[float, float]]:
    d = half / max(math.cos(math.radians(dec)), 1e-6)
    return [
        ((ra - d) % 360, dec - half),
        ((ra + d) % 360, dec - half),
        ((ra + d) % 360, dec + half),
        ((ra - d) % 360, dec + half),
    ]


def footprint_cells(ra: float, dec: float, vertices: list[tuple[float, float]]) -> set[int]:
    lon = np.array([v[0] for v in vertices]) * u.deg
    lat = np.array([v[1] for v in vertices]) * u.deg
    ipix, _, _ = cdshealpix.nested.polygon_search(lon, lat, SKY_INDEX_DEPTH, flat=True)
    centre = cdshealpix.nested.lonlat_to_healpix([ra] * u.deg, [dec] * u.deg, SKY_INDEX_DEPTH)[0]
    return {int(i) for i in ipix} | {int(centre)}


def make_rows(n: int, seed: int = 1, spread_deg: float = 0.5):
    """(observations, products, sky_index) row dicts for ``n`` observations."""
    rng = np.random.default_rng(seed)
    obs_rows, prod_rows, sky_rows = [], [], []
    now = now_mjd()
    for i in range(n):
        fra, fdec = FIELDS[i % len(FIELDS)]
        dec = float(np.clip(fdec + rng.uniform(-spread_deg, spread_deg), -89.0, 89.0))
        ra = float((fra + rng.uniform(-spread_deg, spread_deg) / math.cos(math.radians(dec))) % 360)
        inst, dptype, em_min, em_max = INSTRUMENTS[i % len(INSTRUMENTS)]
        half = 0.02 + 0.02 * (i % 3)
        verts = square(ra, dec, half)
        exclusive = i % 10 == 7
        proposal = EXCLUSIVE_PROGRAM if exclusive else str(1000 + i % 5)
        release = now + 300 if exclusive else now - 100 - i % 50
        obsid = i + 1
        obs_rows.append(
            {
                "obsid": obsid,
                "obs_id": f"jw{proposal}-o{i:06d}_t001_{inst.split('/')[0].lower()}",
                "obs_collection": "JWST",
                "dataproduct_type": dptype,
                "calib_level": 3,
                "target_name": f"TARGET-{i % 7}",
                "s_ra": ra,
                "s_dec": dec,
                "s_region": "POLYGON ICRS " + " ".join(f"{a:.8f} {b:.8f}" for a, b in verts),
                "t_min": 59800.0 + i * 0.5,
                "t_max": 59800.0 + i * 0.5 + 0.1,
                "t_exptime": 1000.0 + i,
                "instrument_name": inst,
                "em_min": em_min,
                "em_max": em_max,
                "t_obs_release": release,
                "proposal_id": proposal,
                "proposal_pi": "Pi, A.",
                "obs_title": "Synthetic program",
                "filters": "F200W",
            }
        )
        for k, (suffix, ptype) in enumerate(((dptype[:3], "SCIENCE"), ("asn", "AUXILIARY"))):
            prod_rows.append(
                {
                    "product_id": obsid * 10 + k,
                    "obsid": obsid,
                    "filename": f"{obs_rows[-1]['obs_id']}_{suffix}{k}.fits",
                    "path": f"/nowhere/{obsid}_{k}.fits",
                    "productType": ptype,
                    "productLevel": "3",
                    "calib_level": 3,
                    "dataproduct_type": dptype,
                    "proposal_id": proposal,
                    "size": 2048 * (k + 1) + i,
                    "checksum": "0" * 32,
                    "publicReleaseDate_mjd": release,
                }
            )
        for cell in footprint_cells(ra, dec, verts):
            sky_rows.append({"obsid": obsid, "hpx": cell})
    return obs_rows, prod_rows, sky_rows


def fill_catalog(engine: Engine, n: int, seed: int = 1, spread_deg: float = 0.5) -> list[dict]:
    """Insert ``n`` synthetic observations; returns the observation rows."""
    obs_rows, prod_rows, sky_rows = make_rows(n, seed, spread_deg)
    proposals = sorted({r["proposal_id"] for r in obs_rows})
    with engine.begin() as conn:
        conn.execute(insert(programs), [{"proposal_id": p} for p in proposals])
        conn.execute(insert(observations), obs_rows)
        conn.execute(insert(products), prod_rows)
        conn.execute(insert(sky_index), sky_rows)
    return obs_rows
