"""What can go wrong in a telemetry request, said without HTTP (the web layer
maps these to 400 and 404)."""

from __future__ import annotations

from webbarchive.errors import ArchiveError, InvalidInput, NotFound


class TelemetryError(ArchiveError):
    """Base of the telemetry errors; ``accepted`` says what would have worked."""


class TelemetryInputError(TelemetryError, InvalidInput):
    """A malformed request: a bad uri, mnemonic name or time, an inverted interval."""


class TelemetryNotFound(TelemetryError, NotFound):
    """A mnemonic this archive holds no telemetry and no dictionary entry for."""
