"""Simple Cone Search, SIAv2 and SSAP as ADQL over ``ivoa.obscore``.

Each protocol's parameters are parsed per its standard and turned into an
ADQL WHERE clause, so the three services share the TAP code path (rights
filtering, spatial index, MAXREC/OVERFLOW, VOTable writing).

- SCS 1.03: RA, DEC, SR (degrees); matches observation centres within SR.
- SIAv2: POS (CIRCLE ra dec r | RANGE ra1 ra2 dec1 dec2 | POLYGON ra dec ...,
  degrees), BAND (metres), TIME (MJD), POL, FOV (deg), SPATRES (arcsec),
  EXPTIME (s), ID, COLLECTION, FACILITY, INSTRUMENT, DPTYPE, CALIB, TARGET,
  FORMAT, MAXREC. A parameter repeated is OR-ed, different parameters are
  AND-ed; numeric ones take ``lo hi`` intervals (``-Inf``/``+Inf`` open) or a
  single value. CIRCLE/POLYGON match footprints (``s_region``) that intersect;
  RANGE matches observation centres inside the range. Images and cubes only
  unless DPTYPE says otherwise.
- SSAP 1.1: REQUEST=queryData, POS=ra,dec, SIZE (diameter, deg), BAND
  (metres, ``lo/hi``), TIME (ISO 8601 ``start/end``), FORMAT; spectra only.
"""

from __future__ import annotations

import math
from dataclasses import replace

from astropy.time import Time

from webbarchive.errors import InvalidInput
from webbarchive.positions import PositionError, check_position
from webbarchive.vo.adql import OutputColumn, adql_number, quote_adql_string


class DalError(InvalidInput):
    """A bad service parameter; the message says what is accepted."""


def _float(name: str, text: str) -> float:
    t = text.strip()
    low = t.lower()
    if low in ("-inf", "-infinity"):
        return -math.inf
    if low in ("inf", "+inf", "infinity", "+infinity"):
        return math.inf
    try:
        value = float(t)
    except ValueError:
        raise DalError(f"{name}: {text!r} is not a number") from None
    if math.isnan(value):
        raise DalError(f"{name}: NaN is not accepted")
    return value


def _interval(name: str, text: str) -> tuple[float, float]:
    parts = text.replace("/", " ").split()
    if len(parts) == 1:
        v = _float(name, parts[0])
        return v, v
    if len(parts) != 2:
        raise DalError(f"{name} takes a value or an interval 'lo hi', got {text!r}")
    lo, hi = _float(name, parts[0]), _float(name, parts[1])
    if lo > hi:
        raise DalError(f"{name}: lower bound {lo} exceeds upper bound {hi}")
    return lo, hi


def _check_position(name: str, ra: float, dec: float) -> None:
    """The project's one check of a position (RA in [0, 360), Dec in [-90, 90] deg)."""
    try:
        check_position(ra, dec)
    except PositionError as exc:
        raise DalError(f"{name}: {exc.message}") from None


def _range_clause(column: str, lo: float, hi: float) -> str:
    parts = []
    if math.isfinite(lo):
        parts.append(f"{column} >= {adql_number(lo)}")
    if math.isfinite(hi):
        parts.append(f"{column} <= {adql_number(hi)}")
    return " AND ".join(parts) if parts else f"{column} IS NOT NULL"


def _overlap_clause(lo_col: str, hi_col: str, lo: float, hi: float) -> str:
    parts = []
    if math.isfinite(hi):
        parts.append(f"{lo_col} <= {adql_number(hi)}")
    if math.isfinite(lo):
        parts.append(f"{hi_col} >= {adql_number(lo)}")
    return " AND ".join(parts) if parts else f"{lo_col} IS NOT NULL"


def _any(clauses: list[str]) -> str:
    return clauses[0] if len(clauses) == 1 else "(" + " OR ".join(f"({c})" for c in clauses) + ")"


# --- SCS --------------------------------------------------------------------------

SCS_COLUMNS = (
    "obs_publisher_did, obs_id, s_ra, s_dec, target_name, dataproduct_type, "
    "instrument_name, calib_level, t_min, t_max, em_min, em_max, access_url, access_format"
)


def scs_adql(params: dict[str, str]) -> str:
    missing = [p for p in ("RA", "DEC", "SR") if not params.get(p)]
    if missing:
        raise DalError(f"missing parameter(s) {', '.join(missing)}: send RA, DEC and SR in degrees")
    ra, dec, sr = (_float(p, params[p]) for p in ("RA", "DEC", "SR"))
    _check_position("RA/DEC", ra, dec)
    if not 0 <= sr <= 180:
        raise DalError("SR must be in [0, 180] degrees")
    point = f"POINT('ICRS', {adql_number(ra)}, {adql_number(dec)})"
    return (
        f"SELECT {SCS_COLUMNS}, DISTANCE(POINT('ICRS', s_ra, s_dec), {point}) AS distance "
        f"FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        f"CIRCLE('ICRS', {adql_number(ra)}, {adql_number(dec)}, {adql_number(sr)})) "
        "ORDER BY distance"
    )


def scs_columns(columns: list[OutputColumn]) -> list[OutputColumn]:
    """SCS needs meta.main on the id and position columns."""
    main = {"obs_publisher_did": "meta.id;meta.main", "s_ra": "pos.eq.ra;meta.main",
            "s_dec": "pos.eq.dec;meta.main"}  # fmt: skip
    out = []
    for c in columns:
        if c.meta is not None and c.name in main:
            c = OutputColumn(c.name, replace(c.meta, ucd=main[c.name]))
        elif c.name == "distance":
            from webbarchive.vo.metadata import ColumnDef

            c = OutputColumn(
                c.name,
                ColumnDef("distance", "double", "Distance from the search position",
                          unit="deg", ucd="pos.angDistance"),
            )  # fmt: skip
        out.append(c)
    return out


# --- SIAv2 ------------------------------------------------------------------------


def _sia_pos(text: str) -> str:
    words = text.split()
    if not words:
        raise DalError("POS is empty")
    shape = words[0].upper()
    nums = [_float("POS", w) for w in words[1:]]
    if shape == "CIRCLE" and len(nums) == 3:
        _check_position("POS", nums[0], nums[1])
        args = ", ".join(adql_number(v) for v in nums)
        return f"1 = INTERSECTS(s_region, CIRCLE('ICRS', {args}))"
    if shape == "RANGE" and len(nums) == 4:
        ra1, ra2, dec1, dec2 = nums
        if ra1 > ra2 or dec1 > dec2:
            # Reversed, it would match nothing; a range across RA 0 is two POS values.
            raise DalError(
                f"POS={text!r}: RANGE takes ra1 <= ra2 and dec1 <= dec2 (degrees); "
                "repeat POS to cover RA on both sides of 0"
            )
        parts = [_range_clause("s_ra", ra1, ra2), _range_clause("s_dec", dec1, dec2)]
        return " AND ".join(parts)
    if shape == "POLYGON" and len(nums) >= 6 and len(nums) % 2 == 0:
        args = ", ".join(adql_number(v) for v in nums)
        return f"1 = INTERSECTS(s_region, POLYGON('ICRS', {args}))"
    raise DalError(
        f"POS={text!r} is not understood; use 'CIRCLE ra dec radius', "
        "'RANGE ra1 ra2 dec1 dec2' or 'POLYGON ra1 dec1 ra2 dec2 ra3 dec3 ...' (degrees)"
    )


SIA_STRING_PARAMS = {
    "ID": "obs_publisher_did",
    "COLLECTION": "obs_collection",
    "FACILITY": "facility_name",
    "INSTRUMENT": "instrument_name",
    "DPTYPE": "dataproduct_type",
    "TARGET": "target_name",
    "FORMAT": "access_format",
}


def sia_adql(params: dict[str, list[str]]) -> str:
    clauses: list[str] = []
    for value_list in [params.get("POS", [])]:
        if value_list:
            clauses.append(_any([_sia_pos(v) for v in value_list]))
    if params.get("BAND"):
        clauses.append(
            _any(
                [_overlap_clause("em_min", "em_max", *_interval("BAND", v)) for v in params["BAND"]]
            )
        )
    if params.get("TIME"):
        clauses.append(
            _any([_overlap_clause("t_min", "t_max", *_interval("TIME", v)) for v in params["TIME"]])
        )
    for name, column in (("FOV", "s_fov"), ("SPATRES", "s_resolution"), ("EXPTIME", "t_exptime")):
        if params.get(name):
            clauses.append(_any([_range_clause(column, *_interval(name, v)) for v in params[name]]))
    if params.get("CALIB"):
        levels = []
        for v in params["CALIB"]:
            if not v.strip().isdigit():
                raise DalError(f"CALIB takes an integer level 0..4, got {v!r}")
            levels.append(f"calib_level = {int(v)}")
        clauses.append(_any(levels))
    if params.get("POL"):
        clauses.append(
            _any(
                [
                    f"pol_states LIKE {quote_adql_string('%' + v.strip() + '%')}"
                    for v in params["POL"]
                ]
            )
        )
    for name, column in SIA_STRING_PARAMS.items():
        if params.get(name):
            clauses.append(_any([f"{column} = {quote_adql_string(v)}" for v in params[name]]))
    if not params.get("DPTYPE"):
        clauses.append("dataproduct_type IN ('image', 'cube')")
    where = " AND ".join(clauses)
    return "SELECT * FROM ivoa.obscore" + (f" WHERE {where}" if where else "")


# --- SSAP -------------------------------------------------------------------------

SSA_UTYPES = {
    "obs_publisher_did": "ssa:DataID.DatasetID",
    "obs_id": "ssa:DataID.CreatorDID",
    "access_url": "ssa:Access.Reference",
    "access_format": "ssa:Access.Format",
    "target_name": "ssa:Target.Name",
    "obs_title": "ssa:DataID.Title",
    "instrument_name": "ssa:DataID.Instrument",
    "t_exptime": "ssa:Char.TimeAxis.Coverage.Support.Extent",
    "em_min": "ssa:Char.SpectralAxis.Coverage.Bounds.Start",
    "em_max": "ssa:Char.SpectralAxis.Coverage.Bounds.Stop",
}
SSA_SELECT = (
    "SELECT obs_publisher_did, obs_id, access_url, access_format, access_estsize, target_name, "
    "obs_title, instrument_name, s_ra, s_dec, t_min, t_max, t_exptime, em_min, em_max, "
    "calib_level, dataproduct_type, proposal_id FROM ivoa.obscore"
)


def _iso_mjd(text: str) -> float:
    t = text.strip()
    if not t:
        return math.nan
    try:
        return float(Time(t, format="isot", scale="utc").mjd)
    except ValueError:
        try:
            return float(Time(t).mjd)
        except ValueError:
            raise DalError(f"TIME: {t!r} is not an ISO 8601 time") from None


def ssa_adql(params: dict[str, str]) -> str:
    request = params.get("REQUEST", "")
    if request.lower() != "querydata":
        raise DalError("REQUEST=queryData is required")
    clauses = ["dataproduct_type = 'spectrum'"]
    if params.get("POS"):
        parts = params["POS"].replace(";", ",").split(",")
        if len(parts) < 2:
            raise DalError("POS takes 'ra,dec' in degrees (optionally ';ICRS')")
        ra, dec = _float("POS", parts[0]), _float("POS", parts[1])
        _check_position("POS", ra, dec)
        size = _float("SIZE", params["SIZE"]) if params.get("SIZE") else 0.1
        if not 0 < size <= 180:
            raise DalError("SIZE (diameter, degrees) must be in (0, 180]")
        clauses.append(
            f"1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {adql_number(ra)}, "
            f"{adql_number(dec)}, {adql_number(size / 2)}))"
        )
    if params.get("BAND"):
        lo, _, hi = params["BAND"].partition("/")
        lo_v = _float("BAND", lo) if lo.strip() else -math.inf
        hi_v = (
            _float("BAND", hi) if hi.strip() else (lo_v if "/" not in params["BAND"] else math.inf)
        )
        clauses.append(_overlap_clause("em_min", "em_max", lo_v, hi_v))
    if params.get("TIME"):
        start, _, end = params["TIME"].partition("/")
        t0 = _iso_mjd(start)
        t1 = _iso_mjd(end) if "/" in params["TIME"] else t0
        clauses.append(
            _overlap_clause(
                "t_min",
                "t_max",
                -math.inf if math.isnan(t0) else t0,
                math.inf if math.isnan(t1) else t1,
            )
        )
    fmt = params.get("FORMAT", "").lower()
    if fmt in ("fits", "application/fits", "native"):
        clauses.append("access_format = 'application/fits'")
    elif fmt not in ("", "all", "any", "compliant", "votable", "metadata"):
        raise DalError(f"FORMAT={fmt} is not offered; spectra are FITS (FORMAT=fits or all)")
    return f"{SSA_SELECT} WHERE {' AND '.join(clauses)}"


def ssa_columns(columns: list[OutputColumn]) -> list[OutputColumn]:
    out = []
    for c in columns:
        if c.meta is not None and c.name in SSA_UTYPES:
            c = OutputColumn(c.name, replace(c.meta, utype=SSA_UTYPES[c.name]))
        out.append(c)
    return out
