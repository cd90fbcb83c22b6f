"""The JWST keyword dictionary (``info/keywords``), built from the schemas that
stdatamodels installs.

MAST answers ``info/keywords`` from its JWST Keyword Dictionary, a set of JSON
schema files (``science.observation.schema.json``, ``all.dither.schema.json``
...) that are not published as a package. stdatamodels carries the same
keywords in its data model schemas (``fits_keyword``, ``title``, ``type``,
``fits_hdu``, ``default``, ``enum``), so the dictionary is derived from those.

Which schemas: every schema file reachable through ``$ref`` from the schema
of a science data model of :mod:`stdatamodels.jwst.datamodels` (every
``JwstDataModel`` that is not a ``ReferenceFileModel``). CRDS reference-file
headers (``referencefile.schema``, ``keyword_*.schema``) are not science
keywords and are left out, as in MAST's dictionary.

Group names (the top-level keys), derived from the stdatamodels schema file
and the section of the model the keyword sits in::

    core.schema.yaml,  meta.observation.bkgdtarg  -> "core.observation.schema.json"
    core.schema.yaml,  meta.dither.total_points    -> "core.dither.schema.json"
    wcsinfo.schema.yaml, meta.wcsinfo.crval1       -> "wcsinfo.wcsinfo.schema.json"
    core.schema.yaml,  meta.date (no section)      -> "core.schema.json"
    specmeta.schema.yaml, name (extension level)   -> "specmeta.schema.json"

i.e. ``<schema file stem>.<section attribute>.schema.json``, which keeps
MAST's ``<set>.<section>.schema.json`` form (MAST's set names, ``science``,
``all``, ``core``, ``guider``, come from its private dictionary and cannot be
derived: BKGDTARG is ``science.observation.schema.json`` there and
``core.observation.schema.json`` here). Entries are keyed by the model
attribute below the section (``bkgdtarg``, ``total_points``; a deeper path is
dotted, ``ref_file.flat.name`` -> ``flat.name`` in ``core.ref_file``).

Entry fields are MAST's; the ones stdatamodels does not know are ``""`` (as
MAST writes unknown fields) and ``destination`` is ``[]``:

- ``fits_keyword``, ``title``, ``type``: from the schema (``type`` of an
  ``anyOf`` is its members' types joined with ``|``);
- ``description``: the schema's ``description`` when it has one, else its
  ``title`` (stdatamodels schemas carry a title only);
- ``units``: the ``[unit]`` prefix of the title (``"[deg] RA of ..."`` -> ``deg``);
- ``default_value``: the schema ``default`` as text;
- ``fits_hdu``: the schema's, ``"PRIMARY"`` when it gives none (the
  datamodels' own rule);
- ``section``: the title of the section object (``"Observation identifiers"``);
- ``misc``: the allowed values when the schema lists an ``enum``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml

SCHEMA_URL_PREFIX = "http://stsci.edu/schemas/jwst_datamodel/"
FIELDS = (
    "fits_keyword",
    "title",
    "description",
    "type",
    "units",
    "example",
    "default_value",
    "source",
    "sw_source",
    "calculation",
    "destination",
    "sql_dtype",
    "si",
    "mode",
    "level",
    "fits_hdu",
    "section",
    "misc",
)
_UNITS_PREFIX = re.compile(r"^\s*\[([^\]]+)\]")

KeywordDictionary = dict[str, dict[str, dict[str, Any]]]


def schema_dir() -> Path:
    """The folder of the JWST data model schemas installed by stdatamodels."""
    import stdatamodels.jwst.datamodels as datamodels

    return Path(datamodels.__file__).parent / "schemas"


def _science_schema_names() -> list[str]:
    """Schema file stems of the science data models (not reference files)."""
    import stdatamodels.jwst.datamodels as datamodels
    from stdatamodels.jwst.datamodels import JwstDataModel, ReferenceFileModel

    names = set()
    for attr in datamodels.__all__:
        model = getattr(datamodels, attr, None)
        if not (inspect.isclass(model) and issubclass(model, JwstDataModel)):
            continue
        if issubclass(model, ReferenceFileModel):
            continue
        url = getattr(model, "schema_url", None) or ""
        if url.startswith(SCHEMA_URL_PREFIX):
            names.add(url[len(SCHEMA_URL_PREFIX) :].removesuffix(".schema"))
    return sorted(names)


def _load(stem: str) -> dict[str, Any]:
    path = schema_dir() / f"{stem}.schema.yaml"
    with path.open() as handle:
        return yaml.safe_load(handle) or {}


def _refs(node: Any) -> Iterator[str]:
    """Stems of the jwst_datamodel schemas ``node`` refers to with ``$ref``."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            target = ref.split("#", 1)[0].removeprefix(SCHEMA_URL_PREFIX)
            if target.endswith(".schema") and "/" not in target:
                yield target.removesuffix(".schema")
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable_schemas() -> dict[str, dict[str, Any]]:
    """Every schema reachable from a science model, stem -> parsed YAML, in
    discovery order starting with the models' own schemas sorted by name."""
    found: dict[str, dict[str, Any]] = {}
    pending = _science_schema_names()
    while pending:
        stem = pending.pop(0)
        if stem in found or not (schema_dir() / f"{stem}.schema.yaml").is_file():
            continue
        found[stem] = _load(stem)
        pending.extend(ref for ref in _refs(found[stem]) if ref not in found)
    return found


def _walk(node: Any, path: tuple[str, ...], titles: dict[tuple[str, ...], str]):
    """Yield (attribute path, schema node) of every node with a fits_keyword.

    ``titles`` collects the title of every object on the way (section names).
    """
    if isinstance(node, list):
        for item in node:
            yield from _walk(item, path, titles)
        return
    if not isinstance(node, dict):
        return
    if "fits_keyword" in node:
        yield path, node
    if isinstance(node.get("title"), str) and path not in titles:
        titles[path] = node["title"]
    for key, value in (node.get("properties") or {}).items():
        yield from _walk(value, (*path, key), titles)
    for combinator in ("allOf", "anyOf", "oneOf"):
        if combinator in node:
            yield from _walk(node[combinator], path, titles)
    if "items" in node:
        yield from _walk(node["items"], path, titles)


def _type(node: dict[str, Any]) -> str:
    kind = node.get("type")
    if isinstance(kind, str):
        return kind
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    members = [m.get("type") for m in node.get("anyOf", []) if isinstance(m, dict)]
    members = [m for m in members if isinstance(m, str)]
    if members:
        return "|".join(dict.fromkeys(members))
    enum = node.get("enum")
    if enum and all(isinstance(v, str) for v in enum):
        return "string"
    return ""


def _enum(node: dict[str, Any]) -> list[Any]:
    values = list(node.get("enum") or [])
    for member in node.get("anyOf", []):
        if isinstance(member, dict):
            values.extend(member.get("enum") or [])
    return list(dict.fromkeys(values))


def _entry(node: dict[str, Any], section: str) -> dict[str, Any]:
    title = str(node.get("title") or "")
    units = _UNITS_PREFIX.match(title)
    default = node.get("default")
    enum = _enum(node)
    entry = dict.fromkeys(FIELDS, "")
    entry.update(
        fits_keyword=str(node["fits_keyword"]),
        title=title,
        description=str(node.get("description") or title),
        type=_type(node),
        units=units.group(1).strip() if units else "",
        default_value="" if default is None else str(default),
        destination=[],
        fits_hdu=str(node.get("fits_hdu") or "PRIMARY"),
        section=section,
        misc=("allowed values: " + ", ".join(str(v) for v in enum)) if enum else "",
    )
    return entry


def _group(stem: str, path: tuple[str, ...], titles: dict) -> tuple[str, str, str]:
    """(group name, entry key, section title) of a keyword at ``path``."""
    if len(path) >= 3 and path[0] == "meta":
        section = path[1]
        return (
            f"{stem}.{section}.schema.json",
            ".".join(path[2:]),
            titles.get(path[:2], section),
        )
    key = ".".join(path[1:] if path[0] == "meta" and len(path) > 1 else path)
    return f"{stem}.schema.json", key, titles.get((), "")


@cache
def keyword_dictionary() -> KeywordDictionary:
    """The whole dictionary, group -> attribute -> entry. Built once per process."""
    result: KeywordDictionary = {}
    for stem, schema in _reachable_schemas().items():
        titles: dict[tuple[str, ...], str] = {}
        for path, node in _walk(schema, (), titles):
            if not path:
                continue
            group, key, section = _group(stem, path, titles)
            result.setdefault(group, {}).setdefault(key, _entry(node, section))
    # core first (the keywords of every product), then by name: a stable order.
    return {group: result[group] for group in sorted(result, key=_group_order)}


def _group_order(group: str) -> tuple[bool, str]:
    return (not group.startswith("core."), group)


@cache
def _by_keyword() -> dict[str, KeywordDictionary]:
    index: dict[str, KeywordDictionary] = {}
    for group, entries in keyword_dictionary().items():
        for key, entry in entries.items():
            found = index.setdefault(entry["fits_keyword"].upper(), {})
            found.setdefault(group, {})[key] = entry
    return index


def lookup(fits_keyword: str) -> KeywordDictionary | None:
    """The entries of one FITS keyword (case-insensitive), grouped as the whole
    dictionary, or None when no schema defines it."""
    return _by_keyword().get(fits_keyword.strip().upper())
