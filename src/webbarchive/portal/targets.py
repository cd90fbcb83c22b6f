"""The portal's local name resolver: a target name typed by a person, matched
against the catalog's own target names (``observations.target_name`` and the
TARGNAME / TARGPROP keywords of products), ignoring case and spaces.

Only what ``user`` may see is searched, so a suggestion or a match never
names a target of an exclusive-access observation to a stranger.
"""

from __future__ import annotations

import json

from sqlalchemy import ColumnElement, Connection, and_, func, select

from webbarchive.catalog.rights import User, visible_observations, visible_products
from webbarchive.catalog.schema import keywords, observations, products

#: Keywords whose values name the target (JSON-encoded strings in keywords.value).
NAME_KEYWORDS = ("targname", "targprop")
MAX_SUGGESTIONS = 20


def normalize(name: str) -> str:
    """``"NGC 1234 "`` -> ``"ngc1234"``: the form names are compared in."""
    return "".join(name.split()).lower()


def _normalized(expr: ColumnElement) -> ColumnElement:
    """SQL twin of :func:`normalize` for the spaces people type (space and tab)."""
    return func.lower(func.replace(func.replace(expr, " ", ""), "\t", ""))


def resolve(conn: Connection, user: User, text: str) -> list[str]:
    """The ``target_name`` values of the observations ``user`` may see whose
    name, or whose products' TARGNAME / TARGPROP, equals ``text`` up to case
    and spaces; sorted, empty when nothing matches."""
    wanted = normalize(text)
    if not wanted:
        return []
    visible = visible_observations(user)
    direct = select(observations.c.target_name).where(
        visible, _normalized(observations.c.target_name) == wanted
    )
    by_keyword = (
        select(observations.c.target_name)
        .join(products, products.c.obsid == observations.c.obsid)
        .join(keywords, keywords.c.product_id == products.c.product_id)
        .where(
            visible,
            visible_products(user),
            keywords.c.name.in_(NAME_KEYWORDS),
            _normalized(keywords.c.value) == json.dumps(wanted),
        )
    )
    names = {n for n in conn.execute(direct.union(by_keyword)).scalars() if n}
    return sorted(names)


def suggest(conn: Connection, user: User, prefix: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
    """Up to ``limit`` target names ``user`` may see starting with ``prefix``
    (case and spaces ignored), for the search form's suggestions as you type."""
    wanted = normalize(prefix)
    if not wanted:
        return []
    like = wanted.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = conn.execute(
        select(observations.c.target_name)
        .where(
            and_(
                visible_observations(user),
                observations.c.target_name.is_not(None),
                _normalized(observations.c.target_name).like(like, escape="\\"),
            )
        )
        .distinct()
        .order_by(observations.c.target_name)
        .limit(limit)
    ).scalars()
    return list(rows)
