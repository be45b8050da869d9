"""Walk-forward folds on a real local Ray instance give the same results as running them in-process."""

from __future__ import annotations

import pytest

from papertrader.config.settings import CostSettings
from papertrader.features.spec import PipelineSpec
from papertrader.models.data import LabelSpec, build_market
from papertrader.models.scaleout import run_ray, shutdown
from papertrader.models.sequence import SequenceSpec
from papertrader.models.trainer import TrainConfig
from papertrader.models.validation import WalkForwardConfig
from papertrader.models.walkforward import Plan, in_process, summarize, walk_forward


@pytest.mark.slow
def test_ray_local_folds_match_in_process_folds() -> None:
    from support import load_shared_daily

    bars = load_shared_daily("SPY")
    bars = bars[bars["ts"].dt.year.between(2004, 2009)]
    market = build_market(bars, "1d", LabelSpec("trend", horizon=4), CostSettings())
    spec = SequenceSpec(
        family="gru",
        interval="1d",
        lookback=5,
        hidden=4,
        layers=2,
        labels=LabelSpec("trend", horizon=4),
        features=PipelineSpec(),
        train=TrainConfig(epochs=1, batch_size=64, max_batches_per_epoch=2),
    )
    plan = Plan(
        "gru",
        WalkForwardConfig(n_folds=2, test_rows=100, val_rows=50, train_rows=300, horizon=4),
        CostSettings(),
        sequence=spec,
    )

    def on_ray(fn, market, plan, folds):  # type: ignore[no-untyped-def]
        return run_ray(fn, market, plan, folds, num_cpus=1)

    try:
        _, remote = walk_forward(market, plan, on_ray)
    finally:
        shutdown()
    _, local = walk_forward(market, plan, in_process)
    for a, b in zip(summarize(remote), summarize(local), strict=True):
        assert a.model == b.model
        assert a.trading == b.trading
        assert a.classification == b.classification
