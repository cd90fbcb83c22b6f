"""Data rights from release dates at request time, and who may see what."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, update

from tests.auth.eap import (
    EAP_OBS_ID,
    EAP_PROGRAM,
    PUBLIC_OBS_ID,
    PUBLIC_PROGRAM,
    build_eap_archive,
)
from webbarchive.catalog import accounts
from webbarchive.catalog.rights import (
    ANONYMOUS,
    EXCLUSIVE_ACCESS,
    PUBLIC,
    observation_release_expr,
    product_release_expr,
    rights_expr,
    rights_for,
    visible_observations,
    visible_products,
)
from webbarchive.catalog.schema import observations, products

SYNTHETIC = [PUBLIC_PROGRAM, EAP_PROGRAM]  # the module's archive also holds mock programs


def _count(engine, table, clause) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(table)
            .where(clause, table.c.proposal_id.in_(SYNTHETIC))
        ).scalar_one()


def test_listings_count_only_what_each_user_may_see(eap_archive):
    engine = eap_archive.engine
    users = {name: accounts.user_for(engine, name) for name in ("pi", "collab", "stranger")}
    users["admin"] = accounts.user_for(engine, "admin")
    mock_program = eap_archive.context["mock_program"]
    assert users["pi"].programs == {EAP_PROGRAM, mock_program} and users["admin"].admin
    assert users["stranger"].programs == frozenset()
    expected = {"anonymous": 1, "stranger": 1, "pi": 2, "collab": 2, "admin": 2}
    for who, count in expected.items():
        user = users.get(who, ANONYMOUS)
        assert _count(engine, products, visible_products(user)) == count, who
        assert _count(engine, observations, visible_observations(user)) == count, who


def test_rights_columns(eap_archive):
    """dataRights as the MAST columns and MastMissions compute them."""
    observation_rights = rights_expr(observation_release_expr())
    product_rights = rights_expr(product_release_expr())
    with eap_archive.engine.connect() as conn:
        observation_rows = conn.execute(
            select(observations.c.obs_id, observation_rights).where(
                observations.c.proposal_id.in_(SYNTHETIC)
            )
        )
        rows = {r[0]: r[1] for r in observation_rows}
        product_rows = conn.execute(
            select(products.c.fileSetName, product_rights).where(
                products.c.proposal_id.in_(SYNTHETIC)
            )
        )
        files = {r[0]: r[1] for r in product_rows}
    assert rows[EAP_OBS_ID] == EXCLUSIVE_ACCESS
    assert rows[PUBLIC_OBS_ID] == PUBLIC
    assert files == {EAP_OBS_ID: EXCLUSIVE_ACCESS, PUBLIC_OBS_ID: PUBLIC}


def test_rights_for_release_moment():
    assert rights_for(None) == EXCLUSIVE_ACCESS  # unknown release: default deny
    assert rights_for(float("nan")) == EXCLUSIVE_ACCESS
    assert rights_for(60000.0, at_mjd=59999.999) == EXCLUSIVE_ACCESS
    assert rights_for(60000.0, at_mjd=60000.0) == PUBLIC  # public at the release moment


def test_release_from_header_and_override(catalog_url, tmp_path):
    archive = build_eap_archive(catalog_url, tmp_path / "files")
    engine = archive.engine
    # Clearing the admin override: the header release (2020) applies -> public.
    accounts.set_release(engine, EAP_PROGRAM, None)
    assert _count(engine, products, visible_products(ANONYMOUS)) == 2
    # A header release in the future (no override) makes the product exclusive.
    with engine.begin() as conn:
        conn.execute(
            update(products)
            .where(products.c.proposal_id == EAP_PROGRAM)
            .values(publicReleaseDate_mjd=99_000.0)
        )
    assert _count(engine, products, visible_products(ANONYMOUS)) == 1
    # An override in the past is an early release: it wins over the header.
    accounts.set_release(engine, EAP_PROGRAM, 59_000.0)
    assert _count(engine, products, visible_products(ANONYMOUS)) == 2
    # Revoking a collaborator removes their access at once.
    accounts.set_release(engine, EAP_PROGRAM, 99_000.0)
    assert accounts.revoke(engine, EAP_PROGRAM, "collab")
    collab = accounts.user_for(engine, "collab")
    assert _count(engine, products, visible_products(collab)) == 1
    with pytest.raises(accounts.AccountError, match="is the PI"):
        accounts.revoke(engine, EAP_PROGRAM, "pi")
    engine.dispose()


def test_check_named_is_the_one_rule_for_hidden_or_missing():
    """A named thing: missing 404, exclusive 401 for the anonymous and 403 for
    others, readable passes; refusals name only what was asked."""
    from webbarchive.catalog.rights import User, check_named
    from webbarchive.errors import Forbidden, NotFound, Unauthorized

    future, past = 99999.0, 50000.0
    exclusive = {"proposal_id": "1039", "release_mjd": future, "target": "SECRET"}
    public = {"proposal_id": "1039", "release_mjd": past}
    pi = User(name="pi", programs=frozenset({"1039"}))
    stranger = User(name="stranger")
    with pytest.raises(NotFound, match="no such file"):
        check_named(pi, None, "x.fits", "no such file")
    with pytest.raises(Unauthorized) as anonymous:
        check_named(ANONYMOUS, exclusive, "x.fits")
    with pytest.raises(Forbidden) as other:
        check_named(stranger, exclusive, "x.fits")
    for refusal in (anonymous.value, other.value):
        assert "x.fits" in refusal.message
        assert "1039" not in refusal.message and "SECRET" not in refusal.message
    check_named(pi, exclusive, "x.fits")
    check_named(ANONYMOUS, public, "x.fits")
    check_named(User(name="root", admin=True), exclusive, "x.fits")
