"""News sentiment per symbol: relevance-weighted, exponentially decayed, as of each decision time.

At decision time tau (the bar's close) with half-life h, over the items i of a symbol published strictly
before tau:

    decayed   A(tau) = sum_i relevance_i * sentiment_i * 2 ** (-(tau - published_i) / h)
    intensity W(tau) = sum_i relevance_i * 2 ** (-(tau - published_i) / h)
    score     A / W when W >= min_weight, else 0 (no recent news reads as neutral)

Both batch and streaming run the same recursion (the same code) A_k = A_{k-1} * 2 ** (-(tau_k - tau_{k-1}) / h) + the
items published in [tau_{k-1}, tau_k), so they agree to the last bit. An item that arrives late (after a
decision it should have been part of) is used from the next decision on, with its true age.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import Array, IntArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.features.times import NS_PER_HOUR


@dataclass(frozen=True, slots=True)
class SentimentSpec:
    """Half-lives (hours) of the decay, and the weight below which the score is reported as neutral."""

    half_lives_hours: tuple[float, ...] = (24.0,)
    min_weight: float = 0.05

    def __post_init__(self) -> None:
        if not self.half_lives_hours or min(self.half_lives_hours) <= 0:
            raise ConfigError("sentiment.half_lives_hours must be positive")
        if len(set(self.half_lives_hours)) != len(self.half_lives_hours) or self.min_weight <= 0:
            raise ConfigError("sentiment: unique half-lives and a positive min_weight")

    def names(self) -> tuple[str, ...]:
        """Column names, in a stable order."""
        out: list[str] = []
        for h in self.half_lives_hours:
            tag = f"{h:g}h"
            out += [f"sent_score_{tag}", f"sent_decayed_{tag}", f"news_intensity_{tag}"]
        return tuple(out)


@dataclass(frozen=True)
class NewsItems:
    """Scored items in publication order, with each one's symbol column and weights."""

    published: IntArray
    column: npt.NDArray[np.intp]
    relevance: Array
    weighted: Array  # relevance * sentiment


def prepare_news(frame: pd.DataFrame | None, symbols: tuple[str, ...]) -> NewsItems:
    """Items of the universe's symbols, sorted by publication time (stable), invalid rows dropped."""
    if frame is None or frame.empty:
        empty_f = np.zeros(0, dtype=np.float64)
        return NewsItems(np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.intp), empty_f, empty_f)
    need = {"symbol", "published_at", "sentiment", "relevance"}
    if not need <= set(frame.columns):
        raise DataError(f"news needs columns {sorted(need)} (got {sorted(frame.columns)})")
    index = {s: j for j, s in enumerate(symbols)}
    col = frame["symbol"].map(index)
    published = pd.to_datetime(frame["published_at"], utc=True)
    sent = pd.to_numeric(frame["sentiment"], errors="coerce")
    rel = pd.to_numeric(frame["relevance"], errors="coerce")
    keep = col.notna() & published.notna() & np.isfinite(sent) & np.isfinite(rel) & (rel > 0)
    pub = published[keep].astype("int64").to_numpy()
    order = np.argsort(pub, kind="stable")
    r = rel[keep].to_numpy(dtype=np.float64)[order]
    return NewsItems(
        published=np.asarray(pub[order], dtype=np.int64),
        column=col[keep].to_numpy(dtype=np.intp)[order],
        relevance=r,
        weighted=r * np.clip(sent[keep].to_numpy(dtype=np.float64)[order], -1.0, 1.0),
    )


class SentimentState:
    """Decayed sums for every symbol and half-life, advanced one decision time at a time."""

    def __init__(self, spec: SentimentSpec, items: NewsItems, n_symbols: int) -> None:
        self.spec = spec
        self.items = items
        k = len(spec.half_lives_hours)
        self.decayed = np.zeros((k, n_symbols))
        self.intensity = np.zeros((k, n_symbols))
        self._tau: int | None = None
        self._pos = 0
        self._hl_ns = [h * NS_PER_HOUR for h in spec.half_lives_hours]

    def replace_items(self, items: NewsItems) -> None:
        """Swap in a refreshed item list; items published before the last decision are taken as seen."""
        self.items = items
        self._pos = 0 if self._tau is None else int(np.searchsorted(items.published, self._tau, side="left"))

    def advance(self, tau_ns: int, end: int | None = None) -> None:
        """Decay to tau and add the items published before it (`end`: their count, if already known)."""
        if self._tau is not None:
            if tau_ns < self._tau:
                raise DataError("sentiment decision times must not go backwards")
            dt = float(tau_ns - self._tau)
            if dt > 0:
                for i, hl in enumerate(self._hl_ns):
                    decay = math.exp2(-dt / hl)
                    self.decayed[i] *= decay
                    self.intensity[i] *= decay
        if end is None:
            end = int(np.searchsorted(self.items.published, tau_ns, side="left"))
        if end > self._pos:
            sl = slice(self._pos, end)
            age = (tau_ns - self.items.published[sl]).astype(np.float64)
            cols = self.items.column[sl]
            for i, hl in enumerate(self._hl_ns):
                f = np.exp2(-age / hl)
                np.add.at(self.decayed[i], cols, self.items.weighted[sl] * f)
                np.add.at(self.intensity[i], cols, self.items.relevance[sl] * f)
            self._pos = end
        self._tau = tau_ns

    def update(self, tau_ns: int) -> dict[str, Array]:
        """Features at one decision time (must not go backwards)."""
        self.advance(tau_ns)
        return features_from(self.decayed, self.intensity, self.spec)


def features_from(decayed: Array, intensity: Array, spec: SentimentSpec) -> dict[str, Array]:
    """Named features from the decayed sums, (K, ...) with one row per half-life."""
    out: dict[str, Array] = {}
    for i, h in enumerate(spec.half_lives_hours):
        tag = f"{h:g}h"
        a, w = decayed[i], intensity[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"sent_score_{tag}"] = np.where(w >= spec.min_weight, a / w, 0.0)
        out[f"sent_decayed_{tag}"] = a.copy()
        out[f"news_intensity_{tag}"] = w.copy()
    return out


def compute_sentiment(items: NewsItems, decision_ns: IntArray, n_symbols: int, spec: SentimentSpec) -> dict[str, Array]:
    """Sentiment features as (T, N) panels at each row's decision time (items strictly before it)."""
    k = len(spec.half_lives_hours)
    decayed = np.zeros((k, decision_ns.size, n_symbols))
    intensity = np.zeros((k, decision_ns.size, n_symbols))
    if items.published.size:
        state = SentimentState(spec, items, n_symbols)
        ends = np.searchsorted(items.published, decision_ns, side="left")
        for t, (tau, end) in enumerate(zip(decision_ns.tolist(), ends.tolist(), strict=True)):
            state.advance(tau, end)
            decayed[:, t] = state.decayed
            intensity[:, t] = state.intensity
    return features_from(decayed, intensity, spec)
