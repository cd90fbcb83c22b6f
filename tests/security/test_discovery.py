"""Discovery never reveals: a position or a listing answers as if the hidden
products did not exist for that user; only a request that names a product may
be refused (401/403), and its refusal carries nothing the caller did not send.

The attack: ``/thumb`` at a position covered only by an exclusive-access mosaic
answered 401 naming the mosaic and its program, so the sky could be scanned one
position at a time; its 404 listed a filter that only a hidden program has.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from tests.auth.eap import EAP_FILE, EAP_PROGRAM
from tests.dja.imaging.conftest import EAP_PROGRAM as DJA_EAP_PROGRAM
from tests.dja.imaging.conftest import FUTURE_MJD
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import User, now_mjd
from webbarchive.catalog.schema import observations, products, programs
from webbarchive.dja.imaging.tables import dja_exposures, dja_mosaics

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: The GO program of the mock's north-pole MIRI field: exclusive by its own
#: release date today, made exclusive by an override here so the test does not
#: depend on the wall clock. Its MIRI filter is in no public program.
POLE_PROGRAM = "6627"
NOWHERE = (10.0, -60.0)  # no mosaic of the DJA test archive comes near


@pytest.fixture(scope="module")
def dja_app(dja_url):
    """A client over the DJA archive with the pole program exclusive (restored after),
    and a switch for who is asking."""
    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    engine = open_catalog(dja_url)
    with engine.connect() as conn:
        saved = conn.execute(
            select(programs.c.release_override_mjd).where(programs.c.proposal_id == POLE_PROGRAM)
        ).scalar_one()
    with engine.begin() as conn:
        conn.execute(
            update(programs)
            .where(programs.c.proposal_id == POLE_PROGRAM)
            .values(release_override_mjd=FUTURE_MJD)
        )
    app = create_app(Settings.from_env(db_url=dja_url))
    app.state.rate_limiter = None
    try:
        with TestClient(app) as client:
            yield client, engine
    finally:
        with engine.begin() as conn:
            conn.execute(
                update(programs)
                .where(programs.c.proposal_id == POLE_PROGRAM)
                .values(release_override_mjd=saved)
            )
        engine.dispose()


HIDDEN_PROGRAMS = (DJA_EAP_PROGRAM, POLE_PROGRAM)
USERS = {
    "anonymous": User(),
    "stranger": User(name="stranger"),
    "pi": User(name="pi", programs=frozenset(HIDDEN_PROGRAMS)),
}


def _as(client, who: str) -> None:
    user = USERS[who]
    client.app.state.resolve_user = lambda request: user


def _hidden_mosaics(engine) -> list[dict]:
    """Every mosaic of the hidden programs (read straight from the tables)."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(dja_mosaics.c.file, dja_mosaics.c.ra, dja_mosaics.c.dec, dja_mosaics.c.filter)
            .join(products, products.c.product_id == dja_mosaics.c.product_id)
            .where(products.c.proposal_id.in_(HIDDEN_PROGRAMS), dja_mosaics.c.ra.is_not(None))
        ).all()
    return [dict(r._mapping) for r in rows]


def _filters_of(engine, hidden: bool) -> set[str]:
    """Filters of the mosaics and exposures of the hidden programs (or of the others)."""
    with engine.connect() as conn:
        mosaic_programs = conn.execute(
            select(dja_mosaics.c.filter, products.c.proposal_id).join(
                products, products.c.product_id == dja_mosaics.c.product_id
            )
        ).all()
        exposure_programs = conn.execute(
            select(dja_exposures.c.filter, observations.c.proposal_id).join(
                observations, observations.c.obsid == dja_exposures.c.obsid
            )
        ).all()
    return {
        f.lower()
        for f, program in [*mosaic_programs, *exposure_programs]
        if f and (program in HIDDEN_PROGRAMS) == hidden
    }


def _without_position(text: str) -> str:
    return re.sub(r"ra=[-\d.]+, dec=[-\d.]+", "ra=?, dec=?", text)


def test_hidden_mosaics_exist_and_their_owner_sees_them(dja_app):
    client, engine = dja_app
    hidden = _hidden_mosaics(engine)
    assert len({row["file"] for row in hidden}) >= 2
    _as(client, "pi")
    for row in hidden:
        answer = client.get("/thumb", params={"coords": f"{row['ra']},{row['dec']}"})
        assert answer.status_code == 200, answer.text


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_thumb_at_a_hidden_position_is_the_same_as_an_empty_sky(dja_app, who):
    """Scanning the sky with /thumb finds nothing: every hidden mosaic's centre
    answers exactly as a position with no data at all (not 401/403)."""
    client, engine = dja_app
    _as(client, who)
    empty = client.get("/thumb", params={"coords": f"{NOWHERE[0]},{NOWHERE[1]}"})
    assert empty.status_code == 404
    secrets = [*HIDDEN_PROGRAMS, "ceers", "polaris", "1130"]
    for row in _hidden_mosaics(engine):
        answer = client.get("/thumb", params={"coords": f"{row['ra']},{row['dec']}"})
        assert answer.status_code == 404, (row["file"], answer.text)
        assert _without_position(answer.text) == _without_position(empty.text)
        body = answer.text.lower()
        assert row["file"].lower() not in body
        assert not [s for s in secrets if s in body], answer.text


def test_thumb_errors_name_only_filters_the_user_can_see(dja_app):
    client, engine = dja_app
    only_hidden = _filters_of(engine, hidden=True) - _filters_of(engine, hidden=False)
    assert only_hidden, "the test archive needs a filter only a hidden program has"
    _as(client, "anonymous")
    for params in (
        {"coords": f"{NOWHERE[0]},{NOWHERE[1]}"},  # 404: nothing here
        {"coords": f"{NOWHERE[0]},{NOWHERE[1]}", "filters": "f9999x"},  # 400: unknown filter
    ):
        answer = client.get("/thumb", params=params)
        assert answer.status_code in (400, 404)
        named = {f.lower() for f in re.findall(r"f\d+[a-z]+(?:-[a-z0-9]+)?", answer.text.lower())}
        assert named, answer.text
        assert not named & only_hidden, answer.text
    _as(client, "pi")  # the owner is told about their filters
    answer = client.get("/thumb", params={"coords": f"{NOWHERE[0]},{NOWHERE[1]}"})
    assert only_hidden <= {f.lower() for f in answer.json()["accepted"]["filters_in_archive"]}


# --- requests that name a product: refused, but with nothing more than was sent ----------


def _named_refusals(archive) -> list[tuple[str, str, str]]:
    """(path, the name the caller sent, who) for requests naming the EAP file."""
    uri = f"mast:JWST/product/{EAP_FILE}"
    paths = [
        f"/api/v0.1/Download/file?uri={uri}",
        f"/jwst/api/v0.1/Download/file?uri={uri}",
        f"/viz/api/v0.1/parameters?uri={uri}",
        f"/viz/api/v0.1/keywords/search?uri={uri}",
        f"/spectra/api/v0.1/retrieve?uri={uri}",
    ]
    return [(p, EAP_FILE, who) for p in paths for who in ("anonymous", "stranger")]


def test_a_refusal_carries_nothing_the_caller_did_not_send(eap_client, eap_archive):
    """The 401/403 for a named product used to add its program id."""
    checked = 0
    for path, name, who in _named_refusals(eap_archive):
        headers = (
            {} if who == "anonymous" else {"Authorization": f"token {eap_archive.tokens[who]}"}
        )
        answer = eap_client.get(path, headers=headers)
        assert answer.status_code == (401 if who == "anonymous" else 403), (path, answer.text)
        told = answer.text.replace(name, "<sent>").replace(name.removesuffix(".fits"), "<sent>")
        assert EAP_PROGRAM not in told, (path, answer.text)
        assert "jw09999" not in told
        checked += 1
    assert checked >= 4


def test_release_dates_do_not_matter_to_the_test(eap_archive):
    """Guard: the EAP program is exclusive by an override far in the future."""
    with eap_archive.engine.connect() as conn:
        release = conn.execute(
            select(programs.c.release_override_mjd).where(programs.c.proposal_id == EAP_PROGRAM)
        ).scalar_one()
    assert release > now_mjd() + 3650


# --- column inventories: hidden files neither add a keyword nor change its type ----------

SECRET_KEYWORD = "eapsecret_mode"


@pytest.fixture
def keyword_archive(catalog_url, tmp_path):
    """The EAP archive of tests/auth, built afresh (it is changed here): the EAP file
    carries a keyword no public file has, and a fractional value of a keyword whose
    public values are whole numbers."""
    import json

    from sqlalchemy import insert

    from tests.auth.eap import PUBLIC_FILE, build_eap_archive
    from webbarchive.catalog.schema import keywords

    archive = build_eap_archive(catalog_url, tmp_path / "files")
    with archive.engine.begin() as conn:
        ids = dict(conn.execute(select(products.c.filename, products.c.product_id)).all())
        conn.execute(
            insert(keywords),
            [
                {"product_id": ids[EAP_FILE], "name": SECRET_KEYWORD, "hdu": "PRIMARY",
                 "value": json.dumps("hidden"), "num": None},
                {"product_id": ids[EAP_FILE], "name": "nints", "hdu": "PRIMARY",
                 "value": json.dumps(3.5), "num": 3.5},
                {"product_id": ids[PUBLIC_FILE], "name": "nints", "hdu": "PRIMARY",
                 "value": json.dumps(3), "num": 3.0},
            ],
        )  # fmt: skip
    yield archive
    archive.engine.dispose()


def test_column_inventories_leave_out_what_only_hidden_files_have(keyword_archive):
    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    app = create_app(Settings.from_env(db_url=keyword_archive.url))
    with TestClient(app) as client:

        def inventories(who: str) -> tuple[dict, dict]:
            headers = (
                {} if who == "anonymous"
                else {"Authorization": f"token {keyword_archive.tokens[who]}"}
            )  # fmt: skip
            missions = client.get(
                "/search/util/api/v0.1/column_list", params={"mission": "jwst"}, headers=headers
            )
            mashup = client.post(
                "/portal/Mashup/Mashup.asmx/columnsconfig",
                data={"colConfigId": "Mast.Jwst.Filtered.Nirspec"},
                headers=headers,
            )
            assert missions.status_code == 200 and mashup.status_code == 200
            kinds = {c["column_name"]: c["qual_type"] for c in missions.json()}
            return kinds, mashup.json()

        for who in ("anonymous", "stranger"):
            kinds, config = inventories(who)
            assert SECRET_KEYWORD not in kinds and SECRET_KEYWORD not in config
            assert kinds["nints"] == "integer" and config["nints"]["vot.datatype"] == "long"
        kinds, config = inventories("pi")
        assert SECRET_KEYWORD in kinds and SECRET_KEYWORD in config
        assert kinds["nints"] == "float" and config["nints"]["vot.datatype"] == "double"
