"""Checking the pixel store against the catalog: :func:`verify` (``webbarchive verify``).

The catalog is the truth: ``pixel_segments`` lists the live segment files and
``spectral_characteristics`` says which segment holds each spectrum. A writer
that dies between writing a file and listing it (killed, full disk, or two
writers at once before the writer lock existed) leaves files that nothing
lists: **orphans**, invisible to searches but taking space. Files deleted or
truncated behind the catalog's back leave **missing** or **drifted** segments:
listed, but absent, unreadable, or holding another number of pixels than the
catalog says; a search through them would fail or be wrong.

``repair=True`` deletes the orphans and marks the spectra of missing or drifted
segments for re-extraction (their rows go, so the next ingest's
:func:`webbarchive.pixels.index.update` extracts them again from their files).
Everything runs under the catalog's writer lock, so a segment being written by
a running ingest is never mistaken for an orphan.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow.parquet as pq
from sqlalchemy import Engine, delete, func, inspect, select

from webbarchive.catalog.schema import products
from webbarchive.catalog.writer_lock import holding_writer_lock
from webbarchive.pixels.extract import PIXEL_KINDS
from webbarchive.pixels.store import PixelStore, pixels_root
from webbarchive.pixels.tables import (
    pixel_retired,
    pixel_segment_files,
    pixel_segments,
    spectral_characteristics,
)


@dataclass
class VerifyReport:
    """What :func:`verify` found (segment names relative to the store's root)."""

    root: str
    segments: int = 0  # listed in the catalog
    orphans: list[str] = field(default_factory=list)  # files no catalog row lists
    missing: list[str] = field(default_factory=list)  # listed, no file
    drifted: list[tuple[str, str]] = field(default_factory=list)  # (segment, what differs)
    dangling: int = 0  # spectra whose segment is not listed
    pending: int = 0  # spectral products not (yet) in the store, for information
    repaired: bool = False
    orphan_bytes: int = 0
    marked: int = 0  # spectra marked for re-extraction by the repair
    # deep checks (``webbarchive pixels verify``)
    deep: bool = False
    retired: int = 0  # unlisted files kept for readers (grace period), not orphans
    checksummed: int = 0  # segments whose file checksum was recomputed and matched
    unchecked: int = 0  # segments with no recorded checksum (written before they were)
    # (product_id, segment, pixels the segment holds, pixels the catalog says)
    products_drifted: list[tuple[int, str, int, int]] = field(default_factory=list)
    unindexed: list[int] = field(default_factory=list)  # spectral products without pixels

    @property
    def consistent(self) -> bool:
        return not (
            self.orphans
            or self.missing
            or self.drifted
            or self.dangling
            or self.products_drifted
            or (self.deep and self.unindexed)
        )

    def summary(self) -> str:
        lines = [
            f"pixel store {self.root}: {self.segments} segments listed; "
            f"{len(self.orphans)} orphan files ({self.orphan_bytes / 1e6:.1f} MB), "
            f"{len(self.missing)} missing, {len(self.drifted)} with counts that drifted, "
            f"{self.dangling} spectra pointing at no segment; {self.pending} spectral "
            "products not in the store (the next ingest extracts them)"
        ]
        if self.deep:
            lines.append(
                f"deep check: {self.checksummed} segment checksums match, {self.unchecked} "
                f"segments without a recorded checksum, {self.retired} retired files waiting "
                f"out their grace period; {len(self.products_drifted)} spectra whose pixel "
                f"count differs from the catalog's, {len(self.unindexed)} spectral products "
                "with no pixels in the store"
            )
            lines += [
                f"  product {pid} in {segment}: the segment holds {held} pixels, the catalog {npix}"
                for pid, segment, held, npix in self.products_drifted[:50]
            ]
            lines += [f"  product {pid}: no pixels in the store" for pid in self.unindexed[:50]]
        lines += [f"  orphan {name}" for name in self.orphans]
        lines += [f"  missing {name}" for name in self.missing]
        lines += [f"  drifted {name}: {what}" for name, what in self.drifted]
        if self.repaired:
            lines.append(
                f"repaired: {len(self.orphans)} orphan files removed, {self.marked} spectra "
                "marked for re-extraction (the next ingest rebuilds them)"
            )
        elif not self.consistent:
            lines.append("run 'webbarchive verify --repair' to remove orphans and mark the rest")
        return "\n".join(lines)


def _known(conn) -> set[str]:
    """Segments listed, and retired ones whose files wait out their grace period."""
    listed = set(conn.execute(select(pixel_segments.c.segment)).scalars())
    if inspect(conn).has_table(pixel_retired.name):
        listed |= set(conn.execute(select(pixel_retired.c.segment)).scalars())
    return listed


def remove_orphans(engine: Engine, store: PixelStore) -> list[str]:
    """Delete the files under the store's root that ``pixel_segments`` does not list
    (nor ``pixel_retired``); only safe under the writer lock (the pixel index
    update calls it first)."""
    with engine.connect() as conn:
        listed = _known(conn)
    orphans = sorted(set(store.files.listing()) - listed)
    for name in orphans:
        store.delete(name)
    return orphans


@holding_writer_lock
def verify(engine: Engine, repair: bool = False, deep: bool = False) -> VerifyReport:
    """Check the pixel store of the catalog behind ``engine``; repair it if asked.

    ``deep`` (``webbarchive pixels verify``) also recomputes each segment file's
    SHA-256 against the one recorded when it was written, counts every
    spectrum's pixels in its segment against the catalog's ``npix``, and counts
    spectral products with no pixels in the store (not extracted, or their rows
    lost) as drift."""
    store = PixelStore(pixels_root(engine))
    report = VerifyReport(str(store.root), deep=deep)
    with engine.connect() as conn:
        retired = set()
        checksums: dict[str, str] = {}
        if inspect(conn).has_table(pixel_retired.name):
            retired = set(conn.execute(select(pixel_retired.c.segment)).scalars())
            checksums = dict(
                conn.execute(
                    select(pixel_segment_files.c.segment, pixel_segment_files.c.sha256)
                ).all()
            )
        per_product: dict[str, list[tuple[int, int]]] = {}
        if deep:
            for pid, segment, npix in conn.execute(
                select(
                    spectral_characteristics.c.product_id,
                    spectral_characteristics.c.segment,
                    spectral_characteristics.c.npix,
                )
            ):
                per_product.setdefault(segment, []).append((int(pid), int(npix)))
        listed = dict(conn.execute(select(pixel_segments.c.segment, pixel_segments.c.nrows)).all())
        held = dict(
            conn.execute(
                select(spectral_characteristics.c.segment, func.sum(spectral_characteristics.c.npix))
                .group_by(spectral_characteristics.c.segment)
            ).all()
        )  # fmt: skip
        report.unindexed = conn.execute(
            select(products.c.product_id)
            .select_from(products)
            .outerjoin(
                spectral_characteristics,
                spectral_characteristics.c.product_id == products.c.product_id,
            )
            .where(
                products.c.suffix.in_(sorted(PIXEL_KINDS)),
                (spectral_characteristics.c.checksum.is_(None))
                | (spectral_characteristics.c.checksum != products.c.checksum),
            )
            .order_by(products.c.product_id)
        ).scalars().all()  # fmt: skip
        report.pending = len(report.unindexed)
    files = store.files.listing()
    report.segments = len(listed)
    report.retired = len(retired & set(files))
    report.orphans = sorted(set(files) - set(listed) - retired)
    report.orphan_bytes = sum(files[name] for name in report.orphans)
    report.missing = sorted(set(listed) - set(files))
    for name in sorted(set(listed) & set(files)):
        what = _drift(store, name, listed[name], held.get(name))
        if not what and deep:
            what = _deep_drift(store, name, checksums.get(name), per_product.get(name, []), report)
        if what:
            report.drifted.append((name, what))
    report.dangling = int(sum(1 for segment in held if segment not in listed))
    if repair:
        _repair(engine, store, report)
    return report


def _drift(store: PixelStore, name: str, nrows: int, spectra_pixels: int | None) -> str | None:
    """How segment ``name`` disagrees with the catalog, or None."""
    try:
        filesystem, path = store.files.open(name)
        rows = pq.read_metadata(path, filesystem=filesystem).num_rows
    except Exception as exc:  # truncated, overwritten: any reason to distrust it
        return f"unreadable ({type(exc).__name__}: {exc})"
    if rows != nrows:
        return f"the file holds {rows} pixels, the catalog lists {nrows}"
    if int(spectra_pixels or 0) != nrows:
        return f"its spectra hold {int(spectra_pixels or 0)} pixels, the segment {nrows}"
    return None


def _deep_drift(
    store: PixelStore,
    name: str,
    sha256: str | None,
    spectra: list[tuple[int, int]],
    report: VerifyReport,
) -> str | None:
    """The checksum and the per-spectrum pixel counts of segment ``name`` against
    the catalog; differing spectra are added to ``report.products_drifted``."""
    if sha256 is None:
        report.unchecked += 1
    elif store.files.sha256(name) != sha256:
        return "its bytes differ from those written (SHA-256 mismatch)"
    else:
        report.checksummed += 1
    ids = store.files.read_table(name, columns=["product_id"]).column("product_id").to_numpy()
    found, counts = np.unique(ids, return_counts=True)
    held = dict(zip(found.tolist(), counts.tolist(), strict=True))
    expected = dict(spectra)
    drifted = [
        (pid, name, int(held.get(pid, 0)), int(expected.get(pid, 0)))
        for pid in sorted(set(held) | set(expected))
        if held.get(pid, 0) != expected.get(pid, 0)
    ]
    report.products_drifted += drifted
    if drifted:
        return f"{len(drifted)} spectra hold another number of pixels than the catalog says"
    return None


def _repair(engine: Engine, store: PixelStore, report: VerifyReport) -> None:
    bad = report.missing + [name for name, _ in report.drifted]
    chars = spectral_characteristics.c
    listed = select(pixel_segments.c.segment).scalar_subquery()
    with engine.begin() as conn:
        if bad:
            conn.execute(delete(pixel_segments).where(pixel_segments.c.segment.in_(bad)))
        # spectra of those segments and any others pointing nowhere: extracted again
        report.marked = conn.execute(
            delete(spectral_characteristics).where(
                chars.segment.is_(None) | chars.segment.not_in(listed)
            )
        ).rowcount
    for name in report.orphans + [name for name, _ in report.drifted]:
        store.delete(name)
    report.repaired = True
