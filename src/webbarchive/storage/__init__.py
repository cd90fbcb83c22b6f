"""Where the archive's files live. Products keep a storage path (an absolute
local path or ``s3://bucket/key``); readers open it through :func:`open_storage`
so a local folder and an S3 bucket look the same to the API and to ingest.
An object store that does not answer raises :class:`StorageUnavailable`."""

from webbarchive.storage.choose import Storage, ingest_root, is_remote, open_storage
from webbarchive.storage.errors import StorageUnavailable
from webbarchive.storage.local import FileStat, LocalStorage

__all__ = [
    "FileStat",
    "LocalStorage",
    "Storage",
    "StorageUnavailable",
    "ingest_root",
    "is_remote",
    "open_storage",
]
