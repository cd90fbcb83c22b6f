"""A failing ADQL query is answered with the kind of failure and where it
stands in the query, never with the database's own text.

PostgreSQL quotes the values it failed on (``invalid input syntax for type
integer: "8754|J2359+0022|..."``): returned verbatim, an error is a way to
read values a query was not meant to return, and the rights barrier is then
the only defence. Here the PI of the EAP program, who may see its row, runs
the failing expressions on it: the reply must still hold none of its values,
and must say exactly the kind and the ADQL positions computed here from the
query text.
"""

from __future__ import annotations

import io

import pytest
from astropy.io.votable import parse

from tests.auth.eap import EAP_PROGRAM, EAP_SENTINELS, EAP_TARGET
from tests.security.test_adql_oracle import FAILING, TRUE_GUESS

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

DIVISION = "division by zero"
OVERFLOW = "numeric overflow (a value out of the range of its type)"
CAST = "invalid cast (a value that cannot be converted to the requested type)"
DOMAIN = "math domain error (a function given an argument outside its domain)"

#: The kind each failing expression is, where the engine fails on it at all
#: (SQLite answers NULL to x/0, LOG(-1), SQRT(-1) ... and 0 to bad casts;
#: PostgreSQL's numeric holds 10^100000).
EXPECTED = {
    "sqlite": {"integer overflow": OVERFLOW},
    "postgresql": {
        "division by zero": DIVISION,
        "mod by zero": DIVISION,
        "integer overflow": OVERFLOW,
        "exp overflow": OVERFLOW,
        "invalid cast": CAST,
        "cast of a hidden value": CAST,
        "log of a negative": DOMAIN,
        "sqrt of a negative": DOMAIN,
        "acos out of domain": OVERFLOW,  # PostgreSQL: "input is out of range"
    },
}
#: The ADQL constructs that can raise each kind (what the reply points at).
CONSTRUCTS = {
    DIVISION: ["/", "MOD("],
    OVERFLOW: ["*", "+", "-", "ABS(", "EXP(", "POWER(", "CAST(", "SUM(", "AVG(", "ACOS(", "ASIN("],
    CAST: ["CAST("],
    DOMAIN: ["LOG(", "LOG10(", "SQRT(", "POWER(", "ACOS(", "ASIN("],
}


def _backend(archive) -> str:
    return "postgresql" if archive.url.startswith("postgresql") else "sqlite"


def _pi(archive) -> dict[str, str]:
    return {"Authorization": f"token {archive.tokens['pi']}"}


def _error_message(response) -> str:
    assert response.status_code == 400, response.text
    vot = parse(io.BytesIO(response.content))
    (info,) = [i for i in vot.resources[0].infos if i.name == "QUERY_STATUS"]
    assert info.value == "ERROR"
    return info.content


def _expected_positions(adql: str, kind: str) -> list[str]:
    """Where the constructs of ``kind`` stand in ``adql`` (one line, outside
    string literals), found by plain text search."""
    literal = False
    found = []
    for i, ch in enumerate(adql):
        if ch == "'":
            literal = not literal
        if literal:
            continue
        for construct in CONSTRUCTS[kind]:
            before = adql[:i].rstrip()
            if construct == "*" and (before.endswith(("(", ",", ".")) or before.endswith("SELECT")):
                continue  # COUNT(*), SELECT *: no multiplication
            if adql.startswith(construct, i) and (
                not construct[0].isalpha() or i == 0 or not adql[i - 1].isalnum()
            ):
                found.append(f"{construct.rstrip('(')} at line 1, column {i + 1}")
    return found


def _expected_message(adql: str, kind: str) -> str:
    text = f"the query failed in the database: {kind}"
    where = _expected_positions(adql, kind)
    if len(where) == 1:
        return f"{text}; from the {where[0]}"
    if where:
        return f"{text}; from one of: {', '.join(where[:4])}" + (
            f", {len(where) - 4} more" if len(where) > 4 else ""
        )
    return text


@pytest.mark.parametrize("expression", sorted(FAILING))
def test_failures_name_their_kind_and_position_not_values(eap_client, eap_archive, expression):
    kind = EXPECTED[_backend(eap_archive)].get(expression)
    if kind is None:
        pytest.skip(f"{expression} does not fail on {_backend(eap_archive)}")
    condition = FAILING[expression].format(guess=TRUE_GUESS)
    adql = f"SELECT COUNT(*) AS n FROM ivoa.obscore WHERE proposal_id = '{EAP_PROGRAM}' AND {condition}"
    response = eap_client.get(
        "/tap/sync", params={"LANG": "ADQL", "QUERY": adql}, headers=_pi(eap_archive)
    )
    message = _error_message(response)
    assert message == _expected_message(adql, kind)
    for sentinel in EAP_SENTINELS:
        assert sentinel not in response.text


def test_the_reported_cast_prints_no_values_to_those_who_may_see_them(eap_client, eap_archive):
    """The adversarial review's query, run by the PI on the PI's own row: the
    database's message would hold the row's values; the reply holds the kind."""
    adql = (
        f"SELECT COUNT(*) FROM ivoa.obscore WHERE proposal_id='{EAP_PROGRAM}' AND "
        "CAST(CAST(t_exptime AS VARCHAR)||'|'||target_name||'|'||CAST(s_dec AS VARCHAR)"
        "||'|'||instrument_name AS INTEGER)=1"
    )
    response = eap_client.get(
        "/tap/sync", params={"LANG": "ADQL", "QUERY": adql}, headers=_pi(eap_archive)
    )
    if _backend(eap_archive) == "sqlite":  # SQLite casts the text to 0: no error to leak
        assert response.status_code == 200, response.text
        return
    assert _error_message(response) == _expected_message(adql, CAST)
    for leaked in (*EAP_SENTINELS, "invalid input syntax", '"'):
        assert leaked not in _error_message(response)


def test_public_values_are_not_echoed_either(eap_client, eap_archive):
    """No row is hidden here (anonymous, every public row): the rule is that
    database texts never reach the user, whatever they hold."""
    adql = "SELECT obs_id FROM ivoa.obscore WHERE CAST(obs_id AS INTEGER) = 1"
    response = eap_client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": adql})
    if _backend(eap_archive) == "sqlite":
        assert response.status_code == 200, response.text
        return
    message = _error_message(response)
    assert message == _expected_message(adql, CAST)
    assert "jw" not in message  # no obs_id quoted


def test_errors_after_the_first_rows_are_told_the_same_way(eap_client, eap_archive, monkeypatch):
    """A failure while a large answer streams ends it with an ERROR status
    after the table, worded as above."""
    from webbarchive.vo import execute

    monkeypatch.setattr(execute, "BATCH_ROWS", 1)
    adql = (
        "SELECT obs_id, ABS(CASE WHEN target_name = "
        f"'{EAP_TARGET}' THEN -9223372036854775807 - 1 ELSE 0 END) AS a FROM ivoa.obscore"
    )
    # The failing row is the PI's; the other rows stream before it or after it.
    response = eap_client.get(
        "/tap/sync",
        params={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "votable/td"},
        headers=_pi(eap_archive),
    )
    if response.status_code == 400:  # the engine failed before any row
        assert _error_message(response) == _expected_message(adql, OVERFLOW)
        return
    assert response.status_code == 200
    vot = parse(io.BytesIO(response.content))
    statuses = [(i.value, i.content) for i in vot.resources[0].infos if i.name == "QUERY_STATUS"]
    assert statuses[0][0] == "OK"
    assert statuses[-1] == ("ERROR", _expected_message(adql, OVERFLOW))
