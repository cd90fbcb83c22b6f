"""VOSI documents (availability, capabilities, tables) and the DALI examples page."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from webbarchive.errors import InvalidInput
from webbarchive.vo.formats import FORMATS
from webbarchive.vo.metadata import TableDef
from webbarchive.vo.obscore import OBSCORE_MODEL
from webbarchive.vo.tap_schema import FOREIGN_KEYS, all_tables

DEFAULT_MAXREC = 10_000
HARD_MAXREC = 1_000_000


def parse_maxrec(text: str | None) -> int:
    """MAXREC (rows) of a TAP, SCS, SIA or SSA request: absent or empty gives
    :data:`DEFAULT_MAXREC`, a value above :data:`HARD_MAXREC` is capped to it
    (DALI: the service may lower the limit and says so with OVERFLOW)."""
    if text is None or str(text).strip() == "":
        return DEFAULT_MAXREC
    try:
        maxrec = int(str(text).strip())
    except ValueError:
        maxrec = -1
    if maxrec < 0:
        raise InvalidInput(
            f"MAXREC must be a non-negative integer, got {text!r}",
            f"0..{HARD_MAXREC} (larger values are capped at {HARD_MAXREC})",
            parameter="MAXREC",
        )
    return min(maxrec, HARD_MAXREC)


UPLOAD_LIMIT_ROWS = 10_000
GEOMETRY_FEATURES = ["POINT", "CIRCLE", "POLYGON", "BOX", "CONTAINS", "INTERSECTS",
                     "DISTANCE", "AREA", "COORD1", "COORD2"]  # fmt: skip

NS = (
    'xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0" '
    'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
    'xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0" '
    'xmlns:tr="http://www.ivoa.net/xml/TAPRegExt/v1.0" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
)


def availability_xml() -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">'
        "<vosi:available>true</vosi:available>"
        "<vosi:note>webbarchive is accepting queries</vosi:note>"
        "</vosi:availability>"
    )


def _interface(url: str, role: str | None = None, kind: str = "vs:ParamHTTP") -> str:
    role_attr = f' role="{role}"' if role else ""
    return (
        f'<interface xsi:type="{kind}"{role_attr}>'
        f'<accessURL use="base">{escape(url)}</accessURL></interface>'
    )


def _vosi_capability(standard: str, url: str) -> str:
    return f'<capability standardID="{standard}">{_interface(url)}</capability>'


def tap_capability(tap_url: str) -> str:
    formats = "".join(
        f"<outputFormat><mime>{escape(f.mime)}</mime>"
        + "".join(f"<alias>{escape(a)}</alias>" for a in f.aliases[:1])
        + "</outputFormat>"
        for f in FORMATS
    )
    features = "".join(f"<feature><form>{name}</form></feature>" for name in GEOMETRY_FEATURES)
    return (
        '<capability standardID="ivo://ivoa.net/std/TAP" xsi:type="tr:TableAccess">'
        f'<interface xsi:type="vs:ParamHTTP" role="std" version="1.1">'
        f'<accessURL use="base">{escape(tap_url)}</accessURL></interface>'
        f'<dataModel ivo-id="{OBSCORE_MODEL}">ObsCore-1.1</dataModel>'
        '<language><name>ADQL</name><version ivo-id="ivo://ivoa.net/std/ADQL#v2.0">2.0</version>'
        "<description>ADQL 2.0 (with OFFSET, LOWER, UPPER, COALESCE, CAST of 2.1)</description>"
        '<languageFeatures type="ivo://ivoa.net/std/TAPRegExt#features-adqlgeo">'
        f"{features}</languageFeatures>"
        "</language>"
        f"{formats}"
        '<uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-inline"/>'
        '<uploadMethod ivo-id="ivo://ivoa.net/std/TAPRegExt#upload-http"/>'
        "<retentionPeriod><default>259200</default><hard>259200</hard></retentionPeriod>"
        "<executionDuration><default>600</default><hard>3600</hard></executionDuration>"
        f'<outputLimit><default unit="row">{DEFAULT_MAXREC}</default>'
        f'<hard unit="row">{HARD_MAXREC}</hard></outputLimit>'
        f'<uploadLimit><hard unit="row">{UPLOAD_LIMIT_ROWS}</hard></uploadLimit>'
        "</capability>"
    )


def capabilities_xml(base: str, service_capabilities: list[str]) -> str:
    """``base`` is the service root (``.../tap``); VOSI endpoints hang below it."""
    body = "".join(service_capabilities) + "".join(
        [
            _vosi_capability("ivo://ivoa.net/std/VOSI#availability", f"{base}/availability"),
            _vosi_capability("ivo://ivoa.net/std/VOSI#capabilities", f"{base}/capabilities"),
        ]
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><vosi:capabilities {NS}>{body}</vosi:capabilities>'
    )


def tap_capabilities_xml(tap_url: str) -> str:
    return capabilities_xml(
        tap_url,
        [
            tap_capability(tap_url),
            _vosi_capability("ivo://ivoa.net/std/VOSI#tables-1.1", f"{tap_url}/tables"),
            _vosi_capability("ivo://ivoa.net/std/DALI#examples", f"{tap_url}/examples"),
        ],
    )


def simple_capability(standard: str, url: str) -> str:
    return (
        f'<capability standardID="{standard}">'
        f'<interface xsi:type="vs:ParamHTTP" role="std"><accessURL use="base">{escape(url)}'
        "</accessURL></interface></capability>"
    )


def _column_xml(c) -> str:
    datatype = (
        '<dataType xsi:type="vs:VOTableType"'
        + (f' arraysize="{c.arraysize}"' if c.arraysize else "")
        + (f' extendedType="{c.xtype}"' if c.xtype else "")
        + f">{c.datatype}</dataType>"
    )
    parts = [f"<name>{escape(c.name)}</name>"]
    if c.description:
        parts.append(f"<description>{escape(c.description)}</description>")
    if c.unit:
        parts.append(f"<unit>{escape(c.unit)}</unit>")
    if c.ucd:
        parts.append(f"<ucd>{escape(c.ucd)}</ucd>")
    if c.utype:
        parts.append(f"<utype>{escape(c.utype)}</utype>")
    parts.append(datatype)
    if c.indexed:
        parts.append("<flag>indexed</flag>")
    if c.principal:
        parts.append("<flag>primary</flag>")
    if c.std:
        parts.append("<flag>std</flag>")
    return "<column>" + "".join(parts) + "</column>"


def _table_xml(t: TableDef) -> str:
    return (
        f'<table type="{t.table_type}"><name>{escape(t.qualified)}</name>'
        f"<description>{escape(t.description)}</description>"
        + (f"<utype>{escape(t.utype)}</utype>" if t.utype else "")
        + "".join(_column_xml(c) for c in t.columns)
        + "".join(
            f"<foreignKey><targetTable>{target}</targetTable><fkColumn>"
            f"<fromColumn>{fc}</fromColumn><targetColumn>{tc}</targetColumn></fkColumn>"
            "</foreignKey>"
            for _k, source, target, fc, tc, _d in FOREIGN_KEYS
            if source == t.qualified
        )
        + "</table>"
    )


def tables_xml() -> str:
    schemas: dict[str, list[TableDef]] = {}
    for t in all_tables():
        schemas.setdefault(t.schema, []).append(t)
    body = "".join(
        f"<schema><name>{escape(name)}</name>"
        + "".join(_table_xml(t) for t in tables)
        + "</schema>"
        for name, tables in schemas.items()
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<vosi:tableset xmlns:vosi="http://www.ivoa.net/xml/VOSITables/v1.0" '
        'xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{body}</vosi:tableset>"
    )


EXAMPLES = [
    (
        "cone",
        "Science products within 6 arcmin of the Hubble Ultra Deep Field",
        "SELECT TOP 100 obs_id, dataproduct_type, instrument_name, access_url "
        "FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        "CIRCLE('ICRS', 53.16, -27.78, 0.1))",
    ),
    (
        "footprints",
        "Footprints overlapping a small box",
        "SELECT obs_id, s_region FROM ivoa.obscore "
        "WHERE 1 = INTERSECTS(s_region, BOX('ICRS', 53.16, -27.78, 0.2, 0.2))",
    ),
    (
        "spectra-by-band",
        "Spectra covering 2 microns",
        "SELECT obs_id, instrument_name, em_min, em_max FROM ivoa.obscore "
        "WHERE dataproduct_type = 'spectrum' AND em_min <= 2e-6 AND em_max >= 2e-6",
    ),
    (
        "per-instrument",
        "Products per instrument",
        "SELECT instrument_name, COUNT(*) AS n FROM ivoa.obscore GROUP BY instrument_name",
    ),
]


def examples_xhtml(tap_url: str) -> str:
    items = "".join(
        f'<div typeof="example" id="{key}" resource="#{key}">'
        f'<h2 property="name">{escape(name)}</h2>'
        f'<pre property="query">{escape(query)}</pre></div>'
        for key, name, query in EXAMPLES
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML+RDFa 1.1//EN" '
        '"http://www.w3.org/MarkUp/DTD/xhtml-rdfa-2.dtd">'
        '<html xmlns="http://www.w3.org/1999/xhtml" version="XHTML+RDFa 1.1">'
        "<head><title>webbarchive TAP examples</title></head>"
        f'<body vocab="http://www.ivoa.net/rdf/examples#"><h1>Examples for {escape(tap_url)}</h1>'
        f"{items}</body></html>"
    )


def quote(text: str) -> str:
    return quoteattr(text)
