"""pysiaf, imported offline and quietly.

At import, pysiaf asks GitHub (with no timeout) whether its bundled PRD (the
Project Reference Database of apertures) is the newest, and logs a WARNING
when it cannot tell or when it is not. An archive server must not reach the
network at import, and the apertures it uses (the NIRSpec MSA) do not change
between PRD versions; so the check is skipped and its message dropped. Every
module that needs pysiaf imports it through :func:`pysiaf`.
"""

from __future__ import annotations

import logging
from functools import cache
from types import ModuleType
from unittest import mock


@cache
def pysiaf() -> ModuleType:
    import requests

    log = logging.getLogger("pysiaf")
    level = log.level
    log.setLevel(logging.ERROR)
    offline = requests.ConnectionError("webbarchive skips pysiaf's online PRD check")
    try:
        with mock.patch.object(requests, "get", side_effect=offline):
            import pysiaf as module
    finally:
        log.setLevel(level)
    return module
