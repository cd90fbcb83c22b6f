"""GET /spectra/api/v0.1/search against a brute-force numpy filter over the same spectra."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from tests.pixels.synthetic import PAST_MJD, brute_force, build_archive

from webbarchive.api.app import create_app
from webbarchive.catalog.rights import User
from webbarchive.config import Settings
from webbarchive.pixels.query import parse, search
from webbarchive.pixels.store import segment_paths

SEARCH = "/spectra/api/v0.1/search"


@pytest.fixture(scope="module", autouse=True)
def pixels_env(tmp_path_factory):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEBBARCHIVE_PIXELS", str(tmp_path_factory.mktemp("pg-pixels")))
        # these tests send hundreds of searches; the rate limit has its own tests
        patch.setenv("WEBBARCHIVE_RATE_LIMITS", "pixel_search=off")
        yield


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def archive(request, tmp_path_factory, pixels_env):
    return build_archive(request, tmp_path_factory, "pixelsearch")


@pytest.fixture(scope="module")
def api(archive):
    with TestClient(create_app(Settings.from_env(db_url=archive.url))) as client:
        yield client


def public(item) -> bool:
    return item.release_mjd <= PAST_MJD


def _key(r: dict) -> tuple:
    return (r["fileName"], r["x"], r["y"], r.get("z"), r["wavelength"], r["flux"])


def _all(api, query: str) -> tuple[list[tuple], dict]:
    reply = api.get(f"{SEARCH}?{query}&limit=100000")
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == 1
    rows = sorted(_key(r) for r in body["results"])
    assert body["paging"]["total"] == len(rows)
    assert body["paging"]["truncated"] is False
    return rows, body


def _normalize(rows):
    return sorted(rows, key=lambda t: (t[0], t[1], t[2] or 0, t[3] or 0))


CASES = [
    # the seed's example
    (
        "wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5",
        [
            ("wavelength", "gte", 1.2),
            ("wavelength", "lte", 1.3),
            ("flux", "gte", 10),
            ("derSnr", "gt", 5),
        ],
    ),
    # open ranges, min/max spelling, strict operators
    ("wavelength=4.9,", [("wavelength", "gte", 4.9)]),
    ("wavelength=,0.7&flux.lt=20", [("wavelength", "lte", 0.7), ("flux", "lt", 20)]),
    (
        "wavelength.min=9&wavelength.max=9.5&fluxErr.lte=2",
        [("wavelength", "gte", 9), ("wavelength", "lte", 9.5), ("fluxErr", "lte", 2)],
    ),
    (
        "wavelength.gt=2&wavelength.lt=2.2&derSnr.ne=0&flux.ne=15",
        [
            ("wavelength", "gt", 2),
            ("wavelength", "lt", 2.2),
            ("derSnr", "ne", 0),
            ("flux", "ne", 15),
        ],
    ),
    ("flux.gte=150", [("flux", "gte", 150)]),
    (
        "derSnr.lt=8&wavelength=3,3.5",
        [("derSnr", "lt", 8), ("wavelength", "gte", 3), ("wavelength", "lte", 3.5)],
    ),
]


@pytest.mark.parametrize("query,predicates", CASES, ids=[c[0] for c in CASES])
def test_matches_brute_force(api, archive, query, predicates):
    rows, _ = _all(api, query)
    expected = brute_force(archive.items, predicates, visible=public)
    assert rows == _normalize(expected)


def test_seed_query_finds_something_and_reports_sql(api, archive):
    rows, body = _all(api, "wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5")
    assert rows, "the synthetic archive is built so that the seed query matches pixels"
    # the SQL that ran, with its values shown
    assert "wavelength >= 1.2" in body["query"] and "derSnr > 5.0" in body["query"]
    first = body["results"][0]
    # the seed's fields, then the collection (JWST for MAST products; DJA for msaexp)
    assert set(first) == {"fileName", "x", "y", "wavelength", "flux", "derSnr", "uri", "collection"}
    assert first["collection"] == "JWST"
    assert first["uri"] == f"mast:JWST/product/{first['fileName']}"
    assert first["y"] is None and first["derSnr"] > 5


def test_eq_on_an_exact_value(api, archive):
    item = next(i for i in archive.items if public(i) and i.suffix == "x1d")
    k = int(np.flatnonzero(np.isfinite(item.flux))[7])
    flux = float(item.flux[k])
    rows, _ = _all(api, f"flux.eq={flux!r}")
    assert rows == _normalize(brute_force(archive.items, [("flux", "eq", flux)], visible=public))
    assert (item.filename, int(item.x[k]), None, None, float(item.wavelength[k]), flux) in rows
    snr = item.der_snr
    rows, _ = _all(api, f"derSnr.eq={snr!r}&wavelength=1,2")
    assert {r[0] for r in rows} == {item.filename} or not rows


FILTERS = [
    ("instrument=MIRI", lambda i: i.instrument == "MIRI"),
    ("instrument=nirspec&grating=G395M", lambda i: i.grating == "G395M"),
    ("filter=f100lp,P750L", lambda i: i.filter in ("F100LP", "P750L")),
    ("exp_type=NRS_MSASPEC", lambda i: i.exp_type == "NRS_MSASPEC"),
    ("program=jw01002", lambda i: i.program == "1002"),
    ("target=target-2", lambda i: i.target == "TARGET-2"),
    ("ra=14.0&dec=-5.0&radius=0.1", lambda i: i.target == "TARGET-2"),
]


@pytest.mark.parametrize("filters,keep", FILTERS, ids=[f[0] for f in FILTERS])
def test_product_filters(api, archive, filters, keep):
    rows, _ = _all(api, f"flux.gte=10&{filters}")
    expected = brute_force(archive.items, [("flux", "gte", 10)], visible=public, keep=keep)
    assert expected, "each filter case must select something"
    assert rows == _normalize(expected)


def test_paging_concatenates_to_the_full_result(api):
    query = "wavelength=1,3&flux.gte=5"
    full = api.get(f"{SEARCH}?{query}&limit=100000").json()
    total = full["paging"]["total"]
    assert total > 200
    pages, offset = [], 0
    while True:
        body = api.get(f"{SEARCH}?{query}&limit=97&offset={offset}").json()
        assert body["paging"]["total"] == total
        assert body["paging"]["truncated"] == (offset + body["paging"]["returned"] < total)
        if not body["results"]:
            break
        pages.extend(body["results"])
        offset += 97
    assert pages == full["results"]  # same rows, same order
    default = api.get(f"{SEARCH}?{query}").json()["paging"]
    assert default["limit"] == 1000 and default["returned"] == min(1000, total)


def test_exclusive_access_products_never_appear(api, archive):
    rows, _ = _all(api, "flux.gte=0")
    hidden = {i.filename for i in archive.items if not public(i)}
    assert hidden and not ({r[0] for r in rows} & hidden)
    # ... but their PI sees them, through the same rights layer
    pi = User(name="pi", programs=frozenset({"2000"}))
    found = search(archive.engine, parse([("flux.gte", "0")]), pi, 100000, 0)
    assert hidden <= {r["fileName"] for r in found.results}
    expected = brute_force(archive.items, [("flux", "gte", 0)])
    assert found.total == len(expected)


def test_s2d_and_s3d_pixels(api, archive):
    rows, _ = _all(api, "productType=s2d&wavelength=1.2,2.3&flux.gte=10")
    expected = brute_force(
        archive.items,
        [("wavelength", "gte", 1.2), ("wavelength", "lte", 2.3), ("flux", "gte", 10)],
        product_type="s2d",
        visible=public,
    )
    assert expected and rows == _normalize(expected)
    assert all(r[2] is not None for r in rows)
    rows, body = _all(api, "productType=s3d&wavelength=5.1,5.2&flux.gt=1")
    expected = brute_force(
        archive.items,
        [("wavelength", "gte", 5.1), ("wavelength", "lte", 5.2), ("flux", "gt", 1)],
        product_type="s3d",
        visible=public,
    )
    assert expected and rows == _normalize(expected)
    assert "z" in body["results"][0]


def test_viz_alias_answers_the_same(api):
    query = "wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5"
    assert (
        api.get(f"/viz/api/v0.1/search?{query}").json()["results"]
        == api.get(f"{SEARCH}?{query}").json()["results"]
    )


@pytest.mark.parametrize(
    "query,words",
    [
        ("magnitude.gt=3", ["magnitude", "wavelength"]),
        ("flux.like=3", ["like", "gte"]),
        ("flux.gte=ten", ["ten", "number"]),
        ("flux.gte=nan", ["finite"]),
        ("wavelength=1.2", ["range", "wavelength.eq"]),
        ("productType=i2d", ["i2d"]),
        ("limit=0", ["limit"]),
        ("offset=-1", ["offset"]),
        ("ra=10", ["dec"]),
        ("instrument=", ["instrument"]),
    ],
)
def test_bad_input_is_a_400_that_says_what_is_accepted(api, query, words):
    reply = api.get(f"{SEARCH}?{query}")
    assert reply.status_code == 400, reply.text
    body = reply.json()
    text = body["message"] + str(body.get("accepted", ""))
    for word in words:
        assert word in text


def test_values_never_reach_sql_as_text(api, archive):
    reply = api.get(f"{SEARCH}?target=x'); DROP TABLE products; --&flux.gte=0")
    assert reply.status_code == 200 and reply.json()["results"] == []
    assert api.get(f"{SEARCH}?flux.gte=0&limit=1").json()["paging"]["total"] > 0


@pytest.mark.parametrize("query,predicates", CASES[:3], ids=[c[0] for c in CASES[:3]])
def test_every_plan_gives_the_same_answer(archive, monkeypatch, query, predicates):
    """Pixel-first and catalog-first pages, counts by row group and in batches, and the
    semi-join count all equal the brute force."""
    from webbarchive.pixels import query as planner

    parsed = parse([tuple(kv.split("=", 1)) for kv in query.split("&")])
    expected = _normalize(brute_force(archive.items, predicates, visible=public))
    user = User()
    pages = []
    for pixel_first_rows, scan_groups in ((20_000, 48), (0, -1)):
        monkeypatch.setattr(planner, "PIXEL_FIRST_MAX_ROWS", pixel_first_rows)
        monkeypatch.setattr(planner, "COUNT_SCAN_MAX_GROUPS", scan_groups)
        found = search(archive.engine, parsed, user, 50, 3)
        assert found.total == len(expected)
        pages.append(found.results)
        assert planner.prepare(archive.engine, parsed, user).total() == len(expected)
    assert pages[0] == pages[1]


@pytest.mark.parametrize("query,predicates", CASES, ids=[c[0] for c in CASES])
def test_counts_in_batches_match_brute_force(archive, monkeypatch, query, predicates):
    """The wide count's batches (one row group each here) count what the brute
    force finds, per spectrum as the one-by-one reader does (batches split
    across many row groups: tests/pixels/test_batch_counts.py)."""
    from webbarchive.pixels import query as planner
    from webbarchive.pixels import scan

    parsed = parse([tuple(kv.split("=", 1)) for kv in query.split("&")])
    expected = brute_force(archive.items, predicates, visible=public)
    monkeypatch.setattr(planner, "COUNT_SCAN_MAX_GROUPS", -1)
    monkeypatch.setattr(scan, "COUNT_BATCH_GROUPS", 1)
    assert planner.count(archive.engine, parsed, User()) == len(expected)
    spectra = planner.snapshot(archive.engine, parsed).spectra
    everything = np.ones(spectra.size, bool)
    paths = segment_paths(archive.engine, planner._candidate_segments(spectra, parsed, everything))
    scanned = [p for p in parsed.predicates if p.column != "derSnr"]
    planned = scan.plan(paths, scanned)
    one_by_one = np.unique(scan.matching_ids(planned, scanned), return_counts=True)
    batched = scan.matching_counts(planned, scanned)
    assert np.array_equal(batched[0], one_by_one[0]) and np.array_equal(batched[1], one_by_one[1])


@pytest.mark.parametrize("filters", ["instrument=MIRI", "program=1001", "target=TARGET-1"])
def test_filtered_pages_read_from_row_groups_equal_duckdb_pages(archive, filters):
    """Shallow pages come from the row-group reader, deep ones from DuckDB: same rows."""
    parsed = parse([tuple(kv.split("=", 1)) for kv in f"flux.gte=5&{filters}".split("&")])
    everything = search(archive.engine, parsed, User(), 100_000, 0)  # DuckDB
    shallow = search(archive.engine, parsed, User(), 50, 3)  # row groups
    assert everything.total == shallow.total > 53
    assert shallow.results == everything.results[3:53]


# Counts the catalog's zone maps decide (wavelength, derSnr): spectra wholly inside
# the window count their npix unread, straddlers are scanned. The synthetic modes
# span PRISM 0.6-5.3, G140M 0.97-1.89 (pixels exactly at both ends), G395M
# 2.87-5.27, MIRI 5-14 um.
ZONE_MAP_COUNTS = [
    # PRISM, G140M, G395M wholly inside; MIRI straddles the upper edge
    ("wavelength=0.5,6", [("wavelength", "gte", 0.5), ("wavelength", "lte", 6)], None),
    # inclusive edges on G140M's first and last pixels: wholly inside; strict: straddles
    ("wavelength=0.97,1.89", [("wavelength", "gte", 0.97), ("wavelength", "lte", 1.89)], None),
    (
        "wavelength.gt=0.97&wavelength.lt=1.89",
        [("wavelength", "gt", 0.97), ("wavelength", "lt", 1.89)],
        None,
    ),
    # straddlers at both edges and across the window, with derSnr deciding spectra
    (
        "wavelength=1,5&derSnr.gt=5",
        [("wavelength", "gte", 1), ("wavelength", "lte", 5), ("derSnr", "gt", 5)],
        None,
    ),
    ("derSnr.lte=20", [("derSnr", "lte", 20)], None),  # no window: every spectrum whole
    ("wavelength.gt=20", [("wavelength", "gt", 20)], None),  # every spectrum outside
    # filters keeping few spectra: wholly inside, straddling, outside
    (
        "wavelength=0.9,2&instrument=NIRSPEC&grating=G140M",
        [("wavelength", "gte", 0.9), ("wavelength", "lte", 2)],
        lambda i: i.grating == "G140M",
    ),
    (
        "wavelength=3,13&program=1002",
        [("wavelength", "gte", 3), ("wavelength", "lte", 13)],
        lambda i: i.program == "1002",
    ),
    (
        "wavelength.lt=5.1&target=TARGET-2",
        [("wavelength", "lt", 5.1)],
        lambda i: i.target == "TARGET-2",
    ),
]


@pytest.mark.parametrize(
    "query,predicates,keep", ZONE_MAP_COUNTS, ids=[c[0] for c in ZONE_MAP_COUNTS]
)
def test_counts_decided_by_zone_maps_match_brute_force(
    archive, monkeypatch, query, predicates, keep
):
    """Whole spectra counted from the catalog plus scanned straddlers equal the
    brute force, whichever scanner reads the straddlers, and equal the
    semi-join count that reads every pixel."""
    from webbarchive.pixels import query as planner

    parsed = parse([tuple(kv.split("=", 1)) for kv in query.split("&")])
    expected = len(brute_force(archive.items, predicates, visible=public, keep=keep))
    user = User()
    for scan_groups in (48, -1):  # row groups one by one, then in batches
        monkeypatch.setattr(planner, "COUNT_SCAN_MAX_GROUPS", scan_groups)
        assert planner.count(archive.engine, parsed, user) == expected
    assert planner.prepare(archive.engine, parsed, user).total() == expected
    if "gt=20" not in query:
        assert expected > 0, "each case must count something"


def test_zone_map_counts_take_both_shortcuts(archive, monkeypatch):
    """The window 0.5-6 um holds whole spectra (counted unread) and MIRI
    straddlers (scanned): both parts are exercised, not one plan twice."""
    from webbarchive.pixels import query as planner

    scanned: list[int] = []
    real = planner.matching_ids

    def spy(planned, predicates):
        ids = real(planned, predicates)
        scanned.append(ids.size)
        return ids

    monkeypatch.setattr(planner, "matching_ids", spy)
    parsed = parse([("wavelength", "0.5,6")])
    total = planner.count(archive.engine, parsed, User())
    whole = sum(
        i.wavelength.size
        for i in archive.items
        if i.suffix == "x1d" and public(i) and i.instrument != "MIRI"
    )
    assert whole > 0 and scanned and 0 < sum(scanned) < total
    miri = len(
        brute_force(
            archive.items,
            [("wavelength", "lte", 6)],
            visible=public,
            keep=lambda i: i.instrument == "MIRI",
        )
    )
    assert total == whole + miri


def test_search_plans_again_when_an_update_commits_mid_search(archive, monkeypatch):
    """A segment deleted under the search (an update() replaced it after the
    catalog's view was read) sends the search round again, which then answers
    in full."""
    from webbarchive.pixels import query as planner

    real = planner.first_rows
    calls = []

    def vanishing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise FileNotFoundError("segment replaced by a concurrent update")
        return real(*args, **kwargs)

    monkeypatch.setattr(planner, "first_rows", vanishing)
    window = [("wavelength", "gte", 0.5), ("wavelength", "lte", 6)]
    expected = len(brute_force(archive.items, window, visible=public))
    found = planner.search(archive.engine, parse([("wavelength", "0.5,6")]), User(), 10, 0)
    assert found.total == expected and len(found.results) == 10
    assert len(calls) == 2  # failed once, read again
