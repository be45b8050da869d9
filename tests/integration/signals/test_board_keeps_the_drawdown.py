"""The board, trading its out-of-sample window on bundled real bars, never realises the 8% drawdown."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.engine.runner import RunRequest, run

SYMBOLS = ("AAPL", "IBM", "MSFT")


@pytest.mark.slow
def test_an_ensemble_backtest_stays_inside_the_drawdown_limit(board_home: Path) -> None:
    settings = Settings(home=board_home, strategy=StrategySettings(name="ensemble"), board=BoardSettings())
    request = RunRequest(
        symbols=SYMBOLS,
        start=datetime(2011, 1, 3, tzinfo=UTC),
        end=datetime(2013, 3, 1, tzinfo=UTC),
        run_id="board-drawdown",
    )
    result = run(settings, request)
    equity = np.asarray(result.equity, dtype=float)
    assert (equity / np.maximum.accumulate(equity) - 1).min() > -settings.risk.max_drawdown
    assert not result.extra["halted"]
    assert result.fills, "the board traded"
