"""The mock's telemetry: MAST's wire format, deterministic, with noise, steps and gaps."""

from __future__ import annotations

import csv
from datetime import datetime

from tests.telemetry import edb
from webbarchive.mock import telemetry as mock_telemetry


def seconds(text: str) -> float:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").timestamp()


def test_same_seed_same_bytes(tmp_path):
    starts = edb.starts_us()[:2]
    a = mock_telemetry.write_all(starts, tmp_path / "a", seed=3)
    b = mock_telemetry.write_all(starts, tmp_path / "b", seed=3)
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_wire_format_and_realism(edb_archive):
    folder = edb_archive.folder
    some = sorted(folder.glob("SO_ZFXPOSNS-*.csv"))[0]
    raw = some.read_bytes()
    assert raw.startswith(b"theTime,MJD,euvalue,sqldataType\r\n") and raw.endswith(b"\r\n")
    assert b"\n" not in raw.replace(b"\r\n", b"")
    with open(folder / "mnemonics.csv", newline="") as handle:
        dictionary = list(csv.DictReader(handle))
    assert len(dictionary) >= 30
    assert set(edb_archive.truth) == {row["tlmMnemonic"] for row in dictionary}
    assert {"real", "float", "int", "tinyint", "varchar"} <= set(edb_archive.sql_types.values())

    fast = edb_archive.truth["SO_ZFXPOSNS"]
    steps = [seconds(b[0]) - seconds(a[0]) for a, b in zip(fast, fast[1:], strict=False)]
    assert abs(sorted(steps)[len(steps) // 2] - 1.0) < 0.01  # 1 Hz
    assert len({v for _, v in fast}) > len(fast) // 2  # noisy, not constant
    # Gaps: some mnemonic loses ten minutes inside a window.
    gaps = 0
    for mnemonic, samples in edb_archive.truth.items():
        if edb_archive.sql_types[mnemonic] == "varchar":
            continue
        times = [seconds(t) for t, _ in samples]
        gaps += sum(1 for a, b in zip(times, times[1:], strict=False) if 590 < b - a < 3600)
    assert gaps > 0
    # States change at the observation start in some windows.
    states = [v for _, v in edb_archive.truth["INRSI_C_GWA_POSITION"]]
    assert len(set(states)) > 1
