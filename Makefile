VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM := $(shell command -v npm 2>/dev/null)
WEB_STAMP := web/node_modules/.installed

.PHONY: run test test-slow test-pythons lint install clean bench web test-web lock wheel

# A cold install fills .venv with about 2.3 GB (torch, ray, lightgbm, scikit-learn, statsmodels, arch, TA-Lib,
# fastapi/uvicorn, the dev tools): it took 5 minutes on a busy 2-core machine. pip prints each package as it goes;
# later runs skip this step (the stamp is newer than pyproject.toml and requirements.lock).
# requirements.lock (constraints) pins every package, torch to its CPU build: without it pip would take a CUDA
# build of several GB for the torch range in pyproject.toml. Extras: dev (tools), demo (bundled data: make run),
# scale (Ray: --ray and the Ray tests).
EXTRAS := dev,demo,scale
$(STAMP): pyproject.toml requirements.lock
	@echo "==> installing papertrader[$(EXTRAS)] into $(VENV) with the pins of requirements.lock: torch (CPU), ray, ..."
	@echo "==> about 2.3 GB; a cold install takes about 5 minutes on 2 cores (once: later runs skip it)"
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install --progress-bar off -c requirements.lock -e '.[$(EXTRAS)]'
	touch $(STAMP)
	@echo "==> installed: $$(du -sh $(VENV) | cut -f1) in $(VENV)"

install: $(STAMP)

run: $(STAMP) web
	@echo "==> papertrader demo: bundled data, trains the four model families, the 2009-2013 replay (about 2 min on 2 cores)"
	$(VENV)/bin/papertrader demo

# lint-imports: the package layers ([tool.importlinter] in pyproject.toml: cli > api > engine > ... > core), 0 violations.
lint: $(STAMP)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-logo

# pytest's exit code 5 means "no tests collected" (e.g. every test of a marker deselected): not a failure.
test: lint web
	$(VENV)/bin/pytest -m "not slow" || [ $$? -eq 5 ]
	$(MAKE) test-web

# The slow-marked integration tests (board resume, live retrain/fallback/kill, demo, trial, compare, Ray folds).
# CI (.ci/run) runs `make test` and then this.
test-slow: $(STAMP)
	$(VENV)/bin/pytest -m slow || [ $$? -eq 5 ]

# The package on the machine's other CPythons (pyenv 3.12 and 3.13; PYTHONS="3.12 3.13" to choose), each in its own
# venv under .venvs/ without torch (its CPU wheel is on disk for 3.11 only; elsewhere pip would fetch a CUDA build of
# several GB): the torch-free tests (data, features, execution, risk, portfolio, persistence, API, CLI, trend
# backtests). A Python that is not installed is skipped with a message. .ci/test-pythons says what and why. Measured
# on 2 busy cores: a cold install downloads about 300 MB of wheels from PyPI and takes 2 to 4 minutes per Python (once:
# later runs reuse .venvs/ until pyproject.toml or requirements.lock change); the 1159 tests take about 3 minutes.
test-pythons:
	./.ci/test-pythons

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

# Re-pin requirements.lock from pyproject.toml (Linux x86_64, CPython 3.11, torch's CPU build from pip's find-links).
TORCH_CPU := torch==2.13.0+cpu
lock: $(STAMP)
	$(PY) -m pip install -q 'uv>=0.5'
	echo '$(TORCH_CPU)' > $(VENV)/torch-cpu.txt
	head -3 requirements.lock > $(VENV)/lock.header
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --extra demo --extra scale --python-version 3.11 \
		--python-platform x86_64-manylinux_2_28 --find-links /opt/wheels -c $(VENV)/torch-cpu.txt \
		--no-header --annotation-style line -o $(VENV)/lock.body
	cat $(VENV)/lock.header $(VENV)/lock.body > requirements.lock

# The release artifact: a wheel with the dashboard inside (setup.py's build hook runs npm when api/static is empty;
# PAPERTRADER_REQUIRE_DASHBOARD=1 makes a missing npm an error instead of a wheel without the dashboard).
wheel: $(STAMP)
	PAPERTRADER_REQUIRE_DASHBOARD=1 $(PY) -m pip wheel . --no-deps --no-build-isolation --wheel-dir dist

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
	$(PY) benchmarks/train_production.py
	@if [ -f benchmarks/data_budget.py ]; then $(PY) benchmarks/data_budget.py || exit 1; fi
