"""The GRU member's weekly features are aligned so cycle k only sees weeks that had closed by bar k's close."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.engine.panel import Panel
from papertrader.features.pipeline import FeaturePipeline
from papertrader.features.view import FeatureView
from papertrader.models.specs import feature_spec
from papertrader.signals.members import CLOSE, CoarseMember, coarse_alignment, coarse_panels
from support import load_shared_daily

Array = npt.NDArray[np.float64]


def _bars() -> pd.DataFrame:
    bars = pd.concat([load_shared_daily(s) for s in ("SPY", "IBM")], ignore_index=True)
    out: pd.DataFrame = bars[bars["ts"].dt.year.between(2006, 2008)].reset_index(drop=True)
    return out


class Echo:
    """A fake predictor whose 'probabilities' are a fixed function of every input value (synthetic)."""

    def predict(self, x: npt.NDArray[np.float32]) -> dict[str, Array]:
        s = np.tanh(x.astype(np.float64).reshape(x.shape[0], -1).sum(axis=1) / 100.0)
        up = 0.3 + 0.2 * s
        return {"probs": np.stack([0.6 - up, np.full_like(up, 0.4), up], axis=1)}


def _panels(bars: pd.DataFrame) -> tuple[Panel, dict[str, Array], tuple[str, ...]]:
    panel = Panel.from_long(bars, "1d")
    fitted = FeaturePipeline(feature_spec(coarse=True)).unscaled()
    features = coarse_panels(bars, "1d", fitted, panel.ts, panel.symbols)
    features[CLOSE] = panel.prices.close
    return panel, features, fitted.names


def test_each_bar_sees_only_weeks_that_ended_before_its_own_week() -> None:
    panel, _features, _ = _panels(_bars())
    from papertrader.models.resample import resample_bars

    weekly, _ = resample_bars(_bars(), "1d")
    coarse_ts = pd.DatetimeIndex(sorted(weekly["ts"].unique()))
    idx = coarse_alignment(panel.ts, coarse_ts, "1d")
    for k in range(len(panel)):
        if idx[k] < 0:
            continue
        seen = coarse_ts[idx[k]].tz_convert("America/New_York").tz_localize(None)
        bar = panel.ts[k].tz_convert("America/New_York").tz_localize(None)
        assert seen.to_period("W") < bar.to_period("W")  # its week is over: never the bar's own (open) week
        assert panel.close_times[k] > coarse_ts[idx[k]].to_pydatetime()
        if idx[k] + 1 < len(coarse_ts):  # and it is the latest such week
            nxt = coarse_ts[idx[k] + 1].tz_convert("America/New_York").tz_localize(None)
            assert nxt.to_period("W") >= bar.to_period("W")


def test_appending_or_altering_future_bars_leaves_past_gru_opinions_unchanged() -> None:
    bars = _bars()
    panel, _features, names = _panels(bars)
    member = CoarseMember(Echo(), names, lookback=8)
    local = panel.ts.tz_convert("America/New_York")
    cut = next(k for k in range(400, 420) if local[k].weekday() == 2)  # a Wednesday: its week is still open
    cut_ts = panel.ts[cut]
    truncated = bars[bars["ts"] <= cut_ts].reset_index(drop=True)
    altered = bars.copy()
    later = altered["ts"] > cut_ts
    altered.loc[later, ["open", "high", "low", "close"]] *= 3.0
    altered.loc[later, "volume"] *= 0.1

    def opinions(frame: pd.DataFrame) -> list[Array]:
        p, f, _ = _panels(frame)
        m = CoarseMember(Echo(), names, lookback=8)
        return [m.opine(p.close_times[k], FeatureView(f, k)).p_up for k in range(60, cut + 1)]

    full = opinions(bars)
    assert any(np.isfinite(o).all() for o in full), "the member never got out of warm-up"
    for other in (opinions(truncated), opinions(altered)):
        for a, b in zip(full, other, strict=True):
            np.testing.assert_array_equal(a, b)
    assert member.required_features()[-1] == CLOSE
