"""The basket: its page (counts and total size before any download), the zip
streamed on the fly, and the curl script run for real against a live server;
both backends."""

from __future__ import annotations

import hashlib
import io
import subprocess
import tracemalloc
import zipfile
from datetime import UTC, datetime

import httpx
import pytest

from tests.auth.eap import EAP_FILE, PUBLIC_FILE, PUBLIC_OBS_ID
from tests.portal.truth import product_files
from webbarchive.api.portal_basket import zip_stream

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def _as(archive, who: str) -> dict[str, str]:
    return {"Authorization": f"token {archive.tokens[who]}"} if who != "anonymous" else {}


def _public_files(archive) -> dict[str, tuple[int, str]]:
    """A few public products of two observations: name -> (bytes, md5)."""
    from sqlalchemy import select

    from webbarchive.catalog.schema import observations

    program = next(
        p for p in ("1181", "1039", "1180") if p != archive.context["mock_program"]
    )  # mock programs the EAP archive keeps public
    with archive.engine.connect() as conn:
        obs_ids = sorted(
            conn.execute(
                select(observations.c.obs_id).where(observations.c.proposal_id == program)
            ).scalars()
        )
    files = dict(product_files(archive.engine, PUBLIC_OBS_ID))
    for obs_id in obs_ids[:2]:
        files.update(sorted(product_files(archive.engine, obs_id).items())[:2])
    assert len(files) >= 3
    return files


def _query(names) -> str:
    return "&".join(f"file={n}" for n in names)


def test_basket_page_counts_and_total_size(portal_client, eap_archive):
    files = _public_files(eap_archive)
    page = portal_client.get(f"/portal/basket?{_query(files)}")
    assert page.status_code == 200
    assert f'<span id="basket-files">{len(files)}</span>' in page.text
    total = sum(size for size, _ in files.values())
    assert f'data-bytes="{total}"' in page.text
    for name, (_, md5) in files.items():
        assert name in page.text and md5 in page.text
    assert "basket-unavailable" not in page.text
    # exclusive files count for those who may read them, and only for them
    with_eap = {**files, EAP_FILE: product_files(eap_archive.engine, EAP_FILE[:-9])[EAP_FILE]}
    for who, counted in (("stranger", files), ("pi", with_eap)):
        page = portal_client.post(
            "/portal/basket", data={"file": list(with_eap)}, headers=_as(eap_archive, who)
        )
        assert f'<span id="basket-files">{len(counted)}</span>' in page.text
        assert f'data-bytes="{sum(s for s, _ in counted.values())}"' in page.text
        assert ("1 not found or not authorized" in page.text) == (who == "stranger")
    empty = portal_client.get("/portal/basket")
    assert empty.status_code == 200 and 'id="basket-empty"' in empty.text


def _members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert archive.testzip() is None
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_zip_holds_the_files_and_their_md5(portal_client, eap_archive):
    files = _public_files(eap_archive)
    answer = portal_client.get(f"/portal/basket.zip?{_query(files)}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert answer.headers["x-total-bytes"] == str(sum(s for s, _ in files.values()))
    members = _members(answer.content)
    by_name = {path.rsplit("/", 1)[-1]: data for path, data in members.items()}
    assert set(by_name) == set(files) | {"MD5SUMS"}
    for name, (size, md5) in files.items():
        assert len(by_name[name]) == size and hashlib.md5(by_name[name]).hexdigest() == md5
    assert f"JWST/{PUBLIC_OBS_ID}/{PUBLIC_FILE}" in members
    sums = dict(line.split("  ")[::-1] for line in by_name["MD5SUMS"].decode().splitlines())
    assert {path.rsplit("/", 1)[1]: md5 for path, md5 in sums.items()} == {
        n: m for n, (_, m) in files.items()
    }
    posted = portal_client.post("/portal/basket.zip", data={"file": list(files)})
    assert set(_members(posted.content)) == set(members)


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("stranger", 403), ("pi", 200)])
def test_zip_refuses_what_a_download_refuses(portal_client, eap_archive, who, status):
    names = [PUBLIC_FILE, EAP_FILE, eap_archive.context["mock_image"]]
    answer = portal_client.get(f"/portal/basket.zip?{_query(names)}", headers=_as(eap_archive, who))
    assert answer.status_code == status
    if status == 200:
        assert len(_members(answer.content)) == 4  # and MD5SUMS


def test_zip_of_nothing_or_unknown(portal_client):
    assert portal_client.get("/portal/basket.zip").status_code == 400
    unknown = portal_client.get(f"/portal/basket.zip?file={PUBLIC_FILE}&file=jw00000_none.fits")
    assert unknown.status_code == 404 and "jw00000_none.fits" in unknown.json()["message"]


def test_zip_is_streamed_not_buffered(tmp_path):
    """A 24 MB member goes through in storage-sized chunks: memory stays small."""
    payload = tmp_path / "big.fits"
    block = bytes(range(256)) * 4096  # 1 MiB
    with open(payload, "wb") as out:
        for _ in range(24):
            out.write(block)
    size = payload.stat().st_size
    row = {"arcname": "JWST/x/big.fits", "size": size, "path": str(payload), "checksum": ""}
    tracemalloc.start()
    chunks = 0
    with open(tmp_path / "basket.zip", "wb") as out:
        for chunk in zip_stream([row], datetime.now(UTC)):
            chunks += 1
            out.write(chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert chunks > 10
    with zipfile.ZipFile(tmp_path / "basket.zip") as streamed:  # what was streamed is a zip
        assert streamed.read("JWST/x/big.fits") == payload.read_bytes()
    assert peak < 8 * 2**20, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB member"


def test_curl_script_downloads_and_verifies(live_server, eap_archive, tmp_path):
    files = _public_files(eap_archive)
    script = httpx.post(
        f"{live_server}/api/v0.1/Download/bundle.sh",
        data={"uri": [f"mast:JWST/product/{n}" for n in files]},
        timeout=30,
    )
    assert script.status_code == 200
    (tmp_path / "fetch.sh").write_text(script.text)
    run = subprocess.run(
        ["bash", "fetch.sh"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    fetched = {p.name: p for p in tmp_path.glob("MAST_*/JWST/*/*")}
    assert set(fetched) == set(files)
    for name, (size, md5) in files.items():
        data = fetched[name].read_bytes()
        assert len(data) == size and hashlib.md5(data).hexdigest() == md5
