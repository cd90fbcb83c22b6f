"""Which process runs each unfinished async job, so a crash is seen at once.

A row per QUEUED or EXECUTING job names its runner: host, pid and the pid's
start time (clock ticks since boot, from ``/proc/<pid>/stat``, so a recycled
pid is not mistaken for the runner). Any process on the same host can then
tell that the runner is gone (killed, out of memory, restarted) and mark the
job ERROR instead of leaving it EXECUTING until its execution duration has
passed. Runners on other hosts are left to that duration rule.
"""

from __future__ import annotations

import os
import socket
from functools import cache

from sqlalchemy import BigInteger, Column, Integer, String, Table

from webbarchive.catalog.schema import metadata

uws_runners = Table(
    "uws_runners",
    metadata,
    Column("job_id", String(64), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("pid_start", BigInteger, nullable=False),  # clock ticks after boot; 0: unknown
)


def _pid_start(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks after boot), or None when
    there is no such process; 0 where ``/proc`` does not tell."""
    try:
        stat = open(f"/proc/{pid}/stat", "rb").read()
    except FileNotFoundError:
        return None
    except OSError:
        return 0
    # the command name (field 2) may hold spaces: split after its closing parenthesis
    return int(stat.rsplit(b")", 1)[1].split()[19])


@cache
def host() -> str:
    return socket.gethostname()


def this_process() -> dict:
    """The runner row values of the calling process."""
    pid = os.getpid()
    return {"host": host(), "pid": pid, "pid_start": _pid_start(pid) or 0}


def is_gone(row_host: str, pid: int, pid_start: int) -> bool:
    """Whether the runner named by a row has certainly stopped (same host only)."""
    if row_host != host() or not os.path.isdir("/proc/self"):
        return False
    now = _pid_start(pid)
    return now is None or (pid_start != 0 and now != 0 and now != pid_start)
