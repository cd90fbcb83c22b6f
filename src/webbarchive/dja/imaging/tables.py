"""Catalog tables of the DJA tools, built from the catalog by :func:`webbarchive.dja.imaging.build.update`.

- ``dja_exposures``: one row per level-2 imaging exposure (the ``rate`` file, else
  the ``cal``), with DJA's ``exposure_files`` columns. Sky queries reach it through
  ``sky_index`` on its ``obsid`` (every level-2 exposure is its own observation).
- ``dja_associations``: DJA associations (program, epoch = visit, instrument,
  filter, detector) with a status (2: a sub-mosaic exists, 0: not processed).
- ``dja_exposure_cells``: the HEALPix cells (NESTED, depth 12, 0.86') of each
  exposure's footprint. The catalog-wide ``sky_index`` (depth 10, 3.4') would
  hand a 1' query in a deep field ~750 candidates for ~120 answers; these
  cells, as small as a detector, hand it ~250.
- ``dja_mosaics``: drizzled ``*_drc_sci`` mosaics with their ``_drc_wht``: field
  mosaics (``kind='field'``) and per-association sub-mosaics (``kind='assoc'``).

No foreign keys to ``products``: ingest may replace or delete a product before
``update`` runs; every query joins ``observations``/``products`` (which also
applies data rights), so a stale row is never shown.

Units: degrees, MJD, seconds; ``pixscale_mas`` in milliarcseconds.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, Text

from webbarchive.catalog.schema import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

#: Columns of ``/exposures`` in DJA's order (the seed's ``exposure_files`` columns).
EXPOSURE_COLUMNS = (
    "file extension dataset assoc parent filter pupil mdrizsky exptime expstart sciext "
    "instrume detector ndq expflag sunangle gsky101 gsky102 gsky103 persnpix perslevl "
    "naxis1 naxis2 crpix1 crpix2 crval1 crval2 cd11 cd12 cd21 cd22 ra1 dec1 ra2 dec2 ra3 "
    "dec3 ra4 dec4 footprint modtime chipsky eid"
).split()

dja_exposures = Table(
    "dja_exposures",
    metadata,
    Column("eid", _ID, primary_key=True, autoincrement=True),
    Column("obsid", BigInteger, nullable=False, unique=True),
    Column("product_id", BigInteger, nullable=False),
    Column("checksum", String(32)),  # of the product, to rebuild only what changed
    Column("proposal_id", String(16)),
    Column("visit", String(16)),  # jwPPPPPOOOVVV: the epoch of an association
    Column("file", String(128), nullable=False),
    Column("extension", String(16)),
    Column("dataset", String(128)),
    Column("assoc", String(128)),
    Column("parent", String(128)),
    Column("filter", String(32)),
    Column("pupil", String(16)),
    Column("mdrizsky", Float),
    Column("chipsky", Float),
    Column("exptime", Float),
    Column("expstart", Float),
    Column("sciext", Integer),
    Column("instrume", String(16)),
    Column("detector", String(16)),
    Column("ndq", BigInteger),
    *[
        Column(name, Float)
        for name in "expflag sunangle gsky101 gsky102 gsky103 persnpix perslevl".split()
    ],
    Column("naxis1", Integer),
    Column("naxis2", Integer),
    *[
        Column(name, Float)
        for name in "crpix1 crpix2 crval1 crval2 cd11 cd12 cd21 cd22".split()
        + [f"{c}{i}" for i in range(1, 5) for c in ("ra", "dec")]
    ],
    Column("footprint", Text),  # ((ra,dec),(ra,dec),...) as DJA prints a Postgres path
    Column("modtime", Float),  # MJD the exposure entered the catalog
)
#: Depth of ``dja_exposure_cells`` (NESTED HEALPix, 0.86 arcmin cells).
EXPOSURE_CELL_DEPTH = 12

dja_exposure_cells = Table(
    "dja_exposure_cells",
    metadata,
    Column("hpx", BigInteger, primary_key=True, autoincrement=False),
    Column("obsid", BigInteger, primary_key=True, autoincrement=False),
    sqlite_with_rowid=False,  # the rows are the (hpx, obsid) index itself
)
Index("ix_dja_exposure_cells_obsid", dja_exposure_cells.c.obsid)

Index("ix_dja_exposures_assoc", dja_exposures.c.assoc)
Index("ix_dja_exposures_filter", dja_exposures.c.filter)
# Covering index of the first step of a sky query (corners, filters by obsid), so a
# query in a deep field reads compact index pages instead of whole rows.
Index(
    "ix_dja_exposures_corners",
    dja_exposures.c.obsid,
    dja_exposures.c.instrume,
    dja_exposures.c.filter,
    *[dja_exposures.c[f"{c}{i}"] for i in range(1, 5) for c in ("ra", "dec")],
)

dja_associations = Table(
    "dja_associations",
    metadata,
    Column("aid", _ID, primary_key=True, autoincrement=True),
    Column("assoc_name", String(128), nullable=False, unique=True),
    Column("target", Text),
    Column("proposal_id", String(16)),
    Column("proposal_pi", Text),
    Column("filter", String(32)),
    Column("instrument_name", String(16)),
    Column("detector", String(16)),
    Column("visit", String(16)),
    Column("status", Integer, nullable=False),
    Column("nexp", Integer),
    Column("exptime", Float),
    Column("t_min", Float),
    Column("t_max", Float),
    Column("ra", Float),
    Column("dec", Float),
    Column("footprint", Text),  # convex hull of the exposures, STC-S
)

dja_mosaics = Table(
    "dja_mosaics",
    metadata,
    Column("product_id", BigInteger, primary_key=True, autoincrement=False),  # the sci file
    Column("obsid", BigInteger, nullable=False),
    Column("checksum", String(32)),
    Column("wht_product_id", BigInteger),
    Column("kind", String(8), nullable=False),  # field | assoc
    Column("file", String(255), nullable=False),
    Column("wht_file", String(255)),
    Column("assoc_name", String(128)),
    Column("field", String(64)),
    Column("filter", String(32), nullable=False),  # DJA name, F200W-CLEAR
    Column("modtime", Float),
    Column("tile", Integer),
    Column("pixscale_mas", Float),
    Column("detector", String(16)),
    Column("version", String(16)),
    Column("nexp", Integer),
    Column("visit", String(16)),
    Column("instrument", String(16)),
    Column("exptime", Float),
    Column("expstart", Float),
    Column("sky", Float),
    Column("ra", Float),
    Column("dec", Float),
    Column("footprint", Text),  # STC-S
    Column("naxis1", Integer),
    Column("naxis2", Integer),
    Column("photflam", Float),
    Column("photplam", Float),  # Angstrom
    Column("imgmed", Float),
)
Index("ix_dja_mosaics_obsid", dja_mosaics.c.obsid)
Index("ix_dja_mosaics_filter", dja_mosaics.c.filter)
