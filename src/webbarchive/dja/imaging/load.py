"""Loading exposure records straight into the catalog (without FITS files): an
observation, a ``dja_exposures`` row, its ``sky_index`` and ``dja_exposure_cells``
cells per exposure.

For exposure lists from elsewhere (a DJA ``exposure_files`` dump) and for tests and
benchmarks that need many exposures fast. Corners in degrees, times in MJD.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, text

from webbarchive.catalog import sky
from webbarchive.catalog.schema import observations, programs, sky_index
from webbarchive.dja.imaging.build import exposure_cells
from webbarchive.dja.imaging.geometry import path_text
from webbarchive.dja.imaging.tables import dja_exposure_cells, dja_exposures


@dataclass(frozen=True)
class ExposureRecord:
    file: str  # dataset name, jwPPPPPOOOVVV_GGSAA_EEEEE_detector
    corners: Sequence[tuple[float, float]]  # 4 (ra, dec) vertices
    filter: str  # DJA name, F200W-CLEAR
    instrume: str = "NIRCAM"
    detector: str = "NRCB1"
    proposal_id: str = "1"
    release_mjd: float | None = None
    expstart: float | None = None
    exptime: float | None = None
    assoc: str | None = None


def insert_exposures(
    conn: Connection,
    records: Iterable[ExposureRecord],
    cells: Sequence[Sequence[int]] | None = None,
) -> int:
    """Insert ``records``; ``cells`` (HEALPix cells per record) skips computing them."""
    records = list(records)
    known = set(conn.execute(select(programs.c.proposal_id)).scalars())
    new_programs = sorted({r.proposal_id for r in records} - known)
    if new_programs:
        conn.execute(insert(programs), [{"proposal_id": p} for p in new_programs])
    first = conn.execute(select(observations.c.obsid).order_by(observations.c.obsid.desc())).first()
    start = (first[0] if first else 0) + 1
    obs_rows, exposure_rows, index_rows = [], [], []
    for offset, record in enumerate(records):
        obsid = start + offset
        polygon = [(ra % 360.0, dec) for ra, dec in record.corners]
        obs_rows.append({
            "obsid": obsid, "obs_id": record.file, "obs_collection": "JWST",
            "dataproduct_type": "image", "calib_level": 2, "s_region": sky.to_stcs(polygon),
            "s_ra": polygon[0][0], "s_dec": polygon[0][1], "proposal_id": record.proposal_id,
            "t_obs_release": record.release_mjd, "t_min": record.expstart,
            "t_exptime": record.exptime, "instrument_name": f"{record.instrume}/IMAGE",
        })  # fmt: skip
        row = {
            "obsid": obsid, "product_id": -obsid, "proposal_id": record.proposal_id,
            "visit": record.file[:13], "file": record.file, "dataset": record.file,
            "extension": "rate", "assoc": record.assoc, "filter": record.filter,
            "instrume": record.instrume, "detector": record.detector, "sciext": 1,
            "expstart": record.expstart, "exptime": record.exptime, "footprint": path_text(polygon),
        }  # fmt: skip
        for i, (ra, dec) in enumerate(polygon[:4], start=1):
            row[f"ra{i}"], row[f"dec{i}"] = ra, dec
        exposure_rows.append(row)
        own = cells[offset] if cells is not None else sky.polygon_cells(polygon)
        index_rows.extend({"obsid": obsid, "hpx": int(c)} for c in own)
    if obs_rows:
        conn.execute(insert(observations), obs_rows)
        conn.execute(insert(dja_exposures), exposure_rows)
        conn.execute(insert(sky_index), index_rows)
        corners = [[(r[f"ra{i}"], r[f"dec{i}"]) for i in range(1, 5)] for r in exposure_rows]
        conn.execute(
            insert(dja_exposure_cells),
            exposure_cells([r["obsid"] for r in exposure_rows], corners),
        )
        if conn.dialect.name == "postgresql":  # explicit ids: move the sequence past them
            conn.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence('observations', 'obsid'), "
                    "(SELECT max(obsid) FROM observations))"
                )
            )
    return len(obs_rows)
