"""A compact, numeric, ANONYMISED summary of one symbol at the current bar: what an advisor is shown.

Why anonymised: a language model has read the news and prices of any historical date. Shown "AAPL on
2008-09-12" it can recall what happened next, and its forecast becomes look-ahead. So the prompt carries no
ticker, no date or weekday, no absolute price or volume level (a price level plus a trend can identify a
stock and a period): only scale-free statistics, rounded. This reduces the leak but cannot remove it, which
is why advisors stay off in backtests unless a user opts in (``AdvisorSettings.in_backtests``).

Why only the view: every number comes from ``FeatureView.window`` ending at cycle k, so rows after k are
unreachable and changing them cannot change a prompt. The statistics are computed for all N symbols at once
from the close (and, when named, volume) panels; a symbol needs ``lookback`` finite, positive closes ending
at k, otherwise it gets no prompt and the advisor has no view on it.

RSI here is Cutler's (simple averages of the last 14 changes), not TA-Lib's Wilder RSI, so it depends on
the window alone and is identical however long the run has been going.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from papertrader.core.arrays import Array
from papertrader.features.view import FeatureView

SYSTEM_PROMPT: Final = (
    "You are a disciplined quantitative analyst on an investment committee. You see statistics of one "
    "anonymous US-listed stock, computed only from bars up to the latest close; the name and dates are "
    "withheld on purpose, so do not guess them. Judge the next move from these numbers alone. Reply with "
    'one JSON object and nothing else: {"direction": "up" | "down" | "flat", "confidence": number from 0 '
    'to 1, "reason": string of at most 120 characters}. Use "flat" when the evidence is weak.'
)


@dataclass(frozen=True, slots=True)
class PromptSpec:
    """Which panels the summary reads and the horizon the question names."""

    close: str = "close"
    volume: str | None = "volume"
    horizon_bars: int = 5
    lookback: int = 61

    def __post_init__(self) -> None:
        if self.lookback < 61:
            raise ValueError("the summary needs a lookback of at least 61 bars (60 one-bar changes)")
        if self.horizon_bars < 1:
            raise ValueError("horizon_bars must be positive")

    def required_features(self) -> tuple[str, ...]:
        """The panels read through the view."""
        return (self.close,) if self.volume is None else (self.close, self.volume)


@dataclass(frozen=True, slots=True)
class Summary:
    """Per-symbol statistics at one cycle, (N,) arrays; `ready` marks symbols with a full window."""

    ready: npt.NDArray[np.bool_]
    ret_1: Array
    ret_5: Array
    ret_20: Array
    ret_60: Array
    vol_20: Array
    vol_60: Array
    rsi_14: Array
    dist_sma20: Array
    dist_sma50: Array
    sma20_vs_sma50: Array
    range_pos_20: Array
    drawdown_60: Array
    up_bars_20: Array
    volume_z_20: Array
    flat_band: Array


def summarize(view: FeatureView, spec: PromptSpec) -> Summary:
    """Statistics for every symbol from the last `lookback` rows up to the view's cycle (vectorised)."""
    c = view.window(spec.close, spec.lookback)
    n = c.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        full = c.shape[0] == spec.lookback
        ready = np.asarray(full & np.all(np.isfinite(c) & (c > 0), axis=0), dtype=np.bool_)
        if not ready.any():
            nan = np.full(n, np.nan)
            return Summary(ready, *(nan.copy() for _ in range(15)))
        safe = np.where(ready[None, :], c, 1.0)
        last = safe[-1]
        r = safe[1:] / safe[:-1] - 1.0
        lr = np.log(safe[1:] / safe[:-1])
        vol_20 = np.std(lr[-20:], axis=0, ddof=1)
        vol_60 = np.std(lr[-60:], axis=0, ddof=1)
        diff = np.diff(safe[-15:], axis=0)
        gain = np.mean(np.clip(diff, 0.0, None), axis=0)
        loss = np.mean(np.clip(-diff, 0.0, None), axis=0)
        total = gain + loss
        rsi = np.where(total > 0, 100.0 * gain / np.where(total > 0, total, 1.0), 50.0)
        sma20 = np.mean(safe[-20:], axis=0)
        sma50 = np.mean(safe[-50:], axis=0)
        hi20, lo20 = np.max(safe[-20:], axis=0), np.min(safe[-20:], axis=0)
        span = hi20 - lo20
        range_pos = np.where(span > 0, (last - lo20) / np.where(span > 0, span, 1.0), 0.5)
        volume_z = np.full(n, np.nan)
        if spec.volume is not None:
            v = view.window(spec.volume, 21)
            if v.shape[0] == 21:
                prior = v[:-1]
                mu = np.mean(prior, axis=0)
                sd = np.std(prior, axis=0, ddof=1)
                volume_z = np.where(sd > 0, (v[-1] - mu) / np.where(sd > 0, sd, 1.0), 0.0)
                volume_z = np.where(np.all(np.isfinite(v), axis=0), volume_z, np.nan)
        stats = {
            "ret_1": r[-1],
            "ret_5": last / safe[-6] - 1.0,
            "ret_20": last / safe[-21] - 1.0,
            "ret_60": last / safe[-61] - 1.0,
            "vol_20": vol_20,
            "vol_60": vol_60,
            "rsi_14": rsi,
            "dist_sma20": last / sma20 - 1.0,
            "dist_sma50": last / sma50 - 1.0,
            "sma20_vs_sma50": sma20 / sma50 - 1.0,
            "range_pos_20": range_pos,
            "drawdown_60": last / np.max(safe[-61:], axis=0) - 1.0,
            "up_bars_20": np.sum(r[-20:] > 0, axis=0).astype(np.float64),
            "volume_z_20": volume_z,
            "flat_band": 0.5 * vol_20 * np.sqrt(spec.horizon_bars),
        }
    masked = {name: np.where(ready, np.asarray(values, dtype=np.float64), np.nan) for name, values in stats.items()}
    return Summary(ready=ready, **masked)


def _pct(x: float) -> str:
    return f"{100.0 * x:+.2f}"


def render(summary: Summary, i: int, spec: PromptSpec) -> str:
    """The user message for symbol i: numbers only, no ticker, no date, no price level (see module doc)."""
    if not summary.ready[i]:
        raise ValueError(f"symbol {i} has no full {spec.lookback}-bar window at this cycle")
    s = summary
    volume = "n/a" if not np.isfinite(s.volume_z_20[i]) else f"{s.volume_z_20[i]:+.2f}"
    h = spec.horizon_bars
    lines = (
        "Anonymous US-listed stock. Statistics up to the latest close (percent unless noted):",
        f"return over last 1/5/20/60 bars: {_pct(s.ret_1[i])} / {_pct(s.ret_5[i])} / "
        f"{_pct(s.ret_20[i])} / {_pct(s.ret_60[i])}",
        f"std of 1-bar log returns, last 20 / 60 bars: {100 * s.vol_20[i]:.2f} / {100 * s.vol_60[i]:.2f}",
        f"RSI(14, simple averages, 0-100): {s.rsi_14[i]:.1f}",
        f"close vs 20-bar / 50-bar mean close: {_pct(s.dist_sma20[i])} / {_pct(s.dist_sma50[i])}",
        f"20-bar mean vs 50-bar mean: {_pct(s.sma20_vs_sma50[i])}",
        f"position of close in 20-bar close range (0 = low, 1 = high): {s.range_pos_20[i]:.2f}",
        f"drawdown from 60-bar highest close: {_pct(s.drawdown_60[i])}",
        f"up bars among last 20: {int(s.up_bars_20[i])}",
        f"volume z-score vs prior 20 bars (number): {volume}",
        f"Question: over the next {h} bars, will the close rise (up), fall (down), or move less than "
        f"{100 * s.flat_band[i]:.2f} percent either way (flat)?",
        'Answer with JSON only: {"direction": "up|down|flat", "confidence": 0..1, "reason": "<= 120 chars"}',
    )
    return "\n".join(lines)
