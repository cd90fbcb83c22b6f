"""Both catalog backends open, create the schema, and (PostgreSQL) load pgsphere."""

from sqlalchemy import inspect, text

from webbarchive.catalog.db import open_catalog


def test_schema_created_on_both_backends(catalog_url):
    engine = open_catalog(catalog_url)
    names = set(inspect(engine).get_table_names())
    assert {"observations", "products", "keywords", "sky_index", "mnemonics", "programs"} <= names
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            # pgsphere answers spherical geometry: the distance between the poles is pi.
            dist = conn.execute(text("SELECT spoint '(0d,90d)' <-> spoint '(0d,-90d)'")).scalar()
        assert abs(dist - 3.141592653589793) < 1e-12
    # The pgsphere point index exists only where pgsphere does.
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("observations")}
    assert ("ix_observations_spoint" in indexes) == (engine.dialect.name == "postgresql")
    # Opening twice is harmless (create_all is idempotent).
    open_catalog(catalog_url)
