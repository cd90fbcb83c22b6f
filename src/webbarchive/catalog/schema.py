"""The catalog schema (SQLAlchemy Core), shared by SQLite and PostgreSQL.

One catalog serves every API family. Column names follow CAOM and the MAST
seeds (``obs_id``, ``s_ra``, ``t_obs_release``, ``productSubGroupDescription``)
so that routers can hand rows to renderers without renaming.

Units: angles in degrees (ICRS), times in MJD (UTC), wavelengths in nm for
CAOM ``em_min``/``em_max`` (as MAST's CAOM reports them; the ObsCore view
converts to metres) and in microns elsewhere, sizes in bytes.

Data rights are *not* stored: they are computed at request time from
``t_obs_release`` / ``publicReleaseDate_mjd`` (and a per-program override in
``programs``) by :mod:`webbarchive.catalog.rights`, so data become public at
their release moment without any job.

Tables of later capabilities (accounts and tokens, pixel search, DJA, VO) live
in their own modules and register on the same :data:`metadata`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
)

metadata = MetaData()

#: One row per JWST program (proposal). ``release_override_mjd`` lets an admin
#: move the public release of a whole program (EAP extension or early release).
programs = Table(
    "programs",
    metadata,
    Column("proposal_id", String(16), primary_key=True),  # "1039", no zero padding
    Column("proposal_pi", Text),
    Column("obs_title", Text),
    Column("proposal_type", String(32)),
    Column("release_override_mjd", Float),
)

#: CAOM-style observations: level-3 combined products share one obs_id
#: (``jw01039-o004_t001_miri_ch3-long``), a level-2 exposure is its own
#: observation (``jw01039004001_02101_00001_mirifulong``).
observations = Table(
    "observations",
    metadata,
    Column(
        "obsid", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("obs_id", String(128), nullable=False, unique=True),
    Column("obs_collection", String(16), nullable=False, default="JWST"),
    Column("dataproduct_type", String(16)),  # image, spectrum, cube, measurements
    Column("calib_level", Integer),
    Column("obsType", String(16)),  # PRIME, PARALLEL
    Column("intentType", String(16)),  # science, calibration
    Column("target_name", Text),
    Column("target_classification", Text),
    Column("s_ra", Float),
    Column("s_dec", Float),
    Column("s_region", Text),  # STC-S "POLYGON ra dec ..." (degrees, ICRS)
    Column("t_min", Float),
    Column("t_max", Float),
    Column("t_exptime", Float),  # seconds
    Column("wavelength_region", String(32)),
    Column("instrument_name", String(64)),  # "NIRSPEC/MSA", "MIRI/IFU", "NIRCAM/IMAGE"
    Column("filters", Text),  # "F290LP;G395M"
    Column("em_min", Float),  # nm
    Column("em_max", Float),  # nm
    Column("pol_states", Text),
    Column("obs_title", Text),
    Column("t_obs_release", Float),  # MJD of public release
    Column("proposal_pi", Text),
    Column("proposal_id", String(16), ForeignKey("programs.proposal_id")),
    Column("proposal_type", String(32)),
    Column("provenance_name", String(32)),
    Column("project", String(32)),
    Column("sequence_number", Integer),
    Column("jpegURL", Text),
    Column("dataURL", Text),
    Column("mtFlag", Boolean),
    Column("srcDen", Float),
    Column("objID", BigInteger),
    Column("exp_type", String(32)),
    Column("template", Text),
    Column("footprint_source", String(16)),  # s_region | wcs | target
)
Index("ix_observations_proposal", observations.c.proposal_id)
Index("ix_observations_release", observations.c.t_obs_release)
#: pgsphere GiST index on exactly the expression ADQL point predicates translate to
#: (webbarchive.vo), so the planner uses it; PostgreSQL only.
Index(
    "ix_observations_spoint",
    func.spoint(func.radians(observations.c.s_ra), func.radians(observations.c.s_dec)),
    postgresql_using="gist",
).ddl_if(dialect="postgresql")

#: One row per file. ``filename`` is unique across the archive, as at MAST
#: (``mast:JWST/product/<filename>``). ``path`` is the storage key.
products = Table(
    "products",
    metadata,
    Column(
        "product_id",
        BigInteger().with_variant(Integer, "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),  # ArchiveFileID
    Column(
        "obsid", BigInteger, ForeignKey("observations.obsid", ondelete="CASCADE"), nullable=False
    ),
    Column("filename", String(255), nullable=False, unique=True),
    Column("path", Text, nullable=False),  # storage key, relative to the storage root
    Column("fileSetName", String(128)),  # "jw01039-o004_t001_miri"
    Column("productLevel", String(4)),  # "1b", "2a", "2b", "3"
    Column("calib_level", Integer),
    Column("suffix", String(32)),  # x1d, c1d, s2d, s3d, cal, rate, i2d, msa, asn, drc_sci ...
    Column("productType", String(16)),  # SCIENCE, AUXILIARY, INFO, PREVIEW
    Column("productGroupDescription", Text),  # "Minimum Recommended Products" or null
    Column("productSubGroupDescription", String(32)),  # "X1D", "S3D" ...
    Column("description", Text),
    Column("type", String(1)),  # D (data) or S (simulation/ancillary), as CAOM
    Column("dataproduct_type", String(16)),
    Column("datamodel", String(64)),  # DATAMODL keyword
    Column("instrument", String(16)),  # INSTRUME keyword
    Column("exp_type", String(32)),
    Column("template", Text),
    Column("prvversion", String(32)),  # CAL_VER
    Column("proposal_id", String(16)),
    Column("s_ra", Float),
    Column("s_dec", Float),
    Column("s_region", Text),
    Column("footprint_source", String(16)),  # s_region | wcs | target (as observations)
    Column("t_min", Float),
    Column("t_max", Float),
    Column("size", BigInteger, nullable=False),  # bytes
    Column("checksum", String(32), nullable=False),  # md5 hex
    Column("mtime", Float),  # file modification time (unix seconds) when ingested
    Column("ingestStartDate_mjd", Float),
    Column("ingestCompletionDate_mjd", Float),
    Column("publicReleaseDate_mjd", Float),
)
Index("ix_products_obsid", products.c.obsid)
Index("ix_products_suffix", products.c.suffix)
Index("ix_products_proposal", products.c.proposal_id)

#: Every header keyword of every product, typed, one row each; date keywords
#: also appear as ``<name>_mjd`` twins (as in the seed's keywords/search).
#: ``value`` holds the JSON encoding of the typed value (string, number,
#: boolean as "t"/"f" like MAST, or null); ``num`` the numeric value when it
#: has one, for range filters.
keywords = Table(
    "keywords",
    metadata,
    Column(
        "product_id",
        BigInteger,
        ForeignKey("products.product_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("name", String(72), primary_key=True),  # lower case, "-" -> "_", as MAST
    Column("hdu", String(32)),  # extension the keyword was read from
    Column("value", Text),
    Column("num", Float),
)
Index("ix_keywords_name_num", keywords.c.name, keywords.c.num)

#: HEALPix (NESTED) cells covering each footprint, at :data:`SKY_INDEX_DEPTH`.
#: A sky query turns its region into cells at the same depth, joins here to get
#: candidates, and confirms each candidate with exact spherical geometry.
SKY_INDEX_DEPTH = 10  # ~3.4 arcmin cells
sky_index = Table(
    "sky_index",
    metadata,
    Column(
        "obsid", BigInteger, ForeignKey("observations.obsid", ondelete="CASCADE"), primary_key=True
    ),
    Column("hpx", BigInteger, primary_key=True),
)
Index("ix_sky_index_hpx", sky_index.c.hpx)

#: Engineering mnemonic metadata (info/mnemonics), loaded by ``ingest-mnemonics``.
mnemonics = Table(
    "mnemonics",
    metadata,
    Column("tlmMnemonic", String(64), primary_key=True),  # stored upper case
    Column("subsystem", String(32)),
    Column("tlmIdentifier", BigInteger),
    Column("description", Text),
    Column("sqlDataType", String(32)),
    Column("unit", String(32)),
)

#: Planned and scheduled JWST visits (MAST marks them ``calib_level = -1``),
#: loaded by ``ingest-plans`` (:mod:`webbarchive.plans`). Public metadata at
#: MAST, whatever the program's exclusive access: no rights column.
#: ``target_ra``/``target_dec`` are the catalogued position at ``epoch_jyear``
#: (degrees, ICRS; proper motion in mas/yr, RA component times cos dec);
#: ``s_ra``/``s_dec`` the position moved by proper motion to the planned
#: window's start, which the duplication check compares against.
planned_visits = Table(
    "planned_visits",
    metadata,
    Column("proposal_id", String(16), primary_key=True),  # "1345", no zero padding
    Column("observation", Integer, primary_key=True),
    Column("visit", Integer, primary_key=True),
    Column("calib_level", Integer, nullable=False, default=-1),
    Column("target_name", Text, nullable=False),
    Column("target_ra", Float, nullable=False),
    Column("target_dec", Float, nullable=False),
    Column("pm_ra_mas_yr", Float),
    Column("pm_dec_mas_yr", Float),
    Column("epoch_jyear", Float),
    Column("s_ra", Float, nullable=False),
    Column("s_dec", Float, nullable=False),
    Column("instrument", String(16)),  # NIRSPEC, MIRI, NIRCAM, NIRISS
    Column("template", Text, nullable=False),  # APT template: "NIRSpec MultiObject Spectroscopy"
    Column("optical_elements", Text),  # "F290LP;G395M"
    Column("status", String(16), nullable=False),  # Completed, Scheduled, ...
    Column("t_plan_start", Float),  # MJD (UTC)
    Column("t_plan_end", Float),  # MJD (UTC)
)
Index("ix_planned_visits_dec", planned_visits.c.s_dec)
Index("ix_planned_visits_target", planned_visits.c.target_name)

#: Async UWS jobs (TAP), shared by every server process over this catalog, so a
#: job created through one worker is read, aborted and deleted through another
#: and survives a restart (:mod:`webbarchive.vo.uws`). Times are unix seconds;
#: ``parameters`` the JSON object of the job's parameters; ``rights`` the
#: fingerprint of the owner's rights the result was computed with; the result
#: itself is a file ``result_path`` (relative to the results folder) of
#: ``result_size`` bytes.
uws_jobs = Table(
    "uws_jobs",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("owner", Text),  # user name; null for anonymous (reachable by id only)
    Column("quota_key", Text, nullable=False),  # whom the caps count the job against
    Column("phase", String(16), nullable=False),
    Column("run_id", Text),
    Column("parameters", Text, nullable=False),
    Column("base_url", Text),  # the archive's URL as the creator reached it
    Column("created", Float, nullable=False),
    Column("started", Float),
    Column("ended", Float),
    Column("execution_duration", Integer, nullable=False),  # seconds
    Column("destruction", Float, nullable=False),
    Column("rights", String(64)),
    Column("result_path", Text),
    Column("result_size", BigInteger),
    Column("result_mime", String(64)),
    Column("error", Text),
    Column("withdrawn", Boolean, nullable=False, default=False),
)
Index("ix_uws_jobs_quota", uws_jobs.c.quota_key)
Index("ix_uws_jobs_owner", uws_jobs.c.owner)
Index("ix_uws_jobs_destruction", uws_jobs.c.destruction)
