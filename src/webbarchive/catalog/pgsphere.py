"""pgsphere on the PostgreSQL catalog: the extension and the SQL helpers queries use.

Created with the catalog (:func:`webbarchive.catalog.db.open_catalog`), never on
a request path, so API workers may run with a read-only role. The helpers turn
STC-S text into pgsphere (``wa_region``), measure a footprint's s_fov
(``wa_fov``), and add the two functions Debian's pgsphere 1.1 lacks.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

FUNCTIONS_DDL = r"""
CREATE OR REPLACE FUNCTION wa_vertices(r text) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE w text[]; i int := 2; n int; out float8[] := '{}';
BEGIN
  IF r IS NULL THEN RETURN NULL; END IF;
  w := regexp_split_to_array(trim(regexp_replace(r, '[(),]', ' ', 'g')), '\s+');
  IF upper(w[1]) <> 'POLYGON' THEN RETURN NULL; END IF;
  n := array_length(w, 1);
  WHILE i <= n AND w[i] !~ '^[-+0-9.]' LOOP i := i + 1; END LOOP;
  WHILE i + 1 <= n LOOP out := out || w[i]::float8 || w[i+1]::float8; i := i + 2; END LOOP;
  n := array_length(out, 1);
  IF n > 6 AND out[1] = out[n-1] AND out[2] = out[n] THEN out := out[1:n-2]; END IF;
  RETURN out;
EXCEPTION WHEN others THEN RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION wa_region(r text) RETURNS spoly
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE v float8[] := wa_vertices(r); s text := ''; k int;
BEGIN
  IF v IS NULL OR array_length(v, 1) < 6 THEN RETURN NULL; END IF;
  FOR k IN 1..array_length(v, 1) - 1 BY 2 LOOP
    s := s || CASE WHEN s = '' THEN '' ELSE ',' END || '(' || v[k] || 'd,' || v[k+1] || 'd)';
  END LOOP;
  RETURN spoly('{' || s || '}');
EXCEPTION WHEN others THEN RETURN NULL;
END $$;
CREATE OR REPLACE FUNCTION wa_fov(r text) RETURNS float8
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE v float8[] := wa_vertices(r); x float8 := 0; y float8 := 0; z float8 := 0;
        best float8 := 0; c spoint; k int;
BEGIN
  IF v IS NULL OR array_length(v, 1) < 6 THEN RETURN NULL; END IF;
  FOR k IN 1..array_length(v, 1) - 1 BY 2 LOOP
    x := x + cos(radians(v[k+1])) * cos(radians(v[k]));
    y := y + cos(radians(v[k+1])) * sin(radians(v[k]));
    z := z + sin(radians(v[k+1]));
  END LOOP;
  c := spoint(atan2(y, x), atan2(z, sqrt(x * x + y * y)));
  FOR k IN 1..array_length(v, 1) - 1 BY 2 LOOP
    best := greatest(best, spoint(radians(v[k]), radians(v[k+1])) <-> c);
  END LOOP;
  RETURN 2 * degrees(best);
END $$;
CREATE OR REPLACE FUNCTION spoint_dwithin(p1 spoint, p2 spoint, r float8) RETURNS boolean
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT p1 <@ scircle(p2, r) $$;
CREATE OR REPLACE FUNCTION square_degrees(sr float8) RETURNS float8
  LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT sr * (180.0/pi())^2 $$;
"""


def install(conn: Connection) -> None:
    """Create pg_sphere and the helpers (idempotent; serialised across processes)."""
    conn.execute(text("SELECT pg_advisory_xact_lock(80808)"))
    conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_sphere"))
    conn.exec_driver_sql(FUNCTIONS_DDL)
