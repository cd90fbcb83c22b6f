"""What a product's file name says, shared by the classifiers of JWST names
(:mod:`webbarchive.ingest.classify`) and of DJA mosaics
(:mod:`webbarchive.ingest.mosaics`), so that neither imports the other."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from webbarchive.ingest.discover import FITS_ENDINGS


@dataclass(frozen=True)
class Classification:
    """Product-level facts derived from a file name (and a few keywords)."""

    obs_id: str
    fileSetName: str
    suffix: str
    productLevel: str
    calib_level: int
    productType: str
    productGroupDescription: str | None
    productSubGroupDescription: str
    description: str

    def as_row(self) -> dict:
        row = asdict(self)
        row.pop("obs_id")
        return row


class NotClassified(ValueError):
    """The name matches no JWST naming pattern."""


def base_name(filename: str) -> str:
    """The JWST name without extension and without a ``__annotation``."""
    name = filename
    # longest ending first: ".fits.gz" before ".fits"
    for ext in sorted((*FITS_ENDINGS, ".json"), key=len, reverse=True):
        if name.lower().endswith(ext):
            name = name[: -len(ext)]
            break
    return name.split("__", 1)[0].lower()
