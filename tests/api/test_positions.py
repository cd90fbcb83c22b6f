"""The position parser agrees with astropy's SkyCoord on every accepted form."""

import pytest
from astropy import units as u
from astropy.coordinates import SkyCoord

from webbarchive.api.errors import status_of
from webbarchive.errors import InvalidInput
from webbarchive.positions import parse_position, parse_radius

CASES = [
    ({"coords": "53.16,-27.78"}, SkyCoord(53.16, -27.78, unit="deg")),
    ({"coord": "53.16 -27.78"}, SkyCoord(53.16, -27.78, unit="deg")),
    ({"ra": "53.16", "dec": "-27.78"}, SkyCoord(53.16, -27.78, unit="deg")),
    (
        {"coords": "03:32:38.4,-27:46:48"},
        SkyCoord("03:32:38.4 -27:46:48", unit=(u.hourangle, u.deg)),
    ),
    (
        {"coords": "03:32:38.4 -27:46:48"},
        SkyCoord("03:32:38.4 -27:46:48", unit=(u.hourangle, u.deg)),
    ),
    ({"coords": "3h32m38.4s,-27d46m48s"}, SkyCoord("3h32m38.4s -27d46m48s")),
    (
        {"coords": "03 32 38.4 -27 46 48"},
        SkyCoord("03 32 38.4 -27 46 48", unit=(u.hourangle, u.deg)),
    ),
    (
        {"ra": "00:00:01", "dec": "+89:59:59"},
        SkyCoord("00:00:01 +89:59:59", unit=(u.hourangle, u.deg)),
    ),
    ({"coords": "359.9999,10"}, SkyCoord(359.9999, 10, unit="deg")),
    ({"coords": "0,-90"}, SkyCoord(0, -90, unit="deg")),
]


@pytest.mark.parametrize(("params", "truth"), CASES)
def test_matches_skycoord(params, truth):
    pos = parse_position(**params)
    assert SkyCoord(pos.ra, pos.dec, unit="deg").separation(truth).to_value(u.arcsec) < 1e-6


@pytest.mark.parametrize(
    "params",
    [
        {"coords": "abc,def"},
        {"coords": "10"},
        {"ra": "10"},
        {"coords": "10,95"},
        {"coords": "10,-90.5"},
        # RA outside [0, 360) is refused, never wrapped (issue 13).
        {"coords": "-0.5,10"},
        {"ra": "400", "dec": "0"},
        {"ra": "360", "dec": "0"},
        {"coords": "24:00:01 +10:00:00"},
        {"coords": "-00:30:00,+10:00:00"},
        {"coords": "nan,0"},
        {"coords": "1,2,3"},
        {},
    ],
)
def test_bad_positions_are_400(params):
    with pytest.raises(InvalidInput) as info:
        parse_position(**params)
    assert status_of(info.value) == 400
    assert info.value.accepted


def test_optional_position():
    assert parse_position(required=False) is None


def test_radius_units():
    assert parse_radius("30", unit="arcsec") == pytest.approx(30 / 3600)
    assert parse_radius(None, default=0.1) == 0.1
    for bad in ("-1", "x", "inf"):
        with pytest.raises(InvalidInput):
            parse_radius(bad)
