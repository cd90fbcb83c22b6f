"""The settings table: every variable declared once, parsed by its type, listed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest

from webbarchive.config import SettingError, Settings, describe

SRC = Path(__file__).resolve().parent.parent / "src" / "webbarchive"


def test_environment_overrides_defaults_by_type():
    settings = Settings.from_env({"WEBBARCHIVE_MASHUP_WAIT_S": "2.5", "WEBBARCHIVE_DB": "x.db"})
    assert settings.mashup_wait_s == 2.5
    assert settings.db_url == "x.db"
    assert Settings.from_env({}).mashup_wait_s == Settings().mashup_wait_s


def test_bad_value_names_the_variable_and_its_meaning():
    with pytest.raises(SettingError, match="WEBBARCHIVE_MASHUP_WAIT_S='soon'.*float"):
        Settings.from_env({"WEBBARCHIVE_MASHUP_WAIT_S": "soon"})


def test_every_environment_variable_read_in_the_code_is_a_setting():
    """No module reads a WEBBARCHIVE_* variable the table does not declare."""
    declared = {f.metadata["env"] for f in fields(Settings)}
    used = set()
    for path in SRC.rglob("*.py"):
        used |= set(re.findall(r"\"(WEBBARCHIVE_[A-Z0-9_]+)\"", path.read_text()))
    # Written by the CLI for the server process it starts, not read on its own.
    assert used - declared == set()
    assert len(describe()) == len(declared)


def test_settings_command_lists_every_variable():
    env = {**os.environ, "WEBBARCHIVE_MASHUP_WAIT_S": "3"}
    out = subprocess.run(
        [sys.executable, "-m", "webbarchive", "settings"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    for f in fields(Settings):
        assert f.metadata["env"] in out.stdout
    assert "WEBBARCHIVE_MASHUP_WAIT_S=3.0" in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "webbarchive", "settings"],
        env={**env, "WEBBARCHIVE_MASHUP_WAIT_S": "x"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "WEBBARCHIVE_MASHUP_WAIT_S='x'" in bad.stderr
