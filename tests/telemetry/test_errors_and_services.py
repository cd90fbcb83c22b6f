"""Tokens, MAST-shaped errors (never a 500) and the Mashup JwstEdb services."""

from __future__ import annotations

import csv
import json

import pytest

from tests.telemetry import edb

DOWNLOAD = "/api/v0.1/Download/file"
GOOD_URI = "mast:jwstedb/SO_ZFXPOSNS-20220707T120000-20220707T121000.csv"


def auth(archive) -> dict[str, str]:
    return {"Authorization": f"token {archive.token}"}


def invoke(client, service: str, params: dict, headers=None, pagesize=50_000, page=1):
    request = {"service": service, "params": params, "format": "json",
               "pagesize": pagesize, "page": page}  # fmt: skip
    return client.post(
        "/api/v0/invoke", data={"request": json.dumps(request)}, headers=headers or {}
    )


def test_anonymous_download_is_401(edb_client):
    response = edb_client.get(DOWNLOAD, params={"uri": GOOD_URI})
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "ERROR" and body["error"] == 401
    assert "token" in body["message"]
    assert "Authorization: token <token>" in body["accepted"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_invalid_token_is_401(edb_client):
    response = edb_client.get(
        DOWNLOAD, params={"uri": GOOD_URI}, headers={"Authorization": "token " + "x" * 32}
    )
    assert response.status_code == 401
    assert response.json()["status"] == "ERROR"


@pytest.mark.parametrize(
    "uri, status, says",
    [
        ("mast:jwstedb/NO_SUCH_MNEMONIC-20220707T120000-20220707T121000.csv", 404, "no mnemonic"),
        ("mast:jwstedb/SO_ZFXPOSNS-20220707T130000-20220707T120000.csv", 400, "ends before"),
        ("mast:jwstedb/", 400, "malformed"),
        ("mast:jwstedb/SO_ZFXPOSNS.csv", 400, "malformed"),
        ("mast:jwstedb/SO_ZFXPOSNS-20220707T120000.csv", 400, "malformed"),
        ("mast:jwstedb/SO_ZFXPOSNS-20220707T120000-20220707T121000.fits", 400, "malformed"),
        ("mast:jwstedb/SO_ZFXPOSNS-20221399T120000-20221399T121000.csv", 400, "not a valid time"),
        ("mast:jwstedb/SO_ZFXPOSNS-20220707T256161-20220707T121000.csv", 400, "not a valid time"),
        ("mast:jwstedb/../../etc-20220707T120000-20220707T121000.csv", 400, "malformed"),
        ("mast:jwstedb/..-20220707T120000-20220707T121000.csv", 400, "not a mnemonic"),
        ("mast:jwstedb/SO.ZF-20220707T120000-20220707T121000.csv", 400, "not a mnemonic"),
        ("mast:jwstedb/ÅÖ-20220707T120000-20220707T121000.csv", 400, "not a mnemonic"),
        (
            "mast:jwstedb/" + "A" * 65 + "-20220707T120000-20220707T121000.csv",
            400,
            "not a mnemonic",
        ),
        ("mast:jwstedb/A\x00B-20220707T120000-20220707T121000.csv", 400, "not a mnemonic"),
    ],
)
def test_bad_requests_are_mast_shaped_4xx(edb_client, edb_archive, uri, status, says):
    response = edb_client.get(DOWNLOAD, params={"uri": uri}, headers=auth(edb_archive))
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == "ERROR" and body["error"] == status
    assert says in body["message"]


def dictionary_rows(archive) -> list[dict]:
    with open(archive.folder / "mnemonics.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_mnemonics_service_lists_the_dictionary(edb_client, edb_archive):
    """Public, as at MAST (jwedb's mnemonic_inventory needs no token)."""
    reply = invoke(edb_client, "Mast.JwstEdb.Mnemonics", {}).json()
    assert reply["status"] == "COMPLETE"
    truth = {r["tlmMnemonic"]: r for r in dictionary_rows(edb_archive)}
    assert {r["tlmMnemonic"] for r in reply["data"]} == set(truth)
    for row in reply["data"]:
        want = truth[row["tlmMnemonic"]]
        assert row["tlmIdentifier"] == int(want["tlmIdentifier"])
        for key in ("subsystem", "description", "sqlDataType", "unit"):
            assert row[key] == want[key]
    paged = invoke(edb_client, "Mast.JwstEdb.Mnemonics", {}, pagesize=10, page=2).json()
    assert paged["paging"]["rowsTotal"] == len(truth)
    assert [r["tlmMnemonic"] for r in paged["data"]] == [
        r["tlmMnemonic"] for r in reply["data"][10:20]
    ]


def test_dictionary_service(edb_client, edb_archive):
    reply = invoke(edb_client, "Mast.JwstEdb.Dictionary", {"mnemonic": "so_zfxposns"}).json()
    assert reply["status"] == "COMPLETE"
    (row,) = reply["data"]
    assert row == {
        "subsystem": "OTE",
        "tlmMnemonic": "SO_ZFXPOSNS",
        "tlmIdentifier": 81669,
        "description": "x axis position of the FSM",
        "sqlDataType": "float",
        "unit": "rad",
    }
    missing = invoke(edb_client, "Mast.JwstEdb.Dictionary", {"mnemonic": "NOPE"})
    assert missing.status_code == 200 and missing.json()["status"] == "ERROR"
    assert "NOPE" in missing.json()["msg"]
    no_param = invoke(edb_client, "Mast.JwstEdb.Dictionary", {}).json()
    assert no_param["status"] == "ERROR" and "mnemonic" in no_param["msg"]


def test_timeseries_needs_a_token(edb_client):
    params = {
        "mnemonic": "SO_ZFXPOSNS",
        "start": "2022-07-07 12:00:00",
        "end": "2022-07-07 12:01:00",
    }
    response = invoke(edb_client, "Mast.JwstEdb.GetTimeseries.All", params)
    assert response.status_code == 401
    assert response.json()["status"] == "ERROR" and "token" in response.json()["msg"]


@pytest.mark.parametrize("mnemonic", ["SO_ZFXPOSNS", "INIS_FWA_MTRPOS", "SA_ZFGSMODE"])
def test_timeseries_service_equals_brute_force(edb_client, edb_archive, mnemonic):
    """Boundaries at exact sample times are inside (inclusive); the bracketing
    samples are the neighbours outside."""
    truth = edb_archive.truth[mnemonic]
    sql_type = edb_archive.sql_types[mnemonic]
    for first, last in [(5, 40), (0, 0), (len(truth) // 2, len(truth) // 2 + 3)]:
        start, end = truth[first][0], truth[last][0]
        params = {"mnemonic": mnemonic.lower(), "start": start, "end": end}
        reply = invoke(edb_client, "Mast.JwstEdb.GetTimeseries.All", params, auth(edb_archive))
        body = reply.json()
        assert body["status"] == "COMPLETE", body
        want = edb.expected(truth, start, end)
        assert [r["theTime"] for r in body["data"]] == [w[0] for w in want]
        for row, (_, value) in zip(body["data"], want, strict=True):
            assert row["sqldataType"] == sql_type
            if sql_type == "varchar":
                assert row["euvalue"] == value
            else:
                assert row["euvalue"] == float(value)
        assert body["paging"]["rowsTotal"] == len(want)


@pytest.mark.parametrize(
    "params, says",
    [
        ({"mnemonic": "SO_ZFXPOSNS", "start": "2022-07-07 13:00:00", "end": "2022-07-07 12:00:00"}, "ends before"),
        ({"mnemonic": "SO_ZFXPOSNS", "start": "noon", "end": "2022-07-07 12:00:00"}, "not a time"),
        ({"mnemonic": "SO_ZFXPOSNS", "end": "2022-07-07 12:00:00"}, "not a time"),
        ({"mnemonic": "NOPE", "start": "2022-07-07 12:00:00", "end": "2022-07-07 13:00:00"}, "no mnemonic"),
        ({"mnemonic": ["SO_ZFXPOSNS"], "start": "2022-07-07 12:00:00", "end": "2022-07-07 13:00:00"}, "mnemonic"),
        ({"mnemonic": "a/b", "start": "2022-07-07 12:00:00", "end": "2022-07-07 13:00:00"}, "not a mnemonic"),
    ],
)  # fmt: skip
def test_timeseries_errors(edb_client, edb_archive, params, says):
    response = invoke(edb_client, "Mast.JwstEdb.GetTimeseries.All", params, auth(edb_archive))
    assert response.status_code == 200
    assert response.json()["status"] == "ERROR"
    assert says in response.json()["msg"]
