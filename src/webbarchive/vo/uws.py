"""UWS 1.1 jobs for async TAP: an in-process job store and a small worker pool.

Jobs live in memory of the serving process (one uvicorn worker), which is
enough for a self-hosted archive; a job is destroyed at its destruction
time. Interoperability rules learnt the hard way (see the VO reference):
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

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape, quoteattr

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
JOB_ID_BYTES = 24  # 192 random bits, 32 URL-safe characters
MB = 10**6


def isoformat(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
    result: bytes | None = None
    result_mime: str = "application/x-votable+xml"
    error: str | None = None
    error_document: bytes | None = None
    run_id: str | None = None
    #: What the runner needs besides the owner (base URL, uploads); never rights.
    context: object = None
    #: Fingerprint of the owner's rights the runner used (set by the runner).
    rights: str | None = None
    #: True once the result was withdrawn because the owner's rights changed.
    withdrawn: bool = False


class JobStore:
    """Jobs by id, and the pool that runs them."""

    def __init__(self, workers: int = 2, caps: Caps | None = None) -> None:
        self.caps = caps or Caps()
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="uws")

    def create(
        self, owner: str | None, quota_key: str, parameters: dict[str, str], context: object
    ) -> Job:
        """A new PENDING job; :class:`JobLimit` when ``quota_key`` holds too many."""
        job = Job(secrets.token_urlsafe(JOB_ID_BYTES), owner, parameters, quota_key=quota_key)
        job.context = context
        job.run_id = parameters.get("RUNID")
        with self._lock:
            self._purge()
            held = [j for j in self._jobs.values() if j.quota_key == quota_key]
            active = sum(j.phase in UNFINISHED for j in held)
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
            self._jobs[job.job_id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._purge()
            return self._jobs.get(job_id)

    def list(self, owner: str | None) -> list[Job]:
        """The jobs of logged-in ``owner``; none for anonymous callers (see module doc)."""
        if owner is None:
            return []
        with self._lock:
            self._purge()
            return sorted(
                (j for j in self._jobs.values() if j.owner == owner), key=lambda j: j.created
            )

    def delete(self, job_id: str) -> None:
        with self._cond:
            job = self._jobs.pop(job_id, None)
            if job is not None:
                self._drop(job)
            self._cond.notify_all()

    def results_bytes(self, quota_key: str | None = None) -> int:
        """Bytes of stored results (of ``quota_key``'s jobs, or of all)."""
        with self._lock:
            return self._results_bytes(quota_key)

    def _results_bytes(self, quota_key: str | None = None) -> int:
        return sum(
            len(j.result)
            for j in self._jobs.values()
            if j.result is not None and quota_key in (None, j.quota_key)
        )

    def _drop(self, job: Job) -> None:
        """Free what a job removed from the store holds; a running one is aborted
        (its runner's result is then discarded)."""
        if job.phase in UNFINISHED:
            job.phase = ABORTED
            job.ended = time.time()
        job.result = None

    def _purge(self) -> None:
        now = time.time()
        for jid in [j for j, job in self._jobs.items() if job.destruction < now]:
            self._drop(self._jobs.pop(jid))
        if any(j.phase == ABORTED for j in self._jobs.values()):
            self._cond.notify_all()

    def withdraw(self, job: Job, message: str) -> None:
        """Turn a COMPLETED job into an ERROR one whose result is gone (the
        owner's rights changed since it ran); ``message`` must carry nothing
        the result held."""
        from webbarchive.vo.formats import error_votable

        with self._cond:
            job.result = None
            job.withdrawn = True
            job.phase = ERROR
            job.error = message
            job.error_document = error_votable(message)
            self._cond.notify_all()

    def start(self, job: Job, runner: Callable[[Job], tuple[bytes, str]]) -> None:
        with self._cond:
            if job.phase not in (PENDING,):
                return
            job.phase = QUEUED
            self._cond.notify_all()
        self._pool.submit(self._run, job, runner)

    def _run(self, job: Job, runner: Callable[[Job], tuple[bytes, str]]) -> None:
        with self._cond:
            if job.phase != QUEUED:
                return
            job.phase = EXECUTING
            job.started = time.time()
            self._cond.notify_all()
        try:
            body, mime = runner(job)
            with self._cond:
                if job.phase == EXECUTING:
                    refusal = self._refusal(job, len(body))
                    if refusal:
                        raise JobLimit(refusal)
                    job.result, job.result_mime, job.phase = body, mime, COMPLETED
        except Exception as exc:  # the job's error document says what went wrong
            from webbarchive.vo.formats import error_votable

            with self._cond:
                if job.phase == EXECUTING:
                    job.error = str(exc) or type(exc).__name__
                    job.error_document = error_votable(job.error)
                    job.phase = ERROR
        finally:
            with self._cond:
                job.ended = time.time()
                self._cond.notify_all()

    def _refusal(self, job: Job, size: int) -> str | None:
        """Why a result of ``size`` bytes may not be stored, or None (lock held)."""
        self._purge()
        total, mine = self._results_bytes(), self._results_bytes(job.quota_key)
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

    def abort(self, job: Job) -> None:
        with self._cond:
            if job.phase in UNFINISHED:
                job.phase = ABORTED
                job.ended = time.time()
            self._cond.notify_all()

    def wait(self, job: Job, seconds: float, phase: str | None) -> None:
        """UWS 1.1 blocking: return when the phase leaves ``phase`` (or the current
        phase) or after ``seconds``."""
        deadline = time.time() + seconds
        watched = phase or job.phase
        with self._cond:
            while job.phase == watched and job.phase in UNFINISHED:
                remaining = deadline - time.time()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)


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
