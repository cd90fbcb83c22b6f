"""Product classification from a file name and its DATAMODL / EXP_TYPE keywords.

JWST names carry the product level and type:

- level 3 (combined): ``jw01039-o004_t001_miri_ch3-long_x1d.fits``; the
  observation is the stem without its suffix, ``jw01039-o004_t001_miri_ch3-long``;
- level 1b/2 (one exposure): ``jw01345062001_03101_00001_nrs1_cal.fits``; the
  observation is the exposure, ``jw01345062001_03101_00001_nrs1``. Files that
  tools write after a pipeline step keep the exposure prefix
  (``..._nrs2_phot.138.1345_933.fits``) and join that exposure;
- guider exposures: ``jw01019001001_gs-acq1_2022117003102_uncal.fits``;
- MSA metadata: ``jw02736007001_01_msa.fits``, its own observation
  ``jw02736007001_01`` (one MSA configuration serves every exposure of a visit,
  and a product belongs to exactly one observation);
- association files ``*_asn.json`` describe products and never make an
  observation: the writer attaches one to an observation of a product it names
  (:func:`webbarchive.ingest.writer.described_observation`); ``obs_id`` here is
  only a name.

A double underscore starts an annotation that is not part of the JWST name
(``..._uncal__HEADERONLY.fits``, as in the shared real files): it is ignored
for classification and kept in ``filename``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from webbarchive.ingest.mosaics import classify_mosaic

# NotClassified and base_name are re-exported: callers import them from here.
from webbarchive.ingest.names import Classification, NotClassified, base_name  # noqa: F401

MRP = "Minimum Recommended Products"

_LEVEL3 = re.compile(r"^(jw\d{5}-[a-z]\d{3,5}_.+)_([a-z0-9]+)$")
_EXPOSURE = re.compile(
    r"^(jw\d{11}_\d{5}_\d{5}_[a-z0-9]+)(?:_[oca]\d{3,5})?_([a-z0-9]+)(?:[._].*)?$"
)
_GUIDER = re.compile(r"^(jw\d{11}_gs-[a-z0-9-]+_\d+(?:_\d+)?)_([a-z0-9]+)$")
_MSA = re.compile(r"^(jw\d{11}_\d{2})_msa(?:_[a-z0-9]+)?$")
_ASN = re.compile(r"^(jw\d{5}(?:\d{6})?[-_].*)_asn$")


@dataclass(frozen=True)
class SuffixInfo:
    """What MAST says about one product suffix."""

    productType: str  # SCIENCE, AUXILIARY, INFO
    subgroup: str  # productSubGroupDescription
    description: str  # as MAST writes it
    recommended: bool = False  # MAST's "Minimum Recommended Products"
    level: str | None = None  # fixed productLevel when the suffix implies one


# Descriptions follow MAST's product table; the seed fixes x1d and s3d verbatim.
SUFFIXES: dict[str, SuffixInfo] = {
    "uncal": SuffixInfo(
        "SCIENCE", "UNCAL", "exposure (L1b): Uncalibrated 4D exposure data", level="1b"
    ),
    "rate": SuffixInfo("SCIENCE", "RATE", "exposure (L2a): Corrected countrate image", level="2a"),
    "rateints": SuffixInfo(
        "SCIENCE", "RATEINTS", "exposure (L2a): Corrected countrate per integration", level="2a"
    ),
    "trapsfilled": SuffixInfo(
        "AUXILIARY", "TRAPSFILLED", "exposure (L2a): Charge trap state", level="2a"
    ),
    "cal": SuffixInfo("SCIENCE", "CAL", "exposure (L2b): 2D calibrated exposure", True, "2b"),
    "calints": SuffixInfo(
        "SCIENCE", "CALINTS", "exposure (L2b): 3D calibrated exposure per integration", True, "2b"
    ),
    "bsub": SuffixInfo(
        "SCIENCE", "BSUB", "exposure (L2b): Background-subtracted exposure", level="2b"
    ),
    "bsubints": SuffixInfo(
        "SCIENCE",
        "BSUBINTS",
        "exposure (L2b): Background-subtracted exposure per integration",
        level="2b",
    ),
    "phot": SuffixInfo(
        "SCIENCE",
        "PHOT",
        "exposure (L2b): Flux-calibrated slit cutout (photom step output)",
        level="2b",
    ),
    "i2d": SuffixInfo("SCIENCE", "I2D", "exposure/target (L2b/L3): rectified 2D image", True),
    "s2d": SuffixInfo("SCIENCE", "S2D", "exposure/target (L2b/L3): rectified 2D spectrum", True),
    "s3d": SuffixInfo("SCIENCE", "S3D", "exposure/target (L2b/L3): 3D image of spectrum", True),
    "x1d": SuffixInfo("SCIENCE", "X1D", "exposure/target (L2b/L3): 1D extracted spectrum", True),
    "extract1dstep": SuffixInfo(
        "SCIENCE",
        "EXTRACT1DSTEP",
        "exposure/target (L2b/L3): 1D extracted spectrum (user re-run of extract_1d)",
    ),
    "x1dints": SuffixInfo(
        "SCIENCE", "X1DINTS", "exposure (L2b): 1D extracted spectra per integration", True, "2b"
    ),
    "c1d": SuffixInfo("SCIENCE", "C1D", "target (L3): 1D combined spectrum", True, "3"),
    # outlier-detection output: named for the exposure, made by level 3 (MAST: "2c")
    "crf": SuffixInfo(
        "SCIENCE", "CRF", "exposure (L2c): CR-flagged calibrated exposure", level="2c"
    ),
    "crfints": SuffixInfo(
        "SCIENCE",
        "CRFINTS",
        "exposure (L2c): CR-flagged calibrated exposure per integration",
        level="2c",
    ),
    "cat": SuffixInfo("SCIENCE", "CAT", "target (L3): source catalog", True, "3"),
    "segm": SuffixInfo("SCIENCE", "SEGM", "target (L3): segmentation map", level="3"),
    "whtlt": SuffixInfo("SCIENCE", "WHTLT", "target (L3): TSO white-light catalog", True, "3"),
    "phot_tso": SuffixInfo("SCIENCE", "PHOT", "target (L3): TSO photometry catalog", True, "3"),
    "psfstack": SuffixInfo("SCIENCE", "PSFSTACK", "target (L3): PSF stack", level="3"),
    "psfsub": SuffixInfo("SCIENCE", "PSFSUB", "exposure (L3): PSF-subtracted exposure", level="3"),
    "ami": SuffixInfo("SCIENCE", "AMI", "exposure (L3): AMI fringe parameters", level="3"),
    "amiavg": SuffixInfo(
        "SCIENCE", "AMIAVG", "target (L3): averaged AMI fringe parameters", level="3"
    ),
    "aminorm": SuffixInfo(
        "SCIENCE", "AMINORM", "target (L3): normalized AMI fringe parameters", True, "3"
    ),
    "msa": SuffixInfo("AUXILIARY", "MSA", "visit (L1b): NIRSpec MSA configuration (metadata)"),
    "asn": SuffixInfo("INFO", "ASN", "association (L2b/L3): pipeline association"),
}
_UNKNOWN = SuffixInfo("SCIENCE", "", "product of unrecognised type")

# EXP_TYPE -> (instrument_name as MAST writes it, observation dataproduct_type)
_MODES: dict[str, tuple[str, str]] = {
    "NRS_MSASPEC": ("NIRSPEC/MSA", "spectrum"),
    "NRS_FIXEDSLIT": ("NIRSPEC/SLIT", "spectrum"),
    "NRS_BRIGHTOBJ": ("NIRSPEC/SLIT", "spectrum"),
    "NRS_IFU": ("NIRSPEC/IFU", "cube"),
    "NRS_IMAGE": ("NIRSPEC/IMAGE", "image"),
    "MIR_MRS": ("MIRI/IFU", "cube"),
    "MIR_LRS-FIXEDSLIT": ("MIRI/SLIT", "spectrum"),
    "MIR_LRS-SLITLESS": ("MIRI/SLITLESS", "spectrum"),
    "MIR_IMAGE": ("MIRI/IMAGE", "image"),
    "MIR_4QPM": ("MIRI/CORON", "image"),
    "MIR_LYOT": ("MIRI/CORON", "image"),
    "NRC_IMAGE": ("NIRCAM/IMAGE", "image"),
    "NRC_CORON": ("NIRCAM/CORON", "image"),
    "NRC_WFSS": ("NIRCAM/GRISM", "spectrum"),
    "NRC_TSGRISM": ("NIRCAM/GRISM", "spectrum"),
    "NRC_TSIMAGE": ("NIRCAM/IMAGE", "image"),
    "NIS_IMAGE": ("NIRISS/IMAGE", "image"),
    "NIS_WFSS": ("NIRISS/WFSS", "spectrum"),
    "NIS_SOSS": ("NIRISS/SOSS", "spectrum"),
    "NIS_AMI": ("NIRISS/AMI", "image"),
    "FGS_IMAGE": ("FGS/IMAGE", "image"),
}
_CALIBRATION_EXP_TYPES = ("DARK", "FLAT", "LAMP", "TACQ", "TACONFIRM", "FOCUS", "WATA", "MSATA")


def classify(filename: str, datamodel: str | None = None) -> Classification:
    """Classify a file by its name; ``datamodel`` (DATAMODL) only refines it.

    Raises :class:`NotClassified` when the name follows no JWST pattern.
    """
    name = base_name(filename)
    if match := _MSA.match(name):
        obs_id, suffix, level = match.group(1), "msa", "1b"
    elif match := _ASN.match(name):
        obs_id, suffix, level = match.group(1), "asn", "3" if "-" in name[:9] else "2b"
    elif match := _LEVEL3.match(name):
        obs_id, suffix, level = match.group(1), match.group(2), "3"
    elif match := (_EXPOSURE.match(name) or _GUIDER.match(name)):
        obs_id, suffix, level = match.group(1), match.group(2), "2b"
    elif mosaic := classify_mosaic(filename):  # DJA drizzled mosaics
        return mosaic
    else:
        raise NotClassified(
            f"name {filename!r} follows no JWST naming pattern "
            "(jwPPPPP-oOOO_..._suffix, jwPPPPPOOOVVV_GGSAA_EEEEE_detector_suffix, *_msa, *_asn.json)"
        )
    info = SUFFIXES.get(suffix) or _UNKNOWN
    if suffix == "phot" and level == "3":
        info = SUFFIXES["phot_tso"]
    if info.level and level != "3":
        level = info.level  # an exposure name: the suffix says how far it was processed
    calib_level = {"1b": 1, "2a": 2, "2b": 2, "2c": 2, "3": 3}[level]
    subgroup = info.subgroup or suffix.upper()
    description = info.description
    if info is _UNKNOWN and datamodel:
        description = f"product of unrecognised type ({datamodel})"
    return Classification(
        obs_id=obs_id,
        fileSetName=_file_set_name(obs_id, level),
        suffix=suffix,
        productLevel=level,
        calib_level=calib_level,
        productType=info.productType,
        productGroupDescription=MRP if info.recommended else None,
        productSubGroupDescription=subgroup,
        description=description,
    )


def _file_set_name(obs_id: str, level: str) -> str:
    """MAST's fileSetName: the level-3 name up to the instrument
    (``jw01039-o004_t001_miri``), the exposure name for level 2."""
    if level == "3" and "-" in obs_id[:9]:
        parts = obs_id.split("_")
        return "_".join(parts[:3])
    return obs_id


def mode(exp_type: str | None, instrument: str | None) -> tuple[str | None, str | None]:
    """(instrument_name, dataproduct_type) as MAST writes them for ``exp_type``."""
    if exp_type and exp_type.upper() in _MODES:
        return _MODES[exp_type.upper()]
    if instrument:
        inst = instrument.upper()
        if exp_type and any(
            k in exp_type.upper() for k in ("IMAGE", "TACQ", "ACQ", "TRACK", "FINE")
        ):
            return f"{inst}/IMAGE", "image"
        return inst, None
    return None, None


def intent(exp_type: str | None) -> str:
    """``science`` unless the exposure type is a calibration or acquisition."""
    if exp_type and any(tag in exp_type.upper() for tag in _CALIBRATION_EXP_TYPES):
        return "calibration"
    if exp_type and exp_type.upper().startswith("FGS_") and exp_type.upper() != "FGS_IMAGE":
        return "calibration"
    return "science"
