"""Ingest tests: a catalog of the real files per backend (module scope), and the
end-of-run hooks of other capabilities (pixel search, DJA) switched off: they
are tested by their owners and would dominate the run time.
``test_pixel_hook_is_called`` checks that the pixel hook is called."""

from __future__ import annotations

import itertools
import os

import pytest

_counter = itertools.count()


#: The hook through which ingest runs each capability's step at the end of a run
#: (:data:`webbarchive.capabilities.CAPABILITIES`).
HOOKS = ("_post_ingest",)


def _stub_hooks(mp) -> None:
    from webbarchive.ingest import runner

    for name in HOOKS:
        assert hasattr(runner, name), f"ingest has no hook {name}: update HOOKS"
        mp.setattr(runner, name, lambda *a, **k: None)


@pytest.fixture(autouse=True)
def _no_other_capabilities(request, monkeypatch):
    if not request.node.name.startswith("test_pixel_hook"):
        _stub_hooks(monkeypatch)


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
        _stub_hooks(mp)
        runner.ingest_paths([str(real_dir)], db_url=url, workers=1, progress=False)
    return url
