"""The search syntax of the seed (001_a0a2d59d1416d624), parsed into a :class:`PixelQuery`.

``wavelength=1.2,1.3`` (a range; either side may be empty), ``<column>.<op>=value``
with op in gt, gte, lt, lte, eq, ne (min and max are gte and lte) on wavelength
(microns), flux, fluxErr and derSnr; product filters instrument, grating,
filter, exp_type, program, target (repeat or comma-separate for OR); ra, dec
and radius (degrees); productType x1d (default), c1d, s2d or s3d; collection
JWST (default: MAST's products of that type), DJA (msaexp spectra) or all (both).
Predicates are ANDed. Values are numbers kept apart from any SQL text.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from webbarchive.catalog.rights import DEFAULT_COMMUNITY_RIGHTS, CommunityRights
from webbarchive.errors import InvalidInput
from webbarchive.pixels import msaexp_source
from webbarchive.positions import PositionError, parse_position, parse_radius

#: Searchable pixel columns: API name -> column in the segments.
PIXEL_COLUMNS = {
    "wavelength": "wavelength",
    "flux": "flux",
    "fluxErr": "flux_error",
    "derSnr": "derSnr",
}
#: Sky position of an s2d pixel or a cube's spaxel (degrees, ICRS; null for 1-D
#: pixels): not searchable by name, but ``ra,dec,radius`` on the product types of
#: :data:`POSITIONED_TYPES` becomes predicates on them (:func:`spaxel_predicates`),
#: so a cone prunes inside a 2-D spectrum or a cube.
SKY_COLUMNS = {"ra": "ra", "dec": "dec"}
#: Product types whose pixels carry their own sky position (pixels/extract.py).
POSITIONED_TYPES = ("s2d", "s3d")
#: Every column a scan may test: API or internal name -> column in the segments.
SCAN_COLUMNS = {**PIXEL_COLUMNS, **SKY_COLUMNS}
#: The exact cone test of a positioned pixel (a :class:`Predicate` with ``center``).
CONE = "cone"

#: Operators of ``<column>.<op>=value``; min and max are gte and lte.
OPERATORS = {
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "eq": "=",
    "ne": "<>",
    "min": ">=",
    "max": "<=",
}
PRODUCT_FILTERS = ("instrument", "grating", "filter", "exp_type", "program", "target")
POSITION_PARAMS = ("ra", "dec", "radius")
PRODUCT_TYPES = ("x1d", "c1d", "s2d", "s3d")
OTHER_PARAMS = ("productType", "collection", "limit", "offset")
#: ``collection=``: which spectra a search reads (case does not matter).
COLLECTIONS = {
    msaexp_source.JWST: "MAST's JWST products of the productType",
    msaexp_source.DJA: "the DAWN JWST Archive's msaexp spectra (NIRSpec MSA, 1-D)",
    msaexp_source.ALL: "both",
}
DEFAULT_RADIUS_DEG = 0.05


class QueryError(InvalidInput):
    """A search the user wrote wrongly; ``accepted`` says what is valid."""


def accepted_parameters() -> dict:
    return {
        "columns": {
            name: [f"{name}.{op}" for op in OPERATORS] + [f"{name}=<low>,<high>"]
            for name in PIXEL_COLUMNS
        },
        "operators": sorted(OPERATORS),
        "product filters": [*PRODUCT_FILTERS, *POSITION_PARAMS],
        "productType": list(PRODUCT_TYPES),
        "collection": list(COLLECTIONS),
        "paging": ["limit", "offset"],
    }


#: SQL operator -> comparison (works on numpy arrays and SQLAlchemy columns alike).
COMPARISONS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "<>": operator.ne,
}


@dataclass(frozen=True)
class Predicate:
    column: str  # API name (or a SKY_COLUMNS name, or CONE)
    op: str  # SQL operator
    value: float  # for CONE: cos(radius), compared with the dot product of unit vectors
    center: tuple[float, float] | None = None  # CONE only: (ra, dec) in degrees

    @property
    def columns(self) -> list[str]:
        """The segment columns the predicate reads."""
        return ["ra", "dec"] if self.column == CONE else [SCAN_COLUMNS[self.column]]

    def cone_holds(self, ra: np.ndarray, dec: np.ndarray) -> np.ndarray:
        """CONE: pixels within the radius of the centre (null positions fail):
        sin d sin d0 + cos d cos d0 cos(a - a0) >= cos r."""
        ra0, dec0 = np.radians(self.center)
        a, d = np.radians(ra), np.radians(dec)
        with np.errstate(invalid="ignore"):
            dot = np.sin(d) * np.sin(dec0) + np.cos(d) * np.cos(dec0) * np.cos(a - ra0)
            return (dot >= self.value) & np.isfinite(dot)

    def compare(self, values):
        """``values <op> value``: a numpy mask, or an SQL clause for a column."""
        return COMPARISONS[self.op](values, self.value)

    def holds(self, values: np.ndarray) -> np.ndarray:
        """The predicate over numpy values (NaN fails, as NULL does in SQL)."""
        with np.errstate(invalid="ignore"):
            return self.compare(values) & np.isfinite(values)


@dataclass
class PixelQuery:
    product_type: str = "x1d"
    predicates: list[Predicate] = field(default_factory=list)
    filters: dict[str, list[str]] = field(default_factory=dict)
    position: tuple[float, float, float] | None = None  # ra, dec, radius (deg)
    collection: str = msaexp_source.JWST  # one of COLLECTIONS
    #: who reads msaexp spectra (``WEBBARCHIVE_COMMUNITY_RIGHTS``): set by the caller
    community: CommunityRights = DEFAULT_COMMUNITY_RIGHTS

    @property
    def product_types(self) -> tuple[str, ...]:
        """The pixel-store product types the search reads, in the collection."""
        if self.collection == msaexp_source.DJA:
            return (msaexp_source.PRODUCT_TYPE,)
        if self.collection == msaexp_source.ALL:
            return (self.product_type, msaexp_source.PRODUCT_TYPE)
        return (self.product_type,)


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise QueryError(f"{name}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise QueryError(f"{name}: {text!r} is not a finite number")
    return value


def parse(params: Iterable[tuple[str, str]]) -> PixelQuery:
    """Read a search from query parameters (repeats allowed: predicates AND,
    product filter values OR; lists may also be comma-separated)."""
    query = PixelQuery()
    position: dict[str, str] = {}
    for key, raw in params:
        value = raw.strip()
        if key in OTHER_PARAMS:
            if key == "productType":
                if value.lower() not in PRODUCT_TYPES:
                    raise QueryError(
                        f"productType {value!r} is not searchable", accepted=list(PRODUCT_TYPES)
                    )
                query.product_type = value.lower()
            elif key == "collection":
                query.collection = _collection(value)
            continue
        if key in POSITION_PARAMS:
            position[key] = value
            continue
        if key in PRODUCT_FILTERS:
            values = [v.strip() for v in value.split(",") if v.strip()]
            if not values:
                raise QueryError(f"{key} needs a value")
            query.filters.setdefault(key, []).extend(values)
            continue
        column, _, op = key.partition(".")
        if column not in PIXEL_COLUMNS:
            raise QueryError(
                f"unknown parameter {key!r}; searchable columns are "
                f"{', '.join(PIXEL_COLUMNS)}, product filters "
                f"{', '.join(PRODUCT_FILTERS + POSITION_PARAMS)}",
                accepted=accepted_parameters(),
            )
        if not op:
            low, sep, high = value.partition(",")
            if not sep:
                raise QueryError(
                    f"{column}={value!r}: a range is written {column}=<low>,<high> "
                    f"(either side may be empty); use {column}.eq=<value> for equality",
                    accepted=accepted_parameters()["columns"][column],
                )
            bounds = [
                Predicate(column, op, _number(key, text))
                for op, text in ((">=", low), ("<=", high))
                if text.strip()
            ]
            if len(bounds) == 2 and bounds[0].value > bounds[1].value:
                # Reversed, it would select nothing: refuse rather than answer empty.
                raise QueryError(
                    f"{column}={value!r}: the low bound {bounds[0].value:g} exceeds the high "
                    f"bound {bounds[1].value:g}; a range is written {column}=<low>,<high>",
                    accepted=accepted_parameters()["columns"][column],
                )
            query.predicates.extend(bounds)
            continue
        if op not in OPERATORS:
            raise QueryError(f"unknown operator {op!r} in {key!r}", accepted=sorted(OPERATORS))
        query.predicates.append(Predicate(column, OPERATORS[op], _number(key, value)))
    if position:
        query.position = _parse_position(position)
        if query.product_type in POSITIONED_TYPES and query.collection != msaexp_source.DJA:
            # s2d pixels and cube spaxels carry their sky position (msaexp pixels their
            # source's, so they pass where the catalog's cone on the source does)
            query.predicates.extend(spaxel_predicates(*query.position))
    return query


def _collection(value: str) -> str:
    for name in COLLECTIONS:
        if value.lower() == name.lower():
            return name
    raise QueryError(
        f"collection {value!r} is not known; one of {', '.join(COLLECTIONS)}",
        accepted=list(COLLECTIONS),
    )


def spaxel_predicates(ra: float, dec: float, radius: float) -> list[Predicate]:
    """A cone on pixels that carry positions (s2d pixels, cube spaxels): a box on
    ra and dec (row-group statistics prune with it; ra only away from the poles
    and from RA 0/360) and the exact angular test."""
    box = [Predicate("dec", ">=", dec - radius), Predicate("dec", "<=", dec + radius)]
    if abs(dec) + radius < 89.0:
        half = math.degrees(
            math.asin(min(1.0, math.sin(math.radians(radius)) / math.cos(math.radians(dec))))
        )
        if ra - half >= 0.0 and ra + half <= 360.0:
            box += [Predicate("ra", ">=", ra - half), Predicate("ra", "<=", ra + half)]
    return [*box, Predicate(CONE, ">=", math.cos(math.radians(radius)), center=(ra, dec))]


def _parse_position(position: dict[str, str]) -> tuple[float, float, float]:
    try:
        where = parse_position(position.get("ra"), position.get("dec"))
        radius = parse_radius(position.get("radius"), default=DEFAULT_RADIUS_DEG)
    except PositionError as exc:
        raise QueryError(exc.message, accepted=exc.accepted) from None
    return (where.ra, where.dec, radius)
