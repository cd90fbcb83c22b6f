"""The pixel store: immutable, wavelength-sorted Parquet segments beside the catalog.

Layout (Hive-style partitions, readable as one table by DuckDB, Spark, Trino)::

    <root>/productType=x1d/mode=nirspec-g140h-f100lp/seg-<unix-ms>-<random>.parquet
    <root>/productType=x1d/mode=miri-ch2-long/...
    <root>/productType=s2d/mode=.../...

Partitions are per product type and instrument mode (instrument, grating,
filter, MIRI channel and band): a mode covers a fixed wavelength range, so a
window prunes whole partitions, and a grating or instrument filter reads only
its own. Each segment holds the pixels of whole spectra of one mode, sorted by
wavelength, in row groups of :data:`ROW_GROUP_ROWS`, so Parquet's
per-row-group min/max statistics are tight zone maps on wavelength (and loose
ones on flux). Columns:
``product_id`` (int32), ``x``, ``y``, ``z`` (int32, null where they do not
apply), ``wavelength`` (microns, float64), ``flux``, ``flux_error`` (float64,
null when not finite), ``dq`` (int32), ``derSnr`` (the spectrum's, float64,
repeated so that a scan needs no join), ``ra``, ``dec`` (degrees, ICRS: the sky
position of an s2d pixel, from the product's gwcs, or of an s3d spaxel, from the
cube's celestial WCS; null elsewhere, and absent from segments written before
they existed).

Where the root is: ``<file>.db.pixels/`` beside a SQLite catalog; for
PostgreSQL ``$WEBBARCHIVE_PIXELS/<host>_<port>_<database>/`` with
``$WEBBARCHIVE_PIXELS`` defaulting to ``~/.local/share/webbarchive/pixels``.
With ``$WEBBARCHIVE_PIXELS`` in object storage (``s3://bucket/prefix``) every
catalog's store is there, under a prefix named for the catalog
(:func:`webbarchive.storage.beside_catalog.store_location`);
:mod:`webbarchive.pixels.segment_files` is the one place that knows which.
The catalog table ``pixel_segments`` lists the live segments: readers take
the file list from there, so a segment being written or replaced is never
half-seen (files are written under a temporary name and renamed, or uploaded
whole).
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Engine

from webbarchive.pixels.extract import SpectrumPixels
from webbarchive.pixels.segment_files import (  # noqa: F401  (PARTIAL_SUFFIX, file_sha256: re-exported)
    PARTIAL_SUFFIX,
    SegmentFiles,
    file_sha256,
)
from webbarchive.storage.beside_catalog import store_location

ROW_GROUP_ROWS = 8_192
#: Pixels per segment written in one go; update() flushes when a buffer reaches it.
SEGMENT_ROWS = 8_000_000
#: Bytes of spectra the writer holds in memory across all partitions before it
#: writes the fullest partition early (about 64 million 1-D pixels at 32 bytes:
#: with the ~20 modes of JWST's spectrographs each partition then mostly fills a
#: whole segment before it is written, so compaction has little to rewrite).
BUFFER_BYTES = 2 << 30
#: LZ4 (raw): smaller than snappy on these floats and as fast to decode as no
#: compression (a 8,192-row group of id, wavelength, flux in 0.07 ms).
COMPRESSION = "lz4"

SCHEMA = pa.schema(
    [
        ("product_id", pa.int32()),
        ("x", pa.int32()),
        ("y", pa.int32()),
        ("z", pa.int32()),
        ("wavelength", pa.float64()),
        ("flux", pa.float64()),
        ("flux_error", pa.float64()),
        ("dq", pa.int32()),
        ("derSnr", pa.float64()),
        # an s2d pixel's or a cube spaxel's position (degrees, ICRS), null for 1-D pixels
        ("ra", pa.float64()),
        ("dec", pa.float64()),
    ]
)


def pixels_root(engine: Engine) -> Path | str:
    """Root of the pixel store of the catalog behind ``engine``: a local folder,
    or ``s3://bucket/prefix`` in object storage."""
    from webbarchive.config import current

    return store_location(engine, "pixels", current().pixels_root)


def _nullable(values: np.ndarray) -> pa.Array:
    """Float column with nulls where not finite (SQL comparisons then fail, as they
    should; DuckDB would otherwise order NaN above every number)."""
    finite = np.isfinite(values)
    return pa.array(values, mask=None if finite.all() else ~finite)


def segment_paths(engine: Engine, segments: list[str]) -> list[str]:
    """Where the readers of the catalog behind ``engine`` open ``segments`` (names
    relative to the store's root): absolute paths, or ``s3://`` locations, that
    :func:`webbarchive.pixels.segment_files.reader` opens."""
    return SegmentFiles(pixels_root(engine)).locations(segments)


@dataclass
class SegmentInfo:
    segment: str  # relative to the root: "productType=x1d/seg-....parquet"
    productType: str
    nrows: int
    wavelength_min: float | None
    wavelength_max: float | None
    product_ids: list[int] = field(default_factory=list)
    sha256: str | None = None  # of the file's bytes, when known
    bytes: int = 0


@dataclass
class _Buffer:
    product_ids: list[int] = field(default_factory=list)
    spectra: list[SpectrumPixels] = field(default_factory=list)
    rows: int = 0
    nbytes: int = 0


def _nbytes(spectrum: SpectrumPixels) -> int:
    """Bytes of a spectrum's pixel arrays (what buffering it holds in memory)."""
    arrays = (
        spectrum.x,
        spectrum.y,
        spectrum.z,
        spectrum.wavelength,
        spectrum.flux,
        spectrum.flux_error,
        spectrum.dq,
        spectrum.ra,
        spectrum.dec,
    )
    return sum(a.nbytes for a in arrays if a is not None)


def mode_name(*parts: str | None) -> str:
    """An instrument mode as a partition value: ``("NIRSPEC", "G140H", "F100LP")``
    gives ``nirspec-g140h-f100lp`` (empty parts left out, other characters dropped)."""
    words = [re.sub(r"[^a-z0-9_.]+", "", str(p).lower()) for p in parts if p]
    return "-".join(w for w in words if w) or "other"


def partition(product_type: str, mode: str) -> str:
    """The folder of a product type's and mode's segments, relative to the root."""
    return f"productType={product_type}/mode={mode}"


def partition_of(segment: str) -> str:
    """The partition folder of a segment name."""
    return segment.rsplit("/", 1)[0]


class PixelStore:
    """Read and write segments under ``root``."""

    def __init__(self, root: Path | str) -> None:
        self.files = SegmentFiles(root)
        self.root = self.files.root

    def path(self, segment: str) -> Path | str:
        """Where ``segment`` (a name relative to the root) lives: a Path on local
        disk, ``s3://bucket/key`` in object storage (see :class:`SegmentFiles`)."""
        return self.files.location(segment)

    def new_segment_name(self, folder: str) -> str:
        stamp = int(time.time() * 1000)
        return f"{folder}/seg-{stamp}-{secrets.token_hex(4)}.parquet"

    def write(
        self,
        folder: str,
        table: pa.Table,
        *,
        is_sorted: bool = False,
        product_ids: list[int] | None = None,
    ) -> SegmentInfo:
        """Sort ``table`` by wavelength (unless ``is_sorted``) and write it as a new
        segment in the partition ``folder`` (see :func:`partition`). ``product_ids``:
        those of the table's pixels when the caller knows them (spares a pass over
        the column)."""
        if table.num_rows and not is_sorted:
            order = np.argsort(table.column("wavelength").to_numpy(), kind="stable")
            table = table.take(pa.array(order))
        name = self.new_segment_name(folder)
        product_type = folder.split("/", 1)[0].removeprefix("productType=")
        sha256, size = self.files.publish(
            name,
            lambda path: pq.write_table(
                table,
                path,
                row_group_size=ROW_GROUP_ROWS,
                compression=COMPRESSION,
                # floats and random product ids do not compress by dictionary; trying
                # costs more than the rest of the write
                use_dictionary=False,
                write_statistics=True,
            ),
        )
        wave = table.column("wavelength").to_numpy()  # sorted
        if product_ids is not None:
            ids = sorted(set(product_ids))
        else:
            ids = np.unique(table.column("product_id").to_numpy()) if table.num_rows else []
        return SegmentInfo(
            name,
            product_type,
            table.num_rows,
            float(wave[0]) if wave.size else None,
            float(wave[-1]) if wave.size else None,
            [int(i) for i in ids],
            sha256,
            size,
        )

    def read(self, segment: str) -> pa.Table:
        """A whole segment in :data:`SCHEMA` (columns it predates read as nulls)."""
        table = self.files.read_table(segment)
        for name in SCHEMA.names:
            if name not in table.column_names:
                table = table.append_column(
                    SCHEMA.field(name), pa.nulls(table.num_rows, SCHEMA.field(name).type)
                )
        return table.select(SCHEMA.names).cast(SCHEMA)

    def without(self, segment: str, product_ids: set[int]) -> SegmentInfo | None:
        """Rewrite ``segment`` without the pixels of ``product_ids`` (copy on write, in
        the same partition); None when nothing is left."""
        table = self.read(segment)
        keep = ~np.isin(table.column("product_id").to_numpy(), np.fromiter(product_ids, np.int64))
        if not keep.any():
            return None
        return self.write(partition_of(segment), table.filter(pa.array(keep)), is_sorted=True)

    def delete(self, segment: str) -> None:
        self.files.delete(segment)


def to_table(
    product_ids: list[int], spectra: list[SpectrumPixels], *, sort: bool = False
) -> pa.Table:
    """One Arrow table (SCHEMA) for several spectra, sorted by wavelength if asked
    (sorting numpy columns is cheaper than reordering the Arrow table)."""
    for pid in product_ids:
        if not -(2**31) < pid < 2**31:  # negative: msaexp spectra (msaexp_source)
            raise ValueError(f"product_id {pid} does not fit the store's int32 column")
    counts = [s.npix for s in spectra]
    total = sum(counts)
    ids = np.repeat(np.asarray(product_ids, np.int32), counts)
    snr = np.repeat(
        np.asarray([np.nan if s.derSnr is None else s.derSnr for s in spectra], np.float64),
        counts,
    )

    wavelength = np.concatenate([s.wavelength for s in spectra]).astype(np.float64, copy=False)
    order = np.argsort(wavelength, kind="stable") if sort else None

    def arranged(values: np.ndarray) -> np.ndarray:
        return values if order is None else values[order]

    def optional_int(attr: str) -> pa.Array:
        if all(getattr(s, attr) is None for s in spectra):
            return pa.nulls(total, pa.int32())
        values = np.concatenate(
            [
                np.full(s.npix, -1, np.int32) if getattr(s, attr) is None else getattr(s, attr)
                for s in spectra
            ]
        )
        values = arranged(values)
        return pa.array(values, mask=values < 0)

    def cat(attr: str, dtype) -> np.ndarray:
        return arranged(
            np.concatenate([getattr(s, attr) for s in spectra]).astype(dtype, copy=False)
        )

    def optional_float(attr: str) -> pa.Array:
        if all(getattr(s, attr) is None for s in spectra):
            return pa.nulls(total, pa.float64())
        values = np.concatenate(
            [
                np.full(s.npix, np.nan) if getattr(s, attr) is None else getattr(s, attr)
                for s in spectra
            ]
        ).astype(np.float64, copy=False)
        return _nullable(arranged(values))

    ids = arranged(ids)
    snr = arranged(snr)
    return pa.Table.from_arrays(
        [
            pa.array(ids),
            pa.array(cat("x", np.int32)),
            optional_int("y"),
            optional_int("z"),
            pa.array(arranged(wavelength)),
            _nullable(cat("flux", np.float64)),
            _nullable(cat("flux_error", np.float64)),
            pa.array(cat("dq", np.int32)),
            _nullable(snr),
            optional_float("ra"),
            optional_float("dec"),
        ],
        schema=SCHEMA,
    )


class SegmentWriter:
    """Buffers spectra per partition (product type and mode) and writes a partition
    as a segment once it holds :data:`SEGMENT_ROWS` pixels, so a bulk ingest writes
    each pixel once, in whole segments, whatever the order of modes in its input.

    Memory stays bounded: when the buffers together hold more than
    ``buffer_bytes`` (default :data:`BUFFER_BYTES`), the fullest partition is
    written early. ``close`` writes what is left (one segment per partition at
    most). ``on_segment`` records each segment in the catalog. Small segments
    (early writes, leftovers, incremental ingests) are merged by
    :func:`webbarchive.pixels.index.compact`. With ``buffer_bytes`` at about
    ``segment_rows`` pixels' worth, partitions are written a fraction of a
    segment at a time and compaction rewrites nearly everything (the behaviour
    before this budget existed; ``bench.pixel_search --buffer-mb`` compares).
    """

    def __init__(
        self,
        store: PixelStore,
        on_segment,
        segment_rows: int | None = None,
        buffer_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.on_segment = on_segment
        self.segment_rows = segment_rows or SEGMENT_ROWS
        self.buffer_bytes = buffer_bytes or BUFFER_BYTES
        self.buffers: dict[str, _Buffer] = {}
        self.nbytes = 0

    def add(self, product_type: str, product_id: int, spectrum: SpectrumPixels, mode: str) -> None:
        """Buffer a spectrum of ``product_type`` observed in ``mode`` (:func:`mode_name`)."""
        folder = partition(product_type, mode)
        buffer = self.buffers.setdefault(folder, _Buffer())
        buffer.product_ids.append(product_id)
        buffer.spectra.append(spectrum)
        buffer.rows += spectrum.npix
        size = _nbytes(spectrum)
        buffer.nbytes += size
        self.nbytes += size
        if buffer.rows >= self.segment_rows:
            self._flush(folder)
        while self.nbytes > self.buffer_bytes and self.buffers:
            self._flush(max(self.buffers, key=lambda k: self.buffers[k].nbytes))

    def _flush(self, folder: str) -> None:
        buffer = self.buffers.pop(folder, None)
        if buffer is None or not buffer.spectra:
            return
        self.nbytes -= buffer.nbytes
        table = to_table(buffer.product_ids, buffer.spectra, sort=True)
        stored = [p for p, s in zip(buffer.product_ids, buffer.spectra, strict=True) if s.npix]
        info = self.store.write(folder, table, is_sorted=True, product_ids=stored)
        self.on_segment(info, buffer.product_ids, buffer.spectra)

    def close(self) -> None:
        for folder in sorted(self.buffers):
            self._flush(folder)
