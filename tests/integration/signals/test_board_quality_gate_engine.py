"""On bundled real bars, the board built from tiny registered models that fail the quality gate trades exactly
as a board of the trend member alone, and says why each model is left out (the session's `board_home`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.data import Lake
from papertrader.engine import strategies as factory
from papertrader.engine.runner import RunRequest, load_panel, run
from papertrader.signals.ensemble import Ensemble

SYMBOLS = ("AAPL", "IBM", "MSFT")
START, END = datetime(2011, 6, 1, tzinfo=UTC), datetime(2012, 6, 1, tzinfo=UTC)


def _settings(home: Path, members: tuple[str, ...]) -> Settings:
    board = BoardSettings(calibration_bars=120, members=members)  # type: ignore[arg-type]
    return Settings(home=home, strategy=StrategySettings(name="ensemble"), board=board)


@pytest.mark.slow
def test_a_board_whose_models_all_fail_the_gate_trades_as_the_trend_member_alone(board_home: Path) -> None:
    full = _settings(board_home, ("lstm", "gru", "ppo", "trend"))
    panel, first = load_panel(Lake(full.lake_dir), RunRequest(SYMBOLS, "1d", START, END))
    built = factory.build(full, panel, first, Lake(full.lake_dir))
    assert isinstance(built.strategy, Ensemble)
    assert set(built.left_out) == {"lstm", "gru", "ppo"} == set(built.strategy.left_out)
    assert all(note.startswith(f"{m}: left out, ") for m, note in built.left_out.items())
    assert built.voting_manifests == {}
    built.strategy.close()

    with_models = run(full, RunRequest(SYMBOLS, "1d", START, END, run_id="gated"), persist=False)
    trend_only = run(_settings(board_home, ("trend",)), RunRequest(SYMBOLS, "1d", START, END), persist=False)
    assert with_models.equity.tolist() == trend_only.equity.tolist()
    assert with_models.final_equity == trend_only.final_equity
    assert len(with_models.fills) == len(trend_only.fills) > 0
