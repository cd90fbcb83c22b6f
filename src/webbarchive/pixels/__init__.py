"""Pixel search: every pixel of x1d, c1d, s2d and s3d products, searchable.

- :mod:`~webbarchive.pixels.extract`: pixels of one product file;
- :mod:`~webbarchive.pixels.dersnr`: DER_SNR (Stoehr et al. 2008);
- :mod:`~webbarchive.pixels.store`: wavelength-sorted Parquet segments;
- :mod:`~webbarchive.pixels.tables`: per-spectrum characteristics in the catalog;
- :mod:`~webbarchive.pixels.index`: ``update(engine, progress)``, called by ingest;
- :mod:`~webbarchive.pixels.query`: parsing, planning and running a search.
"""
