"""Where the suite finds the real JWST files, and what "complete" means.

The real files (about 21 MB of public JWST products, MSA metafiles, DJA tables
and recorded astroquery responses) are never copied into the repository.
``tests/data/manifest.csv`` lists them: relative path, size in bytes, md5, and
the public URL of the exact bytes (a GitHub raw URL pinned to a commit).
``make test-data`` (``scripts/fetch_test_data.py``) downloads them with
checksum verification into ``tests/data/real`` (git-ignored).

The tests look, in this order, in

1. ``../shared/data/real`` beside the repository (``WEBBARCHIVE_SHARED``
   overrides ``../shared``);
2. ``tests/data/real`` (``WEBBARCHIVE_TEST_DATA`` overrides it).

A folder counts when every downloadable file of the manifest is there with the
manifest's size. The MAST documentation examples (rows with no URL) were
transcribed from a MAST documentation page and come only with ``../shared``;
the tests that compare against them look for them on their own.

Standard library only: ``scripts/fetch_test_data.py`` imports this module
before any environment is built.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "tests" / "data" / "manifest.csv"
SHARED = Path(os.environ.get("WEBBARCHIVE_SHARED", REPO.parent / "shared"))
DOWNLOADED = Path(os.environ.get("WEBBARCHIVE_TEST_DATA", REPO / "tests" / "data" / "real"))
#: where MAST's documented example responses live inside a real-files folder
DOC_EXAMPLES = Path("mast") / "mast_viz_api_doc_examples"

HOW_TO_GET = "run `make test-data` to download them (checksums verified)"


@dataclass(frozen=True)
class Entry:
    """One real file: where it goes (relative), its size in bytes and md5, and
    the URL of its exact bytes ('' when it has no public download)."""

    path: str
    size: int
    md5: str
    url: str
    source: str


def manifest() -> list[Entry]:
    with MANIFEST.open(newline="") as f:
        return [
            Entry(row["path"], int(row["size"]), row["md5"], row["url"], row["source"])
            for row in csv.DictReader(f)
        ]


def downloadable() -> list[Entry]:
    return [e for e in manifest() if e.url]


def locations() -> list[Path]:
    """The folders the tests look in, first one first."""
    return [SHARED / "data" / "real", DOWNLOADED]


def missing(folder: Path, entries: list[Entry]) -> list[Entry]:
    """Entries absent from ``folder`` or of another size (a cheap check: the
    download verifies md5 once; the tests only stat)."""
    out = []
    for entry in entries:
        path = folder / entry.path
        if not path.is_file() or path.stat().st_size != entry.size:
            out.append(entry)
    return out


def real_dir() -> Path | None:
    """The first location holding every downloadable real file, or None."""
    wanted = downloadable()
    for folder in locations():
        if folder.is_dir() and not missing(folder, wanted):
            return folder
    return None


def doc_examples_dir() -> Path | None:
    """The folder of MAST's documented example responses, or None."""
    wanted = [e for e in manifest() if not e.url]
    for folder in locations():
        if folder.is_dir() and not missing(folder, wanted):
            return folder / DOC_EXAMPLES
    return None


def skip_reason() -> str:
    """Why a test that needs the real files skips, and how to get them."""
    where = " or ".join(str(p) for p in locations())
    count = len(downloadable())
    return f"needs the {count} real JWST test files (not found complete in {where}): {HOW_TO_GET}"


def doc_examples_skip_reason() -> str:
    return (
        "needs MAST's documented example responses "
        f"({SHARED / 'data' / 'real' / DOC_EXAMPLES}): transcribed from the MAST page "
        "'API for JWST Metadata', they have no download and come only with ../shared "
        "beside the repository (or WEBBARCHIVE_SHARED naming a copy)"
    )
