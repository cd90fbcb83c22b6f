"""/thumb?nirspec=True&metafile=: MSA shutters outlined on the thumbnail, and an
exclusive-access MSA file refused to anonymous users."""

from __future__ import annotations

import io

import numpy as np
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from PIL import Image

from webbarchive.dja import thumbs
from webbarchive.dja.cutouts import thumb_grid

EAP_MSA = "jw06802004001_01_msa.fits"  # RA0_GO (program 6802) observation 4, taken 2026-09: exclusive access


def test_shutter_outlines_change_the_png_where_they_cover():
    grid, n = thumb_grid(150.0, 2.0, 2.0)
    image = np.zeros((n, n, 3), dtype=np.uint8)
    shutter = thumbs.slit_corners(150.0, 2.0, 30.0, 0.2, 0.46)
    plain = np.asarray(Image.open(io.BytesIO(thumbs.png(image, grid))))
    drawn = np.asarray(
        Image.open(
            io.BytesIO(
                thumbs.png(
                    image,
                    grid,
                    shutters=[{"polygon": shutter, "is_source": True, "highlight": True}],
                )
            )
        )  # fmt: skip
    )
    changed = np.argwhere(np.any(drawn != plain, axis=-1))
    assert len(changed) > 10
    # the outline is drawn around the centre (0.46" ~ 9 px), in the source colour
    assert np.all(np.abs(changed - (n - 1) / 2) < 8)
    assert {tuple(drawn[y, x]) for y, x in changed} == {thumbs.SHUTTER_SOURCE}
    assert isinstance(grid, WCS)


def test_exclusive_access_metafile_is_refused_to_anonymous(mock_dir, tmp_path):
    from webbarchive.api.app import create_app
    from webbarchive.config import Settings
    from webbarchive.ingest.runner import ingest_paths

    assert (mock_dir / EAP_MSA).exists()
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    # the MSA file takes its release from its observation's products
    paths = [mock_dir / EAP_MSA, *sorted(mock_dir.glob("jw06802-o004_*.fits"))]
    ingest_paths([str(p) for p in paths], db_url=url, workers=1, progress=False)
    params = {"ra": 0.0, "dec": 0.0, "nirspec": "True", "metafile": EAP_MSA}
    with TestClient(create_app(Settings(db_url=url))) as app:
        refused = app.get("/thumb", params=params)
        unknown = app.get("/thumb", params={**params, "metafile": "jw99999_msa.fits"})
    assert refused.status_code == 401, refused.text
    assert "exclusive access" in refused.text
    assert unknown.status_code == 404
