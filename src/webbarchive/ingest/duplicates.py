"""One file per product name: which file stands for a name that several files carry.

``products.filename`` is unique (as at MAST, whose URIs are
``mast:JWST/product/<filename>``). When the walked paths hold two files of the
same name with different content (or one such file besides the catalogued one,
which still exists elsewhere), the product is the file that wins, in this order:

1. the newest ``DATE`` (UTC date the pipeline wrote the file) in the primary header;
2. the newest pipeline version (``CAL_VER``);
3. a walked file ahead of the catalogued one that was not walked;
4. the first in path order (the paths in the order given, each walked depth first
   with names sorted).

The choice depends only on the files, so a re-run makes the same one and changes
nothing. Each such name is reported as a :class:`Conflict` naming every path; the
files that lose are not read. Identical copies (same checksum) are not a conflict,
and a file that cannot be ingested (truncated, not FITS ...) takes no part: it is read, and skipped with
its own reason.

Paths may name local files or objects (``s3://bucket/key``): every read goes
through the storage interface (one local copy per contender, read once for its
checksum and its header), so the same files give the same outcome wherever
they are stored.
"""

from __future__ import annotations

import re
import warnings
from collections import defaultdict
from dataclasses import dataclass

from astropy.io import fits
from astropy.time import Time

from webbarchive.ingest.reader import read_product
from webbarchive.storage import open_storage


@dataclass(frozen=True)
class Conflict:
    """Files carrying one product name with different content; ``kept`` is the product."""

    filename: str
    kept: str
    dropped: tuple[str, ...]
    reason: str  # which step of the rule decided

    def line(self) -> str:
        others = ", ".join(self.dropped)
        return (
            f"  conflict {self.filename}: kept {self.kept} ({self.reason}); not ingested: {others}"
        )


@dataclass(frozen=True)
class _Contender:
    path: str
    walked: bool
    order: int  # position in the walk (the catalogued file that was not walked: last)
    readable: bool
    date_mjd: float | None
    cal_ver: tuple[int, ...] | None
    checksum: str | None = None  # MD5 of the content (None: unreadable)

    def rank(self) -> tuple:
        """Larger is better (see the module docstring)."""
        return (
            self.date_mjd is not None, self.date_mjd or 0.0,
            self.cal_ver is not None, self.cal_ver or (),
            self.walked,
            -self.order,
        )  # fmt: skip


def name_of(path: str) -> str:
    """The file name of a local path or an object's key (``s3://bucket/a/b.fits``: b.fits)."""
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _contender(path: str, walked: bool, order: int) -> _Contender:
    storage = open_storage(path)
    with storage.local_file(path) as local:  # an object: one temporary copy, read twice
        read = read_product(str(local))  # verified as ingest will read it
        if read.skipped:
            return _Contender(path, walked, order, False, None, None)
        if path.lower().endswith(".json"):  # associations carry no DATE: path order decides
            return _Contender(path, walked, order, True, None, None, read.checksum)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                header = fits.getheader(local)
        except Exception:  # unreadable: its own reason is given if it is ever read
            return _Contender(path, walked, order, False, None, None)
    date_mjd = None
    try:
        date_mjd = float(Time(str(header["DATE"]).strip(), scale="utc").mjd)
    except Exception:  # absent or not a date
        pass
    digits = re.findall(r"\d+", str(header.get("CAL_VER", "")))
    cal_ver = tuple(int(d) for d in digits) if digits else None
    return _Contender(path, walked, order, True, date_mjd, cal_ver, read.checksum)


def _reason(best: _Contender, runner_up: _Contender) -> str:
    if best.date_mjd != runner_up.date_mjd:
        return "newest DATE"
    if best.cal_ver != runner_up.cal_ver:
        return "newest CAL_VER"
    if best.walked != runner_up.walked:
        return "walked, the catalogued file was not"
    return "first in path order"


def resolve(candidates: list[str], catalogued: dict[str, str]) -> tuple[list[str], list[Conflict]]:
    """The candidates to read (walk order kept) and the conflicts found.

    ``catalogued`` maps a catalogued ``filename`` to its ``path``.
    """
    by_name: dict[str, list[int]] = defaultdict(list)
    for index, path in enumerate(candidates):
        by_name[name_of(path)].append(index)
    dropped: set[int] = set()
    conflicts = []
    for name, indexes in by_name.items():
        walked = [candidates[i] for i in indexes]
        other = catalogued.get(name)
        extra = (
            [other] if other and other not in walked and open_storage(other).exists(other) else []
        )
        if len(walked) + len(extra) < 2:
            continue
        contenders = [_contender(p, True, i) for p, i in zip(walked, indexes, strict=True)]
        contenders += [_contender(p, False, len(candidates)) for p in extra]
        contenders = [c for c in contenders if c.readable]
        sums = {c.path: c.checksum for c in contenders}
        if len(set(sums.values())) < 2:
            continue  # copies of one file: the writer keeps the catalogued one
        ranked = sorted(contenders, key=_Contender.rank, reverse=True)
        best = ranked[0]
        runner_up = next(c for c in ranked if sums[c.path] != sums[best.path])
        losers = [c for c in contenders if sums[c.path] != sums[best.path]]
        dropped.update(c.order for c in losers if c.walked)
        conflicts.append(
            Conflict(name, best.path, tuple(c.path for c in losers), _reason(best, runner_up))
        )
    kept = [path for index, path in enumerate(candidates) if index not in dropped]
    return kept, sorted(conflicts, key=lambda c: c.filename)
