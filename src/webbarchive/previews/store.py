"""Where the preview JPEGs live and when they are drawn.

A product ``<stem>.fits`` has its preview ``<stem>.jpg`` (the name ``jpegURL``
gives, ``mast:JWST/product/<stem>.jpg``) in the catalog's preview folder
(:func:`folder`). Ingest draws the missing and stale ones (:func:`update`);
the download route draws one on demand when it is missing (:func:`ensure`),
so a lost folder costs time, not answers. A preview carries its product's
modification time as its own: it is fresh while the two agree, so a
re-ingest of unchanged files draws nothing, and a replaced file is drawn again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from webbarchive.catalog.queries import product_by_filename
from webbarchive.catalog.schema import products
from webbarchive.previews.draw import DRAWN, PreviewError, jpeg
from webbarchive.storage import open_storage
from webbarchive.storage.beside_catalog import store_folder
from webbarchive.storage.full_disk import disk_full_cause

PREVIEW_ENDING = ".jpg"
_PRODUCT_ENDINGS = (".fits", ".fits.gz")
#: Seconds two modification times may differ and still count as the same.
_MTIME_TOLERANCE_S = 1e-3


@dataclass
class PreviewReport:
    """What :func:`update` did: previews drawn, and the products it could not draw."""

    drawn: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def folder(engine: Engine) -> Path:
    """The preview folder of the catalog behind ``engine``."""
    from webbarchive.config import current

    return store_folder(engine, "previews", current().previews_root, scratch=True) / "products"


def preview_name(product_filename: str) -> str:
    """``<stem>.jpg`` for ``<stem>.fits`` (as the ingest writes jpegURL)."""
    return product_filename.rsplit(".fits", 1)[0] + PREVIEW_ENDING


def source_product(conn: Connection, preview_filename: str) -> dict[str, Any] | None:
    """The product row (with ``release_mjd``) whose preview is ``preview_filename``,
    or None. Callers authorize before they use it, as for a product."""
    if not preview_filename.lower().endswith(PREVIEW_ENDING):
        return None
    stem = preview_filename[: -len(PREVIEW_ENDING)]
    for ending in _PRODUCT_ENDINGS:
        row = product_by_filename(conn, stem + ending)
        if row is not None:
            return row
    return None


def _fresh(target: Path, mtime: float | None) -> bool:
    try:
        have = target.stat().st_mtime
    except FileNotFoundError:
        return False
    return mtime is None or abs(have - mtime) < _MTIME_TOLERANCE_S


def _draw(target: Path, product: Mapping[str, Any]) -> None:
    path = str(open_storage(product["path"]).readable_path(product["path"]))
    picture = jpeg(path, product["suffix"], product["filename"])
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(picture)
    if product.get("mtime") is not None:
        os.utime(temporary, (product["mtime"], product["mtime"]))
    temporary.replace(target)  # atomic: a concurrent reader never sees half a file


def ensure(engine: Engine, product: Mapping[str, Any]) -> Path:
    """The fresh preview of ``product`` (a products row), drawn if needed.
    Raises :class:`PreviewError` when the product cannot be drawn."""
    if product.get("suffix") not in DRAWN:
        raise PreviewError(f"no preview is drawn for {product.get('suffix')} products")
    target = folder(engine) / preview_name(product["filename"])
    if not _fresh(target, product.get("mtime")):
        _draw(target, product)
    return target


def update(engine: Engine, progress: bool = False) -> PreviewReport:
    """Draw the previews that are missing or older than their product."""
    from tqdm import tqdm

    report = PreviewReport()
    root = folder(engine)
    with engine.connect() as conn:
        rows = [
            dict(r)
            for r in conn.execute(
                select(
                    products.c.filename, products.c.path, products.c.suffix, products.c.mtime
                ).where(products.c.suffix.in_(sorted(DRAWN)))
            ).mappings()
        ]
    stale = [r for r in rows if not _fresh(root / preview_name(r["filename"]), r["mtime"])]
    for row in tqdm(stale, unit="preview", desc="previews", disable=not progress):
        try:
            _draw(root / preview_name(row["filename"]), row)
        except PreviewError as exc:
            report.failed.append((row["filename"], str(exc)))
            continue
        except OSError as exc:  # the product file went away since it was ingested
            if disk_full_cause(exc):
                raise  # not the fault of a product: stop, a re-run resumes here
            report.failed.append((row["filename"], f"{type(exc).__name__}: {exc}"))
            continue
        report.drawn.append(row["filename"])
    return report
