"""The board's shared fixtures: one home with tiny registered models for the whole session (trained once).

The models see only bars before TRAINED_UNTIL (validation and test rows included), so the board tests' windows
(2011-06 on) and their calibration (the bars right before) are out-of-sample under models.holdout's bound.
`board_home` keeps the gate records training measured: the tiny models fail it and are left out of the vote.
`voting_board_home` is a copy whose manifests carry a stamped passing gate, for tests about what the board
does with model votes (`gate_support`).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gate_support import stamp_passing_gate
from papertrader.config.settings import CostSettings, Settings
from papertrader.data import Lake
from papertrader.data.adapters.bundled import import_bundled
from papertrader.models.lake import bars_before, load_training_data
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


@pytest.fixture(scope="session")
def voting_board_home(board_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of board_home whose model versions carry a stamped passing gate, so every member votes."""
    home = tmp_path_factory.mktemp("voting-board-home") / "home"
    shutil.copytree(board_home / "lake", home / "lake")
    shutil.copytree(board_home / "models", home / "models")
    stamp_passing_gate(home)
    return home
