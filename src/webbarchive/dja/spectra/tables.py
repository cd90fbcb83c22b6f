"""Catalog tables of the DJA spectroscopy tools (built by :func:`webbarchive.dja.spectra.build.update`).

- ``nirspec_slits``: one row per MSA shutter per exposure (DJA's ``nirspec_slits``),
  footprint from the exposure's pointing and the SIAF shutter geometry.
- ``nirspec_extractions``: one row per msaexp ``*.spec.fits[.gz]`` (DJA's columns).
- ``nirspec_traces``: per spectrum and input exposure, where its trace lies on the
  detector (for ``/nirspec_trace_overlap``).
- ``nirspec_redshifts``: z, grade and comment per spectrum file from redshift tables.
- ``mosfire_spectra``: MOSFIRE spectra listings.
- ``dja_spectra_files``: the community files read (path, size, mtime, kind), so a
  rerun only rereads what changed.

Data rights: extractions (and their traces and redshifts) follow the program in
their file name or header (``proposal_id``), slits their exposure (``product_id``, a
catalogued JWST product) and their program, as
:class:`webbarchive.catalog.rights.CommunityRights` configure per collection
(:mod:`webbarchive.dja.spectra.queries`). A spectrum is hidden from the moment its
row is written until its program is released: no link step has to run first. No
foreign keys: ingest may replace products before ``update`` runs, and a join drops
stale rows.

Units: degrees (ICRS), MJD, seconds, microns (wmin/wmax); shutter sizes in arcsec.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, Index, Integer, String, Table, Text

from webbarchive.catalog.schema import metadata

_ID = BigInteger().with_variant(Integer, "sqlite")

#: ``/nirspec_slits`` columns in DJA's order (seed 003).
SLIT_COLUMNS = (
    "program source_id ra dec slitlet_id shutter_quadrant shutter_row shutter_column "
    "estimated_source_in_shutter_x estimated_source_in_shutter_y is_source root footprint "
    "exptime expstart grating filter msametid patt_num msametfl srcra srcdec valid"
).split()

#: ``/nirspec_extractions`` columns in DJA's order (seed 003).
EXTRACTION_COLUMNS = (
    "root file ra dec srcid msamet slitid grating exptime wmin wmax sn50 flux50 ctime "
    "version z grade comment"
).split()

#: ``/nirspec_file_redshift`` columns in DJA's order (seed 003).
REDSHIFT_COLUMNS = (
    "ra dec zmin_prism zmax_prism z_prism N_prism zref_prism file_prism zmin_grating "
    "zmax_grating z_grating N_grating zref_grating file_grating z v_prism v_grating "
    "root_prism root_grating ztype objid file"
).split()

#: ``/mosfire`` columns in DJA's order (seed 003).
MOSFIRE_COLUMNS = (
    "ra_targ dec_targ datemask progpi target_name filter wmin wmax exptime file "
    "slit_width slit_length skypa3 ra_slit dec_slit"
).split()

nirspec_slits = Table(
    "nirspec_slits",
    metadata,
    Column("slit_row_id", _ID, primary_key=True, autoincrement=True),
    Column("product_id", BigInteger, nullable=False),  # the exposure: rights and root
    Column("msa_product_id", BigInteger),  # the MSA metadata file, when catalogued
    Column("program", Integer),
    Column("source_id", BigInteger),
    Column("ra", Float),  # shutter centre
    Column("dec", Float),
    Column("slitlet_id", Integer),
    Column("shutter_quadrant", Integer),
    Column("shutter_row", Integer),
    Column("shutter_column", Integer),
    Column("estimated_source_in_shutter_x", Float),
    Column("estimated_source_in_shutter_y", Float),
    Column("is_source", Boolean),
    Column("root", String(128)),
    Column("footprint", Text),  # ((ra,dec),...) as DJA prints a Postgres polygon
    Column("exptime", Float),
    Column("expstart", Float),
    Column("grating", String(16)),
    Column("filter", String(16)),
    Column("msametid", Integer),
    Column("patt_num", Integer),
    Column("msametfl", String(128)),
    Column("srcra", Float),
    Column("srcdec", Float),
    Column("valid", Boolean),
)
Index("ix_nirspec_slits_dec", nirspec_slits.c.dec)
Index("ix_nirspec_slits_msametfl", nirspec_slits.c.msametfl)

nirspec_extractions = Table(
    "nirspec_extractions",
    metadata,
    Column("extraction_id", _ID, primary_key=True, autoincrement=True),
    Column("path", Text, nullable=False),
    Column("file", String(255), nullable=False, unique=True),
    Column("root", String(128)),
    Column("ra", Float),
    Column("dec", Float),
    Column("srcid", BigInteger),
    Column("program", Integer),
    Column("msamet", String(128)),
    Column("slitid", Integer),
    Column("grating", String(32)),  # G395M_F290LP
    Column("exptime", Float),
    Column("wmin", Float),  # microns
    Column("wmax", Float),
    Column("sn50", Float),
    Column("flux50", Float),  # uJy
    Column("ctime", Float),  # unix seconds of the file
    Column("version", String(64)),
    Column("layout", String(8)),  # v1 (FILEn keywords) | v3 (SLITS table or none)
    Column("objid", BigInteger),  # merged source: spectra within 0.3" share it
    Column("product_id", BigInteger),  # its MSA file, else a product of its program
    Column("proposal_id", String(16)),
)
Index("ix_nirspec_extractions_dec", nirspec_extractions.c.dec)
Index("ix_nirspec_extractions_objid", nirspec_extractions.c.objid)

nirspec_traces = Table(
    "nirspec_traces",
    metadata,
    Column("file", String(255), primary_key=True),
    Column("exposure_index", Integer, primary_key=True),
    Column("exposure", String(128)),  # jw04233001002_03101_00002_nrs1
    Column("detector", String(16)),
    Column("program", Integer),
    Column("srcid", BigInteger),
    Column("xstart", Float),
    Column("xsize", Float),
    Column("ystart", Float),
    Column("ysize", Float),
    Column("trace_c0", Float),  # y - ystart = c0 + c1 (x - xstart) + c2 (x - xstart)^2
    Column("trace_c1", Float),
    Column("trace_c2", Float),
)
Index("ix_nirspec_traces_exposure", nirspec_traces.c.exposure, nirspec_traces.c.detector)

nirspec_redshifts = Table(
    "nirspec_redshifts",
    metadata,
    Column("file", String(255), primary_key=True),
    Column("z", Float),
    Column("grade", Integer),
    Column("comment", Text),
    Column("source_path", Text),  # the redshift table it came from
)

mosfire_spectra = Table(
    "mosfire_spectra",
    metadata,
    Column("mosfire_id", _ID, primary_key=True, autoincrement=True),
    Column("source_path", Text),
    Column("ra_targ", Float),
    Column("dec_targ", Float),
    Column("datemask", String(128)),
    Column("progpi", String(128)),
    Column("target_name", String(128)),
    Column("filter", String(16)),
    Column("wmin", Float),  # Angstrom, as DJA lists them
    Column("wmax", Float),
    Column("exptime", Float),
    Column("file", Text),
    Column("slit_width", Float),  # arcsec
    Column("slit_length", Float),
    Column("skypa3", Float),
    Column("ra_slit", Float),
    Column("dec_slit", Float),
)
Index("ix_mosfire_dec", mosfire_spectra.c.dec_targ)

dja_spectra_files = Table(
    "dja_spectra_files",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("kind", String(16)),  # spec | redshifts | mosfire
    Column("size", BigInteger),
    Column("mtime", Float),
)

ALL_TABLES = [
    nirspec_slits,
    nirspec_extractions,
    nirspec_traces,
    nirspec_redshifts,
    mosfire_spectra,
    dja_spectra_files,
]
