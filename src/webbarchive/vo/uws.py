"""UWS 1.1 jobs for async TAP: an in-process job store and a small worker pool.

Jobs live in memory of the serving process (one uvicorn worker), which is
enough for a self-hosted archive; a job is destroyed at its destruction
time. Interoperability rules learnt the hard way (see the VO reference):
``PHASE=RUN`` is honoured at creation, the primary result is named
``result``, and every required UWS element (``ownerId``, ``quote``,
``startTime``, ``endTime``, ``destruction`` nillable) is always written.
"""

from __future__ import annotations

import threading
import time
import uuid
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
DEFAULT_EXECUTION_DURATION_S = 600
MAX_EXECUTION_DURATION_S = 3600
DEFAULT_LIFETIME_S = 86400 * 3


def isoformat(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Job:
    job_id: str
    owner: str | None
    parameters: dict[str, str]
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
    context: object = None  # request context captured at creation (user, base URL)


class JobStore:
    """Jobs by id, and the pool that runs them."""

    def __init__(self, workers: int = 2) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="uws")

    def create(self, owner: str | None, parameters: dict[str, str], context: object) -> Job:
        job = Job(uuid.uuid4().hex[:16], owner, parameters, context=context)
        job.run_id = parameters.get("RUNID")
        with self._lock:
            self._purge()
            self._jobs[job.job_id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._purge()
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            self._purge()
            return sorted(self._jobs.values(), key=lambda j: j.created)

    def delete(self, job_id: str) -> None:
        with self._cond:
            job = self._jobs.pop(job_id, None)
            if job and job.phase in (QUEUED, EXECUTING):
                job.phase = ABORTED
            self._cond.notify_all()

    def _purge(self) -> None:
        now = time.time()
        for jid in [j for j, job in self._jobs.items() if job.destruction < now]:
            del self._jobs[jid]

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

    def abort(self, job: Job) -> None:
        with self._cond:
            if job.phase in (PENDING, QUEUED, EXECUTING):
                job.phase = ABORTED
                job.ended = time.time()
            self._cond.notify_all()

    def wait(self, job: Job, seconds: float, phase: str | None) -> None:
        """UWS 1.1 blocking: return when the phase leaves ``phase`` (or the current
        phase) or after ``seconds``."""
        deadline = time.time() + seconds
        watched = phase or job.phase
        with self._cond:
            while job.phase == watched and job.phase in (PENDING, QUEUED, EXECUTING):
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
