"""Same seed -> byte-identical files; another seed -> different files. The full small
archive is written once more through the ``webbarchive mock`` command and compared with the
session's ``mock_dir`` (seed 7)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from webbarchive.mock import imaging, spectro
from webbarchive.mock.sky import plan


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_command_rewrites_the_same_bytes(mock_dir, tmp_path):
    out = tmp_path / "again"
    result = subprocess.run(
        [sys.executable, "-m", "webbarchive", "mock", str(out), "--seed", "7", "--scale", "small", "--quiet", "--no-telemetry", "--no-plans"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "files" in result.stdout and "x1d" in result.stdout
    assert _digests(out) == _digests(mock_dir)


def _write_some(out: Path, seed: int) -> None:
    observations = plan("small")
    picked = [o for o in observations if o.kind == "mos"][:1] + [
        o for o in observations if o.kind == "image"
    ][:1]
    out.mkdir()
    for obs in picked:
        writer = imaging if obs.kind == "image" else spectro
        writer.write_observation(obs, out, np.random.default_rng(seed))


def test_another_seed_writes_other_data(tmp_path):
    _write_some(tmp_path / "a", 1)
    _write_some(tmp_path / "b", 2)
    a, b = _digests(tmp_path / "a"), _digests(tmp_path / "b")
    fits_names = {n for n in a if n.endswith(".fits")} & set(b)
    assert fits_names  # same plan -> the images and level-2 names coincide
    assert all(a[n] != b[n] for n in fits_names if "_msa" not in n)
