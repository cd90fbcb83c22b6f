"""Ingest from and into object storage.

- :func:`discover_remote`: the objects under ``s3://bucket/prefix`` arguments,
  sorted as :func:`~webbarchive.ingest.discover.discover` sorts files, with the
  size and modification time the listing gives (no HEAD per object).
- :func:`upload`: with a storage root set (``--storage s3://bucket/prefix``),
  the local candidates are put at ``<root>/<file name>`` (product names are
  unique in the catalog, as in MAST's bucket) and ingest records those
  locations. An object already there with the same size and MD5 (its ETag) is
  not sent again, so a re-run keeps its modification time and finds it unchanged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from webbarchive.ingest.discover import Discovery, is_candidate
from webbarchive.storage import FileStat, is_remote, open_storage


def discover_remote(paths: list[str], found: Discovery) -> dict[str, FileStat]:
    """Add the objects under the remote ``paths`` to ``found``; their stats by path."""
    stats: dict[str, FileStat] = {}
    for given in paths:
        listed = open_storage(given).list_files(given)
        if not listed:
            found.missing.append(given)
        for path, stat in listed:
            if path in stats:
                continue
            stats[path] = stat
            name = path.rsplit("/", 1)[-1]
            (found.candidates if is_candidate(name) else found.ignored).append(path)
    return stats


def split_paths(paths: list[str]) -> tuple[list[str], list[str]]:
    """(local, remote) arguments."""
    return [p for p in paths if not is_remote(p)], [p for p in paths if is_remote(p)]


def _md5(path: str) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def upload(
    candidates: list[str], root: str, progress: Callable[[int], None] | None = None
) -> tuple[list[str], dict[str, FileStat]]:
    """Put the local ``candidates`` under ``root``; (their remote paths in the
    same order, the stats of those objects)."""
    storage = open_storage(root)
    present = dict(storage.list_files(root + "/"))
    remote_paths = []
    for local in candidates:
        if is_remote(local):
            remote_paths.append(local)
            continue
        target = f"{root}/{Path(local).name}"
        there = present.get(target)
        if there is None or there.size != Path(local).stat().st_size or not _same(target, local):
            storage.put_file(local, target)
        remote_paths.append(target)
        if progress:
            progress(1)
    stats = {path: stat for path, stat in storage.list_files(root + "/") if path in remote_paths}
    return remote_paths, stats


def _same(target: str, local: str) -> bool:
    head = open_storage(target)._head(target) or {}
    return head.get("ETag", "").strip('"') == _md5(local)
