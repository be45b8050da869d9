"""Same seed, same data, same threads: bit-identical weights; another seed: different weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from models_bars import market

from papertrader.features.spec import PipelineSpec
from papertrader.models.data import LabelSpec
from papertrader.models.sequence import SequenceModel, SequenceSpec, prepare
from papertrader.models.trainer import TrainConfig, class_weights
from papertrader.models.validation import WalkForwardConfig, make_folds


def _weights(family: str, seed: int) -> dict[str, torch.Tensor]:
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
        train=TrainConfig(epochs=2, batch_size=64, max_batches_per_epoch=3, seed=seed),
    )
    fold = make_folds(len(m), WalkForwardConfig(n_folds=1, test_rows=100, val_rows=60, train_rows=300))[0]
    data = prepare(m, spec, fold.rows("train"), fold.rows("val"))
    model = SequenceModel(spec)
    model.fit(data)
    assert model.network is not None
    return {k: v.clone() for k, v in model.network.state_dict().items()}


def test_two_lstm_runs_with_one_seed_give_identical_weights() -> None:
    a, b = _weights("lstm", 11), _weights("lstm", 11)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_two_gru_runs_with_one_seed_give_identical_weights_and_another_seed_differs() -> None:
    a, b, c = _weights("gru", 5), _weights("gru", 5), _weights("gru", 6)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_class_weights_balance_rare_classes() -> None:
    counts = np.array([10, 90, 0])
    full = class_weights(counts, 1.0)
    assert float(full[0]) * 10 == pytest.approx(float(full[1]) * 90)
    assert full[2] == 0.0
    damped = class_weights(counts, 0.5)
    assert 1.0 < damped[0] / damped[1] < full[0] / full[1]
