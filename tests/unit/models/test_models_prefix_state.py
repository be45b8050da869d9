"""A recurrent window's first steps run between bars, the last at the close: the answer is bit-identical.

Inputs are synthetic normal draws (this unit test says so): the identity under test is arithmetic, not data.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from papertrader.features.pipeline import FeaturePipeline
from papertrader.models.data import LabelSpec
from papertrader.models.sequence import SequenceModel, SequenceSpec, build_network
from papertrader.models.trainer import pinned_threads


def _model(family: str, lookback: int, hidden: int) -> SequenceModel:
    spec = SequenceSpec(family, "1d", lookback, hidden, 2, LabelSpec("direction" if family == "lstm" else "trend"))  # type: ignore[arg-type]
    model = SequenceModel(spec)
    torch.manual_seed(7)
    model.network = build_network(spec, 24)
    model.network.eval()
    model.pipeline = FeaturePipeline().unscaled()
    return model


@pytest.mark.parametrize(("family", "lookback", "hidden"), [("lstm", 40, 128), ("gru", 26, 64)])
def test_prefix_state_then_last_step_equals_the_full_window_bit_for_bit(
    family: str, lookback: int, hidden: int
) -> None:
    model = _model(family, lookback, hidden)
    x = np.random.default_rng(1).normal(size=(200, lookback, 24)).astype(np.float32)
    with pinned_threads(1), torch.inference_mode():
        full = model.predict_array(x)
        state = model.prefix_state(np.ascontiguousarray(x[:, :-1]))
        last = model.predict_last(state, np.ascontiguousarray(x[:, -1:]))
    assert full.keys() == last.keys()
    for key in full:
        np.testing.assert_array_equal(full[key], last[key])
