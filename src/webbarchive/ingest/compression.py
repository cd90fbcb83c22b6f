"""Whole-file compression, recognised by content (magic bytes), never by name.

A FITS file may arrive gzip-, bzip2- or xz-compressed under any name (the MIRI i2d
files of program 1288 in ../shared are gzip streams named ``.fits``); astropy opens
all three by their first bytes, and so must ingest when it checks that the FITS
stream is complete. fpack tile compression is not whole-file compression: the file
is plain FITS (it starts with ``SIMPLE``) whose images are stored as compressed
binary tables, which astropy reads as ``CompImageHDU`` (see
:func:`webbarchive.ingest.reader.stored_span`).
"""

from __future__ import annotations

import bz2
import gzip
import lzma
from pathlib import Path

#: First bytes of each whole-file compression astropy reads, and its name.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
)
_OPENERS = {"gzip": gzip.open, "bzip2": bz2.open, "xz": lzma.open}
_CHUNK = 1 << 20


class CorruptStream(Exception):
    """The compressed stream cannot be decompressed to its end."""


def detect(path: Path) -> str | None:
    """``"gzip"``, ``"bzip2"``, ``"xz"`` from the file's first bytes, or None (uncompressed)."""
    with open(path, "rb") as handle:
        head = handle.read(8)
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return None


def stream_size(path: Path, compression: str) -> int:
    """Bytes of the decompressed stream (read through once); raise
    :class:`CorruptStream` when it is cut short or damaged."""
    total = 0
    try:
        with _OPENERS[compression](path, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                total += len(chunk)
    except (EOFError, OSError, lzma.LZMAError) as exc:
        raise CorruptStream(f"corrupt or truncated {compression} stream: {exc}") from None
    return total
