"""Calibrate the fill model against real quotes: how wrong are the estimated spread and market-order cost?

Inputs are 1-minute TRADE bars (open..volume) and 1-minute QUOTE bars (bid_open..ask_close) for one
symbol over the same period. Only regular-session minutes are used. For every minute t whose next
minute t+1 is in the same session, a market buy and a market sell are decided at t's close and filled
by the real PaperBroker at t+1's open; what they would really have paid is the ask (buy) or bid (sell)
at t+1's open. Costs are in basis points of the quote mid at t+1's open, so a real buy at the ask costs
exactly half the quoted spread; a positive model error means the model charged more than reality.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from papertrader.config.settings import CostSettings, ExecutionSettings
from papertrader.domain.types import Order, OrderType, Side, TimeInForce
from papertrader.execution.broker import BarSlice, BrokerReport, PaperBroker
from papertrader.execution.spreads import abdi_ranaldo_spread, corwin_schultz_spread, estimate_spread

NY = "America/New_York"
TRAILING_BARS = 30


@dataclass(frozen=True, slots=True)
class ModelCost:
    """One fill model's market-order cost against the real quotes, pooled over buys and sells."""

    name: str
    description: str
    fills: int
    real_cost_bps: float
    model_cost_bps: float
    error_bps: float
    mae_bps: float


@dataclass(frozen=True, slots=True)
class SymbolCalibration:
    """The calibration numbers for one symbol (spreads and costs in basis points of the mid)."""

    symbol: str
    minutes: int
    real_spread_median_bps: float
    real_spread_mean_bps: float
    est_spread_bps: float
    est_error_bps: float
    est_error_pct: float
    est_raw_abdi_ranaldo_bps: float
    est_corwin_schultz_bps: float
    est_trailing_median_bps: float
    real_cost_bps: float
    real_cost_vs_trade_open_bps: float
    models: tuple[ModelCost, ...]

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict with stable keys."""
        return asdict(self)


def regular_session(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows whose bar starts in 09:30-16:00 New York time, with a `ts` UTC column and a `day` column."""
    ts = pd.to_datetime(frame["timestamp"], utc=True) if "ts" not in frame else frame["ts"]
    local = ts.dt.tz_convert(NY)
    minutes = local.dt.hour * 60 + local.dt.minute
    keep = (minutes >= 9 * 60 + 30) & (minutes < 16 * 60)
    out = frame.loc[keep].copy()
    out["ts"] = ts[keep]
    out["day"] = local[keep].dt.date
    return out.reset_index(drop=True)


def daily_spread_estimates(trades: pd.DataFrame, min_tick: float = 0.01) -> dict[str, float]:
    """Mean over sessions of each estimator on that session's minute bars, in bps (no overnight pairs)."""
    ar, ar_floor, cs = [], [], []
    for _, g in trades.groupby("day"):
        h, lo, c = g["high"].to_numpy(), g["low"].to_numpy(), g["close"].to_numpy()
        ar.append(float(abdi_ranaldo_spread(h, lo, c)[0]))
        ar_floor.append(float(estimate_spread(h, lo, c, "abdi_ranaldo", min_tick)[0]))
        cs.append(float(corwin_schultz_spread(h, lo, c)[0]))
    return {
        "abdi_ranaldo": float(np.nanmean(ar)) * 1e4,
        "abdi_ranaldo_floored": float(np.nanmean(ar_floor)) * 1e4,
        "corwin_schultz": float(np.nanmean(cs)) * 1e4,
    }


def simulate_market_fills(trades: pd.DataFrame, symbol: str, costs: CostSettings) -> pd.DataFrame:
    """Fill a 1-share market buy and sell decided at each minute's close through PaperBroker.

    Returns one row per filled minute: ts (the fill bar), buy and sell prices. The broker sees the bars
    one at a time, so any estimate it makes (costs.execution.market_window) uses earlier bars only.
    """
    broker = PaperBroker([symbol], costs)
    rows: list[tuple[datetime, float, float]] = []
    cash = Decimal(10**9)
    days = trades["day"].to_numpy()
    starts = [t.to_pydatetime() for t in trades["ts"]]
    ohlcv = trades[["open", "high", "low", "close", "volume"]].to_numpy(dtype=np.float64)
    for k, start in enumerate(starts):
        row = ohlcv[k]
        bar = BarSlice(k, start, start + timedelta(minutes=1), *(row[j : j + 1] for j in range(5)))
        report = BrokerReport()
        broker.on_bars(bar, cash, report)
        prices = {f.side: float(f.price) for f in report.fills}
        if len(prices) == 2:
            rows.append((start, prices[Side.BUY], prices[Side.SELL]))
        for order in broker.working:
            broker.cancel(order.id, start, "calibration: one bar only", BrokerReport())
        if k + 1 < len(starts) and days[k + 1] == days[k]:
            for side in (Side.BUY, Side.SELL):
                order = Order(
                    f"{k}{side.value}", symbol, side, 1, OrderType.MARKET, bar.close_time, tif=TimeInForce.GTC
                )
                broker.submit(order, bar.close_time, BrokerReport())
    return pd.DataFrame(rows, columns=["ts", "buy", "sell"])


def _model_cost(name: str, description: str, fills: pd.DataFrame, real: pd.DataFrame) -> ModelCost:
    joined = fills.merge(real, on="ts", how="inner")
    mid = joined["mid"]
    model = pd.concat([(joined["buy"] - mid) / mid, (mid - joined["sell"]) / mid]) * 1e4
    actual = pd.concat([(joined["ask_open"] - mid) / mid, (mid - joined["bid_open"]) / mid]) * 1e4
    error = model - actual
    return ModelCost(
        name,
        description,
        len(joined),
        float(actual.mean()),
        float(model.mean()),
        float(error.mean()),
        float(error.abs().mean()),
    )


def calibrate_symbol(
    symbol: str, trades: pd.DataFrame, quotes: pd.DataFrame, costs: CostSettings | None = None
) -> SymbolCalibration:
    """All calibration numbers for one symbol from its raw trade and quote minute bars."""
    trades = regular_session(trades)
    quotes = regular_session(quotes)
    quotes = quotes[(quotes["bid_open"] > 0) & (quotes["ask_open"] >= quotes["bid_open"])].copy()
    quotes["mid"] = (quotes["bid_open"] + quotes["ask_open"]) / 2
    spread = (quotes["ask_open"] - quotes["bid_open"]) / quotes["mid"] * 1e4
    estimates = daily_spread_estimates(trades)
    h, lo, c = trades["high"].to_numpy(), trades["low"].to_numpy(), trades["close"].to_numpy()
    trailing = [
        float(
            estimate_spread(
                h[i - TRAILING_BARS : i], lo[i - TRAILING_BARS : i], c[i - TRAILING_BARS : i], min_tick=0.01
            )[0]
        )
        for i in range(TRAILING_BARS, len(c))
    ]
    real = quotes[["ts", "bid_open", "ask_open", "mid"]]
    base = costs or CostSettings()
    fixed = base.model_copy(update={"execution": ExecutionSettings(max_volume_fraction=None)})
    estimated = base.model_copy(
        update={
            "slippage_bps": 0.0,
            "execution": ExecutionSettings(
                max_volume_fraction=None, spread_model="estimate", market_window=TRAILING_BARS
            ),
        }
    )
    models = (
        _model_cost(
            "fixed",
            f"default: trade open +/- (spread {base.spread_bps:g} / 2 + slippage {base.slippage_bps:g}) bps",
            simulate_market_fills(trades, symbol, fixed),
            real,
        ),
        _model_cost(
            "estimated",
            f"trade open +/- half the Abdi-Ranaldo spread of the {TRAILING_BARS} past bars (tick floor), no slippage",
            simulate_market_fills(trades, symbol, estimated),
            real,
        ),
    )
    open_at = trades[["ts", "open"]].merge(real, on="ts")
    vs_open = pd.concat(
        [
            (open_at["ask_open"] - open_at["open"]) / open_at["open"],
            (open_at["open"] - open_at["bid_open"]) / open_at["open"],
        ]
    )
    real_median = float(spread.median())
    est = estimates["abdi_ranaldo_floored"]
    return SymbolCalibration(
        symbol=symbol,
        minutes=len(trades),
        real_spread_median_bps=real_median,
        real_spread_mean_bps=float(spread.mean()),
        est_spread_bps=est,
        est_error_bps=est - real_median,
        est_error_pct=(est - real_median) / real_median * 100.0,
        est_raw_abdi_ranaldo_bps=estimates["abdi_ranaldo"],
        est_corwin_schultz_bps=estimates["corwin_schultz"],
        est_trailing_median_bps=float(np.nanmedian(trailing)) * 1e4,
        real_cost_bps=models[0].real_cost_bps,
        real_cost_vs_trade_open_bps=float(vs_open.mean()) * 1e4,
        models=models,
    )
