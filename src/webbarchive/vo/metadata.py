"""Column and table descriptions: the one registry behind TAP_SCHEMA, VOSI
/tables, the ADQL allow-list and the FIELD metadata of every VOTable we write.

Datatypes are VOTable/TAP 1.1 names (``char``, ``short``, ``int``, ``long``,
``double``, ``boolean``); ``arraysize="*"`` marks variable-length strings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: VOTable datatype -> SQL cast type, used when a table is built from literal rows.
SQL_TYPES = {
    "char": "TEXT",
    "unicodeChar": "TEXT",
    "short": "INTEGER",
    "int": "INTEGER",
    "long": "BIGINT",
    "double": "DOUBLE PRECISION",
    "float": "REAL",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class ColumnDef:
    name: str
    datatype: str
    description: str = ""
    unit: str | None = None
    ucd: str | None = None
    utype: str | None = None
    arraysize: str | None = None
    xtype: str | None = None
    principal: int = 0
    indexed: int = 0
    std: int = 0

    @property
    def bare(self) -> str:
        """The name without ADQL delimiters (TAP_SCHEMA's reserved ``"size"``)."""
        return self.name.strip('"')

    @property
    def is_string(self) -> bool:
        return self.datatype in ("char", "unicodeChar")


@dataclass
class TableDef:
    """A table ADQL may name: ``schema.name``, its columns and how to build it.

    ``build(dialect, context)`` returns the SQL SELECT that produces the
    table's rows for this request (context carries the user and base URL), so
    each request sees only what its user may read.

    A ``guarded`` table holds rows some users may not read. Its ``build`` also
    takes ``where``, conditions on the base tables that the translator copies
    from the query (see :mod:`webbarchive.vo.adql`), and returns a SELECT
    that is a barrier: rows leave it only after its rights filter, so no user
    expression is ever evaluated on a hidden row. ``pushable`` maps the ADQL
    columns such conditions may name to their SQL on the base tables.
    """

    schema: str
    name: str
    description: str
    columns: list[ColumnDef]
    build: Callable[[str, Any], str]
    table_type: str = "table"
    utype: str | None = None
    hidden: list[str] = field(default_factory=list)  # CTE-only columns, not ADQL-visible
    guarded: bool = False
    pushable: dict[str, str] = field(default_factory=dict)

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def cte_name(self) -> str:
        return f"{self.schema}__{self.name}".lower()

    def column(self, name: str) -> ColumnDef | None:
        lowered = name.strip('"').lower()
        return next((c for c in self.columns if c.bare.lower() == lowered), None)


def sql_literal(value: Any) -> str:
    """A SQL literal valid in both SQLite and PostgreSQL."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return "NULL"
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def rows_select(columns: list[ColumnDef], rows: list[tuple], dialect: str) -> str:
    """SQL producing ``rows`` with ``columns`` typed (a UNION ALL of SELECTs;
    one NULL row filtered away when there are no rows)."""
    casts = []
    for c in columns:
        sql_type = SQL_TYPES.get(c.datatype, "TEXT")
        if dialect == "sqlite" and sql_type == "DOUBLE PRECISION":
            sql_type = "REAL"
        if dialect == "sqlite" and sql_type == "BOOLEAN":
            sql_type = "INTEGER"
        casts.append(sql_type)
    if not rows:
        selects = [
            "SELECT "
            + ", ".join(
                f'CAST(NULL AS {t}) AS "{c.bare.lower()}"'
                for c, t in zip(columns, casts, strict=True)
            )
            + " WHERE 1 = 0"
        ]
    else:
        selects = []
        for i, row in enumerate(rows):
            if i == 0:
                parts = [
                    f'CAST({sql_literal(v)} AS {t}) AS "{c.bare.lower()}"'
                    for c, t, v in zip(columns, casts, row, strict=True)
                ]
            else:
                parts = [sql_literal(v) for v in row]
            selects.append("SELECT " + ", ".join(parts))
    return " UNION ALL ".join(selects)
