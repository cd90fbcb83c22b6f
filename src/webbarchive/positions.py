"""The one position parser of the project; it knows no HTTP.

Every endpoint that takes a sky position accepts ``ra=&dec=``, ``coords=`` or
``coord=``, in decimal degrees or sexagesimal, separated by a comma or
whitespace, and gets the same answer as astropy's SkyCoord::

    ra=53.16&dec=-27.78
    coords=53.16,-27.78
    coord=03:32:38.4 -27:46:48
    coords=3h32m38.4s,-27d46m48s

RA must lie in [0, 360) degrees (sexagesimal: [0h, 24h)) and Dec in [-90, 90]:
a value outside is refused, never wrapped, since ``ra=400`` is a typing error
more often than a position. Errors are :class:`PositionError`, an
:class:`~webbarchive.errors.InvalidInput` that the web layer answers as a 400
(:func:`webbarchive.api.errors.render_archive_error`); protocol parsers re-raise
them as their own error type.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from astropy import units as u
from astropy.coordinates import Angle

from webbarchive.errors import InvalidInput

ACCEPTED = [
    "ra=<deg>&dec=<deg>",
    "coords=<ra>,<dec> (degrees)",
    "coords=<hh:mm:ss.s>,<+dd:mm:ss> or whitespace-separated",
    "coords=<XhYmZs> <XdYmZs>",
]
_SEXAGESIMAL = re.compile(r"[:hmsd]", re.IGNORECASE)


class PositionError(InvalidInput):
    """A position or radius that cannot be read; ``accepted`` says what can."""


def bad_request(message: str, accepted: object = None) -> PositionError:
    return PositionError(message, accepted)


def check_position(ra_deg: float, dec_deg: float) -> None:
    """Refuse an RA outside [0, 360) or a Dec outside [-90, 90] degrees (or a
    non-finite one), saying which bound was broken."""
    if not (math.isfinite(ra_deg) and math.isfinite(dec_deg)):
        raise bad_request("position must be finite", accepted=ACCEPTED)
    if not 0.0 <= ra_deg < 360.0:
        raise bad_request(f"ra must be within [0, 360) degrees (got {ra_deg:g})", accepted=ACCEPTED)
    if not -90.0 <= dec_deg <= 90.0:
        raise bad_request(
            f"dec must be within [-90, 90] degrees (got {dec_deg:g})", accepted=ACCEPTED
        )


@dataclass(frozen=True)
class Position:
    """An ICRS position in degrees."""

    ra: float
    dec: float


def _split(text: str) -> tuple[str, str]:
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if len(parts) == 2:
        return parts[0], parts[1]
    if len(parts) == 6:  # "03 32 38.4 -27 46 48"
        return ":".join(parts[:3]), ":".join(parts[3:])
    raise bad_request(f"cannot read a position from {text!r}", accepted=ACCEPTED)


def _angle(text: str, unit: u.UnitBase) -> Angle:
    try:
        if _SEXAGESIMAL.search(text):
            return Angle(text, unit=unit)
        return Angle(float(text), unit=u.deg)
    except (ValueError, u.UnitsError) as exc:
        raise bad_request(f"cannot read the angle {text!r}: {exc}", accepted=ACCEPTED) from None


def parse_position(
    ra: str | None = None,
    dec: str | None = None,
    coords: str | None = None,
    coord: str | None = None,
    *,
    required: bool = True,
) -> Position | None:
    """Read a position from whichever of the accepted parameter forms is given.

    Sexagesimal RA is in hours, sexagesimal Dec in degrees, decimal values in
    degrees, as SkyCoord reads ``(ra, dec, unit=(hourangle, deg))`` strings.
    """
    text = coords if coords not in (None, "") else coord
    if text not in (None, ""):
        ra_text, dec_text = _split(text)
    elif ra not in (None, "") and dec not in (None, ""):
        ra_text, dec_text = str(ra).strip(), str(dec).strip()
    elif ra not in (None, "") or dec not in (None, ""):
        raise bad_request("give both ra and dec", accepted=ACCEPTED)
    else:
        if required:
            raise bad_request("missing position", accepted=ACCEPTED)
        return None
    ra_angle = _angle(ra_text, u.hourangle)
    dec_angle = _angle(dec_text, u.deg)
    ra_deg = float(ra_angle.to_value(u.deg))
    dec_deg = float(dec_angle.to_value(u.deg))
    check_position(ra_deg, dec_deg)
    return Position(ra_deg, dec_deg)


def parse_radius(
    value: str | float | None,
    *,
    unit: str = "deg",
    default: float | None = None,
    maximum_deg: float = 10.0,
) -> float:
    """A search radius in degrees from ``value`` given in ``unit`` (deg, arcmin, arcsec)."""
    if value in (None, ""):
        if default is None:
            raise bad_request("missing radius", accepted=f"a positive number in {unit}")
        return default
    try:
        radius = float(u.Quantity(float(value), unit).to_value(u.deg))
    except (TypeError, ValueError):
        raise bad_request(f"radius must be a number in {unit} (got {value!r})") from None
    if not (math.isfinite(radius) and 0 <= radius <= maximum_deg):
        raise bad_request(f"radius must be within 0..{maximum_deg} deg (got {radius} deg)")
    return radius
