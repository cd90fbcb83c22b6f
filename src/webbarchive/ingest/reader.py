"""Read one file into plain row dicts (runs in the reader processes).

:func:`read_product` never touches the catalog and never raises for a bad
file: it returns a :class:`ReadResult` that is either rows to write or the
precise reason the file was skipped. The main process does all writing.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from webbarchive.catalog import sky
from webbarchive.ingest import compression
from webbarchive.ingest.classify import NotClassified, classify
from webbarchive.ingest.headers import decode, keyword_rows, plain_rows
from webbarchive.ingest.observation import position, product_fields, proposal_id, release_mjd
from webbarchive.storage import is_remote, open_storage

_CHUNK = 1 << 20
_NOT_SCIENCE_EXTENSIONS = {"ASDF", "HDRTAB"}


class Unreadable(Exception):
    """The file cannot be ingested; the message is the reason shown to the user."""


@dataclass
class ReadResult:
    path: str
    filename: str
    size: int
    mtime: float
    checksum: str | None = None
    skipped: str | None = None  # reason, when the file cannot be ingested
    obs_id: str | None = None
    # association files: the names of the products they describe (templates such as
    # "jw02736-o007_{source_id}_nirspec_f290lp-g395m" included); the writer attaches
    # the file to an observation of one of them, never to one of its own
    describes: list[str] = field(default_factory=list)
    product: dict[str, Any] = field(default_factory=dict)
    keywords: list[dict[str, Any]] = field(default_factory=list)
    program: dict[str, Any] | None = None


def md5sum(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_product(path: str) -> ReadResult:
    """Read, verify and classify one file (local, or an ``s3://`` object read
    through a temporary copy). Never raises for bad content; raises
    StorageUnavailable when the object store does not answer."""
    if not is_remote(path):
        p = Path(path)
        stat = p.stat()
        return _read_local(p, ReadResult(str(p), p.name, stat.st_size, stat.st_mtime))
    storage = open_storage(path)
    stat = storage.stat(path)
    name = path.rsplit("/", 1)[-1]
    if stat is None:
        return ReadResult(path, name, 0, 0.0, skipped="no such object in storage")
    with storage.local_file(path) as local:
        return _read_local(local, ReadResult(path, name, stat.size, stat.mtime))


def _read_local(p: Path, result: ReadResult) -> ReadResult:
    try:
        result.checksum = md5sum(p)
        if p.name.lower().endswith(".json"):
            _read_association(p, result)
        else:
            _read_fits(p, result)
    except Unreadable as exc:
        result.skipped = str(exc)
    except Exception as exc:  # any other failure of a reader is still a skip with its reason
        result.skipped = f"unreadable: {type(exc).__name__}: {exc}"
    return result


# --- FITS --------------------------------------------------------------------------


def stored_span(hdu) -> tuple[int, int]:
    """(offset, bytes) of an HDU's data as stored in the FITS stream.

    A tile-compressed image (fpack, ``CompImageHDU``) reports the size of the
    decompressed image; what the file holds is its binary table (rows and heap).
    """
    table = getattr(hdu, "_bintable", None)
    if isinstance(hdu, fits.CompImageHDU) and table is not None:
        return table._data_offset, table.size
    return hdu._data_offset, hdu.size


def _open(path: Path, stream_size: int, holder: str) -> fits.HDUList:
    with warnings.catch_warnings():
        warnings.simplefilter("error", AstropyWarning)
        try:
            hdul = fits.open(path, memmap=False, lazy_load_hdus=False)
        except AstropyWarning as exc:
            if "truncated" in str(exc):
                raise Unreadable(f"truncated: {exc}") from None
            raise Unreadable(f"not a valid FITS file: {exc}") from None
        except OSError as exc:
            raise Unreadable(f"not a valid FITS file: {exc}") from None
    # astropy reads headers lazily and data on demand: compare every HDU's
    # declared data span with what the file really holds.
    # (``HDUList.fileinfo`` would serialise every header again: read the offset
    # astropy recorded while parsing.)
    for index, hdu in enumerate(hdul):
        offset, size = stored_span(hdu)
        end = offset + size
        if end > stream_size:
            name = hdu.name or str(index)
            hdul.close()
            raise Unreadable(
                f"truncated: HDU {index} ({name}) needs {end} bytes, {holder} {stream_size}"
            )
    return hdul


def _science_hdu(hdul: fits.HDUList) -> fits.hdu.base.ExtensionHDU | None:
    if "SCI" in hdul:
        return hdul["SCI"]
    for hdu in hdul[1:]:
        if hdu.name.upper() not in _NOT_SCIENCE_EXTENSIONS:
            return hdu
    return None


def _read_fits(path: Path, result: ReadResult) -> None:
    # Compression is read from the content: a gzip stream named .fits is common.
    packed = compression.detect(path)
    if packed is None:
        stream_size, holder = result.size, "the file has"
    else:
        try:
            stream_size = compression.stream_size(path, packed)
        except compression.CorruptStream as exc:
            raise Unreadable(str(exc)) from None
        holder = f"its {packed} stream decompresses to"
    hdul = _open(path, stream_size, holder)
    with hdul:
        primary = hdul[0].header
        telescope = str(primary.get("TELESCOP", "")).strip()
        if telescope != "JWST" or not str(primary.get("INSTRUME", "")).strip():
            raise Unreadable(
                "not a JWST pipeline product: the primary header lacks TELESCOP='JWST' and "
                f"INSTRUME (TELESCOP={telescope or 'absent'!s}; community products such as "
                "msaexp spec.fits or grizli beams files are not catalogued)"
            )
        if not str(primary.get("PROGRAM", "")).strip():
            raise Unreadable("missing required keyword PROGRAM in the primary header")
        datamodel = primary.get("DATAMODL")
        try:
            info = classify(path.name, datamodel)
        except NotClassified as exc:
            raise Unreadable(str(exc)) from None
        science = _science_hdu(hdul)
        keywords = keyword_rows(
            primary,
            science.header if science is not None else None,
            science.name if science else None,
        )
        values = {row["name"]: decode(row["value"]) for row in keywords}
        footprint, source = _footprint(values, science)
    _fill(result, info, keywords, values, footprint, source)


def _footprint(values: dict[str, Any], science) -> tuple[sky.Polygon | None, str | None]:
    """The product footprint: S_REGION if sane, else the SCI WCS, else a box on the target."""
    reference = _reference(values)
    s_region = values.get("s_region")
    if isinstance(s_region, str) and s_region.strip():
        try:
            return sky.validate(sky.parse_stcs(s_region), reference), "s_region"
        except sky.FootprintError:
            pass
    if science is not None and science.is_image:
        polygon = _wcs_footprint(science.header)
        if polygon is not None:
            try:
                return sky.validate(polygon, reference), "wcs"
            except sky.FootprintError:
                pass
    if reference is not None:
        return sky.target_box(*reference), "target"
    return None, None


def _reference(values: dict[str, Any]) -> tuple[float, float] | None:
    where = position(values)
    return (where[0], where[1]) if where else None


def _wcs_footprint(header: fits.Header) -> sky.Polygon | None:
    from astropy.wcs import WCS

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(header)
            if not wcs.has_celestial:
                return None
            celestial = wcs.celestial
            nx = header.get(f"NAXIS{celestial.wcs.lng + 1}" if wcs.naxis == 2 else "NAXIS1")
            ny = header.get(f"NAXIS{celestial.wcs.lat + 1}" if wcs.naxis == 2 else "NAXIS2")
            if not nx or not ny:
                return None
            corners = celestial.calc_footprint(axes=(int(nx), int(ny)))
    except Exception:  # a broken WCS only means this fallback does not apply
        return None
    return [(float(ra), float(dec)) for ra, dec in corners]


def _fill(result: ReadResult, info, keywords, values, footprint, source) -> None:
    fields = product_fields(values)
    # An image is where its pixels are; a spectrum is where its target or source is.
    image = footprint is not None and (
        fields["s_ra"] is None or (fields["dataproduct_type"] == "image" and source != "target")
    )
    result.obs_id = info.obs_id
    result.keywords = keywords
    result.product = {
        **info.as_row(),
        "filename": result.filename,
        "path": result.path,
        "type": "D",
        "dataproduct_type": fields["dataproduct_type"],
        "datamodel": values.get("datamodl"),
        "instrument": values.get("instrume"),
        "exp_type": fields["exp_type"],
        "template": fields["template"],
        "prvversion": values.get("cal_ver"),
        "proposal_id": fields["proposal_id"],
        "s_ra": _centre(footprint, 0) if image else fields["s_ra"],
        "s_dec": _centre(footprint, 1) if image else fields["s_dec"],
        "s_region": sky.to_stcs(footprint) if footprint else None,
        "footprint_source": source,
        "t_min": fields["t_min"],
        "t_max": fields["t_max"],
        "size": result.size,
        "checksum": result.checksum,
        "mtime": result.mtime,
        "publicReleaseDate_mjd": release_mjd(values),
    }
    if fields["proposal_id"]:
        result.program = {
            "proposal_id": fields["proposal_id"],
            "proposal_pi": fields["proposal_pi"],
            "obs_title": fields["obs_title"],
            "proposal_type": fields["proposal_type"],
        }


def _centre(footprint: sky.Polygon | None, index: int) -> float | None:
    return sky.centroid(footprint)[index] if footprint else None


# --- association files -----------------------------------------------------------------


def _read_association(path: Path, result: ReadResult) -> None:
    try:
        asn = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise Unreadable(f"not valid JSON: {exc}") from None
    products = asn.get("products") if isinstance(asn, dict) else None
    if not products or not isinstance(products, list) or not isinstance(products[0], dict):
        raise Unreadable("not a JWST association: no 'products' list")
    names = [p.get("name") for p in products if isinstance(p, dict)]
    if not all(isinstance(name, str) and name.strip() for name in names):
        raise Unreadable("not a JWST association: a product has no 'name'")
    try:
        info = classify(path.name)
    except NotClassified as exc:
        raise Unreadable(str(exc)) from None
    scalars = {k: v for k, v in asn.items() if isinstance(v, str | int | float | bool) or v is None}
    scalars["members"] = sum(len(p.get("members", [])) for p in products if isinstance(p, dict))
    keywords = plain_rows(scalars, "ASN")
    values = {row["name"]: decode(row["value"]) for row in keywords}
    values.setdefault("program", asn.get("program"))
    _fill(result, info, keywords, values, None, None)
    # An association describes products; it joins an observation they make (the
    # writer finds it), it never makes one of its own.
    result.obs_id = None
    result.describes = [name.strip().lower() for name in names]
    result.product["proposal_id"] = proposal_id(asn.get("program"))
