"""msaexp spectra (DJA) as a pixel source: the one place pixels/ meets the DJA
spectroscopy package.

A spectrum catalogued in ``nirspec_extractions`` (both layouts, v1 and v3, read
by :mod:`webbarchive.dja.spectra.spec_file`) is stored in the pixel store under
``productType=msaexp``, with ``product_id`` the negative of its
``extraction_id`` (JWST product ids are positive: the two never meet) and the
file's modification time as its checksum (a re-read file gets a new row, so
its pixels are replaced). Its pixels: ``x`` the index along SPEC1D,
``wavelength`` (microns), ``flux`` and ``flux_error`` (uJy, as msaexp writes
them), ``dq`` 0 where msaexp's own validity holds (finite flux, positive
error) else 1, and ``ra``, ``dec`` the source's position (degrees), so a cone
prunes them like a cube's spaxels.

Who may see them is the community rule of ``msaexp``
(:func:`webbarchive.catalog.rights.community_visible_mask`).
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import Connection, select

# The DJA spectroscopy package: imported here only (it may move; one line to change).
from webbarchive.dja.spectra.spec_file import read_arrays, root_of
from webbarchive.dja.spectra.tables import nirspec_extractions
from webbarchive.pixels.extract import SpectrumPixels, from_arrays

#: Product type (pixel-store partition) of msaexp spectra.
PRODUCT_TYPE = "msaexp"
#: Collection names a search reports and accepts (``collection=``).
JWST = "JWST"  # MAST's JWST products: x1d, c1d, s2d, s3d
DJA = "DJA"  # the DAWN JWST Archive's msaexp spectra
ALL = "all"
COLLECTIONS = (JWST, DJA, ALL)
#: The community collection whose rights rule applies (catalog/rights.py).
RIGHTS_COLLECTION = "msaexp"
#: What the catalog says of every msaexp spectrum, for the product filters.
INSTRUMENT = "NIRSPEC"
EXP_TYPE = "NRS_MSASPEC"

extractions = nirspec_extractions


def pixel_id(extraction_id: int) -> int:
    """The pixel store's product_id of an extraction."""
    return -int(extraction_id)


def extraction_id(product_id: int) -> int:
    return -int(product_id)


def checksum(ctime: float | None) -> str:
    """The store's checksum of an extraction: its file's mtime (unix s) as text."""
    return "mtime:" + ("none" if ctime is None else repr(float(ctime)))


def grating_filter(grating: str | None) -> tuple[str | None, str | None]:
    """``("G395M", "F290LP")`` from ``G395M_F290LP``."""
    if not grating:
        return None, None
    name, _, filt = str(grating).upper().partition("_")
    return name or None, filt or None


def link(file: str) -> str:
    """Where the spectrum file is served (the DJA route; rights apply there too)."""
    return f"/msaexp-nirspec/extractions/{root_of(file)}/{file}"


def current(conn: Connection) -> dict[int, dict]:
    """product_id -> {path, checksum, grating, ra, dec} of every catalogued msaexp spectrum."""
    e = nirspec_extractions.c
    return {
        pixel_id(r.extraction_id): {
            "path": r.path,
            "checksum": checksum(r.ctime),
            "grating": r.grating,
            "ra": r.ra,
            "dec": r.dec,
        }
        for r in conn.execute(select(e.extraction_id, e.path, e.ctime, e.grating, e.ra, e.dec))
    }


def extract(path: str, ra: float | None = None, dec: float | None = None) -> SpectrumPixels:
    """The pixels of one msaexp spectrum (SPEC1D ``wave``, ``flux``, ``err``)."""
    wave, flux, err = read_arrays(path)
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(flux) & np.isfinite(err) & (err > 0)
    n = wave.size
    position = {}
    if ra is not None and dec is not None:
        position = {"ra": np.full(n, float(ra)), "dec": np.full(n, float(dec))}
    return from_arrays(wave, flux, err, np.where(valid, 0, 1).astype(np.int32), **position)
