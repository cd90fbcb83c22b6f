"""The account commands: users add/list, programs set-pi/grant/revoke/set-release, token create."""

from __future__ import annotations

from sqlalchemy import insert, select

from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import programs
from webbarchive.cli import main


def test_account_commands(tmp_path, capsys):
    db = str(tmp_path / "catalog.db")
    assert main(["users", "add", "jdoe", "--display-name", "Jane Doe", "--db", db]) == 0
    assert main(["users", "add", "ally", "--db", db]) == 0
    assert main(["users", "add", "root", "--admin", "--db", db]) == 0
    assert main(["users", "add", "jdoe", "--db", db]) == 2
    assert "already exists" in capsys.readouterr().err

    assert main(["programs", "set-pi", "01039", "jdoe", "--db", db]) == 0
    assert main(["programs", "grant", "1039", "ally", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "PI jdoe; collaborators ally" in out and "no files in the catalog yet" in out
    assert main(["programs", "grant", "1039", "nobody", "--db", db]) == 2
    assert "no user named 'nobody'" in capsys.readouterr().err

    engine = open_catalog(db)
    assert accounts.user_for(engine, "ally").programs == {"1039"}
    assert main(["programs", "revoke", "1039", "ally", "--db", db]) == 0
    assert accounts.user_for(engine, "ally").programs == frozenset()
    assert main(["users", "list", "--db", db]) == 0
    listing = capsys.readouterr().out
    assert "jdoe: PI of 1039" in listing and "root admin" in listing

    # set-release needs the program's row (ingest creates it).
    assert main(["programs", "set-release", "1039", "2030-01-01", "--db", db]) == 2
    with engine.begin() as conn:
        conn.execute(insert(programs).values(proposal_id="1039"))
    assert main(["programs", "set-release", "1039", "2030-01-01", "--db", db]) == 0
    assert main(["programs", "set-release", "1039", "bogus", "--db", db]) == 2
    with engine.connect() as conn:
        override = conn.execute(select(programs.c.release_override_mjd)).scalar()
    assert override == 62502.0  # MJD of 2030-01-01T00:00 UTC
    assert main(["programs", "set-release", "1039", "none", "--db", db]) == 0
    with engine.connect() as conn:
        assert conn.execute(select(programs.c.release_override_mjd)).scalar() is None

    capsys.readouterr()
    assert main(["token", "create", "--user", "jdoe", "--name", "laptop", "--db", db]) == 0
    captured = capsys.readouterr()
    token = captured.out.strip()
    assert "shown once" in captured.err
    assert accounts.resolve_token(engine, token).user.name == "jdoe"
    assert main(["token", "create", "--user", "ghost", "--name", "x", "--db", db]) == 2
    engine.dispose()
