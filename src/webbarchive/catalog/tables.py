"""Imports every module that defines catalog tables, so they register on one MetaData.

Add a module here when a capability brings its own tables.
"""

import webbarchive.catalog.accounts  # noqa: F401  (users, tokens, program access)
import webbarchive.catalog.generation  # noqa: F401  (the counter cached views check)
import webbarchive.catalog.job_runners  # noqa: F401  (which process runs each async job)
import webbarchive.catalog.rate_buckets  # noqa: F401  (rate limits shared by workers)
import webbarchive.dja.imaging.tables  # noqa: F401  (DJA: exposures, associations, mosaics)
import webbarchive.dja.spectra.tables  # noqa: F401  (DJA: MSA slits, msaexp spectra, redshifts)
import webbarchive.pixels.tables  # noqa: F401  (pixel search: spectra, segments)
from webbarchive.catalog import schema  # noqa: F401
