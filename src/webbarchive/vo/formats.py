"""Output formats of the VO services: VOTable (BINARY, BINARY2, TABLEDATA),
CSV, TSV, JSON and FITS, plus the ERROR VOTable (DALI).

Every table goes through :func:`to_astropy`, which types columns from the
registry's metadata (or from the values for computed expressions), so all
formats agree.
"""

from __future__ import annotations

import base64
import csv
import io
import itertools
import math
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import orjson
from astropy.io.votable.tree import Info, Resource, VOTableFile
from astropy.table import MaskedColumn, Table

from webbarchive.vo.adql import OutputColumn

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


# --- streamed answers ----------------------------------------------------------------

#: Formats written batch by batch (JSON and FITS are written whole).
STREAMED = {"votable", "votable/td", "votable/b2", "csv", "tsv"}
_DATA_OPEN = {
    "tabledata": "<DATA><TABLEDATA>\n",
    "binary": '<DATA><BINARY><STREAM encoding="base64">\n',
    "binary2": '<DATA><BINARY2><STREAM encoding="base64">\n',
}
_DATA_CLOSE = {
    "tabledata": "</TABLEDATA></DATA>\n",
    "binary": "\n</STREAM></BINARY></DATA>\n",
    "binary2": "\n</STREAM></BINARY2></DATA>\n",
}


def render_stream(
    fmt: Format,
    columns: list[OutputColumn],
    first: list[tuple],
    rest: Iterator[list[tuple]],
    overflow: Callable[[], bool],
    failures: tuple[type[Exception], ...] = (),
) -> Iterator[bytes]:
    """``fmt`` (one of :data:`STREAMED`) written one batch of rows at a time:
    ``first`` (which types computed columns), then each batch of ``rest``.

    A VOTable opens with QUERY_STATUS=OK and, as DALI allows, ends with a
    second QUERY_STATUS INFO after the table when MAXREC cut the result
    (``overflow()`` once ``rest`` is exhausted) or a ``failures`` exception
    stopped it (its message, which must be fit for the user). CSV and TSV
    have no place for either: a failure ends the answer short."""
    if fmt.serialization:
        return _votable_stream(columns, first, rest, fmt.serialization, overflow, failures)
    return _text_stream(columns, first, rest, "," if fmt.key == "csv" else "\t")


def _votable_stream(columns, first, rest, serialization, overflow, failures) -> Iterator[bytes]:
    vot = _votable(to_astropy(columns, first)[:0], [("QUERY_STATUS", "OK", None)], "results")
    fields = vot.resources[0].tables[0].fields
    out = io.BytesIO()
    vot.to_xml(out, tabledata_format=serialization)
    head = out.getvalue().decode()
    cut = head.rindex("</TABLE>")
    yield (head[:cut] + _DATA_OPEN[serialization]).encode()
    encode = _tabledata_rows if serialization == "tabledata" else _binary_rows(serialization)
    status = ""
    base64_carry = b""
    try:
        for batch in itertools.chain([first], rest):
            chunk, base64_carry = encode(fields, batch, base64_carry)
            yield chunk
        if overflow():
            status = '<INFO name="QUERY_STATUS" value="OVERFLOW"/>\n'
    except failures as exc:
        status = f'<INFO name="QUERY_STATUS" value="ERROR">{xml_escape(str(exc))}</INFO>\n'
    tail = base64.b64encode(base64_carry) + _DATA_CLOSE[serialization].encode()
    yield tail + ("</TABLE>\n" + status + head[cut + len("</TABLE>") :]).encode()


def _cell(field, value) -> str:
    if value is None:
        return "<TD/>"
    kind = field.datatype
    if kind in ("double", "float"):
        f = float(value)
        text = (
            "NaN"
            if f != f
            else ("+Inf" if f == math.inf else "-Inf" if f == -math.inf else repr(f))
        )
    elif kind in _INT_NULLS:
        text = str(int(value))
    elif kind == "boolean":
        text = "T" if value else "F"
    else:
        text = xml_escape(str(value))
    return f"<TD>{text}</TD>"


def _tabledata_rows(fields, rows, carry=b"") -> tuple[bytes, bytes]:
    lines = ["<TR>" + "".join(map(_cell, fields, row)) + "</TR>\n" for row in rows]
    return "".join(lines).encode(), carry


def _packer(field) -> Callable[[Any], bytes]:
    """Bytes of one value in a VOTable BINARY(2) stream; None as the null."""
    kind = field.datatype
    if kind in ("double", "float"):
        number = struct.Struct(">d" if kind == "double" else ">f")
        return lambda v: number.pack(math.nan if v is None else float(v))
    if kind in _INT_NULLS:
        integer = struct.Struct({"short": ">h", "int": ">i", "long": ">q"}[kind])
        null = _INT_NULLS[kind]
        return lambda v: integer.pack(null if v is None else int(v))
    if kind == "boolean":
        return lambda v: b"?" if v is None else (b"T" if v else b"F")
    length = struct.Struct(">I")
    if kind == "unicodeChar":

        def pack_unicode(v) -> bytes:
            data = b"" if v is None else str(v).encode("utf-16-be")
            return length.pack(len(data) // 2) + data

        return pack_unicode

    def pack_char(v) -> bytes:
        data = b"" if v is None else str(v).encode("utf-8")
        return length.pack(len(data)) + data

    return pack_char


def _binary_rows(serialization: str):
    with_mask = serialization == "binary2"

    def encode(fields, rows, carry: bytes) -> tuple[bytes, bytes]:
        packers = [_packer(f) for f in fields]
        mask_bytes = (len(fields) + 7) // 8
        parts = [carry]
        for row in rows:
            if with_mask:
                mask = 0
                for i, v in enumerate(row):
                    if v is None:
                        mask |= 1 << (8 * mask_bytes - 1 - i)
                parts.append(mask.to_bytes(mask_bytes, "big"))
            parts.extend(pack(v) for pack, v in zip(packers, row, strict=True))
        data = b"".join(parts)
        whole = len(data) - len(data) % 3  # base64 in whole 3-byte groups; the rest carried
        return base64.b64encode(data[:whole]), data[whole:]

    return encode


def _text_value(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _text_stream(columns, first, rest, sep: str) -> Iterator[bytes]:
    def lines(rows) -> bytes:
        text = io.StringIO()
        writer = csv.writer(text, delimiter=sep, lineterminator="\n")
        writer.writerows([_text_value(v) for v in row] for row in rows)
        return text.getvalue().encode()

    yield lines([[c.name for c in columns]])
    for batch in itertools.chain([first], rest):
        yield lines(batch)
