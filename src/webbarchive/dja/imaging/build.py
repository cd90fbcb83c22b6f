"""Build the DJA tables from what ingest put in the catalog: :func:`update`.

Ingest calls ``update(engine, progress)`` at the end of each run (like the pixel
index). It is incremental for the expensive part (exposures and mosaics are
(re)read only when their product is new or its checksum changed) and rebuilds
the associations, which are cheap, every time. Running it twice changes nothing.

Exposures are the level-2 imaging products (``rate``, else ``cal``): their
WCS, footprint corners, DQ count (``ndq``) and sky (median, ``mdrizsky``) come
from the file itself. Associations group them by (program, epoch = visit,
instrument, filter, detector), as DJA does.
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from sqlalchemy import Connection, Engine, delete, insert, select
from sqlalchemy import update as sql_update
from tqdm import tqdm

from webbarchive.catalog import sky
from webbarchive.catalog.schema import observations, products
from webbarchive.catalog.writer_lock import holding_writer_lock
from webbarchive.dja.imaging.geometry import path_text
from webbarchive.dja.imaging.names import association_name, dja_filter, parent_name
from webbarchive.dja.imaging.tables import (
    EXPOSURE_CELL_DEPTH,
    dja_associations,
    dja_exposure_cells,
    dja_exposures,
    dja_mosaics,
)
from webbarchive.storage import StorageUnavailable, open_storage

log = logging.getLogger(__name__)

IMAGING_EXP_TYPES = ("NRC_IMAGE", "NIS_IMAGE", "MIR_IMAGE", "NRC_TSIMAGE", "FGS_IMAGE")
EXPOSURE_SUFFIXES = ("rate", "cal")  # DJA starts from rate files; cal when no rate
MOSAIC_SCI = ("drc_sci", "drz_sci")
STATUS_PROCESSED = 2  # a sub-mosaic exists (DJA: done and synced)
STATUS_QUEUED = 0


@holding_writer_lock
def update(engine: Engine, progress: bool = False) -> dict[str, int]:
    """Bring ``dja_exposures``, ``dja_mosaics`` and ``dja_associations`` in step."""
    counts = {}
    counts["exposures"] = _update_exposures(engine, progress)
    counts["mosaics"] = _update_mosaics(engine, progress)
    with engine.begin() as conn:
        counts["associations"] = rebuild_associations(conn)
    return counts


# --- exposures ---------------------------------------------------------------------


def _exposure_products(conn: Connection) -> dict[int, dict]:
    """The product standing for each level-2 imaging exposure (rate before cal)."""
    query = (
        select(
            products.c.product_id,
            products.c.obsid,
            products.c.filename,
            products.c.path,
            products.c.suffix,
            products.c.checksum,
            products.c.s_region,
            products.c.ingestCompletionDate_mjd,
            products.c.proposal_id,
            observations.c.obs_id,
            observations.c.t_min,
            observations.c.t_exptime,
        )  # fmt: skip
        .join(observations, observations.c.obsid == products.c.obsid)
        .where(products.c.suffix.in_(EXPOSURE_SUFFIXES))
        .where(products.c.calib_level == 2)
        .where(products.c.exp_type.in_(IMAGING_EXP_TYPES))
    )
    chosen: dict[int, dict] = {}
    for row in conn.execute(query).mappings():
        current = chosen.get(row["obsid"])
        if current is None or (current["suffix"] != "rate" and row["suffix"] == "rate"):
            chosen[row["obsid"]] = dict(row)
    return chosen


def _read_exposure(row: dict) -> dict:
    """DJA exposure columns from the file (header WCS, DQ, sky) and the catalog row."""
    values: dict = {
        "obsid": row["obsid"],
        "product_id": row["product_id"],
        "checksum": row["checksum"],
        "proposal_id": row["proposal_id"],
        "visit": row["obs_id"][:13],
        "file": row["obs_id"],
        "dataset": row["obs_id"],
        "extension": row["suffix"],
        "exptime": row["t_exptime"],
        "expstart": row["t_min"],
        "modtime": row["ingestCompletionDate_mjd"],
        "sciext": 1,
    }
    with (
        open_storage(row["path"]).cached(row["path"]) as readable,  # S3: a cached copy
        warnings.catch_warnings(),
        fits.open(readable, memmap=False) as hdul,
    ):
        warnings.simplefilter("ignore")
        primary = hdul[0].header
        sci = hdul["SCI"] if "SCI" in hdul else hdul[0]
        header = sci.header
        values["instrume"] = str(primary.get("INSTRUME", "")).upper() or None
        values["detector"] = str(primary.get("DETECTOR", "")).upper() or None
        pupil = primary.get("PUPIL")
        values["pupil"] = str(pupil).upper() if pupil not in (None, "") else None
        values["filter"] = dja_filter(values["instrume"], primary.get("FILTER"), pupil)
        values["_roll"] = header.get("ROLL_REF", primary.get("PA_V3"))
        wcs = WCS(header, naxis=2)
        nx, ny = int(header.get("NAXIS1", 0)), int(header.get("NAXIS2", 0))
        values["naxis1"], values["naxis2"] = nx, ny
        values["crpix1"], values["crpix2"] = (float(v) for v in wcs.wcs.crpix)
        values["crval1"], values["crval2"] = (float(v) for v in wcs.wcs.crval)
        cd = wcs.pixel_scale_matrix
        values["cd11"], values["cd12"], values["cd21"], values["cd22"] = (float(v) for v in cd.flat)
        corners = wcs.calc_footprint(axes=(nx, ny))
        data = sci.data
        if data is not None:
            finite = data[np.isfinite(data)]
            values["mdrizsky"] = float(np.median(finite)) if finite.size else None
            values["chipsky"] = 0.0
        if "DQ" in hdul:
            values["ndq"] = int(np.count_nonzero(hdul["DQ"].data))
    polygon = [(float(ra) % 360.0, float(dec)) for ra, dec in corners]
    for i, (ra, dec) in enumerate(polygon, start=1):
        values[f"ra{i}"], values[f"dec{i}"] = ra, dec
    values["footprint"] = path_text(polygon)
    return values


def _update_exposures(engine: Engine, progress: bool) -> int:
    with engine.connect() as conn:
        wanted = _exposure_products(conn)
        have = {
            r.obsid: (r.product_id, r.checksum)
            for r in conn.execute(
                # rows loaded without a file (webbarchive.dja.imaging.load: product_id < 0) stay
                select(
                    dja_exposures.c.obsid, dja_exposures.c.product_id, dja_exposures.c.checksum
                ).where(dja_exposures.c.product_id > 0)
            )
        }
    stale = [
        o
        for o in have
        if o not in wanted or have[o] != (wanted[o]["product_id"], wanted[o]["checksum"])
    ]
    todo = [
        row
        for obsid, row in wanted.items()
        if have.get(obsid) != (row["product_id"], row["checksum"])
    ]
    rows = []
    for row in tqdm(todo, desc="dja exposures", unit="file", disable=not progress):
        try:
            rows.append(_read_exposure(row))
        except StorageUnavailable:
            raise  # not the file's fault: stop, a re-run resumes
        except Exception as exc:  # an unreadable file only loses its DJA row
            log.warning("DJA exposure %s skipped: %s", row["filename"], exc)
    with engine.begin() as conn:
        if stale:
            conn.execute(delete(dja_exposures).where(dja_exposures.c.obsid.in_(stale)))
            conn.execute(delete(dja_exposure_cells).where(dja_exposure_cells.c.obsid.in_(stale)))
        for values in rows:
            values.pop("_roll", None)
        if rows:
            conn.execute(insert(dja_exposures), rows)
        _index_exposures(conn, progress)
    return len(rows)


def exposure_cells(obsids, corners) -> list[dict]:
    """``dja_exposure_cells`` rows of exposures ``obsids`` with ``corners`` (N, 4, 2)."""
    cells = sky.polygons_cells(np.asarray(corners, dtype=float), EXPOSURE_CELL_DEPTH)
    return [
        {"hpx": c, "obsid": int(obsid)}
        for obsid, own in zip(obsids, cells, strict=True)
        for c in own
    ]


def _index_exposures(conn: Connection, progress: bool) -> int:
    """Cells of every exposure that has none yet (new rows, and catalogs made before
    the table existed)."""
    e = dja_exposures.c
    missing = conn.execute(
        select(e.obsid, *[e[f"{c}{i}"] for i in range(1, 5) for c in ("ra", "dec")]).where(
            ~select(dja_exposure_cells.c.obsid)
            .where(dja_exposure_cells.c.obsid == e.obsid)
            .exists(),
            e.ra1.is_not(None),
        )
    ).all()
    missing = [r for r in missing if None not in r]
    with tqdm(total=len(missing), desc="exposure cells", unit="exp", disable=not progress) as bar:
        for start in range(0, len(missing), 10_000):
            chunk = missing[start : start + 10_000]
            corners = np.asarray([r[1:] for r in chunk], dtype=float).reshape(-1, 4, 2)
            conn.execute(insert(dja_exposure_cells), exposure_cells([r[0] for r in chunk], corners))
            bar.update(len(chunk))
    return len(missing)


# --- mosaics -----------------------------------------------------------------------


def _read_mosaic(row: dict, wht: dict | None) -> dict:
    with open_storage(row["path"]).cached(row["path"]) as readable:  # S3: a cached copy
        header = fits.getheader(readable)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wcs = WCS(header, naxis=2)
    scale_deg = float(np.sqrt(abs(np.linalg.det(wcs.pixel_scale_matrix))))
    instrument = str(header.get("INSTRUME", "")).upper() or None
    pupil = header.get("PUPIL")
    polygon = sky.parse_stcs(row["s_region"]) if row["s_region"] else None
    kind = str(header.get("DJAKIND", "assoc" if header.get("ASSOC") else "field")).lower()
    visit = header.get("VISIT_ID")
    return {
        "product_id": row["product_id"],
        "obsid": row["obsid"],
        "checksum": row["checksum"],
        "wht_product_id": wht["product_id"] if wht else None,
        "kind": kind if kind in ("field", "assoc") else "field",
        "file": row["filename"],
        "wht_file": wht["filename"] if wht else None,
        "assoc_name": header.get("ASSOC"),
        "field": header.get("DJAFIELD"),
        "filter": dja_filter(instrument, header.get("FILTER"), None if pupil == "N/A" else pupil),
        "modtime": row["ingestCompletionDate_mjd"],
        "tile": header.get("TILE"),
        "pixscale_mas": round(scale_deg * 3.6e6, 3),
        "detector": header.get("DETECTOR"),
        "version": header.get("VERSION"),
        "nexp": header.get("NDRIZIM"),
        "visit": f"jw{visit}" if visit and not str(visit).startswith("jw") else visit,
        "instrument": instrument,
        "exptime": header.get("EFFEXPTM"),
        "expstart": header.get("EXPSTART"),
        "sky": header.get("IMGMED"),
        "ra": sky.centroid(polygon)[0] if polygon else None,
        "dec": sky.centroid(polygon)[1] if polygon else None,
        "footprint": row["s_region"],
        "naxis1": header.get("NAXIS1"),
        "naxis2": header.get("NAXIS2"),
        "photflam": header.get("PHOTFLAM"),
        "photplam": header.get("PHOTPLAM"),
        "imgmed": header.get("IMGMED"),
    }


def _update_mosaics(engine: Engine, progress: bool) -> int:
    columns = (
        products.c.product_id, products.c.obsid, products.c.filename, products.c.path,
        products.c.suffix, products.c.checksum, products.c.s_region,
        products.c.ingestCompletionDate_mjd,
    )  # fmt: skip
    with engine.connect() as conn:
        found = [
            dict(r)
            for r in conn.execute(
                select(*columns).where(products.c.suffix.in_(MOSAIC_SCI + ("drc_wht", "drz_wht")))
            ).mappings()
        ]
        have = {
            r.product_id: (r.checksum, r.wht_product_id)
            for r in conn.execute(
                select(
                    dja_mosaics.c.product_id, dja_mosaics.c.checksum, dja_mosaics.c.wht_product_id
                )
            )
        }
    weights = {r["obsid"]: r for r in found if r["suffix"].endswith("_wht")}
    sci = {r["product_id"]: r for r in found if r["suffix"] in MOSAIC_SCI}
    stale = [
        pid for pid, (checksum, wht_id) in have.items()
        if pid not in sci or checksum != sci[pid]["checksum"]
        or wht_id != (weights.get(sci[pid]["obsid"]) or {}).get("product_id")
    ]  # fmt: skip
    todo = [r for pid, r in sci.items() if pid not in have or pid in stale]
    rows = []
    for row in tqdm(todo, desc="dja mosaics", unit="file", disable=not progress):
        try:
            rows.append(_read_mosaic(row, weights.get(row["obsid"])))
        except StorageUnavailable:
            raise  # not the file's fault: stop, a re-run resumes
        except Exception as exc:
            log.warning("DJA mosaic %s skipped: %s", row["filename"], exc)
    with engine.begin() as conn:
        if stale:
            conn.execute(delete(dja_mosaics).where(dja_mosaics.c.product_id.in_(stale)))
        if rows:
            conn.execute(insert(dja_mosaics), rows)
    return len(rows)


# --- associations ------------------------------------------------------------------


def rebuild_associations(conn: Connection) -> int:
    """Recompute every association from ``dja_exposures`` (and the sub-mosaics for
    the status); set each exposure's ``assoc`` and ``parent``."""
    query = select(
        dja_exposures.c.eid, dja_exposures.c.proposal_id, dja_exposures.c.visit,
        dja_exposures.c.instrume, dja_exposures.c.filter, dja_exposures.c.detector,
        dja_exposures.c.file, dja_exposures.c.exptime, dja_exposures.c.expstart,
        dja_exposures.c.assoc, dja_exposures.c.parent,
        *[dja_exposures.c[f"{c}{i}"] for i in range(1, 5) for c in ("ra", "dec")],
        observations.c.target_name, observations.c.s_ra, observations.c.s_dec,
        observations.c.proposal_pi, observations.c.t_max,
    ).join(observations, observations.c.obsid == dja_exposures.c.obsid).where(
        dja_exposures.c.product_id > 0  # loaded rows (dja.load) carry their own assoc
    )  # fmt: skip
    groups: dict[tuple, list] = defaultdict(list)
    for row in conn.execute(query).mappings():
        key = (row["proposal_id"], row["visit"], row["instrume"], row["filter"], row["detector"])
        groups[key].append(row)
    processed = {
        r.assoc_name
        for r in conn.execute(select(dja_mosaics.c.assoc_name).where(dja_mosaics.c.kind == "assoc"))
    }
    associations, assignments = [], []
    for key, members in groups.items():
        members.sort(key=lambda r: r["file"])
        first = members[0]
        proposal_id, visit, instrument, filter_name, detector = key
        ra = first["s_ra"] if first["s_ra"] is not None else first["ra1"]
        dec = first["s_dec"] if first["s_dec"] is not None else first["dec1"]
        name = association_name(
            ra, dec, first["target_name"], proposal_id or "", visit or "", instrument or "",
            filter_name or "", detector or "",
        )  # fmt: skip
        polygons = [[(m[f"ra{i}"], m[f"dec{i}"]) for i in range(1, 5)] for m in members]
        try:
            hull = sky.convex_hull(polygons)
            centre = sky.centroid(hull)
        except (sky.FootprintError, TypeError, ValueError) as exc:  # never fail an ingest
            log.warning("DJA association %s has no usable footprint: %s", name, exc)
            continue
        starts = [m["expstart"] for m in members if m["expstart"] is not None]
        ends = [m["t_max"] for m in members if m["t_max"] is not None]
        associations.append(
            {
                "assoc_name": name,
                "target": (first["target_name"] or "unknown").lower(),
                "proposal_id": proposal_id,
                "proposal_pi": first["proposal_pi"],
                "filter": filter_name,
                "instrument_name": instrument,
                "detector": detector,
                "visit": visit,
                "status": STATUS_PROCESSED if name in processed else STATUS_QUEUED,
                "nexp": len(members),
                "exptime": sum(m["exptime"] or 0.0 for m in members),
                "t_min": min(starts) if starts else None,
                "t_max": max(ends) if ends else None,
                "ra": centre[0],
                "dec": centre[1],
                "footprint": sky.to_stcs(hull),
            }
        )
        for m in members:
            parent = parent_name(first["target_name"], visit or "jw0000000000000", None,
                                 detector or "", filter_name or "")  # fmt: skip
            if m["assoc"] != name or m["parent"] != parent:
                assignments.append({"b_eid": m["eid"], "b_assoc": name, "b_parent": parent})
    conn.execute(delete(dja_associations))
    if associations:
        conn.execute(insert(dja_associations), associations)
    if assignments:
        from sqlalchemy import bindparam

        conn.execute(
            sql_update(dja_exposures)
            .where(dja_exposures.c.eid == bindparam("b_eid"))
            .values(assoc=bindparam("b_assoc"), parent=bindparam("b_parent")),
            assignments,
        )
    return len(associations)
