"""TAP_UPLOAD tables: VOTables named in ``UPLOAD=name,param:part`` (inline,
a multipart part of the request) or ``UPLOAD=name,https://host/...`` become
per-query tables built from literal rows, like TAP_SCHEMA, so uploads need no
writes to the catalog and stay private to the query.

Upload by URL makes the server a client of whatever the URL names, so it is
off unless hosts are allowed (``WEBBARCHIVE_UPLOAD_HOSTS``), and then:

- every address the host resolves to must be public (not loopback, private,
  link-local, multicast, reserved or unspecified), and the connection goes to
  the address that was checked, so a second DNS answer cannot redirect it;
- redirects are not followed (the target would escape the checks);
- the answer is cut at ``max_bytes`` and the whole fetch at ``timeout_s``
  (a watchdog closes the socket, so a server that trickles bytes is cut too);
- fetches run in a small thread pool of their own, so neither the event loop
  nor the query threads wait on a slow upload server;
- every failure past the host check reads the same, so the answers tell
  nothing about ports, addresses or the network behind the server.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import ipaddress
import re
import socket
import ssl
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from astropy.io.votable import parse_single_table

from webbarchive.vo.adql import AdqlError
from webbarchive.vo.metadata import ColumnDef, TableDef, rows_select
from webbarchive.vo.vosi import UPLOAD_LIMIT_ROWS

UNFETCHABLE = "upload URL could not be fetched"
INLINE_ONLY = (
    "uploads by URL are not accepted by this service; send the VOTable inline: "
    "UPLOAD=name,param:part with the table in the multipart part 'part' of a POST"
)
#: Fetches that may wait on upload servers at once; more queue behind them.
FETCH_THREADS = 4
_FETCHERS = ThreadPoolExecutor(FETCH_THREADS, thread_name_prefix="tap-upload-fetch")


@dataclass(frozen=True)
class UrlUploads:
    """What uploads by URL may do: no hosts (the default) means none at all."""

    hosts: frozenset[str] = frozenset()  # lower-case host names or IP literals
    max_bytes: int = 10_000_000
    timeout_s: float = 10.0  # connection, request and answer together

    @classmethod
    def from_settings(cls, settings) -> UrlUploads:
        hosts = {h.strip().lower().strip("[]") for h in settings.upload_hosts.split(",")}
        return cls(frozenset(hosts - {""}), settings.upload_max_bytes, settings.upload_timeout_s)


_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _datatype(dtype: np.dtype) -> str:
    if dtype.kind == "f":
        return "double"
    if dtype.kind in "iu":
        return "long"
    if dtype.kind == "b":
        return "short"
    return "char"


def _value(v, datatype: str):
    if v is np.ma.masked or v is None:
        return None
    if datatype in ("double", "float"):
        f = float(v)
        return None if f != f else f
    if datatype in ("long", "short", "int"):
        return int(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise AdqlError(f"upload {name!r} must be a simple ADQL identifier")


def upload_table(name: str, content: bytes, *, explain: bool = True) -> TableDef:
    """The table of one uploaded VOTable. ``explain=False`` keeps the parser's
    message (which may quote the document) out of the error: for fetched URLs."""
    _check_name(name)
    try:
        element = parse_single_table(io.BytesIO(content))
        table = element.to_table()
    except Exception as exc:
        detail = f": {exc}" if explain else ""
        raise AdqlError(f"upload {name!r} is not a readable VOTable{detail}") from None
    if len(table) > UPLOAD_LIMIT_ROWS:
        raise AdqlError(f"upload {name!r} has {len(table)} rows; the limit is {UPLOAD_LIMIT_ROWS}")
    columns = []
    for vfield, colname in zip(element.fields, table.colnames, strict=True):
        if not _NAME.match(colname):
            raise AdqlError(f"upload column name {colname!r} is not a simple ADQL identifier")
        datatype = vfield.datatype if vfield.datatype in _KEPT else _datatype(table[colname].dtype)
        if datatype == "boolean":
            datatype = "short"
        columns.append(
            ColumnDef(
                colname,
                datatype,
                unit=str(vfield.unit) if vfield.unit else None,
                ucd=vfield.ucd,
                xtype=vfield.xtype,
                arraysize="*" if datatype in ("char", "unicodeChar") else None,
            )
        )
    rows = [tuple(_value(row[c.name], c.datatype) for c in columns) for row in table]

    def build(dialect: str, _ctx) -> str:
        return rows_select(columns, rows, dialect)

    return TableDef("TAP_UPLOAD", name, f"uploaded table {name}", columns, build)


_KEPT = {"short", "int", "long", "float", "double", "char", "unicodeChar", "boolean"}


def public_address(ip: str) -> bool:
    """Whether an upload may connect to ``ip``: a global unicast address, with
    IPv4 addresses embedded in IPv6 (mapped, 6to4, Teredo) judged as IPv4."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is not None:
            return public_address(str(embedded))
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


class _Unfetchable(Exception):
    pass


class _PinnedHTTP(http.client.HTTPConnection):
    """HTTP to the address that was checked (the Host header keeps the name)."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to the checked address; the certificate must still name the host."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def fetch_url(url: str, policy: UrlUploads) -> bytes:
    """The body of ``url`` under ``policy``; :class:`AdqlError` otherwise. Blocks
    for up to ``policy.timeout_s``: call it from a worker thread."""
    if not policy.hosts:
        raise AdqlError(INLINE_ONLY)
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AdqlError(f"upload URL {url!r} is not a valid URL") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        raise AdqlError(f"upload URL {url!r} must be http(s)://host/... or param:<part>")
    if host not in policy.hosts:
        allowed = ", ".join(sorted(policy.hosts))
        raise AdqlError(f"upload host {host!r} is not allowed; upload URLs may name: {allowed}")
    deadline = time.monotonic() + policy.timeout_s
    try:
        return _get(parts, host, port, policy, deadline)
    except (_Unfetchable, OSError, http.client.HTTPException, ValueError):
        raise AdqlError(UNFETCHABLE) from None


def _get(parts, host: str, port: int, policy: UrlUploads, deadline: float) -> bytes:
    addresses = _addresses(host, port)
    if not addresses or not all(public_address(a) for a in addresses):
        raise _Unfetchable
    kind = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Unfetchable
    conn = kind(host, port, addresses[0], remaining)
    # The watchdog bounds the whole exchange, not each read: closing the socket
    # makes any blocked connect, send or recv fail at once.
    watchdog = threading.Timer(remaining, _abort, (conn,))
    watchdog.daemon = True
    watchdog.start()
    try:
        path = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        conn.request("GET", path, headers={"Accept": "application/x-votable+xml, text/xml"})
        response = conn.getresponse()
        if response.status != 200:  # redirects included: their target is unchecked
            raise _Unfetchable
        body = response.read(policy.max_bytes + 1)
        if len(body) > policy.max_bytes or time.monotonic() > deadline:
            raise _Unfetchable
        return body
    finally:
        watchdog.cancel()
        conn.close()


def _abort(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()


def _sources(value: str) -> list[tuple[str, str]]:
    sources = []
    for item in filter(None, (p.strip() for p in value.split(";"))):
        name, _, uri = item.partition(",")
        name, uri = name.strip(), uri.strip()
        _check_name(name)
        if not uri:
            raise AdqlError(f"upload {name!r} names no table: use UPLOAD={name},param:<part>")
        sources.append((name, uri))
    return sources


async def read_uploads(
    value: str, parts: dict[str, bytes], policy: UrlUploads = UrlUploads()
) -> list[TableDef]:
    """The tables of ``UPLOAD=a,param:x;b,https://...`` given the request's
    multipart ``parts``. URL fetches run in their own small pool and parsing in
    a worker thread, so the event loop never waits on either."""
    loop = asyncio.get_running_loop()
    tables = []
    for name, uri in _sources(value):
        if uri.startswith("param:"):
            part = uri[len("param:") :]
            if part not in parts:
                raise AdqlError(f"upload {name!r}: no multipart part named {part!r}")
            content, explain = parts[part], True
        else:
            content = await loop.run_in_executor(_FETCHERS, fetch_url, uri, policy)
            explain = False
        tables.append(await asyncio.to_thread(upload_table, name, content, explain=explain))
    return tables
