"""CAOM observation parameters, derived from the keywords of an observation's products.

:func:`product_fields` turns one product's keywords (``{name: typed value}``,
as stored in ``keywords``) into its contribution; :func:`aggregate` merges the
contributions of all products of an observation. The writer recomputes an
observation from the catalog every time one of its products changes, so the
observation row never depends on the order files were ingested in.

Units: MJD for times, seconds for ``t_exptime``, nm for ``em_min``/``em_max``
(as MAST's CAOM), degrees for positions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from webbarchive.catalog.sky import MAX_OFFSET_DEG, angular_distance_deg
from webbarchive.ingest.classify import intent, mode

#: JWST's exclusive access period (days) for these program categories.
EXCLUSIVE_ACCESS_DAYS = {"GO": 365.25, "GTO": 365.25, "AR": 365.25}
#: CAOM proposal_type MAST reports for JWST observations.
PROPOSAL_TYPE = "JWST"
#: Sequence number MAST reports for JWST observations.
NO_SEQUENCE = -999

# Keywords the derivation reads: the writer loads only these from the catalog.
KEYWORDS_USED = (
    "targ_ra", "targ_dec", "ra_ref", "dec_ref", "expstart", "expend", "date_beg_mjd",
    "date_end_mjd", "mjd_beg", "mjd_end", "effexptm", "xposure", "duration", "filter",
    "grating", "pupil", "channel", "band", "targprop", "targname", "targtype", "program",
    "pi_name", "title", "category", "expripar", "visitype", "exp_type", "template", "instrume",
    "datamodl", "cal_ver", "srcra", "srcdec", "slit_ra", "slit_dec",
)  # fmt: skip
# Modes whose product describes one source in a slit: its position is the source's,
# not the pointing's (all slitlets of an MSA share TARG_RA/TARG_DEC).
_SLIT_MODES = ("NRS_MSASPEC", "NRS_FIXEDSLIT", "NRS_BRIGHTOBJ", "MIR_LRS-FIXEDSLIT")

# NIRSpec grating/filter ranges (um), from the JDox NIRSpec dispersers table.
_NIRSPEC_RANGES_UM = {
    ("PRISM", "CLEAR"): (0.60, 5.30),
    ("G140M", "F070LP"): (0.70, 1.27), ("G140H", "F070LP"): (0.81, 1.27),
    ("G140M", "F100LP"): (0.97, 1.89), ("G140H", "F100LP"): (0.97, 1.89),
    ("G235M", "F170LP"): (1.66, 3.17), ("G235H", "F170LP"): (1.66, 3.17),
    ("G395M", "F290LP"): (2.87, 5.27), ("G395H", "F290LP"): (2.87, 5.27),
}  # fmt: skip
# MIRI MRS sub-bands (um), JDox MRS table: channel -> SHORT/MEDIUM/LONG (A/B/C).
_MRS_RANGES_UM = {
    "1": {"SHORT": (4.90, 5.74), "MEDIUM": (5.66, 6.63), "LONG": (6.53, 7.65)},
    "2": {"SHORT": (7.51, 8.77), "MEDIUM": (8.67, 10.13), "LONG": (10.02, 11.70)},
    "3": {"SHORT": (11.55, 13.47), "MEDIUM": (13.34, 15.57), "LONG": (15.41, 17.98)},
    "4": {"SHORT": (17.70, 20.95), "MEDIUM": (20.69, 24.48), "LONG": (24.19, 27.90)},
}
_MIRI_LRS_UM = (5.0, 14.0)
# Fractional bandwidth of imaging filters by width class (JDox: W ~ R4, M ~ R10, N ~ R100).
_WIDTH = {"W": 0.25, "W2": 0.50, "M": 0.10, "N": 0.01, "LP": None}
_FILTER = re.compile(r"^F(\d{3,4})(W2|W|M|N|LP)$")


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _num(value: Any) -> float | None:
    try:
        return None if value is None or isinstance(value, str) and not value else float(value)
    except (TypeError, ValueError):
        return None


def proposal_id(program: Any) -> str | None:
    """``"01039"`` -> ``"1039"`` (MAST writes proposal_id without zero padding)."""
    digits = re.sub(r"\D", "", str(program or ""))
    return str(int(digits)) if digits else None


def filter_range_um(name: str) -> tuple[float, float] | None:
    """Approximate bandpass (um) of an imaging filter from its name (``F200W``)."""
    match = _FILTER.match(name.upper())
    if not match or match.group(2) == "LP":
        return None
    # Every JWST instrument writes hundredths of a micron: NIRCam F200W is 2.00 um,
    # MIRI F770W 7.70 um and F2550W 25.50 um.
    centre = int(match.group(1)) / 100.0
    half = centre * _WIDTH[match.group(2)] / 2.0
    return centre - half, centre + half


def wavelength_range_nm(kw: Mapping[str, Any]) -> tuple[float | None, float | None]:
    """em_min/em_max (nm) from the optical elements, or (None, None) if unknown."""
    inst = (_str(kw.get("instrume")) or "").upper()
    exp_type = (_str(kw.get("exp_type")) or "").upper()
    grating, filt = _str(kw.get("grating")), _str(kw.get("filter"))
    rng: tuple[float, float] | None = None
    if inst == "NIRSPEC" and grating and filt:
        rng = _NIRSPEC_RANGES_UM.get((grating.upper(), filt.upper()))
    elif exp_type == "MIR_MRS":
        ranges = []
        for channel in str(kw.get("channel") or ""):
            for band in str(kw.get("band") or "").upper().split("-"):
                if r := _MRS_RANGES_UM.get(channel, {}).get(band):
                    ranges.append(r)
        if ranges:
            rng = (min(r[0] for r in ranges), max(r[1] for r in ranges))
    elif exp_type.startswith("MIR_LRS"):
        rng = _MIRI_LRS_UM
    if rng is None:
        for element in (_str(kw.get("pupil")), filt):
            if element and (rng := filter_range_um(element)):
                break
    if rng is None:
        return None, None
    return round(rng[0] * 1000.0, 3), round(rng[1] * 1000.0, 3)


def filters_of(kw: Mapping[str, Any]) -> str | None:
    """MAST's ``filters``: optical elements joined by ``;`` (``F290LP;G395M``)."""
    if (_str(kw.get("exp_type")) or "").upper() == "MIR_MRS":
        channel, band = _str(kw.get("channel")), _str(kw.get("band"))
        return f"CH{channel}-{band}" if channel and band else None
    parts = [_str(kw.get("filter"))]
    pupil, grating = _str(kw.get("pupil")), _str(kw.get("grating"))
    if pupil and pupil.upper() != "CLEAR":
        parts.append(pupil)
    parts.append(grating)
    cleaned = [p.upper() for p in parts if p and p.upper() not in ("N/A", "NONE", "ANY")]
    return ";".join(dict.fromkeys(cleaned)) or None


def release_mjd(kw: Mapping[str, Any]) -> float | None:
    """Public release (MJD): end of exposure + 12 months for GO/GTO/AR, + 0 otherwise."""
    end = _num(kw.get("date_end_mjd")) or _num(kw.get("expend"))
    if end is None:
        return None
    category = (_str(kw.get("category")) or "").upper()
    return end + EXCLUSIVE_ACCESS_DAYS.get(category, 0.0)


def position(kw: Mapping[str, Any]) -> tuple[float, float, int] | None:
    """Where a product points (deg), and how specific that is (0 best).

    The source of a slit spectrum (SRCRA/SRCDEC, else SLIT_RA/SLIT_DEC) ranks 0
    and 1, the target (TARG_RA/TARG_DEC, MAST's s_ra/s_dec) 2, the reference
    pixel (RA_REF/DEC_REF) 3. A source position more than 1 deg from the target
    is ignored: pipeline 1.8.2 wrote SLIT_RA = 180.16 for a fixed slit at RA 81.
    """
    found = []
    pairs = [("srcra", "srcdec", 0), ("slit_ra", "slit_dec", 1)]
    if (_str(kw.get("exp_type")) or "").upper() not in _SLIT_MODES:
        pairs = []
    for ra_key, dec_key, rank in [*pairs, ("targ_ra", "targ_dec", 2), ("ra_ref", "dec_ref", 3)]:
        ra, dec = _num(kw.get(ra_key)), _num(kw.get(dec_key))
        if ra is not None and dec is not None and -90.0 <= dec <= 90.0:
            found.append((ra % 360.0, dec, rank))
    target = next((f for f in found if f[2] == 2), None)
    for candidate in found:
        if candidate[2] < 2 and target is not None:
            offset = float(angular_distance_deg(candidate[0], candidate[1], target[0], target[1]))
            if offset > MAX_OFFSET_DEG:
                continue
        return candidate
    return None


def obs_type(kw: Mapping[str, Any]) -> str | None:
    """CAOM ``obsType``: PRIME or PARALLEL.

    From EXPRIPAR, which marks each exposure PRIME, PARALLEL_PURE or
    PARALLEL_COORDINATED (MAST's example shows ``"expripar": "PRIME"`` beside
    ``"obsType": "PRIME"``); a product without it (the mock's level-3 files)
    falls back on its visit's type, VISITYPE (``PRIME_TARGETED_FIXED``,
    ``PARALLEL_PURE`` ...). None when neither says.
    """
    for key in ("expripar", "visitype"):
        text = (_str(kw.get(key)) or "").upper()
        for kind in ("PRIME", "PARALLEL"):
            if text.startswith(kind):
                return kind
    return None


def product_fields(kw: Mapping[str, Any]) -> dict[str, Any]:
    """One product's contribution to its observation (CAOM names)."""
    exp_type = _str(kw.get("exp_type"))
    instrument_name, dataproduct_type = mode(exp_type, _str(kw.get("instrume")))
    em_min, em_max = wavelength_range_nm(kw)
    where = position(kw)
    return {
        "s_ra": where[0] if where else None,
        "s_dec": where[1] if where else None,
        "position_rank": where[2] if where else None,
        "t_min": _num(kw.get("expstart"))
        or _num(kw.get("date_beg_mjd"))
        or _num(kw.get("mjd_beg")),
        "t_max": _num(kw.get("expend")) or _num(kw.get("date_end_mjd")) or _num(kw.get("mjd_end")),
        "t_exptime": _num(kw.get("effexptm"))
        or _num(kw.get("xposure"))
        or _num(kw.get("duration")),
        "em_min": em_min,
        "em_max": em_max,
        "filters": filters_of(kw),
        "target_name": _str(kw.get("targprop")) or _str(kw.get("targname")),
        "mtFlag": (_str(kw.get("targtype")) or "").upper() == "MOVING",
        "proposal_id": proposal_id(kw.get("program")),
        "proposal_pi": _str(kw.get("pi_name")),
        "obs_title": _str(kw.get("title")),
        "proposal_type": _str(kw.get("category")),
        "obsType": obs_type(kw),
        "intentType": intent(exp_type),
        "exp_type": exp_type,
        "template": _str(kw.get("template")),
        "instrument_name": instrument_name,
        "dataproduct_type": dataproduct_type,
        "t_obs_release": release_mjd(kw),
    }


# Preferred product for dataURL/jpegURL, best first (the seed: s3d for an MRS cube).
_REPRESENTATIVE = ("s3d", "i2d", "s2d", "x1d", "c1d", "cal", "calints", "rate", "uncal")


def aggregate(obs_id: str, products: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The observation row from its products.

    Each product mapping holds its ``product_fields`` plus ``suffix``,
    ``filename``, ``productType``, ``calib_level``. Science products decide;
    auxiliary files (MSA, association) only fill what nothing else knows.
    """
    items = list(products)
    science = [p for p in items if p.get("productType") == "SCIENCE"] or items

    def first(name: str) -> Any:
        for p in science:
            if p.get(name) is not None:
                return p[name]
        for p in items:
            if p.get(name) is not None:
                return p[name]
        return None

    def values(name: str) -> list:
        return [p[name] for p in science if p.get(name) is not None]

    t_min, t_max = values("t_min"), values("t_max")
    # the most specific position any product knows (a c1d only carries TARG_RA)
    ranked = [p for p in science if p.get("position_rank") is not None]
    best = (None, None)
    if ranked:
        top = min(ranked, key=lambda p: p["position_rank"])
        best = (top["s_ra"], top["s_dec"])
    em_min, em_max = values("em_min"), values("em_max")
    releases = [p.get("t_obs_release") for p in items]
    filters = sorted({f for f in values("filters")})
    exptimes = values("t_exptime")
    # Products of one observation describe the same exposures (a cube and its
    # spectrum): the longest product exposure stands for the observation.
    row = {
        "obs_id": obs_id,
        "obs_collection": "JWST",
        "project": "JWST",
        "provenance_name": "CALJWST",
        "wavelength_region": "INFRARED",
        "sequence_number": NO_SEQUENCE,
        "calib_level": max((p.get("calib_level") or 0 for p in science), default=None) or None,
        "dataproduct_type": first("dataproduct_type"),
        "instrument_name": first("instrument_name"),
        "target_name": first("target_name"),
        "s_ra": best[0],
        "s_dec": best[1],
        "t_min": min(t_min) if t_min else None,
        "t_max": max(t_max) if t_max else None,
        "t_exptime": max(exptimes) if exptimes else None,
        "em_min": min(em_min) if em_min else None,
        "em_max": max(em_max) if em_max else None,
        "filters": ";".join(filters) if filters else None,
        "mtFlag": any(p.get("mtFlag") for p in science),
        "proposal_id": first("proposal_id"),
        "proposal_pi": first("proposal_pi"),
        "obs_title": first("obs_title"),
        # MAST's CAOM writes "JWST" for every JWST observation (seed 000's
        # parameters example, a COM program); the program's category (GO, COM
        # ...) stays on the program row and in the CATEGORY keyword.
        "proposal_type": PROPOSAL_TYPE,
        "obsType": first("obsType"),
        "intentType": first("intentType"),
        "exp_type": first("exp_type"),
        "template": first("template"),
        # The latest release of any product: nothing leaks before all is public;
        # one product of unknown release leaves the observation's unknown (hidden).
        "t_obs_release": None if None in releases else max(releases, default=None),
    }
    if row["instrument_name"] == "NIRSPEC" and any(p.get("suffix") == "msa" for p in items):
        row["instrument_name"] = "NIRSPEC/MSA"  # an MSA file alone carries no EXP_TYPE
    rep = _representative(science)
    if rep is not None:
        stem = rep["filename"].rsplit(".fits", 1)[0]
        row["dataURL"] = f"mast:JWST/product/{rep['filename']}"
        row["jpegURL"] = f"mast:JWST/product/{stem}.jpg"
    else:
        row["dataURL"] = row["jpegURL"] = None
    return row


def _representative(products: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    ranked = [p for p in products if p.get("productType") == "SCIENCE"]
    for suffix in _REPRESENTATIVE:
        for p in sorted(ranked, key=lambda p: p["filename"]):
            if p.get("suffix") == suffix:
                return p
    return sorted(ranked, key=lambda p: p["filename"])[0] if ranked else None
