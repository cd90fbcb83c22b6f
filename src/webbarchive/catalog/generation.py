"""A counter that moves whenever the catalog rows behind data rights change.

Processes may keep a catalog table in memory (the pixel search keeps every
spectrum's product attributes and release date, :mod:`webbarchive.pixels.spectra`)
if they check, per request, that ``catalog_generation.n`` has not moved since
they loaded it. Database triggers move it, so no writer can forget: any insert,
update or delete on the :data:`WATCHED` tables, by ingest, the CLI, the admin
API or a hand-written SQL statement, in any process.

Reading it is one primary-key row. On PostgreSQL, writers touching the
watched tables take the counter's row lock until they commit, so they commit
one after the other (ingest writes from one process anyway). Who a *user* is (PI, collaborator, admin)
is not cached anywhere: it comes with each request's token.
"""

from __future__ import annotations

import secrets

from sqlalchemy import Column, Connection, Integer, String, Table, bindparam, select, text

from webbarchive.catalog.schema import metadata

#: Tables whose rows decide what a cached view shows and to whom: products
#: (release dates, checksums, instrument ...), programs (release overrides),
#: observations (targets), spectral_characteristics and pixel_segments (the
#: pixel store's spectra and files). Keywords change only with their
#: product's row, in the same transaction.
WATCHED = ("products", "programs", "observations", "spectral_characteristics", "pixel_segments")

catalog_generation = Table(
    "catalog_generation",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),  # always 1
    Column("n", Integer, nullable=False),
    # random per catalog: a catalog deleted and made again at the same URL is not
    # mistaken for the old one whose counter had reached the same value
    Column("instance", String(32), nullable=False),
)

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION wa_bump_generation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE catalog_generation SET n = n + 1 WHERE id = 1; RETURN NULL; END $$
"""


def install(conn: Connection) -> None:
    """Create the counter row and the triggers (idempotent; after create_all)."""
    conn.execute(
        text(
            "INSERT INTO catalog_generation (id, n, instance) SELECT 1, 0, :instance "
            "WHERE NOT EXISTS (SELECT 1 FROM catalog_generation WHERE id = 1)"
        ).bindparams(bindparam("instance", secrets.token_hex(16)))
    )
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(80809)"))  # workers start together
        conn.execute(text(_PG_FUNCTION))
        for table in WATCHED:
            # one bump per statement, however many rows it touched
            conn.execute(
                text(
                    f"CREATE OR REPLACE TRIGGER wa_generation_{table} AFTER INSERT OR UPDATE "
                    f"OR DELETE OR TRUNCATE ON {table} FOR EACH STATEMENT "
                    "EXECUTE FUNCTION wa_bump_generation()"
                )
            )
        return
    for table in WATCHED:  # SQLite: row triggers only
        for event in ("INSERT", "UPDATE", "DELETE"):
            conn.execute(
                text(
                    f"CREATE TRIGGER IF NOT EXISTS wa_generation_{table}_{event.lower()} "
                    f"AFTER {event} ON {table} BEGIN "
                    "UPDATE catalog_generation SET n = n + 1 WHERE id = 1; END"
                )
            )


def current(conn: Connection) -> tuple[str, int]:
    """(catalog instance, counter) as ``conn`` sees them."""
    row = conn.execute(
        select(catalog_generation.c.instance, catalog_generation.c.n).where(
            catalog_generation.c.id == 1
        )
    ).first()
    if row is None:
        raise RuntimeError("catalog_generation is empty: open the catalog with open_catalog()")
    return str(row[0]), int(row[1])
