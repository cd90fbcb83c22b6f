"""msaexp spectra (``*.spec.fits[.gz]``) in both layouts DJA serves.

- **v1** (msaexp <= 0.6, e.g. ``calib_prism-clear_iras-05248-7007_s200a1.v1.spec.fits.gz``):
  SPEC1D with ``wave, flux, err``; one block of keywords per input exposure in the
  SPEC1D header (``FILEn, DETECTn, XSTARTn, XSIZEn, YSTARTn, YSIZEn, SLITIDn, EFFEXPn``).
- **v3** (msaexp >= 0.8, DJA v3/v4 extractions): SPEC1D may add ``aper_*`` columns,
  header ``NFILES``, ``EFFEXPTM``, ``MSAMETFL``...; per-exposure metadata, when written,
  is the ``SLITS`` table (``filename, detector, xstart, xsize, ystart, ysize,
  trace_c0..c2, source_id``).

The primary header is empty in both: every keyword is read from SPEC1D.
File names follow ``{root}_{grating}-{filter}_{prog}_{srcid}.spec.fits``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.io import fits

SPEC_ENDINGS = (".spec.fits", ".spec.fits.gz")
_NAME = re.compile(
    r"^(?P<root>.+?)_(?P<grating>prism|g\d{3}[mh])-(?P<filter>clear|f\d{3}lp)_(?P<rest>.+)$", re.I
)


def is_spec_file(name: str) -> bool:
    return name.lower().endswith(SPEC_ENDINGS)


def prefix_of(file: str) -> str:
    """The part of ``file`` before ``.spec.fits`` (DJA names previews ``{prefix}.fnu.png``)."""
    lower = file.lower()
    for ending in SPEC_ENDINGS[::-1]:
        if lower.endswith(ending):
            return file[: -len(ending)]
    return file


def root_of(file: str) -> str:
    """``rubies-uds3-v4`` from ``rubies-uds3-v4_prism-clear_4233_50352.spec.fits``."""
    stem = prefix_of(file)
    match = _NAME.match(stem)
    if match:
        return match.group("root")
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


@dataclass
class SpecFile:
    """What ingest keeps of one spectrum."""

    row: dict[str, Any]
    traces: list[dict[str, Any]] = field(default_factory=list)
    header_z: float | None = None
    header_grade: int | None = None


def _valid(wave, flux, err) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(wave) & np.isfinite(flux) & np.isfinite(err) & (err > 0)


def read_arrays(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """wave (um), flux and err (uJy) of SPEC1D."""
    with fits.open(path, memmap=False) as hdul:
        data = hdul["SPEC1D"].data
        return (
            np.asarray(data["wave"], float),
            np.asarray(data["flux"], float),
            np.asarray(data["err"], float),
        )


def _program(header, file: str) -> int | None:
    for text in (str(header.get("SRCNAME", "")), prefix_of(file)):
        match = re.search(r"(?:^|_)(\d{3,5})_(-?\d+)$", text)
        if match:
            return int(match.group(1))
    for key in ("MSAMETFL", "FILE1"):
        value = str(header.get(key, ""))
        if value.startswith("jw") and value[2:7].isdigit():
            return int(value[2:7])
    return None


def _exposure_root(filename: str) -> str:
    parts = os.path.basename(str(filename)).split("_")
    return "_".join(parts[:4]) if len(parts) >= 4 else str(filename)


def _v1_traces(header) -> list[dict[str, Any]]:
    traces = []
    n = 1
    while f"FILE{n}" in header:
        ysize = float(header.get(f"YSIZE{n}", np.nan))
        traces.append(
            {
                "exposure_index": n - 1,
                "exposure": _exposure_root(header[f"FILE{n}"]),
                "detector": str(header.get(f"DETECT{n}", "")).upper() or None,
                "xstart": float(header.get(f"XSTART{n}", np.nan)),
                "xsize": float(header.get(f"XSIZE{n}", np.nan)),
                "ystart": float(header.get(f"YSTART{n}", np.nan)),
                "ysize": ysize,
                # no trace polynomial in this layout: the cutout is centred on the trace
                "trace_c0": (ysize - 1) / 2.0,
                "trace_c1": 0.0,
                "trace_c2": 0.0,
            }
        )
        n += 1
    return traces


def _slits_traces(table) -> list[dict[str, Any]]:
    names = {n.lower(): n for n in table.columns.names}
    traces = []
    for index, record in enumerate(table):

        def get(name, default=np.nan, record=record):
            return record[names[name]] if name in names else default

        ysize = float(get("ysize"))
        traces.append(
            {
                "exposure_index": index,
                "exposure": _exposure_root(get("filename", "")),
                "detector": str(get("detector", "")).upper() or None,
                "xstart": float(get("xstart")),
                "xsize": float(get("xsize")),
                "ystart": float(get("ystart")),
                "ysize": ysize,
                "trace_c0": float(get("trace_c0", (ysize - 1) / 2.0)),
                "trace_c1": float(get("trace_c1", 0.0)),
                "trace_c2": float(get("trace_c2", 0.0)),
            }
        )
    return traces


def read_spec_file(path: str) -> SpecFile:
    """The ``nirspec_extractions`` row and trace rows of one msaexp spectrum."""
    file = os.path.basename(path)
    with fits.open(path, memmap=False) as hdul:
        header = hdul["SPEC1D"].header
        data = hdul["SPEC1D"].data
        wave = np.asarray(data["wave"], float)
        flux = np.asarray(data["flux"], float)
        err = np.asarray(data["err"], float)
        layout = "v1" if "FILE1" in header else "v3"
        traces = _v1_traces(header) if layout == "v1" else []
        if "SLITS" in hdul and hdul["SLITS"].data is not None:
            traces = _slits_traces(hdul["SLITS"].data)
    ok = _valid(wave, flux, err)
    grating = str(header.get("GRATING", "")).upper()
    filt = str(header.get("FILTER", "")).upper()
    program = _program(header, file)
    srcid = header.get("SRCID")
    row = {
        "path": os.path.abspath(path),
        "file": file,
        "root": root_of(file),
        "ra": _float(header.get("SRCRA")),
        "dec": _float(header.get("SRCDEC")),
        "srcid": int(srcid) if srcid is not None else None,
        "program": program,
        "msamet": header.get("MSAMETFL"),
        "slitid": header.get("SLITID", header.get("SLITID1")),
        "grating": f"{grating}_{filt}" if grating else None,
        "exptime": _float(header.get("EXPTIME", header.get("EFFEXPTM"))),
        "wmin": float(wave[ok].min()) if ok.any() else None,
        "wmax": float(wave[ok].max()) if ok.any() else None,
        "sn50": float(np.median(flux[ok] / err[ok])) if ok.any() else None,
        "flux50": float(np.median(flux[ok])) if ok.any() else None,
        "ctime": os.path.getmtime(path),
        "version": header.get("VERSION"),
        "layout": layout,
        "proposal_id": str(program) if program is not None else None,
    }
    for trace in traces:
        trace.update(file=file, program=program, srcid=row["srcid"])
    z = header.get("REDSHIFT", header.get("Z"))
    grade = header.get("GRADE")
    return SpecFile(row, traces, _float(z), int(grade) if grade is not None else None)


def _float(value) -> float | None:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if np.isfinite(out) else None
