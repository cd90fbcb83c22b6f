"""/thumb?nirspec=True&metafile=: MSA shutters outlined on the thumbnail, and an
exclusive-access MSA file refused to anonymous users."""

from __future__ import annotations

import io

import numpy as np
from astropy.wcs import WCS
from fastapi.testclient import TestClient
from PIL import Image

from webbarchive.dja.imaging import thumbs
from webbarchive.dja.imaging.cutouts import thumb_grid

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
    with TestClient(create_app(Settings.from_env(db_url=url))) as app:
        refused = app.get("/thumb", params=params)
        unknown = app.get("/thumb", params={**params, "metafile": "jw99999_msa.fits"})
    assert refused.status_code == 401, refused.text
    assert "exclusive access" in refused.text
    assert unknown.status_code == 404


def test_shutters_outlined_around_their_source_on_a_mosaic(mock_dir, tmp_path):
    """Route level: a public MSA file's open shutters drawn on a mosaic centred on
    one of its sources - the source's shutter (yellow) encloses the centre, its
    background shutters (cyan) lie along the slitlet, nothing else changes."""
    import shutil

    from sqlalchemy import select

    from webbarchive.api.app import create_app
    from webbarchive.catalog.db import open_catalog
    from webbarchive.config import Settings
    from webbarchive.dja.spectra.tables import nirspec_slits
    from webbarchive.ingest.runner import ingest_paths
    from webbarchive.mock.mosaics import grid_wcs, write_pair

    msa = "jw01345061001_01_msa.fits"  # CEERS (ERS): public
    files = tmp_path / "files"
    files.mkdir()
    for path in [mock_dir / msa, *sorted(mock_dir.glob("jw01345-o061_*.fits"))]:
        shutil.copy(path, files / path.name)
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    ingest_paths([str(files)], db_url=url, workers=1, progress=False)
    with open_catalog(url).connect() as conn:
        ra, dec = conn.execute(
            select(nirspec_slits.c.ra, nirspec_slits.c.dec)
            .where(nirspec_slits.c.msametfl == msa, nirspec_slits.c.is_source.is_(True))
            .order_by(nirspec_slits.c.source_id)
        ).first()
    # a 12" field mosaic centred on the source's shutter, blank sky
    cards = {
        "TELESCOP": "JWST", "INSTRUME": "NIRCAM", "DETECTOR": "MULTIPLE", "FILTER": "F200W",
        "PUPIL": "CLEAR", "EXP_TYPE": "NRC_IMAGE", "PROGRAM": "01345", "CATEGORY": "ERS",
        "TARG_RA": ra, "TARG_DEC": dec, "EXPSTART": 59900.0, "EXPEND": 59900.1,
        "EFFEXPTM": 3000.0, "DJAKIND": "field", "DJAFIELD": "shutter-test",
    }  # fmt: skip
    write_pair(
        files, "shutter-test-f200w-clear", grid_wcs(ra, dec, 0.04, -150, -150, (300, 300)),
        (300, 300), [], "F200W", 0.04, cards, np.random.default_rng(3),
    )  # fmt: skip
    ingest_paths([str(files)], db_url=url, workers=1, progress=False)
    base = {"coords": f"{ra},{dec}", "size": 2, "filters": "f200w-clear"}
    with TestClient(create_app(Settings.from_env(db_url=url))) as app:
        plain_reply = app.get("/thumb", params=base)
        drawn_reply = app.get("/thumb", params={**base, "nirspec": "True", "metafile": msa})
        # the seed's short form (jw<program><observation><visit>) names the same MSA file
        short_reply = app.get("/thumb", params={**base, "nirspec": "True", "metafile": msa[:13]})
        unknown_reply = app.get("/thumb", params={**base, "nirspec": "True",
                                                  "metafile": "jw01345099001"})  # fmt: skip
    assert plain_reply.status_code == drawn_reply.status_code == 200, drawn_reply.text
    assert short_reply.status_code == 200, short_reply.text
    assert short_reply.content == drawn_reply.content
    assert unknown_reply.status_code == 404 and "jw01345099001" in unknown_reply.text
    plain = np.asarray(Image.open(io.BytesIO(plain_reply.content)).convert("RGB"))
    drawn = np.asarray(Image.open(io.BytesIO(drawn_reply.content)).convert("RGB"))
    n = plain.shape[0]
    changed = np.argwhere(np.any(drawn != plain, axis=-1))
    colours = {tuple(drawn[y, x]) for y, x in changed}
    assert thumbs.SHUTTER_SOURCE in colours and colours <= {
        thumbs.SHUTTER_SOURCE, thumbs.SHUTTER_BACKGROUND, thumbs.SHUTTER_OTHER,
    }  # fmt: skip
    source = np.array([(y, x) for y, x in changed if tuple(drawn[y, x]) == thumbs.SHUTTER_SOURCE])
    centre = (n - 1) / 2
    # the outline surrounds the centre: pixels on both sides along both axes
    assert source[:, 0].min() < centre < source[:, 0].max()
    assert source[:, 1].min() < centre < source[:, 1].max()
    # and is one shutter (0.20" x 0.46", 0.05"/px at size=2): within 0.35" of the centre
    assert np.hypot(*(source - centre).T).max() * (4.0 / n) < 0.35


def test_msa_files_named_by_the_short_form(catalog_url, tmp_path):
    """DJA's ``metafile=jw01345061001`` names the visit's MSA files (both backends):
    the prefix matches MSA files only, from the start of the name, literally."""
    from tests.rows import add_file_product
    from webbarchive.catalog.db import open_catalog
    from webbarchive.dja.spectra.queries import msa_files_named

    names = [
        "jw01345061001_01_msa.fits", "jw01345061001_02_msa.fits", "jw01345062001_01_msa.fits",
        "jw01345061001_03101_00001_nrs1_cal.fits", "jw013450610011_01_msa.fits",
    ]  # fmt: skip
    engine = open_catalog(catalog_url)
    with engine.begin() as conn:
        for i, name in enumerate(names):
            add_file_product(conn, f"obs{i}", name, tmp_path / name)
    with engine.connect() as conn:
        assert msa_files_named(conn, "jw01345061001") == names[:2]
        assert msa_files_named(conn, "jw01345061001_02") == names[1:2]
        assert msa_files_named(conn, names[2]) == names[2:3]
        assert msa_files_named(conn, "jw01345099001") == []
        # not DJA's short form: only an exact file name
        assert msa_files_named(conn, "jw0134506") == []
        assert msa_files_named(conn, "jw01345061001_01_msa") == []
    engine.dispose()
