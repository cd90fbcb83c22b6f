"""The real test files: the manifest, the download, and the skips without them.

A fresh clone has no ../shared beside it: every test that needs the real files
must then skip with a reason that says how to get them, never fail or skip
silently.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import real_files

TESTS = Path(__file__).resolve().parent
FIXTURES = {"real_dir", "mast_doc_examples", "seeds_dir"}


def _fetch_module():
    path = real_files.REPO / "scripts" / "fetch_test_data.py"
    spec = importlib.util.spec_from_file_location("fetch_test_data", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_manifest_matches_the_real_files(real_dir):
    """Sizes and md5 of the manifest are those of the files the suite reads."""
    entries = real_files.manifest()
    assert len(entries) == len({e.path for e in entries})
    for entry in entries:
        if not entry.url:
            continue
        data = (real_dir / entry.path).read_bytes()
        assert (len(data), hashlib.md5(data).hexdigest()) == (entry.size, entry.md5), entry.path


def test_manifest_urls_are_pinned():
    """Every download is a public URL of fixed bytes: a raw GitHub URL at a full commit."""
    pinned = re.compile(r"^https://raw\.githubusercontent\.com/[^/]+/[^/]+/[0-9a-f]{40}/\S+$")
    for entry in real_files.downloadable():
        assert pinned.match(entry.url), entry.url
    assert {e.path for e in real_files.manifest() if not e.url} == {
        str(real_files.DOC_EXAMPLES / name)
        for name in (
            "README.md",
            "info_keywords_all__EXCERPT.json",
            "info_keywords_name_BKGDTARG.json",
            "info_mnemonics_name_so_zfxposns.json",
            "keywords_search_jw01039-o004_t001_miri_ch3-long_x1d.json",
            "parameters_jw01039-o004_t001_miri_ch3-long_x1d.json",
            "products_jw01039-o004_t001_miri_ch3-long_x1d_level3.json",
        )
    }


def test_real_file_access_goes_through_the_skipping_fixtures():
    """Only the conftest files and tests/real_files.py know where the real files
    live; tests reach them through the fixtures, which skip with the reason."""
    for path in TESTS.rglob("*.py"):
        if path.name in ("conftest.py", "real_files.py", "test_real_files.py"):
            continue
        tree = ast.parse(path.read_text())
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        assert not names & {"REAL", "SHARED"}, path
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and id(node) not in docstrings:
                text = str(node.value)
                assert "data/real" not in text and "shared/" not in text, path
            if isinstance(node, ast.FunctionDef):
                assert node.name not in FIXTURES, f"{path}: redefines fixture {node.name}"


#: Modules that read the real files, MAST's examples or the seeds, quick to run.
SAMPLE = [
    "tests/catalog/test_sky.py",
    "tests/catalog/test_keyword_dictionary.py",
    "tests/dja/spectra/test_geometry.py",
    "tests/dja/imaging/test_queries.py",
    "tests/ingest/test_ingest_headers.py",
    "tests/pixels/test_extract.py",
    "tests/mast/test_mashup_protocol.py",
]


def test_without_the_real_files_tests_skip_saying_how_to_get_them(tmp_path):
    env = {
        **os.environ,
        "WEBBARCHIVE_SHARED": str(tmp_path / "no-shared"),
        "WEBBARCHIVE_TEST_DATA": str(tmp_path / "no-download"),
        "PYTHONPATH": os.pathsep.join([str(real_files.REPO / "src"), str(real_files.REPO)]),
    }
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *SAMPLE],
        cwd=real_files.REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    skips = [line for line in run.stdout.splitlines() if line.startswith("SKIPPED")]
    assert skips, run.stdout[-3000:]
    for line in skips:
        assert "make test-data" in line or "come only with ../shared" in line, line
    assert any("make test-data" in line for line in skips)


def test_fetch_verifies_and_keeps_nothing_wrong(tmp_path):
    fetch = _fetch_module()
    source = tmp_path / "source.fits"
    source.write_bytes(b"SIMPLE  =                    T" + bytes(2850))
    good = real_files.Entry(
        "spectra/a.fits",
        source.stat().st_size,
        hashlib.md5(source.read_bytes()).hexdigest(),
        source.as_uri(),
        "test",
    )
    dest = tmp_path / "real"
    fetch.fetch(good, dest)
    assert (dest / good.path).read_bytes() == source.read_bytes()

    bad = real_files.Entry("spectra/b.fits", good.size, "0" * 32, good.url, "test")
    with pytest.raises(fetch.Mismatch, match="expected"):
        fetch.fetch(bad, dest)
    assert sorted(p.name for p in (dest / "spectra").iterdir()) == ["a.fits"]


def test_fetch_reports_each_failure(tmp_path, monkeypatch, capsys):
    fetch = _fetch_module()
    source = tmp_path / "x.csv"
    source.write_text("a,b\n1,2\n")
    ok = real_files.Entry(
        "dja/x.csv", 8, hashlib.md5(b"a,b\n1,2\n").hexdigest(), source.as_uri(), "t"
    )
    unreachable = real_files.Entry("dja/y.csv", 8, ok.md5, "http://127.0.0.1:9/y.csv", "t")
    monkeypatch.setattr(fetch.real_files, "downloadable", lambda: [ok, unreachable])
    monkeypatch.setattr(fetch.real_files, "real_dir", lambda: None)
    dest = tmp_path / "real"
    assert fetch.run(dest, timeout_s=5) == 1
    out, err = capsys.readouterr()
    assert "1 fetched, 0 already in place, 1 failed" in out
    assert "dja/y.csv: could not download http://127.0.0.1:9/y.csv" in err
    assert "make test-data" in err
    assert (dest / "dja/x.csv").read_text() == "a,b\n1,2\n"
    assert not (dest / "dja/y.csv").exists()
    assert fetch.run(dest, timeout_s=5) == 1  # the good file is kept, not fetched again
    assert "0 fetched, 1 already in place, 1 failed" in capsys.readouterr().out
