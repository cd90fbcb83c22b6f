"""Every searchable spectrum's catalog facts, held in numpy arrays per process.

A pixel search asks the catalog the same questions about thousands of spectra
at a time: may this user see it (release date, program), does it pass the
product filters (instrument, grating, filter, exp_type, program, target), what
are its file name, derSnr and zone maps. One SQL round trip per spectrum, or
IN lists of hundreds, cost more than reading the pixels (4 us a spectrum on
SQLite). :class:`SpectraView` loads those facts once - a few hundred ms per
10^5 spectra - and answers with vectorised masks.

It is a cache and stays exact: :func:`view` reads the catalog's generation
counter (:mod:`webbarchive.catalog.generation`, moved by triggers on every
change to products, programs, observations or spectral_characteristics) on
each call and reloads when it moved. Rights are evaluated at call time by
:func:`webbarchive.catalog.rights.visible_mask` (the rule of the SQL form), so a
release date passing needs no reload; who the user is comes with the request.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import numpy as np
from sqlalchemy import Engine, and_, func, inspect, select

from webbarchive.catalog import generation
from webbarchive.catalog.accounts import AccountError, normalize_proposal_id
from webbarchive.catalog.rights import (
    User,
    community_visible_mask,
    program_release_expr,
    visible_mask,
)
from webbarchive.catalog.schema import keywords, observations, products, programs
from webbarchive.pixels import msaexp_source
from webbarchive.pixels.syntax import PixelQuery, Predicate, spaxel_predicates
from webbarchive.pixels.tables import pixel_segments, spectral_characteristics


@dataclass(frozen=True)
class Category:
    """A string column as codes into sorted distinct values (None coded as -1)."""

    codes: np.ndarray
    values: tuple[str, ...]

    @classmethod
    def of(cls, strings: list[str | None]) -> Category:
        values = sorted({s for s in strings if s is not None})
        index = {v: k for k, v in enumerate(values)}
        codes = np.fromiter((index.get(s, -1) for s in strings), np.int32, len(strings))
        return cls(codes, tuple(values))

    def isin(self, wanted) -> np.ndarray:
        index = {v: k for k, v in enumerate(self.values)}
        table = np.zeros(len(self.values) + 1, bool)  # slot 0: None
        table[[index[w] + 1 for w in wanted if w in index]] = True
        return table[self.codes + 1]

    def present(self, mask: np.ndarray) -> set[str]:
        """The distinct strings of the rows in ``mask``."""
        seen = np.bincount(self.codes[mask] + 1, minlength=len(self.values) + 1)[1:]
        return {self.values[k] for k in np.flatnonzero(seen).tolist()}


def normalize_program(value: str) -> str:
    """A ``program=`` filter value in the catalog's form: ``jw02000``, ``02000`` and
    ``2000`` are ``"2000"`` (the accounts' rule); anything else matches nothing."""
    text = value.strip().lower().removeprefix("jw")
    try:
        return normalize_proposal_id(text)
    except AccountError:
        return text


@dataclass(frozen=True)
class SpectraView:
    """The catalog's current spectra (extraction matching the product's checksum),
    sorted by product_id, one array element per spectrum."""

    key: tuple[str, int]  # catalog generation it was loaded at
    segments: tuple  # pixel_segments rows (segment, productType, wavelength range), store order
    product_id: np.ndarray
    product_type: Category
    derSnr: np.ndarray  # NaN where undefined
    wavelength_min: np.ndarray
    wavelength_max: np.ndarray
    flux_min: np.ndarray
    flux_max: np.ndarray
    npix: np.ndarray
    segment: Category
    filename: np.ndarray  # object (str)
    proposal_id: np.ndarray  # object (str or None)
    release_mjd: np.ndarray  # effective release (admin override first), NaN: none
    obsid: np.ndarray
    instrument: Category  # upper case
    exp_type: Category
    target: Category
    #: keyword name (grating, filter) -> upper-cased JSON text of a value (as the
    #: SQL filter compares) -> product ids with that value in some HDU
    keyword_ids: dict[str, dict[str, np.ndarray]]
    #: DJA's msaexp spectra (negative ids; release_mjd is their program's release)
    community: np.ndarray | None = None
    ra: np.ndarray | None = None  # msaexp: the source's position (degrees); NaN else
    dec: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.community is None:
            object.__setattr__(self, "community", np.zeros(self.size, bool))
        for name in ("ra", "dec"):
            if getattr(self, name) is None:
                object.__setattr__(self, name, np.full(self.size, np.nan))

    @property
    def size(self) -> int:
        return int(self.product_id.size)

    def rows_of(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(row of each id, whether the id is a current spectrum)."""
        ids = np.asarray(ids, np.int64)
        rows = np.searchsorted(self.product_id, ids)
        inside = rows < self.size
        rows = np.where(inside, rows, 0)
        found = inside & (self.product_id[rows] == ids) if self.size else inside
        return rows, found

    def allowed(self, query: PixelQuery, user: User, obsids=None) -> np.ndarray:
        """Mask of the spectra ``user`` may see that pass the product type and
        the product filters (and lie in ``obsids``, a cone's observations)."""
        keep = self.product_type.isin(query.product_types)
        visible = visible_mask(user, self.proposal_id, self.release_mjd)
        if self.community.any():  # msaexp spectra: the community rule of their program
            visible = np.where(
                self.community,
                community_visible_mask(
                    msaexp_source.RIGHTS_COLLECTION,
                    user,
                    self.proposal_id,
                    self.release_mjd,
                    query.community,
                ),
                visible,
            )
        keep &= visible
        for name, values in query.filters.items():
            upper = [v.upper() for v in values]
            if name == "instrument":
                keep &= self.instrument.isin([v.split("/")[0] for v in upper])
            elif name == "exp_type":
                keep &= self.exp_type.isin(upper)
            elif name == "program":
                keep &= np.isin(self.proposal_id, [normalize_program(v) for v in values])
            elif name == "target":
                keep &= self.target.isin(upper)
            elif name in ("grating", "filter"):
                by_value = self.keyword_ids.get(name, {})
                wanted = [by_value[k] for k in (json.dumps(v) for v in upper) if k in by_value]
                keep &= np.isin(self.product_id, np.concatenate(wanted) if wanted else [])
            else:  # the syntax admits no other filter
                raise ValueError(f"no product filter {name!r}")
        if obsids is not None:
            inside = np.isin(self.obsid, np.asarray(list(obsids), np.int64))
            if query.position is not None and self.community.any():  # msaexp: the source
                cone = spaxel_predicates(*query.position)[-1]
                inside |= self.community & cone.cone_holds(self.ra, self.dec)
            keep &= inside
        return keep

    def may_match(self, predicates: list[Predicate]) -> np.ndarray:
        """Zone maps: spectra whose ranges can satisfy every predicate (derSnr exactly)."""
        keep = np.ones(self.size, bool)
        ranges = {
            "wavelength": (self.wavelength_min, self.wavelength_max),
            "flux": (self.flux_min, self.flux_max),
        }
        with np.errstate(invalid="ignore"):
            for p in predicates:
                if p.column == "derSnr":
                    keep &= p.holds(self.derSnr)
                elif p.column in ranges:
                    low, high = ranges[p.column]
                    if p.op in (">", ">="):
                        keep &= high >= p.value
                    elif p.op in ("<", "<="):
                        keep &= low <= p.value
                    elif p.op == "=":
                        keep &= (low <= p.value) & (high >= p.value)
        return keep


def _characteristics() -> tuple:
    """The leading columns of a view row, the same for archive and msaexp spectra."""
    c = spectral_characteristics.c
    return (c.product_id, c.productType, c.derSnr, c.wavelength_min, c.wavelength_max,
            c.flux_min, c.flux_max, c.npix, c.segment)  # fmt: skip


def _load(engine: Engine, key: tuple[str, int]) -> SpectraView:
    c = spectral_characteristics.c
    p = products.c
    release = func.coalesce(programs.c.release_override_mjd, p.publicReleaseDate_mjd)
    statement = (
        select(
            *_characteristics(),
            p.filename,
            p.proposal_id,
            release,
            p.obsid,
            func.upper(p.instrument),
            func.upper(p.exp_type),
            func.upper(observations.c.target_name),
        )
        .select_from(
            spectral_characteristics.join(
                products, and_(p.product_id == c.product_id, p.checksum == c.checksum)
            )
            .outerjoin(programs, programs.c.proposal_id == p.proposal_id)
            .outerjoin(observations, observations.c.obsid == p.obsid)
        )
        .order_by(c.product_id)
    )
    words = select(keywords.c.product_id, keywords.c.name, func.upper(keywords.c.value)).where(
        keywords.c.name.in_(["grating", "filter"]),
        keywords.c.product_id.in_(select(c.product_id)),
    )
    # One snapshot: spectra and segments agree. PostgreSQL's default (READ COMMITTED)
    # gives each statement its own, so a compaction committing between the two reads
    # left spectra pointing at a segment missing from the list (test_growth, rarely).
    snapshot = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**snapshot) as conn, conn.begin():
        segments = tuple(
            conn.execute(
                select(
                    pixel_segments.c.segment,
                    pixel_segments.c.productType,
                    pixel_segments.c.wavelength_min,
                    pixel_segments.c.wavelength_max,
                ).order_by(pixel_segments.c.seq)
            ).all()
        )
        rows = _raw(conn, statement)  # DB-API tuples: Row objects double the load time
        found: dict[str, dict[str, list[int]]] = {"grating": {}, "filter": {}}
        for pid, name, value in _raw(conn, words):
            found[name].setdefault(value, []).append(pid)
        community = _community_rows(conn)
    for pid, grating, _ra, _dec in community.extra:
        for name, value in zip(
            ("grating", "filter"), msaexp_source.grating_filter(grating), strict=True
        ):
            if value is not None:
                found[name].setdefault(json.dumps(value), []).append(pid)
    rows = community.rows + rows  # negative ids first: still sorted by product_id
    columns = list(zip(*rows, strict=True)) if rows else [()] * 16
    n_community = len(community.rows)
    position = np.full((2, len(rows)), np.nan)
    if n_community:
        position[:, :n_community] = np.asarray(
            [[np.nan if v is None else v for v in r[2:]] for r in community.extra], np.float64
        ).T

    def floats(k: int) -> np.ndarray:
        return np.asarray(columns[k], np.float64)  # None becomes NaN

    ids = np.asarray(columns[0], np.int64)
    return SpectraView(
        key=key,
        segments=segments,
        product_id=ids,
        product_type=Category.of(list(columns[1])),
        derSnr=floats(2),
        wavelength_min=floats(3),
        wavelength_max=floats(4),
        flux_min=floats(5),
        flux_max=floats(6),
        npix=np.asarray(columns[7], np.int64),
        segment=Category.of(list(columns[8])),
        filename=np.asarray(columns[9], dtype=object),
        proposal_id=np.asarray(columns[10], dtype=object),
        release_mjd=floats(11),
        obsid=np.asarray([-1 if v is None else v for v in columns[12]], np.int64),
        instrument=Category.of(list(columns[13])),
        exp_type=Category.of(list(columns[14])),
        target=Category.of(list(columns[15])),
        keyword_ids={
            name: {value: np.unique(np.asarray(pids, np.int64)) for value, pids in by.items()}
            for name, by in found.items()
        },
        community=np.arange(len(rows)) < n_community,
        ra=position[0],
        dec=position[1],
    )


@dataclass
class _Community:
    rows: list[tuple]  # in the columns of the products' statement
    extra: list[tuple]  # (product_id, grating, ra, dec)


def _community_rows(conn) -> _Community:
    """DJA's msaexp spectra whose pixels are current (stored checksum = the file's
    mtime now catalogued), as rows of the products' statement: instrument NIRSPEC,
    exp_type NRS_MSASPEC, no observation or target; release: their program's."""
    if not inspect(conn).has_table(msaexp_source.extractions.name):
        return _Community([], [])
    c = spectral_characteristics.c
    e = msaexp_source.extractions.c
    statement = (
        select(
            *_characteristics(),
            e.file,
            e.proposal_id,
            program_release_expr(e.proposal_id),
            c.checksum,
            e.ctime,
            e.grating,
            e.ra,
            e.dec,
        )  # fmt: skip
        .select_from(
            spectral_characteristics.join(
                msaexp_source.extractions, e.extraction_id == -c.product_id
            )
        )
        .where(c.productType == msaexp_source.PRODUCT_TYPE)
        .order_by(c.product_id)
    )
    rows, extra = [], []
    for r in _raw(conn, statement):
        if r[12] != msaexp_source.checksum(r[13]):
            continue  # re-read since: its pixels are replaced at the next update
        fixed = (msaexp_source.INSTRUMENT, msaexp_source.EXP_TYPE, None)
        rows.append((*r[:12], None, *fixed))
        extra.append((r[0], r[14], r[15], r[16]))
    return _Community(rows, extra)


def _raw(conn, statement) -> list[tuple]:
    result = conn.execute(statement)
    try:
        return result.cursor.fetchall()
    finally:
        result.close()


_lock = threading.Lock()
_views: dict[str, SpectraView] = {}


def view(engine: Engine) -> SpectraView:
    """The spectra of the catalog behind ``engine``, as of now."""
    name = engine.url.render_as_string(hide_password=False)
    with engine.connect() as conn:
        key = generation.current(conn)
    held = _views.get(name)
    if held is not None and held.key == key:
        return held
    with _lock:
        held = _views.get(name)
        if held is None or held.key != key:
            held = _views[name] = _load(engine, key)
        return held
