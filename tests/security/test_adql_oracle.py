"""ADQL cannot reach exclusive-access rows, not even through errors.

An adversary does not ask for hidden rows; it asks the database to fail on
them. User predicates that ran before the rights filter answered yes/no
questions (SQLite: an integer overflow) or printed hidden values in the error
text (PostgreSQL: an invalid cast). Two independent truths here:

1. Indistinguishability: for every expression that can fail at run time, the
   answer to a guess that is true of the hidden observation equals, byte for
   byte, the answer to a false guess and to a program that does not exist.
   The PI's answer to the same request shows the probe reaches the data.
2. A spy: ``LOWER``/``UPPER``/``ABS`` replaced in the database itself
   (SQLite: a function of the same name on the connection; PostgreSQL: a
   function in a schema searched before pg_catalog) records every value a
   user expression is given. Over many query shapes it must never be given a
   hidden value.
"""

from __future__ import annotations

import pytest

from tests.auth.eap import EAP_DEC, EAP_PROGRAM, EAP_RA, EAP_SENTINELS, EAP_TARGET

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: ADQL conditions that fail at run time when ``{guess}`` is true of a row.
FAILING = {
    "division by zero": "1 / (CASE WHEN {guess} THEN 0 ELSE 1 END) = 1",
    "integer overflow": "ABS(CASE WHEN {guess} THEN -9223372036854775807 - 1 ELSE 0 END) >= 0",
    "invalid cast": "CAST(CASE WHEN {guess} THEN 'x' || target_name ELSE '1' END AS INTEGER) = 1",
    "cast of a hidden value": "CAST(target_name AS INTEGER) = 1 OR {guess}",
    "log of a negative": "LOG(CASE WHEN {guess} THEN -1.0 ELSE 1.0 END) >= 0",
    "sqrt of a negative": "SQRT(CASE WHEN {guess} THEN -1.0 ELSE 1.0 END) >= 0",
    "acos out of domain": "ACOS(CASE WHEN {guess} THEN 2.0 ELSE 1.0 END) >= 0",
    "exp overflow": "EXP(CASE WHEN {guess} THEN 100000.0 ELSE 1.0 END) >= 0",
    "power overflow": "POWER(10.0, CASE WHEN {guess} THEN 100000.0 ELSE 1.0 END) >= 0",
    "mod by zero": "MOD(1, CASE WHEN {guess} THEN 0 ELSE 2 END) >= 0",
}
TRUE_GUESS = f"target_name LIKE '{EAP_TARGET[:3]}%'"
FALSE_GUESS = "target_name LIKE 'ZZZ%'"
NULL_GUESS = "target_name IS NULL"  # true of every row a masking scheme would blank


def _tap(client, adql: str, headers: dict | None = None):
    return client.get(
        "/tap/sync",
        params={"LANG": "ADQL", "QUERY": adql, "RESPONSEFORMAT": "csv"},
        headers=headers or {},
    )


def _headers(archive, who: str) -> dict[str, str]:
    return {} if who == "anonymous" else {"Authorization": f"token {archive.tokens[who]}"}


def _scoped(condition: str, program: str) -> str:
    return f"SELECT COUNT(*) AS n FROM ivoa.obscore WHERE proposal_id = '{program}' AND {condition}"


def _cone(condition: str, ra: float, dec: float) -> str:
    return (
        "SELECT COUNT(*) AS n FROM ivoa.obscore WHERE "
        f"1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, 0.01)) "
        f"AND {condition}"
    )


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
@pytest.mark.parametrize("kind", sorted(FAILING))
def test_failing_expressions_answer_nothing_about_hidden_rows(eap_client, eap_archive, who, kind):
    headers = _headers(eap_archive, who)
    answers = {}
    for name, guess, program in (
        ("true guess", TRUE_GUESS, EAP_PROGRAM),
        ("false guess", FALSE_GUESS, EAP_PROGRAM),
        ("null guess", NULL_GUESS, EAP_PROGRAM),
        ("no such program", TRUE_GUESS, "87654"),
    ):
        response = _tap(eap_client, _scoped(FAILING[kind].format(guess=guess), program), headers)
        answers[name] = (response.status_code, response.text)
        for sentinel in EAP_SENTINELS:
            assert sentinel not in response.text, (kind, name)
    assert len(set(answers.values())) == 1, answers
    assert answers["true guess"] == (200, "n\n0\n")


@pytest.mark.parametrize("kind", sorted(FAILING))
def test_failing_expressions_by_position_reveal_no_hidden_observation(
    eap_client, eap_archive, kind
):
    """A cone around the hidden observation answers as an empty patch of sky."""
    condition = FAILING[kind].format(guess=NULL_GUESS + " OR " + TRUE_GUESS)
    hidden = _tap(eap_client, _cone(condition, EAP_RA, EAP_DEC))
    empty = _tap(eap_client, _cone(condition, EAP_RA, EAP_DEC - 5))
    assert (hidden.status_code, hidden.text) == (empty.status_code, empty.text)
    assert hidden.status_code == 200


#: Kinds that fail on each engine (SQLite answers NULL to x/0, LOG(-1), casts).
FAILS_ON = {
    "sqlite": ["integer overflow"],
    "postgresql": ["integer overflow", "division by zero", "invalid cast", "log of a negative"],
}


def test_the_pi_reaches_the_row_the_probes_aim_at(eap_client, eap_archive):
    """Control: with rights, the same requests do fail on the EAP row, so the
    indistinguishability above is not an accident of queries that miss it."""
    backend = "postgresql" if eap_archive.url.startswith("postgresql") else "sqlite"
    for kind in FAILS_ON[backend]:
        response = _tap(
            eap_client,
            _scoped(FAILING[kind].format(guess=TRUE_GUESS), EAP_PROGRAM),
            _headers(eap_archive, "pi"),
        )
        assert response.status_code == 400, (kind, response.text)
        false_guess = _tap(
            eap_client,
            _scoped(FAILING[kind].format(guess=FALSE_GUESS), EAP_PROGRAM),
            _headers(eap_archive, "pi"),
        )
        assert (false_guess.status_code, false_guess.text) == (200, "n\n1\n")


def test_the_reported_postgresql_oracle_prints_nothing(eap_client, eap_archive):
    """The request from the adversarial review, aimed at the EAP program."""
    adql = (
        f"SELECT COUNT(*) FROM ivoa.obscore WHERE proposal_id='{EAP_PROGRAM}' AND "
        "CAST(CAST(t_exptime AS VARCHAR)||'|'||target_name||'|'||CAST(s_dec AS VARCHAR)"
        "||'|'||instrument_name AS INTEGER)=1"
    )
    for who in ("anonymous", "stranger"):
        response = _tap(eap_client, adql, _headers(eap_archive, who))
        assert response.status_code == 200, response.text
        assert response.text.splitlines()[1] == "0"
        for sentinel in EAP_SENTINELS:
            assert sentinel not in response.text


# --- the spy -------------------------------------------------------------------------

#: Query shapes whose user expressions (LOWER, UPPER, ABS) the spy watches.
SPIED = [
    "SELECT obs_id FROM ivoa.obscore WHERE LOWER(target_name) = 'x'",
    f"SELECT obs_id FROM ivoa.obscore WHERE proposal_id = '{EAP_PROGRAM}' "
    "AND LOWER(target_name) = 'x'",
    "SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
    f"CIRCLE('ICRS', {EAP_RA}, {EAP_DEC}, 0.05)) AND ABS(s_ra) < 0",
    f"SELECT obs_id FROM ivoa.obscore WHERE DISTANCE(POINT('ICRS', s_ra, s_dec), "
    f"POINT('ICRS', {EAP_RA}, {EAP_DEC})) < 0.05 AND LOWER(target_name) = 'x'",
    "SELECT obs_id FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, "
    f"CIRCLE('ICRS', {EAP_RA}, {EAP_DEC}, 0.05)) AND UPPER(obs_id) = 'X'",
    "SELECT a.obs_id FROM ivoa.obscore AS a JOIN ivoa.obscore AS b "
    "ON LOWER(a.target_name) = LOWER(b.target_name)",
    "SELECT a.obs_id FROM ivoa.obscore AS a LEFT OUTER JOIN ivoa.obscore AS b "
    "ON UPPER(a.obs_id) = UPPER(b.obs_id) AND b.proposal_id = '9999'",
    "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN "
    "(SELECT obs_id FROM ivoa.obscore WHERE LOWER(target_name) LIKE '%')",
    "SELECT LOWER(target_name) AS t, COUNT(*) AS n FROM ivoa.obscore "
    "GROUP BY LOWER(target_name) HAVING COUNT(*) > 0",
    "SELECT obs_id FROM ivoa.obscore ORDER BY LOWER(target_name)",
    "SELECT LOWER(target_name) AS t FROM ivoa.obscore UNION "
    "SELECT UPPER(obs_id) AS t FROM ivoa.obscore",
    "SELECT t FROM (SELECT LOWER(target_name) AS t FROM ivoa.obscore) AS x WHERE t = 'x'",
    "SELECT CASE WHEN LOWER(target_name) = 'x' THEN 1 ELSE 0 END AS c FROM ivoa.obscore",
    "SELECT o.obs_id FROM ivoa.obscore AS o JOIN TAP_SCHEMA.tables AS t "
    "ON LOWER(o.target_name) = LOWER(t.table_name)",
    f"SELECT COUNT(*) FROM ivoa.obscore WHERE proposal_id = '{EAP_PROGRAM}' "
    "OR LOWER(target_name) = 'x'",
    "SELECT obs_id FROM ivoa.obscore WHERE ABS(s_dec) BETWEEN 43.1 AND 43.2",
]
SPY_MARK = "spy saw a hidden value"


def _spy_sqlite(path: str, sql: str) -> None:
    import sqlite3

    from webbarchive.vo import geometry

    seen: list = []

    def spy(builtin):
        def watch(value):
            if value is not None and (
                any(s in str(value) for s in EAP_SENTINELS) or value == EAP_RA
            ):
                seen.append(value)
            return builtin(value)

        return watch

    conn = sqlite3.connect(path)
    try:
        geometry.register_sqlite(conn)
        conn.create_function("lower", 1, spy(lambda v: v if v is None else str(v).lower()))
        conn.create_function("upper", 1, spy(lambda v: v if v is None else str(v).upper()))
        conn.create_function("abs", 1, spy(lambda v: v if v is None else abs(v)))
        conn.execute(sql).fetchall()
    finally:
        conn.close()
    if seen:
        raise AssertionError(f"{SPY_MARK}: {seen}")


PG_SPIES = """
CREATE SCHEMA spy;
CREATE FUNCTION spy.lower(v text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN IF v ~ '{pattern}' THEN RAISE EXCEPTION '{mark}: %', v; END IF;
RETURN pg_catalog.lower(v); END $$;
CREATE FUNCTION spy.upper(v text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN IF v ~ '{pattern}' THEN RAISE EXCEPTION '{mark}: %', v; END IF;
RETURN pg_catalog.upper(v); END $$;
CREATE FUNCTION spy.abs(v float8) RETURNS float8 LANGUAGE plpgsql AS $$
BEGIN IF v = {ra} THEN RAISE EXCEPTION '{mark}: %', v; END IF;
RETURN pg_catalog.abs(v); END $$;
SET LOCAL search_path = spy, pg_catalog, public;
"""


def _spy_postgresql(url: str, sql: str) -> None:
    """Spies in a schema searched before pg_catalog, in a transaction that is
    rolled back: the shared EAP catalog is left as it was."""
    import psycopg

    pattern = "|".join(s.replace(".", "[.]") for s in EAP_SENTINELS)
    with psycopg.connect(url) as conn:
        try:
            with conn.cursor() as cur:
                cur.execute(PG_SPIES.format(pattern=pattern, mark=SPY_MARK, ra=EAP_RA))
                cur.execute(sql)
                cur.fetchall()
        except psycopg.Error as exc:
            raise AssertionError(str(exc)) from None
        finally:
            conn.rollback()


def _run_spied(archive, sql: str) -> None:
    if archive.url.startswith("postgresql"):
        _spy_postgresql(archive.url, sql)
    else:
        _spy_sqlite(archive.url, sql)


@pytest.mark.parametrize("adql", SPIED)
def test_no_user_expression_is_given_a_hidden_value(eap_archive, adql):
    from webbarchive.catalog.rights import ANONYMOUS
    from webbarchive.vo.adql import translate
    from webbarchive.vo.obscore import QueryContext

    dialect = "postgresql" if eap_archive.url.startswith("postgresql") else "sqlite"
    sql = translate(adql, dialect, QueryContext(ANONYMOUS, "http://test"), maxrec=1000).sql
    _run_spied(eap_archive, sql)


def test_the_spy_sees_what_an_admin_reads(eap_archive):
    """Control: for a user who may read the EAP row, the spy does see it."""
    from webbarchive.catalog.rights import User
    from webbarchive.vo.adql import translate
    from webbarchive.vo.obscore import QueryContext

    dialect = "postgresql" if eap_archive.url.startswith("postgresql") else "sqlite"
    admin = QueryContext(User(name="root", admin=True), "http://test")
    for adql in SPIED[:3]:
        sql = translate(adql, dialect, admin, maxrec=1000).sql
        with pytest.raises(AssertionError, match=SPY_MARK):
            _run_spied(eap_archive, sql)


def _heavy(joins: int) -> str:
    """A cross join of ``joins`` copies of the table, evaluated only when reached."""
    names = [f"t{i}" for i in range(joins)]
    tables = ", ".join(f"ivoa.obscore AS {n}" for n in names)
    total = " + ".join(f"{n}.s_ra" for n in names)
    return f"(SELECT COUNT(*) FROM {tables} WHERE {total} > -1)"


def _tap_seconds(client, adql: str, headers: dict) -> float:
    import time

    start = time.perf_counter()
    response = _tap(client, adql, headers)
    assert response.status_code == 200, response.text
    return time.perf_counter() - start


def test_no_timing_oracle(eap_client, eap_archive):
    """A guess that makes the database do heavy work only on rows where it is
    true: the PI's timings tell true from false (the control), an anonymous
    caller's do not, because the guess never meets the hidden row. Requests
    are interleaved and medians compared, so a loaded machine shifts all alike.

    A guard, not a reproduction: both planners already ran conditions holding
    a subquery after the rights filter before the barrier existed (checked by
    removing it), so heavy work could not be timed on a hidden row; cheap
    conditions could (the spy above), but one row of cheap work is not
    measurable. The barrier makes the guarantee independent of planner costs."""
    import statistics

    # heavy enough to stand out of the noise of a loaded machine
    joins = 3 if _tap_seconds(eap_client, _heavy(3)[1:-1], {}) > 0.15 else 4
    requests = {
        (who, name): (_scoped(f"(CASE WHEN {guess} THEN {_heavy(joins)} ELSE 0 END) >= 0",
                              EAP_PROGRAM), _headers(eap_archive, who))
        for who in ("pi", "anonymous")
        for name, guess in (("true", TRUE_GUESS), ("false", FALSE_GUESS))
    }  # fmt: skip
    samples: dict = {key: [] for key in requests}
    for _ in range(7):
        for key, (adql, headers) in requests.items():
            samples[key].append(_tap_seconds(eap_client, adql, headers))
    timed = {key: statistics.median(values) for key, values in samples.items()}
    pi_gap = timed["pi", "true"] - timed["pi", "false"]
    anonymous_gap = timed["anonymous", "true"] - timed["anonymous", "false"]
    assert pi_gap > 0.05, f"control: the heavy branch does not show {timed}"
    assert anonymous_gap < pi_gap / 3, f"timings tell the hidden row's value {timed}"
