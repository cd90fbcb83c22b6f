"""Ingest tests: a catalog of the real files per backend (module scope), and the
pixel-search hook switched off (it belongs to another capability and would
dominate the run time); ``test_pixel_hook_is_called`` checks the hook itself."""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count()


@pytest.fixture(autouse=True)
def _no_pixel_index(request, monkeypatch):
    if not request.node.name.startswith("test_pixel_hook"):
        monkeypatch.setattr("webbarchive.ingest.runner._update_pixel_index", lambda *a: None)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def real_catalog_url(request, real_dir, tmp_path_factory) -> str:
    """The real files of ../shared ingested once per module and backend (read-only)."""
    from webbarchive.ingest import runner

    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("real") / "catalog.db")
    else:
        cluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database(f"real{next(_counter)}_{os.getpid()}")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(runner, "_update_pixel_index", lambda *a: None)
        runner.ingest_paths([str(real_dir)], db_url=url, workers=1, progress=False)
    return url
