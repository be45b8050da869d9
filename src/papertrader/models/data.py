"""From long bars to what every model family trains on: aligned prices, labels, and per-fold features.

`build_market` is computed once per data set; `featurize` fits the feature pipeline's scaler on a fold's
training rows only and transforms every row with it (features are causal, so transforming later rows with
a scaler fitted earlier is exactly what the live cycle does).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import BoolArray, FloatArray, IntArray
from papertrader.core.errors import ConfigError, DataError
from papertrader.domain.types import Side
from papertrader.execution.fees import commission, market_fill_price
from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.labels import (
    class_index,
    direction_labels,
    entry_prices,
    next_open_returns,
    reversal_labels,
    trend_labels,
)
from papertrader.features.pipeline import FeaturePipeline, FittedPipeline
from papertrader.features.spec import PipelineSpec
from papertrader.features.times import ny_days, to_ns

LabelKind = Literal["direction", "trend"]


#: The position size the label cost band assumes (a round-trip's fees are spread over this notional).
LABEL_NOTIONAL = 10_000.0


def round_trip_cost(
    costs: CostSettings, price: float = 100.0, notional: float = LABEL_NOTIONAL, symbol: str = ""
) -> float:
    """Fraction of notional lost buying then selling once at market (spread, slippage, commissions)."""
    qty = max(1, int(notional / price))
    buy = market_fill_price(price, Side.BUY, costs)
    sell = market_fill_price(price, Side.SELL, costs)
    fees = commission(qty, buy, costs, symbol=symbol) + commission(qty, sell, costs, symbol=symbol)
    return float((buy - sell) * qty + fees) / (price * qty)


def _tick(price: FloatArray) -> FloatArray:
    """Prices on the quoting tick (a cent from $1, 0.0001 below): what an order could actually pay."""
    return np.where(price >= 1.0, np.round(price, 2), np.round(price, 4))


def round_trip_costs(
    costs: CostSettings, entry: FloatArray, symbols: tuple[str, ...], notional: float = LABEL_NOTIONAL
) -> FloatArray:
    """(T, N) round-trip cost of a trade entered at each cell's price (NaN where there is none).

    The fee schedule is applied per cell (per-share commissions, minimums, caps and venue fees make a $5
    share cost several times a $500 one in percent), evaluated once per distinct tick price.
    """
    out = np.full(entry.shape, np.nan)
    for j, symbol in enumerate(symbols):
        col = entry[:, j]
        ok = np.isfinite(col) & (col > 0)
        if not ok.any():
            continue
        prices, inverse = np.unique(_tick(col[ok]), return_inverse=True)
        values = np.array([round_trip_cost(costs, float(p), notional, symbol) for p in prices])
        out[np.flatnonzero(ok), j] = values[inverse]
    return out


@dataclass(frozen=True, slots=True)
class LabelSpec:
    """What a model predicts: direction (LSTM) or trend plus reversal (GRU), over `horizon` own bars."""

    kind: LabelKind = "direction"
    horizon: int = 5
    band: float = 0.0  # 0: exactly the round-trip cost
    band_cost_multiple: float = 1.0

    @property
    def span(self) -> int:
        """Rows after the decision row that a label reads: entry at t+1's open, exit at t+1+horizon's."""
        return self.horizon + 1

    def resolved_band(self, cost: FloatArray) -> FloatArray:
        """The FLAT band per (row, symbol): the larger of `band` and a multiple of that trade's round-trip cost."""
        if self.band_cost_multiple < 1.0:
            raise ConfigError("band_cost_multiple must be >= 1: a move inside the cost is not tradable")
        return np.asarray(np.maximum(self.band, cost * self.band_cost_multiple), dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for artifacts."""
        return asdict(self)


@dataclass(frozen=True)
class Market:
    """One data set: bars on a common time grid, labels and evaluation returns; no scaler yet."""

    inputs: FeatureInputs
    labels: IntArray  # (T, N) class index 0/1/2, -1 unknown
    aux: npt.NDArray[np.float32] | None  # (T, N) reversal 0/1, NaN unknown (trend models only)
    forward: FloatArray  # (T, N) simple next-open to open-after-horizon return (gross), for rank IC
    present: BoolArray  # (T, N) the symbol has a bar at that row
    decision_ns: IntArray  # (T,) when each row's bar is complete
    label_spec: LabelSpec
    band: float  # median FLAT band over the labelled cells (a summary for reports)
    fingerprint: str
    cost: FloatArray  # (T, N) round-trip cost of the trade each label measures (priced at its entry open)
    bands: FloatArray  # (T, N) FLAT band per cell: max(spec band, cost x band_cost_multiple)

    @property
    def symbols(self) -> tuple[str, ...]:
        """Universe, in column order."""
        return self.inputs.symbols

    @property
    def opens(self) -> FloatArray:
        """(T, N) raw opens (fills happen there)."""
        return self.inputs.prices.open

    @property
    def closes(self) -> FloatArray:
        """(T, N) raw closes."""
        return self.inputs.prices.close

    def __len__(self) -> int:
        return len(self.inputs)

    def periods_per_year(self, rows: IntArray | None = None) -> float:
        """Bars per year measured on the data: bars per New York session times 252."""
        ts = self.inputs.ts if rows is None else self.inputs.ts[rows]
        sessions = np.unique(ny_days(ts)).size
        return 252.0 * len(ts) / sessions if sessions else 252.0

    def window(self, start_row: int, stop_row: int) -> tuple[str, str]:
        """ISO stamps of the first and last bar of rows [start_row, stop_row)."""
        ts = self.inputs.ts
        return ts[start_row].isoformat(), ts[max(start_row, stop_row - 1)].isoformat()


def bars_fingerprint(bars: pd.DataFrame) -> str:
    """sha256 of the bars (symbol, ts, OHLCV) in a canonical order: which data a model was trained on."""
    cols = ["symbol", "ts", "open", "high", "low", "close", "volume"]
    frame = bars[cols].sort_values(["symbol", "ts"], kind="mergesort")
    h = hashlib.sha256()
    h.update("|".join(frame["symbol"].astype(str)).encode())
    h.update(np.asarray(pd.DatetimeIndex(frame["ts"]).asi8, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(frame[cols[2:]].to_numpy(dtype=np.float64)).tobytes())
    return h.hexdigest()


def window_fingerprint(market: Market, rows: tuple[int, int]) -> str:
    """Fingerprint of the bars inside a training window only (what a version's manifest says it learned from)."""
    p = market.inputs.prices
    start, stop = rows
    frame = pd.DataFrame(
        {
            "symbol": np.repeat(np.array(market.symbols, dtype=object)[None, :], stop - start, axis=0).ravel(),
            "ts": np.repeat(market.inputs.ts[start:stop], len(market.symbols)),
            **{name: getattr(p, name)[start:stop].ravel() for name in ("open", "high", "low", "close", "volume")},
        }
    ).dropna(subset=["close"])
    return bars_fingerprint(frame)


def build_market(
    bars: pd.DataFrame,
    interval: str,
    label_spec: LabelSpec,
    costs: CostSettings,
    external: External | None = None,
    symbols: tuple[str, ...] | None = None,
) -> Market:
    """Align long bars on one time grid and compute the labels (the only forward-looking step).

    A label at row t is the trade decided at t's close: entered at the next open, exited `horizon` bars
    later at the open, classified against a band >= the round-trip cost priced at that entry open.
    """
    if bars.empty:
        raise DataError(f"no {interval} bars to train on; import data first (papertrader data import)")
    inputs = FeatureInputs.from_long(bars, interval, external, symbols)
    close, open_ = inputs.prices.close, inputs.prices.open
    cost = round_trip_costs(costs, entry_prices(open_), inputs.symbols)
    band = label_spec.resolved_band(cost)
    h = label_spec.horizon
    aux: npt.NDArray[np.float32] | None = None
    if label_spec.kind == "direction":
        raw = direction_labels(open_, h, band, cost)
    else:
        raw = trend_labels(open_, h, band, cost)
        aux = reversal_labels(close, open_, h, band, cost).astype(np.float32)
    finite = band[np.isfinite(band)]
    return Market(
        inputs=inputs,
        labels=class_index(raw),
        aux=aux,
        forward=next_open_returns(open_, h),
        present=np.isfinite(close),
        decision_ns=to_ns(inputs.decision_times()),
        label_spec=label_spec,
        band=float(np.median(finite)) if finite.size else float("nan"),
        fingerprint=bars_fingerprint(bars),
        cost=cost,
        bands=band,
    )


def featurize(
    market: Market, spec: PipelineSpec, train: tuple[int, int]
) -> tuple[FittedPipeline, np.ndarray[Any, np.dtype[np.float32]]]:
    """Fit the pipeline on rows [train) only, then transform every row: ((T, N, F) float32, fitted)."""
    ts = market.inputs.ts
    start, stop = train
    if not 0 <= start < stop <= len(ts):
        raise DataError(f"training rows {train} outside the data (0..{len(ts)})")
    end = ts[stop].to_pydatetime() if stop < len(ts) else None
    fitted = FeaturePipeline(spec).fit(market.inputs, ts[start].to_pydatetime(), end)
    tensor = fitted.transform(market.inputs).tensor(np.float32)
    return fitted, tensor


def transform(fitted: FittedPipeline, inputs: FeatureInputs) -> np.ndarray[Any, np.dtype[np.float32]]:
    """(T, N, F) float32 features of new bars with an already fitted pipeline (inference, evaluation)."""
    return fitted.transform(inputs).tensor(np.float32)
