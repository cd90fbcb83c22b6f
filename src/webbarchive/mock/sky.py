"""The mock sky: programs, targets in the real deep fields, and the observations to write.

Programs, titles, PIs and categories follow real JWST programs where one exists (CEERS
1345, ERO SMACS 0723 2736, JADES 1180/1181, UNCOVER 2561, RUBIES 4233, COSMOS-Web 1727,
NGDEEP 2079, GA-NIFS 1216, MIRI latent 1039, NIRSpec FS calibration 1492, MIRI LRS
calibration 1530). Two fictitious GO programs put targets near RA 0/360 and near the
north celestial pole, which geometry code must handle; their dates fall in 2026 so that
their data are still in the exclusive access period.

Observation dates run from 2022-07 to 2026-10 and are fixed here (no wall clock), so the
public release of each product is known in advance: GO/GTO data one year after the end of
the observation, ERS/DD/COM/CAL data at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from astropy.time import Time


@dataclass(frozen=True)
class Program:
    number: int
    title: str
    pi_name: str
    category: str  # GO, GTO, ERS, DD, COM, CAL
    cal_ver: str
    crds_ctx: str

    @property
    def padded(self) -> str:
        """PROGRAM as the pipeline writes it: five digits, zero padded."""
        return f"{self.number:05d}"


@dataclass(frozen=True)
class Target:
    name: str  # TARGPROP as proposed; TARGNAME is the same upper-cased when catalogued
    ra: float  # degrees, ICRS
    dec: float  # degrees, ICRS
    field: str


@dataclass(frozen=True)
class Observation:
    """One observation of a program, and what the mock writes for it.

    ``kind`` is mos | fs | ifu | mrs | lrs | image. ``configs`` are spectral mode names
    (see spectra.MODES) for spectroscopy, or (instrument, filter, pupil) for imaging.
    """

    program: Program
    number: int
    target: Target
    kind: str
    configs: tuple
    start: str  # ISO UTC start of the first exposure
    roll_deg: float = 0.0
    n_sources: int = 1  # MOS: sources extracted; others: 1
    n_exposures: int = 2  # dithers / nods per configuration
    subarray: str | None = None
    bad_s_region: bool = False  # reproduce the pipeline 1.8.2 fixed-slit S_REGION bug
    extra: dict = field(default_factory=dict)

    @property
    def start_mjd(self) -> float:
        return float(Time(self.start, scale="utc").mjd)


# --- programs ------------------------------------------------------------------------

CEERS = Program(1345, "The Cosmic Evolution Early Release Science (CEERS) Survey",
                "Finkelstein, Steven", "ERS", "1.14.0", "jwst_1252.pmap")  # fmt: skip
SMACS = Program(2736, "JWST Early Release Observation 10",
                "Pontoppidan, Klaus M.", "COM", "1.12.5", "jwst_1140.pmap")  # fmt: skip
JADES = Program(1180, "JADES: the JWST Advanced Deep Extragalactic Survey - GOODS-S",
                "Eisenstein, Daniel", "GTO", "1.14.0", "jwst_1252.pmap")  # fmt: skip
JADES_N = Program(1181, "JADES: the JWST Advanced Deep Extragalactic Survey - GOODS-N",
                  "Eisenstein, Daniel", "GTO", "1.15.1", "jwst_1264.pmap")  # fmt: skip
A2744_DD = Program(2756, "Lensed supernova follow-up in Abell 2744",
                   "Chen, Wenlei", "DD", "1.8.2", "jwst_0995.pmap")  # fmt: skip
UNCOVER = Program(2561, "UNCOVER: Ultradeep NIRSpec and NIRCam ObserVations before the Epoch of Reionization",
                  "Labbe, Ivo", "GO", "1.11.4", "jwst_1100.pmap")  # fmt: skip
RUBIES = Program(4233, "RUBIES: Red Unknowns: Bright Infrared Extragalactic Survey",
                 "de Graaff, Anna", "GO", "1.16.0", "jwst_1293.pmap")  # fmt: skip
COSMOS_WEB = Program(1727, "COSMOS-Webb: The Webb Cosmic Origins Survey",
                     "Kartaltepe, Jeyhan", "GO", "1.13.4", "jwst_1188.pmap")  # fmt: skip
NGDEEP = Program(2079, "NGDEEP: The Next Generation Deep Extragalactic Exploratory Public Survey",
                 "Finkelstein, Steven", "GO", "1.11.4", "jwst_1100.pmap")  # fmt: skip
GA_NIFS = Program(1216, "Galaxy Assembly with NIRSpec IFS",
                  "Luetzgendorf, Nora", "GTO", "1.18.0", "jwst_1364.pmap")  # fmt: skip
MIRI_LATENT = Program(1039, "MIRI Detector Latent Image Characterization",
                      "Dicken, Daniel", "COM", "1.8.2", "jwst_0932.pmap")  # fmt: skip
NRS_FS_CAL = Program(1492, "NIRSpec Fixed Slit Spectrophotometric Calibration",
                     "Gordon, Karl", "CAL", "1.8.2", "jwst_0932.pmap")  # fmt: skip
LRS_CAL = Program(1530, "MIRI LRS Absolute Flux Calibration",
                  "Gordon, Karl", "CAL", "1.13.4", "jwst_1188.pmap")  # fmt: skip
POLE_GO = Program(6627, "Warm Dust in the Polaris Field",
                  "Example, Ada", "GO", "1.19.1", "jwst_1413.pmap")  # fmt: skip
RA0_GO = Program(6802, "Quasar Hosts and Companions at z~6 near RA 0h",
                 "Example, Grace", "GO", "1.19.1", "jwst_1413.pmap")  # fmt: skip

#: The mock's ERO 2736 MOS observation. Not 7: the real observation 7 is in ../shared
#: (jw02736007001_01_msa.fits, jw02736-o007_s06355_*), and a mock file must never
#: carry a real product's name (tests/ingest/test_ingest_duplicates.py checks).
SMACS_MOS = 907

# --- targets (real field coordinates) --------------------------------------------------

EGS = Target("CEERS-EGS", 214.8557, 52.8556, "EGS")
SMACS0723 = Target("SMACS0723", 110.8267, -73.4537, "SMACS 0723")
GOODS_S = Target("GOODS-S", 53.1625, -27.7914, "GOODS-S")
GOODS_N = Target("GOODS-N", 189.2288, 62.2394, "GOODS-N")
ABELL2744 = Target("ABELL2744", 3.5862, -30.4000, "Abell 2744")
UDS = Target("UDS", 34.4010, -5.1990, "UDS")
COSMOS = Target("COSMOS", 150.1192, 2.2058, "COSMOS")
HUDF_PAR = Target("NGDEEP-HUDF-PAR2", 53.2500, -27.8450, "GOODS-S")
GS_3073 = Target("GS-3073", 53.0796, -27.8838, "GOODS-S")
NGC6552 = Target("NGC-6552", 270.0302, 66.6151, "NGC 6552")
IRAS05248 = Target("IRAS-05248-7007", 81.0865, -70.0838, "LMC")
BD60 = Target("BD+60-1753", 261.2178, 60.4308, "CVZ calibrator")
POLARIS = Target("POLARIS-FIELD", 37.9546, 89.2641, "north celestial pole")
J2359 = Target("J2359+0022", 359.9975, 0.3712, "RA 0h")


# --- observations per scale -------------------------------------------------------------

NIRCAM_SW = ("F115W", "F150W", "F200W")
NIRCAM_LW = ("F277W", "F356W", "F444W")


def _small() -> list[Observation]:
    return [
        # NIRSpec MOS
        Observation(CEERS, 62, EGS, "mos", ("nirspec_prism_clear",), "2022-12-21T04:51:20.500", 109.4, n_sources=3, n_exposures=3),
        Observation(CEERS, 61, EGS, "mos", ("nirspec_g395m_f290lp",), "2022-12-22T11:02:03.300", 109.4, n_sources=2, n_exposures=3),
        Observation(SMACS, SMACS_MOS, SMACS0723, "mos", ("nirspec_g395m_f290lp",), "2022-07-30T03:13:01.100", 138.2, n_sources=1, n_exposures=3),
        Observation(JADES, 3, GOODS_S, "mos", ("nirspec_prism_clear", "nirspec_g395h_f290lp"), "2023-10-13T20:15:40.000", 321.0, n_sources=1, n_exposures=3),
        Observation(UNCOVER, 3, ABELL2744, "mos", ("nirspec_prism_clear",), "2023-07-31T09:42:18.900", 40.1, n_sources=2, n_exposures=3),
        Observation(RUBIES, 2, UDS, "mos", ("nirspec_g395m_f290lp",), "2025-12-03T14:00:05.000", 251.7, n_sources=2, n_exposures=3),
        Observation(RA0_GO, 4, J2359, "mos", ("nirspec_g140m_f100lp",), "2026-09-14T02:30:00.000", 75.0, n_sources=2, n_exposures=3),
        # NIRSpec fixed slit (pipeline 1.8.2: absurd S_REGION) and IFU
        Observation(NRS_FS_CAL, 5, IRAS05248, "fs", ("nirspec_g140m_f100lp", "nirspec_g235m_f170lp"), "2022-08-15T07:20:44.000", 266.0, subarray="SUBS200A1", bad_s_region=True),
        Observation(A2744_DD, 2, ABELL2744, "fs", ("nirspec_prism_clear",), "2022-11-02T03:30:00.000", 41.0, subarray="SUBS200A1", n_exposures=3),
        Observation(GA_NIFS, 21, GS_3073, "ifu", ("nirspec_prism_clear",), "2024-11-02T18:05:30.000", 220.5, n_exposures=4),
        # MIRI MRS and LRS
        Observation(MIRI_LATENT, 4, NGC6552, "mrs", ("miri_mrs_ch3-long",), "2022-07-07T12:04:20.098", 95.3, n_exposures=4),
        Observation(POLE_GO, 2, POLARIS, "mrs", ("miri_mrs_ch4-short",), "2026-06-20T22:41:09.000", 12.0, n_exposures=4),
        Observation(LRS_CAL, 1, BD60, "lrs", ("miri_lrs_p750l",), "2023-09-05T05:55:55.000", 180.0, n_exposures=2),
        # Imaging
        Observation(CEERS, 1, EGS, "image", (("NIRCAM", "F200W", "CLEAR"), ("NIRCAM", "F444W", "CLEAR")), "2022-12-20T10:11:12.000", 109.4, subarray="SUB160"),
        Observation(JADES_N, 2, GOODS_N, "image", (("NIRCAM", "F115W", "CLEAR"), ("NIRCAM", "F356W", "CLEAR")), "2024-02-05T13:14:15.000", 150.0, subarray="SUB160"),
        Observation(A2744_DD, 1, ABELL2744, "image", (("NIRCAM", "F150W", "CLEAR"),), "2022-10-20T06:30:00.000", 41.0, subarray="SUB160"),
        Observation(COSMOS_WEB, 11, COSMOS, "image", (("MIRI", "F770W", None),), "2024-01-06T08:00:00.000", 293.0, subarray="SUB128"),
        Observation(NGDEEP, 1, HUDF_PAR, "image", (("NIRISS", "CLEAR", "F150W"),), "2023-01-31T00:30:00.000", 70.0, subarray="SUB128"),
        Observation(POLE_GO, 1, POLARIS, "image", (("MIRI", "F1130W", None),), "2026-06-20T18:00:00.000", 12.0, subarray="SUB128"),
    ]  # fmt: skip


def _scaled(
    observations: list[Observation], sources: int, exposures: int, subarrays: dict
) -> list[Observation]:
    out = []
    for obs in observations:
        if obs.kind == "mos":
            obs = replace(obs, n_sources=obs.n_sources * sources)
        elif obs.kind == "image":
            obs = replace(obs, n_exposures=obs.n_exposures * exposures,
                          subarray=subarrays.get(obs.subarray, obs.subarray))  # fmt: skip
        out.append(obs)
    return out


def _more(cycle: int) -> list[Observation]:
    """Further observations of the same programs for the larger scales."""
    year = 2023 + cycle % 3
    return [
        Observation(CEERS, 63 + cycle, EGS, "mos", ("nirspec_g140m_f100lp", "nirspec_g235m_f170lp"), f"{year}-03-1{cycle % 9}T01:00:00.000", 109.4 + cycle, n_sources=20, n_exposures=3),
        Observation(JADES, 10 + cycle, GOODS_S, "mos", ("nirspec_prism_clear", "nirspec_g140h_f100lp", "nirspec_g235h_f170lp"), f"{year}-10-0{1 + cycle % 9}T05:00:00.000", 320.0, n_sources=15, n_exposures=3),
        Observation(JADES_N, 30 + cycle, GOODS_N, "mos", ("nirspec_prism_clear",), f"{year + 1}-02-1{cycle % 9}T07:00:00.000", 150.0, n_sources=25, n_exposures=3),
        Observation(COSMOS_WEB, 40 + cycle, COSMOS, "image", tuple(("NIRCAM", f, "CLEAR") for f in (*NIRCAM_SW[1:], *NIRCAM_LW)), f"{year}-04-2{cycle % 9}T09:00:00.000", 293.0, n_exposures=4, subarray="SUB400P"),
        Observation(GA_NIFS, 50 + cycle, GS_3073, "ifu", ("nirspec_g395h_f290lp",), f"{year}-11-0{1 + cycle % 9}T18:00:00.000", 220.5, n_exposures=4),
        Observation(MIRI_LATENT, 60 + cycle, NGC6552, "mrs", ("miri_mrs_ch1-short", "miri_mrs_ch2-medium", "miri_mrs_ch4-long"), f"{2022 + cycle % 2}-0{7 + cycle % 3}-15T12:00:00.000", 95.3, n_exposures=4),
    ]  # fmt: skip


def plan(scale: str) -> list[Observation]:
    """The observations written at ``scale`` (small | medium | large)."""
    if scale == "small":
        return _small()
    if scale == "medium":
        base = _scaled(
            _small(), sources=6, exposures=2, subarrays={"SUB160": "SUB400P", "SUB128": "SUB256"}
        )
        return base + _more(0) + _more(1)
    if scale == "large":
        base = _scaled(
            _small(), sources=20, exposures=3, subarrays={"SUB160": "SUB640", "SUB128": "BRIGHTSKY"}
        )
        return base + [obs for cycle in range(6) for obs in _more(cycle)]
    raise ValueError(f"unknown scale {scale!r}: use small, medium or large")
