"""The JWST pipeline's own EDB client against a live server.

``jwst.lib.engdb_tools.ENGDB_Service`` (its ``engdb_mast`` backend, with
``base_url`` and a token) fetches mock mnemonics over several intervals; its
values, bracketing samples included, equal the ingested telemetry
(tests/telemetry/edb.py). jwst 3.0 needs asdf < 6 while this project pins asdf
6, so the client runs in a second environment, ``.venv-jwst`` (``make
venv-jwst``, built by ``make test``), as a subprocess; without it this test skips.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from astropy.time import Time

from tests.live_server import uvicorn_process
from tests.telemetry import edb

JWST_PYTHON = Path(__file__).resolve().parents[2] / ".venv-jwst" / "bin" / "python"
CLIENT = """
import json, sys
from jwst.lib.engdb_tools import ENGDB_Service
base_url, token, requests = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
service = ENGDB_Service(base_url=base_url, token=token)
answers = []
for mnemonic, start, end in requests:
    values = service.get_values(mnemonic, start, end, include_obstime=True,
                                include_bracket_values=True, zip_results=False)
    answers.append({"backend": type(service).__name__,
                    "mjd": [float(t.mjd) for t in values.obstime],
                    "value": [v if isinstance(v, str) else float(v) for v in values.value]})
print(json.dumps(answers))
"""

pytestmark = pytest.mark.skipif(
    not JWST_PYTHON.exists(),
    reason=f"no {JWST_PYTHON} (make venv-jwst builds it: jwst 3.0 needs asdf < 6)",
)


@pytest.fixture(scope="module")
def edb_live(tmp_path_factory):
    root = tmp_path_factory.mktemp("jwst-edb")
    archive = edb.build(str(root / "catalog.db"), root / "files")
    with uvicorn_process({"WEBBARCHIVE_DB": archive.url}, ready="/api/") as server:
        yield server, archive


def _seconds(the_time: str) -> str:
    """The interval bound the client sends: to the second (its uri is yyyymmddThhmmss),
    which the server reads as that second's start."""
    return the_time[:19]


def test_engdb_service_values_equal_the_ingested_telemetry(edb_live):
    server, archive = edb_live
    requests, truths = [], []
    for mnemonic in ("SO_ZFXPOSNS", "IGDP_MIR_IC_DET_TEMP", "IMIR_HK_FW_CUR_POS", "SA_ZFGSMODE"):
        samples = archive.truth[mnemonic]
        for first, last in [(3, 30), (len(samples) // 2, len(samples) // 2 + 150)]:
            start = _seconds(samples[first][0])
            end = _seconds(samples[min(last, len(samples) - 1)][0])
            requests.append((mnemonic, start.replace("T", " "), end.replace("T", " ")))
            truths.append(
                (
                    edb.expected(samples, start + ".000000", end + ".000000"),
                    archive.sql_types[mnemonic],
                )
            )
    done = subprocess.run(
        [str(JWST_PYTHON), "-c", CLIENT, server, archive.token, json.dumps(requests)],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    answers = json.loads(done.stdout.strip().splitlines()[-1])
    for (mnemonic, start, end), answer, (want, sql_type) in zip(
        requests, answers, truths, strict=True
    ):
        assert answer["backend"] == "EngdbMast"
        assert len(answer["value"]) == len(want) >= 3, (mnemonic, start, end)
        times = Time([t for t, _ in want], format="iso", scale="utc").mjd
        assert answer["mjd"] == pytest.approx(list(times), abs=1e-8)
        expected = [v if sql_type == "varchar" else float(v) for _, v in want]
        assert answer["value"] == expected, mnemonic
