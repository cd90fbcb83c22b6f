"""The DJA spectroscopy routes over the ingested mock + real archive (both backends),
and exclusive-access spectra and slits through the one authorization layer."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from fastapi.testclient import TestClient

from webbarchive.catalog import accounts
from webbarchive.catalog.db import open_catalog
from webbarchive.dja.spectra.tables import EXTRACTION_COLUMNS, REDSHIFT_COLUMNS, SLIT_COLUMNS
from webbarchive.mock.msaexp import FOLDER, MOSFIRE_LISTING, REDSHIFT_TABLE

ERO_SOURCE = "110.84459416965377,-73.4350589621277"  # SRCRA/SRCDEC of 2736_6355


def _csv(response) -> list[dict[str, str]]:
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_slits_csv_and_count(client, real_dir):
    response = client.get("/nirspec_slits", params={"coords": ERO_SOURCE, "size": 1})
    assert response.status_code == 200
    assert response.text.splitlines()[0].split(",") == SLIT_COLUMNS
    rows = _csv(response)
    sources = [r for r in rows if r["is_source"] == "True"]
    assert [r["source_id"] for r in sources] == ["6355"]
    assert sources[0]["msametfl"] == "jw02736007001_01_msa.fits" and sources[0]["patt_num"] == "1"
    counted = client.get("/nirspec_slits", params={"coords": ERO_SOURCE, "size": 1,
                                                   "count": "True", "output": "json"}).json()  # fmt: skip
    assert counted == {"program": {"0": 2736}, "count": {"0": len(rows)},
                       "grating": {"0": "G395M"}, "filter": {"0": "F290LP"}}  # fmt: skip
    # size is a radius in arcsec: a far smaller cone keeps fewer shutters
    few = _csv(client.get("/nirspec_slits", params={"coords": ERO_SOURCE, "size": 0.05}))
    assert 1 <= len(few) < len(rows)


def test_slits_page_with_the_total_in_headers(client, real_dir):
    params = {"coords": ERO_SOURCE, "size": 1}
    everything = _csv(client.get("/nirspec_slits", params=params))
    assert len(everything) >= 2
    first = client.get("/nirspec_slits", params={**params, "limit": 1})
    assert _csv(first) == everything[:1]
    assert first.headers["X-Total-Count"] == str(len(everything))
    assert first.headers["X-Returned"] == "1" and first.headers["X-Truncated"] == "true"
    rest = client.get("/nirspec_slits", params={**params, "offset": 1})
    assert _csv(rest) == everything[1:] and rest.headers["X-Truncated"] == "false"
    bad = client.get("/nirspec_slits", params={**params, "limit": 0})
    assert bad.status_code == 400 and "limit" in bad.json()["message"]


@pytest.mark.parametrize(
    "params",
    [{"coords": "nowhere"}, {"coords": "1,2", "size": "-3"}, {"coords": "1,2", "count": "maybe"},
     {"coords": "1,2", "output": "xml"}, {}],
)  # fmt: skip
def test_slits_bad_input_is_400(client, params):
    response = client.get("/nirspec_slits", params=params)
    assert response.status_code == 400 and response.json()["message"]


def test_extractions_of_a_mock_source(client, mock_dir):
    table = (mock_dir / FOLDER / REDSHIFT_TABLE).read_text()
    spec = sorted(p.name for p in (mock_dir / FOLDER).glob("*prism*.spec.fits"))[0]
    rows = _csv(client.get("/nirspec_extractions", params={"file": spec}))
    assert spec in [r["file"] for r in rows]
    assert list(rows[0]) == EXTRACTION_COLUMNS
    mine = next(r for r in rows if r["file"] == spec)
    assert f"{spec} {mine['z']}" in table.replace('"', "")  # z from the redshift table
    near = _csv(client.get("/nirspec_extractions",
                           params={"ra": mine["ra"], "dec": mine["dec"], "size": 0.4}))  # fmt: skip
    assert {r["file"] for r in near} == {r["file"] for r in rows}
    page = client.get("/nirspec_extractions", params={"file": spec, "output": "html"}).text
    prefix = spec.removesuffix(".spec.fits")
    assert f"{prefix}.fnu.png" in page and f"{prefix}.flam.png" in page
    png = client.get(f"/msaexp-nirspec/extractions/{mine['root']}/{prefix}.flam.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    fits_file = client.get(f"/msaexp-nirspec/extractions/{mine['root']}/{spec}")
    assert fits_file.content == (mock_dir / FOLDER / spec).read_bytes()
    merged = _csv(client.get("/nirspec_file_redshift", params={"file": spec}))
    assert list(merged[0]) == REDSHIFT_COLUMNS and merged[0]["file"] == spec


def test_trace_overlap_and_mosfire(client, mock_dir):
    spec = sorted(p.name for p in (mock_dir / FOLDER).glob("*.spec.fits"))[0]
    answer = client.get("/nirspec_trace_overlap", params={"spec_file": spec, "output": "json"})
    assert answer.status_code == 200 and answer.json()["spec_file"] == spec
    figure = client.get("/nirspec_trace_overlap", params={"spec_file": spec})
    assert figure.content.startswith(b"\x89PNG")
    assert (
        client.get("/nirspec_trace_overlap", params={"spec_file": spec, "exposure": 99}).status_code
        == 400
    )
    listing = client.get("/mosfire", params={"coords": "34.405,-5.22487", "mode": "json"}).json()
    assert {r["datemask"] for r in listing} == {"UDS_field_new4_20160128", "UDSK1_20160118"}
    assert (
        client.get("/mosfire", params={"coords": "34.405,-5.22487", "mode": "xml"}).status_code
        == 400
    )


def test_mosfire_file_links_resolve(client, mock_dir):
    """Every file link of the /mosfire listing answers 200 with the spectrum's bytes
    (the mock's spectra lie in Spectra/ beside its listing, as in DJA's bucket)."""
    import re
    from urllib.parse import unquote

    from astropy.table import Table

    page = client.get("/mosfire", params={"coords": "34.405,-5.22487"})
    assert page.status_code == 200
    links = re.findall(r'<a href="([^"]+)"', page.text)
    listed = set(Table.read(mock_dir / FOLDER / MOSFIRE_LISTING, format="ascii.csv")["file"])
    assert len(links) == len(listed) == 2
    for link in links:
        answer = client.get(link)
        assert answer.status_code == 200, (link, answer.text[:200])
        file = unquote(link.split("/mosfire/Spectra/", 1)[1])
        assert file in listed
        assert answer.content == (mock_dir / FOLDER / "Spectra" / file).read_bytes()
    # a file no listing names is not found, whatever the path says
    for name in ("nothing_sp.fits", "../" + MOSFIRE_LISTING, "../../catalog.db"):
        assert client.get(f"/mosfire/Spectra/{name}").status_code == 404, name


def test_mosfire_spectrum_not_held_redirects_to_dja(tmp_path):
    """A listed spectrum this archive does not hold: a redirect to DJA's bucket."""
    from fastapi.testclient import TestClient

    from webbarchive.api.app import create_app
    from webbarchive.config import Settings
    from webbarchive.ingest.runner import ingest_paths

    listing = tmp_path / "mosfire.csv"
    listing.write_text("ra_targ,dec_targ,datemask,file\n10.0,-5.0,M1,M1/Reduced/x_sp.fits\n")
    url = str(tmp_path / "catalog.db")
    ingest_paths([str(listing)], db_url=url, workers=1, progress=False)
    with TestClient(create_app(Settings.from_env(db_url=url))) as app:
        answer = app.get("/mosfire/Spectra/M1/Reduced/x_sp.fits", follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == (
        "https://s3.amazonaws.com/mosfire-pipeline/Spectra/M1/Reduced/x_sp.fits"
    )


def test_exclusive_access_spectra_and_slits(catalog_url, real_dir, tmp_path):
    from webbarchive.api.app import create_app
    from webbarchive.config import Settings
    from webbarchive.ingest.runner import ingest_paths

    # real MSA file + ERO products (slits of 2736), real CEERS slitlets + the newer msaexp
    # spectrum of the same source (extraction of 1345)
    spec = "static-test-driz-center-bkg_933.spec.fits"
    shutil.copy(real_dir / "dja" / spec, tmp_path / spec)
    ingest_paths([str(real_dir / "msa" / "jw02736007001_01_msa.fits"),
                  str(real_dir / "spectra"), str(tmp_path)],
                 db_url=catalog_url, workers=1, progress=False)  # fmt: skip
    engine = open_catalog(catalog_url)
    for program in ("2736", "1345"):
        accounts.set_release(engine, program, 99_999.0)
    accounts.add_user(engine, "pi")
    accounts.set_pi(engine, "2736", "pi")
    accounts.set_pi(engine, "1345", "pi")
    token = accounts.create_token(engine, "pi", "dja-test").token
    with TestClient(create_app(Settings.from_env(db_url=catalog_url))) as app:
        anonymous = app.get("/nirspec_slits", params={"coords": ERO_SOURCE, "size": 1})
        assert _csv(anonymous) == []
        assert app.get("/nirspec_file_redshift", params={"file": spec}).status_code == 401
        assert (
            app.get(f"/msaexp-nirspec/extractions/static-test-driz-center-bkg/{spec}").status_code
            == 401
        )
        near = app.get("/nirspec_extractions", params={"coords": "214.8337227,52.8682822"})
        assert _csv(near) == []
        headers = {"Authorization": f"token {token}"}
        mine = _csv(
            app.get("/nirspec_slits", params={"coords": ERO_SOURCE, "size": 1}, headers=headers)
        )
        assert any(r["source_id"] == "6355" for r in mine)
        rows = _csv(app.get("/nirspec_extractions", params={"file": spec}, headers=headers))
        assert [r["file"] for r in rows] == [spec]
