"""Ingest: JWST files -> catalog rows (see :mod:`webbarchive.ingest.runner`).

One module per concern: :mod:`.discover` finds files, :mod:`.reader` reads one
file into rows (in reader processes), :mod:`.classify` names its product type,
:mod:`.headers` turns headers into keywords, :mod:`.observation` derives CAOM
parameters, :mod:`.writer` writes one file per transaction.
"""

from webbarchive.ingest.runner import IngestReport, ingest_paths

__all__ = ["IngestReport", "ingest_paths"]
