"""Catalog tables of the pixel store: one row per spectrum, one per segment file.

``spectral_characteristics`` (MAST's ``dbo.SpectralCharacteristics``) holds the
per-spectrum numbers that let the catalog prune spectra before any pixel is
read: derSnr, the median flux, and zone maps (min/max of wavelength and flux).
It carries no foreign key to ``products`` on purpose: when ingest deletes a
product, its row must survive until :func:`webbarchive.pixels.index.update`
drops the pixels it points at (queries join ``products``, so an orphan is
never shown).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table

from webbarchive.catalog.schema import metadata

spectral_characteristics = Table(
    "spectral_characteristics",
    metadata,
    Column("product_id", BigInteger, primary_key=True, autoincrement=False),
    Column("checksum", String(32), nullable=False),  # products.checksum when extracted
    Column("productType", String(8), nullable=False),  # x1d, c1d, s2d, s3d
    Column("pixel_kind", String(2), nullable=False),  # 1d, 2d, 3d
    Column("derSnr", Float),  # DER_SNR (Stoehr et al. 2008); null when undefined
    Column("median_flux", Float),
    Column("wavelength_min", Float),  # microns, over stored pixels
    Column("wavelength_max", Float),
    Column("flux_min", Float),  # finite fluxes only
    Column("flux_max", Float),
    Column("npix", BigInteger, nullable=False),  # pixels stored (finite wavelength)
    Column("segment", String(255)),  # file name of the segment holding the pixels
)
Index(
    "ix_spectral_characteristics_type_wave",
    spectral_characteristics.c.productType,
    spectral_characteristics.c.wavelength_min,
)
Index("ix_spectral_characteristics_segment", spectral_characteristics.c.segment)

#: Segment files (immutable Parquet, sorted by wavelength) of the pixel store.
pixel_segments = Table(
    "pixel_segments",
    metadata,
    # "productType=<type>/mode=<mode>/<name>.parquet"
    Column("segment", String(255), primary_key=True),
    Column("productType", String(8), nullable=False),
    Column("nrows", BigInteger, nullable=False),
    Column("wavelength_min", Float),
    Column("wavelength_max", Float),
    Column("created_unix", Float),
    Column("seq", Integer),  # write order: results are returned segment by segment
)


#: Content checksums of the segment files (SHA-256 of the file's bytes, written
#: when the segment is): ``webbarchive pixels verify`` recomputes them. A table
#: of its own so that catalogs made before it need no migration (segments without
#: a row are reported as unchecked, not as drift).
pixel_segment_files = Table(
    "pixel_segment_files",
    metadata,
    Column("segment", String(255), primary_key=True),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
)

#: Segments no longer listed (compacted, or rewritten without deleted products)
#: whose files stay for a grace period, since a search that planned before the
#: change may still be reading them; :func:`webbarchive.pixels.index.purge_retired`
#: deletes them once the grace period is over. Never taken for orphans.
pixel_retired = Table(
    "pixel_retired",
    metadata,
    Column("segment", String(255), primary_key=True),
    Column("retired_unix", Float, nullable=False),
)

#: The tables of the pixel store, created by the first update.
PIXEL_TABLES = (spectral_characteristics, pixel_segments, pixel_segment_files, pixel_retired)
