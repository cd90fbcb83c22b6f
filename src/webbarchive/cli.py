"""The ``webbarchive`` command: ingest, serve, mock, demo, telemetry, accounts and tokens.

Each subcommand is a thin shell over a library function, so everything the
CLI does can be scripted from Python too.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from webbarchive.catalog.db import DEFAULT_DB

EXIT_SKIPPED = 3  # ingest finished but reported files it could not read
EXIT_INCONSISTENT = 1  # verify found problems it was not asked to repair
EXIT_NO_SPACE = 74  # a full disk stopped a writer (sysexits EX_IOERR); re-run to resume
EXIT_BUSY = 75  # another writer holds the catalog, --no-wait given (EX_TEMPFAIL)
EXIT_STORAGE = 69  # the object store did not answer (sysexits EX_UNAVAILABLE); re-run


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"catalog: a SQLite file or postgresql://user@host:port/db (default: {DEFAULT_DB})",
    )


def _add_no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help=f"if another process is writing the catalog, exit with code {EXIT_BUSY} "
        "instead of waiting for it",
    )


def _add_host_port(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s; 0.0.0.0 for every interface)",
    )
    parser.add_argument("--port", type=int, default=8000, help="TCP port (default: %(default)s)")


def _add_seed_scale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--seed", type=int, default=1, help="random seed: same seed, same files (default: 1)"
    )
    parser.add_argument(
        "--scale",
        choices=("small", "medium", "large"),
        default="small",
        help="how many programs and files (default: small, a few hundred files)",
    )


def _cmd_ingest(args: argparse.Namespace) -> int:
    from webbarchive.ingest.runner import ingest_paths
    from webbarchive.storage import ingest_root

    saved = os.environ.get("WEBBARCHIVE_STORAGE")
    if args.storage is not None:
        os.environ["WEBBARCHIVE_STORAGE"] = args.storage  # reader processes see it too
    try:
        report = ingest_paths(
            args.paths,
            db_url=args.db,
            workers=args.workers,
            progress=not args.quiet,
            wait=not args.no_wait,
            storage=ingest_root(),
        )
    finally:  # main() called in-process (tests, scripts) leaves no setting behind
        if saved is None:
            os.environ.pop("WEBBARCHIVE_STORAGE", None)
        else:
            os.environ["WEBBARCHIVE_STORAGE"] = saved
    print(report.summary())
    return EXIT_SKIPPED if report.skipped else 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.writer_lock import writer_lock
    from webbarchive.pixels.verify import verify

    engine = open_catalog(args.db)
    with writer_lock(engine, wait=not args.no_wait):
        report = verify(engine, repair=args.repair)
    print(report.summary())
    return 0 if report.consistent or report.repaired else EXIT_INCONSISTENT


def _cmd_pixels(args: argparse.Namespace) -> int:
    """``webbarchive pixels verify|compact|reextract``: the pixel store's upkeep."""
    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.writer_lock import writer_lock

    engine = open_catalog(args.db)
    with writer_lock(engine, wait=not args.no_wait):
        if args.action == "compact":
            from webbarchive.pixels.index import compact_store

            print(compact_store(engine, grace_s=args.grace))
            return 0
        if args.action == "reextract":
            from webbarchive.pixels.index import reextract

            print(reextract(engine, args.product_type or ["s2d"]))
            return 0
        from webbarchive.pixels.verify import verify

        report = verify(engine, repair=args.repair, deep=True)
    print(report.summary())
    return 0 if report.consistent or report.repaired else EXIT_INCONSISTENT


def _cmd_mnemonics(args: argparse.Namespace) -> int:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.ingest.mnemonics import load_mnemonics

    count = load_mnemonics(open_catalog(args.db), Path(args.csv))
    print(f"loaded {count} mnemonics from {args.csv}")
    return 0


def _cmd_telemetry(args: argparse.Namespace) -> int:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.telemetry.ingest import ingest_telemetry

    try:
        report = ingest_telemetry(open_catalog(args.db), args.files)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _cmd_plans(args: argparse.Namespace) -> int:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.plans import PlanError
    from webbarchive.plans.load import load_plans

    try:
        report = load_plans(open_catalog(args.db), Path(args.file))
    except PlanError as exc:
        accepted = f" (accepted: {exc.accepted})" if exc.accepted else ""
        print(f"error: {exc.message}{accepted}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _cmd_mock(args: argparse.Namespace) -> int:
    from webbarchive.mock import generate

    summary = generate(
        Path(args.out),
        seed=args.seed,
        scale=args.scale,
        progress=not args.quiet,
        dja_mosaics=args.dja_mosaics,
        telemetry=not args.no_telemetry,
        plans=not args.no_plans,
    )
    print(summary)
    return 0


def _serve(db: str, host: str, port: int, workers: int = 1) -> None:
    """Serve with uvicorn; ``workers`` > 1 runs that many processes on one socket
    (uvicorn's worker model). They share what must be shared through the
    catalog (async jobs, the pixel view's generation counter); the schema is
    completed here, once, so that the workers starting together find every
    table and create none."""
    import os

    import uvicorn

    os.environ["WEBBARCHIVE_DB"] = db
    if workers > 1:
        from webbarchive.catalog.db import create_schema, open_catalog

        engine = open_catalog(db, create=False)
        try:
            create_schema(engine)
        finally:
            engine.dispose()
    uvicorn.run(
        "webbarchive.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    from webbarchive.catalog.db import why_not_a_catalog

    problem = why_not_a_catalog(args.db)
    if problem is not None:
        print(
            f"webbarchive serve: {problem}.\n"
            f"Build one first: webbarchive ingest FOLDER --db {args.db}  (JWST files)\n"
            "or try the demo:  webbarchive demo  (a generated mock archive, served)",
            file=sys.stderr,
        )
        return 2
    if args.workers < 1:
        print("webbarchive serve: --workers must be 1 or more", file=sys.stderr)
        return 2
    if getattr(args, "download_redirect", False):
        os.environ["WEBBARCHIVE_DOWNLOAD_REDIRECT"] = "1"  # every worker reads it
    _serve(args.db, args.host, args.port, args.workers)
    return 0


def _cmd_settings(args: argparse.Namespace) -> int:
    from webbarchive.config import describe

    for variable, value, help_text in describe():
        print(f"{variable}={value}\n    {help_text}")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from webbarchive.ingest.runner import ingest_paths
    from webbarchive.mock import generate

    root = Path(args.dir)
    files = root / "files"
    db = str(root / "webbarchive.db")
    if not (files / ".complete").exists():
        print(f"generating a {args.scale} mock archive in {files} (seed {args.seed})")
        print(
            generate(
                files,
                seed=args.seed,
                scale=args.scale,
                progress=True,
                dja_mosaics=True,
                telemetry=True,
                plans=True,
            )
        )
        (files / ".complete").touch()
    report = ingest_paths([str(files)], db_url=db, workers=args.workers, progress=True)
    print(report.summary())
    if (files / "telemetry").is_dir():
        _ingest_demo_telemetry(db, files / "telemetry")
    else:  # a demo folder made before the mock wrote telemetry
        count = load_demo_mnemonics(db)
        print(
            f"loaded {count} demo engineering mnemonics for info/mnemonics "
            "(webbarchive ingest-mnemonics FILE.csv loads a real table)"
        )
    plans_file = files / "plans" / "plans.csv"
    if plans_file.is_file():  # the mock's planned visits (calib_level -1, duplication check)
        from webbarchive.catalog.db import open_catalog
        from webbarchive.plans.load import load_plans

        print(load_plans(open_catalog(db), plans_file).summary())
    base = f"http://{args.host}:{args.port}"
    print("\nwebbarchive is serving the demo archive. Try:")
    for line in demo_urls(db, base):
        print("  " + line)
    print(f"  {base}/docs   (the API reference)\n")
    _serve(db, args.host, args.port)
    return 0


#: A few illustrative rows in MAST's mnemonic format, so the demo's info/mnemonics answers.
DEMO_MNEMONICS = Path(__file__).with_name("demo_mnemonics.csv")

#: What the pixel-search example's numbers mean: the pixel store keeps each
#: product's own flux unit (as the FITS file has it), so a threshold must be
#: written in that unit.
PIXEL_SEARCH_UNITS = (
    "wavelength in microns; flux in each product's own unit, not converted: Jy for "
    "x1d and c1d (so flux.gte=1e-6 keeps pixels of at least 1 microjansky), "
    "MJy or MJy/sr for s2d and s3d (productType=s2d|s3d)"
)


def load_demo_mnemonics(db: str) -> int:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.ingest.mnemonics import load_mnemonics

    return load_mnemonics(open_catalog(db), DEMO_MNEMONICS)


def _ingest_demo_telemetry(db: str, folder: Path) -> None:
    """Load the engineering telemetry the mock wrote (mnemonic dictionary included)."""
    from webbarchive.catalog.db import open_catalog
    from webbarchive.telemetry.ingest import ingest_telemetry

    print(ingest_telemetry(open_catalog(db), sorted(folder.iterdir())).summary())


def demo_urls(db: str, base: str) -> list[str]:
    """Example URLs on public products of the catalog at ``db``, one or more per API family."""
    from urllib.parse import quote

    from sqlalchemy import and_, select

    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.rights import ANONYMOUS, visible_products
    from webbarchive.catalog.schema import products

    engine = open_catalog(db)
    urls = []
    with engine.connect() as conn:

        def public(suffix: str):
            return conn.execute(
                select(products.c.filename, products.c.s_ra, products.c.s_dec)
                .where(and_(products.c.suffix == suffix, visible_products(ANONYMOUS)))
                .order_by(products.c.filename)
                .limit(1)
            ).first()

        x1d, s3d, image = public("x1d"), public("s3d"), public("i2d")
    for row in (x1d, s3d):
        if row is None:
            continue
        uri = f"mast:JWST/product/{row.filename}"
        urls.append(f"{base}/viz/api/v0.1/parameters?uri={uri}")
        urls.append(f"{base}/viz/api/v0.1/keywords/search?uri={uri}")
        urls.append(f"{base}/viz/api/v0.1/products?uri={uri}&level=3")
        urls.append(f"{base}/spectra/api/v0.1/retrieve?uri={uri}")
        urls.append(f"{base}/api/v0.1/Download/file?uri={uri}")
    urls.append(f"{base}/viz/api/v0.1/info/keywords?name=BKGDTARG")
    urls.append(f"{base}/viz/api/v0.1/info/mnemonics")
    urls.append(
        f"{base}/spectra/api/v0.1/search?wavelength=1.2,1.3&flux.gte=1e-6&derSnr.gt=5\n"
        f"      ({PIXEL_SEARCH_UNITS})"
    )
    if image is not None and image.s_ra is not None:
        coords = f"{image.s_ra:.5f},{image.s_dec:.5f}"
        urls.append(f"{base}/exposures?coords={coords}&output=table")
        urls.append(f"{base}/assoc?coords={coords}")
        urls.append(f"{base}/thumb?coords={coords}&size=4")
        urls.append(f"{base}/scs?RA={image.s_ra:.5f}&DEC={image.s_dec:.5f}&SR=0.05")
        adql = (
            "SELECT TOP 10 obs_id, instrument_name, s_ra, s_dec FROM ivoa.obscore WHERE "
            f"CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {coords}, 0.1)) = 1"
        )
        urls.append(f"{base}/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY={quote(adql)}")
    urls.append(f"{base}/nirspec_extractions?coords=214.86,52.88&size=600&output=html")
    return urls


def _account_command(func):
    """Report account errors (unknown user, duplicate name ...) as one line, exit 2."""
    import functools

    @functools.wraps(func)
    def run(args: argparse.Namespace) -> int:
        from webbarchive.catalog.accounts import AccountError

        try:
            return func(args)
        except AccountError as exc:
            print(f"webbarchive {args.command} {args.action}: {exc}", file=sys.stderr)
            return 2

    return run


@_account_command
def _cmd_users_add(args: argparse.Namespace) -> int:
    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog

    row = accounts.add_user(
        open_catalog(args.db),
        args.name,
        display_name=args.display_name,
        email=args.email,
        admin=args.admin,
    )
    print(f"added user {row['name']}" + (" (administrator)" if row["admin"] else ""))
    return 0


@_account_command
def _cmd_users_list(args: argparse.Namespace) -> int:
    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog

    for row in accounts.list_users(open_catalog(args.db)):
        roles = [f"PI of {p}" for p in row["pi_of"]]
        roles += [f"collaborator on {p}" for p in row["collaborator_of"]]
        admin = " admin" if row["admin"] else ""
        print(f"{row['name']}{admin}: {', '.join(roles) or 'no exclusive-access programs'}")
    return 0


@_account_command
def _cmd_programs(args: argparse.Namespace) -> int:
    from webbarchive.api.admin import parse_release
    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog

    engine = open_catalog(args.db)
    if args.action == "set-pi":
        accounts.set_pi(engine, args.program, args.user)
    elif args.action == "grant":
        accounts.grant(engine, args.program, args.user)
    elif args.action == "revoke":
        if not accounts.revoke(engine, args.program, args.user):
            print(f"{args.user} was not a collaborator of program {args.program}")
    elif args.action == "set-release":
        accounts.set_release(engine, args.program, parse_release(args.release))
    info = accounts.program_access(engine, args.program)
    if not info["known"]:
        print(f"note: program {info['proposal_id']} has no files in the catalog yet")
    release = info["release_override_mjd"]
    print(
        f"program {info['proposal_id']}: PI {info['pi'] or '(none)'}; collaborators "
        f"{', '.join(info['collaborators']) or '(none)'}; release override "
        f"{'(none)' if release is None else f'MJD {release:.5f}'}"
    )
    return 0


@_account_command
def _cmd_token_create(args: argparse.Namespace) -> int:
    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog

    new = accounts.create_token(open_catalog(args.db), args.user, args.name)
    print(new.token)
    print(
        f"token {new.name!r} for {args.user}: shown once, stored only hashed; it expires after "
        f"{accounts.INACTIVITY_DAYS:g} days without use or {accounts.LIFETIME_DAYS:g} days "
        "after creation",
        file=sys.stderr,
    )
    return 0


@_account_command
def _cmd_token_list(args: argparse.Namespace) -> int:
    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog
    from webbarchive.times import iso_of_mjd

    def when(mjd: float | None) -> str:
        return "never" if mjd is None else iso_of_mjd(mjd)[:19] + "Z"

    rows = accounts.list_tokens(open_catalog(args.db), args.user)
    if not rows:
        print(f"{args.user} has no tokens")
    for row in rows:
        print(
            f"{row['token_id']}  {row['name']}  {row['status']}  created {when(row['created_mjd'])}"
            f"  last used {when(row['last_used_mjd'])}  expires {when(row['expires_mjd'])}"
            + (f"  revoked {when(row['revoked_mjd'])}" if row["revoked_mjd"] is not None else "")
        )
    return 0


@_account_command
def _cmd_token_revoke(args: argparse.Namespace) -> int:
    from webbarchive.catalog import accounts
    from webbarchive.catalog.db import open_catalog

    if not accounts.revoke_token(open_catalog(args.db), args.user, args.token_id):
        print(
            f"webbarchive token revoke: {args.user} has no token {args.token_id} "
            f"(see webbarchive token list --user {args.user})",
            file=sys.stderr,
        )
        return 2
    print(f"token {args.token_id} of {args.user} revoked: it no longer authenticates")
    return 0


def _add_account_commands(sub) -> None:
    p = sub.add_parser("users", help="accounts that can hold tokens")
    users_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = users_sub.add_parser("add", help="create an account")
    q.add_argument("name", help="login name (one word)")
    q.add_argument("--display-name", default=None, help="full name, shown by /whoami")
    q.add_argument("--email", default=None, help="contact address, shown by /whoami")
    q.add_argument("--admin", action="store_true", help="reads everything, runs the admin API")
    _add_db(q)
    q.set_defaults(func=_cmd_users_add)
    q = users_sub.add_parser("list", help="accounts and the programs they may read")
    _add_db(q)
    q.set_defaults(func=_cmd_users_list)

    p = sub.add_parser("programs", help="who may read a program's exclusive-access data")
    programs_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    for action, text in (
        ("set-pi", "name the program's PI"),
        ("grant", "authorize a collaborator"),
        ("revoke", "withdraw a collaborator"),
    ):
        q = programs_sub.add_parser(action, help=text)
        q.add_argument("program", help="proposal id, e.g. 1039")
        q.add_argument("user", help="login name")
        _add_db(q)
        q.set_defaults(func=_cmd_programs)
    q = programs_sub.add_parser("set-release", help="override the program's public release")
    q.add_argument("program", help="proposal id, e.g. 1039")
    q.add_argument("release", help="MJD, ISO date (2027-03-01[T12:00:00], UTC) or 'none'")
    _add_db(q)
    q.set_defaults(func=_cmd_programs)

    p = sub.add_parser("token", help="API tokens")
    token_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = token_sub.add_parser("create", help="create a token and print it (once)")
    q.add_argument("--user", required=True, help="login name of the token's owner")
    q.add_argument("--name", required=True, help="what the token is for, e.g. laptop")
    _add_db(q)
    q.set_defaults(func=_cmd_token_create)
    q = token_sub.add_parser("list", help="a user's tokens: id, name, status, dates (UTC)")
    q.add_argument("--user", required=True, help="login name of the tokens' owner")
    _add_db(q)
    q.set_defaults(func=_cmd_token_list)
    q = token_sub.add_parser("revoke", help="revoke a token at once (by its id)")
    q.add_argument("--user", required=True, help="login name of the token's owner")
    q.add_argument("token_id", type=int, help="the token's id, as webbarchive token list shows")
    _add_db(q)
    q.set_defaults(func=_cmd_token_revoke)


def build_parser() -> argparse.ArgumentParser:
    from webbarchive import __version__

    parser = argparse.ArgumentParser(
        prog="webbarchive",
        description="webbarchive: a self-hostable JWST data archive (MAST, DJA and IVOA APIs).",
        epilog="`webbarchive COMMAND --help` describes a command and its options. "
        "First time? `webbarchive demo` generates, ingests and serves a small archive.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help="catalog JWST files and folders")
    p.add_argument("paths", nargs="+", help="files or folders to walk")
    _add_db(p)
    p.add_argument("--workers", type=int, default=None, help="reader processes (default: cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_no_wait(p)
    p.add_argument(
        "--storage",
        default=None,
        metavar="s3://BUCKET/PREFIX",
        help="put the local products in this object store and catalog them there "
        "(default: $WEBBARCHIVE_STORAGE, else they stay where they are); paths may "
        "also be s3://bucket/prefix to ingest what is already stored",
    )
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser(
        "verify", help="check the pixel store against the catalog (orphan, missing files)"
    )
    _add_db(p)
    p.add_argument(
        "--repair",
        action="store_true",
        help="remove orphan files; mark spectra of missing or altered segments for rebuild",
    )
    _add_no_wait(p)
    p.set_defaults(func=_cmd_verify)

    p = sub.add_parser("pixels", help="the pixel store's upkeep: verify, compact, reextract")
    pixels_sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    q = pixels_sub.add_parser(
        "verify", help="segments against the catalog: files, counts per spectrum, checksums"
    )
    q.add_argument(
        "--repair",
        action="store_true",
        help="remove orphan files; mark spectra of missing or altered segments for rebuild",
    )
    q = pixels_sub.add_parser(
        "compact", help="merge small segments (readers keep reading); delete retired files"
    )
    q.add_argument(
        "--grace",
        type=float,
        default=None,
        metavar="SECONDS",
        help="delete retired segment files older than this (default: 600)",
    )
    q = pixels_sub.add_parser(
        "reextract",
        help="extract these product types again (after an extractor change; default s2d)",
    )
    q.add_argument(
        "--product-type",
        action="append",
        choices=["x1d", "c1d", "s2d", "s3d"],
        help="x1d, c1d, s2d or s3d; repeat for several (default: s2d)",
    )
    for q in pixels_sub.choices.values():
        _add_db(q)
        _add_no_wait(q)
    p.set_defaults(func=_cmd_pixels)

    p = sub.add_parser("ingest-mnemonics", help="load an engineering mnemonic table (CSV)")
    p.add_argument(
        "csv", help="CSV with subsystem,tlmMnemonic,tlmIdentifier,description,sqlDataType,unit"
    )
    _add_db(p)
    p.set_defaults(func=_cmd_mnemonics)

    p = sub.add_parser(
        "ingest-telemetry",
        help="load engineering telemetry (MAST's EDB CSV, Parquet, the mnemonic dictionary)",
    )
    p.add_argument(
        "files",
        nargs="+",
        help="CSV as MAST serves it (theTime,MJD,euvalue,sqldataType), named "
        "<MNEMONIC>-<yyyymmddThhmmss>-<yyyymmddThhmmss>.csv or <MNEMONIC>.csv; Parquet with "
        "those columns (and optionally 'mnemonic'); dictionary CSVs (subsystem,tlmMnemonic,"
        "tlmIdentifier,description,sqlDataType,unit)",
    )
    _add_db(p)
    p.set_defaults(func=_cmd_telemetry)

    p = sub.add_parser(
        "ingest-plans", help="load planned and scheduled visits (the duplication check's data)"
    )
    p.add_argument(
        "file",
        help="CSV or JSON: program,observation,visit,target_name,ra,dec,pm_ra,pm_dec,epoch,"
        "template,optical_elements,status,window_start,window_end (see webbarchive.plans.load)",
    )
    _add_db(p)
    p.set_defaults(func=_cmd_plans)

    p = sub.add_parser("serve", help="serve the catalog over HTTP")
    _add_db(p)
    _add_host_port(p)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (uvicorn workers) sharing the port; async jobs live in the "
        "catalog, so any worker answers for any job (default: 1)",
    )
    p.add_argument(
        "--download-redirect",
        action="store_true",
        help="answer downloads of products in object storage with a 307 to a presigned "
        "URL instead of streaming them (also $WEBBARCHIVE_DOWNLOAD_REDIRECT)",
    )
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("mock", help="write a synthetic archive of authentic-format JWST products")
    p.add_argument("out", help="output folder")
    _add_seed_scale(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--dja-mosaics",
        action="store_true",
        help="also write DJA drizzled mosaics (*_drc_sci/_wht.fits) for /thumb and /assoc_mosaic",
    )
    p.add_argument(
        "--no-telemetry",
        action="store_true",
        help="do not write engineering telemetry (out/telemetry, for ingest-telemetry)",
    )
    p.add_argument(
        "--no-plans",
        action="store_true",
        help="do not write planned visits (out/plans/plans.csv, for ingest-plans)",
    )
    p.set_defaults(func=_cmd_mock)

    p = sub.add_parser("demo", help="generate, ingest and serve a demo archive")
    p.add_argument(
        "dir", nargs="?", default="demo-archive", help="where the demo lives (default: %(default)s)"
    )
    _add_seed_scale(p)
    p.add_argument("--workers", type=int, default=None, help="reader processes (default: cores)")
    _add_host_port(p)
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("settings", help="every setting: environment variable, value, meaning")
    p.set_defaults(func=_cmd_settings)
    _add_account_commands(sub)
    _add_duplication_check(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    from webbarchive.catalog.writer_lock import WriterBusy
    from webbarchive.config import SettingError
    from webbarchive.storage import StorageUnavailable
    from webbarchive.storage.full_disk import disk_full_cause

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except SettingError as exc:
        print(f"webbarchive: {exc}", file=sys.stderr)
        return 2
    except WriterBusy as exc:
        print(f"webbarchive {args.command}: {exc}", file=sys.stderr)
        return EXIT_BUSY
    except StorageUnavailable as exc:
        print(
            f"webbarchive {args.command}: {exc}; the catalog holds only whole files: "
            "run the same command again when the storage answers",
            file=sys.stderr,
        )
        return EXIT_STORAGE
    except Exception as exc:
        full = disk_full_cause(exc)
        if full is None:
            raise
        print(
            f"webbarchive {args.command}: no space left on device ({_one_line(full)}); "
            "the catalog holds only complete work: free some space and run the same "
            "command again to finish",
            file=sys.stderr,
        )
        return EXIT_NO_SPACE


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:200] + ("..." if len(text) > 200 else "")


def _cmd_duplication_check(args: argparse.Namespace) -> int:
    """Each target of a list against the planned visits: CSV, VOTable or JSON out."""
    import json

    from tqdm import tqdm

    from webbarchive.catalog.db import open_catalog
    from webbarchive.plans import PlanError
    from webbarchive.plans.query import parse_filters
    from webbarchive.plans.render import COLUMNS, to_csv, to_votable
    from webbarchive.plans.targets import QUERY_COLUMNS, check_targets, read_targets

    try:
        text = Path(args.targets).read_text(encoding="utf-8-sig")
        filters = parse_filters(args.template, args.optical_elements, args.status, args.radius)
        targets = read_targets(text, args.targets)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"error: cannot read {args.targets}: {exc}", file=sys.stderr)
        return 2
    except PlanError as exc:
        accepted = f" (accepted: {exc.accepted})" if exc.accepted else ""
        print(f"error: {exc.message}{accepted}", file=sys.stderr)
        return 2
    engine = open_catalog(args.db)
    with (
        engine.connect() as conn,
        tqdm(
            total=len(targets), desc="duplication check", unit="target", disable=args.quiet
        ) as bar,
    ):
        rows = check_targets(conn, targets, filters, progress=bar.update)
    columns = QUERY_COLUMNS + COLUMNS
    if args.format == "votable":
        data = to_votable(rows, columns)
    elif args.format == "json":
        data = (json.dumps({"count": len(rows), "results": rows}, indent=1) + "\n").encode()
    else:
        data = to_csv(rows, columns).encode()
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    matched = len({row["query_index"] for row in rows})
    print(
        f"{len(targets)} targets, {matched} with planned visits nearby, {len(rows)} matches",
        file=sys.stderr,
    )
    return 0


def _add_duplication_check(sub) -> None:
    p = sub.add_parser(
        "duplication-check",
        help="check a target list against the planned visits (as POST /duplication/api/v0.1/search)",
    )
    p.add_argument(
        "targets",
        help="CSV target_name,ra,dec[,pm_ra,pm_dec,epoch] or JSON (see webbarchive.plans.targets)",
    )
    p.add_argument("--radius", help="arcsec (default: each visit's template radius)")
    p.add_argument("--template", help="APT templates, comma-separated")
    p.add_argument("--optical-elements", help="filters/gratings, comma-separated")
    p.add_argument("--status", help="visit statuses, comma-separated")
    p.add_argument(
        "--format",
        choices=("csv", "votable", "json"),
        default="csv",
        help="output format (default: %(default)s)",
    )
    p.add_argument("--output", "-o", help="write here instead of standard output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    _add_db(p)
    p.set_defaults(func=_cmd_duplication_check)


if __name__ == "__main__":
    sys.exit(main())
