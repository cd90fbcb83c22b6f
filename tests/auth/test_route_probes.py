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

:func:`test_every_route_is_probed` fails when the app has a route the
registry does not cover: a new endpoint cannot ship unprobed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pytest

from tests.auth.eap import EAP_DEC, EAP_FILE, EAP_PROGRAM, EAP_RA, EAP_SENTINELS, PUBLIC_FILE

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


def _eap_and_public(method: str, path: str, query: str = "uri={file}") -> list[Probe]:
    shows = method == "GET"
    return [
        Probe(method, f"{path}?{query.format(file=EAP_FILE)}", "eap", shows_eap=shows),
        Probe(method, f"{path}?{query.format(file='mast:JWST/product/' + EAP_FILE)}", "eap"),
        Probe(method, f"{path}?{query.format(file=PUBLIC_FILE)}", "public"),
    ]


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
    lambda path: [Probe("GET", path, "static"), Probe("GET", path + "?name=TARGNAME", "static")],
)
_register(
    "GET",
    _slash("/viz/api/v0.1/info/mnemonics"),
    lambda path: [Probe("GET", path, "static")],
)
# --- spectra (seed 001); pixel search covers the pixel database ----------------------
_register("GET", _slash("/spectra/api/v0.1/retrieve"), lambda path: _eap_and_public("GET", path))
_register(
    "GET",
    _slash("/spectra/api/v0.1/search") + _slash("/viz/api/v0.1/search"),
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
# --- downloads -----------------------------------------------------------------------
for _method in ("GET", "HEAD"):
    _register(
        _method,
        ["/api/v0.1/Download/file", "/jwst/api/v0.1/Download/file"],
        lambda path, m=_method: _eap_and_public(m, path),
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


@pytest.mark.parametrize("who", IDENTITIES)
def test_probes(eap_client, eap_archive, who):
    failures = []
    probed = 0
    for _route, probe in _probes_of_app(eap_client):
        response = eap_client.request(
            probe.method,
            probe.url,
            headers=_headers(eap_archive, who),
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
        seen = response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        sent = probe.url + str(probe.json or "") + str(probe.data or "")
        leaked = [s for s in EAP_SENTINELS if s in seen and s not in sent]
        if who in WITHOUT_RIGHTS and leaked:
            failures.append(f"{where}: leaks {leaked}: {response.text[:200]}")
        if who in ("pi", "collab", "admin") and probe.shows_eap:
            if not any(s in seen for s in EAP_SENTINELS):
                failures.append(f"{where}: does not show the EAP data it asked for")
        if response.status_code in (401, 403) and probe.method != "HEAD":
            if not response.json().get("message"):
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
