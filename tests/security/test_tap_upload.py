"""TAP UPLOAD by URL cannot be turned against the server's own network.

The adversarial review made the server fetch ``http://127.0.0.1:PORT/...``
and answer with the content, told open ports from closed ones by the error
text, and froze every request for 30 s with an upload server that never
answered. The truths here are real servers on loopback, which record every
request they receive:

- with the default settings, a URL upload is refused with a 400 that says
  inline uploads are accepted, and the server is never contacted;
- with hosts allowed, names and literals that resolve to loopback, private,
  link-local, multicast or reserved addresses are refused, without contact;
- every failure reads the same (closed port, silent server, 404, redirect,
  oversized answer, trickling server);
- a silent upload server delays neither the event loop nor other queries,
  and its fetch ends at the time limit.

The tests that need a fetch to go through (the policy checks are tested
above) allow loopback by replacing ``uploads.public_address``.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from astropy.table import Table
from fastapi.testclient import TestClient

from tests.vo.rows import fill_catalog
from webbarchive.api.app import create_app
from webbarchive.catalog.db import open_catalog
from webbarchive.config import Settings
from webbarchive.vo import uploads

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
UNFETCHABLE = "upload URL could not be fetched"


# --- servers on loopback -------------------------------------------------------------


class Recorder:
    """A loopback HTTP server answering every GET with ``answer(path)``."""

    def __init__(self, answer):
        self.hits: list[tuple[str, str]] = []  # (path, Host header)
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                recorder.hits.append((self.path, self.headers.get("Host", "")))
                status, headers, body = answer(self.path)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str = "/table.xml", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """Accepts connections and never answers (``trickle``: sends a header byte
    every 0.2 s forever, so no single read ever times out)."""

    def __init__(self, trickle: bool = False):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.trickle = trickle
        self.connections: list[socket.socket] = []
        self.closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            if self.trickle:
                threading.Thread(target=self._drip, args=(conn,), daemon=True).start()

    def _drip(self, conn):
        try:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self.closed.wait(0.2):
                conn.sendall(b"X")
        except OSError:
            pass

    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/table.xml"

    def close(self):
        self.closed.set()
        for conn in self.connections:
            conn.close()
        self.sock.close()


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    url = str(tmp_path_factory.mktemp("upload") / "catalog.db")
    engine = open_catalog(url)
    rows = fill_catalog(engine, 30)
    engine.dispose()
    return url, rows


@pytest.fixture(scope="module")
def votable_server(catalog):
    _, rows = catalog
    out = io.BytesIO()
    Table({"want": [rows[0]["obs_id"], rows[1]["obs_id"], "absent"]}).write(out, format="votable")
    body = out.getvalue()
    server = Recorder(lambda path: (200, {"Content-Type": "text/xml"}, body))
    yield server
    server.close()


@pytest.fixture
def make_client(catalog):
    """A TestClient over the catalog with some upload settings."""
    clients = []

    def make(**settings) -> TestClient:
        app = create_app(Settings.from_env(db_url=catalog[0], **settings))
        app.state.rate_limiter = None
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def loopback_allowed(monkeypatch):
    """The address check of the policy tests lifted, so fetches to the test
    servers on loopback go through and the other limits can be tested."""
    monkeypatch.setattr(uploads, "public_address", lambda ip: True)


def _upload(client, url: str, query: str = "SELECT want FROM TAP_UPLOAD.t"):
    return client.get(
        "/tap/sync",
        params={"LANG": "ADQL", "QUERY": query, "UPLOAD": f"t,{url}", "RESPONSEFORMAT": "csv"},
    )


def _error(response) -> str:
    """The QUERY_STATUS=ERROR message of a VOTable error document."""
    from astropy.io.votable import parse

    assert response.status_code == 400, response.text
    vot = parse(io.BytesIO(response.content))
    (info,) = [i for i in vot.resources[0].infos if i.name == "QUERY_STATUS"]
    assert info.value == "ERROR"
    return info.content


# --- off by default ------------------------------------------------------------------


def test_url_uploads_are_refused_by_default(make_client, votable_server):
    client = make_client()
    before = len(votable_server.hits)
    response = _upload(client, votable_server.url())
    message = _error(response)
    assert "param:" in message and "inline" in message
    assert len(votable_server.hits) == before  # never contacted
    closed = _upload(client, "http://127.0.0.1:9/table.xml")
    assert _error(closed) == message


def test_capabilities_keep_declaring_both_upload_methods(make_client):
    """TAPRegExt makes upload-http mandatory where uploads exist (taplint checks
    it): declared always, refused with a clear message while no host is allowed."""
    text = make_client().get("/tap/capabilities").text
    assert "TAPRegExt#upload-inline" in text and "TAPRegExt#upload-http" in text


def test_inline_uploads_still_work_by_default(make_client, catalog):
    _, rows = catalog
    out = io.BytesIO()
    Table({"want": [rows[2]["obs_id"], "absent"]}).write(out, format="votable")
    response = make_client().post(
        "/tap/sync",
        data={
            "LANG": "ADQL",
            "RESPONSEFORMAT": "csv",
            "UPLOAD": "mine,param:part1",
            "QUERY": "SELECT o.obs_id FROM ivoa.obscore AS o "
            "JOIN TAP_UPLOAD.mine AS m ON o.obs_id = m.want",
        },
        files={"part1": ("mine.xml", out.getvalue(), "text/xml")},
    )
    assert response.status_code == 200, response.text
    assert response.text.split() == ["obs_id", rows[2]["obs_id"]]


# --- allowed hosts, forbidden addresses ----------------------------------------------


def test_a_host_not_in_the_list_is_refused(make_client, votable_server):
    client = make_client(upload_hosts="data.example.org")
    before = len(votable_server.hits)
    message = _error(_upload(client, votable_server.url()))
    assert "not allowed" in message and "data.example.org" in message
    assert len(votable_server.hits) == before


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.1.2.3"])
def test_allowed_hosts_on_loopback_are_refused(make_client, votable_server, host):
    client = make_client(upload_hosts=host)
    before = len(votable_server.hits)
    response = _upload(client, votable_server.url(host=host))
    assert _error(response) == UNFETCHABLE
    assert len(votable_server.hits) == before


PRIVATE = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "[::1]",
    "[::]",
    "[fe80::1]",
    "[fc00::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:10.0.0.1]",
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize("host", PRIVATE)
def test_private_and_reserved_addresses_are_refused_without_contact(make_client, host):
    """Refused before any connection: a connect to 10.0.0.1 would take the
    whole time limit, the refusal takes none of it."""
    client = make_client(upload_hosts=host.strip("[]"), upload_timeout_s=20.0)
    start = time.monotonic()
    response = _upload(client, f"http://{host}:8080/table.xml")
    assert _error(response) == UNFETCHABLE
    assert time.monotonic() - start < 5.0


def test_public_address_truth_table():
    for ip in ("8.8.8.8", "93.184.216.34", "2001:4860:4860::8888", "2606:4700::1111"):
        assert uploads.public_address(ip), ip
    for host in PRIVATE + ["127.0.0.1", "::ffff:169.254.169.254", "fe80::1%eth0"]:
        assert not uploads.public_address(host.strip("[]")), host


def test_a_name_with_any_private_address_is_refused(make_client, votable_server, monkeypatch):
    """One public and one loopback address: refused (the client may not pick)."""
    real = socket.getaddrinfo

    def resolve(host, *args, **kw):
        if host == "mixed.example.org":
            return real("93.184.216.34", *args, **kw) + real("127.0.0.1", *args, **kw)
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    client = make_client(upload_hosts="mixed.example.org")
    before = len(votable_server.hits)
    assert _error(_upload(client, votable_server.url(host="mixed.example.org"))) == UNFETCHABLE
    assert len(votable_server.hits) == before


def test_the_connection_goes_to_the_checked_address(
    make_client, votable_server, catalog, monkeypatch, loopback_allowed
):
    """A second DNS answer (rebinding) is never asked for: the name is resolved
    once, the connection goes to that address, the Host header keeps the name."""
    real = socket.getaddrinfo
    answers = []

    def resolve(host, *args, **kw):
        if host == "rebind.example.org":
            answers.append(host)
            target = "127.0.0.1" if len(answers) == 1 else "10.255.255.1"
            return real(target, *args, **kw)
        return real(host, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    client = make_client(upload_hosts="rebind.example.org")
    _, rows = catalog
    response = _upload(
        client,
        votable_server.url(host="rebind.example.org"),
        "SELECT o.obs_id FROM ivoa.obscore AS o JOIN TAP_UPLOAD.t AS m ON o.obs_id = m.want",
    )
    assert response.status_code == 200, response.text
    assert set(response.text.split()[1:]) == {rows[0]["obs_id"], rows[1]["obs_id"]}
    assert answers == ["rebind.example.org"]
    assert votable_server.hits[-1][1] == f"rebind.example.org:{votable_server.port}"


# --- uniform failures and limits -----------------------------------------------------


def test_every_failure_reads_the_same(make_client, votable_server, loopback_allowed):
    redirect = Recorder(lambda path: (302, {"Location": votable_server.url()}, b""))
    missing = Recorder(lambda path: (404, {}, b"no such table here"))
    big = Recorder(lambda path: (200, {}, b"<VOTABLE>" + b" " * 5000))
    silent, trickle = Silent(), Silent(trickle=True)
    closed_port = Silent().port  # bound then closed: nothing listens
    try:
        client = make_client(upload_hosts="127.0.0.1", upload_timeout_s=1.0, upload_max_bytes=4096)
        before = len(votable_server.hits)
        answers = {}
        for name, url in {
            "closed port": f"http://127.0.0.1:{closed_port}/table.xml",
            "silent": silent.url(),
            "trickle": trickle.url(),
            "404": missing.url(),
            "redirect": redirect.url(),
            "too big": big.url(),
        }.items():
            start = time.monotonic()
            answers[name] = _error(_upload(client, url))
            assert time.monotonic() - start < 3.0, name  # the 1 s limit, with margin
        assert set(answers.values()) == {UNFETCHABLE}, answers
        assert len(votable_server.hits) == before  # the redirect was not followed
        assert redirect.hits and missing.hits and big.hits
    finally:
        for server in (redirect, missing, big, silent, trickle):
            server.close()


def test_url_uploads_work_when_enabled(make_client, votable_server, catalog, loopback_allowed):
    client = make_client(upload_hosts="127.0.0.1")
    _, rows = catalog
    response = _upload(
        client,
        votable_server.url(),
        "SELECT o.obs_id FROM ivoa.obscore AS o JOIN TAP_UPLOAD.t AS m ON o.obs_id = m.want",
    )
    assert response.status_code == 200, response.text
    assert set(response.text.split()[1:]) == {rows[0]["obs_id"], rows[1]["obs_id"]}


def test_a_silent_upload_server_blocks_nobody(make_client, loopback_allowed):
    """While one request waits on a server that never answers, another TAP
    query on the same server answers at once; the upload ends at its limit."""
    limit_s = 3.0
    silent = Silent()
    try:
        client = make_client(upload_hosts="127.0.0.1", upload_timeout_s=limit_s)
        query = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"}
        assert client.get("/tap/sync", params=query).status_code == 200  # warm

        def upload():
            start = time.monotonic()
            return _upload(client, silent.url()), time.monotonic() - start

        with ThreadPoolExecutor(1) as pool:
            waiting = pool.submit(upload)
            while not silent.connections:  # the fetch is under way
                time.sleep(0.02)
            other = client.get("/tap/sync", params=query)
            upload_still_waiting = not waiting.done()
            response, upload_s = waiting.result(timeout=limit_s + 10)
        assert other.status_code == 200
        # the other query did not queue behind the fetch: it answered while the fetch
        # still hung (a timing bound instead would measure the machine's load)
        assert upload_still_waiting
        assert _error(response) == UNFETCHABLE
        assert limit_s - 0.5 < upload_s < limit_s + 3.0, upload_s
    finally:
        silent.close()
