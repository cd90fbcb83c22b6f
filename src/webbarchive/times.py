"""MJD (UTC) <-> ISO 8601 dates, quiet for dates beyond the leap-second table.

Release dates run years ahead (an exclusive-access period ends 12 months after
the observation; an administrator may push one to 2030). For a UTC date past
the end of the leap seconds IERS has announced, ERFA warns "dubious year":
the conversion is right except for leap seconds not yet decided, a few seconds
at most, which no release date cares about. The warning would reach every
user who sets or reads such a date, so these conversions silence it, and
nothing else.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

from erfa import ErfaWarning


@contextmanager
def _future_dates_allowed() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*dubious year", category=ErfaWarning)
        yield


def iso_of_mjd(mjd: float) -> str:
    """MJD (UTC, days) -> ``2027-03-01T12:00:00.000`` (UTC, milliseconds)."""
    from astropy.time import Time

    with _future_dates_allowed():
        return Time(mjd, format="mjd", scale="utc").isot


def mjd_of_iso(text: str) -> float:
    """``2027-03-01``, ``2027-03-01 12:00:00`` or ``2027-03-01T12:00:00[Z]``
    (UTC) -> MJD in days. Raises ValueError for anything else."""
    from astropy.time import Time

    text = text.strip().removesuffix("Z")
    with _future_dates_allowed():
        return float(Time(text, format="isot" if "T" in text else "iso", scale="utc").mjd)
