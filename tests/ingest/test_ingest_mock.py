"""Ingesting the mock archive, checked against the generator's manifest
(``mock_manifest.json``: what each file was written to contain)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from tests.ingest.conftest import _stub_hooks
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import observations, products
from webbarchive.ingest.runner import ingest_paths


@pytest.fixture(scope="module")
def mock_catalog(mock_dir, tmp_path_factory):
    """The session's small mock archive, ingested into SQLite once for this module
    (both backends are covered by the real-file and change tests)."""
    url = str(tmp_path_factory.mktemp("mockcat") / "catalog.db")
    with pytest.MonkeyPatch.context() as mp:
        _stub_hooks(mp)
        report = ingest_paths([str(mock_dir)], db_url=url, workers=2, progress=False)
    return report, open_catalog(url, create=False)


def _manifest(mock_dir) -> list[dict]:
    return json.loads((mock_dir / "mock_manifest.json").read_text())


def test_every_mock_file_ingested(mock_catalog, mock_dir):
    report, _ = mock_catalog
    assert not report.skipped, report.summary()
    names = {p.rsplit("/", 1)[-1] for p in report.ingested}
    assert names == {e["filename"] for e in _manifest(mock_dir)}
    assert [p.rsplit("/", 1)[-1] for p in report.ignored] == ["mock_manifest.json"]


def test_products_match_manifest(mock_catalog, mock_dir):
    _, engine = mock_catalog
    with engine.connect() as conn:
        rows = {
            r["filename"]: r
            for r in conn.execute(
                select(
                    products,
                    observations.c.obs_id,
                    observations.c.target_name,
                    observations.c.s_ra.label("obs_ra"),
                    observations.c.s_dec.label("obs_dec"),
                ).join(observations, observations.c.obsid == products.c.obsid)
            ).mappings()
        }
    for entry in _manifest(mock_dir):
        row = rows[entry["filename"]]
        name = entry["filename"]
        assert row["suffix"] == entry["suffix"], name
        assert row["size"] == entry["size"], name
        assert row["proposal_id"] == str(int(entry["program"])), name
        if entry.get("obs_id"):
            assert row["obs_id"] == entry["obs_id"], name
        if entry.get("exp_type"):
            assert row["exp_type"] == entry["exp_type"], name
        if entry["suffix"] not in ("asn", "msa"):
            assert row["target_name"] == entry["target_name"], name
            assert row["t_min"] == pytest.approx(entry["date_beg"], abs=1e-6), name
            assert row["t_max"] == pytest.approx(entry["date_end"], abs=1e-6), name
            assert row["publicReleaseDate_mjd"] == pytest.approx(entry["release_mjd"], abs=1e-6)
        if entry.get("ra") is not None and entry["suffix"] not in ("asn", "msa"):
            # a c1d header only carries TARG_RA; its observation knows the source
            product_ra = entry["targ_ra"] if entry["suffix"] == "c1d" else entry["ra"]
            assert row["s_ra"] == pytest.approx(product_ra, abs=1e-6), name
            assert row["obs_ra"] == pytest.approx(entry["ra"], abs=1e-6), name
            assert row["obs_dec"] == pytest.approx(entry["dec"], abs=1e-6), name
        if entry.get("s_region_valid") is True:
            assert row["footprint_source"] == "s_region", name
        elif entry.get("s_region_valid") is False:
            assert row["footprint_source"] in ("wcs", "target"), name


def test_auxiliary_files_never_public_before_their_data(mock_catalog, mock_dir):
    _, engine = mock_catalog
    with engine.connect() as conn:
        release = dict(
            conn.execute(select(products.c.filename, products.c.publicReleaseDate_mjd)).all()
        )
    for entry in _manifest(mock_dir):
        if entry["suffix"] in ("asn", "msa") and entry.get("release_mjd") is not None:
            assert release[entry["filename"]] >= entry["release_mjd"] - 1e-6, entry["filename"]


def test_observation_dataproduct_types(mock_catalog, mock_dir):
    _, engine = mock_catalog
    with engine.connect() as conn:
        obs = dict(
            conn.execute(select(observations.c.obs_id, observations.c.dataproduct_type)).all()
        )
    expected = {
        "MIR_MRS": "cube",
        "NRS_IFU": "cube",
        "NRS_MSASPEC": "spectrum",
        "NRC_IMAGE": "image",
    }
    for entry in _manifest(mock_dir):
        if entry.get("obs_id") and entry.get("exp_type") in expected:
            assert obs[entry["obs_id"]] == expected[entry["exp_type"]], entry["filename"]
