"""``Download/file?uri=mast:jwstedb/...`` against a brute-force reading of the
files the mock wrote (tests/telemetry/edb.py), on both catalog backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.telemetry import edb

DOWNLOAD = "/api/v0.1/Download/file"
#: One of each kind: 1 Hz float, 64 s real, int position, tinyint, text state.
MNEMONICS = [
    "SO_ZFXPOSNS",
    "IGDP_NRSD_ALG_A1_TEMP",
    "INIS_FWA_MTRPOS",
    "INRC_FW_A_POSITION",
    "SA_ZFGSMODE",
]


def compact(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def as_text(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def at(us: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)


def intervals() -> list[tuple[datetime, datetime]]:
    """Windows of every kind: inside an observation's window, across its edges,
    across midnight, between two windows of a day, before and after all data,
    a single instant, and random ones."""
    out = []
    for start_us in edb.starts_us():
        start = at(start_us)
        out.append((start, start + timedelta(minutes=10)))
        out.append((start - timedelta(minutes=31), start - timedelta(minutes=29)))
        out.append((start + timedelta(minutes=85), start + timedelta(minutes=95)))
        out.append((start + timedelta(seconds=7), start + timedelta(seconds=7)))
    late = at(edb.LATE_START_US)
    out.append((late + timedelta(minutes=5), late + timedelta(minutes=15)))  # across midnight
    out.append((late - timedelta(hours=6), late - timedelta(hours=5)))  # between windows
    out.append((datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC)))
    out.append((datetime(2035, 1, 1, tzinfo=UTC), datetime(2035, 1, 2, tzinfo=UTC)))
    rng = np.random.default_rng(5)
    starts = edb.starts_us()
    for _ in range(6):
        base = at(int(rng.choice(starts)))
        begin = base + timedelta(seconds=int(rng.integers(-3000, 6000)))
        out.append((begin, begin + timedelta(seconds=int(rng.integers(0, 4000)))))
    return out


def served_rows(response) -> list[list[str]]:
    text = response.text
    assert text.endswith("\r\n")
    lines = text[:-2].split("\r\n")
    assert lines[0] == "theTime,MJD,euvalue,sqldataType"
    assert "\n" not in "".join(lines)
    return [line.split(",") for line in lines[1:]]


def mjd_of(time_text: str) -> float:
    moment = datetime.strptime(time_text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return (moment - datetime(1858, 11, 17, tzinfo=UTC)).total_seconds() / 86400


def same_value(served: str, truth: str, sql_type: str) -> bool:
    if sql_type == "varchar":
        return served == truth
    return float(served) == float(truth)


@pytest.mark.parametrize("mnemonic", MNEMONICS)
def test_values_equal_the_ingested_samples(edb_client, edb_archive, mnemonic):
    headers = {"Authorization": f"token {edb_archive.token}"}
    truth = edb_archive.truth[mnemonic]
    sql_type = edb_archive.sql_types[mnemonic]
    checked = 0
    for start, end in intervals():
        uri = f"mast:jwstedb/{mnemonic}-{compact(start)}-{compact(end)}.csv"
        response = edb_client.get(DOWNLOAD, params={"uri": uri}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/csv")
        rows = served_rows(response)
        want = edb.expected(truth, as_text(start), as_text(end))
        assert [r[0] for r in rows] == [w[0] for w in want], uri
        for row, (_, value) in zip(rows, want, strict=True):
            assert same_value(row[2], value, sql_type), (uri, row, value)
            assert row[3] == sql_type
            assert abs(float(row[1]) - mjd_of(row[0])) < 2e-10
        checked += len(rows)
    assert checked > 20


def test_bracketing_samples_lie_outside_the_interval(edb_client, edb_archive):
    """The first and last rows are the neighbours outside the interval, as at MAST."""
    start = at(edb.starts_us()[0]) + timedelta(minutes=3)
    end = start + timedelta(minutes=1)
    uri = f"mast:jwstedb/SO_ZFXPOSNS-{compact(start)}-{compact(end)}.csv"
    headers = {"Authorization": f"token {edb_archive.token}"}
    rows = served_rows(edb_client.get(DOWNLOAD, params={"uri": uri}, headers=headers))
    assert rows[0][0] < as_text(start) <= rows[1][0]
    assert rows[-2][0] <= as_text(end) < rows[-1][0]
    assert 59 <= len(rows) - 2 <= 61  # 1 Hz over one minute


def test_jwst_prefix_and_head(edb_client, edb_archive):
    uri = "mast:jwstedb/IGDP_NRSD_ALG_A1_TEMP-20220101T000000-20300101T000000.csv"
    headers = {"Authorization": f"Bearer {edb_archive.token}"}
    full = edb_client.get("/jwst" + DOWNLOAD, params={"uri": uri}, headers=headers)
    assert full.status_code == 200
    assert len(served_rows(full)) == len(edb_archive.truth["IGDP_NRSD_ALG_A1_TEMP"])
    head = edb_client.head(DOWNLOAD, params={"uri": uri}, headers=headers)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == len(full.content)
