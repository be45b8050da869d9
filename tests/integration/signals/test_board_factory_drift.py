"""The factory fits each model member's drift reference before the first traded cycle: rows from the traded
window never shape it (bundled real bars, the session's tiny registered models, stamped to vote: a left-out
member has no drift reference)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from papertrader.config.board import BoardSettings
from papertrader.config.settings import Settings, StrategySettings
from papertrader.data import Lake
from papertrader.engine import strategies as factory
from papertrader.engine.runner import RunRequest, load_panel
from papertrader.signals.ensemble import Ensemble

SYMBOLS = ("AAPL", "IBM", "MSFT")


@pytest.mark.slow
def test_drift_references_are_fitted_on_rows_before_the_first_cycle_only(voting_board_home: Path) -> None:
    settings = Settings(
        home=voting_board_home, strategy=StrategySettings(name="ensemble"), board=BoardSettings(calibration_bars=120)
    )
    lake = Lake(settings.lake_dir)
    request = RunRequest(SYMBOLS, "1d", datetime(2011, 6, 1, tzinfo=UTC), datetime(2012, 6, 1, tzinfo=UTC))
    panel, first = load_panel(lake, request)
    built = factory.build(settings, panel, first, lake)
    board = built.strategy
    assert isinstance(board, Ensemble)
    assert len(board.drift) == 3, "one drift reference per model member (lstm, gru, ppo)"
    members = [m for m in board.members if m.name in built.manifests]

    poisoned = {name: values.copy() for name, values in built.features.items()}
    for values in poisoned.values():
        values[first:] = 1e6  # the traded window: a reference that read it would change
    again = factory.drift_monitors(settings, panel, first, members, poisoned, built.manifests)
    for fitted, refit in zip(board.drift, again, strict=True):
        assert fitted.references.keys() == refit.references.keys()  # type: ignore[attr-defined]
        for name, ref in fitted.references.items():  # type: ignore[attr-defined]
            assert not name.endswith("_coarse_row")
            np.testing.assert_array_equal(ref.edges, refit.references[name].edges)
            np.testing.assert_array_equal(ref.sample, refit.references[name].sample)
    board.close()
