"""Tokens: hashing, expiry (MAST's 10 days unused / 60 days old), the three
ways to send one, the token API, and /whoami as astroquery reads it."""

from __future__ import annotations

import hashlib

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import inspect, select, text

from webbarchive.api.app import create_app
from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.config import Settings

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

T0 = 61000.0  # MJD 2025-11-19; every clock below is injected
MINUTE = 1.0 / 1440.0


@pytest.fixture
def engine(tmp_path):
    engine = open_catalog(str(tmp_path / "catalog.db"))
    accounts.add_user(engine, "jdoe", display_name="Jane Doe", email="jdoe@example.org")
    yield engine
    engine.dispose()


def _status(engine, token, at):
    try:
        accounts.resolve_token(engine, token, now_mjd=at)
    except accounts.TokenRejected as rejected:
        return rejected.reason
    return "active"


def test_unused_token_expires_after_ten_days(engine):
    token = accounts.create_token(engine, "jdoe", "laptop", now_mjd=T0).token
    assert _status(engine, token, T0 + 9.99) == "active"
    # That use moved the inactivity limit to T0 + 19.99.
    assert _status(engine, token, T0 + 19.98) == "active"
    assert _status(engine, token, T0 + 29.99) == "inactive"


def test_never_used_token_expires_ten_days_after_creation(engine):
    token = accounts.create_token(engine, "jdoe", "laptop", now_mjd=T0).token
    assert _status(engine, token, T0 + 10.0 + MINUTE) == "inactive"


def test_busy_token_expires_sixty_days_after_creation(engine):
    token = accounts.create_token(engine, "jdoe", "laptop", now_mjd=T0).token
    for day in range(5, 60, 5):
        assert _status(engine, token, T0 + day) == "active", day
    assert _status(engine, token, T0 + 59.99) == "active"
    assert _status(engine, token, T0 + 60.0) == "lifetime"


def test_when_both_limits_passed_the_first_reached_is_reported(engine):
    idle = accounts.create_token(engine, "jdoe", "idle", now_mjd=T0).token
    busy = accounts.create_token(engine, "jdoe", "busy", now_mjd=T0).token
    for day in range(9, 60, 9):  # used every 9 days, last on day 54
        accounts.resolve_token(engine, busy, now_mjd=T0 + day)
    # On day 70 both limits have passed for both tokens.
    assert _status(engine, busy, T0 + 70) == "lifetime"  # day 60 before day 64
    assert _status(engine, idle, T0 + 70) == "inactive"  # day 10 before day 60


def test_error_messages_say_which_limit(engine):
    token = accounts.create_token(engine, "jdoe", "laptop", now_mjd=T0).token
    with pytest.raises(accounts.TokenRejected, match="unused for 10 days"):
        accounts.resolve_token(engine, token, now_mjd=T0 + 11)
    busy = accounts.create_token(engine, "jdoe", "busy", now_mjd=T0).token
    for day in range(9, 60, 9):
        accounts.resolve_token(engine, busy, now_mjd=T0 + day)
    with pytest.raises(accounts.TokenRejected, match="older than 60 days"):
        accounts.resolve_token(engine, busy, now_mjd=T0 + 61)
    with pytest.raises(accounts.TokenRejected, match="unknown"):
        accounts.resolve_token(engine, "not-a-token", now_mjd=T0)


def test_revoked_token_is_refused_and_revoking_is_per_owner(engine):
    accounts.add_user(engine, "other")
    new = accounts.create_token(engine, "jdoe", "laptop", now_mjd=T0)
    assert not accounts.revoke_token(engine, "other", new.token_id)  # not theirs
    assert _status(engine, new.token, T0 + 1) == "active"
    assert accounts.revoke_token(engine, "jdoe", new.token_id, now_mjd=T0 + 2)
    assert _status(engine, new.token, T0 + 3) == "revoked"
    [listed] = accounts.list_tokens(engine, "jdoe", now_mjd=T0 + 3)
    assert listed["status"] == "revoked" and listed["revoked_mjd"] == T0 + 2


def test_last_use_is_written_at_most_once_a_minute(engine):
    new = accounts.create_token(engine, "jdoe", "laptop", now_mjd=T0)

    def last_used():
        with engine.connect() as conn:
            return conn.execute(
                select(accounts.tokens.c.last_used_mjd).where(
                    accounts.tokens.c.token_id == new.token_id
                )
            ).scalar()

    accounts.resolve_token(engine, new.token, now_mjd=T0 + 1)
    assert last_used() == T0 + 1
    accounts.resolve_token(engine, new.token, now_mjd=T0 + 1 + 30 / 86400)
    assert last_used() == T0 + 1  # 30 s later: no write
    accounts.resolve_token(engine, new.token, now_mjd=T0 + 1 + 61 / 86400)
    assert last_used() == pytest.approx(T0 + 1 + 61 / 86400)


def test_tokens_are_long_random_and_distinct(engine):
    made = {accounts.create_token(engine, "jdoe", f"t{i}").token for i in range(20)}
    assert len(made) == 20
    assert all(len(t) >= 40 for t in made)  # 256 bits, base64url


def test_no_plaintext_token_in_the_database(catalog_url):
    """Scan every text cell of every table: only SHA-256 digests are stored."""
    engine = open_catalog(catalog_url)
    accounts.add_user(engine, "jdoe")
    made = [accounts.create_token(engine, "jdoe", f"t{i}") for i in range(3)]
    accounts.resolve_token(engine, made[0].token)
    cells = []
    with engine.connect() as conn:
        for table in inspect(engine).get_table_names():
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                cells.extend(str(value) for value in row)
        digests = set(conn.execute(select(accounts.tokens.c.token_sha256)).scalars())
    dump = "\n".join(cells)
    for new in made:
        assert new.token not in dump
        assert new.token[:16] not in dump
    assert digests == {hashlib.sha256(m.token.encode()).hexdigest() for m in made}
    engine.dispose()


# --- over HTTP -------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path):
    url = str(tmp_path / "catalog.db")
    engine = open_catalog(url)
    accounts.add_user(engine, "jdoe", display_name="Jane Doe", first_name="Jane", last_name="Doe")
    accounts.set_pi(engine, "1039", "jdoe")
    app = create_app(Settings.from_env(db_url=url))
    app.state.rate_limiter = None
    with TestClient(app) as test_client:
        test_client.engine = engine
        yield test_client
    engine.dispose()


@pytest.mark.parametrize(
    "send",
    [
        lambda t: {"headers": {"Authorization": f"token {t}"}},
        lambda t: {"headers": {"Authorization": f"Bearer {t}"}},
        lambda t: {"headers": {"Authorization": f"bearer {t}"}},
        lambda t: {"headers": {"Cookie": f"mast_token={t}"}},
    ],
    ids=["token", "Bearer", "bearer", "cookie"],
)
def test_whoami_accepts_each_token_form(client, send):
    token = accounts.create_token(client.engine, "jdoe", "laptop").token
    body = client.get("/whoami", **send(token)).json()
    assert body["anon"] is False
    assert body["attrib"]["display_name"] == "Jane Doe"
    assert body["attrib"]["first_name"] == "Jane"
    assert body["attrib"]["exclusive_access_programs"] == ["1039"]
    assert body["token"] == token
    assert body["scopes"] == ["mast:user:info", "mast:exclusive_access"]
    # MAST's keys (reference mast-wire-formats.md section 5), all present.
    assert {"eppn", "ezid", "anon", "attrib", "scopes", "session", "token"} <= set(body)
    assert {
        "uuid",
        "first_name",
        "last_name",
        "display_name",
        "internal",
        "email",
        "Jwstcalengdataaccess",
    } <= set(body["attrib"])


def test_whoami_anonymous_and_bad_tokens(client):
    assert client.get("/whoami").json()["anon"] is True
    body = client.get("/whoami", headers={"Authorization": "token nope"}).json()
    assert body["anon"] is True and body["reason"] == "unknown"


def test_expired_token_is_401_saying_why(client):
    old = accounts.create_token(client.engine, "jdoe", "old", now_mjd=T0).token
    client.app.state.clock_mjd = lambda: T0 + 11
    try:
        response = client.get("/auth/api/v0.1/tokens", headers={"Authorization": f"token {old}"})
        whoami = client.get("/whoami", headers={"Authorization": f"token {old}"}).json()
    finally:
        client.app.state.clock_mjd = None
    assert response.status_code == 401
    assert "unused for 10 days" in response.json()["message"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert whoami["anon"] is True and whoami["reason"] == "inactive"


def test_unsupported_authorization_scheme_is_401_with_accepted_forms(client):
    response = client.get("/auth/api/v0.1/tokens", headers={"Authorization": "Basic abc"})
    assert response.status_code == 401
    assert "Authorization: Bearer <token>" in response.json()["accepted"]
    empty = client.get("/auth/api/v0.1/tokens", headers={"Authorization": "token "})
    assert empty.status_code == 401 and "no token" in empty.json()["message"]


def test_token_api_create_list_revoke(client):
    first = accounts.create_token(client.engine, "jdoe", "cli").token
    auth = {"Authorization": f"Bearer {first}"}
    assert client.post("/auth/api/v0.1/tokens", json={"name": "x"}).status_code == 401
    made = client.post("/auth/api/v0.1/tokens", json={"name": "notebook"}, headers=auth).json()
    assert made["name"] == "notebook" and len(made["token"]) >= 40
    assert made["expires_mjd"] == pytest.approx(made["created_mjd"] + 10)
    listed = client.get("/auth/api/v0.1/tokens", headers=auth).json()
    assert [t["name"] for t in listed["tokens"]] == ["cli", "notebook"]
    assert made["token"] not in str(listed) and "sha256" not in str(listed)
    new_auth = {"Authorization": f"token {made['token']}"}
    assert client.get("/whoami", headers=new_auth).json()["anon"] is False
    gone = client.delete(f"/auth/api/v0.1/tokens/{made['token_id']}", headers=auth)
    assert gone.status_code == 200
    assert client.get("/auth/api/v0.1/tokens", headers=new_auth).status_code == 401
    assert client.delete("/auth/api/v0.1/tokens/999", headers=auth).status_code == 404
    bad = client.post("/auth/api/v0.1/tokens", json={"name": "x", "scopes": ["root"]}, headers=auth)
    assert bad.status_code == 400 and "mast:exclusive_access" in bad.json()["accepted"]


class _SessionOverTestClient:
    """Just enough of requests.Session for astroquery's MastAuth."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.headers: dict[str, str] = {}
        self.cookies: dict[str, str] = {}

    def request(self, method: str, url: str):
        return self.client.request(method, url, headers=self.headers, cookies=self.cookies)


def test_astroquery_login_and_session_info(client):
    """astroquery 0.4.11's own MastAuth code logs in against /whoami."""
    from astroquery.exceptions import LoginError
    from astroquery.mast.auth import MastAuth

    token = accounts.create_token(client.engine, "jdoe", "Astroquery").token
    auth = MastAuth(_SessionOverTestClient(client))
    auth.SESSION_INFO_URL = "/whoami"
    assert auth.login(token) is True
    assert auth.session_info()["attrib"]["display_name"] == "Jane Doe"
    bad = MastAuth(_SessionOverTestClient(client))
    bad.SESSION_INFO_URL = "/whoami"
    with pytest.raises(LoginError):
        bad.login("not-a-token")
