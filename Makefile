# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-archive
PORT ?= 8000

.PHONY: env demo test test-data lint system bench clean node screenshots venv-jwst

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

# Debian packages of the test suite: PostgreSQL 15 + pgsphere, STILTS, chromium, npm.
system:
	bash scripts/install-system.sh

# The portal's browser libraries (Plotly.js), pinned in package-lock.json.
node: node_modules/.installed

node_modules/.installed: package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

# 1280x800 PNGs of the portal's main pages, for a reviewer to look at.
screenshots: env system node
	$(BIN)/python scripts/screenshots.py screenshots

lint: env
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts

test: env system node lint venv-jwst
	$(BIN)/pytest -q

# The JWST pipeline's EDB client, for one test (tests/telemetry/test_jwst_engdb_client.py):
# jwst 3.0 needs asdf < 6 while the archive pins asdf 6, so it lives in its own venv.
JWST_VENV := .venv-jwst
venv-jwst: $(JWST_VENV)/.installed

# Optional: without network the venv is not built and that one test skips, saying why.
$(JWST_VENV)/.installed:
	( $(PYTHON) -m venv --clear $(JWST_VENV) && $(JWST_VENV)/bin/pip install --quiet jwst==3.0.0 \
	  && touch $@ ) || echo "warning: $(JWST_VENV) not built; the jwst EDB client test will skip"

# The real JWST files some tests need (about 25 MB, tests/data/manifest.csv), fetched
# with checksum verification into tests/data/real; ../shared/data/real, when present,
# is used first. Without them those tests skip and say so.
test-data:
	$(PYTHON) scripts/fetch_test_data.py

demo: env node
	$(BIN)/webbarchive demo $(DEMO_DIR) --port $(PORT)

bench: env
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(JWST_VENV) $(DEMO_DIR) .pytest_cache node_modules screenshots
