"""Columns of the Mashup CAOM services: SQL expression, Mashup type and the
columnsconfig entry astroquery reads (``text``, ``vot.datatype``,
``vot.description``, ``separator``, ``unit``).

astroquery refuses a filter on a column the columnsconfig does not list and
treats ``vot.datatype`` double/float as a continuous (min/max) filter, so these
tables are the contract: every column here is returned and filterable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, cast, literal

from webbarchive.catalog.rights import (
    observation_release_expr,
    product_release_expr,
    rights_expr,
)
from webbarchive.catalog.schema import observations, products

#: Mashup field type -> columnsconfig vot.datatype.
VOT_DATATYPE = {
    "string": "char",
    "float": "double",
    "int": "int",
    "long": "long",
    "boolean": "boolean",
}


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # Mashup field type: string, float, int, long, boolean
    text: str
    description: str
    unit: str | None = None
    separator: str | None = None

    def config(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "text": self.text,
            "vot.datatype": VOT_DATATYPE[self.kind],
            "vot.description": self.description,
        }
        if self.separator:
            entry["separator"] = self.separator
        if self.unit:
            entry["unit"] = entry["vot.unit"] = self.unit
        return entry


o = observations.c
#: CAOM observation columns, in MAST's order (fixture caom.json), then JWST extras.
OBSERVATION_COLUMNS: list[Column] = [
    Column(
        "intentType",
        "string",
        "Observation Type",
        "Whether observation is for science or calibration.",
    ),
    Column("obs_collection", "string", "Mission", "Collection", separator=";"),
    Column("dataproduct_type", "string", "Product Type", "Type of product"),
    Column("instrument_name", "string", "Instrument", "Instrument Name"),
    Column("project", "string", "Project", "Processing project", separator=";"),
    Column("filters", "string", "Filters", "Instrument filters", separator=";"),
    Column("wavelength_region", "string", "Waveband", "Energy Band", separator=";"),
    Column("target_name", "string", "Target Name", "Target Name"),
    Column(
        "target_classification", "string", "Target Classification", "Type of target", separator=";"
    ),
    Column("obs_id", "string", "Observation ID", "Observation identifier, given by mission"),
    Column("s_ra", "float", "RA", "Observation Right Ascension", unit="deg"),
    Column("s_dec", "float", "Dec", "Observation Declination", unit="deg"),
    Column("proposal_id", "string", "Proposal ID", "Proposal ID"),
    Column("proposal_pi", "string", "Principal Investigator", "Principal investigator's last name"),
    Column(
        "proposal_type", "string", "Proposal Type", "Proposal category (GO, GTO, ERS, DD, CAL ...)"
    ),
    Column("calib_level", "int", "Calibration Level", "Calibration level"),
    Column("t_min", "float", "Start Time", "Observation start datetime (MJD)", unit="d"),
    Column("t_max", "float", "End Time", "Observation end datetime (MJD)", unit="d"),
    Column("t_exptime", "float", "Exposure Length", "Exposure time", unit="s"),
    Column("em_min", "float", "Min. Wavelength", "Minimum Wavelength", unit="nm"),
    Column("em_max", "float", "Max. Wavelength", "Maximum Wavelength", unit="nm"),
    Column("obs_title", "string", "Observation Title", "Observation description from proposal"),
    Column("t_obs_release", "float", "Release Date", "Dataset release date (MJD)", unit="d"),
    Column("s_region", "string", "s_region", "STC/S Footprint (ICRS, degrees)", unit="deg"),
    Column("jpegURL", "string", "jpegURL", "Preview Image URL"),
    Column("dataURL", "string", "Data URL", "Data URL"),
    Column("obsType", "string", "Observation Mode", "PRIME or PARALLEL"),
    Column("pol_states", "string", "Polarization States", "Polarization states", separator=";"),
    Column("provenance_name", "string", "Provenance", "Pipeline that produced the data"),
    Column("sequence_number", "int", "Sequence Number", "Sequence number"),
    Column("mtFlag", "boolean", "Moving Target", "Moving Target Flag"),
    Column(
        "srcDen", "float", "Associated Catalogs", "Number of cataloged objects found in observation"
    ),
    Column("obsid", "long", "Product Group ID", "Database identifier for obs_id"),
    Column("objID", "long", "Object ID", "Plane ID of observation at given calibration level"),
    Column("dataRights", "string", "Data Rights", "PUBLIC or EXCLUSIVE_ACCESS, at request time"),
]
OBSERVATION_BY_NAME = {c.name.lower(): c for c in OBSERVATION_COLUMNS}
DISTANCE = Column(
    "distance",
    "float",
    'Distance (")',
    "Angular separation between searched coordinates and center of observation",
    unit="arcsec",
)


def observation_expr(name: str) -> ColumnElement:
    """The SQL expression of an observation column (by its Mashup name)."""
    if name == "dataRights":
        return rights_expr(observation_release_expr())
    return observations.c[name]


#: Wire type per column: obsid and objID are "string" at MAST (astroquery joins
#: obsid values into the Mast.Caom.Products request as text).
WIRE_TYPE = {"obsid": "string", "objID": "string", "long": "int"}


def wire_type(column: Column) -> str:
    return WIRE_TYPE.get(column.name) or WIRE_TYPE.get(column.kind) or column.kind


p = products.c
#: Mast.Caom.Products columns (fixture products.json order, then JWST extras).
PRODUCT_COLUMNS: list[Column] = [
    Column(
        "obsID", "string", "Product Group ID", "Database identifier of the product's observation"
    ),
    Column("obs_collection", "string", "Mission", "Collection"),
    Column("dataproduct_type", "string", "Product Type", "Type of product"),
    Column("obs_id", "string", "Observation ID", "Observation identifier of the product"),
    Column("description", "string", "Description", "File description"),
    Column("type", "string", "Type", "D (data) or S (simulation/ancillary)"),
    Column("dataURI", "string", "URI", "Data URI: mast:JWST/product/<filename>"),
    Column("productType", "string", "Product Type", "SCIENCE, AUXILIARY, INFO or PREVIEW"),
    Column(
        "productGroupDescription", "string", "Product Group", "Minimum Recommended Products or null"
    ),
    Column(
        "productSubGroupDescription",
        "string",
        "Product Subgroup",
        "File suffix, upper case (X1D, CAL ...)",
    ),
    Column("productDocumentationURL", "string", "Documentation", "Documentation URL"),
    Column("project", "string", "Project", "Processing project"),
    Column("prvversion", "string", "Product Version", "Calibration software version (CAL_VER)"),
    Column("proposal_id", "string", "Proposal ID", "Proposal ID"),
    Column("productFilename", "string", "Filename", "File name"),
    Column("size", "long", "Size", "File size", unit="byte"),
    Column("parent_obsid", "string", "Parent Product Group ID", "obsid that was asked for"),
    Column("dataRights", "string", "Data Rights", "PUBLIC or EXCLUSIVE_ACCESS, at request time"),
    Column("calib_level", "int", "Calibration Level", "Calibration level"),
    Column("productLevel", "string", "Product Level", "JWST pipeline level (1b, 2a, 2b, 3)"),
    Column("exp_type", "string", "Exposure Type", "EXP_TYPE keyword"),
    Column("template", "string", "Template", "APT template"),
    Column("checksum", "string", "MD5", "md5 of the file (hex)"),
]


def product_select_columns() -> list[ColumnElement]:
    """SELECT list for Mast.Caom.Products over products JOIN observations."""
    return [
        cast(p.obsid, String).label("obsID"),
        o.obs_collection.label("obs_collection"),
        p.dataproduct_type.label("dataproduct_type"),
        o.obs_id.label("obs_id"),
        p.description.label("description"),
        p.type.label("type"),
        (literal("mast:JWST/product/") + p.filename).label("dataURI"),
        p.productType.label("productType"),
        p.productGroupDescription.label("productGroupDescription"),
        p.productSubGroupDescription.label("productSubGroupDescription"),
        literal(None, String).label("productDocumentationURL"),
        o.project.label("project"),
        p.prvversion.label("prvversion"),
        p.proposal_id.label("proposal_id"),
        p.filename.label("productFilename"),
        p.size.label("size"),
        cast(p.obsid, String).label("parent_obsid"),
        rights_expr(product_release_expr()).label("dataRights"),
        p.calib_level.label("calib_level"),
        p.productLevel.label("productLevel"),
        p.exp_type.label("exp_type"),
        p.template.label("template"),
        p.checksum.label("checksum"),
    ]


def columns_config(columns: list[Column]) -> dict[str, dict[str, Any]]:
    return {c.name: c.config() for c in columns}
