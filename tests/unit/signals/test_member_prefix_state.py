"""Recurrent members between bars: the LSTM keeps its window's prefix state and runs only the last step at the
close; the weekly GRU reuses its answer until a coarse bar closes. Both give exactly the full window's opinion.

The networks are registered untrained (seeded weights) and the feature panels are synthetic normal draws (this
unit test says so): what is under test is that the shortcut changes no number, not what the numbers mean.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import torch

from papertrader.core.clock import SimClock
from papertrader.features.pipeline import FeaturePipeline
from papertrader.features.view import FeatureView
from papertrader.models.data import LabelSpec
from papertrader.models.loading import ModelHandle
from papertrader.models.registry import Registration, Registry
from papertrader.models.sequence import SequenceModel, SequenceSpec, build_network
from papertrader.signals.members import CLOSE, ROW_SUFFIX, CoarseMember, SequenceMember, panel_name
from papertrader.signals.votes import Opinion

N, T = 12, 90
TS = datetime(2024, 1, 2, tzinfo=UTC)


def _handle(tmp_path: Path, family: str, lookback: int) -> tuple[ModelHandle, tuple[str, ...]]:
    """A registered seeded-untrained network behind the live path's handle, and its feature names."""
    kind = "direction" if family == "lstm" else "trend"
    spec = SequenceSpec(family, "1d", lookback, 16, 2, LabelSpec(kind))  # type: ignore[arg-type]
    model = SequenceModel(spec)
    pipeline = FeaturePipeline().unscaled()
    torch.manual_seed(3)
    model.network = build_network(spec, len(pipeline.names))
    model.pipeline = pipeline
    registry = Registry(tmp_path, clock=SimClock(TS), revision=lambda: None)
    registry.register(
        family,
        model,
        Registration(
            config={**spec.to_dict(), "n_features": len(pipeline.names)},
            schema_hash=pipeline.schema_hash,
            training_window={"start": "2020-01-01", "end": "2020-12-31"},
            data_fingerprint="synthetic",
            metrics={},
            fallback={"class_prior": [0.3, 0.4, 0.3]},
        ),
    )
    return ModelHandle(registry, family, expected_schema=pipeline.schema_hash), pipeline.names


def _panels(prefix: str, names: tuple[str, ...], seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {panel_name(prefix, f): rng.normal(size=(T, N)) for f in names}
    out[CLOSE] = 100.0 + rng.normal(size=(T, N)).cumsum(axis=0)
    return out


def _same(a: Opinion, b: Opinion) -> bool:
    return bool(np.array_equal(a.p_up, b.p_up, equal_nan=True) and np.array_equal(a.p_down, b.p_down, equal_nan=True))


def test_a_prepared_lstm_runs_only_the_last_step_and_opines_exactly_as_the_full_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle, names = _handle(tmp_path, "lstm", 10)
    features = _panels("lstm", names, 0)
    full = SequenceMember(handle, names, 10)
    live = SequenceMember(handle, names, 10)
    last_steps: list[int] = []
    resume = ModelHandle.predict_last

    def counted(self: ModelHandle, prefix: object, x: np.ndarray) -> object:
        last_steps.append(x.shape[1])
        return resume(self, prefix, x)  # type: ignore[arg-type]

    monkeypatch.setattr(ModelHandle, "predict_last", counted)
    for k in range(T):
        view = FeatureView(features, k)
        assert _same(full.opine(TS, view), live.opine(TS, view)), f"cycle {k}"
        live.prepare(view)  # between bars: the next window's first 9 rows are all at or before k
    assert last_steps == [1] * (T - 9), "every full window (cycles 9 on) ran from the prefix state, one step"


def test_a_prefix_is_not_used_when_the_window_it_was_computed_for_changed(tmp_path: Path) -> None:
    handle, names = _handle(tmp_path, "lstm", 10)
    features = _panels("lstm", names, 0)
    other = _panels("lstm", names, 1)  # a rebuilt feature set: the prepared rows are not these
    live, full = SequenceMember(handle, names, 10), SequenceMember(handle, names, 10)
    live.prepare(FeatureView(features, 40))
    view = FeatureView(other, 41)
    assert _same(live.opine(TS, view), full.opine(TS, view))


def test_a_prefix_is_not_used_when_one_of_its_rows_changed_by_one_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle, names = _handle(tmp_path, "lstm", 10)
    features = _panels("lstm", names, 0)
    live, full = SequenceMember(handle, names, 10), SequenceMember(handle, names, 10)
    live.prepare(FeatureView(features, 40))
    panel = features[panel_name("lstm", names[3])]
    panel[35, 4] = np.nextafter(panel[35, 4], np.inf)  # a row inside the prepared prefix, one ulp up
    last_steps: list[int] = []
    resume = ModelHandle.predict_last

    def counted(self: ModelHandle, prefix: object, x: np.ndarray) -> object:
        last_steps.append(x.shape[1])
        return resume(self, prefix, x)  # type: ignore[arg-type]

    monkeypatch.setattr(ModelHandle, "predict_last", counted)
    view = FeatureView(features, 41)
    assert _same(live.opine(TS, view), full.opine(TS, view))
    assert last_steps == [], "the full window answered: the prefix was computed from other inputs"


def test_the_weekly_gru_reuses_its_answer_until_a_coarse_bar_closes_and_it_equals_a_fresh_full_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    handle, names = _handle(tmp_path, "gru", 4)
    coarse = _panels("gru", names, 2)
    week = np.arange(T) // 5  # a coarse bar closes every 5 engine bars; row k shows the last closed one
    row = np.where(week >= 1, week - 1, -1)
    features = {name: v[np.clip(row, 0, None)] for name, v in coarse.items() if name != CLOSE}
    features[CLOSE] = coarse[CLOSE]
    features[panel_name("gru", ROW_SUFFIX)] = row.astype(np.float64)[:, None]
    calls: list[int] = []
    last_steps: list[int] = []
    predict, resume = ModelHandle.predict, ModelHandle.predict_last

    def counted(self: ModelHandle, x: np.ndarray) -> object:
        calls.append(x.shape[1])
        return predict(self, x)

    def counted_last(self: ModelHandle, prefix: object, x: np.ndarray) -> object:
        last_steps.append(x.shape[1])
        return resume(self, prefix, x)  # type: ignore[arg-type]

    live = CoarseMember(handle, names, 4)
    monkeypatch.setattr(ModelHandle, "predict", counted)
    monkeypatch.setattr(ModelHandle, "predict_last", counted_last)
    for k in range(T):
        view = FeatureView(features, k)
        fresh = CoarseMember(handle, names, 4)  # no memory: the full window every time
        assert _same(live.opine(TS, view), fresh.opine(TS, view)), f"cycle {k}"
        live.prepare(view)
    served = T - 5 * 4  # cycles with 4 closed coarse bars (from k = 20 on)
    assert len(calls) == served + 1, "the fresh members predict every cycle, the live one for its first window only"
    assert last_steps == [1] * (served // 5 - 1), "each later coarse close ran one step from the prefix state"
