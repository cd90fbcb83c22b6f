"""Async TAP jobs hold against an adversary: rights, privacy, caps.

What the review found (issue 12, item 5): a job captured its owner's rights
when it was created, so a collaborator revoked afterwards still ran a pending
job and read hidden rows, and still read the results of a job run before the
revocation; all anonymous clients shared one job list, so one listed, rewrote,
ran and deleted another's job; and nothing bounded how many jobs or how many
result bytes one client could leave in the server's memory.

The independent truths: what a stranger's synchronous query answers for the
same ADQL (the rows a user without rights may read), the EAP sentinels of
tests/auth/eap.py (strings that must never reach a user without rights), and
the PI's answer to the same job (which shows the probe reaches hidden rows).
"""

from __future__ import annotations

import re
import time
import uuid

import pytest

from tests.auth.eap import EAP_OBS_ID, EAP_PROGRAM, EAP_SENTINELS, PUBLIC_OBS_ID, PUBLIC_PROGRAM

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HIDDEN_QUERY = f"SELECT obs_id, target_name FROM ivoa.obscore WHERE proposal_id = '{EAP_PROGRAM}'"
PUBLIC_QUERY = f"SELECT obs_id FROM ivoa.obscore WHERE proposal_id = '{PUBLIC_PROGRAM}'"
UNFINISHED = ("PENDING", "QUEUED", "EXECUTING")


def _headers(archive, who: str) -> dict[str, str]:
    return {} if who == "anonymous" else {"Authorization": f"token {archive.tokens[who]}"}


def _create(client, headers: dict, query: str, run: bool = False) -> str:
    fields = {"LANG": "ADQL", "QUERY": query, "FORMAT": "csv"}
    if run:
        fields["PHASE"] = "RUN"
    created = client.post("/tap/async", data=fields, headers=headers, follow_redirects=False)
    assert created.status_code == 303, created.text
    return created.headers["location"].rstrip("/").rsplit("/", 1)[1]


def _finish(client, job: str, headers: dict) -> str:
    for _ in range(200):
        phase = client.get(f"/tap/async/{job}/phase", headers=headers).text
        if phase not in UNFINISHED:
            return phase
        time.sleep(0.05)
    raise AssertionError(f"job {job} still {phase}")


def _run(client, job: str, headers: dict) -> str:
    started = client.post(
        f"/tap/async/{job}/phase", data={"PHASE": "RUN"}, headers=headers, follow_redirects=False
    )
    assert started.status_code == 303, started.text
    return _finish(client, job, headers)


def _sync_csv(client, query: str, headers: dict) -> str:
    answer = client.get(
        "/tap/sync", params={"LANG": "ADQL", "QUERY": query, "FORMAT": "csv"}, headers=headers
    )
    assert answer.status_code == 200, answer.text
    return answer.text


def _assert_hides(text: str) -> None:
    for sentinel in EAP_SENTINELS:
        assert sentinel not in text, f"{sentinel!r} leaked: {text[:300]}"


@pytest.fixture
def collaborator(eap_archive):
    """A fresh collaborator of the EAP program (name, headers); the shared
    archive gains one user, who ends with no rights."""
    from webbarchive.catalog import accounts

    name = f"jobs{uuid.uuid4().hex[:10]}"
    accounts.add_user(eap_archive.engine, name)
    accounts.grant(eap_archive.engine, EAP_PROGRAM, name)
    token = accounts.create_token(eap_archive.engine, name, "jobs").token
    yield name, {"Authorization": f"token {token}"}
    accounts.revoke(eap_archive.engine, EAP_PROGRAM, name)


# --- rights: re-evaluated when a job runs and when its results are read ----------


def test_a_pending_job_runs_with_the_rights_of_run_time(eap_client, eap_archive, collaborator):
    from webbarchive.catalog import accounts

    name, headers = collaborator
    assert EAP_OBS_ID in _sync_csv(eap_client, HIDDEN_QUERY, headers)  # the grant works
    job = _create(eap_client, headers, HIDDEN_QUERY)
    accounts.revoke(eap_archive.engine, EAP_PROGRAM, name)
    assert _run(eap_client, job, headers) == "COMPLETED"
    result = eap_client.get(f"/tap/async/{job}/results/result", headers=headers)
    assert result.status_code == 200
    _assert_hides(result.text)
    # Exactly what a user without rights reads (the stranger, synchronously).
    stranger = _sync_csv(eap_client, HIDDEN_QUERY, _headers(eap_archive, "stranger"))
    assert result.text == stranger


def test_results_are_withheld_once_the_owner_loses_rights(eap_client, eap_archive, collaborator):
    from webbarchive.catalog import accounts

    name, headers = collaborator
    job = _create(eap_client, headers, HIDDEN_QUERY, run=True)
    assert _finish(eap_client, job, headers) == "COMPLETED"
    before = eap_client.get(f"/tap/async/{job}/results/result", headers=headers)
    assert before.status_code == 200 and EAP_OBS_ID in before.text  # the job reached the rows
    accounts.revoke(eap_archive.engine, EAP_PROGRAM, name)
    for _ in range(2):  # withheld on the first read and on every later one
        after = eap_client.get(f"/tap/async/{job}/results/result", headers=headers)
        assert after.status_code == 403
        assert b'value="ERROR"' in after.content
        assert "rights" in after.text and "again" in after.text
        _assert_hides(after.text)
    for leaf in ("", "/results", "/error", "/parameters", "/phase"):
        answer = eap_client.get(f"/tap/async/{job}{leaf}", headers=headers)
        _assert_hides(answer.text)
        assert "results/result" not in answer.text
    # Granted again, the withdrawn results stay withdrawn: a new job reads afresh.
    accounts.grant(eap_archive.engine, EAP_PROGRAM, name)
    assert eap_client.get(f"/tap/async/{job}/results/result", headers=headers).status_code == 403


def test_results_are_withheld_when_an_admin_hides_a_program_again(eap_client, eap_archive):
    """Rights change for anonymous owners too: a program made exclusive again."""
    from webbarchive.catalog import accounts

    job = _create(eap_client, {}, PUBLIC_QUERY, run=True)
    assert _finish(eap_client, job, {}) == "COMPLETED"
    assert PUBLIC_OBS_ID in eap_client.get(f"/tap/async/{job}/results/result").text
    was = accounts.program_access(eap_archive.engine, PUBLIC_PROGRAM)["release_override_mjd"]
    accounts.set_release(eap_archive.engine, PUBLIC_PROGRAM, 99_999.0)
    try:
        hidden = eap_client.get(f"/tap/async/{job}/results/result")
        assert hidden.status_code == 403 and PUBLIC_OBS_ID not in hidden.text
    finally:
        accounts.set_release(eap_archive.engine, PUBLIC_PROGRAM, was)


def test_unchanged_rights_still_read_their_results(eap_client, eap_archive):
    headers = _headers(eap_archive, "pi")
    job = _create(eap_client, headers, HIDDEN_QUERY, run=True)
    assert _finish(eap_client, job, headers) == "COMPLETED"
    for _ in range(2):
        result = eap_client.get(f"/tap/async/{job}/results/result", headers=headers)
        assert result.status_code == 200 and EAP_OBS_ID in result.text
    assert result.text == _sync_csv(eap_client, HIDDEN_QUERY, headers)


# --- privacy: anonymous jobs reachable only by their unguessable id ----------------


def test_anonymous_callers_never_see_a_job_list(eap_client):
    mine = _create(eap_client, {}, PUBLIC_QUERY)
    listing = eap_client.get("/tap/async")
    assert listing.status_code == 200
    assert mine not in listing.text
    assert "<uws:jobref" not in listing.text


def test_job_ids_are_unguessable(eap_client):
    ids = {_create(eap_client, {}, PUBLIC_QUERY) for _ in range(5)}
    assert len(ids) == 5
    for job in ids:
        # At least 128 random bits: 22 or more URL-safe base64 characters.
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", job), job


def _tamper(client, job: str, headers: dict) -> list[int]:
    """Everything a client can try on ``job``: read, rewrite, run, delete."""
    base = f"/tap/async/{job}"
    answers = [
        client.get(base, headers=headers),
        client.get(base + "/parameters", headers=headers),
        client.get(base + "/results/result", headers=headers),
        client.post(base + "/parameters", data={"QUERY": "SELECT 1"}, headers=headers),
        client.post(base + "/destruction", data={"DESTRUCTION": "2000-01-01"}, headers=headers),
        client.post(base + "/phase", data={"PHASE": "RUN"}, headers=headers),
        client.post(base, data={"ACTION": "DELETE"}, headers=headers),
        client.delete(base, headers=headers),
    ]
    for answer in answers:
        _assert_hides(answer.text)
    return [a.status_code for a in answers]


def _unchanged(client, job: str, headers: dict, query: str) -> None:
    phase = client.get(f"/tap/async/{job}/phase", headers=headers)
    assert phase.status_code == 200 and phase.text == "PENDING"
    params = client.get(f"/tap/async/{job}/parameters", headers=headers).text
    assert "SELECT 1" not in params and "proposal_id" in params
    assert query.split("'")[1] in params


def test_another_anonymous_client_cannot_reach_a_job_it_was_not_given(eap_client):
    job = _create(eap_client, {}, PUBLIC_QUERY)
    listed = re.findall(r'jobref id="([^"]+)"', eap_client.get("/tap/async").text)
    for other in listed:  # everything another anonymous client can learn, it tries
        _tamper(eap_client, other, {})
    _unchanged(eap_client, job, {}, PUBLIC_QUERY)


@pytest.mark.parametrize("who", ["anonymous", "stranger", "collab"])
def test_others_cannot_touch_a_users_job(eap_client, eap_archive, who):
    owner = _headers(eap_archive, "pi")
    job = _create(eap_client, owner, HIDDEN_QUERY)
    headers = _headers(eap_archive, who)
    assert job not in eap_client.get("/tap/async", headers=headers).text
    assert set(_tamper(eap_client, job, headers)) == {404}
    _unchanged(eap_client, job, owner, HIDDEN_QUERY)
    assert job in eap_client.get("/tap/async", headers=owner).text


def test_users_cannot_touch_an_anonymous_job(eap_client, eap_archive):
    job = _create(eap_client, {}, PUBLIC_QUERY)
    for who in ("stranger", "pi"):
        assert set(_tamper(eap_client, job, _headers(eap_archive, who))) == {404}
    _unchanged(eap_client, job, {}, PUBLIC_QUERY)


# --- caps: jobs per identity, stored results, expired jobs purged ------------------


def _capped_client(eap_archive, **settings):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    _forget_jobs(eap_archive)
    app = create_app(Settings.from_env(db_url=eap_archive.url, **settings))
    app.state.rate_limiter = None
    return TestClient(app, raise_server_exceptions=False)


def _forget_jobs(eap_archive) -> None:
    """Jobs live in the (session-wide) catalog: a cap test starts from none."""
    from sqlalchemy import delete

    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import uws_jobs

    engine = open_catalog(eap_archive.url, create=False)
    with engine.begin() as conn:
        conn.execute(delete(uws_jobs))
    engine.dispose()


def test_active_jobs_per_identity_are_capped(eap_archive):
    with _capped_client(eap_archive, uws_max_active_jobs=3) as client:
        for who in ("stranger", "anonymous"):
            headers = _headers(eap_archive, who)
            jobs = [_create(client, headers, PUBLIC_QUERY) for _ in range(3)]
            refused = client.post(
                "/tap/async", data={"LANG": "ADQL", "QUERY": PUBLIC_QUERY}, headers=headers
            )
            assert refused.status_code == 429
            assert b'value="ERROR"' in refused.content and "3" in refused.text
            # A finished job no longer counts; a deleted one frees its place.
            assert _run(client, jobs[0], headers) == "COMPLETED"
            _create(client, headers, PUBLIC_QUERY)
            assert client.delete(f"/tap/async/{jobs[1]}", headers=headers).status_code in (
                200,
                303,
            )
            _create(client, headers, PUBLIC_QUERY)
        # The caps of one identity do not touch another's.
        _create(client, _headers(eap_archive, "pi"), PUBLIC_QUERY)


def test_stored_jobs_per_identity_are_capped(eap_archive):
    with _capped_client(eap_archive, uws_max_jobs=2) as client:
        headers = _headers(eap_archive, "stranger")
        for _ in range(2):
            assert _finish(client, _create(client, headers, PUBLIC_QUERY, run=True), headers)
        refused = client.post(
            "/tap/async", data={"LANG": "ADQL", "QUERY": PUBLIC_QUERY}, headers=headers
        )
        assert refused.status_code == 429 and b'value="ERROR"' in refused.content
        _create(client, _headers(eap_archive, "pi"), PUBLIC_QUERY)


def _result_size(client, query: str) -> int:
    return len(_sync_csv(client, query, {}).encode())


def test_stored_results_are_capped_and_freed(eap_archive, eap_client):
    query = "SELECT TOP 3 obs_id, target_name FROM ivoa.obscore ORDER BY obs_id"
    size = _result_size(eap_client, query)
    with _capped_client(eap_archive, uws_results_mb=1.5 * size / 1e6) as client:
        first = _create(client, {}, query, run=True)
        assert _finish(client, first, {}) == "COMPLETED"
        assert len(client.get(f"/tap/async/{first}/results/result").content) == size
        full = _create(client, {}, query, run=True)
        assert _finish(client, full, {}) == "ERROR"
        error = client.get(f"/tap/async/{full}/error").text
        assert "results" in error and "MB" in error
        # A result that fits still completes (COUNT is a few bytes).
        small = _create(client, {}, "SELECT COUNT(*) AS n FROM ivoa.obscore", run=True)
        assert _finish(client, small, {}) == "COMPLETED"
        # Deleting the first frees its bytes...
        client.delete(f"/tap/async/{first}")
        again = _create(client, {}, query, run=True)
        assert _finish(client, again, {}) == "COMPLETED"
        # ... and so does its destruction time passing (purged on the next access).
        past = client.post(
            f"/tap/async/{again}/destruction",
            data={"DESTRUCTION": "2000-01-01"},
            follow_redirects=False,
        )
        assert past.status_code == 303
        assert client.get(f"/tap/async/{again}").status_code == 404
        last = _create(client, {}, query, run=True)
        assert _finish(client, last, {}) == "COMPLETED"


def test_stored_results_per_identity_are_capped(eap_archive, eap_client):
    query = "SELECT TOP 3 obs_id, target_name FROM ivoa.obscore ORDER BY obs_id"
    size = _result_size(eap_client, query)
    with _capped_client(eap_archive, uws_results_mb_per_owner=1.5 * size / 1e6) as client:
        stranger = _headers(eap_archive, "stranger")
        done = _create(client, stranger, query, run=True)
        assert _finish(client, done, stranger) == "COMPLETED"
        refused = _create(client, stranger, query, run=True)
        assert _finish(client, refused, stranger) == "ERROR"
        # Another identity still has its share.
        pi = _headers(eap_archive, "pi")
        assert _finish(client, _create(client, pi, query, run=True), pi) == "COMPLETED"


def test_bad_cap_settings_are_refused():
    from webbarchive.config import SettingError, Settings

    with pytest.raises(SettingError, match="UWS_MAX_ACTIVE_JOBS"):
        Settings.from_env({"WEBBARCHIVE_UWS_MAX_ACTIVE_JOBS": "many"})
