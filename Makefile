VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM := $(shell command -v npm 2>/dev/null)
WEB_STAMP := web/node_modules/.installed

.PHONY: run test test-slow lint install clean bench web test-web

# A cold install fills .venv with about 2.3 GB (torch, ray, lightgbm, scikit-learn, statsmodels, arch, TA-Lib,
# fastapi/uvicorn, the dev tools): it took 5 minutes on a busy 2-core machine. pip prints each package as it goes;
# later runs skip this step (the stamp is newer than pyproject.toml).
$(STAMP): pyproject.toml
	@echo "==> installing papertrader and its dependencies into $(VENV): torch, ray, lightgbm, scikit-learn, ..."
	@echo "==> about 2.3 GB; a cold install takes about 5 minutes on 2 cores (once: later runs skip it)"
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install --progress-bar off -e '.[dev]'
	touch $(STAMP)
	@echo "==> installed: $$(du -sh $(VENV) | cut -f1) in $(VENV)"

install: $(STAMP)

run: $(STAMP) web
	@echo "==> papertrader demo: bundled data, tiny models, the 2009-2013 replay (about 1 min idle, 3 min on a busy 2-core machine)"
	$(VENV)/bin/papertrader demo

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy

# pytest's exit code 5 means "no tests collected" (e.g. every test of a marker deselected): not a failure.
test: lint web
	$(VENV)/bin/pytest -m "not slow" || [ $$? -eq 5 ]
	$(MAKE) test-web

# The slow-marked integration tests (board resume, live retrain/fallback/kill, demo, trial, compare, Ray folds).
# CI (.ci/run) runs `make test` and then this.
test-slow: $(STAMP)
	$(VENV)/bin/pytest -m slow || [ $$? -eq 5 ]

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

# Each benchmark prints a table beside its alternative and writes JSON under benchmarks/results/.
# bench_all.py is issue #9's comparison (engine vs backtesting.py/backtrader, 200-symbol universe, live-cycle
# latency, features/models throughput, scaling): one table and benchmarks/results/bench_all.json.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install -q -e '.[dev,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(PY) benchmarks/bench_all.py
	$(PY) benchmarks/engine_throughput.py
	$(PY) benchmarks/fill_calibration.py
	@if [ -f benchmarks/data_budget.py ]; then $(PY) benchmarks/data_budget.py || exit 1; fi
