"""The independent truth of the plans tests: every planned visit of the plan
files moved with astropy's ``SkyCoord.apply_space_motion`` from its epoch to its
window's start, separations by ``SkyCoord.separation``, and the radii the JWST
documentation gives (issue 18), written out here independently of
:mod:`webbarchive.plans.templates`."""

from __future__ import annotations

import csv
import warnings

import numpy as np
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

#: arcsec; templates the documentation gives no value for get 60" (README).
DOCUMENTED_RADIUS = {
    "NIRSpec MultiObject Spectroscopy": 180.0,
    "NIRSpec IFU Spectroscopy": 4.0,
    "MIRI Imaging": 120.0,
    "MIRI Medium Resolution Spectroscopy": 4.0,
    "NIRISS Wide Field Slitless Spectroscopy": 140.0,
    "NIRCam Imaging": 280.0,
}
OTHER = 60.0
#: Away from the radius by less than this (arcsec), a visit is not compared:
#: the two computations may round differently there.
BORDER_ARCSEC = 1e-4


def _read(files) -> list[dict]:
    rows = []
    for path in files:
        with open(path, newline="") as handle:
            rows.extend(csv.DictReader(handle))
    return rows


def truth_of(plan_files):
    """Every visit with its position at the window's start (astropy, one visit at a time)."""
    rows = _read(plan_files)
    moved_ra, moved_dec = [], []
    with warnings.catch_warnings():  # ERFA: "dubious year" for windows past the leap seconds
        warnings.simplefilter("ignore")
        for row in rows:
            _move(row, moved_ra, moved_dec)
    sky = SkyCoord(np.array(moved_ra) * u.deg, np.array(moved_dec) * u.deg, frame="icrs")
    return rows, sky


def _move(row: dict, moved_ra: list, moved_dec: list) -> None:
    """Append the visit's position at its window's start (its own, without proper motion)."""
    coord = SkyCoord(float(row["ra"]) * u.deg, float(row["dec"]) * u.deg, frame="icrs")
    if row["pm_ra"]:
        coord = SkyCoord(
            float(row["ra"]) * u.deg,
            float(row["dec"]) * u.deg,
            pm_ra_cosdec=float(row["pm_ra"]) * u.mas / u.yr,
            pm_dec=float(row["pm_dec"]) * u.mas / u.yr,
            obstime=Time(float(row["epoch"]), format="jyear"),
            frame="icrs",
        )
        coord = coord.apply_space_motion(new_obstime=Time(row["window_start"], scale="utc"))
    moved_ra.append(coord.ra.deg)
    moved_dec.append(coord.dec.deg)


def brute_force(truth, ra, dec, radius=None, templates=None, statuses=None):
    """{(program, observation, visit): separation arcsec} of the matching visits, and
    the keys too near the radius to compare."""
    rows, sky = truth
    separations = sky.separation(SkyCoord(ra * u.deg, dec * u.deg)).arcsec
    found, border = {}, set()
    for row, sep in zip(rows, separations, strict=True):
        if templates and row["template"] not in templates:
            continue
        if statuses and row["status"] not in statuses:
            continue
        limit = radius if radius is not None else DOCUMENTED_RADIUS.get(row["template"], OTHER)
        key = (int(row["program"]), int(row["observation"]), int(row["visit"]))
        if abs(sep - limit) < BORDER_ARCSEC:
            border.add(key)
        elif sep <= limit:
            found[key] = float(sep)
    return found, border
