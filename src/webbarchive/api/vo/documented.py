"""The IVOA services' parameters, as /docs shows them.

The services read their parameters themselves (:func:`webbarchive.api.vo.vo_params`):
DALI makes names case-insensitive and lets SIA parameters repeat, which FastAPI's
``Query`` cannot say. These lists document the upper-case spelling with the
standards' units and the examples of the seed documents; the routes pass them
as ``openapi_extra`` (query string for GET, form body for POST).
"""

from __future__ import annotations

from webbarchive.api.openapi_docs import VOTABLE_ERROR as VOTABLE_ERROR
from webbarchive.api.openapi_docs import VOTABLE_MIME as VOTABLE
from webbarchive.api.openapi_docs import (  # noqa: F401  (re-exported for the routers)
    Param,
    form,
    integer,
    media,
    number,
    query,
    required,
    text,
    votable_errors,
)
from webbarchive.vo.formats import FORMATS

MAXREC = integer(
    "MAXREC", "most rows to return (default 10000, at most the service's hard limit)", 100,
    minimum=0,
)  # fmt: skip

SCS = (
    required(
        number("RA", "right ascension (ICRS degrees)", 53.16, minimum=0, exclusiveMaximum=360)
    ),
    required(number("DEC", "declination (ICRS degrees)", -27.78, minimum=-90, maximum=90)),
    required(number("SR", "search radius (degrees)", 0.1, minimum=0, maximum=180)),
    integer("VERB", "verbosity 1..3 (every ObsCore column is returned)", 2, minimum=1, maximum=3),
    MAXREC,
)

_NUM = r"(0|[1-9]\d{0,2})(\.\d{1,4})?"
SIA = (
    text(
        "POS",
        "region (degrees): CIRCLE ra dec radius, RANGE ra1 ra2 dec1 dec2 or "
        "POLYGON ra1 dec1 ra2 dec2 ra3 dec3 ...; repeat to OR",
        "CIRCLE 53.16 -27.78 0.1",
        pattern=rf"^CIRCLE {_NUM} -?{_NUM} {_NUM}$",
    ),
    text("BAND", "wavelength interval 'lo hi' in metres (-Inf/+Inf open)", "1.5e-6 2.5e-6"),
    text("TIME", "time interval 'lo hi' in MJD", "59800 60000"),
    text("POL", "polarization states"),
    text("FOV", "field of view interval 'lo hi' (degrees)", "0.01 1"),
    text("SPATRES", "spatial resolution interval 'lo hi' (arcsec)", "0 0.2"),
    text("EXPTIME", "exposure time interval 'lo hi' (seconds)", "100 +Inf"),
    text("ID", "obs_publisher_did"),
    text("COLLECTION", "obs_collection", "JWST"),
    text("FACILITY", "facility_name", "JWST"),
    text("INSTRUMENT", "instrument_name", "NIRCAM"),
    text("DPTYPE", "dataproduct_type (default: image and cube)", "image"),
    integer("CALIB", "calibration level 0..4", 3, minimum=0, maximum=4),
    text("TARGET", "target_name"),
    text("FORMAT", "access_format", "application/fits"),
    MAXREC,
)

SSA = (
    required(text("REQUEST", "the SSAP request", "queryData", enum=["queryData"])),
    text(
        "POS",
        "position 'ra,dec' (ICRS degrees)",
        "53.16,-27.78",
        pattern=r"^(0|[1-9]\d?|[12]\d\d|3[0-5]\d)(\.\d{1,4})?,-?([1-8]?\d)(\.\d{1,4})?$",
    ),
    number("SIZE", "search diameter (degrees), default 0.1", 0.1, exclusiveMinimum=0, maximum=180),
    text("BAND", "wavelength interval 'lo/hi' in metres", "1e-6/5e-6"),
    text("TIME", "time interval 'start/end' (ISO 8601)", "2022-07-01/2023-01-01"),
    text(
        "FORMAT",
        "fits (the spectra's format) or all",
        "all",
        enum=["all", "any", "compliant", "votable", "metadata", "fits", "native"],
    ),
    MAXREC,
    integer("TOP", "alias of MAXREC", 100, minimum=0),
)

_ALIASES = sorted({alias for f in FORMATS for alias in f.aliases[:2]})
TAP_QUERY = (
    required(text("LANG", "query language", "ADQL", enum=["ADQL", "ADQL-2.0", "ADQL-2.1"])),
    required(
        text(
            "QUERY",
            "an ADQL SELECT statement",
            "SELECT TOP 10 obs_id, s_ra, s_dec FROM ivoa.obscore WHERE instrument_name = 'NIRCAM'",
        )
    ),
    text("REQUEST", "doQuery (the only request)", "doQuery", enum=["doQuery"]),
    text("RESPONSEFORMAT", "result format", "votable", enum=_ALIASES),
    text("FORMAT", "alias of RESPONSEFORMAT", enum=_ALIASES),
    MAXREC,
    text("UPLOAD", "table uploads 'name,url' (param:part for POSTed files)"),
)
TAP_MEDIA = sorted({f.mime.split(";")[0] for f in FORMATS})

UWS_JOB_LIST = (
    text("PHASE", "only jobs in this phase (repeatable)", "COMPLETED",
         enum=["PENDING", "QUEUED", "EXECUTING", "COMPLETED", "ERROR", "ABORTED", "HELD",
               "SUSPENDED", "ARCHIVED"]),
    integer("LAST", "only the LAST most recent jobs", 10, minimum=0),
)  # fmt: skip
UWS_WAIT = (
    integer("WAIT", "block up to WAIT seconds while the job is in PHASE (UWS 1.1)", 5, minimum=0),
    text("PHASE", "the phase to wait on", "EXECUTING"),
)
UWS_PHASE = (required(text("PHASE", "RUN or ABORT", "RUN", enum=["RUN", "ABORT"])),)
UWS_ACTION = (text("ACTION", "DELETE removes the job", "DELETE", enum=["DELETE"]),)
UWS_DURATION = (required(integer("EXECUTIONDURATION", "seconds", 60, minimum=0)),)
UWS_DESTRUCTION = (required(text("DESTRUCTION", "ISO 8601 time", "2030-01-01T00:00:00Z")),)


def get_params(params: tuple[Param, ...]) -> dict:
    """``openapi_extra`` of a GET route reading ``params``."""
    return query(*params)


def post_params(params: tuple[Param, ...]) -> dict:
    """``openapi_extra`` of a POST route reading ``params`` from its form body."""
    return form(*params)


def votable_answers(*codes: int) -> dict:
    """``responses=`` of a DAL query: a VOTable, errors as ERROR VOTables."""
    return media(VOTABLE, description="the result VOTable") | votable_errors(*codes)
