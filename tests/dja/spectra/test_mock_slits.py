"""The mock's NIRSpec MOS products carry a real MSA pointing, so the DJA slits built from
them put each mock source inside the shutter its MSA file opened for it."""

from __future__ import annotations

import csv
import io

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.io import fits
from fastapi.testclient import TestClient

MSA_FILE = "jw01345062001_01_msa.fits"  # CEERS observation 62 (public), 3 sources


def _inside(polygon: list[tuple[float, float]], ra: float, dec: float) -> bool:
    """Point-in-convex-polygon on the tangent plane at (ra, dec), offsets from astropy."""
    centre = SkyCoord(ra, dec, unit="deg")
    corners = SkyCoord([p[0] for p in polygon], [p[1] for p in polygon], unit="deg")
    east, north = centre.spherical_offsets_to(corners)
    x, y = east.arcsec, north.arcsec
    crosses = [x[i] * y[(i + 1) % 4] - x[(i + 1) % 4] * y[i] for i in range(4)]
    return all(c > 0 for c in crosses) or all(c < 0 for c in crosses)


def test_mock_mos_source_lies_in_its_shutter(mock_dir, tmp_path):
    from webbarchive.api.app import create_app
    from webbarchive.config import Settings
    from webbarchive.dja.spectra.geometry import parse_footprint
    from webbarchive.ingest.runner import ingest_paths

    paths = [mock_dir / MSA_FILE, *sorted(mock_dir.glob("jw01345-o062_*_s2d.fits"))]
    assert len(paths) == 4
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    ingest_paths([str(p) for p in paths], db_url=url, workers=1, progress=False)
    with fits.open(mock_dir / MSA_FILE) as hdul:
        shutters = hdul["SHUTTER_INFO"].data
        source_id, ra, dec = (hdul["SOURCE_INFO"].data[0][k] for k in ("source_id", "ra", "dec"))
        mine = shutters[(shutters["source_id"] == source_id)
                        & (shutters["dither_point_index"] == 1)
                        & np.isfinite(shutters["estimated_source_in_shutter_x"])]  # fmt: skip
    assert len(mine) == 1
    with TestClient(create_app(Settings.from_env(db_url=url))) as app:
        response = app.get("/nirspec_slits", params={"coords": f"{ra},{dec}", "size": 1})
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    hits = [r for r in rows if int(r["source_id"]) == source_id and r["is_source"] == "True"]
    assert len(hits) == 1, rows
    hit = hits[0]
    expected = (mine["shutter_quadrant"][0], mine["shutter_row"][0], mine["shutter_column"][0])
    assert (
        int(hit["shutter_quadrant"]),
        int(hit["shutter_row"]),
        int(hit["shutter_column"]),
    ) == tuple(int(v) for v in expected)
    assert _inside(parse_footprint(hit["footprint"]), float(ra), float(dec))
    # the neighbouring (background) shutters of the slitlet do not contain the source
    others = [r for r in rows if int(r["source_id"]) == source_id and r["is_source"] != "True"]
    assert len(others) == 2
    assert not any(_inside(parse_footprint(r["footprint"]), float(ra), float(dec)) for r in others)
