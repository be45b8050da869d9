"""Trial windows: non-overlapping, deterministic, inside the held-out span, and never on a model's training data.

The bar timeline is synthetic (business days); the registry is the real one over a temporary home with tiny
stand-in artifacts whose manifests carry the training windows under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from papertrader.config.settings import Settings
from papertrader.core.clock import SimClock
from papertrader.core.errors import ConfigError
from papertrader.engine.trial import (
    Exclusion,
    HeldOut,
    TrialRequest,
    held_out_span,
    layout_slots,
    layout_windows,
    model_exclusions,
    model_families,
    sessions_of,
    strategy_name,
)
from papertrader.models.registry import Registration, Registry

TS = pd.date_range("2004-01-01", "2008-12-31", freq="B", tz="America/New_York").tz_convert("UTC")


class _Artifact:
    """A stand-in model: the registry only needs something that saves files."""

    def save(self, directory: Path) -> None:
        (directory / "weights.bin").write_bytes(b"\x00")


def _register(home: Path, family: str, start: str, end: str, config: dict[str, Any]) -> Registry:
    registry = Registry(home, clock=SimClock(datetime(2020, 1, 1, tzinfo=UTC)), revision=lambda: None)
    info = Registration(config, "hash", {"start": start, "end": end}, "fp", {})
    registry.register(family, _Artifact(), info)
    return registry


def test_slots_are_evenly_spaced_distinct_and_include_both_ends() -> None:
    assert layout_slots(10, 4) == [0, 3, 6, 9]
    assert layout_slots(10, 1) == [0]
    assert layout_slots(5, 5) == [0, 1, 2, 3, 4]
    assert layout_slots(7, None) == list(range(7))
    for available in range(1, 40):
        for count in range(1, available + 1):
            slots = layout_slots(available, count)
            assert (
                len(set(slots)) == count and slots == sorted(slots) and slots[-1] == (available - 1 if count > 1 else 0)
            )


def test_asking_for_more_windows_than_fit_is_refused() -> None:
    with pytest.raises(ConfigError, match="only 3 non-overlapping windows"):
        layout_slots(3, 4)
    with pytest.raises(ConfigError, match="shorter than one window"):
        layout_slots(0, 1)


def test_windows_are_non_overlapping_full_length_inside_the_span_and_deterministic() -> None:
    held = HeldOut(datetime(2006, 1, 1, tzinfo=UTC), "test")
    windows = layout_windows(TS, held, 7, 9)
    assert windows == layout_windows(TS, held, 7, 9)
    assert [w.index for w in windows] == list(range(1, 10))
    for w in windows:
        assert w.start >= held.start and w.bars == 7
        assert len(sessions_of(TS[TS.slice_indexer(w.start, w.end)]).unique()) == 7
    for a, b in pairwise(windows):
        assert a.end < b.start
    every = layout_windows(TS, held, 7, None)
    assert len(every) == len(TS[TS.slice_indexer(held.start, None)]) // 7
    assert all(a.end < b.start for a, b in pairwise(every))
    assert {w.start for w in windows} <= {w.start for w in every}, "the N windows come from the same slot grid"


def test_a_window_overlapping_a_training_window_is_refused() -> None:
    training = Exclusion(
        "lstm v0001 training window", datetime(2006, 6, 1, tzinfo=UTC), datetime(2007, 1, 5, tzinfo=UTC)
    )
    held = HeldOut(datetime(2006, 1, 1, tzinfo=UTC), "--after 2006-01-01", (training,))
    with pytest.raises(ConfigError, match="overlaps lstm v0001 training window"):
        layout_windows(TS, held, 7, None)


def test_without_models_the_span_starts_after_a_warm_up_year_or_at_after() -> None:
    span = held_out_span(TS, (), None)
    assert span.start == TS[0].to_pydatetime() + timedelta(days=365)
    after = datetime(2007, 3, 1, tzinfo=UTC)
    assert held_out_span(TS, (), after).start == after


def test_the_strategy_setting_names_the_models_whose_training_windows_are_excluded() -> None:
    trend = Settings()
    assert strategy_name(trend) == "trend" and model_families(trend) == ()
    assert model_families(Settings(strategy={"name": "ppo"})) == ("rl",)
    board = Settings(strategy={"name": "ensemble"}, board={"members": ("trend", "lstm", "gru")})
    assert model_families(board) == ("lstm", "gru")


def test_the_span_starts_after_the_latest_training_end_plus_the_label_horizon(tmp_path: Path) -> None:
    registry = _register(tmp_path, "lstm", "2004-01-02", "2006-06-30T00:00:00+00:00", {"labels": {"horizon": 5}})
    _register(tmp_path, "gru", "2004-01-02", "2005-12-30T00:00:00+00:00", {"labels": {"horizon": 4}})
    exclusions = model_exclusions(registry, ("lstm", "gru"), TS, "1d")
    assert len(exclusions) == 2
    lstm = next(e for e in exclusions if e.label.startswith("lstm"))
    last_train = int(TS.searchsorted(pd.Timestamp("2006-06-30T00:00:00+00:00"), side="right")) - 1
    assert lstm.end == TS[last_train + 5].to_pydatetime()
    gru = next(e for e in exclusions if e.label.startswith("gru"))
    assert "20-bar embargo" in gru.label  # 4 weekly bars = 20 sessions
    span = held_out_span(TS, exclusions, None)
    assert span.start == TS[last_train + 6].to_pydatetime()
    windows = layout_windows(TS, span, 7, 5)
    assert all(w.start > lstm.end for w in windows)


def test_the_span_also_skips_the_validation_and_test_rows_a_model_was_given(tmp_path: Path) -> None:
    config = {"labels": {"horizon": 5}}
    registry = Registry(tmp_path, clock=SimClock(datetime(2020, 1, 1, tzinfo=UTC)), revision=lambda: None)
    window = {"start": "2004-01-02", "end": "2006-06-30T00:00:00+00:00", "data_end": "2007-03-30T00:00:00+00:00"}
    registry.register("lstm", _Artifact(), Registration(config, "hash", window, "fp", {}))
    (exclusion,) = model_exclusions(registry, ("lstm",), TS, "1d")
    assert exclusion.end == datetime(2007, 3, 30, tzinfo=UTC) and "validation and test" in exclusion.label
    assert held_out_span(TS, (exclusion,), None).start > datetime(2007, 3, 30, tzinfo=UTC)


def test_an_earlier_after_than_a_models_training_end_is_refused(tmp_path: Path) -> None:
    registry = _register(tmp_path, "lstm", "2004-01-02", "2006-06-30T00:00:00+00:00", {"labels": {"horizon": 5}})
    exclusions = model_exclusions(registry, ("lstm",), TS, "1d")
    span = held_out_span(TS, exclusions, datetime(2006, 1, 1, tzinfo=UTC))
    with pytest.raises(ConfigError, match="pass --after"):
        layout_windows(TS, span, 7, 3)


def test_a_single_model_strategy_without_its_model_is_a_config_error(tmp_path: Path) -> None:
    registry = Registry(tmp_path)
    with pytest.raises(ConfigError, match="needs a live lstm model"):
        model_exclusions(registry, ("lstm",), TS, "1d")
    assert model_exclusions(registry, (), TS, "1d") == ()


def test_a_model_without_a_training_window_cannot_prove_anything_held_out(tmp_path: Path) -> None:
    registry = _register(tmp_path, "rl", "", "", {})
    with pytest.raises(ConfigError, match="records no training window"):
        model_exclusions(registry, ("rl",), TS, "1d")


def test_every_window_of_the_held_out_span_is_the_default() -> None:
    assert TrialRequest().windows is None


def test_bad_requests_are_config_errors() -> None:
    with pytest.raises(ConfigError):
        TrialRequest(days=1)
    with pytest.raises(ConfigError):
        TrialRequest(windows=0)
