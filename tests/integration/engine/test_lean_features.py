"""A backtest builds only the technical panels its strategy reads, and gives exactly what the full set gave.

Real bundled daily bars (AAPL, MSFT, IBM). Each run is made twice: as a backtest builds it (only the columns
the strategy names) and with `technical_columns` forced to None (every column of the spec, as before); the
JSON result, the equity curve and every fill must be identical. A plug-in without `reads_only_required()`
still sees every built-in panel.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.config.settings import Settings, StrategySettings
from papertrader.data.store import Lake
from papertrader.engine import strategies
from papertrader.engine.panel import Panel
from papertrader.engine.runner import RunRequest, RunResult, run

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "strategies"
SYMBOLS = ("AAPL", "MSFT", "IBM")
START, END = datetime(2006, 1, 1, tzinfo=UTC), datetime(2009, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("leanhome")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(path))
        result = CliRunner().invoke(app, ["data", "import", "--source", "bundled"])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def examples_on_path(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.syspath_prepend(str(EXAMPLES))
    yield
    sys.modules.pop("momentum", None)


def _summary(result: RunResult) -> str:
    """The --json result as the pinned runs compare it (run id and wall-clock latency taken out)."""
    data: dict[str, Any] = result.to_json()
    data.pop("run_id", None)
    data.pop("cycle_latency", None)
    return json.dumps(data, sort_keys=True).replace(result.run_id, "RUN")


def _lean_and_full(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> tuple[RunResult, RunResult]:
    """The same backtest as built (only the columns read) and with every technical column built."""
    request = RunRequest(symbols=SYMBOLS, start=START, end=END)
    lean = run(settings, request)
    with monkeypatch.context() as mp:
        mp.setattr(strategies, "technical_columns", lambda _spec, _readers: None)
        full = run(settings, request)
    return lean, full


def _assert_identical(lean: RunResult, full: RunResult) -> None:
    assert _summary(lean) == _summary(full)
    assert np.array_equal(lean.equity, full.equity)
    assert lean.final_equity == full.final_equity
    assert [(f.symbol, f.side, f.qty, f.price, f.fee, f.ts) for f in lean.fills] == [
        (f.symbol, f.side, f.qty, f.price, f.fee, f.ts) for f in full.fills
    ]
    assert lean.fills, "the window traded"


def _built(settings: Settings, home: Path) -> strategies.Built:
    bars = Lake(home / "lake").read_bars(list(SYMBOLS), "1d")
    return strategies.build(settings, Panel.from_long(bars, "1d"), 0)


def test_the_trend_backtest_builds_its_two_averages_only_and_equals_the_full_set(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(home=home)
    assert set(_built(settings, home).features) == {"sma_20", "sma_50"}
    _assert_identical(*_lean_and_full(settings, monkeypatch))


def test_a_plugin_that_says_it_reads_only_what_it_names_gets_just_those(
    home: Path, monkeypatch: pytest.MonkeyPatch, examples_on_path: None
) -> None:
    settings = Settings(home=home, strategy=StrategySettings(name="momentum:Momentum"))
    assert set(_built(settings, home).features) == {"close", "volume", "sma_50", "momentum_60"}
    _assert_identical(*_lean_and_full(settings, monkeypatch))


def test_a_plugin_without_the_hook_still_sees_every_built_in_panel(
    home: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "peeks.py").write_text(
        "import numpy as np\n"
        "from papertrader import Decision\n"
        "class Peeks:\n"
        "    def __init__(self, symbols):\n"
        "        self.n = len(symbols)\n"
        "    def required_features(self):\n"
        "        return ('close',)\n"
        "    def decide(self, ts, view):\n"
        "        rsi = view.now('rsi_14')  # read without being named: allowed for a plug-in without the hook\n"
        "        w = np.where(rsi < 40, 1.0 / self.n, 0.0)\n"
        "        return Decision(w, np.ones(self.n), lambda i: 'rsi')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        settings = Settings(home=home, strategy=StrategySettings(name="peeks:Peeks"))
        features = _built(settings, home).features
        assert set(strategies.technical_spec(settings).names()) <= set(features)
        _assert_identical(*_lean_and_full(settings, monkeypatch))
    finally:
        sys.modules.pop("peeks", None)
