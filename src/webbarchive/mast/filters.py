"""Mashup filters -> SQL.

astroquery sends one dict per column (discovery_portal.build_filter_set, and
``Mast.mast_query`` unwrapped in 0.4.11)::

    {"paramName": "filters", "separator": ";", "values": ["F290LP"]}
    {"paramName": "instrument_name", "values": [], "freeText": "NIRSPEC%"}
    {"paramName": "t_exptime", "values": [{"min": 100, "max": 2000}]}
    {"paramName": "exp_type", "values": "NRS_MSASPEC"}          # scalar
    {"paramName": "date_obs_mjd", "values": {"min": 59731, "max": 59795}}

Within one filter the values, ranges and free text are ORed; filters are
ANDed. String comparisons ignore case, as MAST's do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, false, func, or_, select

from webbarchive.catalog.schema import keywords
from webbarchive.errors import InvalidInput


class FilterError(InvalidInput):
    """A filter the service cannot apply; the message says what is accepted."""


@dataclass
class MashupFilter:
    name: str
    values: list[Any] = field(default_factory=list)
    ranges: list[tuple[float | None, float | None]] = field(default_factory=list)
    free_text: str | None = None
    separator: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.values or self.ranges or self.free_text)


def _number(value: Any, what: str) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FilterError(f"{what}: {value!r} is not a number") from None


def parse_filters(raw: Any) -> list[MashupFilter]:
    """Read the ``filters`` parameter in every shape astroquery sends."""
    if raw in (None, ""):
        return []
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise FilterError("filters must be a JSON list of {paramName, values}") from None
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        raise FilterError("filters must be a list of {paramName, values}")
    parsed = []
    for entry in raw:
        if not isinstance(entry, dict) or not entry.get("paramName"):
            raise FilterError(f"each filter needs a paramName (got {entry!r})")
        name = str(entry["paramName"])
        values = entry.get("values", [])
        if not isinstance(values, list):
            values = [values]
        f = MashupFilter(name, separator=entry.get("separator"))
        for value in values:
            if isinstance(value, dict):
                if not ({"min", "max"} & set(value)):
                    raise FilterError(f"{name}: a range is {{'min': x, 'max': y}} (got {value!r})")
                low, high = _number(value.get("min"), name), _number(value.get("max"), name)
                if low is not None and high is not None and low > high:
                    # Reversed, it would match nothing: refuse rather than answer empty.
                    raise FilterError(f"{name}: min {low:g} exceeds max {high:g}")
                f.ranges.append((low, high))
            elif isinstance(value, str) and "*" in value and not f.free_text:
                # Mast.mast_query passes values through unchanged: a wildcard
                # there means what build_filter_set would send as freeText.
                f.free_text = value.replace("*", "%")
            elif value is not None:
                f.values.append(value)
        free = entry.get("freeText")
        if free not in (None, "") and not f.free_text:
            f.free_text = str(free).replace("*", "%")
        parsed.append(f)
    return parsed


def _in_range(expr: ColumnElement, low: float | None, high: float | None) -> ColumnElement:
    parts = []
    if low is not None:
        parts.append(expr >= low)
    if high is not None:
        parts.append(expr <= high)
    return and_(*parts) if parts else expr.is_not(None)


def _typed(value: Any, kind: str, name: str) -> Any:
    if kind in ("int", "long"):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            raise FilterError(f"{name} is an integer column (got {value!r})") from None
    if kind == "float":
        return _number(value, name)
    if kind == "boolean":
        return str(value).strip().lower() in ("true", "t", "1", "yes")
    return str(value)


def column_clause(f: MashupFilter, expr: ColumnElement, kind: str) -> ColumnElement | None:
    """The condition of one filter on a plain column of type ``kind``."""
    if f.empty:
        return None
    ors: list[ColumnElement] = []
    if kind == "string":
        lowered = func.lower(expr)
        for value in f.values:
            text = str(value).lower()
            ors.append(lowered == text)
            if f.separator:  # "F290LP;G395M" matches either filter
                sep = f.separator
                ors += [
                    lowered.like(f"{text}{sep}%"),
                    lowered.like(f"%{sep}{text}"),
                    lowered.like(f"%{sep}{text}{sep}%"),
                ]
    else:
        ors += [expr == _typed(value, kind, f.name) for value in f.values]
    ors += [_in_range(expr, low, high) for low, high in f.ranges]
    if f.free_text:
        ors.append(func.lower(cast(expr, String)).like(f.free_text.lower()))
    return or_(*ors)


def filters_clause(
    filters: list[MashupFilter], resolve: Callable[[MashupFilter], ColumnElement | None]
) -> ColumnElement | None:
    clauses = [c for c in (resolve(f) for f in filters) if c is not None]
    return and_(*clauses) if clauses else None


# --- keywords (one typed row per header keyword, value JSON-encoded) -----------------


def _string_forms(value: Any) -> list[str]:
    """How ``value`` may be stored in keywords.value: JSON string or bare text.
    (Numbers, such as the program MAST types as an integer, match ``num``.)"""
    text = str(value).strip()
    return sorted({json.dumps(text).lower(), text.lower()})


def keyword_value_clause(k, f: MashupFilter) -> ColumnElement:
    """Condition on an aliased keywords row ``k`` (already restricted to the name)."""
    ors: list[ColumnElement] = []
    lowered = func.lower(k.c.value)
    for value in f.values:
        if isinstance(value, bool):
            value = "t" if value else "f"
        ors.append(lowered.in_(_string_forms(value)))
        try:
            ors.append(k.c.num == float(value))
        except (TypeError, ValueError):
            pass
    ors += [_in_range(k.c.num, low, high) for low, high in f.ranges]
    if f.free_text:
        pattern = f.free_text.lower()
        ors += [lowered.like(pattern), lowered.like(f'"{pattern}"')]
    return or_(*ors) if ors else false()


def keyword_clause(product_id: ColumnElement, name: str, f: MashupFilter) -> ColumnElement | None:
    """EXISTS a keyword ``name`` of product ``product_id`` matching ``f``."""
    if f.empty:
        return None
    k = keywords.alias()
    return exists(
        select(1).where(k.c.product_id == product_id, k.c.name == name, keyword_value_clause(k, f))
    )
