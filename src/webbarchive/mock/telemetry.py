"""Mock engineering telemetry around the mock observations, in MAST's wire format.

For every observation of the plan, a window from 30 minutes before its start
to 90 minutes after it holds samples of :data:`MNEMONICS`: detector and optics
temperatures (64 s cadence, slow drift, noise, a heater step at the start of
the observation), fine steering mirror positions and the attitude estimate
(1 Hz), reaction wheel speeds (4 s, ramping through the slew), mechanism
positions and states (written on change and every 5 minutes). Some mnemonics
lose a 10-minute stretch in some windows (gaps, as dropouts in the EDB).

Written into ``<out>/telemetry/``:

- ``<MNEMONIC>-<yyyymmddThhmmss>-<yyyymmddThhmmss>.csv`` per mnemonic and
  window, as MAST's ``mast:jwstedb`` download names and formats them;
- ``mechanism_states.parquet``: the text-valued mnemonics in one Parquet file
  with a ``mnemonic`` column (the other input form of ``ingest-telemetry``);
- ``mnemonics.csv``: the dictionary (subsystem, tlmMnemonic, tlmIdentifier,
  description, sqlDataType, unit).

``webbarchive ingest-telemetry <out>/telemetry/*`` loads them all. The same
seed writes the same bytes.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from webbarchive.telemetry.wire import Samples, render_csv, us_to_times

FOLDER = "telemetry"
DICTIONARY = "mnemonics.csv"
STATES_PARQUET = "mechanism_states.parquet"
BEFORE_S = 30 * 60
AFTER_S = 90 * 60
US = 1_000_000


@dataclass(frozen=True)
class Mnemonic:
    name: str
    subsystem: str
    identifier: int
    description: str
    sql_type: str
    unit: str
    kind: str  # temperature | fast | wheel | position | state
    level: float = 0.0  # typical value (temperature K, wheel rpm, position)
    cadence_s: float = 64.0
    states: tuple[str, ...] = ()


def _temperature(name, sub, ident, what, level) -> Mnemonic:
    return Mnemonic(name, sub, ident, what, "real", "K", "temperature", level, 64.0)


MNEMONICS: tuple[Mnemonic, ...] = (
    _temperature("IGDP_NRSD_ALG_A1_TEMP", "NIRSPEC", 20011, "NIRSpec SCA 491 temperature", 42.78),
    _temperature("IGDP_NRSD_ALG_A2_TEMP", "NIRSPEC", 20012, "NIRSpec SCA 492 temperature", 42.91),
    _temperature("IGDP_NRSI_C_CAM_TEMP", "NIRSPEC", 20021, "NIRSpec camera temperature", 38.52),
    _temperature("IGDP_NRSI_C_COL_TEMP", "NIRSPEC", 20022, "NIRSpec collimator temperature", 38.17),
    _temperature("IGDP_NRCA_ALG_A1_TEMP", "NIRCAM", 21011, "NIRCam A1 SCA temperature", 39.31),
    _temperature("IGDP_NRCB_ALG_B1_TEMP", "NIRCAM", 21021, "NIRCam B1 SCA temperature", 39.64),
    _temperature("IGDP_NRCA_ALG_ALW_TEMP", "NIRCAM", 21012, "NIRCam A LW SCA temperature", 39.87),
    _temperature("IGDP_NIS_ALG_TEMP", "NIRISS", 22011, "NIRISS SCA temperature", 39.92),
    _temperature("IGDP_FGS_ALG_G1_TEMP", "FGS", 23011, "FGS guider 1 SCA temperature", 37.05),
    _temperature("IGDP_FGS_ALG_G2_TEMP", "FGS", 23012, "FGS guider 2 SCA temperature", 37.12),
    _temperature("IGDP_MIR_IC_DET_TEMP", "MIRI", 24011, "MIRI imager detector temperature", 6.42),
    _temperature("IGDP_MIR_SW_DET_TEMP", "MIRI", 24012, "MIRI MRS SW detector temperature", 6.39),
    _temperature("IGDP_MIR_LW_DET_TEMP", "MIRI", 24013, "MIRI MRS LW detector temperature", 6.44),
    _temperature("IGDP_MIR_CCC_TEMP", "MIRI", 24021, "MIRI contamination control cover temp.", 5.93),
    _temperature("SI_GZCTS75A", "OTE", 30075, "primary mirror segment A1 temperature", 50.81),
    _temperature("SI_GZCTS68A", "OTE", 30068, "secondary mirror temperature", 29.44),
    _temperature("SA_ZRWATEMP1", "ACS", 40101, "reaction wheel 1 bearing temperature", 291.6),
    _temperature("SA_ZRWATEMP2", "ACS", 40102, "reaction wheel 2 bearing temperature", 292.3),
    Mnemonic("SO_ZFXPOSNS", "OTE", 81669, "x axis position of the FSM", "float", "rad", "fast", 2e-5, 1.0),
    Mnemonic("SO_ZFYPOSNS", "OTE", 81670, "y axis position of the FSM", "float", "rad", "fast", -1e-5, 1.0),
    Mnemonic("SA_ZATTEST1", "ACS", 40001, "attitude estimate quaternion q1", "real", "", "fast", 0.31, 16.0),
    Mnemonic("SA_ZATTEST2", "ACS", 40002, "attitude estimate quaternion q2", "real", "", "fast", 0.46, 16.0),
    Mnemonic("SA_ZRWASPD1", "ACS", 40201, "reaction wheel 1 speed", "real", "rpm", "wheel", 1450.0, 4.0),
    Mnemonic("SA_ZRWASPD2", "ACS", 40202, "reaction wheel 2 speed", "real", "rpm", "wheel", -980.0, 4.0),
    Mnemonic("SA_ZRWASPD3", "ACS", 40203, "reaction wheel 3 speed", "real", "rpm", "wheel", 2210.0, 4.0),
    Mnemonic("SA_ZRWASPD4", "ACS", 40204, "reaction wheel 4 speed", "real", "rpm", "wheel", -1730.0, 4.0),
    Mnemonic("INRSI_GWA_X_TILT_AVGED", "NIRSPEC", 20101, "grating wheel tilt x (averaged)", "real", "V", "position", 0.1821, 300.0),
    Mnemonic("INRSI_GWA_Y_TILT_AVGED", "NIRSPEC", 20102, "grating wheel tilt y (averaged)", "real", "V", "position", 0.1377, 300.0),
    Mnemonic("INIS_FWA_MTRPOS", "NIRISS", 22101, "filter wheel motor position", "int", "step", "position", 1240.0, 300.0),
    Mnemonic("INIS_PWA_MTRPOS", "NIRISS", 22102, "pupil wheel motor position", "int", "step", "position", 3310.0, 300.0),
    Mnemonic("IMIR_HK_FW_CUR_POS", "MIRI", 24101, "MIRI imager filter wheel position", "varchar", "", "state", 0, 300.0,
             ("F560W", "F770W", "F1000W", "F1500W", "F1800W", "F2100W")),
    Mnemonic("INRSI_C_FWA_POSITION", "NIRSPEC", 20111, "NIRSpec filter wheel position", "varchar", "", "state", 0, 300.0,
             ("F070LP", "F100LP", "F170LP", "F290LP", "CLEAR", "OPAQUE")),
    Mnemonic("INRSI_C_GWA_POSITION", "NIRSPEC", 20112, "NIRSpec grating wheel position", "varchar", "", "state", 0, 300.0,
             ("G140M", "G235M", "G395M", "G140H", "G235H", "G395H", "PRISM", "MIRROR")),
    Mnemonic("SA_ZRWA1STATE", "ACS", 40301, "reaction wheel 1 state", "varchar", "", "state", 0, 300.0,
             ("ON", "ON", "ON", "STANDBY")),
    Mnemonic("SA_ZFGSMODE", "ACS", 40311, "FGS mode", "varchar", "", "state", 0, 300.0,
             ("TRACK", "FINEGUIDE", "ACQ", "ID", "STANDBY")),
    Mnemonic("INRC_FW_A_POSITION", "NIRCAM", 21101, "NIRCam A filter wheel position index", "tinyint", "", "state", 0, 300.0),
)  # fmt: skip


def _times(rng, t0_us: int, t1_us: int, cadence_s: float) -> np.ndarray:
    """Sample times from t0 to t1 at ``cadence_s``, with a fixed sub-second phase
    and a few ms of jitter (EDB samples are not on whole seconds)."""
    step = int(cadence_s * US)
    phase = int(rng.integers(0, step))
    base = np.arange(t0_us + phase, t1_us, step, dtype=np.int64)
    jitter = rng.integers(-2_000, 2_000, len(base))
    # Millisecond resolution, as the EDB's theTime.
    return np.unique((base + jitter) // 1000 * 1000)


def _gap(rng, time_us: np.ndarray, start_us: int) -> np.ndarray:
    """Keep-mask dropping a 10-minute stretch in about one window of four."""
    keep = np.ones(len(time_us), bool)
    if rng.random() < 0.25:
        lo = start_us + int(rng.integers(-BEFORE_S, AFTER_S - 600)) * US
        keep &= ~((time_us >= lo) & (time_us < lo + 600 * US))
    return keep


def _values(m: Mnemonic, rng, time_us: np.ndarray, start_us: int) -> tuple[np.ndarray, list]:
    """(numeric values, text values) of ``m`` at ``time_us``; the observation
    starts at ``start_us`` (steps, ramps and state changes happen there)."""
    hours = (time_us - start_us) / (3600 * US)
    after = time_us >= start_us
    n = len(time_us)
    if m.kind == "temperature":
        noise = rng.normal(0, 0.004 * max(m.level, 10) / 10, n)
        step = np.where(after, rng.choice([0.0, 0.05, -0.03]), 0.0)
        return np.round(m.level + 0.01 * hours + step + noise, 4), []
    if m.kind == "fast":
        walk = np.cumsum(rng.normal(0, abs(m.level) * 1e-3, n))
        slew = np.where(after, abs(m.level) * 0.2, 0.0)
        value = m.level + walk + slew + rng.normal(0, abs(m.level) * 1e-3, n)
        return np.round(value, 10 if abs(m.level) > 1e-3 else 12), []
    if m.kind == "wheel":
        ramp = np.clip(hours * 4, 0, 1) * rng.uniform(-200, 200)
        return np.round(m.level + ramp + rng.normal(0, 0.5, n), 3), []
    if m.kind == "position":
        level = np.where(after, m.level + rng.integers(-40, 40), m.level)
        if m.sql_type == "int":
            return level.astype(np.int64).astype(float), []
        return np.round(level * (1 + rng.normal(0, 1e-4, n)), 6), []
    # state: one value before the observation, another from its start
    if not m.states:  # an integer state (tinyint index)
        before, during = rng.integers(0, 12, 2)
        return np.where(after, during, before).astype(float), []
    before, during = rng.choice(m.states, 2)
    return np.full(n, np.nan), [during if a else before for a in after]


def _compact(time_us: int) -> str:
    return (
        str(np.datetime64(time_us, "us").astype("datetime64[s]")).replace("-", "").replace(":", "")
    )


def observation_starts_us(observations) -> list[int]:
    """Start of each observation (whole seconds since 1970, UTC, in microseconds)."""
    return sorted({int(round((o.start_mjd - 40587.0) * 86_400)) * US for o in observations})


def write_all(starts_us: list[int], out: Path, seed: int) -> list[Path]:
    """Write the telemetry of a window around each start (microseconds since
    1970, UTC) into ``out/telemetry``; the paths written."""
    folder = out / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    written = [_write_dictionary(folder / DICTIONARY)]
    children = np.random.SeedSequence([seed, 18]).spawn(len(MNEMONICS))
    state_rows: dict[str, list] = {"mnemonic": [], "theTime": [], "euvalue": [], "sqldataType": []}
    for m, child in zip(MNEMONICS, children, strict=True):
        rng = np.random.default_rng(child)
        for start_us in sorted(set(starts_us)):
            t0, t1 = start_us - BEFORE_S * US, start_us + AFTER_S * US
            time_us = _times(rng, t0, t1, m.cadence_s)
            keep = _gap(rng, time_us, start_us) if m.kind != "state" else slice(None)
            time_us = time_us[keep]
            values, texts = _values(m, rng, time_us, start_us)
            if texts:
                state_rows["mnemonic"] += [m.name] * len(texts)
                state_rows["theTime"] += us_to_times(time_us)
                state_rows["euvalue"] += texts
                state_rows["sqldataType"] += [m.sql_type] * len(texts)
                continue
            path = folder / f"{m.name}-{_compact(t0)}-{_compact(t1)}.csv"
            samples = Samples(m.sql_type, time_us, values)
            path.write_bytes(render_csv(samples).encode())
            written.append(path)
    if state_rows["mnemonic"]:
        pq.write_table(pa.table(state_rows), folder / STATES_PARQUET)
        written.append(folder / STATES_PARQUET)
    return written


def _write_dictionary(path: Path) -> Path:
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["subsystem", "tlmMnemonic", "tlmIdentifier", "description", "sqlDataType", "unit"]
        )
        for m in MNEMONICS:
            writer.writerow([m.subsystem, m.name, m.identifier, m.description, m.sql_type, m.unit])
    return path
