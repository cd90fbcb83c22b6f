"""Mixed load against a real ``webbarchive serve``: throughput, p50/p95/p99 per
route, errors, and the server's memory at start and end.

    nice -n 10 .venv/bin/python -m bench.load --clients 20 --seconds 30 \\
        [--backends sqlite,postgresql] [--workers 1,2] [--pools on,off] \\
        [--storage local,s3] [--workdir /tmp/bench-load]

C asyncio clients (one aiohttp session on one keep-alive connection each, no
think time) request for T seconds, each picking a route of :data:`MIX` by weight: viz parameters, Mashup
``Caom.Filtered``, TAP sync cone, the seed pixel search, ``/thumb``,
``/exposures`` and a 10 MB download. Then the same clients ask for viz
parameters alone. Every case runs the server fresh (``webbarchive serve
--workers W``) for each backend, worker count and pool setting (``--pools off``:
``WEBBARCHIVE_POOLS=off``, the state before the per-class pools).

The archive is the mock (``webbarchive mock --scale small --dja-mosaics``) and a
10 MB random file registered as a product, ingested into SQLite and into a
throwaway PostgreSQL cluster (tests/pgcluster.py); ``--workdir`` keeps both for
the next run. ``--storage`` names where products live: ``local`` (the folder)
and/or ``s3`` (a moto S3 server started for the run in its own process, on a
free port; the mock is ingested with ``--storage s3://webbarchive-bench/jwst``
and the 10 MB file put beside it, so downloads stream from the store and
thumbnails read cached copies; S3 catalogs are rebuilt each run, since moto
keeps its buckets in memory). Memory is the resident set of the server and its
workers, summed, after warm-up and at the end (moto's not counted).

The load generator shares the machine with the server: figures are for that
setting (state the cores and the load of other processes with them).
aiohttp's C parser keeps the generator's own CPU small: with httpx it took 0.65
of this machine's 2 cores, and 10 MB downloads were slowed by the client.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
from sqlalchemy import insert, select

from bench.common import free_port

REPO = Path(__file__).resolve().parents[1]
MIB = 1 << 20
BIG_FILE = "jw09999-o001_t001_nirspec_g395h-f290lp_s3d.fits"
SEED_PIXEL_SEARCH = "/spectra/api/v0.1/search?wavelength=1.2,1.3&flux.gte=10&derSnr.gt=5&limit=100"

#: (route label, weight): what a client of the mixed load asks for.
MIX = (
    ("viz_parameters", 30),
    ("mashup_filtered", 15),
    ("whoami", 10),
    ("tap_sync_cone", 10),
    ("pixel_search", 10),
    ("thumb", 10),
    ("exposures", 10),
    ("download_10mb", 5),
)
METADATA_ROUTES = ("viz_parameters", "mashup_filtered", "whoami")


@dataclass
class Targets:
    """What the requests name, read from the catalog."""

    product: str
    ra: float
    dec: float
    mosaic_ra: float
    mosaic_dec: float


@dataclass
class Result:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, dict[int | str, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.latencies.values())


# --- the archive ----------------------------------------------------------------------


S3_BUCKET = "webbarchive-bench"
S3_ROOT = f"s3://{S3_BUCKET}/jwst"


class MotoServer:
    """An S3-compatible server (moto) in its own process on a free port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(self.url, timeout=2)
                break
            except httpx.HTTPError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto did not start") from None
                time.sleep(0.3)
        import boto3

        boto3.client("s3", **self.client_args()).create_bucket(Bucket=S3_BUCKET)

    def env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def client_args(self) -> dict[str, str]:
        return {
            "endpoint_url": self.url,
            "region_name": "us-east-1",
            "aws_access_key_id": "bench",
            "aws_secret_access_key": "bench",
        }

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def _run(*argv: str, env: dict | None = None) -> None:
    cmd = [sys.executable, "-m", "webbarchive", *argv]
    subprocess.run(cmd, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL)


def _big_file(workdir: Path, url: str, moto: MotoServer | None = None) -> None:
    """A 10 MB random file registered as a public product of ``url`` (put in the
    bucket beside the mock when ``moto`` is given)."""
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import observations, products

    path = workdir / BIG_FILE
    if not path.exists():
        path.write_bytes(os.urandom(10 * MIB))
    where = str(path)
    if moto is not None:
        import boto3

        where = f"{S3_ROOT}/{BIG_FILE}"
        boto3.client("s3", **moto.client_args()).upload_file(
            str(path), S3_BUCKET, where[len(f"s3://{S3_BUCKET}/") :]
        )
    engine = open_catalog(url)
    with engine.begin() as conn:
        if conn.execute(select(products.c.filename).where(products.c.filename == BIG_FILE)).first():
            return
        obsid = conn.execute(
            insert(observations).values(obs_id="jw09999-o001_t001_nirspec", t_obs_release=59000.0)
        ).inserted_primary_key[0]
        conn.execute(
            insert(products).values(
                obsid=obsid,
                filename=BIG_FILE,
                path=where,
                suffix="s3d",
                size=path.stat().st_size,
                checksum=hashlib.md5(path.read_bytes()).hexdigest(),
                publicReleaseDate_mjd=59000.0,
            )
        )
    engine.dispose()


def prepare(workdir: Path, backend: str, cluster, moto: MotoServer | None = None) -> str:
    """The catalog URL of the archive on ``backend``, its products in the folder
    or, with ``moto``, in the bucket; a local SQLite catalog is built once per
    workdir, the others each run."""
    mock = workdir / "mock"
    if not (mock / ".complete").exists():
        _run("mock", "--seed", "7", "--scale", "small", "--dja-mosaics", "--quiet", str(mock))
        (mock / ".complete").touch()
    storage = "s3" if moto is not None else "local"
    if backend == "sqlite":
        url = str(workdir / ("catalog.db" if moto is None else "catalog-s3.db"))
        done = workdir / ".sqlite-ingested" if moto is None else None
        if done is None:
            for old in workdir.glob("catalog-s3.db*"):
                if old.is_dir():
                    import shutil

                    shutil.rmtree(old)
                else:
                    old.unlink()
    else:
        url = cluster.create_database(f"load_{os.getpid()}_{storage}")
        done = None
    if done is None or not done.exists():
        argv = ["ingest", str(mock), "--db", url, "--quiet"]
        if moto is not None:
            argv += ["--storage", S3_ROOT]
        _run(*argv, env=_env(workdir, moto))
        _big_file(workdir, url, moto)
        if done is not None:
            done.touch()
    return url


def targets(url: str) -> Targets:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import observations, products
    from webbarchive.dja.imaging.tables import dja_mosaics

    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        product, ra, dec = conn.execute(
            select(products.c.filename, observations.c.s_ra, observations.c.s_dec)
            .join(observations, observations.c.obsid == products.c.obsid)
            .where(products.c.filename.like("%x1d.fits"), observations.c.s_ra.is_not(None))
            .limit(1)
        ).one()
        mosaic = conn.execute(
            select(dja_mosaics.c.ra, dja_mosaics.c.dec)
            .where(dja_mosaics.c.ra.is_not(None))
            .limit(1)
        ).one()
    engine.dispose()
    return Targets(product, ra, dec, mosaic[0], mosaic[1])


# --- the server -----------------------------------------------------------------------


def _env(workdir: Path, moto: MotoServer | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env.update(
        WEBBARCHIVE_RATE_LIMITS="off",
        WEBBARCHIVE_PIXELS=str(workdir / "pg-pixels"),
        WEBBARCHIVE_RESULTS=str(workdir / "pg-results"),
        WEBBARCHIVE_TELEMETRY=str(workdir / "pg-telemetry"),
        WEBBARCHIVE_PREVIEWS=str(workdir / "pg-previews"),
        WEBBARCHIVE_STORAGE_CACHE=str(workdir / "storage-cache"),
    )
    if moto is not None:
        env.update(moto.env())
    env.update(extra)
    return env


def _process_tree(pid: int) -> list[int]:
    """``pid`` and its living descendants."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            continue
        found.append(p)
        todo += [int(c) for c in children]
    return found


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:  # the process ended meanwhile
        return ""


def _rss_mb(pid: int) -> dict[str, float]:
    """Resident memory of ``pid`` and its descendants (MB): all of it, its
    anonymous part (heap: what a leak grows) and its file-backed part (mapped
    segment files and libraries: pages the kernel may take back)."""
    total = {"VmRSS:": 0, "RssAnon:": 0, "RssFile:": 0}
    for p in _process_tree(pid):
        for line in _read(f"/proc/{p}/status").splitlines():
            key = line.split(maxsplit=1)[0] if line else ""
            if key in total:
                total[key] += int(line.split()[1])
    return {
        "rss": total["VmRSS:"] / 1024,
        "anon": total["RssAnon:"] / 1024,
        "file": total["RssFile:"] / 1024,
    }


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) of ``pid`` and its descendants, living ones."""
    total = 0.0
    for p in _process_tree(pid):
        stat = _read(f"/proc/{p}/stat")
        if stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
    return total


def _machine_cpu_s() -> float:
    """CPU seconds the whole machine has been busy (/proc/stat: all but idle and
    iowait). PostgreSQL's share is what the server and the generator leave of
    it: its backends come and go with the pool, and a process's own counters
    leave with it."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / _TICK


class _CpuShare:
    """Where the cores went during a phase: the server's processes, this load
    generator, and the rest of the machine (PostgreSQL's backends, moto), in
    CPU seconds per second."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.start = self._now()

    def _now(self) -> tuple[float, float, float, float]:
        me = os.times()
        return (
            time.monotonic(),
            _cpu_s(self.server.proc.pid),
            me.user + me.system,
            _machine_cpu_s(),
        )

    def report(self) -> str:
        end = self._now()
        wall = end[0] - self.start[0]
        server, generator, machine = (
            (e - s) / wall for s, e in zip(self.start[1:], end[1:], strict=True)
        )
        return (
            f"CPU (cores busy): server {server:.2f}, load generator {generator:.2f}, "
            f"the rest (PostgreSQL, moto) {machine - server - generator:.2f}, "
            f"idle {os.cpu_count() - machine:.2f}"
        )


class _MemoryTimeline:
    """The server's memory sampled every ``every_s`` seconds in a thread."""

    def __init__(self, server: Server, every_s: float) -> None:
        self.samples: list[dict[str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(server, every_s), daemon=True)
        self._thread.start()

    def _run(self, server: Server, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.samples.append(server.rss_mb())

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        return " ".join(f"{m['rss']:.0f}/{m['anon']:.0f}" for m in self.samples)


class Server:
    def __init__(
        self, url: str, workers: int, workdir: Path, pools: str, moto: MotoServer | None = None
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        extra = {"WEBBARCHIVE_POOLS": "off"} if pools == "off" else {}
        cmd = [sys.executable, "-m", "webbarchive", "serve", "--db", url]
        cmd += ["--port", str(self.port), "--workers", str(workers)]
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=_env(workdir, moto, **extra),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{self.base}/whoami", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.3)

    def rss_mb(self) -> dict[str, float]:
        return _rss_mb(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)


# --- the clients ----------------------------------------------------------------------


def _request(route: str, t: Targets) -> tuple[str, str, dict]:
    """(method, path, httpx keyword arguments) of one request of ``route``."""
    if route == "viz_parameters":
        return "GET", f"/viz/api/v0.1/parameters?uri=mast:JWST/product/{t.product}", {}
    if route == "whoami":
        return "GET", "/whoami", {}
    if route == "mashup_filtered":
        body = {
            "service": "Mast.Caom.Filtered",
            "format": "json",
            "params": {
                "columns": "*",
                "filters": [{"paramName": "obs_collection", "values": ["JWST"]}],
            },
            "pagesize": 50,
            "page": 1,
        }
        return "POST", "/api/v0/invoke", {"data": {"request": json.dumps(body)}}
    if route == "tap_sync_cone":
        adql = (
            "SELECT TOP 100 obs_id, s_ra, s_dec FROM ivoa.obscore WHERE CONTAINS("
            f"POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {t.ra}, {t.dec}, 0.5)) = 1"
        )
        return "GET", "/tap/sync", {"params": {"LANG": "ADQL", "QUERY": adql}}
    if route == "pixel_search":
        return "GET", SEED_PIXEL_SEARCH, {}
    if route == "thumb":
        return "GET", f"/thumb?ra={t.mosaic_ra}&dec={t.mosaic_dec}&size=4", {}
    if route == "exposures":
        return "GET", f"/exposures?ra={t.mosaic_ra}&dec={t.mosaic_dec}&arcmin=2&output=csv", {}
    if route == "download_10mb":
        return "GET", f"/api/v0.1/Download/file?uri=mast:JWST/product/{BIG_FILE}", {}
    raise ValueError(route)


async def _client(base: str, t: Targets, mix, until: float, result: Result, rng) -> None:
    """One client on one keep-alive connection (aiohttp: its C parser keeps the
    generator's own CPU small; the server shares the machine with it)."""
    routes, weights = zip(*mix, strict=True)
    connector = aiohttp.TCPConnector(limit=1)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:
        while time.monotonic() < until:
            route = rng.choices(routes, weights)[0]
            method, path, kwargs = _request(route, t)
            started = time.perf_counter()
            try:
                async with client.request(method, path, **kwargs) as answer:
                    async for _ in answer.content.iter_chunked(MIB):
                        pass
                status: int | str = answer.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status = type(exc).__name__
            elapsed = (time.perf_counter() - started) * 1000
            if status in (200, 206):
                result.latencies[route].append(elapsed)
            else:
                result.errors[route][status] += 1


async def load(base: str, t: Targets, clients: int, seconds: float, mix) -> Result:
    result, rng = Result(), random.Random(16)
    started = time.monotonic()
    until = started + seconds
    await asyncio.gather(
        *(_client(base, t, mix, until, result, random.Random(rng.random())) for _ in range(clients))
    )
    result.seconds = time.monotonic() - started
    return result


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def render(title: str, result: Result, rss: tuple[dict, dict] | None) -> str:
    lines = [f"## {title}"]
    errors = sum(sum(v.values()) for v in result.errors.values())
    memory = ""
    if rss:
        (start, end), grew = rss, 100 * (rss[1]["rss"] / rss[0]["rss"] - 1)
        memory = (
            f"; server RSS {start['rss']:.0f} MB after warm-up (anonymous {start['anon']:.0f}, "
            f"files {start['file']:.0f}), {end['rss']:.0f} MB at end (anonymous "
            f"{end['anon']:.0f}, files {end['file']:.0f}): {grew:+.0f}%"
        )
    lines.append(
        f"{result.total / result.seconds:.1f} requests/s ok, {result.total} ok, "
        f"{errors} errors in {result.seconds:.0f} s" + memory
    )
    lines.append(
        f"{'route':18s} {'n':>6s} {'req/s':>7s} {'p50 ms':>8s} {'p95 ms':>8s} {'p99 ms':>8s}  errors"
    )
    for route, _ in MIX:
        got = result.latencies.get(route, [])
        errs = dict(result.errors.get(route, {}))
        if not got and not errs:
            continue
        lines.append(
            f"{route:18s} {len(got):6d} {len(got) / result.seconds:7.1f} {_pct(got, 0.5):8.1f} "
            f"{_pct(got, 0.95):8.1f} {_pct(got, 0.99):8.1f}  {errs or ''}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--warmup", type=float, default=30.0, help="seconds of the mixed load before measuring"
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--pools", default="on,off", help="on, off or both (on,off)")
    parser.add_argument("--storage", default="local", help="local, s3 or both (local,s3)")
    parser.add_argument("--workdir", default="/tmp/bench-load")
    parser.add_argument("--no-viz-alone", action="store_true")
    parser.add_argument(
        "--cases",
        default="",
        help="explicit cases backend/storage/workers, comma-separated (e.g. "
        "sqlite/local/1,postgresql/local/2,sqlite/s3/2) instead of the product of "
        "--backends, --storage and --workers",
    )
    args = parser.parse_args(argv)

    if args.cases:
        cases = [tuple(c.split("/")) for c in args.cases.split(",")]
    else:
        cases = [
            (b, s, w)
            for b in args.backends.split(",")
            for s in args.storage.split(",")
            for w in args.workers.split(",")
        ]
    for backend, storage, workers in cases:
        if backend not in ("sqlite", "postgresql") or storage not in ("local", "s3"):
            parser.error(f"unknown case {backend}/{storage}/{workers}")
        int(workers)

    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    cluster = moto = None
    print(
        f"# bench.load: {args.clients} clients x {args.seconds:g} s, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
        flush=True,
    )
    try:
        if any(b == "postgresql" for b, _, _ in cases):
            sys.path.insert(0, str(REPO))
            from tests.pgcluster import Cluster

            cluster = Cluster().start()
        if any(s == "s3" for _, s, _ in cases):
            moto = MotoServer()
        archives: dict[tuple[str, str], tuple[str, Targets]] = {}
        for backend, storage, workers in cases:
            store = moto if storage == "s3" else None
            if (backend, storage) not in archives:
                url = prepare(workdir, backend, cluster, store)
                archives[backend, storage] = (url, targets(url))
            url, t = archives[backend, storage]
            for pools in args.pools.split(","):
                _case(args, url, t, int(workers), workdir, pools, store, f"{backend}, {storage}")
    finally:
        if cluster is not None:
            cluster.stop()
        if moto is not None:
            moto.stop()


def _case(args, url: str, t: Targets, workers: int, workdir: Path, pools: str, moto, where) -> None:
    """One server: warm-up, the mixed load, then (first pool setting) viz parameters alone."""
    server = Server(url, workers, workdir, pools, moto)
    try:
        asyncio.run(load(server.base, t, args.clients, args.warmup, MIX))
        rss0 = server.rss_mb()
        timeline = _MemoryTimeline(server, max(5.0, args.seconds / 10))
        cpu = _CpuShare(server)
        mixed = asyncio.run(load(server.base, t, args.clients, args.seconds, MIX))
        cpu_mixed = cpu.report()
        samples = timeline.stop()
        rss1 = server.rss_mb()
        name = f"{where}, {workers} worker(s), pools {pools}"
        load_avg = f" (load average {os.getloadavg()[0]:.1f})"
        print(render(f"mixed: {name}{load_avg}", mixed, (rss0, rss1)), flush=True)
        print(f"server RSS/anonymous MB during the load: {samples}", flush=True)
        print(cpu_mixed, flush=True)
        if not args.no_viz_alone and pools == args.pools.split(",")[0]:
            cpu = _CpuShare(server)
            alone = asyncio.run(
                load(server.base, t, args.clients, args.seconds / 2, (("viz_parameters", 1),))
            )
            print(render(f"viz parameters alone: {name}{load_avg}", alone, None), flush=True)
            print(cpu.report(), flush=True)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
