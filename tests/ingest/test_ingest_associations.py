"""Associations describe products and never make an observation (issue 13, item 3),
on both backends.

Truths: the association files themselves (their product names, templates such as
``{source_id}`` read with fnmatch), and a brute-force pass over every observation
row and its products.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import insert, select, update

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import observations, products
from webbarchive.ingest.runner import ingest_paths


def _product_patterns(asn: Path) -> list[str]:
    names = [p["name"].lower() for p in json.loads(asn.read_text())["products"]]
    return [re.sub(r"\{[^}]*\}", "*", name) for name in names]


def _templated(folder: Path) -> list[Path]:
    """Association files with a template among their product names."""
    return [a for a in sorted(folder.glob("*_asn.json")) if "*" in "".join(_product_patterns(a))]


def _catalog(url: str) -> tuple[dict[int, dict], dict[int, list[dict]]]:
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        obs = {r["obsid"]: dict(r) for r in conn.execute(select(observations)).mappings()}
        members: dict[int, list[dict]] = {}
        for row in conn.execute(select(products)).mappings():
            members.setdefault(row["obsid"], []).append(dict(row))
    engine.dispose()
    return obs, members


def _check_no_placeholders(url: str, folder: Path) -> None:
    obs, members = _catalog(url)
    for obsid, row in obs.items():
        suffixes = {m["suffix"] for m in members.get(obsid, [])}
        assert suffixes - {"asn"}, (row["obs_id"], suffixes)  # more than associations
        assert "{" not in row["obs_id"]
    by_name = {m["filename"]: m for group in members.values() for m in group}
    asns = sorted(folder.glob("*_asn.json"))
    assert asns
    for asn in asns:
        product = by_name[asn.name]
        obs_id = obs[product["obsid"]]["obs_id"]
        assert any(fnmatch.fnmatchcase(obs_id, p) for p in _product_patterns(asn)), asn.name


@pytest.fixture
def mock_catalog(catalog_url, mock_dir) -> str:
    report = ingest_paths([str(mock_dir)], db_url=catalog_url, workers=2, progress=False)
    assert not report.skipped, report.summary()
    return catalog_url


def test_associations_join_the_observations_they_describe(mock_catalog, mock_dir):
    assert _templated(mock_dir)  # spec3 associations of MOS observations: {source_id}
    _check_no_placeholders(mock_catalog, mock_dir)
    obs, _ = _catalog(mock_catalog)
    level3 = [r for r in obs.values() if r["proposal_id"] == "2736" and r["calib_level"] == 3]
    assert level3
    for row in level3:  # what query_criteria(proposal_id='2736') lists: real observations
        assert row["instrument_name"] and row["s_ra"] is not None, row["obs_id"]


def test_placeholders_of_older_catalogs_are_removed(mock_catalog, mock_dir):
    """An older catalog made an observation of each templated spec3 association."""
    asn = _templated(mock_dir)[0]
    name = json.loads(asn.read_text())["products"][0]["name"].lower()
    engine = open_catalog(mock_catalog, create=False)
    with engine.begin() as conn:
        obsid = conn.execute(
            insert(observations).values(obs_id=name, obs_collection="JWST", calib_level=3)
        ).inserted_primary_key[0]
        conn.execute(update(products).where(products.c.filename == asn.name).values(obsid=obsid))
    engine.dispose()
    report = ingest_paths([str(mock_dir)], db_url=mock_catalog, workers=1, progress=False)
    assert report.ingested == [str(asn)] and not report.skipped
    _check_no_placeholders(mock_catalog, mock_dir)
    again = ingest_paths([str(mock_dir)], db_url=mock_catalog, workers=1, progress=False)
    assert not again.ingested and not again.replaced


def test_an_association_without_its_products_is_skipped(catalog_url, mock_dir, tmp_path):
    asn = _templated(mock_dir)[0]
    shutil.copy(asn, tmp_path / asn.name)
    report = ingest_paths([str(tmp_path)], db_url=catalog_url, workers=1, progress=False)
    ((path, reason),) = report.skipped
    assert path == str(tmp_path / asn.name)
    assert reason.startswith("association describes no catalogued product")
    obs, members = _catalog(catalog_url)
    assert obs == {} and members == {}
