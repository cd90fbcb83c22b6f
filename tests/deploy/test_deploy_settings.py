"""The deployment files start a server: every ``WEBBARCHIVE_*`` variable they
set is a setting the archive knows, and an app built from them starts (a bad
value stops the start with SettingError, as it would stop the real service).

The files' own PostgreSQL and S3 endpoints are not reached: the catalog is a
throwaway SQLite file, so this checks the settings, not the services."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from webbarchive.api.app import create_app
from webbarchive.config import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KNOWN = {f.metadata["env"] for f in fields(Settings)}


def _compose_environment() -> dict[str, str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    environment = compose["services"]["api"]["environment"]
    # ${NAME} and ${NAME:-default} as compose fills them from deploy/.env
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / "env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )

    def fill(value: str) -> str:
        return re.sub(
            r"\$\{(\w+)(?::-([^}]*))?\}",
            lambda m: example.get(m[1], m[2] or ""),
            str(value),
        )

    return {name: fill(value) for name, value in environment.items()}


def _systemd_environment() -> dict[str, str]:
    text = (DEPLOY / "systemd" / "env.example").read_text()
    return dict(
        line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#")
    )


@pytest.mark.parametrize("source", [_compose_environment, _systemd_environment])
def test_deploy_settings_start_a_server(source, tmp_path):
    environ = source()
    settings_set = {name for name in environ if name.startswith("WEBBARCHIVE_")}
    assert settings_set, "no WEBBARCHIVE_ setting found: the file's shape changed"
    unknown = settings_set - KNOWN - {"WEBBARCHIVE_DB_PASSWORD"}
    assert not unknown, f"settings the archive does not know: {sorted(unknown)}"
    settings = Settings.from_env(environ, db_url=str(tmp_path / "catalog.db"))
    app = create_app(settings)  # pools, rate limits and the rest parse here
    assert app.state.settings.pools == environ["WEBBARCHIVE_POOLS"]
    assert {p.kind.name for p in app.state.pools.pools} == {
        "thumbnails",
        "pixel_scans",
        "downloads",
    }
