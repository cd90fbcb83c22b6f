"""The Dawn JWST Archive's tools, rebuilt over this catalog.

:mod:`.imaging`: exposures, associations, mosaics, cutouts and thumbnails;
:mod:`.spectra`: NIRSpec MSA slits, msaexp extractions, redshifts and MOSFIRE listings.
Both are built at the end of ingest and queried through the catalog's rights.
"""
