"""Performance statistics as pure functions of an equity curve and a list of fills."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from decimal import Decimal

import numpy as np

from papertrader.core.arrays import FloatArray
from papertrader.domain.types import Fill, Position

TRADING_DAYS = 252


@dataclass(frozen=True, slots=True)
class Metrics:
    """Headline numbers of one equity curve; ratios are fractions (0.1 = 10%), risk-free rate 0."""

    total_return: float
    cagr: float
    volatility: float
    sharpe: float
    sortino: float
    max_drawdown: float
    exposure: float
    turnover: float
    trades: int
    round_trips: int
    hit_rate: float
    fees_paid: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON and tables."""
        return asdict(self)


def returns(equity: FloatArray) -> FloatArray:
    """Simple period returns of an equity curve."""
    equity = np.asarray(equity, dtype=np.float64)
    if equity.size < 2:
        return np.zeros(0)
    return np.asarray(equity[1:] / equity[:-1] - 1.0, dtype=np.float64)


def sharpe(rets: FloatArray, periods_per_year: float) -> float:
    """Annualised mean over standard deviation; 0 when the curve never moves."""
    if rets.size < 2:
        return 0.0
    sd = float(np.std(rets, ddof=1))
    return 0.0 if sd == 0 else float(np.mean(rets)) / sd * math.sqrt(periods_per_year)


def sortino(rets: FloatArray, periods_per_year: float) -> float:
    """Like Sharpe but penalising only downside deviation (target 0)."""
    if rets.size < 2:
        return 0.0
    downside = float(np.sqrt(np.mean(np.minimum(rets, 0.0) ** 2)))
    return 0.0 if downside == 0 else float(np.mean(rets)) / downside * math.sqrt(periods_per_year)


def drawdown(equity: FloatArray) -> FloatArray:
    """Fractional distance below the running peak at each point (0 or negative)."""
    equity = np.asarray(equity, dtype=np.float64)
    peak = np.maximum.accumulate(equity)
    return np.asarray(equity / peak - 1.0, dtype=np.float64)


def max_drawdown(equity: FloatArray) -> float:
    """The worst peak-to-trough loss, as a negative fraction."""
    return float(drawdown(equity).min()) if len(equity) else 0.0


def cagr(total_return: float, years: float) -> float:
    """Compound annual growth rate; 0 for windows too short to annualise."""
    if years <= 0 or total_return <= -1:
        return -1.0 if total_return <= -1 else 0.0
    return float((1.0 + total_return) ** (1.0 / years) - 1.0)


def round_trip_pnls(fills: Sequence[Fill]) -> list[float]:
    """Net P&L of each flat-to-flat trade per symbol, fees included."""
    positions: dict[str, Position] = {}
    fees: dict[str, Decimal] = {}
    results: list[float] = []
    for fill in fills:
        pos = positions.get(fill.symbol, Position(fill.symbol))
        fees[fill.symbol] = fees.get(fill.symbol, Decimal(0)) + fill.fee
        pos = pos.apply(fill.side, fill.qty, fill.price)
        if pos.qty == 0:
            results.append(float(pos.realized_pnl - fees.pop(fill.symbol)))
            positions.pop(fill.symbol, None)
        else:
            positions[fill.symbol] = pos
    return results


def summarize(
    equity: FloatArray,
    gross_exposure: FloatArray,
    fills: Sequence[Fill],
    periods_per_year: float,
) -> Metrics:
    """All headline metrics for one run. Turnover is traded notional over mean equity, per year."""
    equity = np.asarray(equity, dtype=np.float64)
    rets = returns(equity)
    total = float(equity[-1] / equity[0] - 1.0) if equity.size else 0.0
    years = max(equity.size - 1, 0) / periods_per_year
    traded = sum(float(f.notional) for f in fills)
    mean_equity = float(np.mean(equity)) if equity.size else 0.0
    trips = round_trip_pnls(fills)
    return Metrics(
        total_return=total,
        cagr=cagr(total, years),
        volatility=float(np.std(rets, ddof=1) * math.sqrt(periods_per_year)) if rets.size > 1 else 0.0,
        sharpe=sharpe(rets, periods_per_year),
        sortino=sortino(rets, periods_per_year),
        max_drawdown=max_drawdown(equity),
        exposure=float(np.mean(gross_exposure / equity)) if equity.size else 0.0,
        turnover=traded / mean_equity / years if years > 0 and mean_equity > 0 else 0.0,
        trades=len(fills),
        round_trips=len(trips),
        hit_rate=sum(1 for p in trips if p > 0) / len(trips) if trips else 0.0,
        fees_paid=sum(float(f.fee) for f in fills),
    )


def periods_per_year(session_count: int, bar_count: int) -> float:
    """Bars per year inferred from the data itself: bars per session times 252 sessions."""
    if session_count <= 0:
        return float(TRADING_DAYS)
    return TRADING_DAYS * bar_count / session_count
