"""astroquery's ``Mast.service_request_async`` on the three JwstEdb services (as
jwql's and jwedb's ``edb_interface`` call them) against the live server, with
the mock telemetry ingested; truths from tests/telemetry/edb.py."""

from __future__ import annotations

import pytest
import requests

from tests.telemetry import edb
from webbarchive.catalog.db import open_catalog
from webbarchive.mock import telemetry as mock_telemetry
from webbarchive.telemetry.ingest import ingest_telemetry

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="session")
def edb_server(live_server, tmp_path_factory):
    folder = tmp_path_factory.mktemp("edb-files")
    written = mock_telemetry.write_all(edb.starts_us(), folder, seed=11)
    engine = open_catalog(live_server.url)
    ingest_telemetry(engine, written)
    engine.dispose()
    truth, types = edb.read_truth(folder / mock_telemetry.FOLDER)
    return live_server, truth, types


@pytest.fixture()
def mast():
    from astroquery.mast import Mast

    Mast.logout()
    yield Mast
    Mast.logout()


def reply(responses) -> dict:
    body = responses[0].json()
    assert body["status"] == "COMPLETE", body
    return body


def test_mnemonics_and_dictionary_anonymously(edb_server, mast):
    _, truth, types = edb_server
    inventory = reply(mast.service_request_async("Mast.JwstEdb.Mnemonics", {}))
    names = {row["tlmMnemonic"] for row in inventory["data"]}
    assert set(truth) <= names
    info = reply(mast.service_request_async("Mast.JwstEdb.Dictionary", {"mnemonic": "SA_ZFGSMODE"}))
    assert info["data"][0]["tlmMnemonic"] == "SA_ZFGSMODE"
    assert info["data"][0]["sqlDataType"] == types["SA_ZFGSMODE"]


def test_timeseries_needs_a_login(edb_server, mast):
    params = {
        "mnemonic": "SO_ZFXPOSNS",
        "start": "2022-07-07 12:00:00",
        "end": "2022-07-07 12:01:00",
    }
    with pytest.raises(requests.HTTPError) as raised:
        mast.service_request_async("Mast.JwstEdb.GetTimeseries.All", params)
    assert raised.value.response.status_code == 401


@pytest.mark.parametrize("mnemonic", ["SO_ZFXPOSNS", "IGDP_MIR_IC_DET_TEMP", "IMIR_HK_FW_CUR_POS"])
def test_timeseries_equals_the_ingested_samples(edb_server, mast, mnemonic):
    server, truth, types = edb_server
    mast.login(token=server.other_token)
    samples = truth[mnemonic]
    for first, last in [(3, 30), (len(samples) // 3, len(samples) // 3 + 200)]:
        start, end = samples[first][0], samples[min(last, len(samples) - 1)][0]
        params = {"mnemonic": mnemonic, "start": start, "end": end}
        body = reply(mast.service_request_async("Mast.JwstEdb.GetTimeseries.All", params))
        want = edb.expected(samples, start, end)
        assert [r["theTime"] for r in body["data"]] == [w[0] for w in want]
        for row, (_, value) in zip(body["data"], want, strict=True):
            expected = value if types[mnemonic] == "varchar" else float(value)
            assert row["euvalue"] == expected
