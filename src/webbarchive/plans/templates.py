"""APT templates, the statuses of a visit, and the duplication radius of each template.

The radii are the values the JWST documentation gives for duplication checks
(as issue 18 lists them): two observations may duplicate each other when
their targets lie within about the field a template covers. Templates the documentation gives no value for get
:data:`OTHER_RADIUS_ARCSEC`, this archive's choice (about a NIRSpec or MIRI
slit's neighbourhood plus pointing accuracy, generous on purpose).
"""

from __future__ import annotations

#: Duplication radius per APT template, arcsec.
RADIUS_ARCSEC: dict[str, float] = {
    "NIRSpec MultiObject Spectroscopy": 180.0,
    "NIRSpec IFU Spectroscopy": 4.0,
    "MIRI Imaging": 120.0,
    "MIRI Medium Resolution Spectroscopy": 4.0,
    "NIRISS Wide Field Slitless Spectroscopy": 140.0,
    "NIRCam Imaging": 280.0,
}
OTHER_RADIUS_ARCSEC = 60.0
#: Templates known besides those with a documented radius.
OTHER_TEMPLATES = (
    "NIRSpec Fixed Slit Spectroscopy",
    "MIRI Low Resolution Spectroscopy",
    "NIRISS Imaging",
    "NIRCam Wide Field Slitless Spectroscopy",
)
TEMPLATES = (*RADIUS_ARCSEC, *OTHER_TEMPLATES)
#: Short names users type, lower case -> template.
ALIASES = {
    "nirspec mos": "NIRSpec MultiObject Spectroscopy",
    "nirspec ifu": "NIRSpec IFU Spectroscopy",
    "nirspec fs": "NIRSpec Fixed Slit Spectroscopy",
    "miri imaging": "MIRI Imaging",
    "miri mrs": "MIRI Medium Resolution Spectroscopy",
    "miri lrs": "MIRI Low Resolution Spectroscopy",
    "niriss wfss": "NIRISS Wide Field Slitless Spectroscopy",
    "niriss imaging": "NIRISS Imaging",
    "nircam imaging": "NIRCam Imaging",
    "nircam wfss": "NIRCam Wide Field Slitless Spectroscopy",
}
#: Visit statuses as MAST and APT spell them.
STATUSES = (
    "Completed",
    "Failed",
    "Flight_ready",
    "Implementation",
    "Scheduled",
    "Skipped",
    "Withdrawn",
)
LARGEST_RADIUS_ARCSEC = max(max(RADIUS_ARCSEC.values()), OTHER_RADIUS_ARCSEC)
#: How a planned visit of each template appears as a CAOM observation:
#: (instrument_name, dataproduct_type), MAST's spellings.
CAOM_OF_TEMPLATE: dict[str, tuple[str, str]] = {
    "NIRSpec MultiObject Spectroscopy": ("NIRSPEC/MSA", "spectrum"),
    "NIRSpec IFU Spectroscopy": ("NIRSPEC/IFU", "cube"),
    "NIRSpec Fixed Slit Spectroscopy": ("NIRSPEC/SLIT", "spectrum"),
    "MIRI Imaging": ("MIRI/IMAGE", "image"),
    "MIRI Medium Resolution Spectroscopy": ("MIRI/IFU", "cube"),
    "MIRI Low Resolution Spectroscopy": ("MIRI/SLIT", "spectrum"),
    "NIRISS Wide Field Slitless Spectroscopy": ("NIRISS/WFSS", "spectrum"),
    "NIRISS Imaging": ("NIRISS/IMAGE", "image"),
    "NIRCam Imaging": ("NIRCAM/IMAGE", "image"),
    "NIRCam Wide Field Slitless Spectroscopy": ("NIRCAM/GRISM", "spectrum"),
}


def template_name(text: str) -> str | None:
    """The APT template ``text`` names (full name or alias, any case), or None."""
    key = " ".join(text.split()).lower()
    for name in TEMPLATES:
        if name.lower() == key:
            return name
    return ALIASES.get(key)


def status_name(text: str) -> str | None:
    """The visit status ``text`` names (any case), or None."""
    key = text.strip().lower()
    return next((s for s in STATUSES if s.lower() == key), None)


def radius_arcsec(template: str) -> float:
    """The duplication radius of ``template`` (arcsec)."""
    return RADIUS_ARCSEC.get(template, OTHER_RADIUS_ARCSEC)


def accepted_templates() -> list[str]:
    return [*TEMPLATES, *(f"{alias} (alias)" for alias in ALIASES)]
