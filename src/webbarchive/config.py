"""Server settings: where the catalog and the files are. Environment overrides
(``WEBBARCHIVE_DB``) let several stateless API workers share one catalog."""

from __future__ import annotations

import os
from dataclasses import dataclass

from webbarchive.catalog.db import DEFAULT_DB


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB
    #: Base URL the server is reached at, for links in scripts and listings.
    public_url: str = "http://127.0.0.1:8000"

    @classmethod
    def from_env(cls) -> Settings:
        return cls(
            db_url=os.environ.get("WEBBARCHIVE_DB", DEFAULT_DB),
            public_url=os.environ.get("WEBBARCHIVE_PUBLIC_URL", "http://127.0.0.1:8000"),
        )
