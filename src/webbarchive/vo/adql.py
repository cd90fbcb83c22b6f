"""ADQL 2.0 -> SQL for SQLite and PostgreSQL+pgsphere, from one code path.

Parsing uses sqlglot's T-SQL reader (ADQL's grammar is SQL-92 with ``TOP``,
which T-SQL shares). The tree is then:

1. checked: one SELECT (or UNION/INTERSECT/EXCEPT of SELECTs), tables from
   the registry (:mod:`webbarchive.vo.tap_schema`, plus TAP_UPLOAD tables),
   every function on the allow-list below, every column resolvable
   (sqlglot's ``qualify`` against the registry's columns, which also expands
   ``*`` to the declared columns only);
2. rewritten: tables become per-request CTEs (so rights filtering and
   TAP_SCHEMA rows are part of the SQL), geometry becomes pgsphere
   (``spoint``/``scircle``/``spoly`` with ``<@``, ``&&``, ``<->``) or the
   ``wa_*`` SQL functions of :mod:`webbarchive.vo.geometry` on SQLite;
   top-level spatial conditions on ``ivoa.obscore`` also get a HEALPix
   pre-filter on ``sky_index`` (SQLite: points and regions; PostgreSQL:
   regions, points use the GiST expression index on ``spoint(s_ra, s_dec)``);
3. limited: ``LIMIT min(TOP, MAXREC + 1)`` so the caller can tell OVERFLOW.

Supported: the ADQL 2.0 query grammar (SELECT [DISTINCT] [TOP n], joins,
subqueries, GROUP BY/HAVING, ORDER BY, UNION/INTERSECT/EXCEPT, LIKE, BETWEEN,
IN, IS NULL), the math, trigonometric and aggregate functions, POINT, CIRCLE,
POLYGON, BOX, CONTAINS, INTERSECTS, DISTANCE, AREA, COORD1, COORD2, and from
ADQL 2.1 OFFSET, LOWER, UPPER, COALESCE and CAST. Geometry arguments must be
constants except POINT coordinates and the ``s_region`` column. Not
supported: CENTROID, REGION, user-defined functions, WITH.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import OptimizeError, ParseError, SqlglotError
from sqlglot.optimizer.qualify import qualify

from webbarchive.catalog import sky
from webbarchive.catalog.schema import SKY_INDEX_DEPTH
from webbarchive.errors import InvalidInput
from webbarchive.vo import geometry
from webbarchive.vo.metadata import ColumnDef, TableDef
from webbarchive.vo.tap_schema import all_tables

GEOMETRY_CONSTRUCTORS = {"POINT", "CIRCLE", "POLYGON", "BOX"}
GEOMETRY_FUNCTIONS = {"CONTAINS", "INTERSECTS", "DISTANCE", "AREA", "COORD1", "COORD2"}
ADQL_FUNCTIONS_SAMPLE = (
    "SELECT ABS(a), CEILING(a), DEGREES(a), EXP(a), FLOOR(a), LOG(a), LOG10(a), MOD(a, 2), "
    "PI(), POWER(a, 2), RADIANS(a), RAND(), ROUND(a, 2), SQRT(a), TRUNCATE(a), SIN(a), COS(a), "
    "TAN(a), ASIN(a), ACOS(a), ATAN(a), ATAN2(a, b), COT(a), COUNT(*), SUM(a), AVG(a), MIN(a), "
    "MAX(a), LOWER(s), UPPER(s), COALESCE(a, b), CAST(a AS INTEGER), CONTAINS(a, b) FROM t"
)
#: sqlglot node types of the allowed (non-geometry) functions, derived from
#: parsing each ADQL function once, so the allow-list speaks ADQL.
ALLOWED_FUNCTION_TYPES = {
    type(f)
    for f in sqlglot.parse_one(ADQL_FUNCTIONS_SAMPLE, read="tsql").find_all(exp.Func)
    if not isinstance(f, exp.Anonymous)
}
ALLOWED_ANONYMOUS = GEOMETRY_CONSTRUCTORS | GEOMETRY_FUNCTIONS
ADQL_FUNCTION_NAMES = sorted(
    {
        "ABS", "CEILING", "DEGREES", "EXP", "FLOOR", "LOG", "LOG10", "MOD", "PI", "POWER",
        "RADIANS", "RAND", "ROUND", "SQRT", "TRUNCATE", "SIN", "COS", "TAN", "ASIN", "ACOS",
        "ATAN", "ATAN2", "COT", "COUNT", "SUM", "AVG", "MIN", "MAX", "LOWER", "UPPER",
        "COALESCE", "CAST",
    }
    | ALLOWED_ANONYMOUS
)  # fmt: skip
FORBIDDEN_NODES = (
    exp.Insert, exp.Update, exp.Delete, exp.Create, exp.Drop, exp.Command, exp.Into,
    exp.Alter, exp.With, exp.Pragma, exp.Set, exp.Merge,
)  # fmt: skip
OPERATOR_NODES = (
    exp.Binary, exp.Unary, exp.Connector, exp.Predicate, exp.Case, exp.If, exp.Between,
    exp.In, exp.Is, exp.Like, exp.Not, exp.Neg, exp.Paren, exp.Distinct,
)  # fmt: skip


class AdqlError(InvalidInput):
    """The query is not ADQL we can run; the message says what to change."""


@dataclass
class OutputColumn:
    name: str
    meta: ColumnDef | None  # None: computed expression, typed from the values


@dataclass
class Translation:
    sql: str
    columns: list[OutputColumn]
    limit: int  # rows the SQL may return (MAXREC + 1 unless TOP is smaller)
    top: int | None
    tables: list[str] = field(default_factory=list)


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).upper()
    return node.sql_name() if hasattr(node, "sql_name") else type(node).__name__.upper()


#: Deepest parenthesis nesting accepted (the parser recurses per level).
MAX_PARENTHESES = 32
#: Deepest expression tree accepted: ``a AND b AND ...`` is a chain as deep as
#: it is long, and SQLite refuses trees deeper than 1,000 levels.
MAX_EXPRESSION_DEPTH = 256


def _parenthesis_depth(adql: str) -> int:
    """Deepest ``(`` nesting outside string literals and quoted names."""
    depth = deepest = 0
    quote = None
    for char in adql:
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth -= 1
    return deepest


def _tree_depth(root: exp.Expression) -> int:
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in node.iter_expressions())
    return deepest


def _check_size(adql: str) -> None:
    nesting = _parenthesis_depth(adql)
    if nesting > MAX_PARENTHESES:
        raise AdqlError(f"parentheses nested {nesting} deep; the limit is {MAX_PARENTHESES} levels")


def _parse(adql: str) -> exp.Expression:
    if not adql or not adql.strip():
        raise AdqlError("empty query: send QUERY=SELECT ... FROM ivoa.obscore")
    _check_size(adql)
    try:
        statements = [s for s in sqlglot.parse(adql, read="tsql") if s is not None]
    except RecursionError:
        raise AdqlError(_too_deep()) from None
    except ParseError as exc:
        detail = exc.errors[0] if exc.errors else {}
        where = (
            f" near line {detail.get('line')}, column {detail.get('col')} "
            f"({detail.get('highlight')!r})"
            if detail
            else ""
        )
        raise AdqlError(f"ADQL syntax error{where}: {detail.get('description', exc)}") from None
    except SqlglotError as exc:
        raise AdqlError(f"ADQL syntax error: {exc}") from None
    if len(statements) != 1:
        raise AdqlError(f"send exactly one SELECT statement (got {len(statements)})")
    root = statements[0]
    if not isinstance(root, exp.Select | exp.SetOperation):
        raise AdqlError(f"only SELECT queries are allowed, got {adql.strip()[:40]!r}")
    if _tree_depth(root) > MAX_EXPRESSION_DEPTH:
        raise AdqlError(_too_deep())
    for node in root.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise AdqlError(f"{node.key.upper()} is not allowed in ADQL queries")
        if isinstance(node, exp.Func):
            if isinstance(node, exp.Anonymous):
                ok = str(node.this).upper() in ALLOWED_ANONYMOUS
            else:
                # Operators (AND, =, BETWEEN, CASE ...) are Func nodes in sqlglot too.
                ok = type(node) in ALLOWED_FUNCTION_TYPES or isinstance(node, OPERATOR_NODES)
            if not ok:
                raise AdqlError(
                    f"function {_function_name(node)} is not supported; "
                    f"available: {', '.join(ADQL_FUNCTION_NAMES)}"
                )
    return root


def _too_deep() -> str:
    return (
        f"the query's expression tree is deeper than {MAX_EXPRESSION_DEPTH} levels "
        "(a chain of more than about 200 AND/OR conditions or operators); "
        "use IN (...) or BETWEEN for long lists of values"
    )


def _sql_type(c: ColumnDef) -> str:
    return {"char": "TEXT", "double": "DOUBLE", "long": "BIGINT"}.get(c.datatype, "INT")


# --- geometry --------------------------------------------------------------------


@dataclass
class Geo:
    """A geometry operand: a constructor with its (rendered) arguments, or the
    ``s_region`` column."""

    kind: str  # point, circle, polygon, box, region
    args: list[str]  # SQL of each numeric argument (region: the column SQL)
    consts: list[float] | None  # numeric values when every argument is a constant
    columns: list[exp.Column]  # column nodes among the arguments

    def shape(self) -> geometry.Shape | None:
        if self.consts is None:
            return None
        v = self.consts
        if self.kind == "point":
            return geometry.Point(*v)
        if self.kind == "circle":
            return geometry.Circle(*v)
        if self.kind == "box":
            return geometry.box_polygon(*v)
        if self.kind == "polygon":
            return geometry.Polygon(tuple(zip(v[::2], v[1::2], strict=True)))
        return None


def _constant(node: exp.Expression) -> float | None:
    if isinstance(node, exp.Literal) and not node.is_string:
        return float(node.this)
    if isinstance(node, exp.Neg):
        inner = _constant(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Paren):
        return _constant(node.this)
    return None


def _check_ranges(kind: str, consts: list[float | None]) -> None:
    """Constant geometry arguments within the sphere: RA any finite number of
    degrees, Dec in [-90, 90], CIRCLE radius in [0, 180], BOX sides in (0, 180]."""
    names = {"point": ("ra", "dec"), "circle": ("ra", "dec", "radius"),
             "box": ("ra", "dec", "width", "height")}.get(kind, ("ra", "dec") * (len(consts) // 2))  # fmt: skip
    accepted = {"dec": (-90.0, 90.0), "radius": (0.0, 180.0), "width": (0.0, 180.0),
                "height": (0.0, 180.0)}  # fmt: skip
    for name, value in zip(names, consts, strict=True):
        if value is None:
            continue
        low, high = accepted.get(name, (-math.inf, math.inf))
        if not (math.isfinite(value) and low <= value <= high):
            raise AdqlError(
                f"{kind.upper()} {name} {value:g} is out of range: "
                f"{name} must be a finite number of degrees"
                + (f" in [{low:g}, {high:g}]" if math.isfinite(high) else "")
            )


class _Translator:
    def __init__(self, dialect: str, tables_by_alias: dict[str, TableDef]) -> None:
        self.dialect = dialect
        self.tables_by_alias = tables_by_alias

    def sql(self, node: exp.Expression) -> str:
        glot = "postgres" if self.dialect == "postgresql" else "sqlite"
        return node.sql(dialect=glot, identify=True)

    def is_region_column(self, node: exp.Expression) -> bool:
        return (
            isinstance(node, exp.Column)
            and node.name.lower() == "s_region"
            and self.tables_by_alias.get(node.table.lower() if node.table else "") is not None
        )

    def geo(self, node: exp.Expression) -> Geo:
        if isinstance(node, exp.Paren):
            return self.geo(node.this)
        if self.is_region_column(node):
            return Geo("region", [self.sql(node)], None, [node])
        if isinstance(node, exp.Anonymous) and str(node.this).upper() in GEOMETRY_CONSTRUCTORS:
            kind = str(node.this).upper().lower()
            args = list(node.expressions)
            if args and isinstance(args[0], exp.Literal) and args[0].is_string:
                frame = str(args[0].this).strip().upper()
                if frame not in ("", "ICRS", "J2000", "FK5", "UNKNOWNFRAME"):
                    raise AdqlError(
                        f"coordinate system {frame!r} is not supported; positions are ICRS"
                    )
                args = args[1:]
            expected = {"point": (2,), "circle": (3,), "box": (4,)}.get(kind)
            if expected and len(args) not in expected:
                raise AdqlError(f"{kind.upper()} takes {expected[0]} numbers after the frame")
            if kind == "polygon" and (len(args) < 6 or len(args) % 2):
                raise AdqlError("POLYGON takes at least 3 vertices (ra, dec pairs)")
            consts = [_constant(a) for a in args]
            _check_ranges(kind, consts)
            columns = [c for a in args for c in a.find_all(exp.Column)]
            return Geo(
                kind,
                [self.sql(a) for a in args],
                None if any(c is None for c in consts) else consts,
                columns,
            )
        raise AdqlError(
            f"expected a geometry (POINT, CIRCLE, POLYGON, BOX or s_region), got {node.sql()!r}"
        )

    # -- rendering per dialect --

    def render(self, g: Geo) -> str:
        if self.dialect == "postgresql":
            return self._pg(g)
        if g.kind == "region":
            return g.args[0]
        fn = {"point": "wa_point", "circle": "wa_circle", "polygon": "wa_polygon", "box": "wa_box"}
        return f"{fn[g.kind]}({', '.join(g.args)})"

    def _pg(self, g: Geo) -> str:
        if g.kind == "region":
            return f"wa_region({g.args[0]})"
        if g.kind == "point":
            return f"spoint(radians({g.args[0]}), radians({g.args[1]}))"
        if g.kind == "circle":
            return (
                f"scircle(spoint(radians({g.args[0]}), radians({g.args[1]})), radians({g.args[2]}))"
            )
        shape = g.shape()
        if shape is None:
            raise AdqlError(f"{g.kind.upper()} vertices must be numeric constants")
        vertices = ",".join(f"({ra!r}d,{dec!r}d)" for ra, dec in shape.vertices)
        return f"spoly('{{{vertices}}}')"

    def predicate(self, name: str, a: Geo, b: Geo) -> str:
        """SQL boolean for CONTAINS(a, b) / INTERSECTS(a, b)."""
        if name == "INTERSECTS" and b.kind == "point":
            a, b, name = b, a, "CONTAINS"
        if name == "INTERSECTS" and a.kind == "point":
            name = "CONTAINS"
        if self.dialect == "postgresql":
            op = "<@" if name == "CONTAINS" else "&&"
            return f"({self.render(a)} {op} {self.render(b)})"
        fn = "wa_contains" if name == "CONTAINS" else "wa_intersects"
        return f"({fn}({self.render(a)}, {self.render(b)}) = 1)"

    def distance(self, a: Geo, b: Geo) -> str:
        if a.kind != "point" or b.kind != "point":
            raise AdqlError("DISTANCE takes two POINTs")
        if self.dialect == "postgresql":
            return f"degrees({self.render(a)} <-> {self.render(b)})"
        return f"wa_distance({a.args[0]}, {a.args[1]}, {b.args[0]}, {b.args[1]})"

    def within(self, a: Geo, b: Geo, radius_sql: str) -> str:
        """DISTANCE(a, b) <= radius, in the form the spatial index serves."""
        if self.dialect == "postgresql":
            circle = f"scircle({self.render(b)}, radians({radius_sql}))"
            return f"({self.render(a)} <@ {circle})"
        return f"({self.distance(a, b)} <= {radius_sql})"

    def area(self, g: Geo) -> str:
        if self.dialect == "postgresql":
            if g.kind == "point":
                return "0.0"
            return f"(area({self.render(g)}) * (180.0 / pi()) * (180.0 / pi()))"
        return f"wa_area({self.render(g)})"

    def coord(self, which: int, g: Geo) -> str:
        if g.kind != "point":
            raise AdqlError(f"COORD{which} takes a POINT")
        return g.args[which - 1]


def _var(sql: str) -> exp.Expression:
    return exp.Var(this=sql)


def _anon(node: exp.Expression, name: str) -> bool:
    if name == "CONTAINS" and isinstance(node, exp.Contains):
        return True
    return isinstance(node, exp.Anonymous) and str(node.this).upper() == name


def _pred_args(node: exp.Expression) -> list[exp.Expression]:
    if isinstance(node, exp.Contains):
        return [node.this, node.expression]
    return list(node.expressions)


def _rewrite_geometry(root: exp.Expression, tr: _Translator, prefilters: list) -> exp.Expression:
    """Replace every geometry construct under ``root`` by dialect SQL."""

    def spatial_call(node: exp.Expression) -> tuple[str, Geo, Geo] | None:
        for name in ("CONTAINS", "INTERSECTS"):
            if _anon(node, name):
                args = _pred_args(node)
                if len(args) != 2:
                    raise AdqlError(f"{name} takes two geometries")
                return name, tr.geo(args[0]), tr.geo(args[1])
        return None

    def transform(node: exp.Expression) -> exp.Expression:
        # 1 = CONTAINS(...) / CONTAINS(...) = 0 ... -> a boolean predicate.
        if isinstance(node, exp.EQ | exp.NEQ):
            for call, other in ((node.this, node.expression), (node.expression, node.this)):
                found = spatial_call(call)
                value = _constant(other)
                if found and value in (0.0, 1.0):
                    name, a, b = found
                    pred = tr.predicate(name, a, b)
                    prefilters.append((name, a, b, node))
                    truth = (value == 1.0) == isinstance(node, exp.EQ)
                    return _var(pred if truth else f"(NOT {pred})")
        # DISTANCE(p, q) < r  ->  index-friendly containment in a circle.
        if isinstance(node, exp.LT | exp.LTE) and _anon(node.this, "DISTANCE"):
            radius = _constant(node.expression)
            args = node.this.expressions
            if radius is not None and len(args) == 2:
                a, b = tr.geo(args[0]), tr.geo(args[1])
                if a.kind == b.kind == "point":
                    if b.consts is None and a.consts is not None:
                        a, b = b, a
                    prefilters.append(("DISTANCE", a, b, node, radius))
                    return _var(tr.within(a, b, repr(radius)))
        found = spatial_call(node)
        if found:
            name, a, b = found
            pred = tr.predicate(name, a, b)
            if tr.dialect == "postgresql":
                return _var(f"CAST({pred} AS INTEGER)")
            return _var(pred.replace(" = 1)", ")"))
        if _anon(node, "DISTANCE"):
            args = node.expressions
            if len(args) == 4:  # ADQL 2.1 DISTANCE(ra1, dec1, ra2, dec2)
                a = Geo("point", [tr.sql(args[0]), tr.sql(args[1])], None, [])
                b = Geo("point", [tr.sql(args[2]), tr.sql(args[3])], None, [])
            elif len(args) == 2:
                a, b = tr.geo(args[0]), tr.geo(args[1])
            else:
                raise AdqlError("DISTANCE takes two POINTs")
            return _var(tr.distance(a, b))
        if _anon(node, "AREA"):
            return _var(tr.area(tr.geo(node.expressions[0])))
        for which in (1, 2):
            if _anon(node, f"COORD{which}"):
                return _var(tr.coord(which, tr.geo(node.expressions[0])))
        if isinstance(node, exp.Anonymous) and str(node.this).upper() in GEOMETRY_CONSTRUCTORS:
            raise AdqlError(
                f"{str(node.this).upper()} values can only be used inside CONTAINS, "
                "INTERSECTS, DISTANCE, AREA or COORD1/COORD2"
            )
        return node

    # Top-down, so comparisons are seen before the calls inside them.
    return _transform_top_down(root, transform)


def _transform_top_down(node: exp.Expression, fn) -> exp.Expression:
    new = fn(node)
    if new is not node:
        return new
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            node.set(key, _transform_top_down(value, fn))
        elif isinstance(value, list):
            node.set(
                key,
                [_transform_top_down(v, fn) if isinstance(v, exp.Expression) else v for v in value],
            )
    return node


# --- HEALPix pre-filter -------------------------------------------------------------


def sky_cells_sql(shape: geometry.Shape, depth: int = SKY_INDEX_DEPTH) -> str | None:
    """SQL condition on ``sky_index.hpx`` selecting the cells that touch ``shape``
    (a superset); None when the region is too large for an index to help."""
    import astropy.units as u
    from astropy.coordinates import Angle
    from mocpy import MOC

    ra, dec, radius = geometry.centre_radius(shape)
    if radius >= 60:
        return None
    if isinstance(shape, geometry.Polygon):
        ras = [v[0] for v in shape.vertices] * u.deg
        decs = [v[1] for v in shape.vertices] * u.deg
        moc = MOC.from_polygon(lon=ras, lat=decs, max_depth=depth)
    else:
        moc = MOC.from_cone(
            lon=ra * u.deg,
            lat=dec * u.deg,
            radius=Angle(max(radius, 1e-6), u.deg),
            max_depth=depth,
        )
    # Pad by one cell: a shape grazing a cell's corner must still find its rows.
    moc = moc.add_neighbours()
    shift = 2 * (29 - depth)
    ranges = sky.coarsen_ranges(
        (int(lo) >> shift, ((int(hi) - 1) >> shift) + 1) for lo, hi in moc.to_depth29_ranges
    )
    parts = [f"hpx = {a}" if b - a == 1 else f"hpx BETWEEN {a} AND {b - 1}" for a, b in ranges]
    return " OR ".join(parts) if parts else "0 = 1"


#: SQL of a visible observation's position inside a barrier (the base tables).
BASE_POINT = Geo("point", ["observations.s_ra", "observations.s_dec"], None, [])


def _spatial_pushdown(entry, tr: _Translator, in_scope: dict[str, str]) -> tuple[str, str] | None:
    """``(barrier, condition on the base tables)`` implied by one top-level spatial
    conjunct on a guarded table: the HEALPix cells of its region (SQLite points,
    regions), or on PostgreSQL the point predicate itself, in the form the GiST
    index on ``spoint(s_ra, s_dec)`` serves. pgsphere's operators and the cell
    test never fail on any stored value, so they may run on hidden rows."""
    kind = entry[0]
    if kind == "DISTANCE":
        _, a, b, _node, radius = entry
        const, var = b, a
        if const.consts is None:
            return None
        shape: geometry.Shape = geometry.Circle(const.consts[0], const.consts[1], radius)
    else:
        _, a, b, _node = entry
        if a.consts is not None and b.consts is None:
            const, var = a, b
        elif b.consts is not None and a.consts is None:
            const, var = b, a
        else:
            return None
        shape = const.shape()
        if shape is None or isinstance(shape, geometry.Point):
            return None
    if var.kind == "point":
        names = [c.name.lower() for c in var.columns]
        if names != ["s_ra", "s_dec"] or len({c.table for c in var.columns}) != 1:
            return None
    elif var.kind != "region":
        return None
    barrier = in_scope.get(var.columns[0].table.lower())
    if barrier is None:
        return None
    if var.kind == "point" and tr.dialect == "postgresql":
        if kind == "DISTANCE":
            return barrier, tr.within(BASE_POINT, const, repr(radius))
        pair = (BASE_POINT, b) if var is a else (a, BASE_POINT)
        return barrier, tr.predicate(kind, *pair)
    cells = sky_cells_sql(shape)
    if cells is None:
        return None
    return barrier, f"observations.obsid IN (SELECT obsid FROM sky_index WHERE {cells})"


#: ADQL comparison -> SQL operator, and its mirror when the column is on the right.
_COMPARISONS = {exp.EQ: ("=", "="), exp.GT: (">", "<"), exp.GTE: (">=", "<="),
                exp.LT: ("<", ">"), exp.LTE: ("<=", ">=")}  # fmt: skip


def _literal(node: exp.Expression, column: ColumnDef) -> str | None:
    """SQL of a constant of ``column``'s type (None for anything else)."""
    if column.is_string:
        if isinstance(node, exp.Literal) and node.is_string:
            return "'" + str(node.this).replace("'", "''") + "'"
        return None
    value = _constant(node)
    return None if value is None or not math.isfinite(value) else repr(value)


def _column_pushdown(
    node: exp.Expression, in_scope: dict[str, str], tables: dict[str, TableDef]
) -> tuple[str, str] | None:
    """``(barrier, condition on the base tables)`` for a conjunct that compares a
    plain column of a guarded table with constants (=, <, <=, >, >=, IN, BETWEEN):
    such comparisons cannot fail, and they let the barrier use its indexes."""
    while isinstance(node, exp.Paren):
        node = node.this
    if type(node) in _COMPARISONS:
        op, mirrored = _COMPARISONS[type(node)]
        column, values = node.this, [node.expression]
        if isinstance(node.expression, exp.Column):
            column, values, op = node.expression, [node.this], mirrored
        form = "{} " + op + " {}"
    elif isinstance(node, exp.In) and not node.args.get("query") and node.expressions:
        column, values = node.this, list(node.expressions)
        form = "{} IN ({})"
    elif isinstance(node, exp.Between):
        column, values = node.this, [node.args["low"], node.args["high"]]
        form = "{} BETWEEN {} AND {}"
    else:
        return None
    if not isinstance(column, exp.Column) or not column.table:
        return None
    barrier = in_scope.get(column.table.lower())
    tdef = tables.get(column.table.lower())
    if barrier is None or tdef is None or column.name.lower() not in tdef.pushable:
        return None
    meta = tdef.column(column.name)
    literals = [_literal(v, meta) for v in values] if meta else [None]
    if any(lit is None for lit in literals):
        return None
    base = tdef.pushable[column.name.lower()]
    if isinstance(node, exp.In):
        return barrier, form.format(base, ", ".join(literals))
    return barrier, form.format(base, *literals)


def _own_tables(select: exp.Select) -> list[exp.Table]:
    """The tables ``select`` reads itself (not those of its subqueries)."""
    return [t for t in select.find_all(exp.Table) if t.find_ancestor(exp.Select) is select]


# --- the translation --------------------------------------------------------------


def translate(
    adql: str,
    dialect: str,
    ctx: Any,
    *,
    maxrec: int,
    uploads: list[TableDef] | None = None,
) -> Translation:
    """Translate ``adql`` for ``dialect`` ("sqlite" or "postgresql")."""
    root = _parse(adql)
    registry = {t.qualified.lower(): t for t in [*all_tables(), *(uploads or [])]}
    used: dict[str, TableDef] = {}
    for table in root.find_all(exp.Table):
        qualified = ".".join(p for p in (table.db, table.name) if p).lower()
        tdef = registry.get(qualified) or (
            None
            if table.db
            else next((t for t in registry.values() if t.name.lower() == qualified), None)
        )
        if tdef is None:
            raise AdqlError(
                f"unknown table {qualified!r}; available: "
                + ", ".join(t.qualified for t in registry.values())
            )
        used[tdef.cte_name] = tdef
        alias = table.alias or tdef.name.lower()
        table.set("db", None)
        table.set("catalog", None)
        table.set("this", exp.to_identifier(tdef.cte_name))
        table.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
    for column in root.find_all(exp.Column):
        if column.args.get("db"):  # ivoa.obscore.s_ra -> obscore.s_ra
            column.set("db", None)
            column.set("catalog", None)
    schema = {name: {c.name.lower(): _sql_type(c) for c in t.columns} for name, t in used.items()}
    try:
        root = qualify(
            root,
            schema=schema,
            dialect="tsql",
            quote_identifiers=False,
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        raise AdqlError(f"{exc}; see /tap/tables for the columns of each table") from None

    # Map each table alias to its definition (for geometry and output metadata);
    # every occurrence of a guarded table becomes its own barrier CTE, narrowed by
    # the conditions of the SELECT that reads it.
    tables_by_alias: dict[str, TableDef] = {}
    plain: dict[str, TableDef] = {}
    barriers: dict[str, tuple[TableDef, list[str]]] = {}
    for i, table in enumerate(list(root.find_all(exp.Table))):
        tdef = used.get(table.name.lower())
        if tdef is None:
            continue
        if table.alias:
            tables_by_alias[table.alias.lower()] = tdef
        if tdef.guarded:
            name = f"{tdef.cte_name}__{i}"
            barriers[name] = (tdef, [])
            table.set("this", exp.to_identifier(name))
        else:
            plain[tdef.cte_name] = tdef
    obscore_aliases = {a: t for a, t in tables_by_alias.items() if t.hidden}
    tr = _Translator(dialect, obscore_aliases)

    # Innermost SELECTs first, so each spatial condition is seen by its own SELECT.
    for select in reversed(list(root.find_all(exp.Select))):
        where = select.args.get("where")
        if where is None:
            continue
        in_scope = {
            t.alias.lower(): t.name for t in _own_tables(select) if t.name in barriers and t.alias
        }
        conjuncts = list(where.this.flatten()) if isinstance(where.this, exp.And) else [where.this]
        top_level = {id(c) for c in conjuncts}
        pushed = [_column_pushdown(c, in_scope, tables_by_alias) for c in conjuncts]
        prefilters: list = []
        select.set("where", exp.Where(this=_rewrite_geometry(where.this, tr, prefilters)))
        pushed += [
            _spatial_pushdown(entry, tr, in_scope)
            for entry in prefilters
            if id(entry[3]) in top_level
        ]
        for barrier, condition in filter(None, pushed):
            barriers[barrier][1].append(condition)
    root = _rewrite_geometry(root, tr, [])

    top_node = root.args.get("limit")
    top = None
    if top_node is not None:
        value = _constant(top_node.expression)
        if value is None or value < 0:
            raise AdqlError("TOP takes a non-negative integer")
        top = int(value)
    limit = min(top, maxrec + 1) if top is not None else maxrec + 1
    root.set("limit", exp.Limit(expression=exp.Literal.number(limit)))

    columns = _output_columns(root, tables_by_alias)
    ctes = ", ".join(
        [f'"{name}" AS ({tdef.build(dialect, ctx)})' for name, tdef in plain.items()]
        + [
            f'"{name}" AS ({tdef.build(dialect, ctx, where=conditions)})'
            for name, (tdef, conditions) in barriers.items()
        ]
    )
    body = root.sql(dialect="postgres" if dialect == "postgresql" else "sqlite", identify=True)
    sql = f"WITH {ctes} {body}" if ctes else body
    return Translation(sql, columns, limit, top, [t.qualified for t in used.values()])


def _output_columns(
    root: exp.Expression, tables_by_alias: dict[str, TableDef]
) -> list[OutputColumn]:
    select = root
    while isinstance(select, exp.SetOperation):
        select = select.this
    out: list[OutputColumn] = []
    seen: set[str] = set()
    for i, projection in enumerate(select.expressions):
        name = projection.alias_or_name or f"col{i}"
        target = projection.this if isinstance(projection, exp.Alias) else projection
        meta = None
        if isinstance(target, exp.Column):
            tdef = tables_by_alias.get((target.table or "").lower())
            meta = tdef.column(target.name) if tdef else None
            if meta is not None and name.lower() == meta.bare.lower():
                name = meta.bare
        if name.startswith("_col_"):
            name = f"col{i}"
        base, n = name, 1
        while name.lower() in seen:
            n += 1
            name = f"{base}_{n}"
        seen.add(name.lower())
        out.append(OutputColumn(name, meta))
    return out


def quote_adql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def adql_number(value: float) -> str:
    if not math.isfinite(value):
        raise AdqlError(f"not a finite number: {value}")
    return repr(float(value))
