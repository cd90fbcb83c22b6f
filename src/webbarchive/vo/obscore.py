"""``ivoa.obscore``: the IVOA ObsCore 1.1 view of the catalog.

One row per **science product** (``products.productType = 'SCIENCE'``, or no
type recorded), joined to its observation. ObsCore describes *datasets*: each
row must lead to one downloadable file through ``access_url`` and say its
size (``access_estsize``) and format, which only a product has. Observation
fields (position, footprint, time and spectral coverage, target, program)
come from the observation the product belongs to, as CAOM planes inherit them.
Planned visits are rows too (``calib_level = -1``, as in MAST's ObsCore): their
product columns (``access_url``, size, format, file name) are null, ``t_min``/
``t_max`` the planned window (:mod:`webbarchive.plans.observations`).

Units follow the standard: degrees, MJD, seconds, metres (the catalog's
``em_min``/``em_max`` are nm and are converted here), kB. Rows a user may not
see are removed here, per request, through :mod:`webbarchive.catalog.rights`
(product *and* observation visibility), so no query can reach them.

``s_resolution`` is the diffraction limit of JWST's 6.5 m aperture at the
middle of the band (1.028 lambda/D in arcsec), an estimate good to the
sampling of the instruments; ``s_fov`` is the diameter of the circle around
the footprint's centre that holds every vertex.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, cast, func, literal, null, or_, select, text, union_all
from sqlalchemy import types as satypes

from webbarchive.catalog.rights import (
    EXCLUSIVE_ACCESS,
    PUBLIC,
    User,
    barrier,
    planned_expr,
    product_release_expr,
    public_expr,
    visible_observations,
    visible_products,
)
from webbarchive.catalog.schema import observations, products
from webbarchive.vo.metadata import ColumnDef, TableDef

DOWNLOAD_PATH = "/api/v0.1/Download/file?uri=mast:JWST/product/"
PUBLISHER_DID_PREFIX = "ivo://webbarchive/jwst?"
OBSCORE_MODEL = "ivo://ivoa.net/std/ObsCore#core-1.1"
JWST_APERTURE_M = 6.5
RAD_TO_ARCSEC = 206264.80624709636


@dataclass(frozen=True)
class QueryContext:
    """What a table builder needs to know about the request."""

    user: User
    base_url: str  # "http://host:port" with no trailing slash


def _c(name, datatype, ucd, utype, unit=None, description="", arraysize=None, **kw) -> ColumnDef:
    if datatype == "char" and arraysize is None:
        arraysize = "*"
    return ColumnDef(
        name=name,
        datatype=datatype,
        ucd=ucd,
        utype=utype and f"obscore:{utype}",
        unit=unit,
        description=description,
        arraysize=arraysize,
        std=1 if utype else 0,
        **kw,
    )


OBSCORE_COLUMNS: list[ColumnDef] = [
    _c(
        "dataproduct_type",
        "char",
        "meta.code.class",
        "ObsDataset.dataProductType",
        description="Data product type: image, cube, spectrum, timeseries, measurements",
        principal=1,
    ),
    _c(
        "calib_level",
        "short",
        "meta.code;obs.calib",
        "ObsDataset.calibLevel",
        description="Calibration level: -1 planned, 1 raw, 2 calibrated, 3 combined",
        principal=1,
    ),
    _c(
        "obs_collection",
        "char",
        "meta.id",
        "DataID.Collection",
        description="Collection name (JWST)",
        principal=1,
    ),
    _c(
        "obs_id",
        "char",
        "meta.id",
        "DataID.observationID",
        description="Observation identifier (MAST obs_id)",
        principal=1,
        indexed=1,
    ),
    _c(
        "obs_publisher_did",
        "char",
        "meta.ref.ivoid",
        "Curation.PublisherDID",
        description="IVOA dataset identifier of this product",
        principal=1,
    ),
    _c(
        "access_url",
        "char",
        "meta.ref.url",
        "Access.Reference",
        description="URL downloading the product file",
        principal=1,
    ),
    _c(
        "access_format",
        "char",
        "meta.code.mime",
        "Access.Format",
        description="MIME type of the product file",
        principal=1,
    ),
    _c(
        "access_estsize",
        "long",
        "phys.size;meta.file",
        "Access.Size",
        unit="kbyte",
        description="Size of the product file",
        principal=1,
    ),
    _c(
        "target_name",
        "char",
        "meta.id;src",
        "Target.Name",
        description="Target name as given by the proposer",
        principal=1,
    ),
    _c(
        "s_ra",
        "double",
        "pos.eq.ra",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C1",
        unit="deg",
        description="Right ascension (ICRS) of the observation centre",
        principal=1,
        indexed=1,
    ),
    _c(
        "s_dec",
        "double",
        "pos.eq.dec",
        "Char.SpatialAxis.Coverage.Location.Coord.Position2D.Value2.C2",
        unit="deg",
        description="Declination (ICRS) of the observation centre",
        principal=1,
        indexed=1,
    ),
    _c(
        "s_fov",
        "double",
        "phys.angSize;instr.fov",
        "Char.SpatialAxis.Coverage.Bounds.Extent.diameter",
        unit="deg",
        description="Diameter of the region covered",
    ),
    _c(
        "s_region",
        "char",
        "pos.outline;obs.field",
        "Char.SpatialAxis.Coverage.Support.Area",
        xtype="adql:REGION",
        indexed=1,
        description="Footprint as an STC-S POLYGON (ICRS, degrees)",
    ),
    _c(
        "s_resolution",
        "double",
        "pos.angResolution",
        "Char.SpatialAxis.Resolution.Refval.value",
        unit="arcsec",
        description="Diffraction-limited resolution at mid-band",
    ),
    _c(
        "t_min",
        "double",
        "time.start;obs.exposure",
        "Char.TimeAxis.Coverage.Bounds.Limits.StartTime",
        unit="d",
        description="Start time (MJD)",
        principal=1,
    ),
    _c(
        "t_max",
        "double",
        "time.end;obs.exposure",
        "Char.TimeAxis.Coverage.Bounds.Limits.StopTime",
        unit="d",
        description="Stop time (MJD)",
        principal=1,
    ),
    _c(
        "t_exptime",
        "double",
        "time.duration;obs.exposure",
        "Char.TimeAxis.Coverage.Support.Extent",
        unit="s",
        description="Total exposure time",
        principal=1,
    ),
    _c(
        "t_resolution",
        "double",
        "time.resolution",
        "Char.TimeAxis.Resolution.Refval.value",
        unit="s",
        description="Time resolution (not recorded: NULL)",
    ),
    _c(
        "em_min",
        "double",
        "em.wl;stat.min",
        "Char.SpectralAxis.Coverage.Bounds.Limits.LoLimit",
        unit="m",
        description="Shortest wavelength observed",
        principal=1,
    ),
    _c(
        "em_max",
        "double",
        "em.wl;stat.max",
        "Char.SpectralAxis.Coverage.Bounds.Limits.HiLimit",
        unit="m",
        description="Longest wavelength observed",
        principal=1,
    ),
    _c(
        "em_res_power",
        "double",
        "spect.resolution",
        "Char.SpectralAxis.Resolution.ResolPower.refVal",
        description="Spectral resolving power (not recorded: NULL)",
    ),
    _c("o_ucd", "char", "meta.ucd", "Char.ObservableAxis.ucd", description="UCD of the observable"),
    _c(
        "pol_states",
        "char",
        "meta.code;phys.polarization",
        "Char.PolarizationAxis.stateList",
        description="Polarization states (JWST: none)",
    ),
    _c(
        "facility_name",
        "char",
        "meta.id;instr.tel",
        "Provenance.ObsConfig.facility.name",
        description="Facility: JWST",
        principal=1,
    ),
    _c(
        "instrument_name",
        "char",
        "meta.id;instr",
        "Provenance.ObsConfig.instrument.name",
        description="Instrument and mode, as at MAST (NIRSPEC/MSA)",
        principal=1,
    ),
    _c(
        "s_xel1",
        "long",
        "meta.number",
        "Char.SpatialAxis.numBins1",
        description="Pixels along the first spatial axis (not recorded: NULL)",
    ),
    _c(
        "s_xel2",
        "long",
        "meta.number",
        "Char.SpatialAxis.numBins2",
        description="Pixels along the second spatial axis (not recorded: NULL)",
    ),
    _c(
        "t_xel",
        "long",
        "meta.number",
        "Char.TimeAxis.numBins",
        description="Time bins (not recorded: NULL)",
    ),
    _c(
        "em_xel",
        "long",
        "meta.number",
        "Char.SpectralAxis.numBins",
        description="Spectral bins (not recorded: NULL)",
    ),
    _c(
        "pol_xel",
        "long",
        "meta.number",
        "Char.PolarizationAxis.numBins",
        description="Polarization bins (not recorded: NULL)",
    ),
    _c("obs_title", "char", "meta.title;obs", "DataID.Title", description="Title of the proposal"),
    _c(
        "target_class",
        "char",
        "src.class",
        "Target.Class",
        description="Target classification as given by the proposer",
    ),
    _c(
        "proposal_id",
        "char",
        "meta.id;obs.proposal",
        "Provenance.Proposal.identifier",
        description="JWST program (proposal) number",
        principal=1,
    ),
    _c(
        "data_rights",
        "char",
        "meta.code",
        "Curation.Rights",
        description="public or proprietary (exclusive access period)",
    ),
    # MAST-compatible extras (not part of the ObsCore model).
    _c(
        "dataRights",
        "char",
        "meta.code",
        None,
        description="MAST data rights: PUBLIC or EXCLUSIVE_ACCESS",
    ),
    _c(
        "obs_release_mjd",
        "double",
        "time.release",
        None,
        unit="d",
        description="Effective public release date (MJD)",
    ),
    _c(
        "productFilename",
        "char",
        "meta.id;meta.file",
        None,
        description="Product file name (mast:JWST/product/<productFilename>)",
    ),
    _c(
        "productLevel",
        "char",
        "meta.code",
        None,
        description="JWST pipeline level of the product (1b, 2a, 2b, 3)",
    ),
    _c(
        "filters",
        "char",
        "instr.filter",
        None,
        description="Filters/gratings, as MAST (F290LP;G395M)",
    ),
    _c("proposal_pi", "char", "meta.id.PI", None, description="Principal investigator"),
]


def obscore_select(ctx: QueryContext):
    """The two SELECTs whose union is ``ivoa.obscore`` for ``ctx.user``: science
    products with their observations, and planned visits (``calib_level`` -1)."""
    o, p = observations, products
    release = product_release_expr()
    public = public_expr(release)
    dptype = func.coalesce(p.c.dataproduct_type, o.c.dataproduct_type)
    filename = p.c.filename
    em_mid_m = (o.c.em_min + o.c.em_max) / 2 * 1e-9
    columns = [
        dptype.label("dataproduct_type"),
        func.coalesce(p.c.calib_level, o.c.calib_level).label("calib_level"),
        func.coalesce(o.c.obs_collection, literal("JWST")).label("obs_collection"),
        o.c.obs_id.label("obs_id"),
        (literal(PUBLISHER_DID_PREFIX) + filename).label("obs_publisher_did"),
        (literal(ctx.base_url + DOWNLOAD_PATH) + filename).label("access_url"),
        case(
            (filename.like("%.fits"), "application/fits"),
            (filename.like("%.json"), "application/json"),
            (filename.like("%.ecsv"), "text/plain"),
            (filename.like("%.jpg"), "image/jpeg"),
            (filename.like("%.png"), "image/png"),
            else_="application/octet-stream",
        ).label("access_format"),
        ((p.c.size + 1023) // 1024).label("access_estsize"),
        o.c.target_name.label("target_name"),
        o.c.s_ra.label("s_ra"),
        o.c.s_dec.label("s_dec"),
        func.wa_fov(o.c.s_region).label("s_fov"),
        o.c.s_region.label("s_region"),
        (em_mid_m / JWST_APERTURE_M * 1.028 * RAD_TO_ARCSEC).label("s_resolution"),
        o.c.t_min.label("t_min"),
        o.c.t_max.label("t_max"),
        o.c.t_exptime.label("t_exptime"),
        cast(null(), satypes.Float).label("t_resolution"),
        (o.c.em_min * 1e-9).label("em_min"),
        (o.c.em_max * 1e-9).label("em_max"),
        cast(null(), satypes.Float).label("em_res_power"),
        case(
            (dptype.in_(["spectrum", "cube"]), "phot.flux.density;em.wl"),
            (dptype == "image", "phot.flux.density.sb"),
            else_=None,
        ).label("o_ucd"),
        o.c.pol_states.label("pol_states"),
        literal("JWST").label("facility_name"),
        o.c.instrument_name.label("instrument_name"),
        *(
            cast(null(), satypes.BigInteger).label(name)
            for name in ("s_xel1", "s_xel2", "t_xel", "em_xel", "pol_xel")
        ),
        o.c.obs_title.label("obs_title"),
        o.c.target_classification.label("target_class"),
        o.c.proposal_id.label("proposal_id"),
        case((public, "public"), else_="proprietary").label("data_rights"),
        case((public, PUBLIC), else_=EXCLUSIVE_ACCESS).label("datarights"),
        release.label("obs_release_mjd"),
        filename.label("productfilename"),
        p.c.productLevel.label("productlevel"),
        o.c.filters.label("filters"),
        o.c.proposal_pi.label("proposal_pi"),
        o.c.obsid.label("_obsid"),  # hidden: joins the HEALPix sky index
    ]
    science = (
        select(*columns)
        .select_from(p.join(o, p.c.obsid == o.c.obsid))
        .where(
            or_(p.c.productType.is_(None), p.c.productType == "SCIENCE"),
            visible_products(ctx.user),
            visible_observations(ctx.user),
        )
    )
    # Planned visits (calib_level -1, no products) are rows too, as at MAST: the
    # product columns are null, the rights those of data not yet taken.
    planned_values = {
        "obs_publisher_did": literal(PUBLISHER_DID_PREFIX) + o.c.obs_id,
        "access_format": cast(null(), satypes.String),
        "data_rights": literal("proprietary"),
        "datarights": literal(EXCLUSIVE_ACCESS),
        "obs_release_mjd": cast(null(), satypes.Float),
    }
    planned = (
        select(*(planned_values.get(c.name, c).label(c.name) for c in columns))
        .select_from(o.outerjoin(p, p.c.obsid == o.c.obsid))
        .where(planned_expr(), p.c.product_id.is_(None), visible_observations(ctx.user))
    )
    return science, planned


def build_obscore_sql(dialect: str, ctx: QueryContext, where: list[str] | tuple = ()) -> str:
    """``ivoa.obscore`` for ``ctx.user`` as a rights barrier, narrowed by ``where``
    (conditions on ``observations``/``products`` that cannot fail, copied from
    the user's query by the ADQL translator so indexes still serve it; on the
    planned rows, products' columns are null, as the view's are)."""
    from sqlalchemy.dialects import postgresql, sqlite

    science, planned = obscore_select(ctx)
    for condition in where:
        science = science.where(text(condition))
        planned = planned.where(text(condition))
    query = union_all(science, planned)
    d = postgresql.dialect() if dialect == "postgresql" else sqlite.dialect()
    return str(barrier(query).compile(dialect=d, compile_kwargs={"literal_binds": True}))


#: ObsCore columns that are plain base columns: conditions on them are copied
#: into the barrier (ADQL column -> SQL on the base tables).
PUSHABLE = {
    "obs_id": "observations.obs_id",
    "proposal_id": "observations.proposal_id",
    "target_name": "observations.target_name",
    "instrument_name": "observations.instrument_name",
    "s_ra": "observations.s_ra",
    "s_dec": "observations.s_dec",
    "t_min": "observations.t_min",
    "t_max": "observations.t_max",
    "t_exptime": "observations.t_exptime",
    "productfilename": "products.filename",
}


OBSCORE_TABLE = TableDef(
    schema="ivoa",
    name="obscore",
    description="ObsCore 1.1: one row per JWST science product, with access URL",
    columns=OBSCORE_COLUMNS,
    build=build_obscore_sql,
    table_type="view",
    utype="ivo://ivoa.net/std/obscore#table-1.1",
    hidden=["_obsid"],
    guarded=True,
    pushable=PUSHABLE,
)
