"""The real astroquery 0.4.11 against a live webbarchive server.

Truths are computed independently of the server: straight from the catalog
tables with astropy SkyCoord separations and plain Python filtering, and md5
of the downloaded bytes against the files on disk.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from sqlalchemy import select

from tests.mast import archive
from webbarchive.catalog.db import open_catalog
from webbarchive.catalog.rights import now_mjd
from webbarchive.catalog.schema import keywords, observations, products

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def md5(path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


def catalog_rows(url: str, table) -> list[dict]:
    engine = open_catalog(url, create=False)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(select(table)).mappings()]
    engine.dispose()
    return rows


def public_observations(url: str) -> list[dict]:
    """Observations anonymous users read: a known release that has passed (the
    archive has no overrides; an unknown release is hidden)."""
    now = now_mjd()
    return [
        o
        for o in catalog_rows(url, observations)
        if o["t_obs_release"] is not None and o["t_obs_release"] <= now
    ]


def public_products(url: str) -> list[dict]:
    """Products anonymous users read, by the same rule."""
    now = now_mjd()
    return [
        p
        for p in catalog_rows(url, products)
        if p["publicReleaseDate_mjd"] is not None and p["publicReleaseDate_mjd"] <= now
    ]


def cone_truth(url: str, centre: SkyCoord, radius_deg: float) -> set[str]:
    """obs_id of public observations whose centre is within the radius (the
    synthetic footprints are 1 arcsec squares, far from every boundary)."""
    rows = [o for o in public_observations(url) if o["s_ra"] is not None]
    coords = SkyCoord([o["s_ra"] for o in rows] * u.deg, [o["s_dec"] for o in rows] * u.deg)
    near = centre.separation(coords).deg <= radius_deg
    return {o["obs_id"] for o, hit in zip(rows, near, strict=True) if hit}


CENTRE = SkyCoord(*archive.CENTRE, unit="deg")


def test_urls_point_at_the_live_server(live_server):
    from astroquery.mast.discovery_portal import PortalAPI

    from tests.mast.conftest import SERVER

    assert PortalAPI.MAST_REQUEST_URL == f"{SERVER}/api/v0/invoke"


def test_query_region_matches_skycoord_truth(observations, live_server):
    table = observations.query_region(CENTRE, radius=0.1 * u.deg)
    truth = cone_truth(live_server.url, CENTRE, 0.1)
    assert truth == {f"jw08888-o{i + 1:03d}_t001_nircam_clear-f200w" for i in range(5)}
    assert set(table["obs_id"]) == truth
    assert "jw09999-o001_t001_nircam_clear-f200w" not in set(table["obs_id"])  # EAP, anonymous
    # distance is in arcsec from the centre, ascending
    expected = {o: sep for o, sep in zip(table["obs_id"], table["distance"], strict=True)}
    assert expected["jw08888-o003_t001_nircam_clear-f200w"] == pytest.approx(0.03 * 3600, abs=1e-3)
    assert list(table["distance"]) == sorted(table["distance"])


def test_query_region_pages_transparently(observations, live_server):
    """pagesize 3 makes astroquery follow pagesFiltered page by page."""
    observations._portal_api_connection.PAGESIZE = 3
    try:
        table = observations.query_region(CENTRE, radius=0.4 * u.deg)
    finally:
        observations._portal_api_connection.PAGESIZE = 50000
    assert len(table) == len(set(table["obs_id"]))
    assert set(table["obs_id"]) == cone_truth(live_server.url, CENTRE, 0.4)
    assert len(table) == 9


def test_one_page_reports_the_total(observations, live_server):
    from astroquery.mast import Observations

    responses = Observations.query_region_async(CENTRE, radius=0.4 * u.deg, pagesize=4, page=2)
    body = responses[0].json()
    assert body["paging"] == {
        "page": 2, "pageSize": 4, "pagesFiltered": 3, "rows": 4, "rowsFiltered": 9, "rowsTotal": 9,
    }  # fmt: skip


def test_query_criteria_without_position(observations, live_server):
    table = observations.query_criteria(
        proposal_id=["8888", "1345"], t_exptime=[150, 650], instrument_name="NIRCAM*"
    )
    truth = {
        o["obs_id"]
        for o in public_observations(live_server.url)
        if o["proposal_id"] in ("8888", "1345")
        and o["t_exptime"] is not None
        and 150 <= o["t_exptime"] <= 650
        and o["instrument_name"].upper().startswith("NIRCAM")
    }
    assert truth and set(table["obs_id"]) == truth
    count = observations.query_criteria_count(
        proposal_id=["8888", "1345"], t_exptime=[150, 650], instrument_name="NIRCAM*"
    )
    assert count == len(truth)


def test_query_criteria_with_position_and_count(observations, live_server):
    table = observations.query_criteria(
        coordinates=CENTRE, radius=0.2 * u.deg, t_exptime=[300, 10000]
    )
    by_id = {o["obs_id"]: o for o in public_observations(live_server.url)}
    truth = {i for i in cone_truth(live_server.url, CENTRE, 0.2) if by_id[i]["t_exptime"] >= 300}
    assert truth and set(table["obs_id"]) == truth
    assert "distance" in table.colnames
    assert observations.query_criteria_count(
        coordinates=CENTRE, radius=0.2 * u.deg, t_exptime=[300, 10000]
    ) == len(truth)
    assert observations.query_region_count(CENTRE, radius=0.2 * u.deg) == len(
        cone_truth(live_server.url, CENTRE, 0.2)
    )


def test_unknown_filter_is_refused_by_the_client_from_columnsconfig(observations, live_server):
    from astroquery.exceptions import InvalidQueryError

    with pytest.raises(InvalidQueryError, match="t_exptim"):
        observations.query_criteria(t_exptim=[1, 2])
    meta = observations.get_metadata("observations")
    assert {"obs_id", "t_exptime", "dataRights", "obsid"} <= set(meta["Column Name"])


def test_service_error_is_a_remote_service_error(observations, live_server):
    from astroquery.exceptions import RemoteServiceError
    from astroquery.mast import Mast

    with pytest.raises(RemoteServiceError, match="obsid"):
        Mast.service_request("Mast.Caom.Products", {"obsid": "jw01345062001_03101_00001_nrs2"})


def test_get_product_list_no_duplicates_and_paging(observations, live_server):
    obs = observations.query_criteria(target_name=["BIG", "CLUSTER"])
    doubled = __import__("astropy.table", fromlist=["vstack"]).vstack([obs, obs])
    observations._portal_api_connection.PAGESIZE = 5
    try:
        found = observations.get_product_list(doubled)
    finally:
        observations._portal_api_connection.PAGESIZE = 50000
    obsids = {int(x) for x in obs["obsid"]}
    truth = {p["filename"] for p in catalog_rows(live_server.url, products) if p["obsid"] in obsids}
    assert len(truth) == archive.MANY_PRODUCTS + len(archive.OFFSETS_DEG)
    assert len(found) == len(truth) == len(set(found["productFilename"]))
    assert set(found["productFilename"]) == truth
    assert set(found["dataURI"]) == {f"mast:JWST/product/{f}" for f in truth}
    cal = observations.filter_products(found, productSubGroupDescription="CAL")
    assert len(cal) == archive.MANY_PRODUCTS


def test_download_products_checksums(observations, live_server, tmp_path):
    obs = observations.query_region(CENTRE, radius=0.04 * u.deg)
    found = observations.get_product_list(obs)
    manifest = observations.download_products(found, download_dir=str(tmp_path))
    assert set(manifest["Status"]) == {"COMPLETE"}
    sums = {p["filename"]: p["checksum"] for p in catalog_rows(live_server.url, products)}
    for path in manifest["Local Path"]:
        path = Path(path)
        assert path.parent.parent.name == "JWST" and path.parent.name.startswith("jw08888-o")
        assert md5(path) == sums[path.name]


def test_curl_script_runs_and_checksums_match(observations, live_server, tmp_path):
    obs = observations.query_region(CENTRE, radius=0.04 * u.deg)
    found = observations.get_product_list(obs)
    manifest = observations.download_products(found, download_dir=str(tmp_path), curl_flag=True)
    script = Path(manifest["Local Path"][0])
    text = script.read_text()
    assert (
        text.startswith("#!/bin/bash") and "MANIFEST.HTML" in text and "MAST_API_TOKEN" not in text
    )
    run = subprocess.run(
        ["bash", str(script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stderr
    folder = next(tmp_path.glob("MAST_*/"))
    sums = {p["filename"]: p["checksum"] for p in catalog_rows(live_server.url, products)}
    got = {p.name: md5(p) for p in folder.glob("JWST/*/*.fits")}
    assert set(got) == set(found["productFilename"])
    assert all(got[name] == sums[name] for name in got)
    assert "Logged In User" in (folder / "MANIFEST.HTML").read_text()


def test_real_product_download_matches_file(observations, live_server, tmp_path, real_dir):
    table = observations.query_criteria(proposal_id="2736", calib_level=3)
    found = observations.filter_products(observations.get_product_list(table), extension="x1d.fits")
    assert list(found["productFilename"]) == ["jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"]
    manifest = observations.download_products(found, download_dir=str(tmp_path))
    local = Path(manifest["Local Path"][0])
    assert md5(local) == md5(real_dir / "spectra" / local.name)


def test_list_missions(observations, live_server):
    assert observations.list_missions() == ["JWST"]


# --- SI keyword services ------------------------------------------------------------


def keyword_table(url: str) -> dict[int, dict[str, object]]:
    by_product: dict[int, dict[str, object]] = {}
    for k in catalog_rows(url, keywords):
        by_product.setdefault(k["product_id"], {})[k["name"]] = (
            k["num"] if k["num"] is not None else json.loads(k["value"]) if k["value"] else None
        )
    return by_product


def test_jwst_keyword_service(live_server, real_dir):
    from astroquery.mast import Mast

    table = Mast.mast_query(
        "Mast.Jwst.Filtered.Nirspec",
        exp_type="NRS_MSASPEC",
        date_obs_mjd={"min": 59700.0, "max": 59800.0},
    )
    files = {p["product_id"]: p for p in catalog_rows(live_server.url, products)}
    truth = {
        files[pid]["filename"]
        for pid, kw in keyword_table(live_server.url).items()
        if files[pid]["instrument"] == "NIRSPEC"
        and kw.get("exp_type") == "NRS_MSASPEC"
        and kw.get("date_obs_mjd") is not None
        and 59700 <= kw["date_obs_mjd"] <= 59800
    }
    assert truth and set(table["filename"]) == truth
    assert table.colnames[:4] == ["ArchiveFileID", "filename", "fileSetName", "productLevel"]
    assert set(table["exp_type"]) == {"NRS_MSASPEC"}


def test_jwst_keyword_service_columns_and_wildcard(live_server, real_dir):
    from astroquery.mast import Mast

    table = Mast.mast_query(
        "Mast.Jwst.Filtered.Nirspec", columns="filename,grating", grating=["G395M", "G140M"]
    )
    assert table.colnames == ["filename", "grating"]
    assert set(table["grating"]) == {"G395M", "G140M"}
    # filename is a request keyword of mast_query, so wildcards go on keywords
    wild = Mast.mast_query("Mast.Jwst.Filtered.Nirspec", exp_type="*FIXED*")
    assert set(wild["exp_type"]) == {"NRS_FIXEDSLIT"} and len(wild) == 2
    guide = Mast.mast_query("Mast.Jwst.Filtered.GuideStar", exp_type="FGS_ACQ1")
    assert list(guide["filename"]) == ["jw01019001001_gs-acq1_2022117003102_uncal.fits"]


# --- MastMissions -----------------------------------------------------------------------


@pytest.fixture()
def missions(live_server):
    from astroquery.mast import MastMissions

    m = MastMissions(mission="jwst")
    return m


def test_missions_query_criteria(missions, live_server, real_dir):
    table = missions.query_criteria(
        instrume="NIRSPEC", exp_type="!NRS_FIXEDSLIT", select_cols=["exp_type"]
    )
    files = {p["product_id"]: p for p in public_products(live_server.url)}
    kws = keyword_table(live_server.url)
    truth = {
        files[pid]["fileSetName"]
        for pid, kw in kws.items()
        if pid in files
        and kw.get("instrume") == "NIRSPEC"
        and kw.get("exp_type") != "NRS_FIXEDSLIT"
    }
    assert truth and set(table["fileSetName"]) == truth
    assert "NRS_FIXEDSLIT" not in set(table["exp_type"].filled(""))
    older = missions.query_criteria(
        date_obs="<2022-07-01", program="2736,1345", select_cols=["date_obs"]
    )
    assert all(d < "2022-07-01" for d in older["date_obs"]) and len(older) >= 1


def test_missions_query_region_and_products(missions, live_server, tmp_path, real_dir):
    # Around a CEERS slit source (SRCRA/SRCDEC of the SCI header): a dataset is
    # found by the TARG_RA/TARG_DEC its row reports, and ang_sep is astropy's
    # distance to that position.
    from astropy.io import fits

    header = fits.getheader(
        real_dir / "spectra/jw01345062001_03101_00001_nrs2_phot.138.1345_933.fits", "SCI"
    )
    centre = SkyCoord(header["SRCRA"], header["SRCDEC"], unit="deg")
    radius = 3 * u.arcmin
    table = missions.query_region(centre, radius=radius, select_cols=["targ_ra", "targ_dec"])
    reported = SkyCoord(table["targ_ra"], table["targ_dec"], unit="deg")
    assert list(table["ang_sep"]) == pytest.approx(
        list(centre.separation(reported).arcmin), abs=1e-7
    )
    files = {p["product_id"]: p for p in public_products(live_server.url)}
    targets = {
        pid: (kw["targ_ra"], kw["targ_dec"])
        for pid, kw in keyword_table(live_server.url).items()
        if pid in files and files[pid]["fileSetName"] and "targ_ra" in kw and "targ_dec" in kw
    }
    seps = centre.separation(SkyCoord(list(targets.values()), unit="deg"))
    truth = {files[pid]["fileSetName"] for pid, s in zip(targets, seps, strict=True) if s <= radius}
    assert truth and set(table["fileSetName"]) == truth
    found = missions.get_product_list(table)
    assert set(found["dataset"]) == truth
    spectra = missions.filter_products(found, extension="fits")
    spectra = spectra[[Path(f).name.startswith("jw01345") for f in spectra["filename"]]]
    manifest = missions.download_products(spectra, download_dir=str(tmp_path))
    assert len(manifest) and set(manifest["Status"]) == {"COMPLETE"}
    for path in manifest["Local Path"]:
        path = Path(path)
        assert md5(path) == md5(real_dir / "spectra" / path.name)


def test_missions_column_list(missions, live_server, real_dir):
    # The searchable columns come from the keywords of ingested files: only the
    # real files give the archive's keywords table rows (the synthetic rows have none).
    columns = missions.get_column_list()
    assert {"fileSetName", "exp_type", "date_obs", "date_obs_mjd"} <= set(columns["name"])
    with pytest.raises(Exception, match="exp_typ"):
        missions.query_criteria(exp_typ="NRS_MSASPEC")


# --- exclusive access ---------------------------------------------------------------------

SECRET = "jw09999-o001_t001_nircam_clear-f200w"


def test_eap_needs_a_valid_token(observations, live_server, tmp_path):
    from astroquery.exceptions import LoginError

    with pytest.raises(LoginError):
        observations.login(token="x" * 32)
    observations.logout()
    assert SECRET not in set(observations.query_region(CENTRE, radius=0.05 * u.deg)["obs_id"])

    observations.login(token=live_server.other_token)
    assert observations.session_info(verbose=False)["anon"] is False
    assert SECRET not in set(observations.query_region(CENTRE, radius=0.05 * u.deg)["obs_id"])
    observations.logout()

    observations.login(token=live_server.pi_token)
    obs = observations.query_criteria(proposal_id=archive.EAP_PROGRAM)
    assert list(obs["obs_id"]) == [SECRET] and list(obs["dataRights"]) == ["EXCLUSIVE_ACCESS"]
    found = observations.get_product_list(obs)
    manifest = observations.download_products(found, download_dir=str(tmp_path))
    assert set(manifest["Status"]) == {"COMPLETE"}
    sums = {p["filename"]: p["checksum"] for p in catalog_rows(live_server.url, products)}
    assert md5(manifest["Local Path"][0]) == sums[f"{SECRET}_i2d.fits"]

    (tmp_path / "curl").mkdir()
    curl = observations.download_products(
        found, download_dir=str(tmp_path / "curl"), curl_flag=True
    )
    script = Path(curl["Local Path"][0])
    assert "Authorization: token $MAST_API_TOKEN" in script.read_text()
    observations.logout()
    denied = subprocess.run(
        ["bash", str(script), "not-a-token"],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert denied.returncode != 0
    for folder in script.parent.glob("MAST_*"):
        subprocess.run(["rm", "-rf", str(folder)], check=True)
    run = subprocess.run(
        ["bash", str(script), live_server.pi_token],
        cwd=script.parent,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert run.returncode == 0, run.stderr
    (got,) = script.parent.glob(f"MAST_*/JWST/{SECRET}/*.fits")
    assert md5(got) == sums[got.name]


def test_anonymous_bundle_leaves_out_exclusive_files(live_server):
    import httpx

    from tests.mast.conftest import SERVER

    text = httpx.post(
        f"{SERVER}/api/v0.1/Download/bundle.sh",
        data={"uri": [f"mast:JWST/product/{SECRET}_i2d.fits", "mast:JWST/product/nothing.fits"]},
    ).text
    assert "curl " not in text.split("FAILED=0", 1)[1].split("md5sum")[0]
    assert text.count("NOT FOUND OR NOT AUTHORIZED") == 2 and "MAST_API_TOKEN" not in text
