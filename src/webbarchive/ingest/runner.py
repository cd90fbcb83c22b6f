"""``webbarchive ingest``: walk paths, read files in parallel, write the catalog.

Reader processes (``workers``, default: the number of cores) open, verify and
parse files into plain rows; the main process is the only writer, which keeps
SQLite's single-writer lock uncontended and every file in one transaction.
A file whose size and mtime match the catalog is not even opened.
"""

from __future__ import annotations

import importlib
import itertools
import os
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from sqlalchemy import Engine
from tqdm import tqdm

from webbarchive.catalog.db import create_schema, open_catalog
from webbarchive.catalog.rights import now_mjd
from webbarchive.catalog.writer_lock import writer_lock
from webbarchive.ingest import duplicates, remote, writer
from webbarchive.ingest.discover import CANDIDATE_ENDINGS, discover
from webbarchive.ingest.reader import ReadResult, read_product
from webbarchive.previews import store as previews
from webbarchive.previews.store import PreviewReport
from webbarchive.storage.full_disk import disk_full_cause

_ENDINGS = ", ".join(f"*{ending}" for ending in CANDIDATE_ENDINGS)
#: Files written per transaction (a failing group is retried file by file).
BATCH_FILES = 16


@dataclass
class IngestReport:
    """What one ingest run did; ``skipped`` lists ``(path, reason)``."""

    ingested: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    conflicts: list[duplicates.Conflict] = field(default_factory=list)  # one name, two files
    ignored: list[str] = field(default_factory=list)
    handed: list[str] = field(default_factory=list)  # community files for dja_spectra
    previews: PreviewReport = field(default_factory=PreviewReport)
    seconds: float = 0.0
    bytes: int = 0  # bytes of the candidate files (read or recognised)

    @property
    def files(self) -> int:
        return len(self.ingested) + len(self.replaced) + len(self.unchanged) + len(self.skipped)

    def summary(self, verbose: bool = False) -> str:
        seconds = max(self.seconds, 1e-9)
        lines = [
            f"ingested {len(self.ingested)}, unchanged {len(self.unchanged)}, "
            f"replaced {len(self.replaced)}, skipped {len(self.skipped)}, "
            f"ignored {len(self.ignored)} (not {_ENDINGS})",
            f"{self.files} files, {self.bytes / 1e6:.1f} MB in {self.seconds:.2f} s: "
            f"{self.files / seconds:.1f} files/s, {self.bytes / 1e6 / seconds:.1f} MB/s",
        ]
        if self.handed:
            lines.append(
                f"handed {len(self.handed)} community files (msaexp spectra, redshift tables, "
                "MOSFIRE listings) to the DJA spectroscopy tools"
            )
        if self.conflicts:
            lines.append(
                f"{len(self.conflicts)} product names carried by files of different content "
                "(kept: newest DATE, newest CAL_VER, then first in path order)"
            )
            lines.extend(conflict.line() for conflict in self.conflicts)
        for path, reason in self.skipped:
            lines.append(f"  skipped {path}: {reason}")
        if self.previews.drawn or self.previews.failed:
            lines.append(
                f"previews: drew {len(self.previews.drawn)}, "
                f"could not draw {len(self.previews.failed)}"
            )
            lines.extend(f"  no preview of {name}: {why}" for name, why in self.previews.failed)
        if verbose:
            lines.extend(f"  ignored {path}" for path in self.ignored)
        return "\n".join(lines)


def ingest_paths(
    paths: list[str],
    db_url: str | None,
    workers: int | None = None,
    progress: bool = True,
    wait: bool = True,
    storage: str | None = None,
) -> IngestReport:
    """Catalog every JWST product under ``paths`` (local files and folders, or
    ``s3://bucket/prefix``) into the catalog at ``db_url``; with ``storage``
    (``s3://bucket/prefix``) the local products are put there first and
    catalogued at their new place.

    One writer at a time: if another ingest is writing this catalog, wait for it
    (a line on stderr says who it is) or, with ``wait=False``, raise
    :class:`~webbarchive.catalog.writer_lock.WriterBusy`. An unreachable object
    store raises :class:`~webbarchive.storage.StorageUnavailable`; the files
    written before it are whole (one transaction per batch), a re-run finishes.
    """
    engine = open_catalog(db_url, create=False)
    with writer_lock(engine, wait=wait):
        create_schema(engine)
        return _ingest(engine, paths, workers, progress, storage)


def _ingest(
    engine: Engine,
    paths: list[str],
    workers: int | None,
    progress: bool,
    storage: str | None = None,
) -> IngestReport:
    started = time.perf_counter()
    report = IngestReport()
    local_paths, remote_paths = remote.split_paths(paths)
    found = discover(local_paths)
    remote_stats = remote.discover_remote(remote_paths, found)
    found.candidates, found.ignored, report.handed = _hand_over(found.candidates, found.ignored)
    report.ignored = found.ignored
    report.skipped.extend((path, "no such file or directory") for path in found.missing)
    found.candidates, report.conflicts = duplicates.resolve(
        found.candidates, writer.catalogued_paths(engine)
    )
    if storage:
        found.candidates, uploaded = remote.upload(found.candidates, storage.rstrip("/"))
        remote_stats.update(uploaded)

    writer.drop_association_only_observations(engine)
    known = writer.known_files(engine)
    to_read = []
    for path in found.candidates:
        try:
            st = _stat(path, remote_stats)
        except OSError as exc:
            report.skipped.append((path, f"cannot stat: {exc.strerror}"))
            continue
        report.bytes += st.st_size
        if known.get(path) == (st.st_size, st.st_mtime):
            report.unchanged.append(path)
        else:
            to_read.append(path)

    # Associations last: they join observations that the other files of this run make.
    to_read.sort(key=lambda path: path.lower().endswith(".json"))
    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(to_read), unit="file", desc="ingest", disable=not progress)
    batch: list[tuple[ReadResult, float]] = []
    try:
        for result, start_mjd in _read_all(to_read, workers):
            if result.skipped:
                report.skipped.append((result.path, result.skipped))
                bar.update(1)
                continue
            batch.append((result, start_mjd))
            if len(batch) >= BATCH_FILES:
                _write(engine, report, batch)
                bar.update(len(batch))
                batch = []
        _write(engine, report, batch)
        bar.update(len(batch))
    finally:
        bar.close()
    report.previews = previews.update(engine, progress=progress)
    _update_dja_spectra(engine, report.handed, progress)
    _update_pixel_index(engine, progress)  # after the DJA step: its msaexp spectra too
    _update_dja(engine, progress)
    report.seconds = time.perf_counter() - started
    return report


def _stat(path: str, remote_stats: dict) -> os.stat_result:
    """os.stat of a local file; an object's size and mtime as its listing gave them."""
    if path not in remote_stats:
        return os.stat(path)
    stat = remote_stats[path]
    return os.stat_result((0, 0, 0, 0, 0, 0, stat.size, 0, stat.mtime, 0))


def _read_all(paths: list[str], workers: int):
    """Yield ``(ReadResult, start_mjd)`` in the order of ``paths``."""
    if workers <= 1 or len(paths) <= 1:
        for path in paths:
            start = now_mjd()
            yield read_product(path), start
        return
    # A bounded window of files in flight: readers outpace the single writer,
    # and finished-but-unwritten rows must not pile up in memory.
    window = workers * 8
    pending: deque = deque()
    queue = iter(paths)
    with ProcessPoolExecutor(
        max_workers=workers, initializer=_die_with_parent, initargs=(os.getpid(),)
    ) as pool:
        for path in itertools.islice(queue, window):
            pending.append((pool.submit(read_product, path), now_mjd()))
        while pending:
            future, start = pending.popleft()
            yield future.result(), start
            for path in itertools.islice(queue, 1):
                pending.append((pool.submit(read_product, path), now_mjd()))


def _die_with_parent(parent_pid: int) -> None:
    """Reader processes end with the ingest that started them, even when it is
    killed (SIGKILL): otherwise they wait forever for work, holding inherited
    descriptors (catalog connections). Linux only; elsewhere a no-op."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def _write(engine: Engine, report: IngestReport, batch: list[tuple[ReadResult, float]]) -> None:
    if not batch:
        return
    try:
        outcomes = writer.write_batch(engine, batch)
    except Exception as exc:  # rolled back: retry one by one to isolate the file at fault
        if disk_full_cause(exc):
            raise  # not the fault of a file: stop, a re-run resumes here
        outcomes = []
        for result, start_mjd in batch:
            try:
                outcomes.append(writer.write(engine, result, start_mjd))
            except Exception as exc:  # this file's transaction rolled back alone
                if disk_full_cause(exc):
                    raise
                outcomes.append(f"could not be written: {type(exc).__name__}: {exc}")
    lists = {
        writer.INGESTED: report.ingested,
        writer.REPLACED: report.replaced,
        writer.UNCHANGED: report.unchanged,
    }
    for (result, _), outcome in zip(batch, outcomes, strict=True):
        if outcome in lists:
            lists[outcome].append(result.path)
        else:
            report.skipped.append((result.path, outcome))


def _update_pixel_index(engine: Engine, progress: bool) -> None:
    """Let pixel search (another capability, optional) index what changed."""
    try:
        module = importlib.import_module("webbarchive.pixels.index")
    except ModuleNotFoundError as exc:
        if exc.name and "webbarchive.pixels" in exc.name:
            return
        raise
    module.update(engine, progress=progress)


def _update_dja(engine: Engine, progress: bool) -> None:
    """Let the DJA tools (associations, mosaics) catalogue what changed."""
    from webbarchive.dja.build import update

    update(engine, progress=progress)


def _dja_spectra_build():
    """The DJA spectroscopy capability (optional), or None."""
    try:
        return importlib.import_module("webbarchive.dja_spectra.build")
    except ModuleNotFoundError as exc:
        if exc.name and "webbarchive.dja_spectra" in exc.name:
            return None
        raise


def _hand_over(candidates: list[str], ignored: list[str]) -> tuple[list[str], list[str], list[str]]:
    """Split off the community files (msaexp ``*.spec.fits``, redshift tables, MOSFIRE
    listings) that the DJA spectroscopy tools read instead of the product readers."""
    module = _dja_spectra_build()
    if module is None:
        return candidates, ignored, []
    handed = [p for p in candidates + ignored if module.claims(p)]
    taken = set(handed)
    return [p for p in candidates if p not in taken], [p for p in ignored if p not in taken], handed


def _update_dja_spectra(engine: Engine, handed: list[str], progress: bool) -> None:
    """Let the DJA spectroscopy tools (optional) build their tables."""
    module = _dja_spectra_build()
    if module is not None:
        module.update(engine, progress=progress, paths=handed)
