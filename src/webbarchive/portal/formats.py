"""How the portal writes values for people (the APIs keep MJD and bytes)."""

from __future__ import annotations

from astropy.time import Time


def mjd_date(mjd: float | None) -> str:
    """MJD (UTC) -> ``2022-07-15 06:00``, or "" when unknown."""
    if mjd is None or mjd != mjd:
        return ""
    return Time(mjd, format="mjd", scale="utc").strftime("%Y-%m-%d %H:%M")
