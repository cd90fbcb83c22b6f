"""The pixel search's candidates as SQL: the statement shown in a search's ``query``.

A search selects its candidate spectra in numpy (:mod:`webbarchive.pixels.spectra`);
this module writes the same selection as SQL over the catalog - current
extraction, data rights (:func:`webbarchive.catalog.rights.visible_products`),
product filters and per-spectrum zone maps - for the reply, where MAST shows
the SQL that ran. Tests run these statements and check they keep exactly the
spectra the view keeps, for every kind of user.
"""

from __future__ import annotations

import json
from functools import lru_cache

from sqlalchemy import Engine, and_, func, select

from webbarchive.catalog.rights import User, now_mjd, visible_products
from webbarchive.catalog.schema import keywords, observations, products
from webbarchive.pixels.spectra import normalize_program
from webbarchive.pixels.syntax import PixelQuery, Predicate
from webbarchive.pixels.tables import spectral_characteristics


def _zone_map_clause(predicates: list[Predicate]):
    """Per-spectrum pruning: a spectrum can match only if its range meets the predicate."""
    c = spectral_characteristics.c
    ranges = {"wavelength": (c.wavelength_min, c.wavelength_max), "flux": (c.flux_min, c.flux_max)}
    clauses = []
    for p in predicates:
        if p.column == "derSnr":
            clauses.append(p.compare(c.derSnr))
        elif p.column in ranges:
            low, high = ranges[p.column]
            if p.op in (">", ">="):
                clauses.append(high >= p.value)
            elif p.op in ("<", "<="):
                clauses.append(low <= p.value)
            elif p.op == "=":
                clauses.append(and_(low <= p.value, high >= p.value))
    return clauses


def _product_clauses(query: PixelQuery, obsids: list[int] | None):
    p = products.c
    clauses = []
    for name, values in query.filters.items():
        upper = [v.upper() for v in values]
        if name == "instrument":
            clauses.append(func.upper(p.instrument).in_([v.split("/")[0] for v in upper]))
        elif name == "exp_type":
            clauses.append(func.upper(p.exp_type).in_(upper))
        elif name == "program":
            clauses.append(p.proposal_id.in_([normalize_program(v) for v in values]))
        elif name == "target":
            clauses.append(
                p.obsid.in_(
                    select(observations.c.obsid).where(
                        func.upper(observations.c.target_name).in_(upper)
                    )
                )
            )
        else:  # grating, filter: the FITS keywords of the product
            clauses.append(
                p.product_id.in_(
                    select(keywords.c.product_id).where(
                        keywords.c.name == name,
                        func.upper(keywords.c.value).in_([json.dumps(v) for v in upper]),
                    )
                )
            )
    if obsids is not None:
        clauses.append(p.obsid.in_(obsids))
    return clauses


def _allowed_clauses(
    query: PixelQuery, user: User, obsids: list[int] | None, at_mjd: float | None = None
):
    """What the catalog decides: current extraction, rights, product filters."""
    return [
        spectral_characteristics.c.checksum == products.c.checksum,
        visible_products(user, at_mjd),
        *_product_clauses(query, obsids),
    ]


def _joined():
    c = spectral_characteristics.c
    return spectral_characteristics.join(products, products.c.product_id == c.product_id)


def candidates_statement(
    query: PixelQuery, user: User, obsids: list[int] | None = None, at_mjd: float | None = None
):
    """SQL for the candidate spectra (product_id) of ``query`` for ``user`` (rights
    now, or at ``at_mjd``)."""
    c = spectral_characteristics.c
    return (
        select(c.product_id)
        .select_from(_joined())
        .where(
            c.productType.in_(query.product_types),  # msaexp: see the spectra view
            *_allowed_clauses(query, user, obsids, at_mjd),
            *_zone_map_clause(query.predicates),
        )
    )


def stored_statement(query: PixelQuery):
    """Spectra in the store that may hold matching pixels, whoever asks."""
    c = spectral_characteristics.c
    return select(c.product_id).where(
        c.productType.in_(query.product_types), *_zone_map_clause(query.predicates)
    )


#: Stands for the request's time while a shown statement is compiled once per shape.
_AT_SENTINEL = -1.234567e300


@lru_cache(maxsize=512)
def _shown_template(
    dialect, query_key: tuple, user: User, obsids: tuple | None, excluded: bool
) -> str:
    query = PixelQuery(
        query_key[0],
        list(query_key[1]),
        {k: list(v) for k, v in query_key[2]},
        query_key[3],
        query_key[4],
    )
    statement = candidates_statement(
        query, user, list(obsids) if obsids is not None else None, at_mjd=_AT_SENTINEL
    )
    if excluded:  # the stored spectra the user may not see
        c = spectral_characteristics.c
        statement = stored_statement(query).where(c.product_id.not_in(statement.scalar_subquery()))
    return literal_sql(statement, dialect)


def shown_candidates(
    engine: Engine,
    query: PixelQuery,
    user: User,
    obsids: list[int] | None = None,
    excluded: bool = False,
) -> str:
    """The candidates statement as shown to the user, values written in: compiled
    once per query shape and user (compiling costs more than the search), the
    request's time put in on each call."""
    key = (
        query.product_type,
        tuple(query.predicates),
        tuple(sorted((k, tuple(v)) for k, v in query.filters.items())),
        query.position,
        query.collection,
    )
    text = _shown_template(
        engine.dialect, key, user, tuple(obsids) if obsids is not None else None, excluded
    )
    return text.replace(repr(_AT_SENTINEL), repr(now_mjd()))


def literal_sql(statement, dialect) -> str:
    """``statement`` with its values written in, for display only."""
    try:
        compiled = statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True})
    except Exception:  # a value without a literal form: show the placeholders
        compiled = statement.compile(dialect=dialect)
    return " ".join(str(compiled).split())
