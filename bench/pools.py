"""Focused check of the per-class pools: light requests while downloads saturate.

    nice -n 10 .venv/bin/python -m bench.pools --downloads 16 --light 4 --seconds 20 \\
        [--pools on,off] [--workers 1] [--workdir /tmp/bench-load]

``--downloads`` clients fetch the 10 MB product of :mod:`bench.load` in a loop
while ``--light`` clients ask for viz parameters and ``/whoami`` (no think
time), against one fresh ``webbarchive serve`` per pool setting, in the same
run. Reported: the light requests' p50/p99 and rate, the downloads' rate and
MB/s and p50, errors. The pools' goal is the light requests' p99 staying low
with download throughput no worse than without pools.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

import httpx

from bench.load import BIG_FILE, MIB, Result, Server, Targets, _pct, prepare, targets

LIGHT = ("viz_parameters", "whoami")


async def _loop(base: str, route: str, t: Targets, until: float, result: Result) -> None:
    paths = {
        "download_10mb": f"/api/v0.1/Download/file?uri=mast:JWST/product/{BIG_FILE}",
        "viz_parameters": f"/viz/api/v0.1/parameters?uri=mast:JWST/product/{t.product}",
        "whoami": "/whoami",
    }
    async with httpx.AsyncClient(base_url=base, timeout=120) as client:
        n = 0
        while time.monotonic() < until:
            name = route if route != "light" else LIGHT[n % len(LIGHT)]
            n += 1
            started = time.perf_counter()
            try:
                async with client.stream("GET", paths[name]) as answer:
                    async for _ in answer.aiter_raw(MIB):
                        pass
                status: int | str = answer.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            if status == 200:
                result.latencies[name].append(elapsed)
            else:
                result.errors[name][status] += 1


async def run(base: str, t: Targets, downloads: int, light: int, seconds: float) -> Result:
    result = Result()
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(_loop(base, "download_10mb", t, until, result) for _ in range(downloads)),
        *(_loop(base, "light", t, until, result) for _ in range(light)),
    )
    result.seconds = time.monotonic() - started
    return result


def render(title: str, r: Result) -> str:
    lines = [f"## {title}"]
    for name in (*LIGHT, "download_10mb"):
        got = r.latencies.get(name, [])
        errs = dict(r.errors.get(name, {}))
        extra = f" {len(got) * 10 / r.seconds:6.1f} MB/s" if name == "download_10mb" else ""
        lines.append(
            f"{name:16s} n={len(got):5d} {len(got) / r.seconds:6.1f}/s{extra} "
            f"p50 {_pct(got, 0.5):7.1f} ms  p99 {_pct(got, 0.99):7.1f} ms  errors {errs or 0}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--downloads", type=int, default=16)
    parser.add_argument("--light", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--pools", default="on,off")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--workdir", default="/tmp/bench-load")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    url = prepare(workdir, "sqlite", None)
    t = targets(url)
    print(
        f"# bench.pools: {args.downloads} downloads + {args.light} light clients x "
        f"{args.seconds:g} s, {args.workers} worker(s), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )
    for pools in args.pools.split(","):
        server = Server(url, args.workers, workdir, pools)
        try:
            asyncio.run(run(server.base, t, 2, 1, 2.0))  # warm-up
            result = asyncio.run(run(server.base, t, args.downloads, args.light, args.seconds))
            print(render(f"pools {pools}", result), flush=True)
        finally:
            server.stop()


if __name__ == "__main__":
    main()
