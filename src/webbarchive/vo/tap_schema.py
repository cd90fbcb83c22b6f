"""The tables ADQL can reach: ``ivoa.obscore`` and ``TAP_SCHEMA``.

TAP_SCHEMA is generated from the same :class:`TableDef` registry that drives
VOSI /tables and the ADQL allow-list, so the three can never disagree. Its
rows are produced as literal SELECTs (no tables written to the catalog).
"""

from __future__ import annotations

from typing import Any

from webbarchive.vo.metadata import ColumnDef, TableDef, rows_select
from webbarchive.vo.obscore import OBSCORE_TABLE


def _col(name: str, datatype: str, description: str, **kw: Any) -> ColumnDef:
    if datatype == "char":
        kw.setdefault("arraysize", "*")
    return ColumnDef(name=name, datatype=datatype, description=description, std=1, **kw)


SCHEMAS_COLUMNS = [
    _col("schema_name", "char", "schema name for reference to TAP_SCHEMA.schemas", principal=1),
    _col("utype", "char", "lists the utypes of schemas in the tableset"),
    _col("description", "char", "describes schemas in the tableset"),
    _col("schema_index", "int", "recommended sort order when listing schemas"),
]
TABLES_COLUMNS = [
    _col("schema_name", "char", "the schema this table belongs to", principal=1),
    _col("table_name", "char", "the fully qualified table name", principal=1),
    _col("table_type", "char", "one of: table view", principal=1),
    _col("utype", "char", "lists the utype of tables in the tableset"),
    _col("description", "char", "describes tables in the tableset"),
    _col("table_index", "int", "recommended sort order when listing tables"),
]
COLUMNS_COLUMNS = [
    _col("table_name", "char", "the table this column belongs to", principal=1),
    _col("column_name", "char", "the column name", principal=1),
    _col("utype", "char", "lists the utypes of columns in the tableset"),
    _col("ucd", "char", "lists the UCDs of columns in the tableset"),
    _col("unit", "char", "lists the unit used for column values in the tableset"),
    _col("description", "char", "describes the columns in the tableset"),
    _col("datatype", "char", "lists the ADQL datatype of columns in the tableset", principal=1),
    _col("arraysize", "char", "lists the size of variable-length columns in the tableset"),
    _col("xtype", "char", "a DALI or custom extended type annotation"),
    _col('"size"', "int", "deprecated: use arraysize"),
    _col("principal", "int", "a principal column; 1 means 1, 0 means 0"),
    _col("indexed", "int", "an indexed column; 1 means 1, 0 means 0"),
    _col("std", "int", "a standard column; 1 means 1, 0 means 0"),
    _col("column_index", "int", "recommended sort order when listing columns"),
]
KEYS_COLUMNS = [
    _col("key_id", "char", "unique key to join to TAP_SCHEMA.key_columns", principal=1),
    _col("from_table", "char", "the table with the foreign key", principal=1),
    _col("target_table", "char", "the table with the primary key", principal=1),
    _col("utype", "char", "lists the utype of keys in the tableset"),
    _col("description", "char", "describes keys in the tableset"),
]
KEY_COLUMNS_COLUMNS = [
    _col("key_id", "char", "key to join to TAP_SCHEMA.keys", principal=1),
    _col("from_column", "char", "column in the from_table", principal=1),
    _col("target_column", "char", "column in the target_table", principal=1),
]

#: (key_id, from_table, target_table, from_column, target_column, description)
FOREIGN_KEYS = [
    ("tables_schema", "TAP_SCHEMA.tables", "TAP_SCHEMA.schemas", "schema_name", "schema_name",
     "schema of a table"),
    ("columns_table", "TAP_SCHEMA.columns", "TAP_SCHEMA.tables", "table_name", "table_name",
     "table of a column"),
    ("keys_from", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables", "from_table", "table_name",
     "table holding a foreign key"),
    ("keys_target", "TAP_SCHEMA.keys", "TAP_SCHEMA.tables", "target_table", "table_name",
     "table a foreign key points to"),
    ("key_columns_key", "TAP_SCHEMA.key_columns", "TAP_SCHEMA.keys", "key_id", "key_id",
     "key of a key column"),
]  # fmt: skip

SCHEMA_DESCRIPTIONS = {
    "ivoa": "IVOA data models: ObsCore",
    "TAP_SCHEMA": "Description of the tables and columns of this service",
}


def _tap_schema_rows(name: str) -> list[tuple]:
    tables = all_tables()
    if name == "schemas":
        return [(s, None, d, i) for i, (s, d) in enumerate(SCHEMA_DESCRIPTIONS.items())]
    if name == "tables":
        return [
            (t.schema, t.qualified, t.table_type, t.utype, t.description, i)
            for i, t in enumerate(tables)
        ]
    if name == "columns":
        rows = []
        for t in tables:
            for i, c in enumerate(t.columns):
                size = int(c.arraysize) if c.arraysize and c.arraysize.isdigit() else None
                rows.append(
                    (
                        t.qualified,
                        c.name,
                        c.utype,
                        c.ucd,
                        c.unit,
                        c.description,
                        c.datatype,
                        c.arraysize,
                        c.xtype,
                        size,
                        c.principal,
                        c.indexed,
                        c.std,
                        i,
                    )
                )
        return rows
    # keys/key_columns: the TAP_SCHEMA tables relate by name; ObsCore has no keys.
    if name == "keys":
        return [(k, f, t, None, d) for k, f, t, _fc, _tc, d in FOREIGN_KEYS]
    if name == "key_columns":
        return [(k, fc, tc) for k, _f, _t, fc, tc, _d in FOREIGN_KEYS]
    raise KeyError(name)


def _tap_schema_table(name: str, columns: list[ColumnDef], description: str) -> TableDef:
    def build(dialect: str, _ctx: Any) -> str:
        return rows_select(columns, _tap_schema_rows(name), dialect)

    return TableDef("TAP_SCHEMA", name, description, columns, build)


TAP_SCHEMA_TABLES = [
    _tap_schema_table("schemas", SCHEMAS_COLUMNS, "description of schemas in this tableset"),
    _tap_schema_table("tables", TABLES_COLUMNS, "description of tables in this tableset"),
    _tap_schema_table("columns", COLUMNS_COLUMNS, "description of columns in this tableset"),
    _tap_schema_table("keys", KEYS_COLUMNS, "description of foreign keys in this tableset"),
    _tap_schema_table("key_columns", KEY_COLUMNS_COLUMNS, "description of foreign key columns"),
]


def all_tables() -> list[TableDef]:
    """Every table of the service, in listing order."""
    return [OBSCORE_TABLE, *TAP_SCHEMA_TABLES]
