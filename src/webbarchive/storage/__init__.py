"""Where the archive's files live. Products keep a storage path; readers open
it through :func:`open_storage` so a local folder and, later, an S3 bucket look
the same to the API."""

from webbarchive.storage.local import FileStat, LocalStorage, open_storage

__all__ = ["FileStat", "LocalStorage", "open_storage"]
