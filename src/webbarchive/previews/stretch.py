"""Pixel values to grey levels: the one stretch used by the preview JPEGs and
the portal's image view.

Limits are percentiles of the finite pixels (``lower_percent``,
``upper_percent``) unless given as values (``vmin``, ``vmax``, in the data's
own units). Values are clipped to the limits, normalised to 0..1 and then
stretched with astropy's stretches: linear, log, sqrt or asinh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.visualization import (
    AsinhStretch,
    LinearStretch,
    LogStretch,
    SqrtStretch,
)

#: The stretches a user may choose, by name.
STRETCHES = {
    "linear": LinearStretch(),
    "log": LogStretch(a=1000.0),
    "sqrt": SqrtStretch(),
    "asinh": AsinhStretch(a=0.1),
}
DEFAULT_STRETCH = "asinh"
DEFAULT_LOWER_PERCENT = 5.0
DEFAULT_UPPER_PERCENT = 99.9


class StretchError(ValueError):
    """A stretch or limits the caller cannot have; the message says what is accepted."""


@dataclass(frozen=True)
class Stretch:
    """How to map values to grey levels (see the module docstring)."""

    name: str = DEFAULT_STRETCH
    lower_percent: float = DEFAULT_LOWER_PERCENT
    upper_percent: float = DEFAULT_UPPER_PERCENT
    vmin: float | None = None
    vmax: float | None = None

    def __post_init__(self) -> None:
        if self.name not in STRETCHES:
            raise StretchError(
                f"unknown stretch {self.name!r}: accepted are {', '.join(STRETCHES)}"
            )
        if not 0 <= self.lower_percent < self.upper_percent <= 100:
            raise StretchError(
                "percentile limits must satisfy 0 <= lower < upper <= 100 "
                f"(got {self.lower_percent} and {self.upper_percent})"
            )
        for value in (self.vmin, self.vmax):
            if value is not None and not np.isfinite(value):
                raise StretchError("vmin and vmax must be finite numbers")
        if self.vmin is not None and self.vmax is not None and self.vmin >= self.vmax:
            raise StretchError(f"vmin must be below vmax (got {self.vmin} and {self.vmax})")

    def limits(self, data: np.ndarray) -> tuple[float, float]:
        """(low, high) in data units: the given values, else the percentiles."""
        finite = data[np.isfinite(data)]
        if finite.size == 0:
            return 0.0, 1.0
        low, high = np.percentile(finite, [self.lower_percent, self.upper_percent])
        low = float(self.vmin if self.vmin is not None else low)
        high = float(self.vmax if self.vmax is not None else high)
        if high <= low:  # a flat image: any positive span shows it as one grey
            high = low + (abs(low) or 1.0)
        return low, high

    def grey(self, data: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
        """uint8 grey levels of ``data`` (NaN -> 0) and the limits used."""
        low, high = self.limits(data)
        unit = np.clip((np.asarray(data, dtype=np.float64) - low) / (high - low), 0.0, 1.0)
        unit = np.nan_to_num(unit, nan=0.0)
        levels = STRETCHES[self.name](unit, clip=True)
        return np.round(levels * 255).astype(np.uint8), (low, high)
