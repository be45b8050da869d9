"""The board's shared fixture: one home with tiny registered models for the whole session (trained once).

The models see only bars before TRAINED_UNTIL (validation and test rows included), so the board tests' windows
(2011-06 on) and their calibration (the bars right before) are out-of-sample under models.holdout's bound.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from papertrader.cli_models import bars_before, load_training_data
from papertrader.config.settings import CostSettings, Settings
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled
from papertrader.models.registry import Registry
from papertrader.models.training import TrainOptions, train_and_register

BOARD_SYMBOLS = ("AAPL", "IBM", "MSFT")
TRAINED_UNTIL = "2011-01-01"


@pytest.fixture(scope="session")
def board_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with the bundled lake and tiny lstm, gru and ppo versions (one training for the whole session)."""
    home = tmp_path_factory.mktemp("board-home")
    import_bundled(Lake(home / "lake"))
    settings = Settings(home=home)
    bars, external = load_training_data(settings, "1d", BOARD_SYMBOLS)
    bars = bars_before(bars, TRAINED_UNTIL)
    registry = Registry(home, revision=lambda: None)
    for kind in ("lstm", "gru", "ppo"):
        train_and_register(bars, TrainOptions(kind, small=True), registry, CostSettings(), external)
    return home
