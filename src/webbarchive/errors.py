"""What can go wrong in a request, said in the archive's words and without HTTP.

Domain code (parsers, catalog queries, protocol translations) raises these; the
web layer renders every one of them in one place
(:func:`webbarchive.api.errors.render_archive_error`): a JSON body for the
MAST and DJA routes, an ERROR VOTable for the VO routes. The command line
prints the message. Each error says what was wrong and, where it helps, what
is accepted, so the answer tells the user how to ask again::

    raise InvalidInput("radius must be positive (got -1)", parameter="radius",
                       accepted="0 < radius <= 10 degrees")

The hierarchy, as httpx's and pyvo's: :class:`ArchiveError` >
:class:`InvalidInput` (400), :class:`NotFound` (404), :class:`Forbidden` (403),
:class:`Unauthorized` (401). Packages keep their own names for their errors
(``PositionError``, ``TelemetryNotFound`` ...) by subclassing these.
"""

from __future__ import annotations

from typing import Any


class ArchiveError(Exception):
    """Base of the errors a request can meet.

    ``message`` says what went wrong in words a user can act on; ``accepted``
    (a string, a list or a mapping) what would have worked; ``parameter`` the
    name of the request parameter at fault, when there is one.
    """

    def __init__(self, message: str, accepted: Any = None, *, parameter: str | None = None):
        super().__init__(message)
        self.message = message
        self.accepted = accepted
        self.parameter = parameter

    def __str__(self) -> str:
        return self.message


class InvalidInput(ArchiveError, ValueError):
    """A request the archive cannot read: a malformed value, an unknown
    parameter value, a range out of bounds. Also a ``ValueError``, so code
    that reads values with ``except ValueError`` keeps working."""


class NotFound(ArchiveError):
    """Something named in the request that the archive does not hold, or that
    the caller may not learn exists (see :func:`webbarchive.catalog.rights.refusal`)."""


class Forbidden(ArchiveError):
    """Something the archive holds that this caller may not have."""


class Unauthorized(ArchiveError):
    """A request that needs a caller who says who they are (a valid token)."""
