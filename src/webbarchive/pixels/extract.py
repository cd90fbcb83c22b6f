"""Pixels of one spectral product file: x1d, c1d (tables), s2d (images), s3d (cubes).

Every product becomes flat arrays, one element per pixel with a finite
wavelength: ``x`` (and ``y``, ``z`` where they apply), ``wavelength``
(microns), ``flux``, ``flux_error``, ``dq``.

- x1d / c1d: ``x`` is the 0-based index along the spectrum; ``y`` is the
  0-based spectrum index when a file holds several spectra (several EXTRACT1D
  extensions or rows), else null, as MAST reports it.
- s2d: ``x``, ``y`` are the 0-based column and row of SCI; the wavelength comes
  from a WAVELENGTH extension when present, else from the product's gwcs; ``ra``,
  ``dec`` each pixel's sky position from the gwcs (null without one, without a
  celestial ICRS output, or when its positions are not those of a slit).
- s3d: ``x``, ``y`` are the spatial pixel, ``z`` the wavelength plane, ``ra``,
  ``dec`` the spaxel's sky position (celestial WCS of SCI); the
  wavelength of each plane comes from the cube's WCS (linear ``WAVE`` axis or
  the ``WCS-TABLE`` of a ``WAVE-TAB`` axis, else the gwcs).
"""

from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from webbarchive.pixels.dersnr import der_snr

PIXEL_KINDS = {"x1d": "1d", "c1d": "1d", "s2d": "2d", "s3d": "3d"}
SPECTRUM_EXTENSIONS = ("EXTRACT1D", "COMBINE1D")
FLUX_ERROR_COLUMNS = ("FLUX_ERROR", "ERROR")
#: Farthest an s2d pixel may lie from the mean position of the product's pixels
#: (degrees). Every JWST slit fits well inside (NIRSpec's whole MSA spans
#: 3.6' x 3.4'); a gwcs placing pixels farther apart is wrong (jwst 1.8's fixed-slit
#: s2d put the pixel column into the slit's cross-dispersion offset, spreading one
#: 1.6" slit over 30 degrees), and its positions are not stored.
SLIT_MAX_RADIUS_DEG = 5.0 / 60.0

log = logging.getLogger(__name__)


@dataclass
class SpectrumPixels:
    """The pixels of one product, with its characteristics."""

    kind: str  # 1d, 2d, 3d
    x: np.ndarray  # int32
    y: np.ndarray | None  # int32 or None (all null)
    z: np.ndarray | None
    wavelength: np.ndarray  # float64, microns, all finite
    flux: np.ndarray  # float64 (NaN where not finite)
    flux_error: np.ndarray
    dq: np.ndarray  # int32
    derSnr: float | None
    median_flux: float | None = None
    ra: np.ndarray | None = None  # float64 degrees (ICRS): an s2d pixel's, s3d spaxel's position
    dec: np.ndarray | None = None

    @property
    def npix(self) -> int:
        return int(self.wavelength.size)

    def characteristics(self) -> dict:
        """derSnr, median flux and zone maps (min/max of wavelength and flux)."""
        finite = self.flux[np.isfinite(self.flux)]
        median = self.median_flux
        if median is None and finite.size:
            median = float(np.median(finite))
        return {
            "pixel_kind": self.kind,
            "derSnr": self.derSnr,
            "median_flux": median,
            "wavelength_min": float(self.wavelength.min()) if self.npix else None,
            "wavelength_max": float(self.wavelength.max()) if self.npix else None,
            "flux_min": float(finite.min()) if finite.size else None,
            "flux_max": float(finite.max()) if finite.size else None,
            "npix": self.npix,
        }


def from_arrays(
    wavelength: np.ndarray,
    flux: np.ndarray,
    flux_error: np.ndarray | None = None,
    dq: np.ndarray | None = None,
    *,
    x: np.ndarray | None = None,
    y: np.ndarray | None = None,
    z: np.ndarray | None = None,
    kind: str = "1d",
    snr_flux: np.ndarray | None = None,
    ra: np.ndarray | None = None,
    dec: np.ndarray | None = None,
) -> SpectrumPixels:
    """Build :class:`SpectrumPixels` from arrays of one spectrum, dropping pixels
    whose wavelength is not finite. derSnr is computed over ``snr_flux`` (the
    fluxes in pixel order; default ``flux``)."""
    wavelength = np.asarray(wavelength, dtype=np.float64).ravel()
    flux = np.asarray(flux, dtype=np.float64).ravel()
    n = wavelength.size
    flux_error = (
        np.full(n, np.nan) if flux_error is None else np.asarray(flux_error, np.float64).ravel()
    )
    dq = np.zeros(n, np.int32) if dq is None else np.asarray(dq).ravel().astype(np.int32)
    x = np.arange(n, dtype=np.int32) if x is None else np.asarray(x).ravel().astype(np.int32)
    y = None if y is None else np.asarray(y).ravel().astype(np.int32)
    z = None if z is None else np.asarray(z).ravel().astype(np.int32)
    ra = None if ra is None else np.asarray(ra, np.float64).ravel()
    dec = None if dec is None else np.asarray(dec, np.float64).ravel()
    ordered = flux if snr_flux is None else np.asarray(snr_flux, np.float64).ravel()
    finite = ordered[np.isfinite(ordered)]
    median = float(np.median(finite)) if finite.size else None
    snr = der_snr(ordered)
    keep = np.isfinite(wavelength)
    if not keep.all():
        wavelength, flux, flux_error, dq, x = (
            a[keep] for a in (wavelength, flux, flux_error, dq, x)
        )
        y = None if y is None else y[keep]
        z = None if z is None else z[keep]
        ra = None if ra is None else ra[keep]
        dec = None if dec is None else dec[keep]
    return SpectrumPixels(kind, x, y, z, wavelength, flux, flux_error, dq, snr, median, ra, dec)


def _table_spectra(hdul: fits.HDUList) -> list[tuple[np.ndarray, ...]]:
    spectra = []
    for hdu in hdul:
        if hdu.name not in SPECTRUM_EXTENSIONS or hdu.data is None:
            continue
        names = [n.upper() for n in hdu.columns.names]
        err = next((c for c in FLUX_ERROR_COLUMNS if c in names), None)
        data = hdu.data
        wave = np.asarray(data["WAVELENGTH"], np.float64)
        flux = np.asarray(data["FLUX"], np.float64)
        error = np.asarray(data[err], np.float64) if err else np.full(wave.shape, np.nan)
        dq = np.asarray(data["DQ"]) if "DQ" in names else np.zeros(wave.shape, np.int32)
        if wave.ndim == 2:  # one row per spectrum, array columns (jwst >= 1.18 layout)
            spectra.extend(zip(wave, flux, error, dq, strict=True))
        else:
            spectra.append((wave, flux, error, dq))
    return spectra


def _one_d(hdul: fits.HDUList) -> SpectrumPixels:
    spectra = _table_spectra(hdul)
    if not spectra:
        raise ValueError("no EXTRACT1D or COMBINE1D extension")
    if len(spectra) == 1:
        return from_arrays(*spectra[0])
    y = np.concatenate([np.full(s[0].size, i, np.int32) for i, s in enumerate(spectra)])
    x = np.concatenate([np.arange(s[0].size, dtype=np.int32) for s in spectra])
    cols = [np.concatenate([np.asarray(s[k], np.float64) for s in spectra]) for k in range(4)]
    return from_arrays(*cols, x=x, y=y)


def _gwcs(path: str):
    from stdatamodels.jwst import datamodels

    return datamodels.open(path)


def _embedded_gwcs(hdul: fits.HDUList):
    """The gwcs of a single-slit product (``meta.wcs`` in its ASDF extension), or None.

    Read from the ASDF extension alone, not through the datamodel: opening the
    datamodel also decodes the HDRTAB table and validates every keyword against
    its schemas, about twice the cost of deserialising the gwcs, which itself
    costs ten times the rest of an s2d's extraction. The object is the same gwcs
    stdatamodels builds (tests/pixels/test_s2d_sky.py compares their answers)."""
    if "ASDF" not in hdul:
        return None
    raw = hdul["ASDF"].data
    if b"gwcs/wcs-" not in np.asarray(raw).tobytes():  # no gwcs: spare the YAML parse
        return None
    import asdf

    try:
        # lazy_load=False: the arrays of its tables are read before the file closes
        with asdf.open(io.BytesIO(raw), lazy_tree=True, lazy_load=False, memmap=False) as tree:
            return tree["meta"]["wcs"]
    except Exception as exc:  # no meta.wcs (a multi-slit file) or one asdf cannot read
        log.info("no gwcs read from the ASDF extension: %s", exc)
        return None


def _world(wcs, xx: np.ndarray, yy: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """The gwcs outputs at pixels (xx, yy), or None when it cannot be evaluated."""
    if wcs is None:
        return None
    try:
        return tuple(np.asarray(v, np.float64) for v in wcs(xx, yy))
    except Exception as exc:
        log.warning("gwcs not evaluated: %s", exc)
        return None


def _slit_sky(wcs, world, path: str) -> tuple[np.ndarray, np.ndarray] | None:
    """(ra, dec) in degrees of each s2d pixel from the gwcs outputs ``world``: its
    ICRS celestial axes (null where the gwcs gives NaN, outside its bounding box).
    None without such axes, or when the pixels do not lie within
    :data:`SLIT_MAX_RADIUS_DEG` of their mean position."""
    if world is None:
        return None
    from gwcs.coordinate_frames import CelestialFrame

    output = wcs.output_frame
    frames = getattr(output, "frames", [output])
    celestial = [f for f in frames if isinstance(f, CelestialFrame)]
    if len(celestial) != 1 or getattr(celestial[0].reference_frame, "name", None) != "icrs":
        return None
    # a composite frame's axes_order counts the outputs of the whole gwcs
    lon, lat = (world[k] for k in celestial[0].axes_order)
    if not _slit_sized(lon, lat):
        log.warning("%s: positions not stored, its gwcs spreads them beyond a slit", path)
        return None
    return lon % 360.0, lat


def _slit_sized(ra: np.ndarray, dec: np.ndarray) -> bool:
    """Whether the finite positions lie within SLIT_MAX_RADIUS_DEG of their mean
    direction (unit vectors: no trouble at RA 0/360 or at the poles)."""
    finite = np.isfinite(ra) & np.isfinite(dec)
    if not finite.any():
        return False
    a, d = np.radians(ra[finite]), np.radians(dec[finite])
    vectors = np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)], axis=-1)
    centre = vectors.sum(axis=0)
    norm = np.linalg.norm(centre)
    if norm == 0:
        return False
    return bool((vectors @ (centre / norm)).min() >= math.cos(math.radians(SLIT_MAX_RADIUS_DEG)))


def _two_d(hdul: fits.HDUList, path: str) -> SpectrumPixels:
    sci = np.asarray(hdul["SCI"].data, np.float64)
    ny, nx = sci.shape[-2:]
    sci = sci.reshape(ny, nx)
    yy, xx = np.mgrid[:ny, :nx]
    wcs = _embedded_gwcs(hdul)
    world = _world(wcs, xx, yy)
    if "WAVELENGTH" in hdul:
        wave = np.asarray(hdul["WAVELENGTH"].data, np.float64).reshape(ny, nx)
    elif world is not None:
        wave = world[-1]
    else:  # a gwcs the ASDF extension alone does not give: the datamodel's (errors raise)
        with _gwcs(path) as model:
            wcs = model.meta.wcs
            world = tuple(np.asarray(v, np.float64) for v in wcs(xx, yy))
        wave = world[-1]
    sky = _slit_sky(wcs, world, path)
    err = np.asarray(hdul["ERR"].data, np.float64).reshape(ny, nx) if "ERR" in hdul else None
    dq = np.asarray(hdul["DQ"].data).reshape(ny, nx) if "DQ" in hdul else None
    ra, dec = sky if sky is not None else (None, None)
    return from_arrays(wave, sci, err, dq, x=xx, y=yy, kind="2d", ra=ra, dec=dec)


def _cube_wavelengths(hdul: fits.HDUList, path: str, nz: int) -> np.ndarray:
    header = hdul["SCI"].header
    ctype = str(header.get("CTYPE3", "")).upper()
    if ctype.startswith("WAVE") and "TAB" not in ctype and "CDELT3" in header:
        k = np.arange(nz, dtype=np.float64)
        return header["CRVAL3"] + header["CDELT3"] * (k + 1 - header.get("CRPIX3", 1.0))
    if "WCS-TABLE" in hdul:
        return np.asarray(hdul["WCS-TABLE"].data["wavelength"], np.float64).ravel()[:nz]
    with _gwcs(path) as model:
        nx = model.data.shape[-1]
        ny = model.data.shape[-2]
        k = np.arange(nz, dtype=np.float64)
        return np.asarray(
            model.meta.wcs(np.full(nz, nx // 2), np.full(nz, ny // 2), k)[-1], np.float64
        )


def _spaxel_sky(hdul: fits.HDUList, ny: int, nx: int) -> tuple[np.ndarray, np.ndarray] | None:
    """(ra, dec) in degrees of each spaxel (ny, nx) from the cube's celestial FITS
    WCS (JWST s3d SCI headers carry RA---TAN / DEC--TAN axes 1 and 2; only those
    two axes are read, so a ``WAVE-TAB`` third axis needs no table); None without
    one or when it cannot be read (the pixels are kept, without positions)."""
    header = hdul["SCI"].header
    if not str(header.get("CTYPE1", "")).upper().startswith("RA"):
        return None
    import warnings

    from astropy.wcs import WCS, FITSFixedWarning

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FITSFixedWarning)
            celestial = WCS(header, fobj=hdul, naxis=[1, 2])
        yy, xx = np.mgrid[:ny, :nx]
        ra, dec = celestial.all_pix2world(xx, yy, 0)
    except Exception as exc:  # a WCS astropy cannot read: no positions, pixels kept
        log.warning("no spaxel positions: %s", exc)
        return None
    return np.asarray(ra, np.float64) % 360.0, np.asarray(dec, np.float64)


def _three_d(hdul: fits.HDUList, path: str) -> SpectrumPixels:
    sci = np.asarray(hdul["SCI"].data, np.float64)
    nz, ny, nx = sci.shape
    wave_z = _cube_wavelengths(hdul, path, nz)
    sky = _spaxel_sky(hdul, ny, nx)
    ra = dec = None
    if sky is not None:
        ra = np.broadcast_to(sky[0], (nz, ny, nx))
        dec = np.broadcast_to(sky[1], (nz, ny, nx))
    zz, yy, xx = np.indices((nz, ny, nx))
    err = np.asarray(hdul["ERR"].data, np.float64) if "ERR" in hdul else None
    dq = np.asarray(hdul["DQ"].data) if "DQ" in hdul else None
    # derSnr of a cube: over the spaxel fluxes in wavelength order, as one spectrum each,
    # concatenated spaxel by spaxel (second differences then run along wavelength).
    snr_flux = sci.transpose(1, 2, 0).ravel()
    return from_arrays(
        wave_z[zz],
        sci,
        err,
        dq,
        x=xx,
        y=yy,
        z=zz,
        kind="3d",
        snr_flux=snr_flux,
        ra=ra,
        dec=dec,
    )


def extract(path: str, product_type: str) -> SpectrumPixels:
    """Read the pixels of the product file at ``path`` (x1d, c1d, s2d or s3d)."""
    kind = PIXEL_KINDS.get(product_type)
    if kind is None:
        raise ValueError(f"not a spectral product type: {product_type!r}")
    with fits.open(path, memmap=False) as hdul:
        if kind == "1d":
            return _one_d(hdul)
        if kind == "2d":
            return _two_d(hdul, path)
        return _three_d(hdul, path)
