"""Streaming (one cycle for the whole universe at a time) gives the batch's numbers to 1e-9, on real replays."""

from __future__ import annotations

import numpy as np
import pandas as pd
from feature_world import load_bars, world

from papertrader.features.inputs import FeatureInputs
from papertrader.features.missing import MissingPolicy
from papertrader.features.pipeline import FeatureBuffer, FeaturePipeline
from papertrader.features.spec import PipelineSpec
from papertrader.features.view import FeatureView


def _assert_stream_matches_batch(inp: FeatureInputs, spec: PipelineSpec, train_rows: int) -> None:
    pipe = FeaturePipeline(spec)
    fitted = pipe.fit(inp, end=inp.ts[train_rows])
    batch = fitted.transform(inp)
    raw = pipe.raw(inp).data
    stream = fitted.stream(inp.symbols, inp.interval, inp.external)
    p = inp.prices
    rows, raws = [], []
    for k in range(len(inp)):
        rows.append(stream.update(inp.ts[k], p.open[k], p.high[k], p.low[k], p.close[k], p.volume[k]))
        raws.append(stream.last_raw)
    streamed = np.stack(rows)  # (T, N, F)
    for i, name in enumerate(batch.names):
        np.testing.assert_allclose(streamed[:, :, i], batch.data[i], rtol=1e-9, atol=1e-9, err_msg=name)
    streamed_raw = np.stack(raws, axis=1)  # (F_raw, T, N)
    for i, name in enumerate(spec.raw_names()):
        np.testing.assert_allclose(streamed_raw[i], raw[i], rtol=1e-9, atol=1e-9, err_msg=f"raw {name}")
    assert len(spec.raw_names()) == batch.data.shape[0] // 2
    assert np.isfinite(batch.data).all()  # the model tensor has no holes: filled values plus masks


def test_hourly_replay_of_five_stocks_streams_the_batch_values() -> None:
    bars = load_bars("1h", ("SPY", "AAPL", "IBM", "BAC", "AIG"))
    bars = bars[(bars["ts"] >= "2008-09-01") & (bars["ts"] < "2009-01-15")]  # Lehman: gaps, halts, jumps
    inp = FeatureInputs.from_long(bars, "1h")
    _assert_stream_matches_batch(inp, PipelineSpec(), train_rows=400)


def test_minute_replay_with_sparse_extended_hours_bars_streams_the_batch_values() -> None:
    bars = load_bars("1m", ("SPY", "IBM", "BAC", "AIG"), "{symbol}-trade-2013-10.csv.gz")
    inp = FeatureInputs.from_long(bars, "1m").head(1500)
    assert np.isnan(inp.prices.close).mean() > 0.2  # many minutes without a trade for some symbols
    _assert_stream_matches_batch(inp, PipelineSpec(), train_rows=700)


def test_daily_etf_replay_with_every_family_streams_the_batch_values() -> None:
    bars = load_bars("1d", ("SPY", "QQQ", "IWM", "EEM"))
    inp = world(bars[(bars["ts"] >= "2000-01-01") & (bars["ts"] < "2003-06-01")], "1d", seed=3)
    _assert_stream_matches_batch(inp, PipelineSpec.all_families(), train_rows=300)


def test_batch_panels_are_the_engines_feature_view_format() -> None:
    bars = load_bars("1d", ("SPY", "QQQ"))
    inp = FeatureInputs.from_long(bars[bars["ts"] < "2001-01-01"], "1d")
    features = FeaturePipeline().fit(inp).transform(inp)
    view = FeatureView(features.panels(), 300)
    np.testing.assert_array_equal(view.now("rsi_14"), features.tensor()[300, :, features.names.index("rsi_14")])
    assert view.window("sma_50_rel", 20).shape == (20, 2)
    assert features.tensor(np.float32).shape == (len(inp), 2, len(features.names))
    assert pd.Index(features.names).is_unique


def test_a_live_loop_reads_streamed_rows_through_the_same_feature_view() -> None:
    bars = load_bars("1d", ("SPY", "QQQ"))
    inp = FeatureInputs.from_long(bars[bars["ts"] < "2001-01-01"], "1d")
    spec = PipelineSpec(missing=MissingPolicy(max_ffill=2, masks=False))
    fitted = FeaturePipeline(spec).fit(inp, end=inp.ts[200])
    batch = fitted.transform(inp)
    assert batch.names == spec.raw_names()
    stream = fitted.stream(inp.symbols, inp.interval)
    buffer = FeatureBuffer(fitted.names, len(inp.symbols), capacity=8)
    p = inp.prices
    for k in range(len(inp)):
        row = stream.update(inp.ts[k], p.open[k], p.high[k], p.low[k], p.close[k], p.volume[k])
        assert buffer.append(row) == k
        live, replayed = FeatureView(buffer.panels(), k), FeatureView(batch.panels(), k)
        for name in ("rsi_14", "sma_200_rel", "cal_days_to_next_session"):
            np.testing.assert_allclose(live.now(name), replayed.now(name), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(np.stack(list(buffer.panels().values())), batch.data, rtol=1e-9, atol=1e-9)
