"""The local copy cache of S3 objects stays under its bound
(WEBBARCHIVE_STORAGE_CACHE_MB), evicts the least recently used copy first,
never deletes a copy this process holds open, mapped or pinned, and answers
stay right while it evicts (also with threads reading at once).

Truths: the bytes the test put in the bucket, the folder's listing (os.scandir
sizes), and the local archive's answers."""

from __future__ import annotations

import hashlib
import itertools
import mmap
import os
import random
import threading
from pathlib import Path

import boto3
import pytest

from tests.storage.conftest import BUCKET
from webbarchive.storage import cache as cache_module
from webbarchive.storage.s3 import S3Storage

OBJECT_BYTES = 100_000
BOUND = 350_000  # three copies fit, a fourth does not
_prefixes = itertools.count()


@pytest.fixture
def now_is_never_in_use(monkeypatch):
    """Copies count as in use only while pinned, open or mapped (no grace period)."""
    monkeypatch.setattr(cache_module, "IN_USE_S", 0.0)


@pytest.fixture
def objects(moto_s3) -> dict[str, bytes]:
    """Ten objects of random bytes under a fresh prefix: ``{uri: bytes}``."""
    prefix = f"cache/{next(_prefixes)}"
    s3 = boto3.client("s3", endpoint_url=moto_s3.url, region_name="us-east-1")
    rng = random.Random(16)
    out = {}
    for i in range(10):
        body = rng.randbytes(OBJECT_BYTES)
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/object{i}.fits", Body=body)
        out[f"s3://{BUCKET}/{prefix}/object{i}.fits"] = body
    return out


def _held(folder: Path) -> dict[str, int]:
    """Whole copies in the folder and their sizes (as a directory listing shows them)."""
    return {
        e.name: e.stat().st_size
        for e in os.scandir(folder)
        if e.is_file() and not e.name.startswith(".") and not e.name.endswith(".partial")
    }


def _storage(tmp_path: Path) -> S3Storage:
    return S3Storage(tmp_path / "cache", timeout_s=2.0, cache_bytes=BOUND)


def _read(storage: S3Storage, uri: str) -> bytes:
    with storage.cached(uri) as local:
        return local.read_bytes()


def test_the_cache_stays_under_its_bound_and_answers_stay_right(
    objects, tmp_path, now_is_never_in_use
):
    storage = _storage(tmp_path)
    for _ in range(3):
        for uri, body in objects.items():
            assert _read(storage, uri) == body
            assert sum(_held(storage.cache_root).values()) <= BOUND
    assert len(_held(storage.cache_root)) == 3


def test_the_least_recently_used_copy_goes_first(objects, tmp_path, now_is_never_in_use):
    storage = _storage(tmp_path)
    a, b, c, d, e = list(objects)[:5]
    names = {uri: uri.rsplit("/", 1)[-1] for uri in objects}

    def held() -> set[str]:
        return {n.split("-", 2)[2] for n in _held(storage.cache_root)}

    for uri in (a, b, c):
        _read(storage, uri)
    _read(storage, a)  # a is now more recent than b and c
    _read(storage, d)
    assert held() == {names[a], names[c], names[d]}  # b was the least recently used
    storage.readable_path(c)  # a use through the path counts too
    _read(storage, e)
    assert held() == {names[c], names[d], names[e]}


def test_a_copy_open_or_mapped_here_is_never_deleted(objects, tmp_path, now_is_never_in_use):
    storage = _storage(tmp_path)
    uris = list(objects)
    opened = storage.readable_path(uris[0])
    mapped_path = storage.readable_path(uris[1])
    handle = open(opened, "rb")  # noqa: SIM115 (held open across the reads below)
    with open(mapped_path, "rb") as source:
        mapped = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ)
    try:  # the mapping outlives its descriptor: /proc/self/maps holds it
        for uri in uris[2:]:
            assert _read(storage, uri) == objects[uri]
            assert opened.is_file() and mapped_path.is_file()
            held = _held(storage.cache_root)
            in_use = held[opened.name] + held[mapped_path.name]
            assert sum(held.values()) - in_use <= BOUND
        handle.seek(0)
        assert handle.read() == objects[uris[0]]
        assert mapped[:] == objects[uris[1]]
    finally:
        handle.close()
        mapped.close()
    for uri in uris[2:6]:  # closed and unmapped: ordinary copies again
        _read(storage, uri)
    assert not opened.exists() and not mapped_path.exists()
    assert sum(_held(storage.cache_root).values()) <= BOUND


def test_a_pinned_copy_is_kept_until_its_block_ends(objects, tmp_path, now_is_never_in_use):
    storage = _storage(tmp_path)
    uris = list(objects)
    with storage.cached(uris[0]) as pinned:
        for uri in uris[1:]:
            _read(storage, uri)
            assert pinned.is_file()
    for uri in uris[1:5]:
        _read(storage, uri)
    assert not pinned.exists()


def test_threads_reading_at_once_get_the_right_bytes(objects, tmp_path, now_is_never_in_use):
    storage = _storage(tmp_path)
    uris = list(objects)
    errors: list[str] = []

    def reader(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(25):
            uri = rng.choice(uris)
            try:
                with storage.cached(uri) as local:
                    with open(local, "rb") as handle:
                        got = handle.read()
                if got != objects[uri]:
                    errors.append(f"{uri}: wrong bytes")
            except Exception as exc:  # collected, reported below
                errors.append(f"{uri}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(_held(storage.cache_root).values()) <= BOUND


def test_retrieve_answers_stay_right_with_a_small_cache(
    storage_archives, storage_clients, tmp_path, now_is_never_in_use
):
    """The app over the S3 archive with a 0.5 MB cache: every spectral product
    retrieved in turn answers as the local archive does, the folder stays under
    its bound between requests (or holds just the one copy larger than it)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import select

    from webbarchive.api.app import create_app
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import products
    from webbarchive.config import Settings

    with open_catalog(storage_archives["s3"]).connect() as conn:
        names = sorted(
            r.filename
            for r in conn.execute(select(products.c.filename, products.c.suffix))
            if r.suffix in ("x1d", "s2d", "s3d")
        )
    assert len(names) >= 6
    folder = tmp_path / "small-cache"
    settings = Settings.from_env(
        db_url=storage_archives["s3"], storage_cache=str(folder), storage_cache_mb=0.5
    )
    local = storage_clients["local"]
    served = 0
    with TestClient(create_app(settings)) as client:
        for name in names + names[:3]:
            answer = client.get("/spectra/api/v0.1/retrieve", params={"uri": name})
            truth = local.get("/spectra/api/v0.1/retrieve", params={"uri": name})
            assert answer.status_code == truth.status_code  # 401: exclusive access
            served += answer.status_code == 200
            assert hashlib.md5(answer.content).digest() == hashlib.md5(truth.content).digest()
            held = _held(folder)  # a copy larger than the bound stays alone while used
            assert sum(held.values()) <= 500_000 or len(held) == 1, held
    assert served >= 6 and len(_held(folder)) >= 1
