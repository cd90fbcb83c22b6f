"""Latency of the DJA imaging tools, each against a baseline measured in the same run.

    .venv/bin/python -m bench.dja_imaging [--exposures 1000000] [--mosaic-pixels 20000]
                                          [--repeat 200] [--workdir DIR]

1. ``/exposures`` (cone of 1' and rect of 1') over ``--exposures`` synthetic NIRCam
   exposures (clustered in 250 deep fields, inserted straight into a SQLite catalog
   with their ``sky_index`` cells). Baseline: a full scan of the footprints - every
   exposure's corners read from the catalog and tested with the same exact
   (vectorised) overlap test. Each indexed answer is checked against the scan's.
2. ``/thumb`` for a 4-arcsec RGB PNG and a FITS cutout (``output=fits``) from three
   ``--mosaic-pixels``-square float32 mosaics (F115W, F200W, F444W; written to the
   work directory, ~1.6 GB each at 20,000 px, memory-mappable, then ingested).
   Baseline: astropy's Cutout2D of the same 8" square on the same memory-mapped
   files (kept open), for the three filters.

The server is the real app under uvicorn in its own process (``bench.viz``).
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from astropy import units as u
from astropy.coordinates import Latitude, Longitude, SkyCoord
from astropy.io import fits
from astropy.nddata import Cutout2D
from astropy.wcs import WCS
from cdshealpix.nested import lonlat_to_healpix
from sqlalchemy import func, select
from tqdm import tqdm

from bench.common import measure, report
from bench.viz import _Server
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.schema import SKY_INDEX_DEPTH
from webbarchive.dja.imaging.geometry import Region
from webbarchive.dja.imaging.load import ExposureRecord, insert_exposures
from webbarchive.dja.imaging.tables import dja_exposures
from webbarchive.ingest.runner import ingest_paths

FIELDS = 250
CHUNK = 20_000
FILTERS = ("F115W", "F200W", "F444W")
MOSAIC_SCALE_ARCSEC = 0.04


# --- 1. /exposures -------------------------------------------------------------------------


def _fields(rng) -> np.ndarray:
    """Field centres spread over the sky (uniform on the sphere)."""
    ra = rng.uniform(0, 360, FIELDS)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, FIELDS)))
    return np.column_stack([ra, dec])


def _footprints(rng, fields: np.ndarray, count: int) -> np.ndarray:
    """(count, 4, 2) corners of 63" NIRCam SW detectors within 10' of a field centre."""
    field = rng.integers(0, FIELDS, count)
    centre = SkyCoord(fields[field, 0] * u.deg, fields[field, 1] * u.deg)
    pointing = centre.directional_offset_by(
        rng.uniform(0, 360, count) * u.deg, np.sqrt(rng.uniform(0, 1, count)) * 10 * u.arcmin
    )
    roll = rng.uniform(0, 360, count) * u.deg
    half = 63.0 / 2 * np.sqrt(2) * u.arcsec  # centre to corner
    corners = [
        pointing.directional_offset_by(roll + angle * u.deg, half)
        for angle in (45.0, 135.0, 225.0, 315.0)
    ]
    return np.stack([np.stack([c.ra.deg, c.dec.deg], axis=-1) for c in corners], axis=1)


def _cells(corners: np.ndarray) -> list[list[int]]:
    """Depth-10 HEALPix cells of each footprint, from points along its edges (cells are
    3.4' wide, footprints 1'; the scan baseline checks that nothing was missed)."""
    fractions = np.linspace(0, 1, 6, endpoint=False)
    nxt = np.roll(corners, -1, axis=1)
    # points along each edge in RA/Dec (edges of 1' are straight to far better than a cell)
    d_ra = (nxt[..., 0] - corners[..., 0] + 180) % 360 - 180
    ra = (corners[..., 0, None] + d_ra[..., None] * fractions) % 360
    dec = corners[..., 1, None] + (nxt[..., 1] - corners[..., 1])[..., None] * fractions
    ipix = lonlat_to_healpix(
        Longitude(ra.reshape(len(corners), -1), u.deg),
        Latitude(np.clip(dec.reshape(len(corners), -1), -90, 90), u.deg),
        SKY_INDEX_DEPTH,
    )
    return [sorted(set(row.tolist())) for row in ipix]


def build_exposures(db_url: str, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    fields = _fields(rng)
    engine = open_catalog(db_url)
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(dja_exposures)).scalar()
    if done == count:  # a kept work directory: the same seed made these rows
        print(f"reusing the {count:,} exposures of {db_url}")
        return fields
    if done:
        raise SystemExit(f"{db_url} holds {done:,} exposures, not {count:,}: use another --workdir")
    with tqdm(total=count, unit="exp", desc="exposures") as bar:
        while done < count:
            n = min(CHUNK, count - done)
            corners = _footprints(rng, fields, n)
            cells = _cells(corners)
            filters = rng.choice(["F090W-CLEAR", "F115W-CLEAR", "F200W-CLEAR", "F444W-CLEAR"], n)
            records = [
                ExposureRecord(
                    file=f"jw{1000 + (done + i) // 4000:05d}{(done + i) % 1000:03d}001_02101_"
                    f"{(done + i) % 99999:05d}_nrcb1_{done + i}",
                    corners=[tuple(v) for v in corners[i]],
                    filter=str(filters[i]),
                    proposal_id=str(1000 + (done + i) // 4000),
                    release_mjd=59000.0,
                    expstart=59000.0 + (done + i) % 1500,
                    exptime=418.7,
                )
                for i in range(n)
            ]
            with engine.begin() as conn:
                insert_exposures(conn, records, cells=cells)
            done += n
            bar.update(n)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    return fields


def full_scan(engine, region: Region) -> set[str]:
    """Baseline: every footprint read and tested (no index)."""
    columns = [dja_exposures.c.file] + [
        dja_exposures.c[f"{c}{i}"] for i in range(1, 5) for c in ("ra", "dec")
    ]
    with engine.connect() as conn:
        rows = conn.execute(select(*columns)).all()
    files = np.array([r[0] for r in rows])
    corners = np.array([r[1:] for r in rows], dtype=float).reshape(-1, 4, 2)
    return set(files[region.overlaps(corners)].tolist())


# --- 2. /thumb -----------------------------------------------------------------------------


def write_mosaic(path: Path, filter_name: str, npix: int, centre: tuple[float, float], seed: int):
    """A float32 ``npix`` x ``npix`` drc_sci mosaic (noise plus a gradient), written in
    row blocks through a memory map, with the keywords ingest needs."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = list(centre)
    wcs.wcs.crpix = [(npix + 1) / 2, (npix + 1) / 2]
    wcs.wcs.cd = np.array([[-1, 0], [0, 1]]) * MOSAIC_SCALE_ARCSEC / 3600
    header = fits.Header()
    header["SIMPLE"], header["BITPIX"], header["NAXIS"] = True, -32, 2
    header["NAXIS1"], header["NAXIS2"] = npix, npix
    header.update(wcs.to_header())
    corners = wcs.calc_footprint(axes=(npix, npix))
    header.update({
        "TELESCOP": "JWST", "INSTRUME": "NIRCAM", "DETECTOR": "MULTIPLE", "FILTER": filter_name,
        "PUPIL": "CLEAR", "EXP_TYPE": "NRC_IMAGE", "PROGRAM": "09001", "CATEGORY": "GO",
        "TARG_RA": centre[0], "TARG_DEC": centre[1], "EXPSTART": 59000.0, "EXPEND": 59000.1,
        "EFFEXPTM": 10000.0, "DJAKIND": "field", "BUNIT": "10nJy", "PHOTFNU": 1e-8,
        "PHOTPLAM": {"F115W": 11540.0, "F200W": 19900.0, "F444W": 44210.0}[filter_name],
        "S_REGION": "POLYGON ICRS " + " ".join(f"{ra:.9f} {dec:.9f}" for ra, dec in corners),
    })  # fmt: skip
    header["PHOTFLAM"] = 1e-31 * 2.99792458e18 / header["PHOTPLAM"] ** 2
    fits.PrimaryHDU(header=header).writeto(path, overwrite=True)  # header-only first
    header_bytes = len(header.tostring())
    data_bytes = npix * npix * 4
    padded = -(-data_bytes // 2880) * 2880
    with open(path, "r+b") as handle:
        handle.truncate(header_bytes + padded)
    # rewrite the header with the real NAXIS (astropy wrote NAXIS=0 for a header-only HDU)
    with open(path, "r+b") as handle:
        handle.write(header.tostring().encode("ascii"))
    rng = np.random.default_rng(seed)
    data = np.memmap(path, dtype=">f4", mode="r+", offset=header_bytes, shape=(npix, npix))
    block = 1000
    for start in tqdm(range(0, npix, block), desc=path.name[:28], unit="block", leave=False):
        rows = min(block, npix - start)
        data[start : start + rows] = rng.normal(0.5, 0.05, (rows, npix)).astype(np.float32)
    data.flush()
    del data


def run(args) -> str:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-dja-"))
    workdir.mkdir(parents=True, exist_ok=True)
    lines = []
    try:
        db_url = str(workdir / "catalog.db")
        started = time.perf_counter()
        fields = build_exposures(db_url, args.exposures, args.seed)
        print(f"{args.exposures:,} exposures loaded in {time.perf_counter() - started:.0f} s")

        # mosaics: free disk first
        npix = args.mosaic_pixels
        need = 3 * (npix * npix * 4) * 1.05
        free = shutil.disk_usage(workdir).free
        if need > 0.8 * free:
            raise SystemExit(f"not enough disk for the mosaics: need {need / 1e9:.1f} GB")
        centre = (150.1, 2.2)
        mosaics_dir = workdir / "mosaics"
        mosaics_dir.mkdir(exist_ok=True)
        paths = []
        for index, name in enumerate(FILTERS):
            path = mosaics_dir / f"bench-field-{name.lower()}-clear_drc_sci.fits"
            if not path.exists():
                write_mosaic(path, name, npix, centre, args.seed + index)
            paths.append(path)
        report_ingest = ingest_paths([str(mosaics_dir)], db_url=db_url, workers=2, progress=True)
        print(f"mosaics ingested: {report_ingest.summary()}")

        rng = np.random.default_rng(args.seed + 1)
        engine = open_catalog(db_url)
        cases = []
        with _Server(db_url) as base, httpx.Client(base_url=base, timeout=120.0) as http:
            # --- /exposures
            queries = []
            for _ in range(50):
                f = fields[rng.integers(0, FIELDS)]
                p = SkyCoord(f[0] * u.deg, f[1] * u.deg).directional_offset_by(
                    rng.uniform(0, 360) * u.deg, rng.uniform(0, 8) * u.arcmin
                )
                queries.append((float(p.ra.deg), float(p.dec.deg)))
            found = []
            for ra, dec in queries[:10]:  # the index never misses what the scan finds
                for kind, params in (("cone", {"ra": ra, "dec": dec, "arcmin": 1}),
                                     ("rect", {"polygon": f"rect({ra},{dec},1)"})):  # fmt: skip
                    answer = http.get("/exposures", params={**params, "limit": 100000})
                    ours = {line.split(",", 1)[0] for line in answer.text.splitlines()[1:]}
                    scan = full_scan(engine, Region(kind, ra, dec, 1 / 60))
                    if ours != scan:
                        raise SystemExit(
                            f"/exposures {kind} at {ra},{dec}: {len(ours)} vs scan {len(scan)}"
                        )
                    found.append(len(ours))
            print(
                f"checked 20 queries against the full scan; {np.mean(found):.0f} exposures per answer"
            )
            cycle = iter(queries * 1000)

            def cone():
                ra, dec = next(cycle)
                http.get(
                    "/exposures", params={"ra": ra, "dec": dec, "arcmin": 1}
                ).raise_for_status()

            def rect():
                ra, dec = next(cycle)
                http.get("/exposures", params={"polygon": f"rect({ra},{dec},1)"}).raise_for_status()

            def scan():
                ra, dec = next(cycle)
                full_scan(engine, Region("cone", ra, dec, 1 / 60))

            baseline = measure("full scan", scan, repeat=5, warmup=1)
            cases.append(
                (
                    "/exposures cone 1' (1e6 exp.) vs full scan",
                    measure("cone", cone, args.repeat),
                    baseline,
                )
            )
            cases.append(
                ("/exposures rect 1' vs full scan", measure("rect", rect, args.repeat), baseline)
            )

            # --- /thumb
            half_side = npix * MOSAIC_SCALE_ARCSEC / 2 / 3600 * 0.9
            spots = [
                (centre[0] + rng.uniform(-half_side, half_side) / np.cos(np.radians(centre[1])),
                 centre[1] + rng.uniform(-half_side, half_side))
                for _ in range(200)
            ]  # fmt: skip
            spot = iter(spots * 100)
            filters = ",".join(f"{f.lower()}-clear" for f in FILTERS)

            def png():
                ra, dec = next(spot)
                http.get(
                    "/thumb", params={"ra": ra, "dec": dec, "size": 4, "filters": filters}
                ).raise_for_status()

            def cutout():
                ra, dec = next(spot)
                http.get("/thumb", params={"ra": ra, "dec": dec, "size": 4, "filters": filters,
                                           "output": "fits"}).raise_for_status()  # fmt: skip

            opened = [fits.open(p, memmap=True) for p in paths]
            wcs = [WCS(h[0].header) for h in opened]

            def cutout2d():
                ra, dec = next(spot)
                position = SkyCoord(ra * u.deg, dec * u.deg)
                for hdul, w in zip(opened, wcs, strict=True):
                    np.asarray(Cutout2D(hdul[0].data, position, 8 * u.arcsec, wcs=w,
                                        mode="partial", fill_value=0.0, copy=True).data)  # fmt: skip

            base_cut = measure("Cutout2D x3", cutout2d, args.repeat)
            cases.append(
                (
                    f'/thumb 4" RGB PNG, 3 x {npix}^2 vs Cutout2D x3',
                    measure("png", png, args.repeat),
                    base_cut,
                )
            )
            cases.append(
                (
                    "/thumb output=fits, 3 filters vs Cutout2D x3",
                    measure("fits", cutout, args.repeat),
                    base_cut,
                )
            )
            for h in opened:
                h.close()
        lines.append(report(cases))
        lines.append("(ratio = baseline p50 / ours p50; >1 means faster than the baseline)")
    finally:
        if not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--exposures", type=int, default=1_000_000)
    parser.add_argument("--mosaic-pixels", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", help="keep the catalog and mosaics here (reused)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary work directory")
    print(run(parser.parse_args()))


if __name__ == "__main__":
    main()
