"""A spectrum drawn as a picture (matplotlib, Agg): flux as a step line, its
error as a band around zero. Shared by the product previews (x1d, c1d) and
the DJA msaexp previews, so both look alike."""

from __future__ import annotations

import io

import numpy as np

#: Figure size in inches at :data:`DPI`: 800 x 300 pixels.
FIGURE_INCHES = (8.0, 3.0)
DPI = 100


def spectrum_picture(
    wave: np.ndarray,
    flux: np.ndarray,
    error: np.ndarray | None,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    image_format: str = "png",
    dpi: int = DPI,
) -> bytes:
    """PNG or JPEG bytes of ``flux`` (and ``error``) against ``wave``; points
    with a non-finite value (or a non-positive error) are left out."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = np.isfinite(wave) & np.isfinite(flux)
    if error is not None:
        ok &= np.isfinite(error) & (error > 0)
    fig, ax = plt.subplots(figsize=FIGURE_INCHES, dpi=dpi)
    try:
        ax.step(wave[ok], flux[ok], where="mid", color="0.2", lw=0.8)
        if error is not None:
            ax.fill_between(
                wave[ok], -error[ok], error[ok], color="tab:orange", alpha=0.3, step="mid"
            )
        if ok.any():
            top = np.nanpercentile(flux[ok], 98)
            ax.set_ylim(-0.1 * abs(top), 1.5 * abs(top) + 1e-30)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        buffer = io.BytesIO()
        options = {"pil_kwargs": {"quality": 85}} if image_format == "jpeg" else {}
        fig.savefig(buffer, format=image_format, **options)
    finally:
        plt.close(fig)
    return buffer.getvalue()
