"""Async TAP jobs are shared by every server process over one catalog (issue 16, item 3).

Two apps built with ``create_app`` over the same catalog stand for two workers
of ``webbarchive serve --workers 2``; a third, built after the first two are
closed, stands for the server after a restart. The independent truths: the
synchronous answer to the same ADQL, the files in the results folder, and the
404 an unknown job gets.
"""

from __future__ import annotations

import time
from contextlib import contextmanager

import pytest
from sqlalchemy import update

from tests.security.test_tap_jobs import (
    PUBLIC_QUERY,
    UNFINISHED,
    _create,
    _finish,
    _headers,
    _sync_csv,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@contextmanager
def _worker(eap_archive, results):
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    app = create_app(Settings.from_env(db_url=eap_archive.url, results_root=str(results)))
    app.state.rate_limiter = None
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _stored(eap_archive, results, job: str) -> bool:
    """Whether the results folder of this catalog holds ``job``'s result file."""
    from webbarchive.vo.uws import results_root

    return (results_root(eap_archive.engine, str(results)) / f"{job}.result").is_file()


def test_a_job_is_created_in_one_worker_and_read_and_deleted_in_another(eap_archive, tmp_path):
    pi = _headers(eap_archive, "pi")
    with _worker(eap_archive, tmp_path) as one, _worker(eap_archive, tmp_path) as two:
        truth = _sync_csv(one, PUBLIC_QUERY, pi)
        job = _create(one, pi, PUBLIC_QUERY, run=True)
        assert _finish(two, job, pi) == "COMPLETED"
        assert two.get(f"/tap/async/{job}/results/result", headers=pi).text == truth
        assert job in two.get("/tap/async", headers=pi).text
        assert _stored(eap_archive, tmp_path, job)
        # Only its owner reads it, whichever worker is asked.
        stranger = _headers(eap_archive, "stranger")
        assert two.get(f"/tap/async/{job}", headers=stranger).status_code == 404
        assert one.get(f"/tap/async/{job}/results/result", headers=stranger).status_code == 404
        # Deleted through the second, gone from the first, with its storage.
        assert two.delete(f"/tap/async/{job}", headers=pi).status_code in (200, 303)
        assert one.get(f"/tap/async/{job}", headers=pi).status_code == 404
        assert not _stored(eap_archive, tmp_path, job)


def test_a_job_is_aborted_run_and_changed_through_another_worker(eap_archive, tmp_path):
    pi = _headers(eap_archive, "pi")
    with _worker(eap_archive, tmp_path) as one, _worker(eap_archive, tmp_path) as two:
        aborted = _create(one, pi, PUBLIC_QUERY)
        two.post(f"/tap/async/{aborted}/phase", data={"PHASE": "ABORT"}, headers=pi)
        assert one.get(f"/tap/async/{aborted}/phase", headers=pi).text == "ABORTED"
        # Parameters and duration set through one worker are what the other runs with.
        job = _create(one, pi, "SELECT TOP 1 obs_id FROM ivoa.obscore")
        two.post(f"/tap/async/{job}/parameters", data={"QUERY": PUBLIC_QUERY}, headers=pi)
        two.post(
            f"/tap/async/{job}/executionduration", data={"EXECUTIONDURATION": "30"}, headers=pi
        )
        assert (
            PUBLIC_QUERY.split("'")[1] in one.get(f"/tap/async/{job}/parameters", headers=pi).text
        )
        assert one.get(f"/tap/async/{job}/executionduration", headers=pi).text == "30"
        two.post(f"/tap/async/{job}/phase", data={"PHASE": "RUN"}, headers=pi)
        assert _finish(one, job, pi) == "COMPLETED"
        truth = _sync_csv(one, PUBLIC_QUERY, pi)
        assert one.get(f"/tap/async/{job}/results/result", headers=pi).text == truth
        # UWS blocking (WAIT) in one worker sees a phase changed by the other.
        pending = _create(one, pi, PUBLIC_QUERY)
        two.post(f"/tap/async/{pending}/phase", data={"PHASE": "RUN"}, headers=pi)
        waited = one.get(f"/tap/async/{pending}", params={"WAIT": "10"}, headers=pi)
        assert "<uws:phase>PENDING</uws:phase>" not in waited.text


def test_a_job_survives_a_restart_and_its_destruction_frees_its_storage(eap_archive, tmp_path):
    anonymous = _headers(eap_archive, "anonymous")
    with _worker(eap_archive, tmp_path) as before:
        truth = _sync_csv(before, PUBLIC_QUERY, anonymous)
        job = _create(before, anonymous, PUBLIC_QUERY, run=True)
        assert _finish(before, job, anonymous) == "COMPLETED"
    with _worker(eap_archive, tmp_path) as after:
        assert after.get(f"/tap/async/{job}/phase").text == "COMPLETED"
        assert after.get(f"/tap/async/{job}/results/result").text == truth
        assert _stored(eap_archive, tmp_path, job)
        past = after.post(
            f"/tap/async/{job}/destruction",
            data={"DESTRUCTION": "2000-01-01"},
            follow_redirects=False,
        )
        assert past.status_code == 303
    with _worker(eap_archive, tmp_path) as later:
        assert later.get(f"/tap/async/{job}").status_code == 404
    assert not _stored(eap_archive, tmp_path, job)


def test_a_job_whose_worker_died_ends_in_error(eap_archive, tmp_path):
    """A job left EXECUTING by a process that is gone (kill -9) is marked ERROR
    once its execution duration has passed, never stuck EXECUTING."""
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import uws_jobs
    from webbarchive.vo import uws

    with _worker(eap_archive, tmp_path) as client:
        job = _create(client, {}, PUBLIC_QUERY)
        engine = open_catalog(eap_archive.url, create=False)
        long_ago = time.time() - uws.DEFAULT_EXECUTION_DURATION_S - uws.ORPHAN_GRACE_S - 5
        with engine.begin() as conn:  # what a worker killed while running leaves behind
            conn.execute(
                update(uws_jobs)
                .where(uws_jobs.c.job_id == job)
                .values(phase="EXECUTING", started=long_ago)
            )
        engine.dispose()
        assert client.get(f"/tap/async/{job}/phase").text == "ERROR"
        assert "stopped" in client.get(f"/tap/async/{job}/error").text
        fresh = _create(client, {}, PUBLIC_QUERY)
        assert client.get(f"/tap/async/{fresh}/phase").text in UNFINISHED


def _wait_up(base: str, proc) -> None:
    import urllib.request

    for _ in range(300):
        if proc.poll() is not None:
            pytest.fail(f"webbarchive serve exited with {proc.returncode}")
        try:
            urllib.request.urlopen(base + "/tap/availability", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("webbarchive serve did not start")


def _workers(proc) -> set[int]:
    """Process ids of the uvicorn workers under ``proc`` (the serve command)."""
    import psutil

    pids = set()
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "spawn_main" in " ".join(child.cmdline()):
                pids.add(child.pid)
        except psutil.Error:  # gone meanwhile
            pass
    return pids


def test_serve_with_two_workers_shares_jobs_and_a_killed_worker_loses_none(eap_archive, tmp_path):
    """``webbarchive serve --workers 2`` for real: two worker processes on one
    port; a job created through one request is read through fresh connections
    (either worker); after every worker is killed (kill -9) and uvicorn has
    started new ones, the job and its result are still there."""
    import os
    import signal
    import subprocess
    import sys

    import httpx

    from tests.live_server import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "WEBBARCHIVE_RATE_LIMITS": "off",
        "WEBBARCHIVE_RESULTS": str(tmp_path / "results"),
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    command = [sys.executable, "-m", "webbarchive", "serve", "--db", eap_archive.url]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(base, proc)
        first = _workers(proc)
        assert len(first) >= 2, first
        fields = {"LANG": "ADQL", "QUERY": PUBLIC_QUERY, "FORMAT": "csv", "PHASE": "RUN"}
        with httpx.Client(base_url=base) as client:
            truth = client.get("/tap/sync", params={k: fields[k] for k in fields if k != "PHASE"})
            created = client.post("/tap/async", data=fields, follow_redirects=False)
        assert created.status_code == 303
        job = created.headers["location"].rsplit("/", 1)[1]
        phases = []
        for _ in range(40):  # a new connection per request: any worker may answer
            phases.append(httpx.get(f"{base}/tap/async/{job}/phase").text)
            if phases[-1] == "COMPLETED" and len(phases) >= 10:
                break
            time.sleep(0.05)
        assert phases[-1] == "COMPLETED" and all(p in (*UNFINISHED, "COMPLETED") for p in phases)
        for pid in first:
            os.kill(pid, signal.SIGKILL)
        for _ in range(150):
            now = _workers(proc) - first
            if len(now) >= 2:
                break
            time.sleep(0.2)
        assert len(_workers(proc) - first) >= 2, "uvicorn did not replace the killed workers"
        _wait_up(base, proc)
        for _ in range(4):
            answer = httpx.get(f"{base}/tap/async/{job}/results/result")
            assert answer.status_code == 200 and answer.text == truth.text
        assert httpx.delete(f"{base}/tap/async/{job}").status_code in (200, 303)
        assert httpx.get(f"{base}/tap/async/{job}").status_code == 404
    finally:
        proc.terminate()
        proc.wait(timeout=20)
