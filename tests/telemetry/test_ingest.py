"""``ingest-telemetry``: file forms, re-ingest, the dictionary, the store layout."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.queries import mnemonic_rows
from webbarchive.telemetry import query, store
from webbarchive.telemetry.ingest import ingest_telemetry

CSV = (
    "theTime,MJD,euvalue,sqldataType\r\n"
    "2022-02-02 22:24:57.797000,59612.9340022801,-0.7914493680,real\r\n"
    "2022-02-02 22:24:58.053000,59612.9340052431,-0.7914494276,real\r\n"
    "2022-02-02 22:24:58.309000,59612.9340082060,-0.7914494276,real\r\n"
)


def us(text: str) -> int:
    moment = datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)
    return round(moment.timestamp() * 1_000_000)


def everything(engine, mnemonic: str):
    interval = query.Interval(mnemonic, 0, us("2100-01-01 00:00:00.0"))
    return query.samples(store.telemetry_root(engine), interval)


def test_mast_csv_parquet_and_reingest(catalog_url, tmp_path):
    engine = open_catalog(catalog_url)
    tmp_path = tmp_path / "files"
    tmp_path.mkdir()
    (tmp_path / "SA_ZATTEST2-20220202T222458-20220202T222458.csv").write_bytes(CSV.encode())
    # Parquet with a timestamp column and a mnemonic column, two mnemonics.
    times = pa.array(
        [datetime(2022, 2, 3, 0, 0, 1, 500, tzinfo=UTC), datetime(2022, 2, 2, 23, 59, 59)],
        pa.timestamp("us", tz="UTC"),
    )
    pq.write_table(
        pa.table({"mnemonic": ["sa_zfgsmode", "sa_zfgsmode"], "theTime": times,
                  "euvalue": ["TRACK", "FINEGUIDE"], "sqldataType": ["varchar", "varchar"]}),
        tmp_path / "states.parquet",
    )  # fmt: skip
    report = ingest_telemetry(engine, sorted(tmp_path.iterdir()))
    assert report.samples == 5 and report.mnemonics == {"SA_ZATTEST2", "SA_ZFGSMODE"}

    attitude = everything(engine, "SA_ZATTEST2")
    assert attitude.time_us.tolist() == [us(line.split(",")[0]) for line in CSV.split("\r\n")[1:4]]
    assert attitude.value.tolist() == [-0.791449368, -0.7914494276, -0.7914494276]
    states = everything(engine, "SA_ZFGSMODE")
    assert states.text.tolist() == ["FINEGUIDE", "TRACK"]  # sorted by time, across midnight
    root = store.telemetry_root(engine)
    assert store.days(root, "SA_ZFGSMODE") == ["2022-02-02", "2022-02-03"]
    assert (root / "mnemonic=SA_ZFGSMODE/day=2022-02-03/samples.parquet").is_file()

    # Re-ingest: a sample at the same microsecond is replaced, new ones merge in.
    newer = CSV.replace(
        "-0.7914494276,real\r\n2022-02-02 22:24:58.309000", "1.5,real\r\n2022-02-02 22:24:58.309000"
    )
    newer += "2022-02-02 22:25:00.000000,59612.9340277778,2.0,real\r\n"
    (tmp_path / "SA_ZATTEST2.csv").write_text(newer)
    ingest_telemetry(engine, [tmp_path / "SA_ZATTEST2.csv"])
    assert everything(engine, "SA_ZATTEST2").value.tolist() == [
        -0.791449368,
        1.5,
        -0.7914494276,
        2.0,
    ]

    # Mnemonics with samples and no dictionary row get one.
    with engine.connect() as conn:
        rows = {r["tlmMnemonic"]: r for r in mnemonic_rows(conn)[0]}
    assert rows["SA_ZFGSMODE"]["sqlDataType"] == "varchar"
    engine.dispose()


def test_refusals(tmp_path):
    engine = open_catalog(str(tmp_path / "c.db"))
    (tmp_path / "X1.csv").write_text(CSV)
    ingest_telemetry(engine, [tmp_path / "X1.csv"])
    other = tmp_path / "other" / "X1.csv"
    other.parent.mkdir()
    other.write_text(CSV.replace(",real", ",int").replace("-0.79", "7"))
    with pytest.raises(ValueError, match="stored with sqldataType real"):
        ingest_telemetry(engine, [other])
    (tmp_path / "bad.csv").write_text("time,value\n1,2\n")
    with pytest.raises(ValueError, match="header must be"):
        ingest_telemetry(engine, [tmp_path / "bad.csv"])
    (tmp_path / "X2.csv").write_text(CSV.replace("2022-02-02 22:24:58.053000", "yesterday"))
    with pytest.raises(ValueError, match="theTime"):
        ingest_telemetry(engine, [tmp_path / "X2.csv"])


def test_dictionary_only_mnemonic_answers_empty(tmp_path):
    """A mnemonic in the dictionary without samples: an empty CSV, not a 404."""
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.catalog import accounts
    from webbarchive.config import Settings

    db = str(tmp_path / "c.db")
    (tmp_path / "dictionary.csv").write_text(
        "subsystem,tlmMnemonic,tlmIdentifier,description,sqlDataType,unit\n"
        "OTE,SO_ZFXPOSNS,81669,x axis position of the FSM,float,rad\n"
    )
    engine = open_catalog(db)
    assert ingest_telemetry(engine, [tmp_path / "dictionary.csv"]).dictionary_rows == 1
    accounts.add_user(engine, "u")
    token = accounts.create_token(engine, "u", "t").token
    with TestClient(create_app(Settings.from_env(db_url=db))) as client:
        response = client.get(
            "/api/v0.1/Download/file",
            params={"uri": "mast:jwstedb/SO_ZFXPOSNS-20220101T000000-20220102T000000.csv"},
            headers={"Authorization": f"token {token}"},
        )
    assert response.status_code == 200
    assert response.text == "theTime,MJD,euvalue,sqldataType\r\n"


def test_cli(tmp_path):
    db = tmp_path / "c.db"
    (tmp_path / "SA_ZATTEST2.csv").write_text(CSV)
    done = subprocess.run(
        [sys.executable, "-m", "webbarchive", "ingest-telemetry", str(tmp_path / "SA_ZATTEST2.csv"),
         "--db", str(db)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "ingested 3 samples of 1 mnemonics" in done.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "webbarchive", "ingest-telemetry", str(tmp_path / "none.csv"),
         "--db", str(db)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert missing.returncode == 2 and "no such file" in missing.stderr
