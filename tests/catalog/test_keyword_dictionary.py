"""The keyword dictionary against stdatamodels' own lookups, the schema YAML
text, MAST's documented entry and astropy's reading of a real file."""

from __future__ import annotations

import json

import pytest
import yaml
from astropy.io import fits
from stdatamodels.jwst import datamodels

from webbarchive.catalog.keyword_dictionary import keyword_dictionary, lookup, schema_dir

REAL_X1D = "spectra/jw02736-o007_s06355_nirspec_f290lp-g395m_x1d.fits"
#: Keywords of the real file (pipeline 1.12.5) that stdatamodels 6.0.0 no
#: longer defines: the drizzle parameter reference file and TEXPTIME.
RETIRED = {"R_DRZPAR", "TEXPTIME"}


def _structural(keyword: str) -> bool:
    """FITS structure keywords, which no data model schema defines."""
    return keyword in (
        "SIMPLE",
        "BITPIX",
        "EXTEND",
        "XTENSION",
        "PCOUNT",
        "GCOUNT",
        "TFIELDS",
        "EXTNAME",
        "EXTVER",
        "COMMENT",
        "HISTORY",
        "",
    ) or keyword.startswith(("NAXIS", "TTYPE", "TFORM", "TUNIT", "TZERO", "TSCAL", "TDIM"))


def test_entries_have_mast_fields_in_mast_order(mast_doc_examples):
    doc = mast_doc_examples / "info_keywords_name_BKGDTARG.json"
    mast_entry = json.loads(doc.read_text())["science.observation.schema.json"]["bkgdtarg"]
    every = [entry for group in keyword_dictionary().values() for entry in group.values()]
    assert len(every) > 700
    for entry in every:
        assert list(entry) == list(mast_entry)
        assert isinstance(entry["destination"], list)
        assert all(isinstance(v, str) for k, v in entry.items() if k != "destination")


def test_bkgdtarg_is_the_schema_text():
    core = yaml.safe_load((schema_dir() / "core.schema.yaml").read_text())
    node = core["properties"]["meta"]["properties"]["observation"]
    schema_entry = node["properties"]["bkgdtarg"]
    (entry,) = lookup("bkgdtarg")["core.observation.schema.json"].values()
    assert entry["fits_keyword"] == schema_entry["fits_keyword"] == "BKGDTARG"
    assert entry["title"] == entry["description"] == schema_entry["title"]
    assert entry["type"] == schema_entry["type"] == "boolean"
    assert entry["section"] == node["title"] == "Observation identifiers"
    assert "fits_hdu" not in schema_entry and entry["fits_hdu"] == "PRIMARY"


@pytest.mark.parametrize("prefix", ["core.", "wcsinfo."])
def test_attribute_paths_agree_with_stdatamodels(prefix):
    """stdatamodels' own find_fits_keyword on an ImageModel (its schema resolved
    by asdf) must name the attribute each entry is keyed by."""
    model = datamodels.ImageModel()
    checked = 0
    for group, entries in keyword_dictionary().items():
        if not group.startswith(prefix) or group.count(".") != 3:
            continue
        section = group.split(".")[1]
        for attribute, entry in entries.items():
            paths = model.find_fits_keyword(entry["fits_keyword"], return_result=True)
            assert f"meta.{section}.{attribute}" in paths, (group, attribute, paths)
            checked += 1
    assert checked > 100


def test_real_file_keywords_are_all_defined(real_dir):
    """Every keyword the pipeline wrote in a real x1d is in the dictionary,
    under the HDU it was written to."""
    with fits.open(real_dir / REAL_X1D) as hdul:
        headers = [(hdu.name, hdu.header) for hdu in hdul[:2]]
    for hdu_name, header in headers:
        for keyword in header:
            if _structural(keyword) or keyword in RETIRED:
                continue
            found = lookup(keyword)
            assert found is not None, (hdu_name, keyword)
            hdus = {entry["fits_hdu"] for group in found.values() for entry in group.values()}
            assert hdu_name in hdus, (keyword, hdus)


def test_lookup_is_case_insensitive_and_none_when_unknown():
    assert lookup("numdthpt") == lookup("NUMDTHPT") == lookup(" NumDthPt ")
    assert lookup("NUMDTHPT")["core.dither.schema.json"]["total_points"]["type"] == "integer"
    assert lookup("NOSUCHKW") is None
    # CRDS reference-file headers are not science keywords
    assert lookup("REFTYPE") is None and lookup("USEAFTER") is None


def test_units_from_title_and_enum_in_misc():
    (ra_v1,) = lookup("RA_V1")["wcsinfo.pointing.schema.json"].values()
    assert ra_v1["title"].startswith("[deg]") and ra_v1["units"] == "deg"
    (exp_type,) = lookup("EXP_TYPE")["core.exposure.schema.json"].values()
    assert "NRS_MSASPEC" in exp_type["misc"] and "MIR_MRS" in exp_type["misc"]
