"""MAST data URIs of products, read without HTTP: ``mast:JWST/product/<file>``
or a bare file name. Errors are :class:`UriError`, which says what is accepted;
the web layer answers them as 400s (:func:`webbarchive.api.errors.render_archive_error`)."""

from __future__ import annotations

from webbarchive.errors import InvalidInput

URI_PREFIXES = ("mast:JWST/product/", "mast:jwst/product/")
ACCEPTED = ["mast:JWST/product/<filename>", "<filename>"]


class UriError(InvalidInput):
    """A URI that names no product file; ``accepted`` says what can."""


def bad_request(message: str, accepted: object = None) -> UriError:
    return UriError(message, accepted)


def filename_from_uri(uri: str | None) -> str:
    """``mast:JWST/product/<file>`` or a bare file name -> the file name."""
    if not uri or not uri.strip():
        raise bad_request(
            "missing parameter 'uri'",
            accepted=ACCEPTED,
        )
    uri = uri.strip()
    for prefix in URI_PREFIXES:
        if uri.startswith(prefix):
            uri = uri[len(prefix) :]
            break
    else:
        if uri.startswith("mast:"):
            raise bad_request(
                f"unsupported URI {uri!r}",
                accepted=ACCEPTED,
            )
    # Control characters (NUL above all: PostgreSQL rejects it in text) are
    # never part of a product file name.
    if (
        not uri
        or "/" in uri
        or "\\" in uri
        or uri in (".", "..")
        or any(ord(c) < 32 or ord(c) == 127 for c in uri)
    ):
        raise bad_request(
            f"not a product file name: {uri!r}",
            accepted=ACCEPTED,
        )
    return uri
