"""DJA imaging: exposures, associations, mosaics, cutouts and thumbnails (tables in
:mod:`.tables`, built at the end of ingest by :func:`.build.update`; queries in
:mod:`.queries`; the HTTP API in :mod:`webbarchive.api.dja_imaging`)."""
