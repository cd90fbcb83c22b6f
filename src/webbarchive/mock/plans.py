"""Mock planned visits: the executed mock observations as Completed visits, and
further visits of other programs around the same targets and elsewhere.

Written as ``<out>/plans/plans.csv`` in the form :mod:`webbarchive.plans.load`
documents (``webbarchive ingest-plans`` loads it). The extra visits overlap the
executed fields at a few to a few hundred arcsec (what the duplication check is
for), sit near RA 0/360 and both poles, and include high-proper-motion stars
(Barnard's star, Groombridge 1830) whose planned windows lie decades from their
catalogue epoch. :func:`random_plans` draws many more for tests and benchmarks.
The same seed writes the same bytes.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from webbarchive.mock.sky import Observation
from webbarchive.plans.load import COLUMNS
from webbarchive.plans.templates import STATUSES, TEMPLATES

FOLDER = "plans"
FILENAME = "plans.csv"

_TEMPLATE_OF_KIND = {
    "mos": "NIRSpec MultiObject Spectroscopy",
    "fs": "NIRSpec Fixed Slit Spectroscopy",
    "ifu": "NIRSpec IFU Spectroscopy",
    "mrs": "MIRI Medium Resolution Spectroscopy",
    "lrs": "MIRI Low Resolution Spectroscopy",
}
_TEMPLATE_OF_IMAGER = {
    "NIRCAM": "NIRCam Imaging",
    "MIRI": "MIRI Imaging",
    "NIRISS": "NIRISS Wide Field Slitless Spectroscopy",
}
_ELEMENTS = {
    "NIRSpec MultiObject Spectroscopy": ("CLEAR;PRISM", "F290LP;G395M", "F100LP;G140M"),
    "NIRSpec Fixed Slit Spectroscopy": ("F100LP;G140M", "F170LP;G235M"),
    "NIRSpec IFU Spectroscopy": ("CLEAR;PRISM", "F290LP;G395H"),
    "MIRI Medium Resolution Spectroscopy": ("SHORT", "MEDIUM", "LONG"),
    "MIRI Low Resolution Spectroscopy": ("P750L",),
    "MIRI Imaging": ("F770W", "F1130W", "F2100W"),
    "NIRISS Wide Field Slitless Spectroscopy": ("CLEAR;F150W", "GR150R;F200W"),
    "NIRISS Imaging": ("F150W",),
    "NIRCam Imaging": ("F115W;F444W", "F200W;F356W", "F150W;F277W"),
    "NIRCam Wide Field Slitless Spectroscopy": ("F444W;GRISMR",),
}
#: High proper motion stars: name, ra, dec (deg, J2000 at epoch 2000.0), pm_ra*cos dec, pm_dec (mas/yr).
_STARS = (
    ("BARNARDS-STAR", 269.4520833, 4.6933611, -798.58, 10328.12),
    ("GROOMBRIDGE-1830", 178.2444, 37.7186, 4003.98, -5813.0),
)
#: Fields of the extra visits beside the executed targets: name, ra, dec.
_EDGE_FIELDS = (
    ("RA0-WEST", 359.9950, -1.2000),
    ("RA0-EAST", 0.0040, -1.2010),
    ("NCP-DEEP", 123.0, 89.9700),
    ("NCP-OPPOSITE", 303.0, 89.9650),
    ("SCP-DEEP", 45.0, -89.9800),
    ("SCP-NEIGHBOUR", 225.0, -89.9750),
)


def _elements_of(obs: Observation) -> str:
    if obs.kind == "image":
        parts = {part for inst, filt, pupil in obs.configs for part in (filt, pupil)}
        return ";".join(sorted(p for p in parts if p and p != "CLEAR"))
    parts = set()
    for mode in obs.configs:
        pieces = mode.split("_")[1:]  # nirspec_g395m_f290lp -> g395m, f290lp
        if pieces and pieces[0] == "mrs":
            pieces = pieces[1].split("-")[1:]  # ch3-long -> long
        elif pieces and pieces[0] == "lrs":
            pieces = pieces[1:]
        parts.update(p.upper() for p in pieces)
    return ";".join(sorted(parts))


def _template_of(obs: Observation) -> str:
    if obs.kind == "image":
        return _TEMPLATE_OF_IMAGER[obs.configs[0][0]]
    return _TEMPLATE_OF_KIND[obs.kind]


_MJD_ZERO = datetime(1858, 11, 17)


def _iso(mjd: float) -> str:
    """ISO UTC to the second (truncated) of an MJD; days of 86400 s, as every day
    since 2017 is (an astropy call per visit would cost a millisecond each)."""
    return (_MJD_ZERO + timedelta(days=float(mjd))).isoformat(timespec="seconds")


def executed_visits(observations: list[Observation]) -> list[dict]:
    """One Completed visit per executed observation (window: start + 6 h)."""
    rows = {}
    for obs in observations:
        key = (obs.program.number, obs.number, 1)
        rows[key] = {
            "program": obs.program.number,
            "observation": obs.number,
            "visit": 1,
            "target_name": obs.target.name,
            "ra": f"{obs.target.ra:.7f}",
            "dec": f"{obs.target.dec:.7f}",
            "template": _template_of(obs),
            "optical_elements": _elements_of(obs),
            "status": "Completed",
            "window_start": _iso(obs.start_mjd),
            "window_end": _iso(obs.start_mjd + 0.25),
        }
    return list(rows.values())


def _offset(ra: float, dec: float, dist_arcsec: float, angle_rad: float) -> tuple[float, float]:
    """The point ``dist_arcsec`` from (ra, dec) at position angle ``angle_rad`` (degrees out)."""
    d = np.radians(dist_arcsec / 3600.0)
    r, t = np.radians(ra), np.radians(dec)
    dec2 = np.arcsin(np.sin(t) * np.cos(d) + np.cos(t) * np.sin(d) * np.cos(angle_rad))
    ra2 = r + np.arctan2(
        np.sin(angle_rad) * np.sin(d) * np.cos(t), np.cos(d) - np.sin(t) * np.sin(dec2)
    )
    return float(np.degrees(ra2) % 360.0), float(np.degrees(dec2))


def _visit(program, obs, visit, name, ra, dec, template, rng, start_mjd, pm=None) -> dict:
    elements = _ELEMENTS[template]
    row = {
        "program": program,
        "observation": obs,
        "visit": visit,
        "target_name": name,
        "ra": f"{ra:.7f}",
        "dec": f"{dec:.7f}",
        "template": template,
        "optical_elements": elements[int(rng.integers(len(elements)))],
        "status": STATUSES[int(rng.integers(len(STATUSES)))],
        "window_start": _iso(start_mjd),
        "window_end": _iso(start_mjd + float(rng.uniform(3, 60))),
    }
    if pm is not None:
        row.update(pm_ra=f"{pm[0]:.2f}", pm_dec=f"{pm[1]:.2f}", epoch="2000.0")
    return row


def extra_visits(observations: list[Observation], seed: int) -> list[dict]:
    """Visits of programs 7001-7099 near the executed targets, the edges and the stars."""
    rng = np.random.default_rng([seed, 18])
    rows = []
    targets = sorted({obs.target for obs in observations}, key=lambda t: t.name)
    program = 7001
    for target in targets:
        for visit in range(1, 4):  # a few arcsec to a few hundred arcsec away
            dist = float(rng.choice([2.0, 30.0, 150.0, 400.0]) * rng.uniform(0.5, 1.0))
            ra, dec = _offset(target.ra, target.dec, dist, float(rng.uniform(0, 2 * np.pi)))
            template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
            start = 61000.0 + float(rng.uniform(0, 700))
            rows.append(
                _visit(
                    program, 1, visit, f"{target.name}-NEAR{visit}", ra, dec, template, rng, start
                )
            )
        program += 1
    for i, (name, ra, dec) in enumerate(_EDGE_FIELDS):
        for visit, template in enumerate(
            ("NIRCam Imaging", "MIRI Imaging", "NIRSpec IFU Spectroscopy"), 1
        ):
            start = 61100.0 + 40 * i + visit
            rows.append(_visit(program, i + 1, visit, name, ra, dec, template, rng, start))
    program += 1
    for i, (name, ra, dec, pm_ra, pm_dec) in enumerate(_STARS):
        for visit, template in enumerate(
            ("MIRI Medium Resolution Spectroscopy", "NIRSpec IFU Spectroscopy", "NIRCam Imaging"), 1
        ):
            start = 60200.0 + 300 * visit + i
            rows.append(
                _visit(program, i + 1, visit, name, ra, dec, template, rng, start, (pm_ra, pm_dec))
            )
    return rows


def random_plans(n: int, seed: int, *, first_program: int = 20000) -> list[dict]:
    """``n`` visits spread over the sky with clusters at RA 0/360 and the poles,
    a tenth with proper motions up to 2 arcsec/yr (tests and benchmarks)."""
    rng = np.random.default_rng([seed, 1818])
    rows = []
    for i in range(n):
        where = rng.uniform()
        if where < 0.2:
            ra, dec = float(rng.uniform(-0.5, 0.5) % 360.0), float(rng.uniform(-3, 3))
        elif where < 0.3:
            ra, dec = float(rng.uniform(0, 360)), float(rng.uniform(89.7, 90.0))
        elif where < 0.4:
            ra, dec = float(rng.uniform(0, 360)), float(rng.uniform(-90.0, -89.7))
        else:
            ra, dec = float(rng.uniform(0, 360)), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
        pm = tuple(rng.normal(0, 800, 2)) if rng.uniform() < 0.1 else None
        template = TEMPLATES[int(rng.integers(len(TEMPLATES)))]
        start = 60000.0 + float(rng.uniform(0, 3000))
        rows.append(
            _visit(
                first_program + i // 50,
                1 + (i % 50),
                1,
                f"RND-{i:06d}",
                ra,
                dec,
                template,
                rng,
                start,
                pm,
            )
        )
    return rows


def render_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_all(observations: list[Observation], out: Path, seed: int) -> Path:
    """Write ``<out>/plans/plans.csv`` and return its path."""
    folder = Path(out) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FILENAME
    rows = executed_visits(observations) + extra_visits(observations, seed)
    path.write_text(render_csv(rows))
    return path
