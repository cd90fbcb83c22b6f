"""Catalog rows for tests that need a product pointing at a file, without ingest."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import Connection, insert

from webbarchive.catalog.schema import observations, products, programs

#: Release of test products that do not name one (2020: public; an unknown
#: release would hide them from everyone but admins).
RELEASED_MJD = 59_000.0


def add_file_product(conn: Connection, obs_id: str, filename: str, path: Path, **extra) -> int:
    """Insert one observation holding one product for the file at ``path`` (size and md5
    from its bytes; a missing file gives size 0, for "vanished file" cases). ``extra``
    are product columns; a ``proposal_id`` there also creates the program. Without a
    ``publicReleaseDate_mjd`` the product was released in 2020."""
    data = path.read_bytes() if path.exists() else b""
    extra.setdefault("publicReleaseDate_mjd", RELEASED_MJD)
    if extra.get("proposal_id"):
        conn.execute(insert(programs).values(proposal_id=extra["proposal_id"]))
    obsid = conn.execute(
        insert(observations).values(
            obs_id=obs_id,
            proposal_id=extra.get("proposal_id"),
            t_obs_release=extra["publicReleaseDate_mjd"],
        )
    ).inserted_primary_key[0]
    return conn.execute(
        insert(products).values(
            obsid=obsid,
            filename=filename,
            path=str(path),
            suffix=filename.rsplit("_", 1)[1].split(".")[0],
            size=len(data),
            checksum=hashlib.md5(data).hexdigest(),
            **extra,
        )
    ).inserted_primary_key[0]
