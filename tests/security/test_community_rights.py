"""Community files follow the rights of the program their name or header names.

Three programs' msaexp spectra and the redshift table are ingested:

- 6802 is exclusive (its JWST products are catalogued, an admin moved its release
  far into the future);
- 2561 is public (catalogued, released);
- 4233 has no JWST product in the catalog, so its release is unknown.

Each catalog is probed twice: as an ingest killed (SIGKILL) right before the DJA
step that links spectra to products, and after a complete run. Neither may list or
serve an exclusive or undecided spectrum to anonymous users or strangers; the PI,
collaborators and admins read them. ``WEBBARCHIVE_COMMUNITY_RIGHTS`` opens a
collection: ``msaexp=public`` lists every spectrum while ``redshifts=program``
still keeps the exclusive program's redshifts to its members. Both backends.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import select

from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.config import Settings
from webbarchive.dja.spectra.tables import nirspec_extractions, nirspec_redshifts
from webbarchive.ingest.runner import ingest_paths

EXCLUSIVE, PUBLIC, UNKNOWN = "6802", "2561", "4233"
FAR_FUTURE_MJD, PAST_MJD = 99_999.0, 59_000.0
WHO = ("anonymous", "stranger", "pi", "collab", "admin")
#: Who reads each program's spectra by default.
READERS = {
    EXCLUSIVE: {"pi", "collab", "admin"},
    PUBLIC: set(WHO),
    UNKNOWN: {"pi", "admin"},  # pi is also named PI of 4233 (no data catalogued yet)
}

_KILLED_BEFORE_LINK = textwrap.dedent(
    """
    import os, signal, sys
    from webbarchive.dja.spectra import build
    from webbarchive.ingest.runner import ingest_paths

    def die(engine):
        os.kill(os.getpid(), signal.SIGKILL)  # rows written, never linked

    build._link_extractions = die
    ingest_paths(sys.argv[2:], db_url=sys.argv[1], workers=1, progress=False)
    """
)
_counter = itertools.count()


def _community_files(mock_dir) -> list[str]:
    dja = mock_dir / "dja"
    spectra = [
        p
        for p in sorted(dja.glob("*.spec.fits"))
        if any(f"_{program}_" in p.name for program in READERS)
    ]
    return [str(p) for p in spectra] + [str(dja / "mock_nirspec_redshifts.ecsv")]


@pytest.fixture(
    scope="module",
    params=[
        ("sqlite", "killed"),
        ("sqlite", "complete"),
        ("postgresql", "killed"),
        ("postgresql", "complete"),
    ],
    ids=lambda p: "-".join(p),
)
def archive(request, mock_dir, tmp_path_factory):
    backend, state = request.param
    if backend == "sqlite":
        url = str(tmp_path_factory.mktemp("community") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database(
            f"community{next(_counter)}_{os.getpid()}"
        )
    jwst = [
        str(p) for program in (EXCLUSIVE, PUBLIC) for p in sorted(mock_dir.glob(f"jw0{program}*"))
    ]
    ingest_paths(jwst, db_url=url, workers=1, progress=False)
    engine = open_catalog(url)
    accounts.set_release(engine, EXCLUSIVE, FAR_FUTURE_MJD)
    accounts.set_release(engine, PUBLIC, PAST_MJD)
    community = _community_files(mock_dir)
    if state == "killed":
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        done = subprocess.run(
            [sys.executable, "-c", _KILLED_BEFORE_LINK, url, *community],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]
    else:
        ingest_paths(community, db_url=url, workers=1, progress=False)
    for name in ("pi", "collab", "stranger", "admin"):
        accounts.add_user(engine, name, display_name=name.title(), admin=name == "admin")
    accounts.set_pi(engine, EXCLUSIVE, "pi")
    accounts.grant(engine, EXCLUSIVE, "collab")
    accounts.set_pi(engine, UNKNOWN, "pi")
    tokens = {n: accounts.create_token(engine, n, "t").token for n in WHO if n != "anonymous"}
    with engine.connect() as conn:
        spectra = [
            dict(r)
            for r in conn.execute(
                select(
                    nirspec_extractions.c.file,
                    nirspec_extractions.c.root,
                    nirspec_extractions.c.ra,
                    nirspec_extractions.c.dec,
                    nirspec_extractions.c.proposal_id,
                    nirspec_redshifts.c.z,
                ).outerjoin(
                    nirspec_redshifts, nirspec_redshifts.c.file == nirspec_extractions.c.file
                )
            ).mappings()
        ]
    assert {s["proposal_id"] for s in spectra} == set(READERS)
    yield url, tokens, spectra
    engine.dispose()


def _client(url: str, community_rights: str = ""):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app

    overrides = {"community_rights": community_rights} if community_rights else {}
    app = create_app(Settings.from_env(db_url=url, **overrides))
    app.state.rate_limiter = None
    return TestClient(app, raise_server_exceptions=False)


def _headers(tokens: dict[str, str], who: str) -> dict[str, str]:
    return {} if who == "anonymous" else {"Authorization": f"token {tokens[who]}"}


def _listed(client, tokens, who: str, spectrum: dict) -> dict | None:
    """The spectrum's row in a 1" cone around it, as ``who`` sees it, or None."""
    answer = client.get(
        "/nirspec_extractions",
        params={"ra": spectrum["ra"], "dec": spectrum["dec"], "size": 1, "output": "json"},
        headers=_headers(tokens, who),
    )
    assert answer.status_code == 200, answer.text[:300]
    return next((r for r in answer.json() if r["file"] == spectrum["file"]), None)


@pytest.mark.parametrize("who", WHO)
def test_spectra_are_listed_only_to_readers_of_their_program(archive, who):
    url, tokens, spectra = archive
    with _client(url) as client:
        for spectrum in spectra:
            listed = _listed(client, tokens, who, spectrum) is not None
            assert listed == (who in READERS[spectrum["proposal_id"]]), spectrum["file"]


@pytest.mark.parametrize("who", WHO)
def test_spectrum_files_and_redshifts_are_refused_to_others(archive, who):
    url, tokens, spectra = archive
    with _client(url) as client:
        for spectrum in spectra:
            headers = _headers(tokens, who)
            download = client.get(
                f"/msaexp-nirspec/extractions/{spectrum['root']}/{spectrum['file']}",
                headers=headers,
            )
            redshift = client.get(
                "/nirspec_file_redshift",
                params={"file": spectrum["file"], "output": "json"},
                headers=headers,
            )
            if who in READERS[spectrum["proposal_id"]]:
                expected = 200
            else:
                expected = 401 if who == "anonymous" else 403
            assert download.status_code == expected, (spectrum["file"], download.text[:200])
            assert redshift.status_code == expected, (spectrum["file"], redshift.text[:200])
            if expected != 200:
                assert f"{spectrum['ra']:.4f}"[:-1] not in download.text + redshift.text


@pytest.mark.parametrize("who", WHO)
def test_an_opened_collection_keeps_the_others_closed(archive, who):
    """msaexp=public lists every spectrum; redshifts=program still blanks the
    exclusive program's redshifts for whoever may not read that program."""
    url, tokens, spectra = archive
    with_z = [s for s in spectra if s["proposal_id"] == EXCLUSIVE and s["z"] is not None]
    assert with_z, "the redshift table gives the exclusive program's spectra a z"
    with _client(url, "msaexp=public, redshifts=program") as client:
        for spectrum in spectra:
            row = _listed(client, tokens, who, spectrum)
            assert row is not None, spectrum["file"]
        for spectrum in with_z:
            row = _listed(client, tokens, who, spectrum)
            if who in READERS[EXCLUSIVE]:
                assert row["z"] == pytest.approx(spectrum["z"])
            else:
                assert row["z"] is None and row["grade"] is None and row["comment"] is None


def test_community_rights_setting():
    from webbarchive.catalog.rights import CommunityRights
    from webbarchive.config import SettingError

    assert Settings.from_env({}).community() == CommunityRights()
    parsed = Settings.from_env({"WEBBARCHIVE_COMMUNITY_RIGHTS": "redshifts=public"}).community()
    assert (parsed.msaexp, parsed.redshifts, parsed.msa) == ("program", "public", "program")
    for bad in ("msaexp=open", "spectra=public", "msaexp"):
        settings = Settings.from_env({"WEBBARCHIVE_COMMUNITY_RIGHTS": bad})
        with pytest.raises(SettingError, match="WEBBARCHIVE_COMMUNITY_RIGHTS.*msaexp=program"):
            settings.community()
