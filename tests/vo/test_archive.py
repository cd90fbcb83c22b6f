"""TAP over the ingested archive (mock + real files): cones around every
observation agree with astropy on the positions TAP itself reports, which
checks the spatial index against what ingest wrote."""

from __future__ import annotations

import io

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.table import Table


def _tap(client, adql: str) -> Table:
    response = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": adql, "MAXREC": 100000})
    assert response.status_code == 200, response.text
    return Table.read(io.BytesIO(response.content), format="votable")


def test_cones_find_what_astropy_finds(client):
    everything = _tap(client, "SELECT obs_publisher_did, s_ra, s_dec FROM ivoa.obscore")
    everything = everything[~np.ma.getmaskarray(everything["s_ra"])]
    assert len(everything) > 0
    ras = np.asarray(everything["s_ra"], dtype=float)
    decs = np.asarray(everything["s_dec"], dtype=float)
    coords = SkyCoord(ras * u.deg, decs * u.deg)
    radius = 0.05
    for i in range(0, len(everything), max(1, len(everything) // 25)):
        ra, dec = float(ras[i]), float(decs[i])
        truth = {
            str(d)
            for d, sep in zip(
                everything["obs_publisher_did"],
                coords.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg,
                strict=True,
            )
            if sep <= radius
        }
        got = _tap(
            client,
            "SELECT obs_publisher_did FROM ivoa.obscore WHERE 1 = CONTAINS("
            f"POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra!r}, {dec!r}, {radius}))",
        )
        assert {str(d) for d in got["obs_publisher_did"]} == truth, (ra, dec)
