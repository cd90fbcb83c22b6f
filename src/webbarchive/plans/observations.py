"""Planned visits as CAOM observations (``calib_level = -1``), as MAST lists them.

MAST's CAOM holds a planned visit as an observation row with ``calib_level``
-1 and no products, so ``Observations.query_criteria(calib_level=-1, ...)``
in astroquery and ObsCore queries on ``calib_level = -1`` find them. Each
visit loaded by :mod:`webbarchive.plans.load` gets such a row here:

- ``obs_id``: the visit id ``jwPPPPPOOOVVV`` (program, observation, visit),
  which no executed product's obs_id can take (those carry a ``-o`` or an
  exposure suffix);
- ``s_ra``/``s_dec``: the target at the window's start (proper motion applied),
  ``s_region`` a 1 arcsec box around it (``footprint_source`` ``target``): the
  orientation of a planned visit is not known until it is scheduled;
- ``t_min``/``t_max``: the planned window (MJD); ``t_obs_release``: none;
- ``instrument_name``/``dataproduct_type`` from the template
  (:data:`~webbarchive.plans.templates.CAOM_OF_TEMPLATE`), ``filters`` the
  optical elements, ``template`` the APT template.

Who may read these rows is decided in :mod:`webbarchive.catalog.rights`
(planned rows are public metadata).
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from webbarchive.catalog import sky
from webbarchive.catalog.rights import PLANNED_CALIB_LEVEL
from webbarchive.catalog.schema import observations, programs, sky_index
from webbarchive.plans.templates import CAOM_OF_TEMPLATE


def visit_obs_id(program: int | str, observation: int, visit: int) -> str:
    """The obs_id of a planned visit: ``jw01345062001`` for 1345, 62, 1."""
    return f"jw{int(program):05d}{int(observation):03d}{int(visit):03d}"


def observation_row(visit: dict) -> dict:
    """The ``observations`` row of one ``planned_visits`` row."""
    instrument, dataproduct_type = CAOM_OF_TEMPLATE.get(
        visit["template"], (visit["instrument"], None)
    )
    footprint = sky.target_box(visit["s_ra"], visit["s_dec"])
    return {
        "obs_id": visit_obs_id(visit["proposal_id"], visit["observation"], visit["visit"]),
        "obs_collection": "JWST",
        "dataproduct_type": dataproduct_type,
        "calib_level": PLANNED_CALIB_LEVEL,
        "intentType": "science",
        "target_name": visit["target_name"],
        "s_ra": visit["s_ra"],
        "s_dec": visit["s_dec"],
        "s_region": sky.to_stcs(footprint),
        "t_min": visit["t_plan_start"],
        "t_max": visit["t_plan_end"],
        "instrument_name": instrument,
        "filters": visit["optical_elements"],
        "proposal_id": visit["proposal_id"],
        "project": "JWST",
        "template": visit["template"],
        "footprint_source": "target",
    }


def write_observations(conn: Connection, visits: list[dict]) -> None:
    """Replace the planned observations (and their sky cells) of ``visits``."""
    rows = [observation_row(v) for v in visits]
    ids = [r["obs_id"] for r in rows]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        old = select(observations.c.obsid).where(
            observations.c.obs_id.in_(chunk),
            observations.c.calib_level == PLANNED_CALIB_LEVEL,
        )
        conn.execute(delete(sky_index).where(sky_index.c.obsid.in_(old)))
        conn.execute(
            delete(observations).where(
                observations.c.obs_id.in_(chunk),
                observations.c.calib_level == PLANNED_CALIB_LEVEL,
            )
        )
    known = set(conn.execute(select(programs.c.proposal_id)).scalars())
    missing = sorted({r["proposal_id"] for r in rows} - known)
    if missing:  # the observations' program must exist; its details come with ingest
        conn.execute(insert(programs), [{"proposal_id": p} for p in missing])
    for start in range(0, len(rows), 2000):
        chunk = rows[start : start + 2000]
        conn.execute(insert(observations), chunk)
        obsids = dict(
            conn.execute(
                select(observations.c.obs_id, observations.c.obsid).where(
                    observations.c.obs_id.in_([r["obs_id"] for r in chunk])
                )
            ).all()
        )
        boxes = [sky.target_box(r["s_ra"], r["s_dec"]) for r in chunk]
        cells = [
            {"obsid": obsids[row["obs_id"]], "hpx": cell}
            for row, found in zip(chunk, sky.polygons_cells(boxes), strict=True)
            for cell in found
        ]
        conn.execute(insert(sky_index), cells)
