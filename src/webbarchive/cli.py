"""The ``webbarchive`` command: ingest, serve, mock, demo, ingest-mnemonics.

Each subcommand is a thin shell over a library function, so everything the
CLI does can be scripted from Python too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from webbarchive.catalog.db import DEFAULT_DB

EXIT_SKIPPED = 3  # ingest finished but reported files it could not read


def _add_db(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        default=DEFAULT_DB,
        help=f"catalog: a SQLite file or postgresql://user@host:port/db (default: {DEFAULT_DB})",
    )


def _cmd_ingest(args: argparse.Namespace) -> int:
    from webbarchive.ingest.runner import ingest_paths

    report = ingest_paths(args.paths, db_url=args.db, workers=args.workers, progress=not args.quiet)
    print(report.summary())
    return EXIT_SKIPPED if report.skipped else 0


def _cmd_mnemonics(args: argparse.Namespace) -> int:
    from webbarchive.catalog.db import open_catalog
    from webbarchive.ingest.mnemonics import load_mnemonics

    count = load_mnemonics(open_catalog(args.db), Path(args.csv))
    print(f"loaded {count} mnemonics from {args.csv}")
    return 0


def _cmd_mock(args: argparse.Namespace) -> int:
    from webbarchive.mock import generate

    summary = generate(Path(args.out), seed=args.seed, scale=args.scale, progress=not args.quiet)
    print(summary)
    return 0


def _serve(db: str, host: str, port: int) -> None:
    import os

    import uvicorn

    os.environ["WEBBARCHIVE_DB"] = db
    os.environ.setdefault("WEBBARCHIVE_PUBLIC_URL", f"http://{host}:{port}")
    uvicorn.run(
        "webbarchive.api.app:create_app", factory=True, host=host, port=port, log_level="info"
    )


def _cmd_serve(args: argparse.Namespace) -> int:
    _serve(args.db, args.host, args.port)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from webbarchive.ingest.runner import ingest_paths
    from webbarchive.mock import generate

    root = Path(args.dir)
    files = root / "files"
    db = str(root / "webbarchive.db")
    if not (files / ".complete").exists():
        print(f"generating a {args.scale} mock archive in {files} (seed {args.seed})")
        print(generate(files, seed=args.seed, scale=args.scale, progress=True))
        (files / ".complete").touch()
    report = ingest_paths([str(files)], db_url=db, workers=args.workers, progress=True)
    print(report.summary())
    base = f"http://{args.host}:{args.port}"
    print("\nwebbarchive is serving the demo archive. Try:")
    for line in demo_urls(db, base):
        print("  " + line)
    print(f"  {base}/docs   (the API reference)\n")
    _serve(db, args.host, args.port)
    return 0


def demo_urls(db: str, base: str) -> list[str]:
    """Example URLs on real products of the catalog at ``db``."""
    from sqlalchemy import select

    from webbarchive.catalog.db import open_catalog
    from webbarchive.catalog.schema import products

    engine = open_catalog(db)
    urls = []
    with engine.connect() as conn:
        for suffix in ("x1d", "s3d"):
            name = conn.execute(
                select(products.c.filename).where(products.c.suffix == suffix).limit(1)
            ).scalar()
            if not name:
                continue
            uri = f"mast:JWST/product/{name}"
            urls.append(f"{base}/viz/api/v0.1/parameters?uri={uri}")
            urls.append(f"{base}/viz/api/v0.1/keywords/search?uri={uri}")
            urls.append(f"{base}/viz/api/v0.1/products?uri={uri}&level=3")
            urls.append(f"{base}/spectra/api/v0.1/retrieve?uri={uri}")
            urls.append(f"{base}/api/v0.1/Download/file?uri={uri}")
    urls.append(f"{base}/viz/api/v0.1/info/keywords?name=BKGDTARG")
    return urls


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="webbarchive", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("ingest", help="catalog JWST files and folders")
    p.add_argument("paths", nargs="+", help="files or folders to walk")
    _add_db(p)
    p.add_argument("--workers", type=int, default=None, help="reader processes (default: cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_ingest)

    p = sub.add_parser("ingest-mnemonics", help="load an engineering mnemonic table (CSV)")
    p.add_argument(
        "csv", help="CSV with subsystem,tlmMnemonic,tlmIdentifier,description,sqlDataType,unit"
    )
    _add_db(p)
    p.set_defaults(func=_cmd_mnemonics)

    p = sub.add_parser("serve", help="serve the catalog over HTTP")
    _add_db(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=_cmd_serve)

    p = sub.add_parser("mock", help="write a synthetic archive of authentic-format JWST products")
    p.add_argument("out", help="output folder")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", choices=("small", "medium", "large"), default="small")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_mock)

    p = sub.add_parser("demo", help="generate, ingest and serve a demo archive")
    p.add_argument("dir", nargs="?", default="demo-archive", help="where the demo lives")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--scale", choices=("small", "medium", "large"), default="small")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=_cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
