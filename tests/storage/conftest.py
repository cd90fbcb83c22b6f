"""Object storage for the tests: a real S3-compatible server (moto in server
mode, on a free local port) and one mock archive catalogued twice, once from
the local folder and once from a bucket, so that every answer of the S3
variant can be held byte for byte against the local one.

The mock files are generated once per session and put in the bucket once (the
first ingest uploads them; a later one finds them there, unchanged); each
catalog backend (SQLite, PostgreSQL) then gets its pair of catalogs, once.
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path

import pytest

from tests.live_server import free_port

BUCKET = "archive-test"
PREFIX = "jwst/public"
ROOT = f"s3://{BUCKET}/{PREFIX}"
MOCK_SEED = 7


class Moto:
    """A moto S3 server that a test may stop and start again on the same port
    (its buckets live in this process, so they survive the restart)."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        self._factory = ThreadedMotoServer
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = None

    def start(self) -> Moto:
        for _ in range(50):  # the port may linger for a moment after a stop
            try:
                self.server = self._factory(ip_address="127.0.0.1", port=self.port, verbose=False)
                self.server.start()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"moto could not listen on {self.port} again")

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None


@pytest.fixture(scope="session")
def moto_s3():
    """A running moto S3 server; the AWS environment points at it for the session."""
    saved = {k: os.environ.get(k) for k in _AWS_ENV}
    server = Moto().start()
    os.environ.update(
        AWS_ENDPOINT_URL=server.url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        WEBBARCHIVE_STORAGE_TIMEOUT_S="2",
    )
    os.environ.pop("AWS_PROFILE", None)
    import boto3

    boto3.client("s3", endpoint_url=server.url, region_name="us-east-1").create_bucket(
        Bucket=BUCKET
    )
    yield server
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


_AWS_ENV = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "WEBBARCHIVE_STORAGE_TIMEOUT_S",
    "WEBBARCHIVE_STORAGE_CACHE",
)


@pytest.fixture(scope="session")
def storage_mock_dir(tmp_path_factory) -> Path:
    """The small mock archive with DJA mosaics (thumbnails need them)."""
    from webbarchive.mock import generate

    out = tmp_path_factory.mktemp("storage-mock")
    generate(out, seed=MOCK_SEED, scale="small", progress=False, dja_mosaics=True)
    return out


_databases = itertools.count()


def _catalog_urls(request, folder: Path) -> dict[str, str]:
    if request.param == "sqlite":
        return {"local": str(folder / "local.db"), "s3": str(folder / "s3.db")}
    cluster = request.getfixturevalue("pg_cluster")
    return {
        kind: cluster.create_database(f"storage_{kind}{next(_databases)}_{os.getpid()}")
        for kind in ("local", "s3")
    }


@pytest.fixture(scope="session")
def storage_cache_dir(moto_s3, tmp_path_factory) -> Path:
    """The folder of local copies of objects, for the whole session."""
    cache = tmp_path_factory.mktemp("s3-cache")
    os.environ["WEBBARCHIVE_STORAGE_CACHE"] = str(cache)
    return cache


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def storage_archives(
    request, moto_s3, storage_cache_dir, storage_mock_dir, tmp_path_factory
) -> dict[str, str]:
    """``{"local": url, "s3": url}`` on one backend: the same files catalogued
    in place and catalogued after ingest put them in the bucket."""
    from webbarchive.ingest.runner import ingest_paths

    urls = _catalog_urls(request, tmp_path_factory.mktemp("storage-archives"))
    ingest_paths([str(storage_mock_dir)], db_url=urls["local"], workers=2, progress=False)
    ingest_paths(
        [str(storage_mock_dir)], db_url=urls["s3"], workers=2, progress=False, storage=ROOT
    )
    return urls


@pytest.fixture(scope="session")
def storage_clients(storage_archives):
    """``{"local": TestClient, "s3": TestClient}`` on the two archives."""
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    clients = {
        kind: TestClient(create_app(Settings.from_env(db_url=url)))
        for kind, url in storage_archives.items()
    }
    for client in clients.values():
        client.__enter__()
    yield clients
    for client in clients.values():
        client.__exit__(None, None, None)


@pytest.fixture(scope="session")
def storage_backend(storage_archives) -> str:
    """ "sqlite" or "postgresql": the backend of this ``storage_archives``."""
    return "sqlite" if "://" not in storage_archives["local"] else "postgresql"
