"""``webbarchive ingest-plans``: the documented forms, replacement, refusals; the mock's plans."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import planned_visits
from webbarchive.cli import main
from webbarchive.mock import plans as mock_plans
from webbarchive.mock.sky import plan
from webbarchive.plans.query import search

HEADER = (
    "program,observation,visit,target_name,ra,dec,pm_ra,pm_dec,epoch,template,"
    "optical_elements,status,window_start,window_end\n"
)


def _count(url: str) -> int:
    with open_catalog(url).connect() as conn:
        return conn.execute(select(func.count()).select_from(planned_visits)).scalar_one()


def test_csv_then_json_replaces_visits(tmp_path, capsys):
    db = str(tmp_path / "c.db")
    first = tmp_path / "plans.csv"
    first.write_text(
        HEADER + "01345,62,1,CEERS-EGS,214.8557,52.8556,,,,NIRSpec MOS,F290LP;G395M,Scheduled,"
        "2026-12-21T04:51:20,\n"
        + "1345,62,2,CEERS-EGS,214.8557,52.8556,,,,NIRCam Imaging,F200W,implementation,,\n"
    )
    assert main(["ingest-plans", str(first), "--db", db]) == 0
    assert "loaded 2 planned visits" in capsys.readouterr().out
    update = tmp_path / "plans.json"
    update.write_text(
        json.dumps(
            {
                "visits": [
                    {
                        "program": 1345,
                        "observation": 62,
                        "visit": 1,
                        "target_name": "CEERS-EGS",
                        "ra": 214.8557,
                        "dec": 52.8556,
                        "template": "NIRSpec MultiObject Spectroscopy",
                        "status": "Completed",
                        "window_start": 61395.2,
                    }
                ]
            }
        )  # fmt: skip
    )
    assert main(["ingest-plans", str(update), "--db", db]) == 0
    assert _count(db) == 2
    with open_catalog(db).connect() as conn:
        rows = {(r["visit"], r["status"], r["template"]) for r in search(conn, 214.8557, 52.8556)}
    assert rows == {
        (1, "Completed", "NIRSpec MultiObject Spectroscopy"),
        (2, "Implementation", "NIRCam Imaging"),
    }


def test_bad_files_are_refused_whole(tmp_path, capsys):
    db = str(tmp_path / "c.db")
    cases = {
        "no_status.csv": ("program,observation,visit,target_name,ra,dec,template\n", "lacks status"),
        "bad_template.csv": (HEADER + "1,1,1,T,1,2,,,,Hubble WFC3,,Scheduled,,\n", "unknown template"),
        "bad_dec.csv": (HEADER + "1,1,1,T,1,95,,,,MIRI Imaging,,Scheduled,,\n", "dec must be"),
        "half_pm.csv": (HEADER + "1,1,1,T,1,2,5,,,MIRI Imaging,,Scheduled,,\n", "both pm_ra"),
        "bad_time.csv": (HEADER + "1,1,1,T,1,2,,,,MIRI Imaging,,Scheduled,soon,\n", "window_start"),
        "twice.csv": (HEADER + "1,1,1,T,1,2,,,,MIRI Imaging,,Scheduled,,\n" * 2, "twice"),
        "bad.json": ('{"visits": 3}', "list of visit objects"),
    }  # fmt: skip
    for name, (text, says) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        assert main(["ingest-plans", str(path), "--db", db]) == 2, name
        assert says in capsys.readouterr().err, name
    assert _count(db) == 0


def test_mock_plans_hold_the_executed_observations_and_overlap_them():
    observations = plan("small")
    rows = mock_plans.executed_visits(observations)
    assert {(r["program"], r["observation"]) for r in rows} == {
        (o.program.number, o.number) for o in observations
    }
    assert all(r["status"] == "Completed" for r in rows)
    extra = mock_plans.extra_visits(observations, 7)
    assert extra == mock_plans.extra_visits(observations, 7)  # deterministic
    assert not {(r["program"], r["observation"], r["visit"]) for r in extra} & {
        (r["program"], r["observation"], r["visit"]) for r in rows
    }
    statuses = {r["status"] for r in extra}
    assert len(statuses) >= 5
