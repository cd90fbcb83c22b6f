"""What can go wrong with plans (a file to load, a duplication request), said
without HTTP: the web layer answers 400 and 404, the command line a message."""

from __future__ import annotations

from webbarchive.errors import ArchiveError, InvalidInput, NotFound


class PlanError(ArchiveError):
    """Base of the plan errors; ``accepted`` says what would have worked."""


class PlanInputError(PlanError, InvalidInput):
    """Malformed input: a bad row of a plans file, a bad template, status or radius."""


class PlanNotFound(PlanError, NotFound):
    """A target name no planned visit carries."""
