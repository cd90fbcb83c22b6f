"""Building the DJA spectroscopy tables: :func:`update`, called at the end of ingest.

Ingest hands over the files it does not catalogue as JWST products but that this
capability reads (:func:`claims`): msaexp spectra, redshift tables and MOSFIRE
listings. MSA metadata files are catalogued products; their slits are rebuilt from
the catalog each run (exposures may arrive in a later ingest than their MSA file).
A community file whose size and mtime did not change is not read again; one that
disappeared from disk leaves the tables.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy import update as sql_update
from tqdm import tqdm

from webbarchive.catalog.schema import metadata, products
from webbarchive.catalog.writer_lock import holding_writer_lock
from webbarchive.dja.spectra import redshifts as zt
from webbarchive.dja.spectra.slits import exposures_of, slit_rows
from webbarchive.dja.spectra.spec_file import is_spec_file, read_spec_file
from webbarchive.dja.spectra.tables import (
    ALL_TABLES,
    MOSFIRE_COLUMNS,
    dja_spectra_files,
    mosfire_spectra,
    nirspec_extractions,
    nirspec_redshifts,
    nirspec_slits,
    nirspec_traces,
)
from webbarchive.storage.choose import open_storage
from webbarchive.storage.full_disk import disk_full_cause

log = logging.getLogger(__name__)


def claims(path: str) -> str | None:
    """The kind of community file this capability reads at ``path`` (``spec``,
    ``redshifts``, ``mosfire``), or None."""
    name = os.path.basename(path)
    if is_spec_file(name):
        return "spec"
    if is_mosfire_spectrum(path):
        return "mosfire_spectrum"
    return zt.table_kind(path)


def is_mosfire_spectrum(path: str) -> bool:
    """A MOSFIRE spectrum that a listing names: ``Spectra/<datemask>/.../*_sp.fits``
    beside the listing, as DJA's mosfire-pipeline bucket lays them out. Served as they
    are (``/mosfire/Spectra/<file>``), never catalogued as products."""
    parts = os.path.normpath(path).split(os.sep)
    return parts[-1].endswith("_sp.fits") and "Spectra" in parts[:-1]


@dataclass
class UpdateSummary:
    spectra: int = 0
    redshift_tables: int = 0
    mosfire_listings: int = 0
    mosfire_spectra: int = 0
    dropped: int = 0
    slits: int = 0
    seconds: float = 0.0
    failed: list[tuple[str, str]] = field(default_factory=list)

    def __str__(self) -> str:
        text = (
            f"DJA spectroscopy: {self.spectra} spectra, {self.redshift_tables} redshift tables, "
            f"{self.mosfire_listings} MOSFIRE listings and {self.mosfire_spectra} spectra read, "
            f"{self.dropped} dropped; "
            f"{self.slits} MSA shutter rows in {self.seconds:.1f} s"
        )
        if self.failed:
            text += f"; {len(self.failed)} unreadable: " + ", ".join(p for p, _ in self.failed[:5])
        return text


@holding_writer_lock
def update(engine: Engine, progress: bool = True, paths: Iterable[str] = ()) -> UpdateSummary:
    """Bring the DJA spectroscopy tables of the catalog behind ``engine`` up to date
    with the community files ``paths`` and the catalogued MSA metadata files."""
    started = time.perf_counter()
    metadata.create_all(engine, tables=ALL_TABLES)
    summary = UpdateSummary()
    _drop_missing(engine, summary)
    wanted = [(p, k) for p in sorted(set(paths)) if (k := claims(p))]
    with engine.connect() as conn:
        known = {r.path: (r.size, r.mtime) for r in conn.execute(select(dja_spectra_files))}
    for path, kind in tqdm(wanted, desc="dja spectra", unit="file", disable=not progress):
        try:
            st = os.stat(path)
        except OSError as exc:
            summary.failed.append((path, exc.strerror or str(exc)))
            continue
        if known.get(path) == (st.st_size, st.st_mtime):
            continue
        try:
            _read_one(engine, path, kind, st, summary)
        except Exception as exc:  # one bad file never stops the others
            if disk_full_cause(exc):
                raise  # a full disk does: the next run reads this file again
            log.warning("DJA spectroscopy could not read %s: %s", path, exc)
            summary.failed.append((path, f"{type(exc).__name__}: {exc}"))
    _link_extractions(engine)
    summary.slits = _rebuild_slits(engine, progress)
    summary.seconds = time.perf_counter() - started
    return summary


def _forget(conn, path: str) -> None:
    files = select(nirspec_extractions.c.file).where(nirspec_extractions.c.path == path)
    conn.execute(delete(nirspec_traces).where(nirspec_traces.c.file.in_(files)))
    conn.execute(delete(nirspec_redshifts).where(nirspec_redshifts.c.source_path == path))
    conn.execute(delete(nirspec_extractions).where(nirspec_extractions.c.path == path))
    conn.execute(delete(mosfire_spectra).where(mosfire_spectra.c.source_path == path))
    conn.execute(delete(dja_spectra_files).where(dja_spectra_files.c.path == path))


def _drop_missing(engine: Engine, summary: UpdateSummary) -> None:
    with engine.begin() as conn:
        for (path,) in conn.execute(select(dja_spectra_files.c.path)).all():
            if not os.path.exists(path):
                _forget(conn, path)
                summary.dropped += 1


def _read_one(engine: Engine, path: str, kind: str, st: os.stat_result, summary) -> None:
    if kind == "spec":
        spec = read_spec_file(path)
        with engine.begin() as conn:
            _forget(conn, path)
            conn.execute(delete(nirspec_traces).where(nirspec_traces.c.file == spec.row["file"]))
            conn.execute(
                delete(nirspec_extractions).where(nirspec_extractions.c.file == spec.row["file"])
            )
            conn.execute(insert(nirspec_extractions).values(**spec.row))
            if spec.traces:
                conn.execute(insert(nirspec_traces), spec.traces)
            if spec.header_z is not None:
                exists = conn.execute(
                    select(nirspec_redshifts.c.file).where(
                        nirspec_redshifts.c.file == spec.row["file"]
                    )
                ).first()
                if exists is None:
                    conn.execute(insert(nirspec_redshifts).values(
                        file=spec.row["file"], z=spec.header_z, grade=spec.header_grade,
                        comment=None, source_path=path))  # fmt: skip
            _record(conn, path, kind, st)
        summary.spectra += 1
    elif kind == "redshifts":
        rows = zt.redshift_rows(path)
        with engine.begin() as conn:
            _forget(conn, path)
            files = [r["file"] for r in rows]
            for chunk in range(0, len(files), 500):
                conn.execute(
                    delete(nirspec_redshifts).where(
                        nirspec_redshifts.c.file.in_(files[chunk : chunk + 500])
                    )
                )
            if rows:
                conn.execute(insert(nirspec_redshifts), rows)
            _record(conn, path, kind, st)
        summary.redshift_tables += 1
    elif kind == "mosfire_spectrum":  # served from beside its listing: known, not read
        with engine.begin() as conn:
            _forget(conn, path)
            _record(conn, path, kind, st)
        summary.mosfire_spectra += 1
    elif kind == "mosfire":
        table = zt.read_table(path)
        rows = []
        for record in table:
            row = {c: _plain(record[c]) if c in table.colnames else None for c in MOSFIRE_COLUMNS}
            row["source_path"] = path
            rows.append(row)
        with engine.begin() as conn:
            _forget(conn, path)
            if rows:
                conn.execute(insert(mosfire_spectra), rows)
            _record(conn, path, kind, st)
        summary.mosfire_listings += 1


def _plain(value):
    import numpy as np

    if value is np.ma.masked:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _record(conn, path: str, kind: str, st: os.stat_result) -> None:
    conn.execute(
        insert(dja_spectra_files).values(path=path, kind=kind, size=st.st_size, mtime=st.st_mtime)
    )


def _link_extractions(engine: Engine) -> None:
    """objid (merged sources) and the product each spectrum relates to: its MSA
    metadata file when catalogued, else the program's latest-released product.
    Rights do not wait for this step: they follow the spectrum's own program."""
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                nirspec_extractions.c.extraction_id,
                nirspec_extractions.c.ra,
                nirspec_extractions.c.dec,
                nirspec_extractions.c.msamet,
                nirspec_extractions.c.proposal_id,
            )
        ).all()
        if not rows:
            return
        placed = [r for r in rows if r.ra is not None and r.dec is not None]
        objid = zt.group_sources(
            [r.extraction_id for r in placed], [r.ra for r in placed], [r.dec for r in placed]
        )
        by_name = dict(
            conn.execute(
                select(products.c.filename, products.c.product_id).where(products.c.suffix == "msa")
            ).all()
        )
        latest = {}
        for pid, proposal in conn.execute(
            select(products.c.product_id, products.c.proposal_id).order_by(
                products.c.publicReleaseDate_mjd.is_(None), products.c.publicReleaseDate_mjd
            )
        ):
            latest[proposal] = pid  # ordered by release: the last one wins
        for r in rows:
            product_id = by_name.get(r.msamet) if r.msamet else None
            if product_id is None:
                product_id = latest.get(r.proposal_id)
            conn.execute(
                sql_update(nirspec_extractions)
                .where(nirspec_extractions.c.extraction_id == r.extraction_id)
                .values(objid=objid.get(r.extraction_id, r.extraction_id), product_id=product_id)
            )


def _rebuild_slits(engine: Engine, progress: bool) -> int:
    with engine.connect() as conn:
        metafiles = conn.execute(
            select(products.c.product_id, products.c.filename, products.c.path).where(
                products.c.suffix == "msa"
            )
        ).all()
    rows = []
    for msa_product_id, filename, path in tqdm(
        metafiles, desc="MSA slits", unit="file", disable=not progress
    ):
        msametfl = filename.split("__", 1)[0]
        if not msametfl.endswith(".fits"):
            msametfl += ".fits"
        with engine.connect() as conn:
            exposures = exposures_of(conn, msametfl)
        if not exposures:
            continue
        try:  # in object storage: a cached local copy (astropy reads local files)
            with open_storage(path).cached(path) as readable:
                for exposure in exposures:
                    try:
                        rows.extend(slit_rows(str(readable), msametfl, exposure, msa_product_id))
                    except Exception as exc:
                        log.warning("no slits from %s for %s: %s", filename, exposure.root, exc)
        except Exception as exc:  # the store did not give the file
            log.warning("no slits from %s: %s", filename, exc)
    with engine.begin() as conn:
        conn.execute(delete(nirspec_slits))
        for start in range(0, len(rows), 1000):
            conn.execute(insert(nirspec_slits), rows[start : start + 1000])
        count = conn.execute(select(func.count()).select_from(nirspec_slits)).scalar_one()
    return int(count)
