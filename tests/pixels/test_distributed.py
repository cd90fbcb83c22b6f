"""The pixel search on a Dask LocalCluster of 1, 2 and 4 workers answers exactly as
in one process (rows, order, totals, every page) and as brute-force numpy, for
the benchmark's query set."""

from __future__ import annotations

import pytest
from bench.pixel_search import QUERIES
from distributed import Client, LocalCluster
from fastapi.testclient import TestClient

import webbarchive.pixels.distributed as distributed_module
import webbarchive.pixels.query as query_module
import webbarchive.pixels.store as store_module
from tests.pixels.synthetic import PAST_MJD, brute_force, build_archive
from webbarchive.api.app import create_app
from webbarchive.catalog.rights import ANONYMOUS, User
from webbarchive.config import SettingError, Settings
from webbarchive.pixels.distributed import DaskScan, parse_spec
from webbarchive.pixels.query import parse, search

OPS = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte", "=": "eq", "<>": "ne"}
OWNER = User(1, "owner", frozenset({"1001", "1002", "2000"}))
# the benchmark's queries, and one every product type and rights path sees
QUERY_SET = [q for _, q in QUERIES] + ["wavelength=1,6&flux.gte=5", "productType=s2d&flux.gte=1"]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """The synthetic archive written in small segments (several per mode), so
    shares hold several segments and the merge interleaves them."""

    class Request:
        param = "sqlite"

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store_module, "SEGMENT_ROWS", 2_500)
        patch.setattr(store_module, "BUFFER_BYTES", 2_500 * 32)  # the fullest written early
        return build_archive(Request(), tmp_path_factory, "daskpixels")


@pytest.fixture(scope="module", params=[1, 2, 4], ids=lambda n: f"{n}workers")
def scan(request):
    with (
        LocalCluster(
            n_workers=request.param, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        assert len(client.nthreads()) == request.param
        # every read on the cluster (no small read kept in this process)
        yield DaskScan(client, local_first_groups=0, local_count_groups=0)


@pytest.fixture(params=["shallow", "deep"])
def plans(request):
    """``deep``: every page past the first 300 rows goes catalog first (DuckDB,
    LIMIT/OFFSET) and every count decoded in batches of row groups."""
    with pytest.MonkeyPatch.context() as patch:
        if request.param == "deep":
            patch.setattr(query_module, "PIXEL_FIRST_MAX_ROWS", 300)
            patch.setattr(query_module, "COUNT_SCAN_MAX_GROUPS", 0)
        yield request.param


def _parse(text: str):
    return parse([tuple(kv.split("=", 1)) for kv in text.split("&")])


def _truth(archive, text: str, user: User) -> list[tuple]:
    q = _parse(text)
    predicates = [(p.column, OPS[p.op], p.value) for p in q.predicates]

    def keep(item) -> bool:
        return all(
            str(getattr(item, name)).upper() in {v.upper() for v in values}
            for name, values in q.filters.items()
        )

    def visible(item) -> bool:
        return user is OWNER or item.release_mjd <= PAST_MJD

    return brute_force(
        archive.items, predicates, product_type=q.product_type, visible=visible, keep=keep
    )


def _key(r: dict) -> tuple:
    return (r["fileName"], r["x"], r.get("y"), r.get("z"), r["wavelength"], r["flux"])


def _normalize(rows):
    return sorted(rows, key=lambda t: (t[0], t[1], t[2] or 0, t[3] or 0))


@pytest.mark.parametrize("user", [ANONYMOUS, OWNER], ids=["anonymous", "owner"])
@pytest.mark.parametrize("text", QUERY_SET)
def test_same_answer_as_one_process_and_numpy(archive, scan, plans, text, user):
    q = _parse(text)
    engine = archive.engine
    everything = search(engine, q, user, 100_000, 0)
    truth = _truth(archive, text, user)
    assert everything.total == len(truth)
    assert _normalize([_key(r) for r in everything.results]) == _normalize(truth)

    spread = search(engine, q, user, 100_000, 0, scan)
    assert spread.total == everything.total
    assert spread.results == everything.results  # same rows, same order

    size = max(everything.total // 6, 1) + 3  # ~7 pages, the last one short
    walked = []
    for offset in range(0, everything.total + size, size):
        one = search(engine, q, user, size, offset)
        many = search(engine, q, user, size, offset, scan)
        assert many.results == one.results, offset
        assert many.total == one.total == everything.total
        walked += many.results
    assert walked == everything.results


def test_first_page_is_a_prefix(archive, scan):
    """A page shorter than any share's matches: the k-way merge stops at the page size."""
    q = _parse("wavelength=0.5,6&instrument=NIRSPEC")
    full = search(archive.engine, q, ANONYMOUS, 100_000, 0).results
    for limit in (1, 5, 1000):
        assert search(archive.engine, q, ANONYMOUS, limit, 0, scan).results == full[:limit]


@pytest.mark.parametrize("budget", [(2, 2), (10**6, 10**6)], ids=["some-local", "all-local"])
def test_small_reads_kept_local_answer_the_same(archive, scan, budget):
    """First pages and counts that a few row groups answer stay in this process
    (no task reaches a worker when everything is small); the answers are the
    cluster's and the single process's."""
    mixed = DaskScan(scan.client, local_first_groups=budget[0], local_count_groups=budget[1])
    everything = {}
    for text in QUERY_SET:  # deep pages (past the first rows) always go to the cluster
        q = _parse(text)
        everything[text] = search(archive.engine, q, ANONYMOUS, 100_000, 0)
        assert search(archive.engine, q, ANONYMOUS, 100_000, 0, mixed).results == (
            everything[text].results
        )
    before = sum(scan.client.run(_executed).values())
    for text in QUERY_SET:
        one = everything[text]
        for limit in (1, 50):
            got = search(archive.engine, _parse(text), ANONYMOUS, limit, 0, mixed)
            assert got.results == one.results[:limit] and got.total == one.total
    if budget[1] == 10**6:
        assert sum(scan.client.run(_executed).values()) == before


def test_setting_values():
    assert parse_spec("") is None
    assert parse_spec("local:4") == ("local", 4)
    assert parse_spec("tcp://scheduler:8786") == ("address", "tcp://scheduler:8786")
    for bad in ("local:0", "local:x", "local:1000", "scheduler:8786", "tcp://"):
        with pytest.raises(ValueError, match="local:N"):
            parse_spec(bad)
    with pytest.raises(SettingError, match="WEBBARCHIVE_DASK"):
        create_app(Settings.from_env(db_url="sqlite:///:memory:", dask="local:zero"))


def test_api_route_uses_the_cluster(archive, monkeypatch):
    """WEBBARCHIVE_DASK=local:2: the route's answer is the in-process one, and the
    server's cluster did the reads."""
    monkeypatch.setenv("WEBBARCHIVE_RATE_LIMITS", "pixel_search=off")
    monkeypatch.setattr(distributed_module, "LOCAL_FIRST_GROUPS", 0)
    monkeypatch.setattr(distributed_module, "LOCAL_COUNT_GROUPS", 0)
    text = "wavelength=1,6&flux.gte=5"
    q = _parse(text)
    expected = search(archive.engine, q, ANONYMOUS, 50, 20)
    app = create_app(Settings.from_env(db_url=archive.url, dask="local:2"))
    try:
        with TestClient(app) as api:
            reply = api.get(f"/spectra/api/v0.1/search?{text}&limit=50&offset=20")
            assert reply.status_code == 200, reply.text
            body = reply.json()
            client = app.state.pixel_cluster.scan().client
            assert len(client.nthreads()) == 2
            assert sum(client.run(_executed).values()) > 0
    finally:
        app.state.pixel_cluster.close()
    assert body["paging"]["total"] == expected.total
    assert body["results"] == [{k: r[k] for k in body["results"][0]} for r in expected.results]


def _executed(dask_worker) -> int:
    """Run on each worker: how many tasks it has run."""
    return dask_worker.state.executed_count
