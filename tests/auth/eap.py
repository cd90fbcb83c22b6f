"""An archive with one program in its exclusive access period, for the auth tests.

Two programs, each with one observation and one x1d file written here with
astropy: program 1111 is public, program 9999 is EAP because an admin moved
its release far into the future (``release_override_mjd``), so the test does
not depend on the wall clock. Every EAP value carries a sentinel string
(:data:`EAP_SENTINELS`) that must never appear in what a user without rights
receives. Users: ``pi`` (PI of 9999), ``collab`` (collaborator), ``stranger``,
``admin``; ``expired`` holds a token 61 days old.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from sqlalchemy import Engine, insert

from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.keyword_types import mast_value
from webbarchive.catalog.rights import now_mjd
from webbarchive.catalog.schema import (
    SKY_INDEX_DEPTH,
    keywords,
    observations,
    products,
    programs,
    sky_index,
)

EAP_PROGRAM = "9999"
PUBLIC_PROGRAM = "1111"
EAP_OBS_ID = "jw09999-o042_t001_nirspec_g395m-f290lp"
EAP_FILE = EAP_OBS_ID + "_x1d.fits"
PUBLIC_OBS_ID = "jw01111-o001_t001_nirspec_g395m-f290lp"
PUBLIC_FILE = PUBLIC_OBS_ID + "_x1d.fits"
EAP_TARGET = "EAPSECRET-TARGET"
EAP_KEYWORD_VALUE = "EAPSECRET-KEYWORD"
#: Footprint corner coordinates no public row shares.
EAP_RA, EAP_DEC = 201.424242, -43.131313
PUBLIC_RA, PUBLIC_DEC = 53.16, -27.78
EAP_FLUX = 31415.75  # exact in float32, so it renders as "31415.75"
PUBLIC_FLUX = 2.5

#: Strings that reveal the EAP observation when they appear in a response.
EAP_SENTINELS = (
    "jw09999",  # file names, obs_id, fileSetName
    EAP_TARGET,
    EAP_KEYWORD_VALUE,
    "201.4242",  # footprint / s_ra
    "-43.1313",
    "31415.75",  # pixels
)
FAR_FUTURE_MJD = 99_999.0  # year 2132
PAST_MJD = 59_000.0  # 2020


@dataclass
class EapArchive:
    url: str
    engine: Engine
    tokens: dict[str, str] = field(default_factory=dict)
    #: Placeholders for probes over the ingested mock program (see add_mock_program).
    context: dict[str, str] = field(default_factory=dict)
    #: Extra sentinels: the mock EAP program's file-name prefixes.
    sentinels: tuple[str, ...] = ()


def _num(value) -> float | None:
    """keywords.num of a stored value: numbers only, as ingest stores them."""
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _write_x1d(path: Path, target: str, flux: float, keyword_value: str) -> None:
    primary = fits.PrimaryHDU()
    primary.header["TELESCOP"] = "JWST"
    primary.header["INSTRUME"] = "NIRSPEC"
    primary.header["TARGNAME"] = target
    primary.header["OBSLABEL"] = keyword_value
    wavelength = np.linspace(2.9, 5.2, 50)
    table = fits.BinTableHDU.from_columns(
        [
            fits.Column("WAVELENGTH", "D", unit="um", array=wavelength),
            fits.Column("FLUX", "D", unit="Jy", array=np.full(50, flux)),
            fits.Column("FLUX_ERROR", "D", unit="Jy", array=np.full(50, flux / 100)),
            fits.Column("DQ", "J", array=np.zeros(50, dtype=np.int32)),
        ],
        name="EXTRACT1D",
    )
    fits.HDUList([primary, table]).writeto(path, overwrite=True)


def _polygon(ra: float, dec: float) -> str:
    d = 0.001
    return (
        f"POLYGON {ra - d:.6f} {dec - d:.6f} {ra + d:.6f} {dec - d:.6f} "
        f"{ra + d:.6f} {dec + d:.6f} {ra - d:.6f} {dec + d:.6f}"
    )


def _add_observation(
    engine: Engine,
    files: Path,
    *,
    proposal_id: str,
    obs_id: str,
    filename: str,
    target: str,
    ra: float,
    dec: float,
    flux: float,
    keyword_value: str,
) -> None:
    import cdshealpix.nested
    from astropy import units as u

    path = files / filename
    _write_x1d(path, target, flux, keyword_value)
    data = path.read_bytes()
    with engine.begin() as conn:
        conn.execute(
            insert(programs).values(
                proposal_id=proposal_id, proposal_pi="Doe, Jane", obs_title=f"{target} program"
            )
        )
        obsid = conn.execute(
            insert(observations).values(
                obs_id=obs_id,
                obs_collection="JWST",
                dataproduct_type="spectrum",
                calib_level=3,
                intentType="science",
                target_name=target,
                s_ra=ra,
                s_dec=dec,
                s_region=_polygon(ra, dec),
                t_min=59800.0,
                t_max=59800.1,
                t_exptime=1000.0,
                instrument_name="NIRSPEC/MSA",
                filters="F290LP;G395M",
                em_min=2870.0,
                em_max=5270.0,
                obs_title=f"{target} program",
                t_obs_release=PAST_MJD,
                proposal_pi="Doe, Jane",
                proposal_id=proposal_id,
                exp_type="NRS_MSASPEC",
            )
        ).inserted_primary_key[0]
        product_id = conn.execute(
            insert(products).values(
                obsid=obsid,
                filename=filename,
                path=str(path),
                fileSetName=obs_id,
                productLevel="3",
                calib_level=3,
                suffix="x1d",
                productType="SCIENCE",
                productGroupDescription="Minimum Recommended Products",
                productSubGroupDescription="X1D",
                description="spectrum",
                type="D",
                dataproduct_type="spectrum",
                datamodel="MultiSpecModel",
                instrument="NIRSPEC",
                exp_type="NRS_MSASPEC",
                prvversion="1.14.0",
                proposal_id=proposal_id,
                s_ra=ra,
                s_dec=dec,
                s_region=_polygon(ra, dec),
                t_min=59800.0,
                t_max=59800.1,
                size=len(data),
                checksum=hashlib.md5(data).hexdigest(),
                mtime=path.stat().st_mtime,
                ingestStartDate_mjd=59801.0,
                ingestCompletionDate_mjd=59801.0,
                publicReleaseDate_mjd=PAST_MJD,
            )
        ).inserted_primary_key[0]
        for name, value in (
            ("targname", target),
            ("targprop", target),
            ("obslabel", keyword_value),
            ("instrume", "NIRSPEC"),
            ("program", proposal_id.zfill(5)),
            ("observtn", obs_id[9:12]),
            ("visit", "001"),
            ("exp_type", "NRS_MSASPEC"),
            ("detector", "NRS1"),
            ("filter", "F290LP"),
            ("grating", "G395M"),
            ("pupil", "NONE"),
            ("date_obs", "2022-07-15"),
            ("targ_ra", ra),
            ("targ_dec", dec),
            ("effexptm", 1000.0),
        ):
            conn.execute(
                insert(keywords).values(
                    product_id=product_id,
                    name=name,
                    hdu="PRIMARY",
                    value=json.dumps(mast_value(name, value)),
                    num=_num(mast_value(name, value)),
                )
            )
        cell = int(
            np.ravel(
                cdshealpix.nested.lonlat_to_healpix(
                    np.atleast_1d(ra) * u.deg, np.atleast_1d(dec) * u.deg, SKY_INDEX_DEPTH
                )
            )[0]
        )
        conn.execute(insert(sky_index).values(obsid=obsid, hpx=cell))


def _index_pixels(engine: Engine) -> None:
    """Fill the pixel store so pixel search has EAP pixels to (not) find."""
    try:
        from webbarchive.pixels.index import update
    except ImportError:  # pixel search not in this checkout
        return
    update(engine, progress=False)


def build_eap_archive(url: str, files: Path) -> EapArchive:
    """Fill the empty catalog at ``url`` (files written under ``files``)."""
    files.mkdir(parents=True, exist_ok=True)
    engine = open_catalog(url)
    _add_observation(
        engine,
        files,
        proposal_id=PUBLIC_PROGRAM,
        obs_id=PUBLIC_OBS_ID,
        filename=PUBLIC_FILE,
        target="PUBLIC-TARGET",
        ra=PUBLIC_RA,
        dec=PUBLIC_DEC,
        flux=PUBLIC_FLUX,
        keyword_value="public-label",
    )
    _add_observation(
        engine,
        files,
        proposal_id=EAP_PROGRAM,
        obs_id=EAP_OBS_ID,
        filename=EAP_FILE,
        target=EAP_TARGET,
        ra=EAP_RA,
        dec=EAP_DEC,
        flux=EAP_FLUX,
        keyword_value=EAP_KEYWORD_VALUE,
    )
    accounts.set_release(engine, EAP_PROGRAM, FAR_FUTURE_MJD)
    _index_pixels(engine)
    archive = EapArchive(url=url, engine=engine)
    for name in ("pi", "collab", "stranger", "expired", "admin"):
        accounts.add_user(engine, name, display_name=name.title(), admin=name == "admin")
    accounts.set_pi(engine, EAP_PROGRAM, "pi")
    accounts.grant(engine, EAP_PROGRAM, "collab")
    accounts.grant(engine, EAP_PROGRAM, "expired")  # rights do not outlive the token
    for name in ("pi", "collab", "stranger", "admin"):
        archive.tokens[name] = accounts.create_token(engine, name, "tests").token
    archive.tokens["expired"] = accounts.create_token(
        engine, "expired", "old", now_mjd=now_mjd() - 61.0
    ).token
    return archive


# --- a real ingest: one program of the mock archive made EAP ---------------------------

MOCK_PUBLIC_PROGRAMS = 2  # public programs ingested beside the EAP one


def _program_of(name: str) -> str | None:
    """``jw01345...`` -> "1345"; msaexp ``the-o062-v4_prism-clear_1345_20390...`` -> "1345"."""
    import re

    if name.startswith("jw") and name[2:7].isdigit():
        return str(int(name[2:7]))
    match = re.search(r"_(\d{3,5})_\d+\.spec\.fits$", name)
    return str(int(match.group(1))) if match else None


def _dja_association_names(engine: Engine, proposal_id: str) -> tuple[str, ...]:
    """DJA association names of a program (they do not carry the program id)."""
    from sqlalchemy import inspect, text

    if "dja_associations" not in inspect(engine).get_table_names():
        return ()
    with engine.connect() as conn:
        names = conn.execute(
            text("SELECT assoc_name FROM dja_associations WHERE proposal_id = :p"),
            {"p": proposal_id},
        ).scalars()
        return tuple(sorted(set(names)))


def add_mock_program(archive: EapArchive, mock_dir: Path) -> None:
    """Ingest the mock program with the most files that also has DJA spectra
    (made EAP by an override far in the future) and two public ones, with
    webbarchive's own ingest, and fill ``archive.context`` with names and
    coordinates the probes use. Every other program gets a past override, so
    nothing depends on the wall clock against the mock's dates."""
    from collections import Counter

    from sqlalchemy import select, update

    from webbarchive.ingest.runner import ingest_paths

    files = sorted(p for p in mock_dir.rglob("*") if p.is_file())
    counts = Counter(_program_of(p.name) for p in files if p.name.startswith("jw"))
    with_dja = {_program_of(p.name) for p in files if p.name.endswith(".spec.fits")}
    ranked = [pid for pid, _ in counts.most_common() if pid]
    eap = next(pid for pid in ranked if pid in with_dja)
    public = [pid for pid in ranked if pid != eap][:MOCK_PUBLIC_PROGRAMS]
    keep = {eap, *public}
    chosen = [
        str(p)
        for p in files
        if _program_of(p.name) in keep or (p.parent.name == "dja" and _program_of(p.name) is None)
    ]
    ingest_paths(chosen, db_url=archive.url, workers=1, progress=False)
    engine = archive.engine
    with engine.begin() as conn:
        conn.execute(update(programs).values(release_override_mjd=PAST_MJD))
        conn.execute(
            update(programs)
            .where(programs.c.proposal_id.in_([eap, EAP_PROGRAM]))
            .values(release_override_mjd=FAR_FUTURE_MJD)
        )
    for name in ("pi", "collab", "expired"):
        (accounts.set_pi if name == "pi" else accounts.grant)(engine, eap, name)
    with engine.connect() as conn:

        def first(suffixes: tuple[str, ...]) -> dict:
            return dict(
                conn.execute(
                    select(products.c.filename, products.c.s_ra, products.c.s_dec)
                    .where(products.c.proposal_id == eap, products.c.suffix.in_(suffixes))
                    .order_by(products.c.filename)
                    .limit(1)
                )
                .mappings()
                .one()
            )

        spectrum = first(("x1d", "c1d", "s2d", "s3d"))
        image = first(("i2d", "cal", "rate"))
    msaexp = next(
        p.name for p in files if p.name.endswith(".spec.fits") and _program_of(p.name) == eap
    )
    archive.context.update(
        mock_program=eap,
        mock_spectrum=spectrum["filename"],
        mock_image=image["filename"],
        mock_ra=f"{image['s_ra']:.6f}",
        mock_dec=f"{image['s_dec']:.6f}",
        mock_spec_ra=f"{spectrum['s_ra']:.6f}",
        mock_spec_dec=f"{spectrum['s_dec']:.6f}",
        mock_msaexp=msaexp,
        mock_msaexp_root=msaexp.split("_")[0],
    )
    archive.sentinels = (f"jw{int(eap):05d}", f"_{eap}_", *_dja_association_names(engine, eap))
    _index_pixels(engine)
