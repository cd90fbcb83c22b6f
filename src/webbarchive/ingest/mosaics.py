"""Classification of DJA drizzled mosaics: ``{root}-{filter}_drc_sci.fits[.gz]`` and the
matching ``_drc_wht`` (inverse variance), also ``_drz_`` (WFC3/IR and MIRI scale).

The sci and wht files of one mosaic form one observation, named for the mosaic
root (``j021744m0514_unknown-f444w_00287-f444w-clear``); the file is read like any
other FITS product (primary-header keywords, S_REGION footprint, HEALPix index).
The DJA tables (associations, mosaic catalogue) are then built from the catalog
by :func:`webbarchive.dja.imaging.build.update`.
"""

from __future__ import annotations

import re

from webbarchive.ingest.names import Classification, base_name

_MOSAIC = re.compile(r"^([a-z0-9][a-z0-9._+-]*)_(dr[cz])_(sci|wht)$")

DESCRIPTIONS = {
    "sci": "mosaic (DJA): drizzled science image, 10 nJy per pixel",
    "wht": "mosaic (DJA): inverse-variance weight of the drizzled image",
}


def classify_mosaic(filename: str) -> Classification | None:
    """The classification of a DJA mosaic file, or None for any other name."""
    match = _MOSAIC.match(base_name(filename))
    if not match:
        return None
    root, kind, part = match.groups()
    return Classification(
        obs_id=root,
        fileSetName=root,
        suffix=f"{kind}_{part}",
        productLevel="3",
        calib_level=3,
        productType="SCIENCE" if part == "sci" else "AUXILIARY",
        productGroupDescription=None,
        productSubGroupDescription=f"{kind}_{part}".upper(),
        description=DESCRIPTIONS[part],
    )
