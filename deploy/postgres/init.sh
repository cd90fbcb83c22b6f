#!/bin/bash
# First start of the database: the catalog's role (owner of its tables, not a
# superuser), pgsphere, and the role ADQL runs as (SELECT only; the catalog
# grants it SELECT on its tables when it creates them).
set -euo pipefail
psql -v ON_ERROR_STOP=1 -U postgres <<SQL
CREATE ROLE webbarchive LOGIN PASSWORD '${WEBBARCHIVE_DB_PASSWORD}';
CREATE DATABASE webbarchive OWNER webbarchive;
CREATE ROLE webbarchive_reader NOLOGIN NOINHERIT;
GRANT webbarchive_reader TO webbarchive;
\connect webbarchive
CREATE EXTENSION IF NOT EXISTS pg_sphere;
SQL
