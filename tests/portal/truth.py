"""Independent answers for the portal tests, read straight from the catalog
tables (not through the portal's or the Mashup's queries)."""

from __future__ import annotations

from sqlalchemy import select

from webbarchive.catalog.rights import now_mjd
from webbarchive.catalog.schema import observations, products, programs


def public_obs_ids(engine) -> set[str]:
    """obs_id of the observations whose effective release has passed."""
    now = now_mjd()
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                observations.c.obs_id,
                observations.c.t_obs_release,
                programs.c.release_override_mjd,
            ).select_from(
                observations.outerjoin(
                    programs, programs.c.proposal_id == observations.c.proposal_id
                )
            )
        )
        return {
            obs_id
            for obs_id, release, override in rows
            if (override if override is not None else release) is not None
            and (override if override is not None else release) <= now
        }


def obs_ids_of_program(engine, proposal_id: str) -> set[str]:
    with engine.connect() as conn:
        return set(
            conn.execute(
                select(observations.c.obs_id).where(observations.c.proposal_id == proposal_id)
            ).scalars()
        )


def product_files(engine, obs_id: str) -> dict[str, tuple[int, str]]:
    """filename -> (size in bytes, md5) of the products of ``obs_id``."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(products.c.filename, products.c.size, products.c.checksum)
            .join(observations, observations.c.obsid == products.c.obsid)
            .where(observations.c.obs_id == obs_id)
        )
        return {name: (size, md5) for name, size, md5 in rows}


def obs_ids_of_instrument(engine, family: str) -> set[str]:
    """obs_id of the observations whose instrument_name is ``family`` or a mode of it."""
    with engine.connect() as conn:
        names = conn.execute(select(observations.c.obs_id, observations.c.instrument_name))
        return {o for o, i in names if i and i.upper().split("/")[0] == family}


def public_rows(engine) -> list[dict]:
    """Every public observation's row (all columns), from the table."""
    public = public_obs_ids(engine)
    with engine.connect() as conn:
        rows = conn.execute(select(observations)).mappings()
        return [dict(r) for r in rows if r["obs_id"] in public]
