"""models.holdout: the one out-of-sample bound (training end + label embargo, or data_end when later).

The bar timeline is synthetic (business days); the manifests are real Manifest values with the windows under test.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from papertrader.core.errors import ConfigError
from papertrader.models.holdout import check_out_of_sample, embargo_bars, latest_seen, sample_bound, sample_bounds
from papertrader.models.registry import Manifest

TS = pd.date_range("2004-01-01", "2008-12-31", freq="B", tz="America/New_York").tz_convert("UTC")


def bar(day: str) -> str:
    """The stamp of the timeline's bar on `day` (bars are stamped at New York midnight, as the lake's daily bars)."""
    return TS[TS.searchsorted(pd.Timestamp(day, tz="America/New_York"))].isoformat()


def manifest(family: str, end: str, data_end: str | None = None, config: dict[str, Any] | None = None) -> Manifest:
    """A manifest whose training window ends at `end` (and whose data ends at `data_end`)."""
    window = {"start": "2004-01-02T00:00:00+00:00", "end": end}
    if data_end is not None:
        window["data_end"] = data_end
    return Manifest(
        family, "v1", "2020-01-01", config if config is not None else {"labels": {"horizon": 5}},
        "hash", window, "fp", {}, {}, None, {},
    )  # fmt: skip


def test_without_data_end_the_bound_is_the_training_end_plus_the_label_horizon() -> None:
    bound = sample_bound("lstm", manifest("lstm", "2006-06-30T00:00:00+00:00"), TS, "1d")
    last_train = int(TS.searchsorted(pd.Timestamp("2006-06-30", tz="UTC"), side="right")) - 1
    assert bound.embargo == 5 and bound.last_seen == TS[last_train + 5]
    assert bound.earliest == TS[last_train + 6]


def test_data_end_with_validation_and_test_rows_moves_the_bound_later() -> None:
    bound = sample_bound("lstm", manifest("lstm", "2006-06-30T00:00:00+00:00", "2007-03-30T00:00:00+00:00"), TS, "1d")
    assert bound.last_seen == pd.Timestamp("2007-03-30", tz="UTC") and "validation and test" in bound.label
    assert bound.earliest is not None and bound.earliest > pd.Timestamp("2007-03-30", tz="UTC")


def test_the_gru_embargo_counts_its_coarse_bars_and_a_missing_horizon_defaults_to_five() -> None:
    assert embargo_bars(manifest("gru", "2006-06-30", config={"labels": {"horizon": 4}}), "1d") == 20
    assert embargo_bars(manifest("rl", "2006-06-30", config={}), "1d") == 5


def test_a_start_inside_a_models_test_rows_is_refused_naming_model_data_end_and_earliest_start() -> None:
    lstm = manifest("lstm", bar("2006-06-30"), bar("2007-03-30"))
    gru = manifest("gru", bar("2005-12-30"), bar("2006-06-30"))
    bounds = sample_bounds({"lstm": lstm, "gru": gru}, TS, "1d")
    with pytest.raises(ConfigError) as caught:
        check_out_of_sample(bounds, pd.Timestamp(bar("2007-01-03")))  # after training end, inside test rows
    message = str(caught.value)
    assert "not out-of-sample" in message and "lstm v1 (data_end 2007-03-30" in message
    assert "gru v1" not in message  # the gru's data ended before the start: only the offender is named
    assert "earliest allowed start 2007-04-02" in message and "start on or after 2007-04-02" in message
    check_out_of_sample(bounds, pd.Timestamp(bar("2007-04-02")))  # the earliest allowed start is allowed
    assert latest_seen(bounds) == pd.Timestamp(bar("2007-03-30")) and latest_seen(()) is None


def test_a_bound_past_the_timeline_allows_no_start() -> None:
    bound = sample_bound("lstm", manifest("lstm", "2008-12-29T00:00:00+00:00"), TS, "1d")
    assert bound.earliest is None
    with pytest.raises(ConfigError, match="no bar after every model's data"):
        check_out_of_sample((bound,), TS[-1])


def test_a_manifest_without_a_training_window_proves_nothing_held_out() -> None:
    broken = Manifest("rl", "v9", "2020-01-01", {}, "h", {}, "fp", {}, {}, None, {})
    with pytest.raises(ConfigError, match="records no training window"):
        sample_bound("ppo", broken, TS, "1d")
