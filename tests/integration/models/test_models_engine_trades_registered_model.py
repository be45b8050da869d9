"""The engine trades a registered LSTM through ModelStrategy: orders fill at the next open, health stays ok."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import CostSettings, RiskSettings, Settings
from papertrader.core.clock import SimClock
from papertrader.core.events import EventBus
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.features.inputs import FeatureInputs
from papertrader.features.pipeline import FittedPipeline
from papertrader.models.registry import Registry
from papertrader.models.training import TrainOptions, train_and_register
from papertrader.signals.models import ModelStrategy
from support import load_shared_daily


@pytest.mark.slow
def test_engine_runs_a_registered_model_and_fills_its_orders_next_open(tmp_path: Path) -> None:
    bars = pd.concat([load_shared_daily(s) for s in ("SPY", "IBM", "BAC")], ignore_index=True)
    bars = bars[bars["ts"].dt.year.between(2003, 2008)].reset_index(drop=True)
    registry = Registry(tmp_path, revision=lambda: None)
    train_and_register(bars, TrainOptions("lstm", small=True), registry, CostSettings())

    strategy = ModelStrategy.from_registry(tmp_path, n_symbols=3, min_edge=0.0)
    manifest = registry.manifest("lstm")
    fitted = FittedPipeline.from_dict(
        json.loads((registry.path("lstm", manifest.version) / "pipeline.json").read_text())
    )
    panel = Panel.from_long(bars, "1d")
    inputs = FeatureInputs.from_long(bars, "1d", symbols=panel.symbols)
    features = fitted.transform(inputs).panels()
    settings = Settings(home=tmp_path, risk=RiskSettings(max_position_fraction=0.5))
    engine = Engine(
        run_id="model",
        panel=panel,
        features=features,
        strategy=strategy,
        settings=settings,
        clock=SimClock(panel.bar(0).open_time),
        bus=EventBus(),
    )
    outcomes = engine.run()
    fills = [f for o in outcomes for f in o.fills]
    assert engine.health.snapshot()["signals"].status.value == "ok"
    assert strategy.predictor.health.active == manifest.version  # type: ignore[attr-defined]
    assert fills, "the model never traded"
    decided = {e.k: e for e in outcomes}
    for fill in fills:
        k = panel.first_bar_opening_at_or_after(fill.ts)
        assert k > 0 and fill.ts >= panel.close_times[k - 1]  # filled after the close it was decided at
        assert fill in decided[k].fills
    assert np.isfinite([float(o.valuation.equity) for o in outcomes]).all()
