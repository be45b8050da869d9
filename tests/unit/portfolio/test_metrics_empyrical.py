"""portfolio/metrics.py against empyrical-reloaded (a dev-only dependency) on real bundled daily closes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papertrader.data.adapters.bundled import BundledSource
from papertrader.portfolio import metrics

empyrical = pytest.importorskip("empyrical")

SYMBOLS = ("AAPL", "GOOG", "IBM", "MSFT")


@pytest.fixture(scope="module")
def closes() -> dict[str, np.ndarray]:
    """Split- and dividend-adjusted daily closes from the bundled bokeh sample data (real prices)."""
    bars = next(BundledSource(SYMBOLS).bars())[1]
    return {s: g["close"].to_numpy(dtype=np.float64) for s, g in bars.groupby("symbol")}


@pytest.mark.parametrize("symbol", SYMBOLS)
def test_sharpe_sortino_drawdown_annual_return_and_volatility_agree_with_empyrical(
    closes: dict[str, np.ndarray], symbol: str
) -> None:
    equity = 10_000.0 * closes[symbol] / closes[symbol][0]  # buy and hold the stock from its first bar
    rets = metrics.returns(equity)
    assert rets.size > 1_000
    r = pd.Series(rets)
    summary = metrics.summarize(equity, np.zeros_like(equity), [], 252.0)
    assert summary.sharpe == pytest.approx(empyrical.sharpe_ratio(r, annualization=252), rel=1e-12)
    assert summary.sortino == pytest.approx(empyrical.sortino_ratio(r, annualization=252), rel=1e-12)
    assert summary.max_drawdown == pytest.approx(empyrical.max_drawdown(r), rel=1e-12)
    assert summary.cagr == pytest.approx(empyrical.annual_return(r, annualization=252), rel=1e-12)
    assert summary.volatility == pytest.approx(empyrical.annual_volatility(r, annualization=252), rel=1e-12)
    assert summary.total_return == pytest.approx(empyrical.cum_returns_final(r), rel=1e-12)
