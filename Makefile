VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM := $(shell command -v npm 2>/dev/null)
WEB_STAMP := web/node_modules/.installed

.PHONY: run test lint install clean bench web test-web

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP) web
	$(VENV)/bin/papertrader demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

test: lint web
	$(VENV)/bin/pytest
	$(MAKE) test-web

# The dashboard (web/): built into src/papertrader/api/static, which the API serves at /. Skipped without Node.
ifneq ($(NPM),)
$(WEB_STAMP): web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund
	touch $@

web: $(WEB_STAMP)
	cd web && npm run build

test-web: $(WEB_STAMP)
	cd web && npm test
else
web test-web:
	@echo "npm not found: skipping $@ (the API then serves a page saying how to build the dashboard)"
endif

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench: $(STAMP)
	$(PY) benchmarks/engine_throughput.py
