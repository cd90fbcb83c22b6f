"""UWS 1.1 jobs for async TAP, kept in the catalog, and a small worker pool.

Jobs are rows of :data:`webbarchive.catalog.schema.uws_jobs` and their results
files in the results folder (:func:`results_root`: ``<file>.db.results/``
beside a SQLite catalog, ``WEBBARCHIVE_RESULTS/<host>_<port>_<db>/`` for
PostgreSQL), so every server process over one catalog sees the same jobs: a
job created through one worker is read, aborted and deleted through another,
and survives a restart. A job runs in the process that started it; every
phase change is a conditional UPDATE (``... WHERE phase = 'EXECUTING'``), so
an abort or a delete from another process wins over a runner finishing, whose
result is then discarded. A job left QUEUED or EXECUTING by a process that
died (killed, restarted) is marked ERROR as soon as a process on the same host
looks at it or starts (:mod:`webbarchive.catalog.job_runners` names each job's
runner), else once its execution duration (plus a grace) has passed.
A job is destroyed, with its result file, at its destruction time.

Interoperability rules learnt the hard way (see the VO reference):
``PHASE=RUN`` is honoured at creation, the primary result is named
``result``, and every required UWS element (``ownerId``, ``quote``,
``startTime``, ``endTime``, ``destruction`` nillable) is always written.

Who may do what (issue 12):

- A job records its owner's identity (a user name, or None for anonymous),
  never their rights. The runner loads the owner's rights from the catalog
  when the job runs and stores a fingerprint of them
  (:func:`webbarchive.catalog.rights.rights_fingerprint`) with the result; the
  web layer withdraws the result when the fingerprint has changed by the time
  it is read (:meth:`JobStore.withdraw`).
- Job ids are 192 random bits (:func:`secrets.token_urlsafe`). A logged-in
  user reaches and lists only their own jobs. An anonymous job is reachable
  by whoever holds its id, which only its creator is given (the ``Location``
  of the creation answer): anonymous callers have no job list, since nothing
  tells one anonymous client from another. No cookie is needed, so scripts
  and clients that keep none (TOPCAT, plain ``requests``) work unchanged.
- :class:`Caps` bound what one identity (a user, or one client address for
  anonymous callers) may hold: unfinished jobs, jobs in any phase, and result
  bytes; and what all jobs hold together. Expired jobs are purged, with their
  results, on every access to the store.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from sqlalchemy import Engine, delete, func, insert, select, update

from webbarchive.catalog import job_runners
from webbarchive.catalog.job_runners import uws_runners
from webbarchive.catalog.schema import uws_jobs
from webbarchive.storage.beside_catalog import store_folder

PENDING, QUEUED, EXECUTING, COMPLETED, ERROR, ABORTED = (
    "PENDING",
    "QUEUED",
    "EXECUTING",
    "COMPLETED",
    "ERROR",
    "ABORTED",
)
UNFINISHED = (PENDING, QUEUED, EXECUTING)
DEFAULT_EXECUTION_DURATION_S = 600
MAX_EXECUTION_DURATION_S = 3600
DEFAULT_LIFETIME_S = 86400 * 3
#: Seconds past its execution duration after which a QUEUED or EXECUTING job
#: whose process is gone is marked ERROR (a live runner ends it before: the
#: query's own time limit is shorter than the execution duration).
ORPHAN_GRACE_S = 60
JOB_ID_BYTES = 24  # 192 random bits, 32 URL-safe characters
MB = 10**6
#: Seconds between two looks at the catalog while a client blocks (UWS WAIT).
WAIT_POLL_S = 0.1
#: Seconds between two purges by one process (a purge is a write transaction;
#: reads skip expired jobs meanwhile, so none is ever served past its time).
PURGE_EVERY_S = 1.0
ORPHANED = "the server process running this job stopped before it ended; submit the query again"


def isoformat(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def results_root(engine: Engine, base: str) -> Path:
    """Folder of the async job results of the catalog behind ``engine``:
    beside a SQLite file, else under ``base`` (``WEBBARCHIVE_RESULTS``; an
    in-memory SQLite catalog's too)."""
    return store_folder(engine, "results", base, scratch=True)


@dataclass(frozen=True)
class Caps:
    """Bounds on the store; per identity means per ``Job.quota_key``."""

    max_active_jobs: int = 20  # unfinished jobs per identity
    max_jobs: int = 200  # jobs in any phase per identity
    results_bytes: int = 1024 * MB  # all stored results together
    results_bytes_per_owner: int = 256 * MB  # stored results per identity


class JobLimit(Exception):
    """A job that one of the :class:`Caps` refuses; the message says which and
    what to do."""


@dataclass
class Job:
    """One row of ``uws_jobs`` as read at one moment (re-read it to see changes)."""

    job_id: str
    owner: str | None  # user name; None for anonymous (reachable by id only)
    parameters: dict[str, str]
    quota_key: str = ""  # who the caps count this job against
    phase: str = PENDING
    created: float = field(default_factory=time.time)
    started: float | None = None
    ended: float | None = None
    execution_duration: int = DEFAULT_EXECUTION_DURATION_S
    destruction: float = field(default_factory=lambda: time.time() + DEFAULT_LIFETIME_S)
    result_path: str | None = None  # relative to the results folder
    result_size: int | None = None  # bytes
    result_mime: str = "application/x-votable+xml"
    error: str | None = None
    run_id: str | None = None
    base_url: str | None = None
    #: What the runner needs besides the row (uploads, the heavy-query gate);
    #: held by the process that received it only, never rights.
    context: object = None
    #: Fingerprint of the owner's rights the runner used (set by the runner).
    rights: str | None = None
    #: True once the result was withdrawn because the owner's rights changed.
    withdrawn: bool = False

    @property
    def error_document(self) -> bytes | None:
        """The ERROR VOTable of a failed job."""
        if self.phase != ERROR or self.error is None:
            return None
        from webbarchive.vo.formats import error_votable

        return error_votable(self.error)


def _overdue(job: Job) -> bool:
    """Whether an unfinished job has outlived its execution duration and grace."""
    begun = job.started if job.started is not None else job.created
    return begun + job.execution_duration + ORPHAN_GRACE_S < time.time()


def _job(row) -> Job:
    return Job(
        job_id=row.job_id,
        owner=row.owner,
        parameters=json.loads(row.parameters),
        quota_key=row.quota_key,
        phase=row.phase,
        created=row.created,
        started=row.started,
        ended=row.ended,
        execution_duration=row.execution_duration,
        destruction=row.destruction,
        result_path=row.result_path,
        result_size=row.result_size,
        result_mime=row.result_mime or "application/x-votable+xml",
        error=row.error,
        run_id=row.run_id,
        base_url=row.base_url,
        rights=row.rights,
        withdrawn=bool(row.withdrawn),
    )


class JobStore:
    """Jobs by id in the catalog, their results in ``root``, and the pool that
    runs the jobs this process starts."""

    def __init__(
        self, engine: Engine, root: Path, workers: int = 2, caps: Caps | None = None
    ) -> None:
        self.engine = engine
        self.root = Path(root)
        self.caps = caps or Caps()
        self._contexts: dict[str, object] = {}  # job id -> context, this process's jobs
        self._lock = threading.Lock()
        self._purged = 0.0  # time.monotonic() of the last purge
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="uws")
        self.recover()  # jobs a killed process of this host left unfinished

    def recover(self, job_id: str | None = None) -> int:
        """Mark ERROR the unfinished jobs (or job ``job_id``) whose runner on this
        host is gone; the number marked."""
        query = select(uws_runners).join(uws_jobs, uws_jobs.c.job_id == uws_runners.c.job_id)
        query = query.where(
            uws_jobs.c.phase.in_((QUEUED, EXECUTING)), uws_runners.c.host == job_runners.host()
        )
        if job_id is not None:
            query = query.where(uws_runners.c.job_id == job_id)
        with self.engine.connect() as conn:
            runners = conn.execute(query).all()
        gone = [r.job_id for r in runners if job_runners.is_gone(r.host, r.pid, r.pid_start)]
        if not gone:
            return 0
        with self.engine.begin() as conn:
            marked = conn.execute(
                update(uws_jobs)
                .where(uws_jobs.c.job_id.in_(gone), uws_jobs.c.phase.in_((QUEUED, EXECUTING)))
                .values(phase=ERROR, error=ORPHANED, ended=time.time())
            ).rowcount
            conn.execute(delete(uws_runners).where(uws_runners.c.job_id.in_(gone)))
        return marked

    # --- reading ------------------------------------------------------------

    def _with_context(self, job: Job) -> Job:
        with self._lock:
            job.context = self._contexts.get(job.job_id)
        return job

    def get(self, job_id: str) -> Job | None:
        self._purge()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(uws_jobs).where(
                    uws_jobs.c.job_id == job_id, uws_jobs.c.destruction >= time.time()
                )
            ).first()
        if row is None:
            return None
        job = _job(row)
        if job.phase in (QUEUED, EXECUTING) and (_overdue(job) or self.recover(job_id)):
            self._purge(force=True)  # its process is gone: ERROR now, not at the next purge
            return self.get(job_id)
        return self._with_context(job)

    def list(self, owner: str | None) -> list[Job]:
        """The jobs of logged-in ``owner``; none for anonymous callers (see module doc)."""
        if owner is None:
            return []
        self._purge()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(uws_jobs)
                .where(uws_jobs.c.owner == owner, uws_jobs.c.destruction >= time.time())
                .order_by(uws_jobs.c.created)
            ).all()
        return [_job(r) for r in rows]

    def result_file(self, job: Job) -> Path | None:
        """The file holding a completed job's result, or None."""
        if job.phase != COMPLETED or job.result_path is None:
            return None
        path = self.root / job.result_path
        return path if path.is_file() else None

    def results_bytes(self, quota_key: str | None = None) -> int:
        """Bytes of stored results (of ``quota_key``'s jobs, or of all)."""
        with self.engine.connect() as conn:
            return self._results_bytes(conn, quota_key)

    @staticmethod
    def _results_bytes(conn, quota_key: str | None = None) -> int:
        query = select(func.coalesce(func.sum(uws_jobs.c.result_size), 0)).where(
            uws_jobs.c.result_path.is_not(None)
        )
        if quota_key is not None:
            query = query.where(uws_jobs.c.quota_key == quota_key)
        return int(conn.execute(query).scalar_one())

    # --- changing -----------------------------------------------------------

    def create(
        self, owner: str | None, quota_key: str, parameters: dict[str, str], context: object
    ) -> Job:
        """A new PENDING job; :class:`JobLimit` when ``quota_key`` holds too many."""
        job = Job(secrets.token_urlsafe(JOB_ID_BYTES), owner, parameters, quota_key=quota_key)
        job.run_id = parameters.get("RUNID")
        if isinstance(context, dict):
            job.base_url = context.get("base_url")
        self._purge(force=True)
        with self.engine.begin() as conn:
            held = conn.execute(
                select(uws_jobs.c.phase).where(uws_jobs.c.quota_key == quota_key)
            ).all()
            active = sum(r.phase in UNFINISHED for r in held)
            if active >= self.caps.max_active_jobs:
                raise JobLimit(
                    f"you already hold {active} unfinished async jobs, the most this archive "
                    f"allows ({self.caps.max_active_jobs}); wait for them to finish or delete "
                    "some (DELETE /tap/async/<job id>)"
                )
            if len(held) >= self.caps.max_jobs:
                raise JobLimit(
                    f"you already hold {len(held)} async jobs, the most this archive allows "
                    f"({self.caps.max_jobs}); delete finished ones (DELETE /tap/async/<job id>) "
                    "or wait for their destruction time"
                )
            conn.execute(
                insert(uws_jobs).values(
                    job_id=job.job_id,
                    owner=owner,
                    quota_key=quota_key,
                    phase=PENDING,
                    run_id=job.run_id,
                    parameters=json.dumps(parameters),
                    base_url=job.base_url,
                    created=job.created,
                    execution_duration=job.execution_duration,
                    destruction=job.destruction,
                    withdrawn=False,
                )
            )
        with self._lock:
            self._contexts[job.job_id] = context
        job.context = context
        return job

    def _set(self, job: Job, *, phases: tuple[str, ...] | None = None, **values) -> bool:
        """Write ``values`` to the job's row (only while its phase is one of
        ``phases``, when given) and to ``job``; False when nothing changed."""
        stmt = update(uws_jobs).where(uws_jobs.c.job_id == job.job_id)
        if phases is not None:
            stmt = stmt.where(uws_jobs.c.phase.in_(phases))
        if "parameters" in values:
            values = {**values, "parameters": json.dumps(values["parameters"])}
        with self.engine.begin() as conn:
            changed = conn.execute(stmt.values(**values)).rowcount == 1
        if changed:
            for key, value in values.items():
                setattr(job, key, json.loads(value) if key == "parameters" else value)
        return changed

    def set_execution_duration(self, job: Job, seconds: int) -> None:
        self._set(job, execution_duration=seconds)

    def set_destruction(self, job: Job, when: float) -> None:
        self._set(job, destruction=when)

    def set_parameters(self, job: Job, parameters: dict[str, str]) -> bool:
        """Replace a PENDING job's parameters; False when it is no longer PENDING."""
        return self._set(
            job, phases=(PENDING,), parameters=parameters, run_id=parameters.get("RUNID")
        )

    def delete(self, job_id: str) -> None:
        """Remove a job and its result; a running one is aborted (its runner's
        result is then discarded)."""
        with self.engine.begin() as conn:
            path = conn.execute(
                delete(uws_jobs)
                .where(uws_jobs.c.job_id == job_id)
                .returning(uws_jobs.c.result_path)
            ).scalar()
        self._unlink(path)
        with self._lock:
            self._contexts.pop(job_id, None)

    def _unlink(self, relative: str | None) -> None:
        if relative:
            (self.root / relative).unlink(missing_ok=True)

    def _purge(self, force: bool = False) -> None:
        """Destroy expired jobs with their results; mark orphaned runs ERROR
        (at most every :data:`PURGE_EVERY_S` unless ``force``)."""
        with self._lock:
            if not force and time.monotonic() - self._purged < PURGE_EVERY_S:
                return
            self._purged = time.monotonic()
        now = time.time()
        with self.engine.begin() as conn:
            paths = conn.execute(
                delete(uws_jobs)
                .where(uws_jobs.c.destruction < now)
                .returning(uws_jobs.c.job_id, uws_jobs.c.result_path)
            ).all()
            started = func.coalesce(uws_jobs.c.started, uws_jobs.c.created)
            conn.execute(
                update(uws_jobs)
                .where(uws_jobs.c.phase.in_((QUEUED, EXECUTING)))
                .where(started + uws_jobs.c.execution_duration + ORPHAN_GRACE_S < now)
                .values(phase=ERROR, error=ORPHANED, ended=now)
            )
            unfinished = select(uws_jobs.c.job_id).where(uws_jobs.c.phase.in_(UNFINISHED))
            conn.execute(delete(uws_runners).where(uws_runners.c.job_id.not_in(unfinished)))
        for job_id, path in paths:
            self._unlink(path)
            with self._lock:
                self._contexts.pop(job_id, None)

    def withdraw(self, job: Job, message: str) -> None:
        """Turn a COMPLETED job into an ERROR one whose result is gone (the
        owner's rights changed since it ran); ``message`` must carry nothing
        the result held."""
        path = job.result_path
        if self._set(
            job,
            phases=(COMPLETED,),
            phase=ERROR,
            error=message,
            withdrawn=True,
            result_path=None,
            result_size=None,
        ):
            self._unlink(path)

    def abort(self, job: Job) -> None:
        self._set(job, phases=UNFINISHED, phase=ABORTED, ended=time.time())

    def start(self, job: Job, runner: Callable[[Job], tuple[bytes, str]]) -> None:
        if not self._set(job, phases=(PENDING,), phase=QUEUED):
            return
        with self.engine.begin() as conn:  # this process runs it (job_runners)
            conn.execute(delete(uws_runners).where(uws_runners.c.job_id == job.job_id))
            conn.execute(
                insert(uws_runners).values(job_id=job.job_id, **job_runners.this_process())
            )
        self._pool.submit(self._run, job, runner)

    def _run(self, job: Job, runner: Callable[[Job], tuple[bytes, str]]) -> None:
        if not self._set(job, phases=(QUEUED,), phase=EXECUTING, started=time.time()):
            return
        try:
            body, mime = runner(job)
            self._complete(job, body, mime)
        except Exception as exc:  # the job's error document says what went wrong
            self._set(
                job,
                phases=(EXECUTING,),
                phase=ERROR,
                error=str(exc) or type(exc).__name__,
                ended=time.time(),
            )
        finally:
            with self._lock:
                self._contexts.pop(job.job_id, None)
            with self.engine.begin() as conn:
                conn.execute(delete(uws_runners).where(uws_runners.c.job_id == job.job_id))

    def _complete(self, job: Job, body: bytes, mime: str) -> None:
        """Write the result file, then make the job COMPLETED if it is still
        EXECUTING and the result fits the caps; else remove the file."""
        self._purge(force=True)
        self.root.mkdir(parents=True, exist_ok=True)
        relative = f"{job.job_id}.result"
        partial = self.root / f"{relative}.partial"
        partial.write_bytes(body)
        os.replace(partial, self.root / relative)
        with self.engine.begin() as conn:
            refusal = self._refusal(conn, job, len(body))
            if refusal is None:
                done = conn.execute(
                    update(uws_jobs)
                    .where(uws_jobs.c.job_id == job.job_id, uws_jobs.c.phase == EXECUTING)
                    .values(
                        phase=COMPLETED,
                        result_path=relative,
                        result_size=len(body),
                        result_mime=mime,
                        rights=job.rights,
                        ended=time.time(),
                    )
                ).rowcount
        if refusal is not None or not done:
            self._unlink(relative)
        if refusal is not None:
            raise JobLimit(refusal)
        if done:
            job.phase, job.result_path, job.result_size = COMPLETED, relative, len(body)

    def _refusal(self, conn, job: Job, size: int) -> str | None:
        """Why a result of ``size`` bytes may not be stored, or None."""
        total, mine = self._results_bytes(conn), self._results_bytes(conn, job.quota_key)
        advice = "ask for fewer rows (MAXREC, TOP) or delete finished jobs"
        if total + size > self.caps.results_bytes:
            return (
                f"the result ({size / MB:.3g} MB) does not fit in the archive's store of async "
                f"results ({total / MB:.3g} of {self.caps.results_bytes / MB:.3g} MB in use); "
                f"{advice}, or use /tap/sync"
            )
        if mine + size > self.caps.results_bytes_per_owner:
            return (
                f"the result ({size / MB:.3g} MB) does not fit beside your other async results "
                f"({mine / MB:.3g} MB of the {self.caps.results_bytes_per_owner / MB:.3g} MB one "
                f"user may keep); {advice}"
            )
        return None

    def wait(self, job: Job, seconds: float, phase: str | None) -> Job:
        """UWS 1.1 blocking: the job as it is when its phase leaves ``phase`` (or
        the current phase), or after ``seconds``; None-safe: a job deleted
        meanwhile is returned as last seen."""
        deadline = time.time() + seconds
        watched = phase or job.phase
        while job.phase == watched and job.phase in UNFINISHED and time.time() < deadline:
            time.sleep(min(WAIT_POLL_S, max(0.0, deadline - time.time())))
            fresh = self.get(job.job_id)
            if fresh is None:
                break
            job = fresh
        return job


UWS_NS = "http://www.ivoa.net/xml/UWS/v1.0"
XLINK_NS = "http://www.w3.org/1999/xlink"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def _nillable(tag: str, value: str | None) -> str:
    if value is None:
        return f'<uws:{tag} xsi:nil="true"/>'
    return f"<uws:{tag}>{escape(value)}</uws:{tag}>"


def _parameters(job: Job) -> str:
    return "".join(
        f"<uws:parameter id={quoteattr(k.lower())}>{escape(v)}</uws:parameter>"
        for k, v in job.parameters.items()
    )


def _results(job: Job, job_url: str) -> str:
    if job.phase != COMPLETED:
        return ""
    href = quoteattr(f"{job_url}/results/result")
    return f'<uws:result id="result" xlink:type="simple" xlink:href={href}/>'


def parameters_xml(job: Job) -> str:
    """The job's ``/parameters`` document."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><uws:parameters xmlns:uws="{UWS_NS}">'
        f"{_parameters(job)}</uws:parameters>"
    )


def results_xml(job: Job, job_url: str) -> str:
    """The job's ``/results`` document."""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><uws:results xmlns:uws="{UWS_NS}" '
        f'xmlns:xlink="{XLINK_NS}">{_results(job, job_url)}</uws:results>'
    )


def job_xml(job: Job, job_url: str) -> str:
    params = _parameters(job)
    results = _results(job, job_url)
    error = ""
    if job.phase == ERROR:
        error = (
            '<uws:errorSummary type="fatal" hasDetail="true">'
            f"<uws:message>{escape(job.error or '')}</uws:message></uws:errorSummary>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<uws:job xmlns:uws="{UWS_NS}" xmlns:xlink="{XLINK_NS}" xmlns:xsi="{XSI_NS}" '
        'version="1.1">'
        f"<uws:jobId>{escape(job.job_id)}</uws:jobId>"
        + (f"<uws:runId>{escape(job.run_id)}</uws:runId>" if job.run_id else "")
        + _nillable("ownerId", job.owner)
        + f"<uws:phase>{job.phase}</uws:phase>"
        + _nillable("quote", None)
        + f"<uws:creationTime>{isoformat(job.created)}</uws:creationTime>"
        + _nillable("startTime", isoformat(job.started))
        + _nillable("endTime", isoformat(job.ended))
        + f"<uws:executionDuration>{job.execution_duration}</uws:executionDuration>"
        + _nillable("destruction", isoformat(job.destruction))
        + f"<uws:parameters>{params}</uws:parameters>"
        + f"<uws:results>{results}</uws:results>"
        + error
        + "</uws:job>"
    )


def job_list_xml(jobs: list[Job], base_url: str) -> str:
    refs = "".join(
        f"<uws:jobref id={quoteattr(j.job_id)} xlink:href={quoteattr(base_url + '/' + j.job_id)}>"
        f"<uws:phase>{j.phase}</uws:phase>"
        + (f"<uws:runId>{escape(j.run_id)}</uws:runId>" if j.run_id else "")
        + _nillable("ownerId", j.owner)
        + f"<uws:creationTime>{isoformat(j.created)}</uws:creationTime>"
        "</uws:jobref>"
        for j in jobs
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<uws:jobs xmlns:uws="{UWS_NS}" xmlns:xlink="{XLINK_NS}" xmlns:xsi="{XSI_NS}" '
        f'version="1.1">{refs}</uws:jobs>'
    )


def parse_destruction(value: str) -> float:
    text = value.strip().replace("Z", "+00:00")
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()
