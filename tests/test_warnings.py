"""No warning from our own code at install, import, serve or on future dates.

Each check runs where a user meets the warning: a fresh interpreter with
``-W error`` (so any warning fails it), the real ``webbarchive serve`` over a
real catalog, and the package metadata that setuptools reads at install.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tomllib
import warnings
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np

from tests.live_server import free_port
from webbarchive.api.admin import parse_release
from webbarchive.api.errors import JsonResponse
from webbarchive.catalog.db import open_catalog
from webbarchive.times import iso_of_mjd, mjd_of_iso

REPO = Path(__file__).resolve().parent.parent
MJD_EPOCH = datetime(1858, 11, 17)


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_app_import_and_openapi_raise_no_warning(tmp_path):
    code = f"""
from webbarchive.api.app import create_app
from webbarchive.config import Settings
app = create_app(Settings.from_env(db_url={str(tmp_path / "c.db")!r}))
ids = [op["operationId"] for path in app.openapi()["paths"].values() for op in path.values()]
assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
print(len(ids))
"""
    run = _python(code)
    assert run.returncode == 0 and run.stderr == "", run.stderr[-3000:]
    assert int(run.stdout) > 70


def test_pysiaf_is_imported_quietly_and_offline():
    code = """
import logging, requests
logging.basicConfig(level=logging.DEBUG)
calls = []
requests.get = lambda *a, **k: calls.append(a)  # webbarchive's import must not get here
from webbarchive.dja.spectra.geometry import Pointing
ra, dec = Pointing(10.0, 20.0, 30.0, 0.0, 0.0).sky([0.0], [0.0])
assert abs(ra[0] - 10.0) < 1e-9 and abs(dec[0] - 20.0) < 1e-9
assert calls == [], calls
"""
    run = _python(code)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "PRD" not in run.stderr and "WARNING" not in run.stderr, run.stderr[-3000:]


def test_serve_starts_without_a_warning(tmp_path):
    db = str(tmp_path / "catalog.db")
    open_catalog(db).dispose()
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-W", "error", "-m", "webbarchive", "serve", "--db", db,
         "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                reply = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.2)
        assert reply.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/viz/api/v0.1/info/mnemonics").json() == {
            "data": []
        }
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "Warning" not in err and "WARNING" not in err, err


def _mjd(moment: datetime) -> float:
    return (moment - MJD_EPOCH) / timedelta(days=1)


def test_future_release_dates_convert_without_erfa_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_release("2040-01-01") == _mjd(datetime(2040, 1, 1))
        assert parse_release("2132-08-31T12:00:00") == _mjd(datetime(2132, 8, 31, 12))
        assert mjd_of_iso("2040-01-01T00:00:00Z") == _mjd(datetime(2040, 1, 1))
        assert iso_of_mjd(99999.0) == (MJD_EPOCH + timedelta(days=99999)).isoformat() + ".000"


def test_json_response_renders_numpy_and_integers_beyond_64_bits():
    assert JsonResponse({"a": np.float32(1.5), 1: np.arange(2)}).body == b'{"a":1.5,"1":[0,1]}'
    assert JsonResponse({"id": 2**70}).body == b'{"id":1180591620717411303424}'
    assert JsonResponse({}).media_type == "application/json"


def test_license_is_an_spdx_string_for_setuptools_77():
    """setuptools >= 77 deprecates ``license = {text = ...}`` with a warning at
    every install; the SPDX string needs setuptools >= 77 to build."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "BSD-3-Clause"
    assert "setuptools>=77" in pyproject["build-system"]["requires"]
    assert not any("License ::" in c for c in pyproject["project"].get("classifiers", []))
