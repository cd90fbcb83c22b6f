"""curl download scripts in MAST's bundle.sh form.

The script makes a download folder ``MAST_<YYYY-MM-DDTHHMM>`` (asking to
(C)ontinue, resuming with ``curl -C -``, when it exists), writes MANIFEST.HTML
(URI | File | Access | Status | Logged In User) and MD5SUMS, then fetches each
file with curl from this server's Download/file. Only when exclusive-access
files are included does it need a token: ``$1``, else ``$MAST_API_TOKEN``, else
a prompt. After the downloads it checks every file's md5.
"""

from __future__ import annotations

import html
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import Connection, select

from webbarchive.catalog.queries import product_by_filename
from webbarchive.catalog.rights import EXCLUSIVE_ACCESS, User, may_read, rights_for
from webbarchive.catalog.schema import observations
from webbarchive.uris import UriError, filename_from_uri

UNAVAILABLE = "NOT FOUND OR NOT AUTHORIZED"


@dataclass(frozen=True)
class BundleFile:
    uri: str
    filename: str | None  # None when the URI is unknown or not readable by the user
    obs_collection: str = "JWST"
    obs_id: str = ""
    access: str = ""
    md5: str = ""
    size: int = 0

    @property
    def local_path(self) -> str:
        return f"{self.obs_collection}/{self.obs_id}/{self.filename}"


def resolve(conn: Connection, user: User, uris: list[str]) -> list[BundleFile]:
    """Each distinct URI with what the user may fetch; unknown and forbidden
    files look the same, so the script never reveals exclusive holdings."""
    files = []
    for uri in dict.fromkeys(u.strip() for u in uris if u and u.strip()):
        try:
            filename = filename_from_uri(uri)
        except UriError:
            files.append(BundleFile(uri, None))
            continue
        row = product_by_filename(conn, filename)
        if row is None or not may_read(user, row["proposal_id"], row["release_mjd"]):
            files.append(BundleFile(uri, None))
            continue
        obs = conn.execute(
            select(observations.c.obs_collection, observations.c.obs_id).where(
                observations.c.obsid == row["obsid"]
            )
        ).first()
        files.append(
            BundleFile(
                uri,
                filename,
                obs.obs_collection or "JWST",
                obs.obs_id,
                rights_for(row["release_mjd"]),
                row["checksum"] or "",
                int(row["size"] or 0),
            )
        )
    return files


def _manifest(files: list[BundleFile], user: User, generated: str) -> str:
    who = html.escape(user.name or "anonymous")
    rows = []
    for f in files:
        status = "OK" if f.filename else UNAVAILABLE
        rows.append(
            f"<tr><td>{html.escape(f.uri)}</td><td>{html.escape(f.local_path if f.filename else '')}"
            f"</td><td>{html.escape(f.access)}</td><td>{status}</td><td>{who}</td></tr>"
        )
    return (
        "<html><head><title>MAST Download Manifest</title></head><body>\n"
        f"<h2>Download manifest, generated {generated}</h2>\n"
        "<table border='1'>\n<tr><th>URI</th><th>File</th><th>Access</th><th>Status</th>"
        "<th>Logged In User</th></tr>\n" + "\n".join(rows) + "\n</table></body></html>"
    )


def script(
    files: list[BundleFile], user: User, base_url: str, now: datetime | None = None
) -> tuple[str, str]:
    """(bundle file name, script text)."""
    now = now or datetime.now(UTC)
    folder = "MAST_" + now.strftime("%Y-%m-%dT%H%M")
    name = folder + ".sh"
    fetch = [f for f in files if f.filename]
    needs_token = any(f.access == EXCLUSIVE_ACCESS for f in fetch)
    total = sum(f.size for f in fetch)
    lines = [
        "#!/bin/bash",
        "#",
        "# Requires bash version >= 4 and curl.",
        f"# {len(fetch)} files, {total} bytes, from {base_url}; generated {now.isoformat(timespec='seconds')}.",
        f"# {len(files) - len(fetch)} requested URIs were not found or not authorized (see MANIFEST.HTML).",
        "#",
        'type -P curl >&/dev/null || { echo "This script requires curl. Exiting." >&2; exit 1; }',
        "",
        f"DOWNLOAD_FOLDER={shlex.quote(folder)}",
        'CONT=""',
        'if [ -d "$DOWNLOAD_FOLDER" ]; then',
        '  read -r -p "Download folder $DOWNLOAD_FOLDER exists. (C)ontinue the download there, or make a (N)ew folder? [C/n] " REPLY',
        '  if [[ -z "$REPLY" || "$REPLY" =~ ^[Cc] ]]; then',
        '    CONT="-C -"',
        "  else",
        "    n=1",
        '    while [ -d "${DOWNLOAD_FOLDER}-$n" ]; do n=$((n + 1)); done',
        '    DOWNLOAD_FOLDER="${DOWNLOAD_FOLDER}-$n"',
        "  fi",
        "fi",
        'mkdir -p "$DOWNLOAD_FOLDER"',
        "",
    ]
    if needs_token:
        lines += [
            "# Exclusive-access files are included: a token is needed.",
            'if [ -n "$1" ]; then MAST_API_TOKEN="$1"; fi',
            'if [ -z "$MAST_API_TOKEN" ]; then',
            '  read -r -s -p "Enter your MAST API token: " MAST_API_TOKEN; echo',
            "fi",
            "",
        ]
    lines += [
        "cat > \"${DOWNLOAD_FOLDER}/MANIFEST.HTML\" <<'EOT'",
        _manifest(files, user, now.isoformat(timespec="seconds")),
        "EOT",
        "",
        "cat > \"${DOWNLOAD_FOLDER}/MD5SUMS\" <<'EOT'",
        *[f"{f.md5}  {f.local_path}" for f in fetch if f.md5],
        "EOT",
        "",
        "FAILED=0",
    ]
    base = base_url.rstrip("/")
    for f in fetch:
        url = (
            f"{base}/api/v0.1/Download/file?bundle_name={quote(name)}&uri={quote(f.uri, safe=':/')}"
        )
        auth = '-H "Authorization: token $MAST_API_TOKEN" ' if f.access == EXCLUSIVE_ACCESS else ""
        lines += [
            "cat <<EOT",
            f"<<< Downloading File: {f.uri}",
            f"                  To: ${{DOWNLOAD_FOLDER}}/{f.local_path}",
            "EOT",
            f"curl {auth}--globoff --location-trusted -f --progress-bar --create-dirs $CONT "
            f'--output ./"${{DOWNLOAD_FOLDER}}"/{shlex.quote(f.local_path)} {shlex.quote(url)} '
            "|| FAILED=$((FAILED + 1))",
            "",
        ]
    lines += [
        "if type -P md5sum >&/dev/null; then",
        '  (cd "$DOWNLOAD_FOLDER" && md5sum -c --quiet MD5SUMS) || { echo "Checksum mismatch: see above." >&2; FAILED=$((FAILED + 1)); }',
        "fi",
        'if [ "$FAILED" -ne 0 ]; then echo "$FAILED problem(s) while downloading." >&2; exit 1; fi',
        "exit 0",
        "",
    ]
    return name, "\n".join(lines)
