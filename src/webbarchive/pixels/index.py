"""Keeping the pixel store in step with the catalog: :func:`update`.

Ingest calls ``update(engine, progress)`` at the end of each run. It compares
the catalog's spectral products (x1d, c1d, s2d, s3d) and DJA's msaexp spectra
(:mod:`webbarchive.pixels.msaexp_source`) with ``spectral_characteristics``: products that are new or whose checksum changed
are (re)extracted, pixels of products that changed or left the catalog are
dropped (their segments are rewritten without them). Running it twice changes
nothing the second time.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from sqlalchemy import Engine, delete, insert, inspect, select
from sqlalchemy import update as sql_update
from tqdm import tqdm

from webbarchive.catalog.schema import keywords, products
from webbarchive.catalog.writer_lock import holding_writer_lock
from webbarchive.pixels import msaexp_source
from webbarchive.pixels.extract import PIXEL_KINDS, SpectrumPixels, extract
from webbarchive.pixels.store import (
    PixelStore,
    SegmentInfo,
    SegmentWriter,
    mode_name,
    pixels_root,
)
from webbarchive.pixels.tables import (
    PIXEL_TABLES,
    pixel_retired,
    pixel_segment_files,
    pixel_segments,
    spectral_characteristics,
)
from webbarchive.storage import StorageUnavailable, open_storage

log = logging.getLogger(__name__)

#: Merge small segments (incremental ingests) once a product type has this many.
MAX_SMALL_SEGMENTS = 8

#: Seconds a retired segment's file stays after it stops being listed (compacted,
#: or rewritten without deleted products): a search plans on the catalog's list,
#: then reads; one that planned before the change reads the old files, which must
#: still be there. A search takes seconds at most; a reader slower than this
#: finds a file gone and plans again (:func:`webbarchive.pixels.query.search`).
RETIRE_GRACE_S = 600.0


@dataclass
class UpdateSummary:
    added: int = 0
    replaced: int = 0
    dropped: int = 0
    unchanged: int = 0
    pixels: int = 0
    seconds: float = 0.0
    failed: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        rate = self.pixels / self.seconds if self.seconds else 0.0
        text = (
            f"pixel store: {self.added} spectra added, {self.replaced} replaced, "
            f"{self.dropped} dropped, {self.unchanged} unchanged; {self.pixels:,} pixels "
            f"written in {self.seconds:.1f} s ({rate:,.0f} pixels/s)"
        )
        if self.failed:
            text += f"; {len(self.failed)} unreadable: " + ", ".join(self.failed[:5])
        return text


def record_segment(
    engine: Engine,
    info: SegmentInfo,
    product_ids: list[int],
    spectra: list[SpectrumPixels],
    checksums: dict[int, str],
) -> None:
    """Register a freshly written segment and the characteristics of its spectra."""
    rows = [
        {
            "product_id": pid,
            "checksum": checksums[pid],
            "productType": info.productType,
            "segment": info.segment,
            **spectrum.characteristics(),
        }
        for pid, spectrum in zip(product_ids, spectra, strict=True)
    ]
    with engine.begin() as conn:
        _insert_segment(conn, info)
        conn.execute(insert(spectral_characteristics), rows)


def _insert_segment(conn, info: SegmentInfo) -> None:
    """List a written segment in ``pixel_segments``, last in store order, with its
    file's checksum."""
    if info.sha256:
        conn.execute(
            insert(pixel_segment_files).values(
                segment=info.segment, bytes=info.bytes, sha256=info.sha256
            )
        )
    seq = conn.execute(select(pixel_segments.c.seq).order_by(pixel_segments.c.seq.desc())).first()
    conn.execute(
        insert(pixel_segments).values(
            segment=info.segment,
            productType=info.productType,
            nrows=info.nrows,
            wavelength_min=info.wavelength_min,
            wavelength_max=info.wavelength_max,
            created_unix=time.time(),
            seq=(seq[0] + 1) if seq and seq[0] is not None else 0,
        )
    )


def _drop(engine: Engine, store: PixelStore, product_ids: set[int]) -> None:
    """Remove the pixels and characteristics of ``product_ids``."""
    if not product_ids:
        return
    with engine.connect() as conn:
        rows = conn.execute(
            select(spectral_characteristics.c.product_id, spectral_characteristics.c.segment)
        ).all()
        live = set(conn.execute(select(pixel_segments.c.segment)).scalars())
    by_segment: dict[str, set[int]] = {}
    for pid, segment in rows:
        if pid in product_ids:
            by_segment.setdefault(segment, set()).add(pid)
    for segment, pids in by_segment.items():
        replacement = None
        if segment in live:
            replacement = store.without(segment, pids)
        with engine.begin() as conn:
            _retire(conn, [segment] if segment in live else [])
            conn.execute(
                delete(spectral_characteristics).where(
                    spectral_characteristics.c.product_id.in_(sorted(pids))
                )
            )
            if replacement is not None:
                _register_rewrite(conn, replacement, segment)


def _retire(conn, segments: list[str]) -> None:
    """Unlist ``segments`` in the transaction of ``conn``; their files stay for
    :data:`RETIRE_GRACE_S` (readers that planned before may still read them)."""
    if not segments:
        return
    conn.execute(delete(pixel_segments).where(pixel_segments.c.segment.in_(segments)))
    conn.execute(delete(pixel_segment_files).where(pixel_segment_files.c.segment.in_(segments)))
    now = time.time()
    conn.execute(insert(pixel_retired), [{"segment": s, "retired_unix": now} for s in segments])


def purge_retired(engine: Engine, store: PixelStore, grace_s: float | None = None) -> list[str]:
    """Delete the files of segments retired more than ``grace_s`` seconds ago
    (default :data:`RETIRE_GRACE_S`); returns their names. Writers call it under
    the writer lock."""
    grace_s = RETIRE_GRACE_S if grace_s is None else grace_s
    cutoff = time.time() - grace_s
    with engine.connect() as conn:
        due = (
            conn.execute(
                select(pixel_retired.c.segment).where(pixel_retired.c.retired_unix <= cutoff)
            )
            .scalars()
            .all()
        )
    for segment in due:
        store.delete(segment)
    if due:
        with engine.begin() as conn:
            conn.execute(delete(pixel_retired).where(pixel_retired.c.segment.in_(due)))
    return list(due)


def _register_rewrite(conn, info: SegmentInfo, old_segment: str) -> None:
    """List ``info``, which replaces ``old_segment``, and point its spectra at it."""
    _insert_segment(conn, info)
    conn.execute(
        sql_update(spectral_characteristics)
        .where(spectral_characteristics.c.segment == old_segment)
        .values(segment=info.segment)
    )


def compact(engine: Engine, store: PixelStore, *, force: bool = False) -> int:
    """Merge the small segments of each partition (product type and mode) into
    segments of up to :data:`SEGMENT_ROWS` pixels; returns how many were merged.

    A partition is merged once its small segments (under half the size) are
    :data:`MAX_SMALL_SEGMENTS` or hold half a segment's pixels (``force``: as
    soon as it has two): a bulk ingest mixing modes leaves many, an incremental
    one a few that wait for company.

    Readers are never blocked: the merged segment is written beside the old
    ones, then one transaction lists it, unlists them and points their spectra
    at it, so a search sees the old list or the new one, never a mix; the old
    files are retired (kept :data:`RETIRE_GRACE_S`) for searches that planned
    on the old list.
    """
    import pyarrow as pa

    from webbarchive.pixels.store import SEGMENT_ROWS, partition_of

    merged = 0
    with engine.connect() as conn:
        rows = conn.execute(
            select(pixel_segments.c.segment, pixel_segments.c.nrows).order_by(pixel_segments.c.seq)
        ).all()
    small_by_partition: dict[str, list] = {}
    for r in rows:
        if r.nrows < SEGMENT_ROWS // 2:
            small_by_partition.setdefault(partition_of(r.segment), []).append(r)
    for folder, small in sorted(small_by_partition.items()):
        if len(small) < 2 or (
            not force
            and len(small) < MAX_SMALL_SEGMENTS
            and sum(r.nrows for r in small) < SEGMENT_ROWS // 2
        ):
            continue
        groups: list[list[str]] = [[]]
        size = 0
        for r in small:  # consecutive runs of up to SEGMENT_ROWS pixels
            if groups[-1] and size + r.nrows > SEGMENT_ROWS:
                groups.append([])
                size = 0
            groups[-1].append(r.segment)
            size += r.nrows
        for group in groups:
            if len(group) < 2:
                continue
            info = store.write(folder, pa.concat_tables([store.read(s) for s in group]))
            with engine.begin() as conn:
                _retire(conn, group)
                _register_rewrite(conn, info, group[0])
                conn.execute(
                    sql_update(spectral_characteristics)
                    .where(spectral_characteristics.c.segment.in_(group))
                    .values(segment=info.segment)
                )
            merged += len(group)
    return merged


@dataclass
class CompactSummary:
    merged: int  # segments merged into others
    purged: list[str]  # retired files deleted (grace period over)
    segments: int  # listed after compaction

    def __str__(self) -> str:
        return (
            f"pixel store: {self.merged} small segments merged, {len(self.purged)} retired "
            f"files deleted; {self.segments} segments listed"
        )


@holding_writer_lock
def compact_store(
    engine: Engine, *, force: bool = True, grace_s: float | None = None
) -> CompactSummary:
    """``webbarchive pixels compact``: merge small segments (every partition with two
    or more unless not ``force``), then delete retired files past ``grace_s``."""
    from webbarchive.catalog.schema import metadata

    metadata.create_all(engine, tables=list(PIXEL_TABLES))
    store = PixelStore(pixels_root(engine))
    merged = compact(engine, store, force=force)
    purged = purge_retired(engine, store, grace_s)
    with engine.connect() as conn:
        listed = len(conn.execute(select(pixel_segments.c.segment)).all())
    return CompactSummary(merged, purged, listed)


@holding_writer_lock
def reextract(engine: Engine, product_types: list[str], progress: bool = True) -> UpdateSummary:
    """``webbarchive pixels reextract``: extract the spectra of ``product_types``
    again, for a store written by an older extractor (s2d pixels before they had
    sky positions). Their stored checksums are cleared, so :func:`update` takes
    them for changed products: their pixels leave their segments (copy on write,
    readers unaffected) and are written anew."""
    unknown = sorted(set(product_types) - set(PIXEL_KINDS))
    if unknown:
        raise ValueError(f"unknown product types {unknown}; known: {sorted(PIXEL_KINDS)}")
    with engine.begin() as conn:
        conn.execute(
            sql_update(spectral_characteristics)
            .where(spectral_characteristics.c.productType.in_(product_types))
            .values(checksum="")
        )
    return update(engine, progress=progress)


def _modes(engine: Engine, product_ids: list[int]) -> dict[int, str]:
    """The instrument mode of each product (instrument, grating, filter, MIRI
    channel and band, from its keywords), as a partition value."""
    found: dict[int, dict[str, str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(product_ids), 5000):
            chunk = product_ids[start : start + 5000]
            for pid, name, value in conn.execute(
                select(keywords.c.product_id, keywords.c.name, keywords.c.value)
                .where(keywords.c.product_id.in_(chunk), keywords.c.name.in_(MODE_KEYWORDS))
                .order_by(keywords.c.hdu)
            ):
                if isinstance(value, str) and value.startswith('"'):
                    value = json.loads(value)
                found.setdefault(pid, {}).setdefault(name, str(value))
            for pid, instrument in conn.execute(
                select(products.c.product_id, products.c.instrument).where(
                    products.c.product_id.in_(chunk)
                )
            ):
                found.setdefault(pid, {})["instrument"] = instrument
    return {
        pid: mode_name(*(words.get(k) for k in ("instrument", *MODE_KEYWORDS)))
        for pid, words in found.items()
    }


def _msaexp_spectra(conn) -> dict[int, SimpleNamespace]:
    """The catalogued msaexp spectra as rows like the products' (path, checksum,
    suffix ``msaexp``, mode, position); none before the DJA tables exist."""
    if not inspect(conn).has_table(msaexp_source.extractions.name):
        return {}
    rows = {}
    for pid, row in msaexp_source.current(conn).items():
        grating, filt = msaexp_source.grating_filter(row["grating"])
        mode = mode_name(msaexp_source.INSTRUMENT, grating, filt)
        rows[pid] = SimpleNamespace(**row, suffix=msaexp_source.PRODUCT_TYPE, mode=mode)
    return rows


#: Keywords naming the mode a spectrum was taken in, after the instrument.
MODE_KEYWORDS = ("grating", "filter", "channel", "band")


@holding_writer_lock
def update(engine: Engine, progress: bool = True) -> UpdateSummary:
    """Bring the pixel store of the catalog behind ``engine`` up to date."""
    import webbarchive.catalog.tables  # noqa: F401  (makes sure our tables exist)
    from webbarchive.catalog.schema import metadata

    metadata.create_all(engine, tables=list(PIXEL_TABLES))
    start = time.perf_counter()
    summary = UpdateSummary()
    store = PixelStore(pixels_root(engine))
    purge_retired(engine, store)
    # under the writer lock, a file nothing lists was left by a writer that died
    # (killed, full disk) between writing and listing it
    from webbarchive.pixels.verify import remove_orphans

    remove_orphans(engine, store)
    with engine.connect() as conn:
        catalog = {
            r.product_id: r
            for r in conn.execute(
                select(
                    products.c.product_id, products.c.path, products.c.checksum, products.c.suffix
                ).where(products.c.suffix.in_(sorted(PIXEL_KINDS)))
            )
        }
        stored = dict(
            conn.execute(
                select(spectral_characteristics.c.product_id, spectral_characteristics.c.checksum)
            ).all()
        )
        community = _msaexp_spectra(conn)  # DJA's msaexp spectra, negative ids
    catalog.update(community)
    changed = {
        pid
        for pid, checksum in stored.items()
        if pid in catalog and catalog[pid].checksum != checksum
    }
    gone = {pid for pid in stored if pid not in catalog}
    new = sorted(pid for pid in catalog if pid not in stored or pid in changed)
    summary.unchanged = len(stored) - len(changed) - len(gone)
    _drop(engine, store, changed | gone)
    summary.dropped = len(gone)

    checksums = {pid: catalog[pid].checksum for pid in new}
    writer = SegmentWriter(
        store, lambda info, pids, spectra: record_segment(engine, info, pids, spectra, checksums)
    )
    modes = _modes(engine, new) | {pid: community[pid].mode for pid in new if pid in community}
    for pid in tqdm(new, desc="pixels", unit="product", disable=not progress):
        row = catalog[pid]
        try:
            with open_storage(row.path).local_file(row.path) as local:  # S3: a temporary copy
                if row.suffix == msaexp_source.PRODUCT_TYPE:
                    spectrum = msaexp_source.extract(str(local), row.ra, row.dec)
                else:
                    spectrum = extract(str(local), row.suffix)
        except StorageUnavailable:
            raise  # not the file's fault: stop, a re-run resumes here
        except Exception as exc:  # one unreadable file must not stop the others
            log.warning("no pixels from %s: %s", row.path, exc)
            summary.failed.append(str(row.path))
            continue
        writer.add(row.suffix, pid, spectrum, modes.get(pid, "other"))
        summary.pixels += spectrum.npix
        if pid in changed:
            summary.replaced += 1
        else:
            summary.added += 1
    writer.close()
    compact(engine, store)
    summary.seconds = time.perf_counter() - start
    return summary
