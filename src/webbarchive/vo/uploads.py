"""TAP_UPLOAD tables: inline VOTables (``UPLOAD=name,param:part``) become
per-query tables built from literal rows, like TAP_SCHEMA, so uploads need no
writes to the catalog and stay private to the query."""

from __future__ import annotations

import io
import re

import numpy as np
from astropy.io.votable import parse_single_table

from webbarchive.vo.adql import AdqlError
from webbarchive.vo.metadata import ColumnDef, TableDef, rows_select
from webbarchive.vo.vosi import UPLOAD_LIMIT_ROWS

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _datatype(dtype: np.dtype) -> str:
    if dtype.kind == "f":
        return "double"
    if dtype.kind in "iu":
        return "long"
    if dtype.kind == "b":
        return "short"
    return "char"


def _value(v, datatype: str):
    if v is np.ma.masked or v is None:
        return None
    if datatype in ("double", "float"):
        f = float(v)
        return None if f != f else f
    if datatype in ("long", "short", "int"):
        return int(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def upload_table(name: str, content: bytes) -> TableDef:
    if not _NAME.match(name):
        raise AdqlError(f"upload {name!r} must be a simple ADQL identifier")
    try:
        element = parse_single_table(io.BytesIO(content))
        table = element.to_table()
    except Exception as exc:
        raise AdqlError(f"upload {name!r} is not a readable VOTable: {exc}") from None
    if len(table) > UPLOAD_LIMIT_ROWS:
        raise AdqlError(f"upload {name!r} has {len(table)} rows; the limit is {UPLOAD_LIMIT_ROWS}")
    columns = []
    for vfield, colname in zip(element.fields, table.colnames, strict=True):
        if not _NAME.match(colname):
            raise AdqlError(f"upload column name {colname!r} is not a simple ADQL identifier")
        datatype = vfield.datatype if vfield.datatype in _KEPT else _datatype(table[colname].dtype)
        if datatype == "boolean":
            datatype = "short"
        columns.append(
            ColumnDef(
                colname,
                datatype,
                unit=str(vfield.unit) if vfield.unit else None,
                ucd=vfield.ucd,
                xtype=vfield.xtype,
                arraysize="*" if datatype in ("char", "unicodeChar") else None,
            )
        )
    rows = [tuple(_value(row[c.name], c.datatype) for c in columns) for row in table]

    def build(dialect: str, _ctx) -> str:
        return rows_select(columns, rows, dialect)

    return TableDef("TAP_UPLOAD", name, f"uploaded table {name}", columns, build)


_KEPT = {"short", "int", "long", "float", "double", "char", "unicodeChar", "boolean"}


def _fetch(url: str) -> bytes:
    import urllib.request

    if not url.startswith(("http://", "https://")):
        raise AdqlError(f"upload URL {url!r} must be http(s) or param:<part>")
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (http only)
            return response.read(50_000_000)
    except OSError as exc:
        raise AdqlError(f"could not fetch upload {url!r}: {exc}") from None


def parse_upload_param(value: str, parts: dict[str, bytes]) -> list[TableDef]:
    """``UPLOAD=a,param:x;b,http://...`` with the named multipart parts."""
    tables = []
    for item in filter(None, (p.strip() for p in value.split(";"))):
        name, _, uri = item.partition(",")
        if uri.startswith("param:"):
            part = uri[len("param:") :]
            if part not in parts:
                raise AdqlError(f"upload {name!r}: no multipart part named {part!r}")
            content = parts[part]
        else:
            content = _fetch(uri)
        tables.append(upload_table(name.strip(), content))
    return tables
