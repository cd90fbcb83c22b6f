"""What can go wrong with plans (a file to load, a duplication request), said
without HTTP: the web layer answers 400 and 404, the command line a message."""

from __future__ import annotations


class PlanError(Exception):
    """Base of the plan errors; ``accepted`` says what would have worked."""

    def __init__(self, message: str, accepted: str | list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.accepted = accepted


class PlanInputError(PlanError):
    """Malformed input: a bad row of a plans file, a bad template, status or radius."""


class PlanNotFound(PlanError):
    """A target name no planned visit carries."""
