"""Pixel arrays of spectral products (x1d, c1d, s2d, s3d) for ``spectra/retrieve``.

:func:`read_product` opens a file and describes its arrays as
:class:`Column` s; :func:`json_chunks` writes the retrieve reply from them
piece by piece, so a cube is read and serialized one wavelength plane at a time
and never held whole, neither as an array nor as a Python list.

Column names are the seed's camelCase (``wavelength``, ``flux``, ``fluxErr``);
:func:`api_column_name` is the one mapping from FITS names, and pixel search
should use it too. ``fitsExt`` names where a value comes from: the table column
for x1d/c1d (as in the seed), the extension for s2d/s3d (``SCI``, ``ERR``,
``DQ``, ``WAVELENGTH``; ``ASDF`` when the wavelength is evaluated from the gwcs,
``WCS``/``WCS-TABLE`` for a cube's wavelength axis).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import orjson
from astropy.io import fits

log = logging.getLogger(__name__)

SUPPORTED_SUFFIXES = ("x1d", "c1d", "s2d", "s3d")

#: The table extension(s) of each 1-D product, and the stdatamodels schema
#: that describes it.
TABLE_EXTENSIONS = {"x1d": ("EXTRACT1D",), "c1d": ("COMBINE1D",)}
TABLE_SCHEMAS = {"EXTRACT1D": "spectable", "COMBINE1D": "combinedspectable"}

#: FITS column -> API name, where the seed's camelCase is not the plain
#: conversion of the FITS name (``FLUX_ERROR`` is ``fluxErr``, not ``fluxError``).
_API_NAMES = {
    "FLUX_ERROR": "fluxErr",
    "ERROR": "fluxErr",  # COMBINE1D's flux error
    "SB_ERROR": "sbErr",
    "BKGD_ERROR": "bkgdErr",
    "NPIXELS": "npixels",
    "N_INPUT": "nInput",
}

#: Descriptions of the spectral table columns. The stdatamodels table schemas
#: name and type the columns but carry no per-column text, so these follow the
#: JWST pipeline's x1d/c1d documentation; other columns fall back to the
#: schema's table title.
_DESCRIPTIONS = {
    "WAVELENGTH": "wavelength values",
    "FLUX": "flux values",
    "FLUX_ERROR": "flux error values",
    "ERROR": "flux error values",
    "FLUX_VAR_POISSON": "flux variance due to Poisson noise",
    "FLUX_VAR_RNOISE": "flux variance due to read noise",
    "FLUX_VAR_FLAT": "flux variance due to the flat field",
    "SURF_BRIGHT": "surface brightness values",
    "SB_ERROR": "surface brightness error values",
    "SB_VAR_POISSON": "surface brightness variance due to Poisson noise",
    "SB_VAR_RNOISE": "surface brightness variance due to read noise",
    "SB_VAR_FLAT": "surface brightness variance due to the flat field",
    "DQ": "data quality flags",
    "BACKGROUND": "background surface brightness values",
    "BKGD_ERROR": "background error values",
    "BKGD_VAR_POISSON": "background variance due to Poisson noise",
    "BKGD_VAR_RNOISE": "background variance due to read noise",
    "BKGD_VAR_FLAT": "background variance due to the flat field",
    "NPIXELS": "number of pixels summed at each wavelength",
    "WEIGHT": "sum of the weights of the combined input spectra",
    "N_INPUT": "number of input spectra combined at each wavelength",
    "RF_FLUX": "flux corrected for residual fringes",
    "RF_SURF_BRIGHT": "surface brightness corrected for residual fringes",
    "RF_BACKGROUND": "background corrected for residual fringes",
}

#: Image extensions of s2d/s3d -> API name, in reply order after ``wavelength``.
IMAGE_EXTENSIONS = {"SCI": "flux", "ERR": "fluxErr", "DQ": "dq"}

#: Header keywords describing which spectrum an x1d/c1d/s2d extension holds.
_EXTENSION_KEYWORDS = {
    "SLTNAME": "slit_name",
    "SOURCEID": "source_id",
    "SRCNAME": "source_name",
    "SPORDER": "spectral_order",
    "CHANNEL": "channel",
    "BAND": "band",
}

_PLANE_BATCH_BYTES = 1 << 18  # yield cube JSON in ~256 KiB pieces


class ProductReadError(Exception):
    """The file cannot be read as the product type it claims to be."""


class ExtensionOutOfRange(Exception):
    def __init__(self, ext: int, count: int) -> None:
        super().__init__(f"ext={ext} but the file holds {count} spectra")
        self.ext = ext
        self.count = count


def api_column_name(fits_name: str) -> str:
    """FITS column name -> the seed's camelCase (``SURF_BRIGHT`` -> ``surfBright``)."""
    upper = fits_name.upper()
    if upper in _API_NAMES:
        return _API_NAMES[upper]
    first, *rest = upper.lower().split("_")
    return first + "".join(word.capitalize() for word in rest)


@cache
def _schema(name: str) -> dict[str, Any]:
    import yaml

    text = (
        resources.files("stdatamodels.jwst.datamodels")
        .joinpath("schemas", f"{name}.schema.yaml")
        .read_text()
    )
    return yaml.safe_load(text)


def _schema_title(name: str, prop: str | None = None) -> str | None:
    """The title stdatamodels gives a schema, or one of its array properties."""
    try:
        schema = _schema(name)
    except (OSError, ValueError, ImportError):
        return None
    if prop is None:
        return schema.get("title")
    for part in schema.get("allOf", []):
        found = part.get("properties", {}).get(prop) if isinstance(part, dict) else None
        if isinstance(found, dict) and "title" in found:
            return found["title"]
    return None


def _dtype_name(dtype: np.dtype) -> str:
    kind = np.dtype(dtype).kind
    return {"f": "float", "i": "int", "u": "int", "b": "bool", "U": "string", "S": "string"}.get(
        kind, str(dtype)
    )


def dumps_array(values: np.ndarray) -> bytes:
    """JSON for an array; NaN and infinities become null (orjson's rule)."""
    values = np.asarray(values)
    if values.dtype.kind in "US":
        return orjson.dumps(values.tolist())
    native = values.dtype.newbyteorder("=")
    return orjson.dumps(
        np.ascontiguousarray(values, dtype=native), option=orjson.OPT_SERIALIZE_NUMPY
    )


class LazyCube:
    """A 3-D image extension read one plane (first axis, wavelength) at a time."""

    def __init__(self, hdu: fits.ImageHDU) -> None:
        self.hdu = hdu
        self.shape = tuple(hdu.shape)
        self.dtype = np.asarray(hdu.section[0:1, 0:1, 0:1]).dtype

    def planes(self) -> Iterator[np.ndarray]:
        for k in range(self.shape[0]):
            # .section reads just this plane from disk and applies BZERO/BSCALE.
            yield self.hdu.section[k]


@dataclass
class Column:
    name: str
    fits_ext: str
    units: str | None
    description: str | None
    values: np.ndarray | LazyCube

    def metadata(self) -> dict[str, Any]:
        meta = {
            "dtype": _dtype_name(self.values.dtype),
            "description": self.description,
            "units": self.units,
            "fitsExt": self.fits_ext,
        }
        if len(self.values.shape) > 1:
            meta["shape"] = list(self.values.shape)
        return meta


@dataclass
class SpectralProduct:
    columns: list[Column]
    n_extensions: int = 1
    extension: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    close: Callable[[], None] = lambda: None

    @property
    def streamed(self) -> bool:
        return any(isinstance(c.values, LazyCube) for c in self.columns)


def read_product(path: str, suffix: str, ext: int | None = None) -> SpectralProduct:
    """Describe the arrays of the spectral product at ``path``.

    ``ext`` (1-based) picks one of several spectra (EXTRACT1D/COMBINE1D tables,
    or SCI extensions of an s2d); the first by default. The caller must call
    ``close()`` (:func:`json_chunks` does).
    """
    try:
        # No memmap: .section then reads scaled (BZERO) cubes plane by plane too.
        hdul = fits.open(path, memmap=False)
    except (OSError, ValueError, TypeError) as exc:
        raise ProductReadError(f"not a readable FITS file ({exc})") from None
    try:
        if suffix in TABLE_EXTENSIONS:
            product = _read_table(hdul, suffix, ext)
        elif suffix == "s2d":
            product = _read_s2d(hdul, path, ext)
        elif suffix == "s3d":
            product = _read_s3d(hdul, ext)
        else:
            raise ProductReadError(f"{suffix!r} is not a spectral product type")
    except ExtensionOutOfRange:
        hdul.close()
        raise
    except ProductReadError:
        hdul.close()
        raise
    except Exception as exc:  # a damaged file fails in many ways inside astropy
        hdul.close()
        log.warning("cannot read %s as %s", path, suffix, exc_info=True)
        raise ProductReadError(f"{type(exc).__name__}: {exc}") from None
    product.close = hdul.close
    return product


def _pick(hdus: list, ext: int | None, what: str):
    if not hdus:
        raise ProductReadError(f"the file has no {what} extension")
    index = 1 if ext is None else ext
    if not 1 <= index <= len(hdus):
        raise ExtensionOutOfRange(index, len(hdus))
    return index, hdus[index - 1]


def _extension_info(index: int, hdu) -> dict[str, Any]:
    info: dict[str, Any] = {"index": index, "extname": hdu.name, "extver": hdu.ver}
    for keyword, name in _EXTENSION_KEYWORDS.items():
        value = hdu.header.get(keyword)
        if value is not None and not isinstance(value, fits.card.Undefined):
            info[name] = value.strip() if isinstance(value, str) else value
    return info


def _read_table(hdul: fits.HDUList, suffix: str, ext: int | None) -> SpectralProduct:
    names = TABLE_EXTENSIONS[suffix]
    tables = [h for h in hdul if h.name in names and isinstance(h, fits.BinTableHDU)]
    index, hdu = _pick(tables, ext, "/".join(names))
    title = _schema_title(TABLE_SCHEMAS[hdu.name])
    data = hdu.data
    columns = []
    for col in hdu.columns:
        columns.append(
            Column(
                name=api_column_name(col.name),
                fits_ext=col.name,
                units=col.unit or None,
                description=_DESCRIPTIONS.get(col.name.upper(), f"{col.name} ({title})"),
                values=np.asarray(data[col.name]) if data is not None else np.array([]),
            )
        )
    return SpectralProduct(columns, len(tables), _extension_info(index, hdu))


def _bunit(hdu) -> str | None:
    value = hdu.header.get("BUNIT")
    return value.strip() or None if isinstance(value, str) else None


def _image_columns(hdul: fits.HDUList, ver: int, schema: str, lazy: bool) -> list[Column]:
    columns = []
    props = {"SCI": "data", "ERR": "err", "DQ": "dq"}
    for extname, name in IMAGE_EXTENSIONS.items():
        if (extname, ver) not in hdul:
            continue
        hdu = hdul[extname, ver]
        values = LazyCube(hdu) if lazy else np.asarray(hdu.data)
        columns.append(
            Column(name, extname, _bunit(hdu), _schema_title(schema, props[extname]), values)
        )
    return columns


def _read_s2d(hdul: fits.HDUList, path: str, ext: int | None) -> SpectralProduct:
    scis = [h for h in hdul if h.name == "SCI"]
    index, sci = _pick(scis, ext, "SCI")
    if sci.data is None or sci.data.ndim != 2:
        raise ProductReadError(f"SCI extension {index} is not a 2-D image")
    notes: list[str] = []
    columns = _image_columns(hdul, sci.ver, "slitdata", lazy=False)
    title = _schema_title("slitdata", "wavelength")
    if ("WAVELENGTH", sci.ver) in hdul:
        wave = hdul["WAVELENGTH", sci.ver]
        wavelength = Column(
            "wavelength", "WAVELENGTH", _bunit(wave) or "um", title, np.asarray(wave.data)
        )
    else:
        wavelength = _gwcs_wavelength(path, index, sci.data.shape, notes)
    if wavelength is not None:
        columns.insert(0, wavelength)
    return SpectralProduct(columns, len(scis), _extension_info(index, sci), notes)


def _gwcs_wavelength(
    path: str, index: int, shape: tuple[int, int], notes: list[str]
) -> Column | None:
    """Wavelength of every s2d pixel, evaluated from the gwcs that the pipeline
    stores in the ASDF extension (stage-3 s2d files carry no WAVELENGTH image)."""
    import warnings

    import astropy.units as u
    from stdatamodels.jwst import datamodels

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with datamodels.open(path) as model:
                slits = getattr(model, "slits", None)
                meta = slits[index - 1].meta if slits else model.meta
                wcs = meta.wcs
                y, x = np.mgrid[: shape[0], : shape[1]]
                world = wcs(x, y)
                unit = u.Unit(wcs.output_frame.unit[-1])
                values = np.asarray(world[-1], dtype=float) * unit.to(u.um)
    except Exception as exc:  # no gwcs, or tags this install cannot read
        notes.append(f"wavelength not available: the file's gwcs cannot be evaluated ({exc})")
        return None
    return Column(
        "wavelength",
        "ASDF",
        "um",
        "wavelength of each pixel, evaluated from the gwcs in the ASDF extension",
        values,
    )


def _read_s3d(hdul: fits.HDUList, ext: int | None) -> SpectralProduct:
    if ext not in (None, 1):
        raise ExtensionOutOfRange(ext, 1)
    if "SCI" not in hdul:
        raise ProductReadError("the file has no SCI extension")
    sci = hdul["SCI"]
    if sci.header.get("NAXIS") != 3:
        raise ProductReadError("the SCI extension is not a 3-D cube")
    columns = _image_columns(hdul, sci.ver, "ifucube", lazy=True)
    columns.insert(0, _cube_wavelength(hdul, sci.header))
    return SpectralProduct(columns, 1, _extension_info(1, sci))


def _cube_wavelength(hdul: fits.HDUList, header: fits.Header) -> Column:
    """The wavelength (um) of each cube plane, from the spectral axis of the WCS:
    the tabulated values for ``WAVE-TAB`` (multi-band cubes), else astropy.wcs."""
    import astropy.units as u
    from astropy.wcs import WCS

    nplanes = int(header["NAXIS3"])
    ctype = str(header.get("CTYPE3", ""))
    if ctype.endswith("-TAB"):
        table = str(header.get("PS3_0", "WCS-TABLE"))
        column = str(header.get("PS3_1", "wavelength"))
        values = np.asarray(hdul[table].data[column], dtype=float).ravel()[:nplanes]
        unit = u.Unit(str(header.get("CUNIT3", "um")))
        return Column(
            "wavelength",
            table,
            "um",
            "wavelength of each cube plane",
            values * unit.to(u.um),
        )
    wcs = WCS(header, naxis=3)
    pixels = np.zeros((nplanes, 3))
    pixels[:, 2] = np.arange(nplanes)
    world = wcs.wcs_pix2world(pixels, 0)[:, 2]
    unit = u.Unit(wcs.wcs.cunit[2] or "m")  # wcslib works in SI for spectral axes
    return Column("wavelength", "WCS", "um", "wavelength of each cube plane", world * unit.to(u.um))


def json_chunks(head: dict[str, Any], product: SpectralProduct) -> Iterator[bytes]:
    """The reply as JSON pieces: ``head`` fields, then ``"data": {name: array}``.

    Cubes are written plane by plane, batched into ~256 KiB pieces. Closes the
    product's file at the end (or when the client goes away).
    """
    try:
        yield orjson.dumps(head)[:-1] + b',"data":{'
        for i, column in enumerate(product.columns):
            prefix = (b"," if i else b"") + orjson.dumps(column.name) + b":"
            if not isinstance(column.values, LazyCube):
                yield prefix + dumps_array(column.values)
                continue
            batch = [prefix + b"["]
            size = 0
            for k, plane in enumerate(column.values.planes()):
                piece = (b"," if k else b"") + dumps_array(plane)
                batch.append(piece)
                size += len(piece)
                if size >= _PLANE_BATCH_BYTES:
                    yield b"".join(batch)
                    batch, size = [], 0
            batch.append(b"]")
            yield b"".join(batch)
        yield b"}}"
    finally:
        product.close()
