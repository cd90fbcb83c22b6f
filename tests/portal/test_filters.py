"""The search form's filters (mode, PI, filter, date range, release state),
its thumbnails and the footprints it embeds for the sky view, through the real
app on both catalog backends, against answers computed from the table rows."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape

import pytest

from tests.portal.truth import public_rows

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
MJD_EPOCH = date(1858, 11, 17)


def _obs_ids(html: str) -> set[str]:
    return set(re.findall(r'<a href="/portal/observation/[^"]+">([^<]+)</a>', html))


def _search(client, **params) -> str:
    page = client.get("/", params={"pagesize": 200, **params})
    assert page.status_code == 200, page.text[:400]
    return page.text


def test_mode_alone_and_with_instrument(portal_client, eap_archive):
    rows = public_rows(eap_archive.engine)
    modes = {r["instrument_name"].upper() for r in rows if r["instrument_name"]}
    name = sorted(m for m in modes if "/" in m)[0]
    family, mode = name.split("/")
    expected = {
        r["obs_id"] for r in rows if (r["instrument_name"] or "").upper().endswith("/" + mode)
    }
    assert _obs_ids(_search(portal_client, mode=mode)) == expected
    both = {r["obs_id"] for r in rows if (r["instrument_name"] or "").upper() == name}
    assert _obs_ids(_search(portal_client, mode=mode, instrument=family)) == both
    assert f"<option selected>{mode}</option>" in _search(portal_client, mode=mode)


def test_pi_matches_part_of_the_name_ignoring_case(portal_client, eap_archive):
    rows = public_rows(eap_archive.engine)
    pi = next(r["proposal_pi"] for r in rows if r["proposal_pi"])
    part = pi[1:4].swapcase()
    expected = {r["obs_id"] for r in rows if part.lower() in (r["proposal_pi"] or "").lower()}
    assert expected and _obs_ids(_search(portal_client, pi=part)) == expected


def test_filter_matches_one_of_the_filters(portal_client, eap_archive):
    rows = public_rows(eap_archive.engine)
    wanted = next(r["filters"] for r in rows if r["filters"]).split(";")[-1]
    expected = {
        r["obs_id"] for r in rows if wanted.lower() in (r["filters"] or "").lower().split(";")
    }
    html = _search(portal_client, filter=wanted.lower())
    assert _obs_ids(html) == expected
    assert f'<option value="{wanted}">' in html  # the suggestions of the filter field


def _day(mjd: float) -> str:
    return (MJD_EPOCH + timedelta(days=int(mjd))).isoformat()


def test_date_range_keeps_observations_overlapping_it(portal_client, eap_archive):
    rows = [r for r in public_rows(eap_archive.engine) if r["t_min"] is not None]
    starts = sorted({int(r["t_min"]) for r in rows})
    first, last = _day(starts[0]), _day(starts[len(starts) // 2])
    low, high = starts[0], starts[len(starts) // 2] + 1
    expected = {
        r["obs_id"]
        for r in rows
        if r["t_max"] is not None and r["t_max"] >= low and r["t_min"] <= high
    }
    got = _obs_ids(_search(portal_client, date_from=first, date_to=last))
    assert got == expected and got
    only_after = _obs_ids(_search(portal_client, date_from=_day(starts[-1] + 1)))
    assert only_after == {r["obs_id"] for r in rows if r["t_max"] >= starts[-1] + 1}


@pytest.mark.parametrize(
    "query, says",
    [
        ({"date_from": "yesterday"}, "YYYY-MM-DD"),
        ({"date_from": "2024-02-02", "date_to": "2024-01-01"}, "before it starts"),
    ],
)
def test_bad_dates_are_a_400_saying_the_format(portal_client, query, says):
    page = portal_client.get("/", params=query)
    assert page.status_code == 400
    assert says in re.search(r'role="alert">([^<]+)<', page.text).group(1)


def test_rows_carry_thumbnail_rights_and_footprint(portal_client, eap_archive):
    rows = {r["obs_id"]: r for r in public_rows(eap_archive.engine)}
    html = _search(portal_client)
    table_rows = re.findall(
        r'<tr class="(\w+)" id="row-\d+" data-obs-id="([^"]+)"(.*?)</tr>', html, re.S
    )
    assert {obs for _, obs, _ in table_rows} == set(rows)
    for css, obs_id, rest in table_rows:
        row = rows[obs_id]
        assert css == "public" and '<span class="badge public">public</span>' in rest
        region = re.search(r'data-s-region="([^"]*)"', rest)
        assert (unescape(region.group(1)) if region else None) == row["s_region"]
        img = re.search(r'<img src="([^"]+)" loading="lazy"[^>]* alt="preview of ([^"]+)"', rest)
        if row["jpegURL"]:
            assert (
                unescape(img.group(1)) == ("/api/v0.1/Download/file?uri=" + row["jpegURL"])
                and img.group(2) == obs_id
            )
        else:
            assert img is None and "no preview" in rest
