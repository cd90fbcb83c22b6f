"""Loading engineering mnemonics from CSV (the info/mnemonics table)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import mnemonics
from webbarchive.cli import main
from webbarchive.ingest.mnemonics import load_mnemonics

SEED = "info_mnemonics_name_so_zfxposns.json"
HEADER = "subsystem,tlmMnemonic,tlmIdentifier,description,sqlDataType,unit\n"


def test_seed_row_round_trips(catalog_url, mast_doc_examples, tmp_path):
    """A CSV made from MAST's documented example loads back to the same values."""
    (row,) = json.loads((mast_doc_examples / SEED).read_text())["data"]
    csv = tmp_path / "mnemonics.csv"
    fields = ["subsystem", "tlmMnemonic", "tlmIdentifier", "description", "sqlDataType", "unit"]
    values = [str(row[f]) if row[f] is not None else "" for f in fields]
    values[1] = values[1].lower()  # stored upper case whatever the file says
    csv.write_text(HEADER + ",".join(f'"{v}"' for v in values) + "\n")
    engine = open_catalog(catalog_url)
    assert load_mnemonics(engine, csv) == 1
    with engine.connect() as conn:
        stored = dict(conn.execute(select(mnemonics)).mappings().one())
    assert stored["tlmMnemonic"] == row["tlmMnemonic"].upper()
    for field in ("subsystem", "description", "sqlDataType", "unit"):
        assert stored[field] == row[field]
    assert stored["tlmIdentifier"] == int(row["tlmIdentifier"])


def test_reload_replaces_rows(catalog_url, tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text(HEADER + "ISIM,abc_one,1,first,float,V\nISIM,ABC_TWO,2,second,int,\n")
    engine = open_catalog(catalog_url)
    load_mnemonics(engine, csv)
    csv.write_text(HEADER + "ISIM,ABC_ONE,1,changed,float,V\n")
    assert main(["ingest-mnemonics", str(csv), "--db", catalog_url]) == 0
    with engine.connect() as conn:
        rows = dict(conn.execute(select(mnemonics.c.tlmMnemonic, mnemonics.c.description)).all())
    assert rows == {"ABC_ONE": "changed", "ABC_TWO": "second"}


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,value\nx,1\n", "missing column"),
        (HEADER + "ISIM,,1,d,float,V\n", "empty tlmMnemonic"),
        (HEADER + "ISIM,X,one,d,float,V\n", "line 2.*not an integer|:2: tlmIdentifier"),
    ],
)
def test_bad_csv_says_what_is_wrong(catalog_url, tmp_path, text, message):
    csv = tmp_path / "bad.csv"
    csv.write_text(text)
    with pytest.raises(ValueError, match=message):
        load_mnemonics(open_catalog(catalog_url), csv)
