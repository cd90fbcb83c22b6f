"""A mock JWST sky: authentic-format pipeline products written with stdatamodels.

``generate(out, seed=7, scale="small")`` writes level-3 x1d/c1d/s2d/s3d, level-2
rate/cal/i2d and level-3 i2d files, NIRSpec MSA metadata files and association files for
the programs of ``webbarchive.mock.sky``, plus ``mock_manifest.json``: one entry per file
with what ingest should find in it (an independent truth for ingest tests).

The same seed gives byte-identical files: every date comes from the observation plan,
never from the clock.
"""

from __future__ import annotations

import json
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from webbarchive.mock import imaging, mosaics, msaexp, spectro
from webbarchive.mock import plans as mock_plans
from webbarchive.mock import telemetry as mock_telemetry
from webbarchive.mock.sky import plan

__all__ = ["MockSummary", "generate", "MANIFEST"]

MANIFEST = "mock_manifest.json"
SCALES = ("small", "medium", "large")


@dataclass
class MockSummary:
    """What ``generate`` wrote: files per product type (suffix), bytes and seconds."""

    out: Path
    seed: int
    scale: str
    files: Counter = field(default_factory=Counter)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def total_files(self) -> int:
        return sum(self.files.values())

    def __str__(self) -> str:
        kinds = ", ".join(f"{count} {suffix}" for suffix, count in sorted(self.files.items()))
        return (
            f"mock archive ({self.scale}, seed {self.seed}) in {self.out}: "
            f"{self.total_files} files ({kinds}), {self.bytes / 1e6:.1f} MB "
            f"in {self.seconds:.1f} s"
        )


def generate(
    out: Path,
    *,
    seed: int,
    scale: str = "small",
    progress: bool = True,
    dja_mosaics: bool = False,
    telemetry: bool = False,
    plans: bool = False,
) -> MockSummary:
    """Write a mock archive into ``out`` and return a summary.

    Parameters
    ----------
    out : folder to write into (created if missing).
    seed : the random seed; the same seed writes byte-identical files.
    scale : "small" (~150 files, the test suite), "medium" (~1,500, ingest benchmark) or
        "large".
    progress : show a tqdm progress bar (one step per observation).
    dja_mosaics : also write DJA drizzled mosaics (``*_drc_sci/_wht.fits``) over the
        imaging fields (see :mod:`webbarchive.mock.mosaics`).
    telemetry : also write engineering telemetry around the observations into
        ``out/telemetry`` (see :mod:`webbarchive.mock.telemetry`; ``webbarchive
        ingest-telemetry`` loads it, ``webbarchive ingest`` ignores it).
    plans : also write planned visits into ``out/plans/plans.csv`` (see
        :mod:`webbarchive.mock.plans`; ``webbarchive ingest-plans`` loads it).
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: use one of {', '.join(SCALES)}")
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    observations = plan(scale)
    # One child generator per observation: adding an observation never shifts the others.
    children = np.random.SeedSequence(seed).spawn(len(observations))
    entries: list[dict] = []
    bar = tqdm(observations, desc=f"mock {scale}", unit="obs", disable=not progress)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # stdatamodels validation chatter
        for obs, child in zip(bar, children, strict=True):
            rng = np.random.default_rng(child)
            writer = imaging if obs.kind == "image" else spectro
            entries.extend(writer.write_observation(obs, out, rng))
            bar.set_postfix(files=len(entries))
    if dja_mosaics:
        entries.extend(mosaics.write_all(observations, out, seed))
    msaexp.write_all(observations, out, seed)  # DJA spectra: not in the manifest
    if telemetry:  # engineering data: not in the manifest either
        mock_telemetry.write_all(mock_telemetry.observation_starts_us(observations), out, seed)
    if plans:  # planned visits: not in the manifest
        mock_plans.write_all(observations, out, seed)
    entries.sort(key=lambda e: e["filename"])
    (out / MANIFEST).write_text(json.dumps(entries, indent=1) + "\n")
    summary = MockSummary(out=out, seed=seed, scale=scale)
    for entry in entries:
        summary.files[entry["suffix"]] += 1
        summary.bytes += entry["size"]
    summary.seconds = time.perf_counter() - started
    return summary
