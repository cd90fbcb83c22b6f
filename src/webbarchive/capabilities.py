"""The capabilities built over the catalog, listed once.

The catalog (``catalog/``) is the ground floor: products, observations, rights.
Pixel search and the DJA tools stand on it and bring their own tables, may
claim files at ingest that no product reader reads, and bring their tables up
to date at the end of every ingest. This registry says all of that in one
place, so the catalog never imports the floors above it
(:func:`register_tables` composes the catalog's MetaData) and ingest
(:mod:`webbarchive.ingest.runner`) runs the steps in this order without
knowing the packages by name.

Modules are named, not imported, here: importing this registry stays cheap
(no astropy, no DuckDB) and a step's module is imported when ingest runs it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Capability:
    """One capability over the catalog.

    ``tables``: the module whose import registers its tables on
    :data:`webbarchive.catalog.schema.metadata`. ``post_ingest``: the module whose
    ``update(engine, progress=...)`` runs at the end of every ingest. With
    ``claims_files``, that module's ``claims(path)`` takes community files out of
    the product readers' way at ingest, and ``update`` receives them as ``paths=``.
    """

    name: str
    tables: str
    post_ingest: str
    claims_files: bool = False

    def step(self) -> ModuleType:
        """The module of the post-ingest step (and of ``claims``)."""
        return importlib.import_module(self.post_ingest)


#: Every capability, in the order their post-ingest steps run: the DJA
#: spectroscopy tables (which read the files handed to them), then the pixel
#: index (the JWST products and those tables' msaexp spectra), then the DJA
#: imaging tables (associations and mosaics of what was catalogued).
CAPABILITIES: tuple[Capability, ...] = (
    Capability(
        "DJA spectroscopy",
        tables="webbarchive.dja.spectra.tables",
        post_ingest="webbarchive.dja.spectra.build",
        claims_files=True,
    ),
    Capability(
        "pixel search",
        tables="webbarchive.pixels.tables",
        post_ingest="webbarchive.pixels.index",
    ),
    Capability(
        "DJA imaging",
        tables="webbarchive.dja.imaging.tables",
        post_ingest="webbarchive.dja.imaging.build",
    ),
)


def register_tables() -> None:
    """Register the catalog's own tables and every capability's on the one MetaData
    (before :func:`~webbarchive.catalog.db.create_schema` creates them)."""
    import webbarchive.catalog.tables  # noqa: F401  (the catalog's own tables)

    for capability in CAPABILITIES:
        importlib.import_module(capability.tables)
