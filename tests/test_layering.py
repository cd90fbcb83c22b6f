"""Domain packages never import the web layer (``api/``) or the command line."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "webbarchive"
WEB = ("webbarchive.api", "webbarchive.cli")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


DOMAIN = sorted(
    p
    for p in PACKAGE.rglob("*.py")
    if p.relative_to(PACKAGE).parts[0] not in ("api", "cli.py", "__main__.py")
)


@pytest.mark.parametrize("path", DOMAIN, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_domain_module_does_not_import_the_web_layer(path):
    web = sorted(m for m in _imports(path) if m == WEB[1] or m.startswith(WEB))
    assert not web, f"{path.relative_to(PACKAGE)} imports {web}"


def test_the_check_sees_the_web_layer():
    assert any(m.startswith("webbarchive.api") for m in _imports(PACKAGE / "api" / "app.py"))


#: Packages under webbarchive/ (capabilities, services, the web layer); the
#: single-module helpers beside them (config, errors, sphere, times ...) and the
#: registry of capabilities are the ground the catalog may stand on.
PACKAGES = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
ABOVE_CATALOG = tuple(f"webbarchive.{name}" for name in PACKAGES if name != "catalog")
CATALOG = sorted((PACKAGE / "catalog").rglob("*.py"))


@pytest.mark.parametrize("path", CATALOG, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_catalog_imports_nothing_above_it(path):
    """The ground floor knows the capabilities only through webbarchive.capabilities."""
    above = sorted(
        m
        for m in _imports(path)
        if any(m == name or m.startswith(name + ".") for name in ABOVE_CATALOG)
    )
    assert not above, f"{path.relative_to(PACKAGE)} imports {above}"


def test_the_catalog_check_sees_the_packages_above():
    assert {"webbarchive.pixels", "webbarchive.dja", "webbarchive.ingest"} <= set(ABOVE_CATALOG)
    assert "webbarchive.catalog" not in ABOVE_CATALOG


def test_registry_names_modules_that_bring_tables_and_steps():
    """Each capability's tables module defines tables on the catalog's MetaData,
    and its post-ingest module has ``update`` (and ``claims`` where it claims files)."""
    import importlib

    from webbarchive.capabilities import CAPABILITIES, register_tables
    from webbarchive.catalog.schema import metadata

    register_tables()
    for capability in CAPABILITIES:
        module = importlib.import_module(capability.tables)
        own = [t for t in vars(module).values() if getattr(t, "metadata", None) is metadata]
        assert own, f"{capability.tables} defines no catalog table"
        assert all(t.name in metadata.tables for t in own)
        step = capability.step()
        assert callable(step.update), capability.post_ingest
        assert callable(getattr(step, "claims", None)) == capability.claims_files, capability.name
