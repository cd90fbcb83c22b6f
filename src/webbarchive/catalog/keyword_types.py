"""How header keywords are typed, as MAST types them: the one table.

JWST headers write the observation identifiers as zero-padded strings
(``PROGRAM = '01039'``, ``OBSERVTN = '004'``, ``VISIT = '001'``,
``EXPOSURE = '6'``). MAST's keyword service answers them as integers
(``"program": 1039``, ``"observtn": 4``, ``"visit": 1``, ``"exposure": 6``;
seed 000, the ``keywords/search`` example) while ``visitgrp``, ``act_id`` and
``seq_id`` stay strings (``"02"``, ``"01"``, ``"1"``): the leading zeros of a
visit group are part of its name. Every other keyword keeps its FITS type.

The table is applied once, when a header becomes ``keywords`` rows
(:func:`mast_value`, called by :mod:`webbarchive.ingest.headers`), and read by
every service that declares or renders keyword columns: the viz API
(``keywords/search``), the Mashup ``Mast.Jwst.Filtered.*`` services and
MastMissions all take their column kinds from :func:`keyword_kinds` and their
values from :func:`render_value`.

Kinds are ``"string"``, ``"int"`` and ``"float"``; each service spells them in
its own protocol (Mashup ``long``, MastMissions ``INTEGER``).
"""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, case, func, select

from webbarchive.catalog.schema import keywords, products

#: Keywords whose MAST type is not their FITS type (lower-case MAST names).
MAST_KEYWORD_TYPES: dict[str, str] = {
    "program": "int",
    "observtn": "int",
    "visit": "int",
    "exposure": "int",
    "visitgrp": "string",
    "act_id": "string",
    "seq_id": "string",
}
KINDS = ("string", "int", "float")


def mast_value(name: str, value: Any) -> Any:
    """``value`` of keyword ``name`` typed as MAST types it.

    A zero-padded number string of an integer keyword becomes an int
    (``'01039'`` -> 1039); anything that is not a whole number is kept as it
    is, so a malformed header is shown, never lost. A number written for a
    string keyword becomes its text.
    """
    kind = MAST_KEYWORD_TYPES.get(name)
    if kind == "int" and isinstance(value, str):
        text = value.strip()
        return int(text) if text.isdigit() else value
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def keyword_kinds(conn: Connection, where: ColumnElement) -> dict[str, str]:
    """Kind of every keyword carried by the products matching ``where``.

    MAST's table decides for the keywords it names; any other keyword is a
    number when every stored value is one (``int`` unless a value has a
    fraction or it is an MJD), else a string. ``where`` is evaluated on the
    ``products`` table (the callers pass the visibility rule, so a keyword or a
    fractional value only hidden products carry is not told to others).
    """
    fractional = case((keywords.c.num != func.round(keywords.c.num), 1), else_=0)
    kinds: dict[str, str] = {}
    for name, n_values, n_numbers, any_fraction in conn.execute(
        select(
            keywords.c.name,
            func.count(keywords.c.value),
            func.count(keywords.c.num),
            func.max(fractional),
        )
        .select_from(keywords.join(products, keywords.c.product_id == products.c.product_id))
        .where(where)
        .group_by(keywords.c.name)
        .order_by(keywords.c.name)
    ):
        if name in MAST_KEYWORD_TYPES:
            kinds[name] = MAST_KEYWORD_TYPES[name]
        elif n_values and n_numbers == n_values:
            kinds[name] = "float" if any_fraction or name.endswith("_mjd") else "int"
        else:
            kinds[name] = "string"
    return kinds


def decode(value: str | None) -> Any:
    """A ``keywords.value`` back to its typed value (JSON; bare text as is)."""
    if value is None:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return value


def render_value(name: str, value: str | None, num: float | None, kind: str) -> Any:
    """The value a service shows for one stored keyword row, of kind ``kind``.

    Catalogs ingested before the table existed hold ``'01039'`` for
    ``program``: :func:`mast_value` types it here too.
    """
    if kind == "string":
        decoded = mast_value(name, decode(value))
        return None if decoded is None else str(decoded)
    if num is None:
        decoded = mast_value(name, decode(value))
        return decoded if isinstance(decoded, int | float) else None
    return int(num) if kind == "int" else num
