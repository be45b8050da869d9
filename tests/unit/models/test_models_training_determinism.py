"""Same seed, same data, same threads: bit-identical weights; another seed: different weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from models_bars import tiny_sequence_model

from papertrader.models.sequence import SequenceModel
from papertrader.models.trainer import class_weights


def _weights(family: str, seed: int) -> dict[str, torch.Tensor]:
    model, _, _ = tiny_sequence_model(family, seed, epochs=2, batches=3)
    assert isinstance(model, SequenceModel) and model.network is not None
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
