"""The board with voting models builds only the technical panels its members read and trades exactly as with all.

Tiny registered lstm, gru and ppo (conftest: trained before 2011, stamped passing the gate so they vote) beside
the trend member, on real bundled bars: the models read their own namespaced pipeline panels, the trend member
its two averages, so the 20 other technical columns are not built, and the backtest (fills, equity, JSON) is
identical to the one that builds every column.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.data.store import Lake
from papertrader.engine import strategies
from papertrader.engine.panel import Panel
from papertrader.engine.runner import RunRequest, RunResult, run

BOARD_SYMBOLS = ("AAPL", "IBM", "MSFT")  # the symbols conftest trained the tiny models on
START, END = datetime(2011, 6, 1, tzinfo=UTC), datetime(2012, 6, 1, tzinfo=UTC)


def _summary(result: RunResult) -> str:
    data: dict[str, Any] = result.to_json()
    data.pop("run_id", None)
    data.pop("cycle_latency", None)
    return json.dumps(data, sort_keys=True).replace(result.run_id, "RUN")


@pytest.mark.slow
def test_the_board_with_models_builds_the_trend_averages_only_and_trades_as_with_every_column(
    voting_board_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(
        home=voting_board_home,
        strategy=StrategySettings(name="ensemble"),
        board=BoardSettings(members=("lstm", "gru", "ppo", "trend"), calibration_bars=120),
    )
    bars = Lake(voting_board_home / "lake").read_bars(list(BOARD_SYMBOLS), "1d", end=END)
    panel = Panel.from_long(bars, "1d")
    first = int(panel.ts.searchsorted(START))
    built = strategies.build(settings, panel, first)
    technical = set(strategies.technical_spec(settings).names())
    assert set(built.features) & technical == {"sma_20", "sma_50"}
    assert set(built.strategy.required_features()) <= set(built.features)
    assert any(name.startswith("lstm:") for name in built.features)

    request = RunRequest(symbols=BOARD_SYMBOLS, start=START, end=END)
    lean = run(settings, request)
    with monkeypatch.context() as mp:
        mp.setattr(strategies, "technical_columns", lambda _spec, _readers: None)
        full = run(settings, request)
    assert _summary(lean) == _summary(full)
    assert np.array_equal(lean.equity, full.equity) and lean.final_equity == full.final_equity
    assert lean.fills, "the board traded in the window"
