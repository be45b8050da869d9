"""Each family's quality gate is measured on its validation rows: a model that learned noise is refused.

Real daily bars (SPY, IBM 2006-2009 from the shared data). The labels are replaced inside two tests, as each
says: shuffled (nothing to learn) and a function of the past the features already show (something to learn),
so the gate is shown to refuse the first and admit the second with the same small network.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
from models_bars import daily_bars, market

from papertrader.config.settings import CostSettings
from papertrader.features.spec import PipelineSpec
from papertrader.models.data import LabelSpec, Market
from papertrader.models.gate import GateResult, gate_of
from papertrader.models.gating import agent_votes, sequence_gate
from papertrader.models.registry import Registry
from papertrader.models.rl.env import Action
from papertrader.models.sequence import SequenceModel, SequenceSpec, prepare
from papertrader.models.trainer import TrainConfig
from papertrader.models.training import TrainOptions, train_and_register
from papertrader.models.validation import WalkForwardConfig, make_folds


def _fit_gate(m: Market, epochs: int = 6) -> GateResult:
    """A small LSTM trained on the market's training rows, gated on its validation rows."""
    spec = SequenceSpec(
        family="lstm",
        interval="1d",
        lookback=10,
        hidden=16,
        layers=1,
        labels=LabelSpec("direction", horizon=5),
        features=PipelineSpec(),
        train=TrainConfig(epochs=epochs, batch_size=64, max_batches_per_epoch=12, patience=epochs, seed=1),
    )
    fold = make_folds(len(m), WalkForwardConfig(n_folds=1, test_rows=100, val_rows=150, train_rows=400))[0]
    data = prepare(m, spec, fold.rows("train"), fold.rows("val"), fold.rows("test"))
    model = SequenceModel(spec)
    model.fit(data)
    gate = sequence_gate(model, data, m)
    assert gate.n == len(data.val), "scored on every validation window, no test row"
    return gate


def test_a_model_trained_on_shuffled_labels_is_refused_by_the_gate() -> None:
    m = market()
    labels = m.labels.copy()
    known = labels >= 0
    labels[known] = np.random.default_rng(0).permutation(labels[known])  # shuffled: no relation to the inputs
    gate = _fit_gate(replace(m, labels=labels))
    assert not gate.passed, gate.reason
    assert gate.log_loss >= gate.base_log_loss or gate.prediction_std <= 0.02


def test_the_same_network_passes_when_its_labels_follow_what_its_inputs_show() -> None:
    m = market()
    close = m.closes
    past = np.full(close.shape, np.nan)
    past[5:] = close[5:] / close[:-5] - 1.0  # the 5-bar return up to t: known at t, in the features
    labels = np.where(np.isfinite(past) & (m.labels >= 0), np.where(past > 0.01, 2, np.where(past < -0.01, 0, 1)), -1)
    gate = _fit_gate(replace(m, labels=labels.astype(np.int64)), epochs=8)
    assert gate.passed, gate.reason
    assert gate.prediction_std > 0.02 and gate.log_loss < gate.base_log_loss


def test_training_records_the_gate_of_each_family_in_its_manifest(tmp_path: Path) -> None:
    registry = Registry(tmp_path, revision=lambda: None)
    for kind, family in (("lstm", "lstm"), ("gru", "gru"), ("ppo", "rl")):
        outcome = train_and_register(daily_bars(), TrainOptions(kind, small=True), registry, CostSettings())  # type: ignore[arg-type]
        gate = gate_of(registry.manifest(family).metrics)
        assert gate is not None and gate.n > 0, family
        stored = dict(outcome.metrics["gate"])
        windows = stored.pop("windows")
        assert gate.to_dict() == stored
        assert set(windows) == {"validation", "test"}, "each window's own record is kept beside the verdict"
        assert "trading" in outcome.metrics, "test-row metrics stay as they were"
        if kind != "ppo":
            assert windows["validation"]["n"] == outcome.metrics["samples"]["val"]
            assert windows["test"]["n"] == outcome.metrics["samples"]["test"]
            assert "holdout" in outcome.metrics


def test_the_agent_is_gated_on_validation_rows_with_the_board_members_p_up() -> None:
    from papertrader.models import specs
    from papertrader.models.data import featurize
    from papertrader.models.rl.agent import PPOAgent

    m = market()
    fold = make_folds(len(m), specs.holdout(len(m), 5))[0]
    train_rows, val_rows = fold.rows("train"), fold.rows("val")
    spec = specs.ppo_spec("1d", PipelineSpec(), CostSettings(), small=True)
    fitted, tensor = featurize(m, spec.features, (int(train_rows[0]), int(train_rows[-1]) + 1))
    agent = PPOAgent(spec).fit(tensor, m.opens, m.closes, train_rows, fitted)
    rows, symbols, p_up, p_down = agent_votes(agent, tensor, m, val_rows)
    assert rows.size > 0 and set(rows.tolist()) <= set(val_rows.tolist())
    assert set(symbols.tolist()) == {0, 1}
    first = rows == rows.min()
    flat_book = np.zeros((int(first.sum()), 4), dtype=np.float32)  # every symbol starts flat, as on the board
    obs = np.concatenate([np.nan_to_num(tensor[rows[first], symbols[first]]), flat_book], axis=1)
    _, probs = agent.predict(obs.astype(np.float32))
    np.testing.assert_allclose(p_up[first], probs[:, Action.BUY] + probs[:, Action.ADD], rtol=1e-6)
    np.testing.assert_allclose(p_down[first], probs[:, Action.SELL] + probs[:, Action.EXIT], rtol=1e-6)
