"""Every route of the app, probed as five identities over an archive with EAP data.

The registry :data:`PROBES` says how to call each route (method, path) and
what kind of answer each identity must get:

- ``eap``: the request names exclusive-access data. Anonymous and the expired
  token get 401, a stranger 403; the PI, a collaborator and an admin get the
  data (and the response must show it, so the probe provably reached it).
- ``public``: the request names public data: everyone with a valid token or
  none gets it; the expired token gets 401 (a bad token is never ignored).
- ``listing``: a search or listing over the whole archive: 200 for all but
  the expired token; no EAP value for those without rights.
- ``static``: answers do not depend on the catalog's data rights
  (dictionaries); only the leak check applies.
- explicit ``expect``: accounts and admin routes, status per identity.

For every probe and every identity without rights, no EAP sentinel (file
names, obs_id, target, keyword values, footprint coordinates, pixel values)
may appear in the body or headers, unless the request itself carried it.

The archive (tests/auth/eap.py) holds a synthetic EAP program 9999 with
unmistakable sentinels, plus mock-archive programs ingested by webbarchive's
own ingest, the largest of them with DJA spectra made EAP by an override
(``{mock_*}`` placeholders in probes name its files and coordinates).

:func:`test_every_route_is_probed` fails when the app has a route the
registry does not cover: a new endpoint cannot ship unprobed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import pytest

from tests.auth.eap import (
    EAP_DEC,
    EAP_FILE,
    EAP_OBS_ID,
    EAP_PROGRAM,
    EAP_RA,
    EAP_SENTINELS,
    PUBLIC_FILE,
    PUBLIC_OBS_ID,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

IDENTITIES = ("anonymous", "stranger", "expired", "pi", "collab", "admin")
WITHOUT_RIGHTS = ("anonymous", "stranger", "expired")
UNPROBED = {"/docs", "/docs/oauth2-redirect", "/openapi.json", "/redoc"}
OK = (200, 206)


@dataclass(frozen=True)
class Probe:
    method: str
    url: str
    kind: str  # eap | public | listing | static | explicit
    json: dict | None = None
    data: dict | None = None  # form fields (Mashup)
    #: explicit statuses per identity (kind "explicit"), overriding the kind's.
    expect: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: the PI's answer must contain an EAP sentinel (proves the probe can fail).
    shows_eap: bool = False

    def expected(self, who: str) -> tuple[int, ...]:
        if who in self.expect:
            return self.expect[who]
        if self.kind == "eap":
            return {"anonymous": (401,), "stranger": (403,), "expired": (401,)}.get(who, OK)
        if self.kind == "static":
            return OK + (401,) if who == "expired" else OK
        return (401,) if who == "expired" else OK


def _eap_and_public(
    method: str, path: str, query: str = "uri={file}", mock: str = "{mock_spectrum}"
) -> list[Probe]:
    """The synthetic EAP file (bare and as a URI), an ingested mock EAP file
    (``mock`` is a placeholder filled from the archive), and a public file."""
    shows = method == "GET"
    return [
        Probe(method, f"{path}?{query.format(file=EAP_FILE)}", "eap", shows_eap=shows),
        Probe(method, f"{path}?{query.format(file='mast:JWST/product/' + EAP_FILE)}", "eap"),
        Probe(method, f"{path}?{query.format(file=mock)}", "eap", shows_eap=shows),
        Probe(method, f"{path}?{query.format(file=PUBLIC_FILE)}", "public"),
    ]


def _dal(method: str, path: str, fields: dict, shows_eap: bool = False) -> Probe:
    if method == "POST":
        return Probe("POST", path, "listing", data=fields, shows_eap=shows_eap)
    from urllib.parse import urlencode

    return Probe("GET", f"{path}?{urlencode(fields, safe='{}')}", "listing", shows_eap=shows_eap)


def _slash(path: str) -> list[str]:
    return [path, path + "/"]


def _account(**by_identity: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    return by_identity


LOGGED_IN = _account(anonymous=(401,), expired=(401,), stranger=OK, pi=OK, collab=OK, admin=OK)
ADMIN_ONLY = _account(
    anonymous=(401,), expired=(401,), stranger=(403,), pi=(403,), collab=(403,), admin=OK
)
ADMIN_OR_PI = _account(
    anonymous=(401,), expired=(401,), stranger=(403,), pi=OK, collab=(403,), admin=OK
)
PROGRAM = f"/admin/api/v0.1/programs/{EAP_PROGRAM}"

PROBES: dict[tuple[str, str], list[Probe]] = {}


def _previews(method: str, path: str) -> list[Probe]:
    """The preview JPEGs (jpegURL) of the EAP and the public x1d: rights as their products."""
    jpeg = "mast:JWST/product/{}.jpg"
    return [
        Probe(method, f"{path}?uri={jpeg.format(EAP_FILE[:-5])}", "eap"),
        Probe(method, f"{path}?uri={jpeg.format(PUBLIC_FILE[:-5])}", "public"),
    ]


def _register(method: str, paths: list[str], probes_for) -> None:
    for path in paths:
        PROBES[(method, path)] = probes_for(path)


# --- viz (seed 000) ------------------------------------------------------------------
for _p in ("/viz/api/v0.1/parameters", "/viz/api/v0.1/keywords/search"):
    _register("GET", _slash(_p), lambda path: _eap_and_public("GET", path))
_register(
    "GET",
    _slash("/viz/api/v0.1/products"),
    lambda path: (
        _eap_and_public("GET", path, "uri={file}&level=3")
        + _eap_and_public("GET", path, "uri={file}")
    ),
)
_register(
    "GET",
    _slash("/viz/api/v0.1/info/keywords"),
    # The whole dictionary (0.5 MB, static) is left to the viz tests: one keyword here.
    lambda path: [Probe("GET", path + "?name=TARGNAME", "static")],
)
_register(
    "GET",
    _slash("/viz/api/v0.1/info/mnemonics"),
    lambda path: [Probe("GET", path, "static")],
)
# --- spectra (seed 001); pixel search covers the pixel database ----------------------
_register("GET", ["/spectra/api/v0.1/retrieve"], lambda path: _eap_and_public("GET", path))
_register(
    "GET",
    ["/spectra/api/v0.1/search", "/viz/api/v0.1/search"],
    lambda path: [
        Probe("GET", path + "?wavelength=2.8,5.3", "listing"),
        Probe("GET", path + "?wavelength=2.8,5.3&flux.gte=30000", "listing", shows_eap=True),
    ],
)
# --- astroquery's Mashup (every service that reads the catalog) ----------------------


def _mashup(service: str, params: dict, shows_eap: bool = True) -> Probe:
    request = {"service": service, "params": params, "format": "json", "pagesize": 100, "page": 1}
    return Probe(
        "POST",
        "/api/v0/invoke",
        "listing",
        data={"request": json.dumps(request)},
        shows_eap=shows_eap,
    )


_JWST = [{"paramName": "obs_collection", "values": ["JWST"]}]
_register(
    "POST",
    ["/api/v0/invoke"],
    lambda path: [
        _mashup("Mast.Caom.Cone", {"ra": EAP_RA, "dec": EAP_DEC, "radius": 0.05}),
        _mashup("Mast.Caom.Filtered", {"columns": "*", "filters": _JWST}),
        _mashup(
            "Mast.Caom.Filtered.Position",
            {"columns": "*", "filters": _JWST, "position": f"{EAP_RA}, {EAP_DEC}, 0.05"},
        ),
        _mashup("Mast.Caom.Filtered", {"columns": "COUNT_BIG(*)", "filters": _JWST}, False),
        # obsids 1 (public) and 2 (EAP): the fixture inserts them in that order.
        _mashup("Mast.Caom.Products", {"obsid": "1,2"}),
        _mashup("Mast.Caom.All", {}, False),
        _mashup("Mast.Caom.Cone", {"ra": "{mock_ra}", "dec": "{mock_dec}", "radius": 0.1}),
        _mashup(
            "Mast.Jwst.Filtered.Nirspec",
            {"columns": "*", "filters": [{"paramName": "instrume", "values": ["NIRSPEC"]}]},
        ),
    ],
)
_register(
    "POST",
    ["/portal/Mashup/Mashup.asmx/columnsconfig"],
    lambda path: [Probe("POST", path, "static", data={"colConfigId": "Mast.Caom.Cone"})],
)
# --- MastMissions (astroquery MastMissions, JWST) ----------------------------------
MISSIONS = "/search/jwst/api/v0.1"
_register(
    "GET",
    ["/search/util/api/v0.1/column_list"],
    lambda path: [Probe("GET", path + "?mission=jwst", "static")],
)
_register(
    "POST",
    [MISSIONS + "/search"],
    lambda path: [
        Probe("POST", path, "listing", json={"conditions": [{"program": 9999}]}, shows_eap=True),
        Probe(
            "POST",
            path,
            "listing",
            json={"conditions": [{"program": "{mock_program}"}]},
            shows_eap=True,
        ),
        Probe(
            "POST",
            path,
            "listing",
            json={"target": [f"{EAP_RA} {EAP_DEC}"], "radius": 60, "radius_units": "arcseconds"},
            shows_eap=True,
        ),
        Probe("POST", path, "listing", json={"conditions": [{"instrume": "NIRSPEC"}]}),
    ],
)
_register(
    "POST",
    [MISSIONS + "/post_list_products"],
    lambda path: [
        Probe(
            "POST",
            path,
            "listing",
            json={"dataset_ids": [EAP_OBS_ID, PUBLIC_OBS_ID]},
            shows_eap=True,
        )
    ],
)
_register(
    "GET",
    [MISSIONS + "/list_products"],
    lambda path: [
        Probe("GET", f"{path}?dataset_ids={EAP_OBS_ID},{PUBLIC_OBS_ID}", "listing", shows_eap=True)
    ],
)
for _method in ("GET", "HEAD"):
    _register(
        _method,
        [MISSIONS + "/retrieve_product"],
        lambda path, m=_method: (
            [p for p in _eap_and_public(m, path, "product_name={file}") if "mast:" not in p.url]
            + [Probe(m, f"{path}?product_name={EAP_OBS_ID}/{EAP_FILE}", "eap")]
        ),
    )
# --- curl scripts: forbidden files are listed as unavailable, never located ---------
_register(
    "POST",
    ["/api/v0.1/Download/bundle.sh"],
    lambda path: [
        Probe(
            "POST",
            path,
            "listing",
            data={"uri": [f"mast:JWST/product/{EAP_FILE}", f"mast:JWST/product/{PUBLIC_FILE}"]},
            shows_eap=True,
        )
    ],
)
# --- IVOA TAP over ivoa.obscore; async jobs: {job} is the caller's own finished job,
# {pi_job} the PI's, {doomed} a fresh job of the caller for probes that change it.
OBSCORE = "SELECT * FROM ivoa.obscore"
CONE = (
    "SELECT obs_id, s_ra, s_dec, s_region, target_name FROM ivoa.obscore WHERE "
    f"1=CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {EAP_RA}, {EAP_DEC}, 0.1))"
)
ANY = (200, 204, 400, 404)


def _owned(ok: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    # The expired token could not create a job: its probes name a missing one,
    # which is 404 before the token is looked at (nothing to leak either way).
    return {who: (401, 404) if who == "expired" else ok for who in IDENTITIES}


NOT_YOURS = {**dict.fromkeys(IDENTITIES, (404,)), "expired": (401,), "pi": OK}


def _tap_sync(path: str, method: str) -> list[Probe]:
    def query(adql: str, fmt: str) -> Probe:
        fields = {"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": adql, "FORMAT": fmt}
        if method == "POST":
            return Probe("POST", path, "listing", data=fields, shows_eap=True)
        from urllib.parse import urlencode

        return Probe("GET", f"{path}?{urlencode(fields, safe='{}')}", "listing", shows_eap=True)

    # Text formats only: the leak check reads the body (binary VOTable would hide values).
    mock_cone = CONE.replace(f"{EAP_RA}, {EAP_DEC}", "{mock_ra}, {mock_dec}")
    return [
        query(OBSCORE, "csv"),
        query(CONE, "votable/td"),
        query(OBSCORE, "json"),
        query(mock_cone, "csv"),
    ]


for _method in ("GET", "POST"):
    _register(_method, ["/tap/sync"], lambda path, m=_method: _tap_sync(path, m))
for _static in ("", "/availability", "/capabilities", "/examples", "/tables"):
    _register("GET", ["/tap" + _static], lambda path: [Probe("GET", path, "static")])
_register("GET", ["/tap/async"], lambda path: [Probe("GET", path, "public")])
_register(
    "POST",
    ["/tap/async"],
    lambda path: [Probe("POST", path, "public", data={"LANG": "ADQL", "QUERY": OBSCORE})],
)
JOB = "/tap/async/{job_id}"
for _leaf in ("", "/phase", "/quote", "/owner", "/parameters", "/executionduration"):
    _register(
        "GET",
        [JOB + _leaf],
        lambda path, leaf=_leaf: [
            Probe("GET", "/tap/async/{job}" + leaf, "explicit", expect=_owned(OK)),
            Probe("GET", "/tap/async/{pi_job}" + leaf, "explicit", expect=NOT_YOURS),
        ],
    )
_register(
    "GET",
    [JOB + "/destruction", JOB + "/error"],
    lambda path: [
        Probe("GET", path.replace("{job_id}", "{job}"), "explicit", expect=_owned(ANY)),
        Probe(
            "GET",
            path.replace("{job_id}", "{pi_job}"),
            "explicit",
            expect={**NOT_YOURS, "pi": ANY},
        ),
    ],
)
for _results in (JOB + "/results", JOB + "/results/result"):
    _register(
        "GET",
        [_results],
        lambda path: [
            Probe("GET", path.replace("{job_id}", "{job}"), "explicit", expect=_owned(OK)),
            Probe(
                "GET",
                path.replace("{job_id}", "{pi_job}"),
                "explicit",
                expect=NOT_YOURS,
                shows_eap=path.endswith("/result"),
            ),
        ],
    )
for _method, _leaf, _fields in (
    ("POST", "", {"ACTION": "DELETE"}),
    ("DELETE", "", None),
    ("POST", "/phase", {"PHASE": "ABORT"}),
    ("POST", "/executionduration", {"EXECUTIONDURATION": "60"}),
    ("POST", "/destruction", {"DESTRUCTION": "2099-01-01T00:00:00Z"}),
    ("POST", "/parameters", {"MAXREC": "5"}),
):
    _register(
        _method,
        [JOB + _leaf],
        lambda path, m=_method, leaf=_leaf, fields=_fields: [
            Probe(m, "/tap/async/{doomed}" + leaf, "explicit", data=fields, expect=_owned(ANY)),
            Probe(
                m,
                "/tap/async/{pi_doomed}" + leaf,
                "explicit",
                data=fields,
                expect={**NOT_YOURS, "pi": ANY},
            ),
        ],
    )
# --- IVOA simple services (cone, images, spectra) ----------------------------------
for _method in ("GET", "POST"):
    _register(
        _method,
        ["/scs"],
        lambda path, m=_method: [
            _dal(m, path, {"RA": EAP_RA, "DEC": EAP_DEC, "SR": 0.1}, shows_eap=True),
            _dal(m, path, {"RA": EAP_RA + 1, "DEC": EAP_DEC, "SR": 5}, shows_eap=True),
            _dal(m, path, {"RA": "{mock_ra}", "DEC": "{mock_dec}", "SR": 0.2}, shows_eap=True),
        ],
    )
    _register(
        _method,
        ["/sia/query"],
        lambda path, m=_method: [
            _dal(m, path, {"POS": f"CIRCLE {EAP_RA} {EAP_DEC} 0.1"}),
            _dal(m, path, {"POS": "CIRCLE {mock_ra} {mock_dec} 0.2"}, shows_eap=True),
            _dal(m, path, {}),
        ],
    )
    _register(
        _method,
        ["/ssa"],
        lambda path, m=_method: [
            _dal(
                m,
                path,
                {"REQUEST": "queryData", "POS": f"{EAP_RA},{EAP_DEC}", "SIZE": 0.1},
                shows_eap=True,
            ),
            _dal(m, path, {"REQUEST": "queryData"}, shows_eap=True),
            _dal(
                m,
                path,
                {"REQUEST": "queryData", "POS": "{mock_spec_ra},{mock_spec_dec}", "SIZE": 0.2},
                shows_eap=True,
            ),
        ],
    )
for _service in ("/scs", "/sia", "/ssa"):
    _register(
        "GET",
        [_service + "/availability", _service + "/capabilities"],
        lambda path: [Probe("GET", path, "static")],
    )
# --- DJA imaging tools, over the ingested mock EAP program --------------------------
_NEAR_EAP = f"ra={EAP_RA}&dec={EAP_DEC}&arcmin=5"
_NEAR_MOCK = "ra={mock_ra}&dec={mock_dec}&arcmin=5"
# The small mock has no DJA mosaics: /assoc_mosaic can only be leak-checked.
for _dja, _shows in (("/assoc", True), ("/exposures", True), ("/assoc_mosaic", False)):
    _register(
        "GET",
        [_dja],
        lambda path, shows=_shows: [
            Probe("GET", f"{path}?{_NEAR_EAP}", "listing"),
            Probe("GET", f"{path}?{_NEAR_MOCK}&output=csv", "listing", shows_eap=shows),
            Probe("GET", f"{path}?{_NEAR_MOCK}", "listing", shows_eap=shows),
        ],
    )
_register(
    "GET",
    ["/thumb"],
    lambda path: [
        Probe(
            "GET",
            f"{path}?{_NEAR_MOCK}&size=4",
            "explicit",
            expect={**dict.fromkeys(IDENTITIES, (200, 404)), "expired": (401,)},
        )
    ],
)
# --- DJA spectroscopy tools, over the ingested mock EAP program's msaexp files -------
_DJA_ANY = {**dict.fromkeys(IDENTITIES, (200, 400, 404)), "expired": (401,)}
# nirspec_slits stays empty for the small mock: leak checks only.
_register(
    "GET",
    ["/nirspec_slits", "/nirspec_extractions"],
    lambda path: [
        Probe("GET", f"{path}?coords={EAP_RA},{EAP_DEC}&size=60&output=json", "listing"),
        Probe("GET", f"{path}?coords={EAP_RA},{EAP_DEC}&size=60", "listing"),
        Probe(
            "GET",
            path + "?coords={mock_spec_ra},{mock_spec_dec}&size=600&output=json",
            "listing",
            shows_eap=path.endswith("extractions"),
        ),
    ],
)
_register(
    "GET",
    ["/mosfire"],
    lambda path: [Probe("GET", f"{path}?ra={EAP_RA}&dec={EAP_DEC}&sep=60&mode=json", "listing")],
)
_register(
    "GET",
    ["/mosfire/Spectra/{file:path}"],
    # Keck data, public: a spectrum of the mock's MOSFIRE listing
    lambda path: [
        Probe(
            "GET",
            "/mosfire/Spectra/UDSK1_20160118/Reduced/UDSK1/2016jan18/K/"
            "UDSK1_20160118-K-slit_13-DM_uds_9612_sp.fits",
            "public",
        )
    ],
)
_register(
    "GET",
    ["/nirspec_file_redshift"],
    lambda path: [
        Probe(
            "GET", f"{path}?file=jw09999_prism-clear_9999_1.spec.fits", "explicit", expect=_DJA_ANY
        ),
        Probe("GET", path + "?file={mock_msaexp}&output=json", "eap", shows_eap=True),
    ],
)
_register(
    "GET",
    ["/nirspec_trace_overlap"],
    lambda path: [
        Probe(
            "GET",
            f"{path}?spec_file=jw09999_prism-clear_9999_1.spec.fits&output=json",
            "explicit",
            expect=_DJA_ANY,
        ),
        Probe("GET", path + "?spec_file={mock_msaexp}&output=json", "eap"),
    ],
)
_register(
    "GET",
    ["/msaexp-nirspec/extractions/{root}/{name}"],
    lambda path: [
        Probe(
            "GET",
            "/msaexp-nirspec/extractions/jw09999/jw09999_prism-clear_9999_1.spec.fits",
            "explicit",
            expect=_DJA_ANY,
        ),
        Probe("GET", "/msaexp-nirspec/extractions/{mock_msaexp_root}/{mock_msaexp}", "eap"),
    ],
)
# --- downloads -----------------------------------------------------------------------
for _method in ("GET", "HEAD"):
    _register(
        _method,
        ["/api/v0.1/Download/file", "/jwst/api/v0.1/Download/file"],
        lambda path, m=_method: _eap_and_public(m, path, mock="{mock_image}") + _previews(m, path),
    )
_register(
    "GET",
    ["/api/v0.1/path_lookup/", "/api/v0.1/path_lookup"],
    lambda path: [
        Probe(
            "GET",
            f"{path}?uri=mast:JWST/product/{EAP_FILE}&uri={{mock_image}}&uri={PUBLIC_FILE}",
            "listing",
        )
    ],
)
# --- auth ----------------------------------------------------------------------------
_register("GET", ["/whoami"], lambda path: [Probe("GET", path, "static")])
_register(
    "POST",
    ["/auth/api/v0.1/tokens"],
    lambda path: [Probe("POST", path, "explicit", json={"name": "probe"}, expect=LOGGED_IN)],
)
_register(
    "GET",
    ["/auth/api/v0.1/tokens"],
    lambda path: [Probe("GET", path, "explicit", expect=LOGGED_IN)],
)
_register(
    "DELETE",
    ["/auth/api/v0.1/tokens/{token_id}"],
    lambda path: [
        Probe(
            "DELETE",
            "/auth/api/v0.1/tokens/987654",
            "explicit",
            expect={**LOGGED_IN, **dict.fromkeys(("stranger", "pi", "collab", "admin"), (404,))},
        )
    ],
)
# --- admin ---------------------------------------------------------------------------
_register(
    "GET",
    ["/admin/api/v0.1/users"],
    lambda path: [Probe("GET", path, "explicit", expect=ADMIN_ONLY)],
)
_register(
    "POST",
    ["/admin/api/v0.1/users"],
    lambda path: [Probe("POST", path, "explicit", json={"name": "probe-user"}, expect=ADMIN_ONLY)],
)
_register(
    "GET",
    ["/admin/api/v0.1/programs/{proposal_id}"],
    lambda path: [Probe("GET", PROGRAM, "explicit", expect=ADMIN_OR_PI)],
)
_register(
    "PUT",
    ["/admin/api/v0.1/programs/{proposal_id}/pi"],
    lambda path: [
        Probe("PUT", PROGRAM + "/pi", "explicit", json={"user": "pi"}, expect=ADMIN_ONLY)
    ],
)
_register(
    "POST",
    ["/admin/api/v0.1/programs/{proposal_id}/collaborators"],
    lambda path: [
        Probe(
            "POST",
            PROGRAM + "/collaborators",
            "explicit",
            json={"user": "collab"},
            expect=ADMIN_OR_PI,
        )
    ],
)
_register(
    "DELETE",
    ["/admin/api/v0.1/programs/{proposal_id}/collaborators/{user_name}"],
    lambda path: [
        # "stranger" is no collaborator: allowed callers get 404 and nothing changes.
        Probe(
            "DELETE",
            PROGRAM + "/collaborators/stranger",
            "explicit",
            expect={**ADMIN_OR_PI, "pi": (404,), "admin": (404,)},
        )
    ],
)
_register(
    "PUT",
    ["/admin/api/v0.1/programs/{proposal_id}/release"],
    lambda path: [
        Probe("PUT", PROGRAM + "/release", "explicit", json={"release": 99999.0}, expect=ADMIN_ONLY)
    ],
)

# --- the web portal (HTML pages; a refused token shows the public pages) -----------
PORTAL_OK = {"expired": OK}  # a person with a stale cookie still sees public data
#: a portal page naming EAP data: refused as by the API, the expired token as anonymous
PORTAL_OK_EAP = {"expired": (401,)}
_register(
    "GET",
    ["/"],
    lambda path: [
        Probe("GET", "/", "listing", expect=PORTAL_OK, shows_eap=True),
        Probe("GET", "/?rights=exclusive", "listing", expect=PORTAL_OK, shows_eap=True),
        Probe("GET", "/?sort=target_name&order=desc", "listing", expect=PORTAL_OK),
        Probe(
            "GET",
            f"/?position={EAP_RA}%20{EAP_DEC}&radius=1",
            "listing",
            expect=PORTAL_OK,
            shows_eap=True,
        ),
        Probe("GET", "/?target=eapsecret-target", "listing", expect=PORTAL_OK, shows_eap=True),
        Probe("GET", "/?program=9999", "listing", expect=PORTAL_OK, shows_eap=True),
        Probe("GET", "/?position={mock_ra}%20{mock_dec}", "listing", expect=PORTAL_OK),
    ],
)
_register(
    "GET",
    ["/portal/observation/{obs_id}"],
    lambda path: [
        Probe("GET", f"/portal/observation/{EAP_OBS_ID}", "eap", shows_eap=True),
        Probe("GET", f"/portal/observation/{EAP_OBS_ID}?plot={EAP_FILE}", "eap", shows_eap=True),
        Probe("GET", f"/portal/observation/{PUBLIC_OBS_ID}", "public", expect=PORTAL_OK),
    ],
)
_register(
    "GET",
    ["/portal/account"],
    lambda path: [Probe("GET", path, "listing", expect=PORTAL_OK)],
)
_register(
    "POST",
    ["/portal/account/signin"],
    lambda path: [
        Probe(
            "POST",
            path,
            "explicit",
            data={"token": "not-a-token"},
            expect=dict.fromkeys(IDENTITIES, (403,)),  # no anti-forgery token: refused
        )
    ],
)
_register(
    "POST",
    ["/portal/account/signout"],
    lambda path: [Probe("POST", path, "explicit", expect=dict.fromkeys(IDENTITIES, (403,)))],
)
_register(
    "GET",
    ["/portal/api/targets"],
    lambda path: [
        Probe("GET", path + "?q=EAPS", "listing", expect=PORTAL_OK, shows_eap=True),
        Probe("GET", path + "?q=p", "listing", expect=PORTAL_OK),
    ],
)
_register(
    "GET",
    ["/portal/static/{name}"],
    lambda path: [
        Probe("GET", f"/portal/static/{name}", "static")
        for name in (
            "portal.css",
            "suggest.js",
            "spectrum.js",
            "stretch.js",
            "basket.js",
            "results.js",
            "sky.js",
        )
    ],
)
_register("GET", ["/portal/tools"], lambda path: [Probe("GET", path, "listing", expect=PORTAL_OK)])
_register(
    "GET",
    ["/portal/tools/pixels"],
    lambda path: [
        Probe("GET", path, "listing", expect=PORTAL_OK),
        Probe("GET", path + "?wavelength=2.8,5.3", "listing", expect=PORTAL_OK),
        Probe(
            "GET",
            path + "?wavelength=2.8,5.3&flux.gt=30000",
            "listing",
            expect=PORTAL_OK,
            shows_eap=True,
        ),
    ],
)
_register(
    "GET",
    ["/portal/tools/thumb"],
    lambda path: [
        Probe("GET", path, "listing", expect=PORTAL_OK),
        Probe(
            "GET",
            path + "?coords={mock_ra}%20{mock_dec}&size=4",
            "explicit",
            expect=dict.fromkeys(IDENTITIES, (200, 404)),
        ),
    ],
)
_register(
    "GET",
    ["/portal/tools/nirspec"],
    lambda path: [
        Probe("GET", path, "listing", expect=PORTAL_OK),
        Probe("GET", f"{path}?coords={EAP_RA}%20{EAP_DEC}&size=60", "listing", expect=PORTAL_OK),
        Probe(
            "GET",
            path + "?coords={mock_spec_ra}%20{mock_spec_dec}&size=600",
            "listing",
            expect=PORTAL_OK,
            shows_eap=True,
        ),
        Probe("GET", path + "?file={mock_msaexp}", "eap", expect=PORTAL_OK_EAP, shows_eap=True),
    ],
)
_register(
    "GET",
    ["/portal/vendor/aladin-lite/{name}"],
    lambda path: [Probe("GET", "/portal/vendor/aladin-lite/aladin.js", "static")],
)
# the sky view's mosaic layers: the listing names only mosaics the caller may read (the
# mock EAP program's i2d at {mock_ra} {mock_dec}: for its PI only); a picture is refused
# as its product (no byte of an exclusive mosaic); a product that is no mosaic is 400
_register(
    "GET",
    ["/portal/sky/mosaics"],
    lambda path: [
        Probe(
            "GET",
            path + "?ra={mock_ra}&dec={mock_dec}&radius=0.05",
            "listing",
            expect=PORTAL_OK,
            shows_eap=True,
        ),
        Probe("GET", f"{path}?ra={EAP_RA}&dec={EAP_DEC}&radius=0.05", "listing", expect=PORTAL_OK),
    ],
)
_register(
    "GET",
    ["/portal/sky/mosaic.png"],
    lambda path: [
        Probe("GET", path + "?file={mock_image}", "eap"),
        Probe(
            "GET",
            f"{path}?file={EAP_FILE}",
            "explicit",
            expect={**dict.fromkeys(WITHOUT_RIGHTS, (401,)), "stranger": (403,)}
            | dict.fromkeys(("pi", "collab", "admin"), (400,)),
        ),
        Probe(
            "GET",
            f"{path}?file={PUBLIC_FILE}",
            "explicit",
            expect=dict.fromkeys(IDENTITIES, (400,)),
        ),
    ],
)
_register(
    "GET",
    ["/portal/vendor/plotly.min.js"],
    lambda path: [Probe("GET", path, "static")],
)

# --- the portal's product pages and basket (issue 15, items 3 and 6) ------------------
_register(
    "GET",
    ["/portal/product/{filename}"],
    lambda path: [
        Probe("GET", f"/portal/product/{EAP_FILE}", "eap", shows_eap=True),
        Probe("GET", "/portal/product/{mock_image}", "eap", shows_eap=True),
        Probe("GET", f"/portal/product/{PUBLIC_FILE}", "public", expect=PORTAL_OK),
    ],
)
_register(
    "GET",
    ["/portal/product/{filename}/image.png"],
    lambda path: [
        Probe("GET", "/portal/product/{mock_image}/image.png?stretch=log", "eap"),
    ],
)
for _method in ("GET", "POST"):
    _register(
        _method,
        ["/portal/basket"],
        lambda path, m=_method: [
            Probe(m, f"{path}?file={PUBLIC_FILE}&file={EAP_FILE}", "listing", expect=PORTAL_OK)
        ],
    )
    _register(
        _method,
        ["/portal/basket.zip"],
        lambda path, m=_method: [
            Probe(m, f"{path}?file={EAP_FILE}", "eap"),
            Probe(m, f"{path}?file={PUBLIC_FILE}", "public"),
        ],
    )

# --- duplication check (issue 18): planned visits are public metadata -----------------
_register(
    "GET",
    ["/duplication/api/v0.1/search"],
    lambda path: [
        Probe("GET", f"{path}?ra={EAP_RA}&dec={EAP_DEC}&radius=600", "listing"),
        Probe("GET", f"{path}?ra=0&dec=-1.2&format=csv", "listing"),
        Probe("GET", f"{path}?coords={EAP_RA},{EAP_DEC}&format=votable", "listing"),
    ],
)
_register(
    "POST",
    ["/duplication/api/v0.1/search"],
    lambda path: [
        Probe(
            "POST",
            f"{path}?radius=600",
            "listing",
            json={"targets": [{"target_name": "T", "ra": EAP_RA, "dec": EAP_DEC}]},
        ),
        Probe("POST", f"{path}?format=csv", "listing", data={"targets": "ra,dec\n0,-1.2\n"}),
    ],
)

_register(
    "GET",
    ["/portal/duplication"],
    lambda path: [
        Probe("GET", path, "listing", expect=PORTAL_OK),
        Probe(
            "GET", f"{path}?position={EAP_RA}%20{EAP_DEC}&radius=600", "listing", expect=PORTAL_OK
        ),
    ],
)
_register(
    "POST",
    ["/portal/duplication"],
    lambda path: [
        Probe(
            "POST",
            path,
            "explicit",
            data={"radius": "600"},
            expect=dict.fromkeys(IDENTITIES, (400,)),
        ),
    ],
)

# --- MAST API landing (the jwst EDB client's liveness check) -------------------------
_register("GET", ["/api/", "/api"], lambda path: [Probe("GET", path, "static")])


def app_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route, nested routers included."""
    try:
        from fastapi.routing import iter_route_contexts

        contexts = list(iter_route_contexts(app.routes))
    except ImportError:  # FastAPI before route contexts: routes are flat
        contexts = app.routes
    found = set()
    for route in contexts:
        path = getattr(route, "path", None)
        if path is None or path in UNPROBED:
            continue
        for method in getattr(route, "methods", None) or {"GET"}:
            found.add((method, path))
    return found


def test_every_route_is_probed(eap_client):
    missing = sorted(app_routes(eap_client.app) - set(PROBES))
    assert not missing, (
        f"routes without a probe: {missing}. Add them to PROBES in {__file__} "
        "(how to call them and what each identity must get)."
    )


def _headers(archive, who: str, form: str = "token") -> dict[str, str]:
    if who == "anonymous":
        return {}
    return {"Authorization": f"{form} {archive.tokens[who]}"}


def _probes_of_app(client) -> list[tuple[tuple[str, str], Probe]]:
    routes = app_routes(client.app)
    return [(key, probe) for key in sorted(routes & set(PROBES)) for probe in PROBES[key]]


def _refusal_message(response) -> str:
    """The message of a 401/403: JSON ``message``, the portal's HTML alert, or the
    QUERY_STATUS of an ERROR VOTable (the IVOA services)."""
    if response.headers.get("content-type", "").startswith("application/x-votable+xml"):
        import io

        from astropy.io.votable import parse

        infos = [i for r in parse(io.BytesIO(response.content)).resources for i in r.infos]
        return next((i.content or "" for i in infos if i.name == "QUERY_STATUS"), "")
    if response.headers.get("content-type", "").startswith("text/html"):
        import re

        alert = re.search(r'role="alert">([^<]+)<', response.text)
        return alert.group(1).strip() if alert else ""
    return response.json().get("message") or ""


def _readable(response) -> str:
    """The body as text; binary VOTables are decoded so their values are seen."""
    text = response.text
    if "<BINARY" in text and "<VOTABLE" in text:
        import io

        from astropy.io.votable import parse

        tables = parse(io.BytesIO(response.content)).iter_tables()
        text += " ".join(" ".join(str(v) for v in row) for t in tables for row in t.array)
    return text


def _fill(value, values: dict[str, str]):
    """Replace ``{name}`` placeholders in strings, lists and dicts (JSON inside
    form fields too: a quoted numeric placeholder becomes a JSON number)."""
    if isinstance(value, str):
        for name, text in values.items():
            if text.lstrip("-").replace(".", "", 1).isdigit():
                value = value.replace(f'"{{{name}}}"', text)
            value = value.replace(f"{{{name}}}", text)
        return value
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _tap_job(client, headers: dict[str, str], finished: bool = True) -> str:
    """An async TAP job over ivoa.obscore owned by ``headers``' user (finished
    unless ``finished`` is False)."""
    import time

    created = client.post(
        "/tap/async",
        data={"LANG": "ADQL", "QUERY": OBSCORE, "PHASE": "RUN", "FORMAT": "csv"},
        headers=headers,
        follow_redirects=False,
    )
    if created.status_code != 303:
        return "no-such-job"
    job = created.headers["location"].rstrip("/").rsplit("/", 1)[1]
    for _ in range(100 if finished else 0):
        phase = client.get(f"/tap/async/{job}/phase", headers=headers).text
        if phase not in ("PENDING", "QUEUED", "EXECUTING"):
            break
        time.sleep(0.05)
    return job


@pytest.mark.parametrize("who", IDENTITIES)
def test_probes(eap_client, eap_archive, who):
    failures = []
    probed = 0
    headers = _headers(eap_archive, who)
    jobs: dict[str, str] = {}
    sentinels = EAP_SENTINELS + eap_archive.sentinels
    for _route, probe in _probes_of_app(eap_client):
        url = probe.url
        if "job}" in url or "doomed}" in url:
            if "{job}" in url and "job" not in jobs:
                jobs["job"] = _tap_job(eap_client, headers)
            if "{pi_job}" in url and "pi_job" not in jobs:
                jobs["pi_job"] = _tap_job(eap_client, _headers(eap_archive, "pi"))
            pi_headers = _headers(eap_archive, "pi")
            doomed = _tap_job(eap_client, headers, False) if "{doomed}" in url else ""
            pi_doomed = _tap_job(eap_client, pi_headers, False) if "{pi_doomed}" in url else ""
            url = _fill(url, {"doomed": doomed, "pi_doomed": pi_doomed, **jobs})
        probe = replace(
            probe,
            url=_fill(url, eap_archive.context),
            json=_fill(probe.json, eap_archive.context),
            data=_fill(probe.data, eap_archive.context),
        )
        response = eap_client.request(
            probe.method,
            probe.url,
            headers=headers,
            json=probe.json,
            data=probe.data,
        )
        probed += 1
        where = f"{probe.method} {probe.url} as {who}"
        if response.status_code not in probe.expected(who):
            failures.append(
                f"{where}: status {response.status_code}, expected {probe.expected(who)}: "
                f"{response.text[:200]}"
            )
            continue
        seen = (
            _readable(response) + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        )
        sent = probe.url + str(probe.json or "") + str(probe.data or "")
        leaked = [s for s in sentinels if s in seen and s not in sent]
        if who in WITHOUT_RIGHTS and leaked:
            failures.append(f"{where}: leaks {leaked}: {response.text[:200]}")
        if who in ("pi", "collab", "admin") and probe.shows_eap and response.status_code in OK:
            if not any(s in seen for s in sentinels):
                failures.append(f"{where}: does not show the EAP data it asked for")
        if response.status_code in (401, 403) and probe.method != "HEAD":
            if not _refusal_message(response):
                failures.append(f"{where}: {response.status_code} without a message")
    assert probed >= 10, f"only {probed} probes ran: the route walk is broken"
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("form", ["token", "Bearer", "cookie"])
def test_token_forms_open_eap_data(eap_client, eap_archive, form):
    """The three ways astroquery, curl scripts and other clients send a token."""
    url = f"/api/v0.1/Download/file?uri=mast:JWST/product/{EAP_FILE}"
    token = eap_archive.tokens["collab"]
    if form == "cookie":
        eap_client.cookies.set("mast_token", token)
        try:
            response = eap_client.get(url)
        finally:
            eap_client.cookies.clear()
    else:
        response = eap_client.get(url, headers={"Authorization": f"{form} {token}"})
    assert response.status_code == 200
    assert b"EAPSECRET-TARGET" in response.content


TOTAL_KEYS = ("total", "rowsTotal", "rowsFiltered", "totalResults", "total_count")


def _total(response) -> int | None:
    """The total a listing reports (JSON body, one level of nesting, or the
    X-Total-Count header), or None."""
    if "x-total-count" in response.headers:
        return int(response.headers["x-total-count"])
    try:
        body = response.json()
    except ValueError:
        return None
    if not isinstance(body, dict):
        return None
    for holder in [body, *(v for v in body.values() if isinstance(v, dict))]:
        for key in TOTAL_KEYS:
            if isinstance(holder.get(key), int):
                return holder[key]
    return None


def test_totals_count_only_what_the_user_may_see(eap_client, eap_archive):
    """Every listing that reports a total and shows EAP data to the PI reports
    a smaller total to anonymous users and strangers."""
    compared = []
    for _route, probe in _probes_of_app(eap_client):
        if probe.kind != "listing" or not probe.shows_eap:
            continue
        probe = replace(
            probe,
            url=_fill(probe.url, eap_archive.context),
            json=_fill(probe.json, eap_archive.context),
            data=_fill(probe.data, eap_archive.context),
        )
        totals = {}
        for who in ("anonymous", "stranger", "pi"):
            response = eap_client.request(
                probe.method,
                probe.url,
                headers=_headers(eap_archive, who),
                json=probe.json,
                data=probe.data,
            )
            totals[who] = _total(response)
        if None in totals.values():
            continue
        compared.append(f"{probe.method} {probe.url} {totals}")
        where = f"{probe.method} {probe.url}: totals {totals}"
        assert totals["anonymous"] < totals["pi"], where
        assert totals["stranger"] == totals["anonymous"], where
    assert len(compared) >= 3, f"too few listings report totals: {compared}"
