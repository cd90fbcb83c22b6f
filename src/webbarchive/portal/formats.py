"""How the portal writes values for people (the APIs keep MJD and bytes)."""

from __future__ import annotations

import json
from urllib.parse import quote

from astropy.time import Time

from webbarchive.catalog.sky import FootprintError, parse_stcs

#: Where the archive serves a ``mast:`` URI (previews included), as MAST does.
DOWNLOAD_FILE = "/api/v0.1/Download/file?uri="


def mjd_date(mjd: float | None) -> str:
    """MJD (UTC) -> ``2022-07-15 06:00``, or "" when unknown."""
    if mjd is None or mjd != mjd:
        return ""
    return Time(mjd, format="mjd", scale="utc").strftime("%Y-%m-%d %H:%M")


def preview_src(uri: str | None) -> str:
    """``mast:JWST/product/x.jpg`` -> the Download URL an ``<img>`` loads
    (the download route applies the data rights), or "" when there is none."""
    if not uri:
        return ""
    if uri.startswith(("http://", "https://", "/")):
        return uri
    return DOWNLOAD_FILE + quote(uri, safe=":/")


def footprint_json(s_region: str | None) -> str:
    """An S_REGION as the JSON ``[[ra, dec], ...]`` (deg, ICRS) the sky view
    draws, or "" when it is not a polygon the archive can read."""
    try:
        return json.dumps([[round(ra, 7), round(dec, 7)] for ra, dec in parse_stcs(s_region or "")])
    except FootprintError:
        return ""
