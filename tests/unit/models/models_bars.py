"""Real daily bars from ../shared/data for the model tests, cut to a few years so tests stay fast."""

from __future__ import annotations

import functools

import pandas as pd

from papertrader.config.settings import CostSettings
from papertrader.models.data import LabelSpec, Market, build_market
from support import load_shared_daily


@functools.cache
def _cached(symbols: tuple[str, ...], start: str, end: str) -> pd.DataFrame:
    frames = [load_shared_daily(s) for s in symbols]
    bars = pd.concat(frames, ignore_index=True)
    lo, hi = pd.Timestamp(start, tz="UTC"), pd.Timestamp(end, tz="UTC")
    return bars[(bars["ts"] >= lo) & (bars["ts"] < hi)].reset_index(drop=True)


def daily_bars(
    symbols: tuple[str, ...] = ("SPY", "IBM"), start: str = "2006-01-01", end: str = "2010-01-01"
) -> pd.DataFrame:
    """Real unadjusted daily bars (a copy, so tests may alter it)."""
    return _cached(symbols, start, end).copy()


def market(kind: str = "direction", horizon: int = 5, bars: pd.DataFrame | None = None) -> Market:
    """Labels and prices of the default bars on one grid."""
    return build_market(
        daily_bars() if bars is None else bars,
        "1d",
        LabelSpec(kind, horizon=horizon),  # type: ignore[arg-type]
        CostSettings(),
    )


@functools.cache
def tiny_sequence_model(
    family: str = "lstm", seed: int = 3, epochs: int = 1, batches: int = 2
) -> tuple[object, Market, object]:
    """A trained tiny LSTM or GRU on the default bars: (SequenceModel, Market, FoldData)."""
    from papertrader.features.spec import PipelineSpec
    from papertrader.models.sequence import SequenceModel, SequenceSpec, prepare
    from papertrader.models.trainer import TrainConfig
    from papertrader.models.validation import WalkForwardConfig, make_folds

    kind = "direction" if family == "lstm" else "trend"
    m = market(kind)
    spec = SequenceSpec(
        family=family,  # type: ignore[arg-type]
        interval="1d",
        lookback=6,
        hidden=6,
        layers=2,
        labels=LabelSpec(kind, horizon=5),  # type: ignore[arg-type]
        features=PipelineSpec(),
        train=TrainConfig(epochs=epochs, batch_size=64, max_batches_per_epoch=batches, seed=seed),
    )
    fold = make_folds(len(m), WalkForwardConfig(n_folds=1, test_rows=100, val_rows=60, train_rows=300))[0]
    data = prepare(m, spec, fold.rows("train"), fold.rows("val"), fold.rows("test"))
    model = SequenceModel(spec)
    model.fit(data)
    return model, m, data
