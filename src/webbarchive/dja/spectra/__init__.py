"""The Dawn JWST Archive's spectroscopy tools: NIRSpec MSA slits, msaexp extractions,
redshifts, trace overlaps and MOSFIRE listings.

Tables in :mod:`.tables`, built at the end of ingest by :func:`.build.update`;
queries (every one through the catalog's rights) in :mod:`.queries`; the HTTP API in
:mod:`webbarchive.api.dja_spectra`.
"""

from webbarchive.dja.spectra.build import claims, update

__all__ = ["claims", "update"]
