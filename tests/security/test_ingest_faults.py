"""Ingest under faults (issue 12, item 8), on both backends.

- Two ingests at once: one writer at a time, the other waits (naming the holder)
  or refuses with ``--no-wait``; no orphan segment files, the catalog as one
  ingest makes it.
- A full disk (``OSError(ENOSPC)`` from the Parquet writer, ``SQLITE_FULL`` or
  PostgreSQL's ``DiskFull`` from the catalog): one line, exit 74, nothing
  half-written, and running the command again completes the catalog.
- An ingest killed (SIGKILL) in a real subprocess: nothing half-written is
  listed, its reader processes do not survive it, the next run completes and a
  further one changes nothing.
- ``webbarchive verify [--repair]`` finds orphan, missing and altered segments.

The truth each state is held against is an ingest of the same files that met no
fault (``reference``), and the pixel store's files as listed on disk.
"""

from __future__ import annotations

import errno
import itertools
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import func, inspect, select

import webbarchive
from webbarchive import cli
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import keywords, observations, products
from webbarchive.dja.imaging.tables import dja_associations, dja_exposures, dja_mosaics
from webbarchive.dja.spectra.tables import nirspec_extractions, nirspec_slits
from webbarchive.pixels import msaexp_source
from webbarchive.pixels.store import pixels_root
from webbarchive.pixels.tables import pixel_segments, spectral_characteristics

REPO = Path(__file__).resolve().parents[2]
_counter = itertools.count()


@pytest.fixture(scope="module", autouse=True)
def pixels_env(tmp_path_factory):
    """PostgreSQL catalogs keep their pixel store under $WEBBARCHIVE_PIXELS
    (inherited by the subprocesses)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEBBARCHIVE_PIXELS", str(tmp_path_factory.mktemp("pg-pixels")))
        yield


# --- the truth ---------------------------------------------------------------------


def _engine(url: str):
    return open_catalog(url, create=False)


def store_files(url: str) -> set[str]:
    """Segment files (complete or partial) on disk, relative to the store's root."""
    root = pixels_root(_engine(url))
    if not root.is_dir():
        return set()
    return {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and (p.name.endswith(".parquet") or p.name.endswith(".partial"))
    }


def listed_segments(url: str) -> set[str]:
    with _engine(url).connect() as conn:
        return set(conn.execute(select(pixel_segments.c.segment)).scalars())


def snapshot(url: str) -> dict:
    """What the catalog shows: products, pixel store, DJA tables (no generated ids)."""
    engine = _engine(url)
    with engine.connect() as conn:
        filename = dict(conn.execute(select(products.c.product_id, products.c.filename)).all())
        # msaexp spectra: product id -extraction_id (webbarchive.pixels.msaexp_source)
        if inspect(conn).has_table(msaexp_source.extractions.name):
            e = msaexp_source.extractions.c
            for extraction_id, file in conn.execute(select(e.extraction_id, e.file)):
                filename[-extraction_id] = f"msaexp {file}"
        chars = conn.execute(
            select(
                spectral_characteristics.c.product_id,
                spectral_characteristics.c.npix,
                spectral_characteristics.c.checksum,
            )
        ).all()
        segments = conn.execute(select(pixel_segments.c.segment, pixel_segments.c.nrows)).all()

        def names(column):
            return sorted(conn.execute(select(column)).scalars())

        state = {
            "products": sorted(
                conn.execute(select(products.c.filename, products.c.checksum)).all()
            ),
            "observations": names(observations.c.obs_id),
            "spectra": sorted((filename.get(pid), n, c) for pid, n, c in chars),
            "pixels": sum(n for _, n in segments),
            "partitions": sorted({s.rsplit("/", 1)[0] for s, _ in segments}),
            "dja_exposures": names(dja_exposures.c.file),
            "dja_associations": names(dja_associations.c.assoc_name),
            "dja_mosaics": names(dja_mosaics.c.file),
            "nirspec_extractions": names(nirspec_extractions.c.file),
            "nirspec_slits": conn.execute(
                select(func.count()).select_from(nirspec_slits)
            ).scalar_one(),
        }
    return state


def assert_nothing_half_written(url: str) -> None:
    """Every listed segment is on disk with the pixels the catalog says and every
    spectrum points at a listed segment; every product has its keywords and its
    observation, every observation a product."""
    engine = _engine(url)
    root = pixels_root(engine)
    with engine.connect() as conn:
        segments = dict(
            conn.execute(select(pixel_segments.c.segment, pixel_segments.c.nrows)).all()
        )
        held = dict(
            conn.execute(
                select(spectral_characteristics.c.segment, func.sum(spectral_characteristics.c.npix))
                .group_by(spectral_characteristics.c.segment)
            ).all()
        )  # fmt: skip
        no_keywords = conn.execute(
            select(func.count())
            .select_from(products)
            .where(~select(keywords.c.product_id).where(keywords.c.product_id == products.c.product_id).exists())
        ).scalar_one()  # fmt: skip
        no_observation = conn.execute(
            select(func.count())
            .select_from(products)
            .where(~select(observations.c.obsid).where(observations.c.obsid == products.c.obsid).exists())
        ).scalar_one()  # fmt: skip
        empty_observations = conn.execute(
            select(func.count())
            .select_from(observations)
            .where(~select(products.c.obsid).where(products.c.obsid == observations.c.obsid).exists())
        ).scalar_one()  # fmt: skip
    for segment, nrows in segments.items():
        assert pq.read_metadata(root / segment).num_rows == nrows, segment
        assert held.get(segment) == nrows, segment
    assert set(held) <= set(segments)
    assert (no_keywords, no_observation, empty_observations) == (0, 0, 0)


def assert_store_clean(url: str) -> None:
    """No file in the store that the catalog does not list (and none missing)."""
    assert store_files(url) == listed_segments(url)


def generation(url: str) -> tuple[str, int]:
    """The counter that moves with any write to the catalog's watched tables."""
    from webbarchive.catalog.generation import current

    with _engine(url).connect() as conn:
        return current(conn)


_references: dict[str, dict] = {}


@pytest.fixture
def reference(request, mock_dir, catalog_url, tmp_path_factory) -> dict:
    """The snapshot of the mock archive ingested without a fault, per backend."""
    from webbarchive.ingest.runner import ingest_paths

    backend = "postgresql" if catalog_url.startswith("postgresql") else "sqlite"
    if backend not in _references:
        if backend == "sqlite":
            url = str(tmp_path_factory.mktemp("reference") / "catalog.db")
        else:
            url = request.getfixturevalue("pg_cluster").create_database(f"faultref_{os.getpid()}")
        ingest_paths([str(mock_dir)], db_url=url, workers=1, progress=False)
        _references[backend] = snapshot(url)
    return _references[backend]


# --- running ingest ----------------------------------------------------------------


def _env() -> dict[str, str]:
    env = dict(os.environ)
    source = Path(webbarchive.__file__).resolve().parents[1]  # the sources under test
    env["PYTHONPATH"] = os.pathsep.join([str(source), str(REPO), env.get("PYTHONPATH", "")])
    return env


def start_ingest(url: str, mock_dir: Path, *extra: str, workers: int = 1) -> subprocess.Popen:
    """``webbarchive ingest`` in a real subprocess."""
    cmd = [sys.executable, "-m", "webbarchive", "ingest", str(mock_dir), "--db", url]
    cmd += ["--workers", str(workers), "--quiet", *extra]
    return subprocess.Popen(
        cmd, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``webbarchive`` in this process (so faults can be monkeypatched in)."""
    capsys.readouterr()
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def cli_lines(err: str, command: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(f"webbarchive {command}:")]


# --- two writers -------------------------------------------------------------------


def test_two_ingests_at_once_make_one_consistent_catalog(catalog_url, mock_dir, reference):
    first = start_ingest(catalog_url, mock_dir)
    second = start_ingest(catalog_url, mock_dir)
    results = [p.communicate(timeout=300) for p in (first, second)]
    assert (first.returncode, second.returncode) == (0, 0), results
    assert_store_clean(catalog_url)  # no orphan segment files
    assert_nothing_half_written(catalog_url)
    assert snapshot(catalog_url) == reference
    # exactly one of them ingested the files, the other found them done
    outs = sorted(out.splitlines()[0] for out, _ in results)
    assert outs[0].startswith("ingested 0, unchanged 126") and outs[1].startswith("ingested 126")


def _hold_lock(url: str):
    from webbarchive.catalog.writer_lock import writer_lock

    return writer_lock(open_catalog(url, create=False), wait=False)


def _holder_words() -> list[str]:
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    return [f"pid {os.getpid()}", socket.gethostname(), today]


def test_second_ingest_waits_and_says_who_writes(catalog_url, mock_dir, reference):
    with _hold_lock(catalog_url):
        proc = start_ingest(catalog_url, mock_dir)
        line = proc.stderr.readline()
        while line and "waiting" not in line:
            line = proc.stderr.readline()
        assert "waiting" in line and all(w in line for w in _holder_words()), line
        time.sleep(1.0)
        assert proc.poll() is None  # still waiting
        assert not store_files(catalog_url)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert snapshot(catalog_url) == reference
    assert_store_clean(catalog_url)


def test_no_wait_refuses_in_one_line(catalog_url, mock_dir):
    with _hold_lock(catalog_url):
        proc = start_ingest(catalog_url, mock_dir, "--no-wait")
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == cli.EXIT_BUSY, err
        assert "Traceback" not in err
        (line,) = cli_lines(err, "ingest")
        assert all(w in line for w in _holder_words()), line
        verify = subprocess.run(
            [sys.executable, "-m", "webbarchive", "verify", "--db", catalog_url, "--no-wait"],
            cwd=REPO, env=_env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert verify.returncode == cli.EXIT_BUSY, verify.stderr
        assert len(cli_lines(verify.stderr, "verify")) == 1
    with _engine(catalog_url).connect() as conn:  # the refused run wrote nothing
        assert (
            not conn.dialect.has_table(conn, "products")
            or not conn.execute(select(func.count()).select_from(products)).scalar_one()
        )
    assert not store_files(catalog_url)


# --- a full disk -------------------------------------------------------------------


def test_full_disk_in_the_pixel_store(catalog_url, mock_dir, reference, capsys, monkeypatch):
    from webbarchive.pixels import store

    real_write = store.pq.write_table
    calls = itertools.count(1)

    def write_table(table, where, **kwargs):
        if next(calls) == 3:  # half a file, then the disk is full
            Path(where).write_bytes(b"PAR1" + b"\0" * 1000)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(where))
        return real_write(table, where, **kwargs)

    monkeypatch.setattr(store.pq, "write_table", write_table)
    code, out, err = run_cli(
        capsys, "ingest", str(mock_dir), "--db", catalog_url, "--workers", "1", "--quiet"
    )
    assert code == cli.EXIT_NO_SPACE, err
    assert "Traceback" not in err
    (line,) = cli_lines(err, "ingest")
    assert "no space left on device" in line
    assert_nothing_half_written(catalog_url)
    assert_store_clean(catalog_url)  # the partial file is gone
    monkeypatch.setattr(store.pq, "write_table", real_write)  # space freed

    code, out, err = run_cli(
        capsys, "ingest", str(mock_dir), "--db", catalog_url, "--workers", "1", "--quiet"
    )
    assert code == 0, err
    assert snapshot(catalog_url) == reference  # pixel store and DJA tables complete
    assert_store_clean(catalog_url)


def _disk_full(url: str) -> Exception:
    """The error the catalog's driver raises on a full disk, wrapped as SQLAlchemy does."""
    if url.startswith("postgresql"):
        import psycopg

        orig = psycopg.errors.DiskFull(
            'could not extend file "base/16384/16999": No space left on device'
        )
    else:
        orig = sqlite3.OperationalError("database or disk is full")
    return sa_exc.OperationalError("INSERT INTO keywords ...", {}, orig)


def test_full_disk_in_the_catalog(catalog_url, mock_dir, reference, capsys, monkeypatch):
    from webbarchive.ingest import writer

    real_write_product = writer._write_product
    calls = itertools.count(1)

    def write_product(conn, result, start_mjd):  # the 40th file: inside its transaction
        outcome = real_write_product(conn, result, start_mjd)
        if next(calls) >= 40:
            raise _disk_full(catalog_url)
        return outcome

    monkeypatch.setattr(writer, "_write_product", write_product)
    code, out, err = run_cli(
        capsys, "ingest", str(mock_dir), "--db", catalog_url, "--workers", "1", "--quiet"
    )
    assert code == cli.EXIT_NO_SPACE, (out, err)
    assert "Traceback" not in err
    (line,) = cli_lines(err, "ingest")
    assert "no space left on device" in line
    assert_nothing_half_written(catalog_url)
    with _engine(catalog_url).connect() as conn:  # whole transactions only
        written = conn.execute(select(func.count()).select_from(products)).scalar_one()
    assert written == 32  # two batches of 16 committed, the third rolled back
    monkeypatch.setattr(writer, "_write_product", real_write_product)

    code, out, err = run_cli(
        capsys, "ingest", str(mock_dir), "--db", catalog_url, "--workers", "1", "--quiet"
    )
    assert code == 0, err
    assert snapshot(catalog_url) == reference
    assert_store_clean(catalog_url)


# --- a killed ingest ---------------------------------------------------------------

#: A driver that runs the real CLI with a pause at one point (after some files, or
#: between a segment written and listed), and says so on stdout.
_PAUSING_INGEST = textwrap.dedent(
    """
    import sys, time
    from webbarchive import cli
    from webbarchive.ingest import runner, writer
    from webbarchive.pixels import index

    point, argv = sys.argv[1], sys.argv[2:]
    module, name, nth = {
        "catalog": (writer, "write_batch", 3),
        "segment": (index, "record_segment", 2),
    }[point]
    original, calls = getattr(module, name), [0]

    def paused(*args, **kwargs):
        calls[0] += 1
        if point == "catalog":
            result = original(*args, **kwargs)
        if calls[0] == nth:
            print("PAUSED", flush=True)
            time.sleep(600)
        return result if point == "catalog" else original(*args, **kwargs)

    setattr(module, name, paused)
    sys.exit(cli.main(argv))
    """
)


def _children(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True)
    return [int(p) for p in found.stdout.split()]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.parametrize("point", ["catalog", "segment"])
def test_killed_ingest_leaves_only_complete_work(catalog_url, mock_dir, reference, point):
    cmd = [sys.executable, "-c", _PAUSING_INGEST, point, "ingest", str(mock_dir)]
    cmd += ["--db", catalog_url, "--workers", "2", "--quiet"]
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "PAUSED"
        readers = _children(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # the reader processes die with it (they would hold its catalog connections)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in readers) and time.monotonic() < deadline:
        time.sleep(0.1)
    survivors = [p for p in readers if _alive(p)]
    for pid in survivors:  # ours: do not leave them behind a failing test
        os.kill(pid, signal.SIGKILL)
    assert not survivors
    assert_nothing_half_written(catalog_url)

    # the next run is not blocked, completes the catalog and leaves no orphan
    rerun = start_ingest(catalog_url, mock_dir, "--no-wait")
    out, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err
    assert snapshot(catalog_url) == reference
    assert_store_clean(catalog_url)
    assert_nothing_half_written(catalog_url)

    # and one more changes nothing, down to the segment files
    files, before = store_files(catalog_url), generation(catalog_url)
    again = start_ingest(catalog_url, mock_dir)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert out.startswith("ingested 0, unchanged 126, replaced 0, skipped 0")
    assert snapshot(catalog_url) == reference and store_files(catalog_url) == files
    assert generation(catalog_url) == before  # not a row of the watched tables written


# --- verify ------------------------------------------------------------------------


def test_verify_finds_and_repairs_the_pixel_store(catalog_url, mock_dir, reference, capsys):
    code, _, err = run_cli(
        capsys, "ingest", str(mock_dir), "--db", catalog_url, "--workers", "1", "--quiet"
    )
    assert code == 0, err
    code, out, _ = run_cli(capsys, "verify", "--db", catalog_url)
    assert code == 0 and "0 orphan files" in out and "0 missing" in out

    root = pixels_root(_engine(catalog_url))
    listed = sorted(listed_segments(catalog_url))
    gone, altered, copied = listed[0], listed[1], listed[2]
    (root / gone).unlink()
    table = pq.read_table(root / altered)
    pq.write_table(table.slice(0, table.num_rows // 2), root / altered)
    orphan = copied.replace(".parquet", "-orphan.parquet")
    (root / orphan).write_bytes((root / copied).read_bytes())
    partial = copied.replace(".parquet", "-x.parquet.partial")
    pq.write_table(pa.table({"x": [1]}), root / partial)

    code, out, _ = run_cli(capsys, "verify", "--db", catalog_url)
    assert code == cli.EXIT_INCONSISTENT
    assert f"orphan {orphan}" in out and f"orphan {partial}" in out
    assert f"missing {gone}" in out and f"drifted {altered}" in out
    assert store_files(catalog_url) - listed_segments(catalog_url) == {orphan, partial}

    code, out, _ = run_cli(capsys, "verify", "--db", catalog_url, "--repair")
    assert code == 0 and "repaired" in out
    assert_store_clean(catalog_url)
    assert_nothing_half_written(catalog_url)
    code, out, _ = run_cli(capsys, "verify", "--db", catalog_url)
    assert code == 0, out
    assert "0 spectral products not in the store" not in out  # marked for rebuild

    code, _, err = run_cli(
        capsys, "ingest", str(mock_dir), "--db", catalog_url, "--workers", "1", "--quiet"
    )
    assert code == 0, err
    assert snapshot(catalog_url) == reference  # rebuilt
    code, out, _ = run_cli(capsys, "verify", "--db", catalog_url)
    assert code == 0 and "0 spectral products not in the store" in out
