"""Output formats of the VO services: VOTable (BINARY, BINARY2, TABLEDATA),
CSV, TSV, JSON and FITS, plus the ERROR VOTable (DALI).

Every table goes through :func:`to_astropy`, which types columns from the
registry's metadata (or from the values for computed expressions), so all
formats agree.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import orjson
from astropy.io.votable.tree import Info, Resource, VOTableFile
from astropy.table import MaskedColumn, Table

from webbarchive.vo.adql import OutputColumn
from webbarchive.vo.metadata import ColumnDef

VOTABLE_MIME = "application/x-votable+xml"


@dataclass(frozen=True)
class Format:
    key: str
    mime: str
    aliases: tuple[str, ...]
    serialization: str | None = None  # VOTable serialization


FORMATS = [
    Format("votable", VOTABLE_MIME, ("votable", "application/x-votable+xml", "text/xml",
                                     "votable/b", "application/x-votable+xml;serialization=binary"),
           "binary"),
    Format("votable/td", VOTABLE_MIME + ";serialization=TABLEDATA",
           ("votable/td", "application/x-votable+xml;serialization=tabledata", "votabletd"),
           "tabledata"),
    Format("votable/b2", VOTABLE_MIME + ";serialization=BINARY2",
           ("votable/b2", "application/x-votable+xml;serialization=binary2"), "binary2"),
    Format("csv", "text/csv", ("csv", "text/csv", "text/csv;header=present")),
    Format("tsv", "text/tab-separated-values", ("tsv", "text/tab-separated-values", "text/tsv")),
    Format("json", "application/json", ("json", "application/json")),
    Format("fits", "application/fits", ("fits", "application/fits", "image/fits")),
]  # fmt: skip


def find_format(name: str | None) -> Format | None:
    if not name:
        return FORMATS[0]
    wanted = name.strip().lower().replace(" ", "")
    for f in FORMATS:
        if wanted in f.aliases or wanted == f.key:
            return f
    return None


def accepted_formats() -> list[str]:
    return [a for f in FORMATS for a in f.aliases[:2]]


_INT_NULLS = {"short": -32768, "int": -2147483648, "long": -9223372036854775808}
_NUMPY = {"double": "f8", "float": "f4", "long": "i8", "int": "i4", "short": "i2"}


def _infer(values: list) -> str:
    kinds = {type(v) for v in values if v is not None}
    if not kinds:
        return "char"
    if kinds <= {bool}:
        return "boolean"
    if kinds <= {int, bool}:
        return "long"
    if kinds <= {int, float}:
        return "double"
    return "char"


def to_astropy(columns: list[OutputColumn], rows: list[tuple]) -> Table:
    """The result as an astropy Table with VOTable FIELD metadata in ``.meta``."""
    table = Table()
    data = list(zip(*rows, strict=True)) if rows else [() for _ in columns]
    for col, values in zip(columns, data, strict=True):
        values = list(values)
        meta = col.meta
        datatype = meta.datatype if meta else _infer(values)
        mask = [v is None for v in values]
        if datatype in _NUMPY:
            if datatype in ("double", "float"):
                arr = np.array([np.nan if v is None else float(v) for v in values], dtype="f8")
                column = MaskedColumn(arr, name=col.name, mask=mask, dtype=_NUMPY[datatype])
            else:
                arr = np.array([0 if v is None else int(v) for v in values], dtype=_NUMPY[datatype])
                column = MaskedColumn(arr, name=col.name, mask=mask)
        elif datatype == "boolean":
            arr = np.array([bool(v) for v in values], dtype=bool)
            column = MaskedColumn(arr, name=col.name, mask=mask)
        else:
            strings = ["" if v is None else str(v) for v in values]
            arr = np.empty(len(strings), dtype=object)
            arr[:] = strings
            column = MaskedColumn(arr, name=col.name, mask=mask, dtype=object)
            # Variable-length char (arraysize="*"); unicodeChar only when needed.
            ascii_only = all(s.isascii() for s in strings)
            column.info.meta = {"_votable_string_dtype": "char" if ascii_only else "unicodeChar"}
        if meta is not None:
            column.unit = meta.unit
            column.description = meta.description or None
            column.meta.update({"ucd": meta.ucd, "utype": meta.utype, "xtype": meta.xtype})
        table[col.name] = column
    return table


def _votable(
    table: Table, infos: list[tuple[str, str, str | None]], resource_type: str
) -> VOTableFile:
    vot = VOTableFile(version="1.4")
    resource = Resource(type=resource_type)
    vot.resources.append(resource)
    for name, value, content in infos:
        info = Info(name=name, value=value)
        if content:
            info.content = content
        resource.infos.append(info)
    from astropy.io.votable.tree import TableElement

    element = TableElement.from_table(vot, table)
    for field in element.fields:
        meta = table[field.name].meta or {}
        if field.datatype in _INT_NULLS:
            # BINARY has no NULL for integers: declare the sentinel (VALUES null=).
            field.values.null = _INT_NULLS[field.datatype]
        if meta.get("ucd"):
            field.ucd = meta["ucd"]
        if meta.get("utype"):
            field.utype = meta["utype"]
        if meta.get("xtype") and not str(meta["xtype"]).startswith("adql:"):
            field.xtype = meta["xtype"]
    resource.tables.append(element)
    return vot


def write_votable(
    table: Table,
    *,
    serialization: str = "binary",
    overflow: bool = False,
    extra_infos: list[tuple[str, str, str | None]] | None = None,
) -> bytes:
    infos = [("QUERY_STATUS", "OVERFLOW" if overflow else "OK", None), *(extra_infos or [])]
    vot = _votable(table, infos, "results")
    out = io.BytesIO()
    vot.to_xml(out, tabledata_format=serialization)
    return out.getvalue()


def error_votable(message: str) -> bytes:
    """A DALI error document: QUERY_STATUS=ERROR with the message."""
    vot = VOTableFile(version="1.4")
    resource = Resource(type="results")
    info = Info(name="QUERY_STATUS", value="ERROR")
    info.content = message
    resource.infos.append(info)
    vot.resources.append(resource)
    out = io.BytesIO()
    vot.to_xml(out)
    return out.getvalue()


def render(
    fmt: Format,
    columns: list[OutputColumn],
    rows: list[tuple],
    *,
    overflow: bool = False,
    extra_infos: list[tuple[str, str, str | None]] | None = None,
) -> bytes:
    """Serialize a result in ``fmt``. Non-VOTable formats flag an overflow too:
    JSON in its body, CSV/TSV/FITS through the caller's header."""
    if fmt.serialization:
        return write_votable(
            to_astropy(columns, rows),
            serialization=fmt.serialization,
            overflow=overflow,
            extra_infos=extra_infos,
        )
    if fmt.key == "json":
        return orjson.dumps(
            {
                "metadata": [
                    {
                        "name": c.name,
                        "datatype": c.meta.datatype if c.meta else None,
                        "unit": c.meta.unit if c.meta else None,
                        "ucd": c.meta.ucd if c.meta else None,
                    }
                    for c in columns
                ],
                "data": [list(r) for r in rows],
                "status": "OVERFLOW" if overflow else "OK",
            },
            option=orjson.OPT_SERIALIZE_NUMPY,
        )
    table = to_astropy(columns, rows)
    out = io.BytesIO()
    if fmt.key == "fits":
        for name in table.colnames:
            if table[name].dtype == object:  # FITS needs fixed-width strings
                table[name] = MaskedColumn(
                    np.array([str(v).encode() for v in table[name].data.data], dtype=bytes),
                    mask=table[name].mask,
                    unit=table[name].unit,
                    description=table[name].description,
                )
        table.write(out, format="fits")
        return out.getvalue()
    sep = "," if fmt.key == "csv" else "\t"
    text = io.StringIO()
    table.write(text, format="ascii.csv" if sep == "," else "ascii.tab", delimiter=sep,
                fill_values=[("", "")])  # fmt: skip
    return text.getvalue().encode()


def column_defs_to_output(columns: list[ColumnDef]) -> list[OutputColumn]:
    return [OutputColumn(c.name, c) for c in columns]
