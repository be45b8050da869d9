"""No look-ahead in any family: data after T, or published after T, never moves a feature at or before T.

T is a real bar (row k). "After T" means: bars after row k; macro observations RELEASED after its start
(reference period end + publication lag), including ones whose reference date lies before T; reports
that became available less than the delay before it; news published at or after its decision time;
earnings dates announced on or after its day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from feature_world import load_bars, world

from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.macro import MacroSpec
from papertrader.features.pipeline import FeaturePipeline, compute_raw
from papertrader.features.spec import PipelineSpec
from papertrader.features.technical import PriceArrays

SPEC = PipelineSpec.all_families()


@pytest.fixture(scope="module")
def full() -> FeatureInputs:
    bars = load_bars("1d", ("SPY", "QQQ", "IWM", "EEM"))
    return world(bars[(bars["ts"] >= "1999-01-01") & (bars["ts"] < "2005-01-01")], "1d", seed=11)


def _release(frame: pd.DataFrame, frequency: str, lag_days: int) -> pd.DatetimeIndex:
    """Independent re-derivation of the documented rule: midnight New York of period end + lag."""
    ref = pd.DatetimeIndex(frame["date"]).tz_convert(None)
    if frequency == "D":
        end = ref + pd.Timedelta(days=1)
    elif frequency == "M":
        end = ref.to_period("M").to_timestamp() + pd.offsets.MonthBegin(1)
    else:
        end = ref.to_period("Q").to_timestamp() + pd.offsets.QuarterBegin(1, startingMonth=1)
    return (end + pd.Timedelta(days=lag_days)).tz_localize("America/New_York")


def _frequency_and_lag(series: str) -> tuple[str, int]:
    for s in MacroSpec().series:
        if s.series == series:
            return s.frequency, s.lag_days
    return "D", -100_000  # a series the spec does not read: alter all of it


def _alter_after(inp: FeatureInputs, k: int, seed: int = 5) -> FeatureInputs:
    rng = np.random.default_rng(seed)
    start, decision = inp.ts[k], inp.decision_times()[k]
    arrays = [a.copy() for a in (inp.prices.open, inp.prices.high, inp.prices.low, inp.prices.close, inp.prices.volume)]
    for a in arrays:
        a[k + 1 :] *= rng.uniform(0.5, 2.0, size=a[k + 1 :].shape)
    ext = inp.external
    assert ext.fundamentals is not None and ext.news is not None and ext.earnings is not None
    macro = {}
    for name, frame in ext.macro.items():
        frame = frame.copy()
        later = np.asarray(_release(frame, *_frequency_and_lag(name)) > start)
        frame.loc[later, "value"] = frame.loc[later, "value"] * rng.uniform(0.5, 1.5, later.sum())
        macro[name] = frame
    fund = ext.fundamentals.copy()
    late = (fund["available_at"] > start - pd.Timedelta(days=1)).to_numpy()  # not yet usable (1-day delay)
    fund.loc[late, "reported_eps"] *= -3.0
    fund.loc[late, "total_equity"] *= 0.1
    news = ext.news.copy()
    late = (news["published_at"] >= decision).to_numpy()
    news.loc[late, "sentiment"] = -news.loc[late, "sentiment"]
    extra = news.iloc[:50].assign(published_at=decision + pd.Timedelta(seconds=1), sentiment=1.0)
    cal = ext.earnings.copy()
    day = start.tz_convert("America/New_York").normalize()
    late = (cal["announced_at"] >= day).to_numpy()
    cal.loc[late, "report_date"] = cal.loc[late, "report_date"] - pd.Timedelta(days=9)
    side = External(macro, fund, pd.concat([news, extra], ignore_index=True), cal)
    return FeatureInputs(inp.symbols, inp.interval, inp.ts, PriceArrays(*arrays), side)


def _truncate_after(inp: FeatureInputs, k: int) -> FeatureInputs:
    start, decision = inp.ts[k], inp.decision_times()[k]
    ext = inp.external
    assert ext.fundamentals is not None and ext.news is not None and ext.earnings is not None
    macro = {n: f[f["date"] <= start] for n, f in ext.macro.items()}
    side = External(
        macro,
        ext.fundamentals[ext.fundamentals["available_at"] <= start],
        ext.news[ext.news["published_at"] < decision],
        ext.earnings[ext.earnings["announced_at"] < start],
    )
    return inp.head(k + 1).with_external(side)


@pytest.mark.parametrize("cut", ["2001-09-10", "2003-06-16", "2004-02-02"])
def test_every_family_at_or_before_t_ignores_what_came_after(full: FeatureInputs, cut: str) -> None:
    k = int(full.ts.searchsorted(pd.Timestamp(cut, tz="America/New_York"))) - 1
    base = compute_raw(SPEC, full)[:, : k + 1]
    for label, other in (("altered", _alter_after(full, k)), ("truncated", _truncate_after(full, k))):
        got = compute_raw(SPEC, other)[:, : k + 1]
        for i, name in enumerate(SPEC.raw_names()):
            np.testing.assert_array_equal(got[i], base[i], err_msg=f"{label}: {name}")
    # and the fitted, filled, scaled features too (scaler fitted before T, as a model would be)
    fitted = FeaturePipeline(SPEC).fit(full, end=full.ts[k - 100])
    a = fitted.transform(full).data[:, : k + 1]
    b = fitted.transform(_alter_after(full, k)).data[:, : k + 1]
    np.testing.assert_array_equal(a, b)
    # none of this is vacuous: every family has real values before T
    for family, names in SPEC.family_names().items():
        idx = [SPEC.raw_names().index(n) for n in names]
        assert np.isfinite(base[idx]).any(axis=(1, 2)).sum() >= len(idx) - 1, family
        spread = [np.nanstd(base[i]) for i in idx if np.isfinite(base[i]).any()]
        assert max(spread) > 0, family


def test_the_macro_check_has_teeth_a_value_released_before_t_does_move_features(full: FeatureInputs) -> None:
    k = int(full.ts.searchsorted(pd.Timestamp("2003-06-16", tz="America/New_York")))
    cpi = full.external.macro["CPILFESL"].copy()
    released = np.asarray(_release(cpi, "M", 20) <= full.ts[k])
    cpi.loc[np.flatnonzero(released)[-1], "value"] *= 1.01  # April's print, released May 21
    ext = full.external
    side = External({**ext.macro, "CPILFESL": cpi}, ext.fundamentals, ext.news, ext.earnings)
    before = compute_raw(SPEC, full)[SPEC.raw_names().index("macro_cpi_core_yoy"), k]
    after = compute_raw(SPEC, full.with_external(side))[SPEC.raw_names().index("macro_cpi_core_yoy"), k]
    assert not np.array_equal(before, after)
    may = cpi["date"] == pd.Timestamp("2003-05-01", tz="UTC")  # reference date before T, released June 21
    assert (_release(cpi[may], "M", 20) > full.ts[k]).all()
