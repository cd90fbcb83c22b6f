"""Finding the files to ingest under the paths given on the command line."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: Name endings ingest reads; anything else is counted as ignored. The name only
#: selects candidates: compression is recognised from the content
#: (:mod:`webbarchive.ingest.compression`), so a gzip stream named .fits is read.
FITS_ENDINGS = (".fits", ".fits.gz", ".fits.bz2", ".fits.xz", ".fits.fz")
CANDIDATE_ENDINGS = (*FITS_ENDINGS, "_asn.json")


def is_candidate(name: str) -> bool:
    lower = name.lower()
    return not lower.startswith(".") and lower.endswith(CANDIDATE_ENDINGS)


@dataclass
class Discovery:
    candidates: list[str] = field(default_factory=list)  # absolute paths, sorted per folder
    ignored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def discover(paths: list[str]) -> Discovery:
    """Walk files and folders (depth first, names sorted) and sort what is found."""
    found = Discovery()
    seen: set[str] = set()

    def add(path: Path) -> None:
        text = str(path.resolve())
        if text in seen:
            return
        seen.add(text)
        (found.candidates if is_candidate(path.name) else found.ignored).append(text)

    for given in paths:
        root = Path(given)
        if root.is_file():
            add(root)
        elif root.is_dir():
            for folder, dirs, files in os.walk(root):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    add(Path(folder) / name)
        else:
            found.missing.append(str(given))
    return found
