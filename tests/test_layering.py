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
