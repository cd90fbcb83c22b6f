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
  optical elements, ``template`` the APT template;
- ``em_min``/``em_max`` (nm): the wavelengths the optical elements pass, from
  the filter and disperser table that executed observations get theirs from
  (:func:`webbarchive.ingest.observation.wavelength_range_nm`), see
  :func:`wavelength_range_nm`.

Who may read these rows is decided in :mod:`webbarchive.catalog.rights`
(planned rows are public metadata).
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, insert, select

from webbarchive.catalog import sky
from webbarchive.catalog.rights import PLANNED_CALIB_LEVEL
from webbarchive.catalog.schema import observations, programs, sky_index
from webbarchive.ingest import observation as executed
from webbarchive.plans.templates import CAOM_OF_TEMPLATE

_MRS_BANDS = ("SHORT", "MEDIUM", "LONG")
_NIRSPEC_DISPERSERS = ("PRISM", "G140M", "G140H", "G235M", "G235H", "G395M", "G395H")


def visit_obs_id(program: int | str, observation: int, visit: int) -> str:
    """The obs_id of a planned visit: ``jw01345062001`` for 1345, 62, 1."""
    return f"jw{int(program):05d}{int(observation):03d}{int(visit):03d}"


def wavelength_range_nm(
    instrument: str | None, template: str, optical_elements: str | None
) -> tuple[float | None, float | None]:
    """em_min/em_max (nm) of a planned visit from its optical elements
    (``"F290LP;G395M"``), or (None, None) when they name nothing known.

    NIRSpec: the disperser/filter pair's range; MIRI MRS: the band (SHORT,
    MEDIUM, LONG, or ``CHn-BAND``) in every channel named, all four when none
    is (the MRS observes the four at once); MIRI LRS: the prism's range;
    otherwise (imaging, slitless with a grism) the span of the filters, as a
    NIRCam visit takes its short and long wavelength filters together.
    """
    elements = [e.strip().upper() for e in (optical_elements or "").split(";") if e.strip()]
    instrument = (instrument or "").upper()
    ranges: list[tuple[float | None, float | None]] = []
    if template == "MIRI Medium Resolution Spectroscopy":
        for element in elements:
            channel, _, band = element.rpartition("-")
            channels = channel[2:] if channel.startswith("CH") else "1234"
            if band in _MRS_BANDS:
                kw = {"exp_type": "MIR_MRS", "channel": channels, "band": band}
                ranges.append(executed.wavelength_range_nm(kw))
    elif template == "MIRI Low Resolution Spectroscopy":
        ranges.append(executed.wavelength_range_nm({"exp_type": "MIR_LRS-FIXEDSLIT"}))
    elif instrument == "NIRSPEC":
        gratings = [e for e in elements if e in _NIRSPEC_DISPERSERS]
        filters = [e for e in elements if e not in _NIRSPEC_DISPERSERS]
        for grating in gratings:
            for filt in filters or ["CLEAR"]:
                kw = {"instrume": "NIRSPEC", "grating": grating, "filter": filt}
                ranges.append(executed.wavelength_range_nm(kw))
    else:
        for element in elements:
            if found := executed.filter_range_um(element):
                ranges.append((round(found[0] * 1000.0, 3), round(found[1] * 1000.0, 3)))
    known = [r for r in ranges if r[0] is not None and r[1] is not None]
    if not known:
        return None, None
    return min(r[0] for r in known), max(r[1] for r in known)


def observation_row(visit: dict) -> dict:
    """The ``observations`` row of one ``planned_visits`` row."""
    instrument, dataproduct_type = CAOM_OF_TEMPLATE.get(
        visit["template"], (visit["instrument"], None)
    )
    footprint = sky.target_box(visit["s_ra"], visit["s_dec"])
    em_min, em_max = wavelength_range_nm(
        visit["instrument"], visit["template"], visit["optical_elements"]
    )
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
        "em_min": em_min,
        "em_max": em_max,
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
