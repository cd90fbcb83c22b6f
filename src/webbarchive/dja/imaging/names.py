"""DJA names: filters (``F200W-CLEAR``), associations and visit "parents".

DJA names every optical configuration ``FILTER-PUPIL`` (grizli PR #98) and an
association ``j{RAhhmmss}{m|p}{DDMM}_{target}-{filter}_{NNNNN}``
(``j021728m0514_unknown-f090w_00508``). The mock writes sub-mosaics named with
the same functions ingest uses to build associations, so the two always agree.
"""

from __future__ import annotations

import re
import zlib

from astropy import units as u
from astropy.coordinates import Angle

#: Pivot wavelengths (um) of the filters the thumbnails know; NIRCam, NIRISS
#: and MIRI from JDox, HST from the instrument handbooks.
PIVOT_UM = {
    "f070w": 0.704, "f090w": 0.901, "f115w": 1.154, "f140m": 1.404, "f150w": 1.501,
    "f162m": 1.626, "f182m": 1.845, "f200w": 1.990, "f210m": 2.093, "f250m": 2.503,
    "f277w": 2.786, "f300m": 2.996, "f335m": 3.365, "f356w": 3.563, "f360m": 3.621,
    "f410m": 4.092, "f430m": 4.280, "f444w": 4.421, "f460m": 4.624, "f480m": 4.834,
    "f150w2": 1.659, "f322w2": 3.232, "f466n": 4.654,
    "f115wn": 1.154, "f150wn": 1.493, "f200wn": 1.993,
    "f560w": 5.635, "f770w": 7.639, "f1000w": 9.953, "f1130w": 11.309, "f1280w": 12.810,
    "f1500w": 15.064, "f1800w": 17.984, "f2100w": 20.795, "f2550w": 25.365,
    "f435w": 0.433, "f606w": 0.592, "f775w": 0.769, "f814w": 0.806, "f850lp": 0.903,
    "f105w": 1.055, "f110w": 1.153, "f125w": 1.249, "f140w": 1.392, "f160w": 1.537,
}  # fmt: skip

_NIRISS_BLOCKING = ("CLEAR", "CLEARP")


def dja_filter(instrument: str | None, filter: str | None, pupil: str | None) -> str | None:
    """The DJA filter name, upper case: ``F200W-CLEAR`` (NIRCam), ``F150WN-CLEAR``
    (NIRISS imaging through the pupil wheel filter), ``F770W`` (MIRI)."""
    inst = (instrument or "").upper()
    filt = (filter or "").strip().upper() or None
    pup = (pupil or "").strip().upper() or None
    if filt is None:
        return None
    if inst == "MIRI" or pup in (None, "N/A", "NONE"):
        return filt
    if inst == "NIRISS" and filt in _NIRISS_BLOCKING and pup.startswith("F"):
        return f"{pup}N-{filt}" if filt == "CLEAR" else f"{pup}-{filt}"
    return f"{filt}-{pup}"


def short_filter(dja_name: str) -> str:
    """The filter part used in association names: ``F200W-CLEAR`` -> ``f200w``,
    ``F150W2-F162M`` -> ``f162m`` (the pupil filter defines the band)."""
    parts = dja_name.lower().split("-")
    if len(parts) == 2 and parts[1].startswith("f") and parts[1] not in ("clear", "clearp"):
        return parts[1]
    return parts[0]


#: What a requested filter may look like: a DJA name's elements, in any case.
FILTER_NAME = re.compile(r"^[A-Za-z0-9]+(-[A-Za-z0-9]+)?$")


def filter_matches(wanted: str, dja_name: str) -> bool:
    """Whether a requested filter means the DJA filter ``dja_name``, in any case: its
    full name (``F200W-CLEAR``), its band (``f200w``; ``f162m`` for ``F150W2-F162M``)
    or its first element (``f150w2``). The one rule of every DJA route."""
    w, name = wanted.strip().lower(), dja_name.lower()
    return w in (name, short_filter(name), name.split("-")[0])


def filter_patterns(wanted: str) -> list[str]:
    """The upper-case SQL ``LIKE`` patterns of the DJA names :func:`filter_matches`
    accepts for ``wanted`` (which must match :data:`FILTER_NAME`, so holds no
    wildcard): the name itself, ``W-%`` (first element) and, for a band that can sit
    in the pupil wheel, ``%-W``."""
    w = wanted.strip().upper()
    patterns = [w]
    if "-" not in w:
        patterns.append(f"{w}-%")
        if w.startswith("F"):
            patterns.append(f"%-{w}")
    return patterns


def pivot_um(dja_name: str) -> float | None:
    """Pivot wavelength (um) of a DJA filter name, or None if unknown."""
    return PIVOT_UM.get(short_filter(dja_name)) or PIVOT_UM.get(dja_name.lower().split("-")[0])


def _slug(text: str | None) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return slug or "unknown"


def jname(ra_deg: float, dec_deg: float) -> str:
    """``j021728m0514``: RA hhmmss and Dec ddmm, truncated as DJA writes them."""
    ra = Angle(ra_deg % 360.0, u.deg).hms
    sign = "m" if dec_deg < 0 else "p"
    dec = Angle(abs(dec_deg), u.deg).dms
    return f"j{int(ra.h):02d}{int(ra.m):02d}{int(ra.s):02d}{sign}{int(dec.d):02d}{int(dec.m):02d}"


def association_name(
    ra_deg: float,
    dec_deg: float,
    target: str | None,
    proposal_id: str,
    visit: str,
    instrument: str,
    filter: str,
    detector: str,
) -> str:
    """The DJA association name of (program, epoch = visit, instrument, filter, detector).

    DJA numbers associations serially; here the number is a checksum of the
    key, so a rebuilt catalog and the mock give every association the same name.
    """
    key = "|".join(str(v).upper() for v in (proposal_id, visit, instrument, filter, detector))
    number = zlib.crc32(key.encode()) % 100000
    return f"{jname(ra_deg, dec_deg)}_{_slug(target)}-{short_filter(filter)}_{number:05d}"


def parent_name(
    target: str | None, visit: str, roll_deg: float | None, detector: str, filter: str
) -> str:
    """The visit "parent" as DJA writes it: ``uds-01-01837-001-070.0-nrcb1-f090w-clear``
    from the visit ``jw01837001001``."""
    program, observation, number = visit[2:7], visit[7:10], visit[10:13]
    roll = f"{(roll_deg or 0.0) % 360.0:05.1f}"
    return (
        f"{_slug(target)}-{int(number):02d}-{program}-{observation}-{roll}-"
        f"{detector.lower()}-{filter.lower()}"
    )
