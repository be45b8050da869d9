"""Engine.extend grows a live run only by features whose past rows are unchanged (real SPY daily bars)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from papertrader.config.settings import Settings
from papertrader.engine.panel import Panel
from papertrader.engine.strategies import FeatureBuilder, technical_spec
from support import EngineFactory

CUT = pd.Timestamp("2010-01-04", tz="America/New_York")


def _split(bars: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    stamps = pd.DatetimeIndex(bars["ts"])
    return bars[(stamps >= CUT - pd.Timedelta(days=400)) & (stamps < CUT)], bars[
        (stamps >= CUT) & (stamps < CUT + pd.Timedelta(days=10))
    ]


def test_extend_takes_features_rebuilt_on_the_grown_panel_when_past_rows_are_identical(
    spy_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    history, later = _split(spy_daily)
    engine, _ = engine_factory(history)
    builder = FeatureBuilder(technical_spec(Settings()), close=False)
    seen = {name: values.copy() for name, values in engine.features.items()}
    grown = engine.panel.append(later)
    engine.extend(grown, builder(grown))
    assert len(engine.panel) == len(grown) > len(history)
    for name, values in seen.items():
        assert np.array_equal(engine.features[name][: len(values)], values, equal_nan=True)
        assert engine.features[name].shape[0] == len(grown)


def test_extend_refuses_features_that_changed_a_row_already_seen(
    spy_daily: pd.DataFrame, engine_factory: EngineFactory
) -> None:
    history, later = _split(spy_daily)
    engine, _ = engine_factory(history)
    grown = engine.panel.append(later)
    features = FeatureBuilder(technical_spec(Settings()), close=False)(grown)
    name = next(iter(engine.features))
    tampered = dict(features)
    tampered[name] = features[name].copy()
    tampered[name][len(history) - 1] += 1.0  # a feature that looked at the new bars to restate the last one
    before = len(engine.panel)
    with pytest.raises(ValueError, match="changed rows already seen"):
        engine.extend(grown, tampered)
    with pytest.raises(ValueError, match="lacks the features"):
        engine.extend(grown, {k: v for k, v in features.items() if k != name})
    assert len(engine.panel) == before, "a refused extend leaves the engine as it was"


def test_a_panel_grown_bar_by_bar_gets_the_same_features_as_one_built_whole(spy_daily: pd.DataFrame) -> None:
    history, later = _split(spy_daily)
    builder = FeatureBuilder(technical_spec(Settings()), close=True)
    panel = Panel.from_long(history, "1d")
    for ts in sorted(set(later["ts"])):
        panel = panel.append(later[later["ts"] == ts])
    whole = builder(Panel.from_long(pd.concat([history, later]), "1d"))
    stepped = builder(panel)
    assert set(whole) == set(stepped)
    assert all(np.array_equal(whole[k], stepped[k], equal_nan=True) for k in whole)
