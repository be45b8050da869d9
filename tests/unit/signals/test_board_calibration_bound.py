"""The board's calibration reads only bars after every used model's data, and its cache key names the costs.

Real bundled bars (AAPL, IBM, MSFT 2007-2009); the manifests are Manifest values carrying the windows under test.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from papertrader.config.board import BoardSettings
from papertrader.config.settings import CostSettings, Settings, StrategySettings
from papertrader.data.adapters.bundled import BundledSource
from papertrader.engine.panel import Panel
from papertrader.engine.strategies import build, calibration_window
from papertrader.models.registry import Manifest

SYMBOLS = ("AAPL", "IBM", "MSFT")


def _panel() -> tuple[Panel, int]:
    (_, _, bars), *_ = BundledSource(symbols=SYMBOLS).bar_sources()
    bars = bars[bars["ts"].dt.year.between(2007, 2009)].reset_index(drop=True)
    panel = Panel.from_long(bars, "1d", SYMBOLS)
    return panel, int(panel.ts.searchsorted(pd.Timestamp("2009-06-01", tz="America/New_York")))


def _manifest(end: pd.Timestamp, data_end: pd.Timestamp) -> Manifest:
    window = {"start": "2007-01-03T00:00:00+00:00", "end": end.isoformat(), "data_end": data_end.isoformat()}
    return Manifest("lstm", "v1", "2020", {"labels": {"horizon": 5}}, "h", window, "fp", {}, {}, None, {})


def test_the_calibration_window_starts_after_the_models_validation_and_test_rows() -> None:
    panel, first = _panel()
    train_end, data_end = panel.ts[first - 200], panel.ts[first - 60]
    start, stop = calibration_window(panel, first, {"lstm": _manifest(train_end, data_end)}, 250) or (0, 0)
    assert stop == first and panel.ts[start] > data_end and panel.ts[start - 1] == data_end
    # the data reaching to within 20 bars of trading leaves no window: the members stay uncalibrated
    assert calibration_window(panel, first, {"lstm": _manifest(train_end, panel.ts[first - 10])}, 250) is None


def _trend_board(home: Path, costs: CostSettings) -> Settings:
    board = BoardSettings(members=("trend",))
    return Settings(home=home, strategy=StrategySettings(name="ensemble"), board=board, costs=costs)


def test_a_change_in_cost_settings_misses_the_calibration_cache(tmp_path: Path) -> None:
    panel, first = _panel()
    default = build(_trend_board(tmp_path, CostSettings()), panel, first, lake=None, with_monitor=False)
    again = build(_trend_board(tmp_path, CostSettings()), panel, first, lake=None, with_monitor=False)
    dearer = build(_trend_board(tmp_path, CostSettings(spread_bps=20.0)), panel, first, lake=None, with_monitor=False)
    assert default.calibration_path is not None and default.calibration_path == again.calibration_path
    assert dearer.calibration_path is not None and dearer.calibration_path != default.calibration_path
    assert len(list((tmp_path / "board").glob("calibration-*.json"))) == 2
