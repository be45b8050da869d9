"""With the 8% default, no backtest over real bars realises a drawdown of 8% or more.

The bundled lake (2000-2013, the dot-com crash) and the shared daily bars (1998-2021: 2008 and 2020,
split- and dividend-adjusted so a split is not a crash), for the trend baseline and a long-everything
strategy (buy and hold without stops, the hardest case). Without the budget and its intrabar guard the
same runs overshoot: the kill switch alone acts one bar late.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from drawdown_world import load_adjusted_daily, max_drawdown, run_drawdown

from papertrader.config.settings import RiskSettings, Settings
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled

SETS = {
    "bundled": ("AAPL", "FB", "GOOG", "IBM", "MSFT"),
    "shared-etfs": ("SPY", "QQQ", "IWM", "EEM"),
    "shared-stocks": ("AAPL", "GOOG", "IBM", "BAC", "AIG"),
}


@pytest.fixture(scope="module")
def bundled_bars(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    lake = Lake(Path(tmp_path_factory.mktemp("dd-lake")))
    import_bundled(lake)
    return lake.read_bars(list(SETS["bundled"]), "1d", None, None)


def _bars(name: str, bundled: pd.DataFrame) -> pd.DataFrame:
    if name == "bundled":
        return bundled
    return pd.concat([load_adjusted_daily(s) for s in SETS[name]], ignore_index=True)


def _risk(strategy: str, **extra: object) -> RiskSettings:
    # buy and hold carries no stops: an ATR stop would block a strategy that never says flat for good
    return RiskSettings(protective_stops=strategy != "hold", **extra)  # type: ignore[arg-type]


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["trend", "hold"])
@pytest.mark.parametrize("data", list(SETS))
def test_no_backtest_over_real_bars_reaches_the_8pct_drawdown(
    data: str, strategy: str, bundled_bars: pd.DataFrame
) -> None:
    _, events, equity = run_drawdown(_bars(data, bundled_bars), Settings(risk=_risk(strategy)), strategy)
    assert max_drawdown(equity) > -0.08
    assert not [e for e in events if e.kind == "risk.kill_switch"], "the last line never had to act"


@pytest.mark.slow
def test_without_the_budget_the_kill_switch_alone_overshoots(bundled_bars: pd.DataFrame) -> None:
    settings = Settings(risk=_risk("trend", drawdown_budget=False))
    _, events, equity = run_drawdown(bundled_bars, settings, "trend")
    assert max_drawdown(equity) < -0.08, "the reactive kill switch flattens a bar late, past its limit"
    assert [e for e in events if e.kind == "risk.kill_switch"]
