"""Download the real JWST test files listed in tests/data/manifest.csv (``make test-data``).

Each file is fetched from its pinned public URL into a temporary name, checked
against the manifest's size and md5, and only then moved into place, so an
interrupted or tampered download never counts. Files already present with the
right checksum are kept. Standard library only (urllib): it runs before any
environment is built.

Exit status: 0 when every downloadable file is in place, 1 when some could not
be fetched or failed verification (each one is named), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests import real_files  # noqa: E402

TIMEOUT_S = 60.0
CHUNK_BYTES = 1 << 20
LFS_POINTER = b"version https://git-lfs"


class Mismatch(Exception):
    """Downloaded bytes that are not the manifest's file."""


def md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verified(path: Path, entry: real_files.Entry) -> bool:
    return path.is_file() and path.stat().st_size == entry.size and md5_of(path) == entry.md5


def _download(url: str, target: Path, timeout_s: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "webbarchive-test-data"})
    with urllib.request.urlopen(request, timeout=timeout_s) as reply, target.open("wb") as out:
        for chunk in iter(lambda: reply.read(CHUNK_BYTES), b""):
            out.write(chunk)


def _lfs_url(url: str) -> str | None:
    """GitHub serves a Git LFS pointer at raw URLs of LFS-tracked files; the
    bytes are under media.githubusercontent.com with the same path."""
    prefix = "https://raw.githubusercontent.com/"
    if not url.startswith(prefix):
        return None
    return "https://media.githubusercontent.com/media/" + url[len(prefix) :]


def fetch(entry: real_files.Entry, dest: Path, timeout_s: float = TIMEOUT_S) -> None:
    """Put ``entry`` at ``dest / entry.path``, verified; raise OSError (network)
    or Mismatch (wrong bytes), leaving nothing half-written behind."""
    target = dest / entry.path
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    try:
        _download(entry.url, partial, timeout_s)
        if partial.stat().st_size < 1024 and partial.read_bytes().startswith(LFS_POINTER):
            lfs = _lfs_url(entry.url)
            if lfs is not None:
                _download(lfs, partial, timeout_s)
        if not verified(partial, entry):
            size = partial.stat().st_size
            raise Mismatch(
                f"got {size} bytes with md5 {md5_of(partial)}, "
                f"expected {entry.size} bytes with md5 {entry.md5}"
            )
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def run(dest: Path, force: bool = False, timeout_s: float = TIMEOUT_S) -> int:
    entries = real_files.downloadable()
    found = real_files.real_dir()
    if found is not None and found != dest and not force:
        print(f"the tests already find all {len(entries)} real files in {found}; nothing to fetch")
        return 0
    failures: list[str] = []
    fetched = kept = 0
    for entry in entries:
        if verified(dest / entry.path, entry):
            kept += 1
            continue
        try:
            fetch(entry, dest, timeout_s)
            fetched += 1
            print(f"fetched {entry.path} ({entry.size} bytes, md5 ok)")
        except (OSError, urllib.error.URLError) as exc:
            failures.append(f"{entry.path}: could not download {entry.url}: {exc}")
        except Mismatch as exc:
            failures.append(f"{entry.path}: wrong bytes from {entry.url}: {exc}")
    print(f"{fetched} fetched, {kept} already in place, {len(failures)} failed, in {dest}")
    for line in failures:
        print("  " + line, file=sys.stderr)
    if failures:
        print(
            "the tests that need the real files will skip until every file is in place; "
            "run `make test-data` again when the network allows",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dest",
        type=Path,
        default=real_files.DOWNLOADED,
        help=f"folder to fill (default: {real_files.DOWNLOADED}, where the tests look "
        "after ../shared/data/real)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="download even when ../shared/data/real already holds every file",
    )
    parser.add_argument(
        "--timeout", type=float, default=TIMEOUT_S, help="seconds per request (default: 60)"
    )
    args = parser.parse_args(argv)
    return run(args.dest, force=args.force, timeout_s=args.timeout)


if __name__ == "__main__":
    sys.exit(main())
