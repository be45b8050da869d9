"""The advisor prompt: anonymised (no ticker, date or price level) and built from rows up to cycle k only."""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest

from papertrader.core.arrays import Array
from papertrader.data.adapters.bundled import BundledSource
from papertrader.engine.panel import Panel
from papertrader.features.view import FeatureView
from papertrader.signals.advisors.prompt import SYSTEM_PROMPT, PromptSpec, render, summarize

SYMBOLS = ("AAPL", "IBM", "MSFT")
SPEC = PromptSpec()


@cache
def _real() -> tuple[Panel, dict[str, Array]]:
    """Real daily bars that ship inside an installed package (bokeh sampledata), no network."""
    _, frame = next(BundledSource(symbols=SYMBOLS).bars())
    panel = Panel.from_long(frame, "1d", SYMBOLS)
    return panel, {"close": panel.prices.close.copy(), "volume": panel.prices.volume.copy()}


def test_the_prompt_names_no_ticker_no_date_and_no_price_level() -> None:
    panel, features = _real()
    k = 1500
    summary = summarize(FeatureView(features, k), SPEC)
    assert summary.ready.all()
    when = panel.ts[k]
    for i, symbol in enumerate(SYMBOLS):
        text = render(summary, i, SPEC) + SYSTEM_PROMPT
        assert symbol not in text.upper()
        assert not re.search(r"\b(19|20)\d\d\b", text), "no year"
        assert when.strftime("%Y") not in text and when.strftime("%b") not in text and when.strftime("%A") not in text
        close, volume = features["close"][k, i], features["volume"][k, i]
        assert f"{close:.2f}" not in text and f"{close:.1f}" not in text, "no price level"
        assert str(int(volume)) not in text, "no volume level"


def test_changing_rows_after_cycle_k_leaves_every_prompt_unchanged() -> None:
    _, features = _real()
    k = 1200
    before = summarize(FeatureView(features, k), SPEC)
    future = {name: panel.copy() for name, panel in features.items()}
    rng = np.random.default_rng(7)
    for panel in future.values():
        panel[k + 1 :] *= rng.uniform(0.5, 2.0, size=panel[k + 1 :].shape)
    after = summarize(FeatureView(future, k), SPEC)
    for i in range(len(SYMBOLS)):
        assert render(before, i, SPEC) == render(after, i, SPEC)
    changed_now = {name: panel.copy() for name, panel in features.items()}
    changed_now["close"][k] *= 1.05
    assert render(summarize(FeatureView(changed_now, k), SPEC), 0, SPEC) != render(before, 0, SPEC)


def test_a_symbol_without_a_full_window_gets_no_prompt() -> None:
    _, features = _real()
    assert not summarize(FeatureView(features, SPEC.lookback - 2), SPEC).ready.any()
    gappy = {name: panel.copy() for name, panel in features.items()}
    gappy["close"][990, 1] = np.nan
    summary = summarize(FeatureView(gappy, 1000), SPEC)
    assert summary.ready.tolist() == [True, False, True]
    assert np.isnan(summary.ret_1[1])
    with pytest.raises(ValueError):
        render(summary, 1, SPEC)


def test_the_statistics_match_a_direct_computation_on_synthetic_prices() -> None:
    # Synthetic prices (this unit test only): a steady 1% rise per bar, constant volume then a spike.
    t = 80
    close = np.asarray(100.0 * 1.01 ** np.arange(t), dtype=np.float64)[:, None]
    volume = np.full((t, 1), 1_000.0)
    volume[-1, 0] = 5_000.0
    volume[:-1, 0] += np.arange(t - 1) % 2  # a little variation so the z-score is defined
    summary = summarize(FeatureView({"close": close, "volume": volume}, t - 1), SPEC)
    assert summary.ret_1[0] == pytest.approx(0.01)
    assert summary.ret_5[0] == pytest.approx(1.01**5 - 1)
    assert summary.ret_60[0] == pytest.approx(1.01**60 - 1)
    assert summary.rsi_14[0] == pytest.approx(100.0)
    assert summary.range_pos_20[0] == pytest.approx(1.0)
    assert summary.drawdown_60[0] == pytest.approx(0.0)
    assert summary.up_bars_20[0] == 20
    assert summary.vol_20[0] == pytest.approx(0.0, abs=1e-12)
    assert summary.volume_z_20[0] > 1_000
    text = render(summary, 0, SPEC)
    assert "+1.00 / +5.10 / +22.02 / +81.67" in text
    assert "RSI(14, simple averages, 0-100): 100.0" in text
