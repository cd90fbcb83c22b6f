"""The catalog: schema, database access, queries, sky index and data rights."""
