"""The first hour with the ``webbarchive`` command: --version, help on every
option, tokens, a serve that refuses a missing catalog, and the demo's extras."""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from astropy.io import fits
from fastapi.testclient import TestClient

from webbarchive.api.app import create_app
from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog, why_not_a_catalog
from webbarchive.cli import (
    DEMO_MNEMONICS,
    PIXEL_SEARCH_UNITS,
    build_parser,
    demo_urls,
    load_demo_mnemonics,
    main,
)
from webbarchive.config import Settings

REPO = Path(__file__).resolve().parent.parent


def _run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "webbarchive", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def test_version_is_the_package_version():
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    run = _run("--version")
    assert run.returncode == 0 and run.stdout.strip() == f"webbarchive {version}"


def _parsers(parser: argparse.ArgumentParser, name: str = "webbarchive"):
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {sub_name}")


def test_every_option_and_subcommand_has_help():
    for name, parser in _parsers(build_parser()):
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                described = {a.dest: a.help for a in action._choices_actions}
                assert set(described) == set(action.choices), name
                for sub_name, help_text in described.items():
                    assert help_text, f"{name} {sub_name} has no help"
                    assert sub_name in text and help_text.split()[0] in text, (name, sub_name)
            else:
                assert action.help and action.help != argparse.SUPPRESS, (name, action.dest)


def test_top_help_lists_every_command():
    run = _run("--help")
    assert run.returncode == 0
    for command in ("ingest", "verify", "ingest-mnemonics", "serve", "mock", "demo",
                    "settings", "users", "programs", "token"):  # fmt: skip
        assert f"\n    {command}" in run.stdout, command


def test_token_list_and_revoke(tmp_path, capsys):
    db = str(tmp_path / "catalog.db")
    engine = open_catalog(db)
    accounts.add_user(engine, "jdoe")
    accounts.add_user(engine, "ally")
    laptop = accounts.create_token(engine, "jdoe", "laptop").token
    accounts.create_token(engine, "jdoe", "cluster")
    theirs = accounts.create_token(engine, "ally", "desk").token
    ids = {t["name"]: t["token_id"] for t in accounts.list_tokens(engine, "jdoe")}
    ally_id = accounts.list_tokens(engine, "ally")[0]["token_id"]

    assert main(["token", "list", "--user", "jdoe", "--db", db]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:3] for line in lines] == [
        [str(ids["laptop"]), "laptop", "active"],
        [str(ids["cluster"]), "cluster", "active"],
    ]
    assert all("last used never" in line and "expires 20" in line for line in lines)

    assert main(["token", "revoke", "--user", "jdoe", str(ids["laptop"]), "--db", db]) == 0
    assert "revoked" in capsys.readouterr().out
    with pytest.raises(accounts.TokenRejected, match="revoked"):
        accounts.resolve_token(engine, laptop)
    assert main(["token", "list", "--user", "jdoe", "--db", db]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.split()[:3] == [str(ids["laptop"]), "laptop", "revoked"] and "revoked 20" in first

    # someone else's token is "no such token", and stays valid
    assert main(["token", "revoke", "--user", "jdoe", str(ally_id), "--db", db]) == 2
    assert f"jdoe has no token {ally_id}" in capsys.readouterr().err
    assert accounts.resolve_token(engine, theirs).user.name == "ally"
    assert main(["token", "list", "--user", "ghost", "--db", db]) == 2
    assert "no user named 'ghost'" in capsys.readouterr().err
    engine.dispose()


def test_serve_refuses_a_catalog_that_does_not_exist(catalog_url, capsys):
    assert main(["serve", "--db", catalog_url, "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "webbarchive ingest FOLDER --db " + catalog_url in err and "webbarchive demo" in err
    if catalog_url.startswith("postgresql"):
        assert "holds no webbarchive catalog" in err
    else:
        assert f"there is no catalog at {Path(catalog_url).resolve()}" in err
        assert not Path(catalog_url).exists()  # nothing created behind the user's back
    open_catalog(catalog_url).dispose()
    assert why_not_a_catalog(catalog_url) is None


def test_serve_names_an_unreachable_server(capsys):
    url = "postgresql://nobody@127.0.0.1:9/none"
    assert main(["serve", "--db", url]) == 2
    assert f"cannot open the catalog {url}" in capsys.readouterr().err


def test_demo_mnemonics_answer_info_mnemonics(tmp_path):
    db = str(tmp_path / "demo.db")
    with open(DEMO_MNEMONICS, newline="") as f:
        rows = list(csv.DictReader(f))
    assert load_demo_mnemonics(db) == len(rows) >= 3
    with TestClient(create_app(Settings.from_env(db_url=db))) as client:
        body = client.get("/viz/api/v0.1/info/mnemonics").json()
        assert {m["tlmMnemonic"] for m in body["data"]} == {r["tlmMnemonic"] for r in rows}
        one = client.get("/viz/api/v0.1/info/mnemonics", params={"name": "demo_fsm_xpos"})
        assert one.json()["data"][0]["unit"] == "rad"
    assert any(u.endswith("/viz/api/v0.1/info/mnemonics") for u in demo_urls(db, "http://h"))


def test_demo_pixel_search_example_states_the_flux_unit(tmp_path, mock_dir):
    (search,) = [u for u in demo_urls(str(tmp_path / "d.db"), "http://h") if "/search?" in u]
    assert PIXEL_SEARCH_UNITS in search and "flux.gte=1e-6" in search
    # the claim is the products' own unit: FLUX of an x1d is in Jy
    x1d = next(iter(sorted(mock_dir.rglob("*_x1d.fits"))))
    with fits.open(x1d) as hdul:
        columns = hdul["EXTRACT1D"].columns
        assert columns["FLUX"].unit == "Jy" and columns["WAVELENGTH"].unit == "um"
    assert "Jy for x1d" in PIXEL_SEARCH_UNITS and "microns" in PIXEL_SEARCH_UNITS
