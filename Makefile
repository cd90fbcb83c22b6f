# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR ?= demo-archive
PORT ?= 8000

.PHONY: env demo test test-data lint system bench clean node screenshots

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

test: env system node lint
	$(BIN)/pytest -q

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
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache node_modules screenshots
