"""Download throughput and latency: webbarchive's Download/file against Python's
http.server serving the same file, and against reading the file directly.

    .venv/bin/python -m bench.download [--size-mb 200] [--repeat 10]

Both servers run as separate processes on 127.0.0.1 (uvicorn with one worker;
``python -m http.server``); one httpx client streams each body and discards it.
Cases: a full download (MB/s and p50/p95) and a 1 MiB range in the middle of the
file (p50/p95; http.server ignores Range, so that case is compared with reading
the same slice from disk only). The file is random bytes named like an s3d product, registered
in a throwaway SQLite catalog.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

from bench.common import Timing, free_port, measure, report
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import observations, products

FILENAME = "jw01234-o001_t001_nirspec_g395h-f290lp_s3d.fits"
MIB = 1 << 20


def _wait(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.head(url, timeout=1.0)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start")


def _make_archive(folder: Path, size_mb: int) -> Path:
    path = folder / FILENAME
    md5 = hashlib.md5()
    with open(path, "wb") as fh:
        for _ in range(size_mb):
            block = os.urandom(MIB)
            md5.update(block)
            fh.write(block)
    engine = open_catalog(str(folder / "catalog.db"))
    with engine.begin() as conn:
        obsid = conn.execute(
            insert(observations).values(obs_id=FILENAME.rsplit("_", 1)[0], t_obs_release=59000.0)
        ).inserted_primary_key[0]
        conn.execute(
            insert(products).values(
                obsid=obsid,
                filename=FILENAME,
                path=str(path),
                suffix="s3d",
                size=path.stat().st_size,
                checksum=md5.hexdigest(),
                publicReleaseDate_mjd=59000.0,  # public (an unknown release is hidden)
            )
        )
    engine.dispose()
    return path


def _fetch(client: httpx.Client, url: str, headers: dict[str, str] | None = None) -> int:
    received = 0
    with client.stream("GET", url, headers=headers) as response:
        response.raise_for_status()
        for chunk in response.iter_raw(MIB):
            received += len(chunk)
    return received


def _read_file(path: Path, start: int = 0, length: int | None = None) -> int:
    received = 0
    with open(path, "rb", buffering=0) as fh:
        fh.seek(start)
        remaining = length if length is not None else path.stat().st_size
        while remaining > 0:
            chunk = fh.read(min(MIB, remaining))
            if not chunk:
                break
            received += len(chunk)
            remaining -= len(chunk)
    return received


def _throughput(size: int, timing: Timing) -> str:
    return f"{size / MIB / (timing.p50 / 1000):8.0f} MB/s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="file size (MiB)")
    parser.add_argument("--repeat", type=int, default=10, help="measured runs per case")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-download-") as tmp:
        folder = Path(tmp)
        path = _make_archive(folder, args.size_mb)
        size = path.stat().st_size
        ours_port, base_port = free_port(), free_port()
        env = {**os.environ, "WEBBARCHIVE_DB": str(folder / "catalog.db")}
        servers = [
            subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "webbarchive.api.app:create_app", "--factory"]
                + ["--host", "127.0.0.1", "--port", str(ours_port), "--log-level", "warning"],
                env=env,
            ),
            subprocess.Popen(
                [sys.executable, "-m", "http.server", str(base_port)]
                + ["--bind", "127.0.0.1", "--directory", str(folder)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ),
        ]
        try:
            ours = f"http://127.0.0.1:{ours_port}/api/v0.1/Download/file?uri=mast:JWST/product/{FILENAME}"
            base = f"http://127.0.0.1:{base_port}/{FILENAME}"
            _wait(ours)
            _wait(base)
            middle = size // 2
            one_mib = {"Range": f"bytes={middle}-{middle + MIB - 1}"}
            with httpx.Client(timeout=120) as client:
                assert _fetch(client, ours) == size
                assert _fetch(client, ours, one_mib) == MIB
                rows = []
                full = measure("ours full", lambda: _fetch(client, ours), repeat=args.repeat)
                full_base = measure(
                    "http.server full", lambda: _fetch(client, base), repeat=args.repeat
                )
                full_disk = measure("read file", lambda: _read_file(path), repeat=args.repeat)
                rows.append((f"full {args.size_mb} MiB vs http.server", full, full_base))
                rows.append((f"full {args.size_mb} MiB vs reading the file", full, full_disk))
                repeat = max(50, args.repeat)
                ranged = measure("ours range", lambda: _fetch(client, ours, one_mib), repeat)
                ranged_disk = measure("read slice", lambda: _read_file(path, middle, MIB), repeat)
                rows.append(("1 MiB range vs reading the slice", ranged, ranged_disk))
        finally:
            for server in servers:
                server.terminate()
                server.wait(timeout=10)

    print(report(rows))
    print()
    print(
        f"full download (p50): webbarchive {_throughput(size, full)}, "
        f"http.server {_throughput(size, full_base)}, reading the file {_throughput(size, full_disk)}"
    )
    print(
        f"1 MiB range: webbarchive {_throughput(MIB, ranged)}, "
        f"reading the slice {_throughput(MIB, ranged_disk)}"
    )
    print("ratio column = baseline p50 / ours p50 (above 1: ours is faster)")


if __name__ == "__main__":
    main()
