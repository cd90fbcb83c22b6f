"""NIRSpec MSA slits: one row per shutter per exposure, as DJA's ``nirspec_slits``.

An MSA metadata file (``*_msa.fits``: SHUTTER_INFO, SOURCE_INFO) describes every
configuration (``msa_metadata_id``) and nod (``dither_point_index``); an exposure that
used it says which with ``MSAMETFL``, ``MSAMETID`` and ``PATT_NUM``, and where the
telescope pointed with ``RA_REF``/``DEC_REF``/``ROLL_REF`` at ``V2_REF``/``V3_REF``.
Shutter rows of that (id, dither) are placed on the sky with :mod:`.geometry`.

Exposures come from the catalog's keywords (every product carrying ``MSAMETFL``);
level-2 exposures are preferred, and a level-3 product stands for its first exposure
(its SCI header holds that exposure's pointing) when no level-2 file was ingested.
A pointing without V2_REF/V3_REF (or with both 0, as synthetic files write) cannot
place shutters: that exposure gets no slit rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from astropy.io import fits
from sqlalchemy import Connection, select

from webbarchive.catalog.schema import keywords, products
from webbarchive.dja.spectra.geometry import Pointing, format_footprint, shutter_corners
from webbarchive.ingest.headers import decode

POINTING_KEYWORDS = (
    "msametfl msametid patt_num ra_ref dec_ref roll_ref v2_ref v3_ref expstart effexptm "
    "exptime grating filter"
).split()


@dataclass(frozen=True)
class Exposure:
    product_id: int
    root: str
    level: int
    values: dict[str, Any]

    @property
    def pointing(self) -> Pointing | None:
        v = self.values
        needed = ("ra_ref", "dec_ref", "roll_ref", "v2_ref", "v3_ref")
        if any(not isinstance(v.get(k), int | float) for k in needed):
            return None
        if v["v2_ref"] == 0 and v["v3_ref"] == 0:
            return None
        return Pointing(*(float(v[k]) for k in needed))


def exposures_of(conn: Connection, msametfl: str) -> list[Exposure]:
    """Exposures that used ``msametfl``: one per (msametid, patt_num, pointing),
    level-2 products first."""
    ids = (
        conn.execute(
            select(keywords.c.product_id).where(
                keywords.c.name == "msametfl", keywords.c.value == f'"{msametfl}"'
            )
        )
        .scalars()
        .all()
    )
    if not ids:
        return []
    values: dict[int, dict[str, Any]] = {pid: {} for pid in ids}
    for pid, name, value in conn.execute(
        select(keywords.c.product_id, keywords.c.name, keywords.c.value).where(
            keywords.c.product_id.in_(ids), keywords.c.name.in_(POINTING_KEYWORDS)
        )
    ):
        values[pid].setdefault(name, decode(value))
    rows = conn.execute(
        select(products.c.product_id, products.c.filename, products.c.calib_level).where(
            products.c.product_id.in_(ids)
        )
    ).all()
    exposures = []
    for pid, filename, level in rows:
        root = _root(filename)
        exposures.append(Exposure(pid, root, level or 3, values[pid]))
    exposures.sort(key=lambda e: (e.level, e.root))
    chosen: dict[tuple, Exposure] = {}
    for exp in exposures:
        p = exp.pointing
        if p is None:
            continue
        key = (
            exp.values.get("msametid"),
            exp.values.get("patt_num"),
            tuple(round(x, 6) for x in p.values[:3]),
            exp.root if exp.level < 3 else "",
        )
        chosen.setdefault(key, exp)
    # a level-3 product only stands in when no level-2 exposure had that dither
    have_level2 = {(k[0], k[1]) for k, e in chosen.items() if e.level < 3}
    return [e for k, e in chosen.items() if e.level < 3 or (k[0], k[1]) not in have_level2]


def _root(filename: str) -> str:
    """``jw04233001002_03101_00002_nrs1`` from a level-2 name; the stem of a level-3 one."""
    stem = filename.split(".fits")[0]
    parts = stem.split("_")
    if len(parts) >= 5 and parts[0][2:].isdigit() and len(parts[0]) == 13:
        return "_".join(parts[:4])
    return stem.rsplit("_", 1)[0]


def read_metafile(path: str) -> tuple[np.ndarray, dict[int, tuple[float, float, int]]]:
    """SHUTTER_INFO rows and ``source_id -> (ra, dec, program)`` of an MSA file."""
    with fits.open(path, memmap=False) as hdul:
        shutters = np.asarray(hdul["SHUTTER_INFO"].data)
        info = hdul["SOURCE_INFO"].data
        sources = {
            int(s): (float(r), float(d), int(p))
            for s, r, d, p in zip(
                info["source_id"], info["ra"], info["dec"], info["program"], strict=True
            )
        }
    return shutters, sources


def slit_rows(
    path: str, msametfl: str, exposure: Exposure, msa_product_id: int | None
) -> list[dict[str, Any]]:
    """``nirspec_slits`` rows of one exposure of the MSA file at ``path``."""
    shutters, sources = read_metafile(path)
    v = exposure.values
    pointing = exposure.pointing
    if pointing is None:
        return []
    sel = (shutters["msa_metadata_id"] == v.get("msametid")) & (
        shutters["dither_point_index"] == v.get("patt_num")
    )
    rows = []
    for shutter in shutters[sel]:
        quadrant = int(shutter["shutter_quadrant"])
        row, column = int(shutter["shutter_row"]), int(shutter["shutter_column"])
        ra, dec = shutter_corners(pointing, quadrant, row, column)
        centre = shutter_corners(pointing, quadrant, row, column, with_bars=False)
        x = float(shutter["estimated_source_in_shutter_x"])
        y = float(shutter["estimated_source_in_shutter_y"])
        source_id = int(shutter["source_id"])
        srcra, srcdec, program = sources.get(source_id, (None, None, None))
        rows.append(
            {
                "product_id": exposure.product_id,
                "msa_product_id": msa_product_id,
                "program": program if program is not None else _program(msametfl),
                "source_id": source_id,
                "ra": float(np.mean(centre[0])) if abs(np.ptp(centre[0])) < 180 else float(ra[0]),
                "dec": float(np.mean(centre[1])),
                "slitlet_id": int(shutter["slitlet_id"]),
                "shutter_quadrant": quadrant,
                "shutter_row": row,
                "shutter_column": column,
                "estimated_source_in_shutter_x": x if np.isfinite(x) else None,
                "estimated_source_in_shutter_y": y if np.isfinite(y) else None,
                "is_source": bool(np.isfinite(x)),
                "root": exposure.root,
                "footprint": format_footprint(ra, dec),
                "exptime": _number(v.get("effexptm"), v.get("exptime")),
                "expstart": _number(v.get("expstart")),
                "grating": v.get("grating"),
                "filter": v.get("filter"),
                "msametid": v.get("msametid"),
                "patt_num": v.get("patt_num"),
                "msametfl": msametfl,
                "srcra": srcra,
                "srcdec": srcdec,
                "valid": True,
            }
        )
    return rows


def _number(*values) -> float | None:
    for value in values:
        if isinstance(value, int | float):
            return float(value)
    return None


def _program(msametfl: str) -> int | None:
    try:
        return int(msametfl[2:7])
    except ValueError:
        return None
