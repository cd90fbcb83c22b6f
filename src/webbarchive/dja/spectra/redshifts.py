"""Redshift tables (CSV, ECSV) and the merged redshift per source.

A redshift table has at least the columns ``file`` and ``z``; ``grade`` and
``comment`` are read when present (DJA's ``nirspec_redshifts``). Grades as DJA v4:
3 robust, 2 ambiguous, 1 no features, 0 data problem, -1 not graded.

**Merged redshift** (``/nirspec_file_redshift``): spectra of one source (same
``objid``: positions within :data:`MATCH_ARCSEC`) are split into PRISM and gratings.
Each side uses its spectra with a finite z and grade 3, or, when it has none, grade 2:
``z_{side}`` is their median, ``zmin``/``zmax`` the range, ``N`` the count,
``file_{side}`` the one with the highest ``sn50`` and ``zref_{side}`` its z. The source's
``z`` is ``z_grating`` when gratings give one (``ztype = "G"``), else ``z_prism``
(``"P"``): grating lines resolve what the prism blends. ``v_{side}`` is the version of
the root (``rubies-uds3-v4`` -> ``v4``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

MATCH_ARCSEC = 0.3
REDSHIFT_KEYS = {"file", "z"}
MOSFIRE_KEYS = {"datemask", "ra_targ", "dec_targ"}


def table_columns(path: str) -> set[str]:
    """Column names of a CSV/ECSV file from its first non-comment line (lower case)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            for _ in range(2000):
                line = handle.readline()
                if not line:
                    return set()
                if line.startswith("#") or not line.strip():
                    continue
                separator = "," if "," in line else None
                return {c.strip().strip('"').lower() for c in line.split(separator)}
    except OSError:
        return set()
    return set()


def table_kind(path: str) -> str | None:
    """``redshifts``, ``mosfire`` or None for a CSV/ECSV file."""
    if not path.lower().endswith((".csv", ".ecsv")):
        return None
    columns = table_columns(path)
    if MOSFIRE_KEYS <= columns:
        return "mosfire"
    if REDSHIFT_KEYS <= columns:
        return "redshifts"
    return None


def read_table(path: str):
    from astropy.table import Table

    fmt = "ascii.ecsv" if path.lower().endswith(".ecsv") else "ascii.csv"
    table = Table.read(path, format=fmt)
    table.rename_columns(table.colnames, [c.lower() for c in table.colnames])
    return table


def redshift_rows(path: str) -> list[dict[str, Any]]:
    """``nirspec_redshifts`` rows of one redshift table (the last row wins per file)."""
    table = read_table(path)
    rows: dict[str, dict[str, Any]] = {}
    for record in table:
        file = str(record["file"]).strip()
        if not file:
            continue
        rows[file] = {
            "file": file,
            "z": _finite(record["z"]),
            "grade": _int(record["grade"]) if "grade" in table.colnames else None,
            "comment": _text(record["comment"]) if "comment" in table.colnames else None,
            "source_path": str(Path(path).resolve()),
        }
    return list(rows.values())


def _finite(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError, np.ma.MaskError):
        return None
    return out if math.isfinite(out) else None


def _int(value) -> int | None:
    out = _finite(value)
    return int(out) if out is not None else None


def _text(value) -> str | None:
    if value is None or value is np.ma.masked:
        return None
    text = str(value).strip()
    return text or None


def version_of(root: str | None) -> str | None:
    match = re.search(r"-(v\d+(?:\.\d+)*)$", root or "")
    return match.group(1) if match else None


def _side(spectra: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    usable = [s for s in spectra if s.get("z") is not None]
    chosen = [s for s in usable if s.get("grade") == 3] or [
        s for s in usable if s.get("grade") == 2
    ]
    if not chosen:
        return {
            f"zmin_{prefix}": None, f"zmax_{prefix}": None, f"z_{prefix}": None,
            f"N_{prefix}": 0, f"zref_{prefix}": None, f"file_{prefix}": None,
            f"v_{prefix}": None, f"root_{prefix}": None,
        }  # fmt: skip
    zs = np.array([s["z"] for s in chosen], float)
    best = max(chosen, key=lambda s: s.get("sn50") if s.get("sn50") is not None else -np.inf)
    return {
        f"zmin_{prefix}": float(zs.min()),
        f"zmax_{prefix}": float(zs.max()),
        f"z_{prefix}": float(np.median(zs)),
        f"N_{prefix}": len(chosen),
        f"zref_{prefix}": best["z"],
        f"file_{prefix}": best["file"],
        f"v_{prefix}": version_of(best.get("root")),
        f"root_{prefix}": best.get("root"),
    }


def merged_redshift(file: str, spectra: list[dict[str, Any]]) -> dict[str, Any]:
    """The ``/nirspec_file_redshift`` row of ``file`` from every spectrum of its source
    (dicts with file, root, grating, z, grade, sn50, ra, dec, objid)."""
    this = next(s for s in spectra if s["file"] == file)
    prism = [s for s in spectra if str(s.get("grating") or "").upper().startswith("PRISM")]
    gratings = [s for s in spectra if s not in prism]
    row: dict[str, Any] = {"ra": this.get("ra"), "dec": this.get("dec")}
    row.update(_side(prism, "prism"))
    row.update(_side(gratings, "grating"))
    if row["N_grating"]:
        row["z"], row["ztype"] = row["z_grating"], "G"
    elif row["N_prism"]:
        row["z"], row["ztype"] = row["z_prism"], "P"
    else:
        row["z"], row["ztype"] = None, None
    row["objid"] = this.get("objid")
    row["file"] = file
    return row


def group_sources(ids: list[int], ra: list[float], dec: list[float]) -> dict[int, int]:
    """``objid`` per extraction id: friends-of-friends within :data:`MATCH_ARCSEC`;
    a group's objid is its smallest extraction id (stable across rebuilds)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    parent = {i: i for i in ids}

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if len(ids) > 1:
        coords = SkyCoord(np.asarray(ra) * u.deg, np.asarray(dec) * u.deg)
        left, right, _, _ = coords.search_around_sky(coords, MATCH_ARCSEC * u.arcsec)
        for a, b in zip(left, right, strict=True):
            ra_, rb = find(ids[a]), find(ids[b])
            if ra_ != rb:
                parent[max(ra_, rb)] = min(ra_, rb)
    return {i: find(i) for i in ids}
