"""Preview PNGs of msaexp spectra, ``{prefix}.fnu.png`` and ``{prefix}.flam.png``
(DJA's names), made on first request and cached next to the catalog.

fnu: flux density in uJy against wavelength (um). flam: f_lambda in
1e-20 erg/s/cm^2/A, from f_nu by f_lambda = f_nu c / lambda^2.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from webbarchive.dja.spectra.spec_file import prefix_of, read_arrays
from webbarchive.previews.plots import spectrum_picture
from webbarchive.storage.beside_catalog import store_folder

KINDS = ("fnu", "flam")
#: uJy -> 1e-20 erg/s/cm^2/A at lambda in um: 1e-29 erg/s/cm^2/Hz * c[A/s] / lambda[A]^2 / 1e-20
_UJY_TO_FLAM20 = 1e-29 * 2.99792458e18 / 1e8 / 1e-20


def cache_root(engine: Engine) -> Path:
    """Folder of cached previews for the catalog behind ``engine``."""
    from webbarchive.config import current

    return store_folder(engine, "dja_previews", current().previews_root, scratch=True)


def render(path: str, kind: str, title: str) -> bytes:
    wave, flux, err = read_arrays(path)
    scale = _UJY_TO_FLAM20 / wave**2 if kind == "flam" else np.ones_like(wave)
    return spectrum_picture(
        wave,
        flux * scale,
        err * scale,
        xlabel="wavelength (um)",
        ylabel="f_nu (uJy)" if kind == "fnu" else "f_lambda (1e-20 erg/s/cm2/A)",
        title=title,
        dpi=90,
    )


def preview(engine: Engine, path: str, file: str, kind: str, mtime: float) -> bytes:
    """The cached preview of ``file`` (re-rendered when the spectrum is newer)."""
    target = cache_root(engine) / f"{prefix_of(file)}.{kind}.png"
    if target.exists() and target.stat().st_mtime >= mtime:
        return target.read_bytes()
    png = render(path, kind, file)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(png)
    temporary.replace(target)  # atomic: concurrent requests never read half a file
    return png
