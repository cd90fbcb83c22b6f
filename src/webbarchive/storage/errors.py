"""The one failure of a storage that is nobody's fault but its own:
:class:`StorageUnavailable` (the object store does not answer, or answers that
it is busy). The web layer answers it as 503 with ``Retry-After``; ingest stops
and says why, leaving the catalog with whole files only."""

from __future__ import annotations

#: Seconds a client is told to wait before trying again (``Retry-After``).
RETRY_AFTER_S = 10


class StorageUnavailable(Exception):
    """The storage at ``where`` cannot be reached now; ``reason`` says how it failed."""

    def __init__(self, where: str, reason: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        super().__init__(f"storage {where} is unreachable: {reason}")
        self.where = where
        self.reason = reason
        self.retry_after_s = retry_after_s

    def __reduce__(self):  # crosses the ingest reader processes
        return (type(self), (self.where, self.reason, self.retry_after_s))
