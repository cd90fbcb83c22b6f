"""What can go wrong in a telemetry request, said without HTTP (the web layer
maps these to 400 and 404)."""

from __future__ import annotations


class TelemetryError(Exception):
    """Base of the telemetry errors; ``accepted`` says what would have worked."""

    def __init__(self, message: str, accepted: str | list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.accepted = accepted


class TelemetryInputError(TelemetryError):
    """A malformed request: a bad uri, mnemonic name or time, an inverted interval."""


class TelemetryNotFound(TelemetryError):
    """A mnemonic this archive holds no telemetry and no dictionary entry for."""
