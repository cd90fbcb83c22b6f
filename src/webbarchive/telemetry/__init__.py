"""Engineering telemetry (the JWST EDB as MAST serves it).

- :mod:`~webbarchive.telemetry.wire`: MAST's CSV (``theTime,MJD,euvalue,sqldataType``,
  CRLF) read and written, and the :class:`~webbarchive.telemetry.wire.Samples` it holds.
- :mod:`~webbarchive.telemetry.store`: the time-series store, Parquet partitioned by
  mnemonic and day beside the catalog.
- :mod:`~webbarchive.telemetry.ingest`: files (CSV, Parquet, the mnemonic dictionary)
  into the store and the catalog.
- :mod:`~webbarchive.telemetry.query`: an interval of one mnemonic with the samples
  bracketing it, and the ``mast:jwstedb/...`` uri.
"""

from webbarchive.telemetry.errors import TelemetryError, TelemetryInputError, TelemetryNotFound

__all__ = ["TelemetryError", "TelemetryInputError", "TelemetryNotFound"]
