"""Imports the catalog's own modules that define tables, so they register on one MetaData.

The capabilities above the catalog (pixel search, the DJA tools) register theirs
through :func:`webbarchive.capabilities.register_tables`, which imports this
module first: the catalog imports nothing from them.
"""

import webbarchive.catalog.accounts  # noqa: F401  (users, tokens, program access)
import webbarchive.catalog.generation  # noqa: F401  (the counter cached views check)
import webbarchive.catalog.job_runners  # noqa: F401  (which process runs each async job)
import webbarchive.catalog.rate_buckets  # noqa: F401  (rate limits shared by workers)
from webbarchive.catalog import schema  # noqa: F401
