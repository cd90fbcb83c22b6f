"""Default deny: no product row is readable before its rights are decided.

An ingest is killed with SIGKILL right after it committed an exclusive
program's MSA file (source ids with RA/Dec) and before anything else ran. The
release of that file must already be decided in the transaction that wrote it:
anonymous users and strangers are refused, the PI, collaborators and admins read
it. An MSA file whose program has no science product yet has no release at all
and stays hidden to everyone but admins and the program's members, as does a
science product whose headers give no release (ObsCore, both twins of the rule).
Both backends: the SQL of the rule differs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import func, select, update

from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import (
    ANONYMOUS,
    may_read,
    product_release_expr,
    visible_mask,
    visible_observations,
    visible_products,
)
from webbarchive.catalog.schema import observations, products
from webbarchive.ingest.runner import ingest_paths

#: Exclusive program: its science products are written first, then its MSA file.
PROGRAM = "6802"
MSA_FILE = "jw06802004001_01_msa.fits"
#: Program whose MSA file arrives alone (no science product: release unknown).
LONE_PROGRAM = "4233"
LONE_MSA_FILE = "jw04233002001_01_msa.fits"
FAR_FUTURE_MJD = 99_999.0  # year 2132: a header release still in the future
WHO = ("anonymous", "stranger", "pi", "collab", "admin")
#: Download answers per identity for an exclusive file.
EXCLUSIVE = {"anonymous": 401, "stranger": 403, "pi": 200, "collab": 200, "admin": 200}

_KILLED_INGEST = textwrap.dedent(
    """
    import os, signal, sys
    from webbarchive.ingest import writer
    from webbarchive.ingest.runner import ingest_paths

    real = writer.write_batch

    def write_then_die(engine, batch):
        outcomes = real(engine, batch)  # committed
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no end-of-run step
        return outcomes

    writer.write_batch = write_then_die
    ingest_paths(sys.argv[2:], db_url=sys.argv[1], workers=1, progress=False)
    """
)


def _killed_ingest(url: str, paths: list[Path]) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", _KILLED_INGEST, url, *map(str, paths)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


@pytest.fixture
def killed(catalog_url, mock_dir, tmp_path):
    """A catalog where ingest died right after writing the MSA files: the exclusive
    program's science products came in an earlier run, the lone program has none."""
    science = sorted(
        p
        for p in mock_dir.glob(f"jw0{PROGRAM}*.fits")
        if p.name != MSA_FILE and p.name.endswith(("_x1d.fits", "_s2d.fits"))
    )
    assert len(science) >= 2
    ingest_paths([str(p) for p in science], db_url=catalog_url, workers=1, progress=False)
    engine = open_catalog(catalog_url)
    with engine.begin() as conn:  # their headers say: public in the far future
        conn.execute(
            update(products)
            .where(products.c.proposal_id == PROGRAM)
            .values(publicReleaseDate_mjd=FAR_FUTURE_MJD)
        )
    _killed_ingest(catalog_url, [mock_dir / MSA_FILE])
    _killed_ingest(catalog_url, [mock_dir / LONE_MSA_FILE])
    for name in ("pi", "collab", "stranger", "admin"):
        accounts.add_user(engine, name, display_name=name.title(), admin=name == "admin")
    tokens = {n: accounts.create_token(engine, n, "t").token for n in WHO if n != "anonymous"}
    for program in (PROGRAM, LONE_PROGRAM):
        accounts.set_pi(engine, program, "pi")
        accounts.grant(engine, program, "collab")

    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    app = create_app(Settings.from_env(db_url=catalog_url))
    app.state.rate_limiter = None
    with TestClient(app, raise_server_exceptions=False) as client:
        yield engine, client, tokens
    engine.dispose()


def _headers(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {} if who == "anonymous" else {"Authorization": f"token {tokens[who]}"}


def _download(client, tokens, who: str, filename: str):
    return client.get(
        "/api/v0.1/Download/file",
        params={"uri": f"mast:JWST/product/{filename}"},
        headers=_headers(tokens, who),
    )


@pytest.mark.parametrize("filename", [MSA_FILE, LONE_MSA_FILE])
def test_msa_file_of_a_killed_ingest_is_not_public(killed, filename):
    engine, client, tokens = killed
    with engine.connect() as conn:  # the kill left the MSA file committed
        assert conn.execute(
            select(func.count()).where(products.c.filename == filename)
        ).scalar_one()
    for who, status in EXCLUSIVE.items():
        answer = _download(client, tokens, who, filename)
        assert answer.status_code == status, (who, answer.text[:300])
        if status != 200:
            assert "source_id" not in answer.text.lower()


def test_msa_file_takes_its_program_release_in_its_own_transaction(killed):
    engine, _, _ = killed
    with engine.connect() as conn:
        releases = dict(
            conn.execute(
                select(products.c.filename, products.c.publicReleaseDate_mjd).where(
                    products.c.filename.in_([MSA_FILE, LONE_MSA_FILE])
                )
            ).all()
        )
        lone_observations = {
            who: conn.execute(
                select(func.count())
                .select_from(observations)
                .where(observations.c.proposal_id == LONE_PROGRAM, visible_observations(user))
            ).scalar_one()
            for who, user in (
                ("anonymous", ANONYMOUS),
                ("pi", accounts.user_for(engine, "pi")),
            )
        }
    assert releases == {MSA_FILE: FAR_FUTURE_MJD, LONE_MSA_FILE: None}
    # an observation with a product of unknown release is hidden too
    assert lone_observations == {"anonymous": 0, "pi": 1}


def test_sql_and_numpy_twins_agree_on_unknown_releases(killed):
    """Every row, every identity: the SQL clause, the numpy mask (pixel search)
    and the per-row rule keep the same products; unknown releases only for
    admins and the program's members."""
    engine, _, _ = killed
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                products.c.product_id,
                products.c.proposal_id,
                product_release_expr().label("release"),
            ).order_by(products.c.product_id)
        ).all()
        users = {"anonymous": ANONYMOUS}
        users.update({n: accounts.user_for(engine, n) for n in ("stranger", "pi", "admin")})
        assert any(r.release is None for r in rows)
        for who, user in users.items():
            sql = set(
                conn.execute(select(products.c.product_id).where(visible_products(user))).scalars()
            )
            mask = visible_mask(
                user,
                np.asarray([r.proposal_id for r in rows], dtype=object),
                np.asarray([np.nan if r.release is None else r.release for r in rows]),
            )
            numpy_kept = {r.product_id for r, keep in zip(rows, mask, strict=True) if keep}
            per_row = {r.product_id for r in rows if may_read(user, r.proposal_id, r.release)}
            assert sql == numpy_kept == per_row, who
            unknown = {r.product_id for r in rows if r.release is None}
            if who in ("anonymous", "stranger"):
                assert not sql & unknown, who
            else:
                assert unknown <= sql, who


def test_obscore_hides_a_science_product_without_release(killed):
    """ObsCore's rights column and its visibility: an undecided release is
    'proprietary', readable by the program's members and admins only."""
    engine, client, tokens = killed
    with engine.begin() as conn:  # a product whose headers carry no exposure end
        conn.execute(
            update(products)
            .where(products.c.proposal_id == PROGRAM)
            .values(publicReleaseDate_mjd=None)
        )
    query = (
        "SELECT obs_publisher_did, data_rights, datarights FROM ivoa.obscore "
        f"WHERE proposal_id = '{PROGRAM}'"
    )
    for who in WHO:
        answer = client.get(
            "/tap/sync",
            params={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": "csv"},
            headers=_headers(tokens, who),
        )
        assert answer.status_code == 200, answer.text[:300]
        lines = answer.text.strip().splitlines()[1:]
        if who in ("anonymous", "stranger"):
            assert lines == [], who
        else:
            assert lines, who
            assert all(line.endswith(",proprietary,EXCLUSIVE_ACCESS") for line in lines), lines
