"""The admin API: accounts, PI, collaborators (also by the PI), release override."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.auth.eap import EAP_FILE, EAP_PROGRAM, build_eap_archive
from webbarchive.api.app import create_app
from webbarchive.catalog import accounts
from webbarchive.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PROGRAM = f"/admin/api/v0.1/programs/{EAP_PROGRAM}"
DOWNLOAD = f"/api/v0.1/Download/file?uri=mast:JWST/product/{EAP_FILE}"


@pytest.fixture
def admin_client(tmp_path):
    archive = build_eap_archive(str(tmp_path / "catalog.db"), tmp_path / "files")
    app = create_app(Settings.from_env(db_url=archive.url))
    app.state.rate_limiter = None
    with TestClient(app) as client:
        yield client, {k: {"Authorization": f"token {v}"} for k, v in archive.tokens.items()}
    archive.engine.dispose()


def test_admin_manages_users_pi_and_release(admin_client):
    client, auth = admin_client
    made = client.post("/admin/api/v0.1/users", json={"name": "newbie"}, headers=auth["admin"])
    assert made.status_code == 200 and made.json()["name"] == "newbie"
    again = client.post("/admin/api/v0.1/users", json={"name": "newbie"}, headers=auth["admin"])
    assert again.status_code == 400 and "already exists" in again.json()["message"]
    users = client.get("/admin/api/v0.1/users", headers=auth["admin"]).json()
    assert {"name": "pi", "pi_of": [EAP_PROGRAM]}.items() <= next(
        u for u in users["users"] if u["name"] == "pi"
    ).items()

    # New PI: the old one loses access, the new one gains it.
    assert client.get(DOWNLOAD, headers=auth["stranger"]).status_code == 403
    moved = client.put(PROGRAM + "/pi", json={"user": "stranger"}, headers=auth["admin"])
    assert moved.json()["pi"] == "stranger"
    assert client.get(DOWNLOAD, headers=auth["stranger"]).status_code == 200
    assert client.get(DOWNLOAD, headers=auth["pi"]).status_code == 403
    unknown = client.put(PROGRAM + "/pi", json={"user": "ghost"}, headers=auth["admin"])
    assert unknown.status_code == 404

    # Release override: an early release makes the data public at once.
    assert client.get(DOWNLOAD).status_code == 401
    done = client.put(PROGRAM + "/release", json={"release": "2020-01-01"}, headers=auth["admin"])
    assert done.json()["release_override_mjd"] == 58849.0
    assert client.get(DOWNLOAD).status_code == 200
    client.put(PROGRAM + "/release", json={"release": None}, headers=auth["admin"])
    assert client.get(DOWNLOAD).status_code == 200  # header release (2020) applies again
    bad = client.put(PROGRAM + "/release", json={"release": "soon"}, headers=auth["admin"])
    assert bad.status_code == 400 and "ISO date" in bad.json()["message"]
    missing = client.put(
        "/admin/api/v0.1/programs/4242/release", json={"release": 1.0}, headers=auth["admin"]
    )
    assert missing.status_code == 404 and "ingest its files first" in missing.json()["message"]


def test_pi_grants_and_revokes_collaborators(admin_client):
    client, auth = admin_client
    assert client.get(DOWNLOAD, headers=auth["stranger"]).status_code == 403
    granted = client.post(PROGRAM + "/collaborators", json={"user": "stranger"}, headers=auth["pi"])
    assert "stranger" in granted.json()["collaborators"]
    assert client.get(DOWNLOAD, headers=auth["stranger"]).status_code == 200
    # A collaborator cannot grant others.
    refused = client.post(
        PROGRAM + "/collaborators", json={"user": "admin"}, headers=auth["collab"]
    )
    assert refused.status_code == 403 and "PI" in refused.json()["message"]
    gone = client.delete(PROGRAM + "/collaborators/stranger", headers=auth["pi"])
    assert gone.status_code == 200 and "stranger" not in gone.json()["collaborators"]
    assert client.get(DOWNLOAD, headers=auth["stranger"]).status_code == 403
    pi_revoked = client.delete(PROGRAM + "/collaborators/pi", headers=auth["admin"])
    assert pi_revoked.status_code == 400 and "set-pi" in pi_revoked.json()["message"]
    assert accounts.normalize_proposal_id("09999") == EAP_PROGRAM
    bad = client.get("/admin/api/v0.1/programs/abc", headers=auth["admin"])
    assert bad.status_code == 400 and "proposal number" in bad.json()["message"]
