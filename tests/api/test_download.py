"""Downloads (/api/v0.1/Download/file) against the bytes of real JWST files.

Truths: hashlib's md5 of the file, Python slices of the file's bytes for every
range form, RFC 9110's rules for 206/416/304/412, and the real astroquery
downloading from a live uvicorn server.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import textwrap
from email.utils import formatdate
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from tests.live_server import uvicorn_thread
from tests.rows import add_file_product

from webbarchive.api.app import create_app
from webbarchive.catalog.db import open_catalog
from webbarchive.config import Settings

X1D = "jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
S2D = "jw02736-o007_s06355_nirspec_f290lp-g395m_s2d.fits"
GONE = "jw02736-o007_s09999_nirspec_f290lp-g395m_x1d.fits"
SECRET = "jw09999-o001_s00001_nirspec_clear-prism_x1d.fits"
FUTURE_MJD = 99999.0
PATHS = ("/api/v0.1/Download/file", "/jwst/api/v0.1/Download/file")


def _add(conn, obs_id: str, filename: str, path: Path, **extra) -> None:
    add_file_product(conn, obs_id, filename, path, **extra)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, real_dir, tmp_path_factory) -> dict:
    """A catalog of real files (in place) plus a vanished file and an
    exclusive-access copy, on each backend."""
    tmp = tmp_path_factory.mktemp("download")
    if request.param == "sqlite":
        url = str(tmp / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(f"dl_{os.getpid()}")
    spectra = real_dir / "spectra"
    gone = tmp / GONE
    shutil.copy(spectra / X1D, gone)
    secret = tmp / SECRET
    shutil.copy(spectra / X1D, secret)
    engine = open_catalog(url)
    with engine.begin() as conn:
        _add(conn, "jw02736-o007_s06355_nirspec_f290lp-g395m", X1D, spectra / X1D)
        _add(conn, "jw02736-o007_s06355_nirspec_f290lp-g395m-s2d", S2D, spectra / S2D)
        _add(conn, "jw02736-o007_s09999_nirspec_f290lp-g395m", GONE, gone)
        _add(
            conn,
            "jw09999-o001_s00001_nirspec_clear-prism",
            SECRET,
            secret,
            proposal_id="9999",
            publicReleaseDate_mjd=FUTURE_MJD,
        )
    engine.dispose()
    gone.unlink()  # the catalog row stays, the file is gone
    return {"url": url, "x1d": spectra / X1D, "s2d": spectra / S2D}


@pytest.fixture(scope="module")
def client(archive):
    with TestClient(create_app(Settings.from_env(db_url=archive["url"]))) as test_client:
        yield test_client


def _get(client, uri: str = X1D, path: str = PATHS[0], **headers):
    return client.get(path, params={"uri": uri}, headers=headers)


@pytest.mark.parametrize("path", PATHS)
def test_full_download_is_the_file(client, archive, path):
    data = archive["x1d"].read_bytes()
    md5 = hashlib.md5(data).hexdigest()
    r = _get(client, f"mast:JWST/product/{X1D}", path)
    assert r.status_code == 200
    assert r.content == data
    assert int(r.headers["content-length"]) == len(data)
    assert r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-type"] == "application/fits"
    assert r.headers["etag"] == f'"{md5}"'
    assert r.headers["x-checksum-md5"] == md5
    assert base64.b64decode(r.headers["content-md5"]) == hashlib.md5(data).digest()
    assert f'filename="{X1D}"' in r.headers["content-disposition"]
    assert r.headers["content-disposition"].startswith("attachment")
    mtime = int(archive["x1d"].stat().st_mtime)
    assert r.headers["last-modified"] == formatdate(mtime, usegmt=True)


def test_head_has_the_get_headers_and_no_body(client, archive):
    get = _get(client)
    head = client.head(PATHS[0], params={"uri": f"mast:JWST/product/{X1D}"})
    assert head.status_code == 200
    assert head.content == b""
    for name in (
        "content-length",
        "accept-ranges",
        "etag",
        "content-type",
        "last-modified",
        "content-disposition",
        "x-checksum-md5",
        "content-md5",
    ):
        assert head.headers[name] == get.headers[name], name


def test_astroquery_quoting_and_bundle_name(client, archive):
    from urllib.parse import quote

    data = archive["x1d"].read_bytes()
    quoted = quote(f"mast:JWST/product/{X1D}", safe=":/")
    r = client.get(f"{PATHS[1]}?bundle_name=MAST_2023-01-25T1259.sh&uri={quoted}")
    assert r.status_code == 200 and r.content == data
    r = client.get(f"{PATHS[0]}?uri={quote(f'mast:JWST/product/{X1D}', safe='')}")
    assert r.status_code == 200 and r.content == data


@pytest.mark.parametrize(
    "spec, first, last",
    [
        ("bytes=0-0", 0, 0),
        ("bytes=100-2979", 100, 2979),
        ("bytes=2880-", 2880, None),
        ("bytes=-1000", -1000, None),
        ("bytes=200000-999999999", 200000, None),  # last clamped to the end
        ("bytes=-999999999", 0, None),  # suffix longer than the file: whole file
        (" bytes = 5 - 9 ", 5, 9),
    ],
)
def test_single_range_is_a_206_slice(client, archive, spec, first, last):
    data = archive["x1d"].read_bytes()
    size = len(data)
    expected = data[first : (None if last is None else last + 1)]
    r = _get(client, Range=spec)
    assert r.status_code == 206
    assert r.content == expected
    start = first if first >= 0 else size + first
    assert r.headers["content-range"] == f"bytes {start}-{start + len(expected) - 1}/{size}"
    assert int(r.headers["content-length"]) == len(expected)
    assert "content-md5" not in r.headers  # it would describe the whole file, not this body
    assert r.headers["x-checksum-md5"] == hashlib.md5(data).hexdigest()


def test_resume_like_astroquery(client, archive):
    """astroquery (PR #3448) appends the 206 body to what it has: the result
    must be the file, byte for byte."""
    data = archive["s2d"].read_bytes()
    have = data[:123457]
    r = _get(client, S2D, Range=f"bytes={len(have)}-{len(data) - 1}")
    assert r.status_code == 206
    assert hashlib.md5(have + r.content).hexdigest() == hashlib.md5(data).hexdigest()


@pytest.mark.parametrize(
    "spec",
    ["bytes=250560-", "bytes=999999999-", "bytes=-0", "bytes=250560-250570"],
)
def test_unsatisfiable_range_is_416(client, archive, spec):
    size = archive["x1d"].stat().st_size
    assert size == 250560  # the spec list above is written for this file
    r = _get(client, Range=spec)
    assert r.status_code == 416
    assert r.headers["content-range"] == f"bytes */{size}"
    assert r.json()["error"] == 416 and "bytes=" in str(r.json()["accepted"])


@pytest.mark.parametrize(
    "spec", ["bytes=abc", "bytes=5", "bytes=9-5", "bytes=-", "bytes=", "bytes=1-2-3", "bytes=0x10-"]
)
def test_malformed_byte_range_is_416_json(client, archive, spec):
    r = _get(client, Range=spec)
    assert r.status_code == 416
    assert "Range" in r.json()["message"]
    assert r.headers["content-range"] == f"bytes */{archive['x1d'].stat().st_size}"


@pytest.mark.parametrize("spec", ["bytes=0-9,20-29", "items=0-9", "garbage"])
def test_multi_range_and_other_units_get_the_whole_file(client, archive, spec):
    r = _get(client, Range=spec)
    assert r.status_code == 200
    assert r.content == archive["x1d"].read_bytes()


def test_conditional_requests(client, archive):
    data = archive["x1d"].read_bytes()
    etag = f'"{hashlib.md5(data).hexdigest()}"'
    last_modified = _get(client).headers["last-modified"]

    r = _get(client, **{"If-None-Match": etag})
    assert r.status_code == 304 and r.content == b"" and r.headers["etag"] == etag
    assert _get(client, **{"If-None-Match": f'"x", W/{etag}'}).status_code == 304
    assert _get(client, **{"If-None-Match": "*"}).status_code == 304
    assert _get(client, **{"If-None-Match": '"other"'}).status_code == 200
    assert _get(client, **{"If-Modified-Since": last_modified}).status_code == 304
    assert _get(client, **{"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"}).status_code == 200
    assert _get(client, **{"If-Modified-Since": "not a date"}).status_code == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3)
    r = _get(client, **{"If-None-Match": '"other"', "If-Modified-Since": last_modified})
    assert r.status_code == 200

    assert _get(client, **{"If-Match": '"other"'}).status_code == 412
    assert _get(client, **{"If-Match": etag}).status_code == 200
    assert _get(client, **{"If-Match": f"W/{etag}"}).status_code == 412  # strong comparison
    old = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert _get(client, **{"If-Unmodified-Since": old}).status_code == 412

    # If-Range: the range only while the representation is unchanged
    r = _get(client, Range="bytes=0-9", **{"If-Range": etag})
    assert r.status_code == 206 and r.content == data[:10]
    r = _get(client, Range="bytes=0-9", **{"If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == data
    r = _get(client, Range="bytes=0-9", **{"If-Range": last_modified})
    assert r.status_code == 206
    r = _get(client, Range="bytes=0-9", **{"If-Range": old})
    assert r.status_code == 200


def test_head_ignores_range(client, archive):
    r = client.head(PATHS[0], params={"uri": X1D}, headers={"Range": "bytes=0-9"})
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == archive["x1d"].stat().st_size


def test_errors_are_json(client):
    r = _get(client, "jw00000-o000_t000_nothing_x1d.fits")
    assert r.status_code == 404 and "jw00000" in r.json()["message"]

    r = _get(client, GONE)
    assert r.status_code == 404
    assert "missing from storage" in r.json()["message"]
    assert client.head(PATHS[0], params={"uri": GONE}).status_code == 404

    for bad in ("", "   ", "mast:HST/product/x.fits", "../etc/passwd", "a/b.fits", ".."):
        r = _get(client, bad)
        assert r.status_code == 400, bad
        assert r.json()["accepted"]
    r = client.get(PATHS[0])
    assert r.status_code == 400 and "uri" in r.json()["message"]


def test_exclusive_access_needs_a_token(client):
    r = _get(client, SECRET)
    assert r.status_code == 401
    assert "exclusive access" in r.json()["message"]
    assert client.head(PATHS[0], params={"uri": SECRET}).status_code == 401
    assert _get(client, SECRET, Range="bytes=0-9").status_code == 401


GARBAGE = [
    "\x00",
    "%00",
    "mast:JWST/product/",
    "mast:JWST/product/\u2603.fits",
    "x" * 5000,
    "'; DROP TABLE products; --",
    "mast:JWST/product/%2e%2e",
]
RAW_QUERIES = ["uri=%ff%fe.fits", "uri=%ED%A0%80", "uri=a&uri=b", "uri", "uri=%", "uri=%zz"]


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_never_500(client, value):
    for params in ({"uri": value}, {"uri": X1D, "bundle_name": value}):
        r = client.get(PATHS[0], params=params)
        assert r.status_code < 500, (params, r.text)
    for header in ("Range", "If-Range", "If-None-Match", "If-Match", "If-Modified-Since"):
        safe = value.encode("utf-8", "replace")[:200]  # raw bytes on the wire
        r = client.get(PATHS[0], params={"uri": X1D}, headers={header: safe})
        assert r.status_code in (200, 206, 304, 412, 416), (header, value, r.text)


@pytest.mark.parametrize("query", RAW_QUERIES)
def test_raw_garbage_queries_never_500(client, query):
    for path in PATHS:
        assert client.get(f"{path}?{query}").status_code < 500
        assert client.head(f"{path}?{query}").status_code < 500


# --- the real astroquery against a live server --------------------------------------


@pytest.fixture(scope="module")
def live_server(archive):

    if archive["url"].startswith("postgresql"):
        pytest.skip("one live astroquery run is enough: it runs on the SQLite catalog")
    app = create_app(Settings.from_env(db_url=archive["url"]))
    with uvicorn_thread(app, timeout_graceful_shutdown=1) as base:
        yield base


@pytest.mark.slow
def test_astroquery_download_file(live_server, archive, tmp_path):
    """Observations.download_file (HEAD, then GET) writes the file intact."""
    config = tmp_path / "xdg" / "astropy"
    config.mkdir(parents=True)
    (config / "astroquery.cfg").write_text(f"[mast]\nserver = {live_server}\n")
    script = textwrap.dedent(
        f"""
        from astroquery.mast import Observations
        status, msg, url = Observations.download_file(
            "mast:JWST/product/{S2D}", local_path="out.fits", cache=False)
        print("STATUS", status, msg)
        """
    )
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "xdg")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "STATUS COMPLETE None" in done.stdout, done.stdout + done.stderr
    assert f"{live_server}/api/v0.1/Download/file?uri=mast:JWST/product/{S2D}" in done.stdout
    got = (tmp_path / "out.fits").read_bytes()
    assert hashlib.md5(got).hexdigest() == hashlib.md5(archive["s2d"].read_bytes()).hexdigest()
