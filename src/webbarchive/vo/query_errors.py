"""What to tell a TAP user when the database fails on a translated query.

A database's error text may quote the values it failed on (PostgreSQL:
``invalid input syntax for type integer: "8754|J2359+0022|..."``), so it is
never returned. The reply says the *kind* of problem, found from the SQLSTATE
on PostgreSQL and from the message's fixed wording on SQLite, and where in
the user's own ADQL the constructs that can cause it stand (line and column
of each ``/``, ``CAST``, ``LOG`` ...), so it carries nothing the caller did
not send.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

#: Positions listed at most, beyond which the reply says "and n more".
MAX_POSITIONS = 4


@dataclass(frozen=True)
class ErrorKind:
    """A kind of failure and the ADQL constructs that can raise it: operator
    token types and function names (upper case)."""

    description: str
    operators: frozenset[TokenType] = frozenset()
    functions: frozenset[str] = frozenset()


DIVISION_BY_ZERO = ErrorKind("division by zero", frozenset({TokenType.SLASH}), frozenset({"MOD"}))
OVERFLOW = ErrorKind(
    "numeric overflow (a value out of the range of its type)",
    frozenset({TokenType.STAR, TokenType.PLUS, TokenType.DASH}),
    frozenset({"ABS", "EXP", "POWER", "CAST", "SUM", "AVG", "ACOS", "ASIN"}),
)
INVALID_CAST = ErrorKind(
    "invalid cast (a value that cannot be converted to the requested type)",
    functions=frozenset({"CAST"}),
)
MATH_DOMAIN = ErrorKind(
    "math domain error (a function given an argument outside its domain)",
    functions=frozenset({"LOG", "LOG10", "SQRT", "POWER", "ACOS", "ASIN"}),
)
UNKNOWN_COLUMN = ErrorKind("unknown column")
UNKNOWN_TABLE = ErrorKind("unknown table")
UNKNOWN_FUNCTION = ErrorKind("unknown function, or a function given arguments of the wrong type")
TYPE_MISMATCH = ErrorKind("operands of incompatible types")
AMBIGUOUS = ErrorKind("ambiguous column name")
GROUPING = ErrorKind("a selected column is neither grouped nor aggregated")
SYNTAX = ErrorKind("syntax the database does not accept")
TOO_COMPLEX = ErrorKind("query too complex for the database (fewer terms or a smaller region)")
GEOMETRY = ErrorKind(
    "invalid geometry (a position, circle or polygon the database cannot build)",
    functions=frozenset({"POINT", "CIRCLE", "POLYGON", "BOX"}),
)
INVALID_VALUE = ErrorKind("invalid data value")
OTHER = ErrorKind("the database could not run the query")

#: PostgreSQL SQLSTATEs (Appendix A of its manual), then their classes.
_SQLSTATE = {
    "22012": DIVISION_BY_ZERO,
    "22003": OVERFLOW,
    "22P02": INVALID_CAST,
    "22018": INVALID_CAST,
    "22007": INVALID_CAST,
    "22008": OVERFLOW,
    "2201E": MATH_DOMAIN,
    "2201F": MATH_DOMAIN,
    "22023": MATH_DOMAIN,
    "42703": UNKNOWN_COLUMN,
    "42P01": UNKNOWN_TABLE,
    "42883": UNKNOWN_FUNCTION,
    "42804": TYPE_MISMATCH,
    "42846": INVALID_CAST,
    "42702": AMBIGUOUS,
    "42803": GROUPING,
    "42601": SYNTAX,
    "54001": TOO_COMPLEX,
    "XX000": GEOMETRY,  # pgsphere reports bad geometries as internal errors
}
_SQLSTATE_CLASS = {"22": INVALID_VALUE, "42": SYNTAX, "54": TOO_COMPLEX}

#: SQLite's fixed wordings (sqlite3.c), checked in order.
_SQLITE = [
    ("integer overflow", OVERFLOW),
    ("no such column", UNKNOWN_COLUMN),
    ("no such table", UNKNOWN_TABLE),
    ("no such function", UNKNOWN_FUNCTION),
    ("wrong number of arguments", UNKNOWN_FUNCTION),
    ("ambiguous column", AMBIGUOUS),
    ("misuse of aggregate", GROUPING),
    ("syntax error", SYNTAX),
    ("too large", TOO_COMPLEX),
    ("too many", TOO_COMPLEX),
    ("stack overflow", TOO_COMPLEX),
    ("user-defined function raised exception", GEOMETRY),  # the wa_* functions
]


def classify(exc: BaseException) -> ErrorKind:
    """The kind of a psycopg, sqlite3 or SQLAlchemy (``.orig``) error."""
    exc = getattr(exc, "orig", None) or exc
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate:
        return _SQLSTATE.get(sqlstate) or _SQLSTATE_CLASS.get(sqlstate[:2], OTHER)
    if isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        for wording, kind in _SQLITE:
            if wording in text:
                return kind
    return OTHER


_NOT_OPERANDS = {TokenType.L_PAREN, TokenType.COMMA, TokenType.SELECT, TokenType.DOT}


def positions(adql: str, kind: ErrorKind) -> list[tuple[int, int, str]]:
    """``(line, column, construct)`` of every construct of ``kind`` in ``adql``
    (1-based), found by ADQL's tokenizer so string literals do not count."""
    if not (kind.operators or kind.functions):
        return []
    try:
        tokens = Dialect.get_or_raise("tsql").tokenize(adql)
    except SqlglotError:
        return []
    found = []
    previous = None
    for token, following in zip(tokens, [*tokens[1:], None], strict=True):
        is_call = following is not None and following.token_type == TokenType.L_PAREN
        name = token.text.upper()
        operator = token.token_type in kind.operators and not (
            token.token_type == TokenType.STAR and (previous is None or previous in _NOT_OPERANDS)
        )  # COUNT(*), SELECT *, t.* are no multiplications
        previous = token.token_type
        if operator or (is_call and name in kind.functions):
            line = adql.count("\n", 0, token.start) + 1
            column = token.start - (adql.rfind("\n", 0, token.start) + 1) + 1
            found.append((line, column, name))
    return found


def user_message(exc: BaseException, adql: str) -> str:
    """The reply to a database failure: its kind and where in ``adql`` the
    constructs that can cause it stand."""
    kind = classify(exc)
    where = [f"{name} at line {line}, column {col}" for line, col, name in positions(adql, kind)]
    text = f"the query failed in the database: {kind.description}"
    if len(where) == 1:
        return f"{text}; from the {where[0]}"
    if where:
        more = len(where) - MAX_POSITIONS
        listed = where[:MAX_POSITIONS] + ([f"{more} more"] if more > 0 else [])
        return f"{text}; from one of: {', '.join(listed)}"
    return text
