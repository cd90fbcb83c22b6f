"""Sync TAP streams results larger than one batch, on both backends: the
streamed answer in every streamed format holds exactly the rows and types of
the whole-result writer (astropy's), MAXREC still cuts it and says OVERFLOW,
and the rows are read from the database batch by batch as the answer is sent.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from astropy.io.votable import parse
from astropy.table import Table

from tests.vo.rows import fill_catalog
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import ANONYMOUS
from webbarchive.vo import execute
from webbarchive.vo.formats import find_format, render
from webbarchive.vo.obscore import QueryContext

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
BATCH = 40
QUERY = (
    "SELECT obs_publisher_did, calib_level, s_ra, t_exptime, target_name, s_region, "
    "s_ra * 2 AS twice FROM ivoa.obscore ORDER BY obs_publisher_did"
)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def served(request, tmp_path_factory):
    """(client, catalog url) over 150 synthetic observations."""
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings

    if request.param == "sqlite":
        url = str(tmp_path_factory.mktemp("stream") / "catalog.db")
    else:
        url = request.getfixturevalue("pg_cluster").create_database("stream_vo")
    engine = open_catalog(url)
    fill_catalog(engine, 150)
    engine.dispose()
    app = create_app(Settings.from_env(db_url=url))
    app.state.rate_limiter = None
    with TestClient(app) as client:
        yield client, url


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(execute, "BATCH_ROWS", BATCH)


def _whole(url: str, fmt: str, maxrec: int) -> bytes:
    """The answer as the whole-result writer renders it."""
    engine = open_catalog(url)
    try:
        result = execute.run_query(
            engine, QUERY, QueryContext(ANONYMOUS, "http://testserver"), maxrec=maxrec
        )
    finally:
        engine.dispose()
    return render(find_format(fmt), result.columns, result.rows, overflow=result.overflow)


def _table(body: bytes, fmt: str) -> Table:
    if fmt.startswith("votable"):
        return parse(io.BytesIO(body)).get_first_table().to_table()
    return Table.read(io.BytesIO(body), format="ascii.csv" if fmt == "csv" else "ascii.tab")


def _statuses(body: bytes) -> list[str]:
    vot = parse(io.BytesIO(body))
    return [i.value for i in vot.resources[0].infos if i.name == "QUERY_STATUS"]


def _same(streamed: Table, whole: Table) -> None:
    assert streamed.colnames == whole.colnames
    assert len(streamed) == len(whole) > BATCH
    for name in whole.colnames:
        a, b = streamed[name], whole[name]
        assert np.array_equal(np.ma.getmaskarray(a), np.ma.getmaskarray(b)), name
        keep = ~np.ma.getmaskarray(b)
        if b.dtype.kind == "f":
            assert a.dtype.kind == "f", name
            np.testing.assert_array_equal(np.asarray(a)[keep], np.asarray(b)[keep])
        else:
            assert [str(v) for v in np.asarray(a)[keep]] == [str(v) for v in np.asarray(b)[keep]]


@pytest.mark.parametrize("fmt", ["votable", "votable/td", "votable/b2", "csv", "tsv"])
def test_streamed_answers_equal_the_whole_ones(served, small_batches, fmt):
    client, url = served
    maxrec = 100_000
    response = client.get(
        "/tap/sync",
        params={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": fmt, "MAXREC": maxrec},
    )
    assert response.status_code == 200, response.text
    assert "content-length" not in response.headers  # sent as it was written
    whole = _whole(url, fmt, maxrec)
    _same(_table(response.content, fmt), _table(whole, fmt))
    if fmt.startswith("votable"):
        assert _statuses(response.content) == ["OK"]
        field_types = [
            (f.name, f.datatype, f.arraysize)
            for f in parse(io.BytesIO(response.content)).get_first_table().fields
        ]
        assert field_types == [
            (f.name, f.datatype, f.arraysize)
            for f in parse(io.BytesIO(whole)).get_first_table().fields
        ]


@pytest.mark.parametrize("fmt", ["votable", "votable/td", "votable/b2"])
def test_maxrec_cuts_a_stream_and_says_overflow(served, small_batches, fmt):
    client, url = served
    for maxrec, overflow in ((2 * BATCH + 7, True), (3 * BATCH, True)):
        response = client.get(
            "/tap/sync",
            params={"LANG": "ADQL", "QUERY": QUERY, "RESPONSEFORMAT": fmt, "MAXREC": maxrec},
        )
        assert response.status_code == 200
        table = _table(response.content, fmt)
        assert len(table) == maxrec
        _same(table, _table(_whole(url, fmt, maxrec), fmt))
        # The last QUERY_STATUS counts (DALI; pyvo reads it so).
        assert _statuses(response.content)[-1] == ("OVERFLOW" if overflow else "OK")


def test_a_result_of_exactly_maxrec_rows_is_no_overflow(served, small_batches):
    client, _ = served
    total = int(
        client.get(
            "/tap/sync",
            params={
                "LANG": "ADQL",
                "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore",
                "FORMAT": "csv",
            },
        ).text.split()[1]
    )
    assert total > 2 * BATCH
    response = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": QUERY, "MAXREC": total})
    assert len(_table(response.content, "votable")) == total
    assert _statuses(response.content)[-1] == "OK"


def test_rows_are_read_batch_by_batch_as_the_answer_is_written(served, small_batches):
    """The stream reads no more than one batch ahead of what it has written."""
    client, url = served
    engine = open_catalog(url)
    try:
        stream = execute.stream_query(
            engine, QUERY, QueryContext(ANONYMOUS, "http://testserver"), maxrec=100_000
        )
        batches = stream.batches()
        sizes = [len(next(batches))]
        assert not stream.done  # more than one batch: nothing else read yet
        sizes += [len(b) for b in batches]
    finally:
        engine.dispose()
    assert stream.done and not stream.overflow
    assert max(sizes) == BATCH and len(sizes) >= 3


def test_the_time_limit_counts_database_time_not_the_readers(served, small_batches):
    """A slow reader is not cut at the limit; a slow query is (both engines)."""
    import time

    _, url = served
    engine = open_catalog(url)
    ctx = QueryContext(ANONYMOUS, "http://testserver")
    try:
        stream = execute.stream_query(engine, QUERY, ctx, maxrec=100_000, timeout_s=1.0)
        rows = 0
        for batch in stream.batches():
            rows += len(batch)
            time.sleep(0.3)  # the client reads slowly: 1 s passes after 4 batches
        assert stream.done and rows > 3 * BATCH
        heavy = (
            # four copies: far past the limit on either engine, whatever the machine
            "SELECT COUNT(*) AS n FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
            "ivoa.obscore AS d WHERE a.s_ra + b.s_ra + c.s_ra + d.s_ra > -1"
        )
        start = time.monotonic()
        with pytest.raises(execute.QueryTimeout, match="0.2 s time limit"):
            execute.run_query(engine, heavy, ctx, maxrec=10, timeout_s=0.2)
        assert time.monotonic() - start < 3.0
    finally:
        engine.dispose()
