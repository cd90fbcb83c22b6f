"""Trace overlaps (``/nirspec_trace_overlap``).

DJA's implementation is not public (see the reference, section 6); this follows its
documented output. For one input exposure of the spectrum (``exposure``, 0-based
index into its exposures), every other spectrum extracted from the same exposure
and detector whose x range overlaps is compared: each trace is
``y(x) = ystart + c0 + c1 (x - xstart) + c2 (x - xstart)^2`` in detector pixels, and
``yoffset`` is the median of ``y_other(x) - y_primary(x)`` over the integer columns
both cover. Offsets within :data:`MAX_OFFSET_PIX` are reported, keyed
``{program}_{srcid}``, largest first as DJA lists them.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

#: DJA's examples reach +-31.9 px; a NIRSpec shutter is about 5 px.
MAX_OFFSET_PIX = 35.0


def trace_y(trace: dict[str, Any], x: np.ndarray) -> np.ndarray:
    dx = x - trace["xstart"]
    return trace["ystart"] + trace["trace_c0"] + trace["trace_c1"] * dx + trace["trace_c2"] * dx**2


def columns(trace: dict[str, Any]) -> np.ndarray:
    start = int(np.ceil(trace["xstart"]))
    return np.arange(start, int(np.floor(trace["xstart"] + trace["xsize"])), dtype=float)


def yoffsets(primary: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, float]:
    """``{program}_{srcid}`` -> median y offset (pixels) of each overlapping trace."""
    mine = columns(primary)
    result = {}
    for other in others:
        if other["file"] == primary["file"]:
            continue
        if (other["program"], other["srcid"]) == (primary["program"], primary["srcid"]):
            continue
        shared = np.intersect1d(mine, columns(other))
        if shared.size == 0:
            continue
        offset = float(np.median(trace_y(other, shared) - trace_y(primary, shared)))
        if abs(offset) <= MAX_OFFSET_PIX:
            result[f"{other['program']}_{other['srcid']}"] = offset
    return dict(sorted(result.items(), key=lambda kv: -kv[1]))


def figure_png(
    primary: dict[str, Any], others: list[dict[str, Any]], offsets: dict[str, float]
) -> bytes:
    """The primary trace in black, overlapping traces in colour (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=90)
    x = columns(primary)
    ax.plot(x, trace_y(primary, x), color="black", lw=2,
            label=f"{primary['program']}_{primary['srcid']}")  # fmt: skip
    colours = plt.cm.tab10(np.linspace(0, 1, max(len(offsets), 1)))
    keyed = {f"{o['program']}_{o['srcid']}": o for o in others}
    for colour, key in zip(colours, offsets, strict=False):
        other = keyed[key]
        xo = columns(other)
        ax.plot(xo, trace_y(other, xo), color=colour, lw=1, label=f"{key} ({offsets[key]:+.1f})")
    ax.set_xlabel("detector x (pixel)")
    ax.set_ylabel("detector y (pixel)")
    ax.set_title(f"{primary['file']}  {primary.get('exposure')} {primary.get('detector') or ''}")
    if x.size:
        y0 = float(np.median(trace_y(primary, x)))
        ax.set_ylim(y0 - MAX_OFFSET_PIX - 5, y0 + MAX_OFFSET_PIX + 5)
    ax.legend(fontsize=7, loc="upper right", ncol=2)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
