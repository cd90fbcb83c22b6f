"""Every route of the app, probed by an adversary: a logged-in stranger who
sends hostile values instead of honest ones.

The honest probes (:mod:`tests.auth.test_route_probes`) ask each route what a
user would. Here every parameter of every probe (query string, form field,
JSON value, Mashup request parameter, the last path segment) is replaced in
turn by values chosen to break parsers and databases: numbers too large for
any integer, NaN, out-of-range coordinates, SQL fragments, path traversal, a
NUL byte, a 5,000-character string. The independent truth is the archive's
promise, not an expected answer: never a 5xx, never a 200 that carries an
"internal error", and never an exclusive-access sentinel the request did not
carry, whatever the route answers.
"""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from tests.auth.eap import EAP_SENTINELS
from tests.auth.test_route_probes import _fill, _headers, _probes_of_app, _readable

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

HOSTILE = (
    "99999999999999999999",
    "1e20",
    "-1",
    "NaN",
    "100",  # a declination beyond the pole, a percentage over 100
    "' OR '1'='1",
    "../../../etc/passwd",
    "a\x00b",
    "x" * 5000,
)
#: Hostile values that keep their JSON type (a number stays a number).
HOSTILE_JSON = (99999999999999999999, 1e20, -1, float("nan"), "' OR '1'='1", "x" * 5000)


def _query_variants(url: str):
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    for i, (name, _value) in enumerate(pairs):
        for value in HOSTILE:
            changed = [*pairs[:i], (name, value), *pairs[i + 1 :]]
            yield f"{name}={value[:20]!r}", urlunsplit(parts._replace(query=urlencode(changed)))
    path = parts.path.rstrip("/")
    if path.count("/") >= 3:
        head = path.rsplit("/", 1)[0]
        for value in ("99999999999999999999", "..%2f..%2fetc", "x" * 300):
            yield f"path {value[:20]!r}", urlunsplit(parts._replace(path=f"{head}/{value}"))


def _json_variants(value, where: str = ""):
    """``(where, document)`` with one leaf of ``value`` replaced by each hostile value."""
    if isinstance(value, dict):
        for key, inner in value.items():
            for label, changed in _json_variants(inner, f"{where}.{key}"):
                yield label, {**value, key: changed}
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            for label, changed in _json_variants(inner, f"{where}[{i}]"):
                yield label, [*value[:i], changed, *value[i + 1 :]]
    else:
        for hostile in HOSTILE_JSON:
            yield f"{where}={str(hostile)[:20]!r}", hostile


def _form_variants(data: dict):
    for name, value in data.items():
        if name == "request" and isinstance(value, str):  # a Mashup request
            document = json.loads(value)
            for label, changed in _json_variants(document, "request"):
                yield label, {**data, name: json.dumps(changed)}
            continue
        for hostile in HOSTILE:
            yield f"{name}={hostile[:20]!r}", {**data, name: hostile}


def _variants(probe):
    for label, url in _query_variants(probe.url):
        yield label, replace(probe, url=url)
    if probe.data:
        for label, data in _form_variants(probe.data):
            yield label, replace(probe, data=data)
    if probe.json is not None:
        for label, document in _json_variants(probe.json, "json"):
            yield label, replace(probe, json=document)


def test_adversary_gets_no_5xx_and_no_hidden_value(eap_client, eap_archive):
    headers = _headers(eap_archive, "stranger")
    sentinels = EAP_SENTINELS + eap_archive.sentinels
    failures, sent_count = [], 0
    seen_routes = set()
    for route, honest in _probes_of_app(eap_client):
        if "job}" in honest.url or "doomed}" in honest.url or route in seen_routes:
            continue  # job routes: tests/security/test_tap_jobs.py; one probe per route
        seen_routes.add(route)
        honest = replace(
            honest,
            url=_fill(honest.url, eap_archive.context),
            json=_fill(honest.json, eap_archive.context),
            data=_fill(honest.data, eap_archive.context),
        )
        for label, probe in _variants(honest):
            body = json.dumps(probe.json, allow_nan=True) if probe.json is not None else None
            response = eap_client.request(
                probe.method,
                probe.url,
                headers={**headers, **({"Content-Type": "application/json"} if body else {})},
                content=body,
                data=probe.data,
            )
            sent_count += 1
            where = f"{probe.method} {route[1]} with {label}"
            text = _readable(response)
            if response.status_code >= 500 or "internal error" in text.lower():
                failures.append(f"{where}: {response.status_code} {text[:160]!r}")
                continue
            sent = probe.url + (body or "") + str(probe.data or "")
            leaked = [s for s in sentinels if s in text and s not in sent]
            if leaked:
                failures.append(f"{where}: leaks {leaked}")
    assert sent_count > 500, f"only {sent_count} hostile requests: the walk is broken"
    assert not failures, f"{len(failures)} of {sent_count}:\n" + "\n".join(failures)
