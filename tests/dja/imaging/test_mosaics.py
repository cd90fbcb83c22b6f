"""The mock's DJA mosaics and their ingest: names, shared pixel grids, sources, and
associations built from the exposures that find their sub-mosaics."""

from __future__ import annotations

import csv
import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from webbarchive.ingest.classify import NotClassified, classify

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.mark.parametrize(
    ("name", "obs_id", "suffix", "kind"),
    [
        ("j021744m0514_unknown-f444w_00287-f444w-clear_drc_sci.fits.gz",
         "j021744m0514_unknown-f444w_00287-f444w-clear", "drc_sci", "SCIENCE"),
        ("j021744m0514_unknown-f444w_00287-f444w-clear_drc_wht.fits",
         "j021744m0514_unknown-f444w_00287-f444w-clear", "drc_wht", "AUXILIARY"),
        ("abell2744clu-grizli-v7.2-f160w_drz_sci.fits", "abell2744clu-grizli-v7.2-f160w",
         "drz_sci", "SCIENCE"),
    ],
)  # fmt: skip
def test_dja_mosaic_names_are_classified(name, obs_id, suffix, kind):
    info = classify(name)
    assert (info.obs_id, info.suffix, info.productType, info.productLevel) == (
        obs_id, suffix, kind, "3",
    )  # fmt: skip


@pytest.mark.parametrize("name", ["mosaic_drc_exp.fits", "j0217_unknown_drc.fits", "x_sci.fits"])
def test_other_names_stay_unclassified(name):
    with pytest.raises(NotClassified):
        classify(name)


def _pairs(dja_dir):
    return sorted(dja_dir.glob("*_drc_sci.fits"))


def test_sci_and_wht_share_their_grid_and_sub_mosaics_slice_the_field(dja_dir):
    sci_files = _pairs(dja_dir)
    assert len(sci_files) >= 10
    fields = {}
    for sci in sci_files:
        header = fits.getheader(sci)
        wht = fits.getheader(str(sci).replace("_sci", "_wht"))
        for key in ("NAXIS1", "NAXIS2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2"):
            assert header[key] == wht[key]
        if header["DJAKIND"] == "field":
            fields[(header["TARGPROP"], header["FILTER"])] = sci
    for sci in sci_files:
        header = fits.getheader(sci)
        if header["DJAKIND"] != "assoc":
            continue
        field = fits.getheader(fields[(header["TARGPROP"], header["FILTER"])])
        assert (header["CRVAL1"], header["CRVAL2"]) == (field["CRVAL1"], field["CRVAL2"])
        shift = np.array([header["CRPIX1"] - field["CRPIX1"], header["CRPIX2"] - field["CRPIX2"]])
        assert np.allclose(shift, np.round(shift))  # an integer-pixel slice, no resampling
        with (
            fits.open(sci) as sub,
            fits.open(fields[(header["TARGPROP"], header["FILTER"])]) as big,
        ):
            x0, y0 = (int(v) for v in np.round(-shift))
            ny, nx = sub[0].data.shape
            noiseless_sub = sub[0].data - np.median(sub[0].data)
            window = big[0].data[y0 : y0 + ny, x0 : x0 + nx] - np.median(big[0].data)
            if window.shape == noiseless_sub.shape:
                # the same sky (independent noise): strongly correlated pixels
                assert np.corrcoef(noiseless_sub.ravel(), window.ravel())[0, 1] > 0.5


def test_mosaics_hold_galaxies_and_stars(dja_dir):
    for sci in _pairs(dja_dir):
        with fits.open(sci) as hdul:
            data, header = hdul[0].data, hdul[0].header
        noise = 1.4826 * np.median(np.abs(data - np.median(data)))
        assert data.max() > 50 * noise  # bright sources well above the noise
        assert header["BUNIT"] == "10nJy" and header["ZP"] == 28.9
        scale_mas = WCS(header).proj_plane_pixel_scales()[0].to_value("mas")
        assert round(scale_mas, 6) in (20.0, 40.0)  # DJA: 20 mas NIRCam SW, 40 mas else


def test_every_public_association_found_its_sub_mosaic(dja_client, dja_dir):
    assocs = list(
        csv.DictReader(io.StringIO(dja_client.get(
            "/assoc", params={"coords": "359.99985,0.3712", "arcmin": 1, "output": "csv"}).text))
    )  # fmt: skip
    assert len(assocs) == 3
    for assoc in assocs:
        assert assoc["status"] == "2"
        assert list(dja_dir.glob(f"{assoc['assoc_name']}-*_drc_sci.fits"))
