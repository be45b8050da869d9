"""What a prediction is worth after costs: a next-bar-open rule traded with the project's cost functions.

At the close of decision bar t the rule sets a target position per symbol (+1 long, 0 flat, -1 short) of
an equal capital sleeve; the order fills at bar t+1's open at `execution.fees.market_fill_price` (half
spread plus slippage, against us) and pays `execution.fees.commission`, exactly as the PaperBroker does.
Whole shares only. Equity is marked at each fill open, so returns are open-to-open.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from papertrader.config.settings import CostSettings
from papertrader.core.arrays import FloatArray, IntArray
from papertrader.domain.types import Side
from papertrader.execution.fees import commission, market_fill_price


@dataclass(frozen=True, slots=True)
class TradingScores:
    """Net-of-cost performance of one rule over one window."""

    total_return: float
    sharpe: float
    max_drawdown: float
    trades: int
    fees: float
    exposure: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict for JSON and tables."""
        return asdict(self)


@dataclass(frozen=True)
class TradingRun:
    """The equity curve (one point per decision row plus a final mark) and its scores."""

    equity: FloatArray
    scores: TradingScores


def sharpe_ratio(rets: FloatArray, periods_per_year: float) -> float:
    """Annualised mean over standard deviation of period returns; 0 when flat."""
    if rets.size < 2:
        return 0.0
    sd = float(np.std(rets, ddof=1))
    return 0.0 if sd == 0 else float(np.mean(rets)) / sd * math.sqrt(periods_per_year)


def max_drawdown(equity: FloatArray) -> float:
    """Worst peak-to-trough loss of an equity curve, as a negative fraction."""
    if equity.size == 0:
        return 0.0
    peak = np.maximum.accumulate(equity)
    return float(np.min(equity / peak - 1.0))


def positions_from_probs(probs: FloatArray, up: int, down: int, long_short: bool) -> FloatArray:
    """+1 when UP is the most likely class, -1 when DOWN is (long/short only), else 0."""
    pred = np.argmax(probs, axis=1)
    pos = np.where(pred == up, 1.0, 0.0)
    if long_short:
        pos = np.where(pred == down, -1.0, pos)
    return np.asarray(pos, dtype=np.float64)


def live_symbols(opens: FloatArray, rows: IntArray) -> list[int]:
    """Columns with at least one tradable open during the window's fills."""
    if rows.size == 0:
        return []
    block = opens[int(rows[0]) + 1 : int(rows[-1]) + 2]
    return [j for j in range(opens.shape[1]) if np.isfinite(block[:, j]).any()]


def _trade(qty: int, ref: float, cash: float, costs: CostSettings) -> tuple[float, float]:
    """Cash after buying (qty > 0) or selling (qty < 0) at market, and the fee paid."""
    side = Side.BUY if qty > 0 else Side.SELL
    price = market_fill_price(ref, side, costs)
    fee = commission(abs(qty), price, costs)
    delta = -side.sign * price * abs(qty) - fee
    return cash + float(delta), float(fee)


def _sleeve(
    targets: FloatArray, opens: FloatArray, closes: FloatArray, rows: IntArray, capital: float, costs: CostSettings
) -> tuple[FloatArray, int, float, FloatArray]:
    """One symbol's equity at each fill open after rows[i], plus a final mark; trades, fees, exposure."""
    cash, shares, last_price = capital, 0, math.nan
    equity = np.empty(rows.size + 1)
    exposure = np.zeros(rows.size + 1)
    trades, fees = 0, 0.0
    t_max = opens.size
    for i, t in enumerate(rows):
        ref = opens[t + 1] if t + 1 < t_max else math.nan
        if math.isfinite(ref) and ref > 0:
            last_price = ref
            value = cash + shares * ref
            want = int(targets[i] * value / ref) if math.isfinite(targets[i]) else 0
            if want != shares:
                cash, fee = _trade(want - shares, ref, cash, costs)
                fees += fee
                trades += 1
                shares = want
        equity[i] = cash + shares * last_price if shares else cash
        exposure[i] = abs(shares * last_price) / equity[i] if shares and equity[i] > 0 else 0.0
    last = int(rows[-1]) if rows.size else 0
    final = math.nan
    if last + 2 < t_max and math.isfinite(opens[last + 2]):
        final = opens[last + 2]
    elif last + 1 < t_max and math.isfinite(closes[last + 1]):
        final = closes[last + 1]
    mark = final if math.isfinite(final) else last_price
    equity[-1] = cash + shares * mark if shares else cash
    return equity, trades, fees, exposure


def backtest_rule(
    targets: FloatArray,
    rows: IntArray,
    opens: FloatArray,
    closes: FloatArray,
    costs: CostSettings,
    periods_per_year: float,
    capital: float = 100_000.0,
) -> TradingRun:
    """Trade equal sleeves per symbol on decisions at `rows` (targets: (len(rows), N) in [-1, 1]).

    opens/closes are the (T, N) raw price panels the rows index into. Only symbols that trade during the
    window get a sleeve (a symbol listed later, or delisted, does not dilute the others with idle cash).
    """
    live = live_symbols(opens, rows)
    n = max(len(live), 1)
    total = np.zeros(rows.size + 1)
    expo = np.zeros(rows.size + 1)
    trades, fees = 0, 0.0
    if not live:
        total[:] = capital
    for j in live:
        eq, tr, fe, ex = _sleeve(targets[:, j], opens[:, j], closes[:, j], rows, capital / n, costs)
        total += eq
        expo += ex / n
        trades += tr
        fees += fe
    rets = total[1:] / total[:-1] - 1.0 if total.size > 1 else np.zeros(0)
    scores = TradingScores(
        total_return=float(total[-1] / total[0] - 1.0) if total.size else 0.0,
        sharpe=sharpe_ratio(rets, periods_per_year),
        max_drawdown=max_drawdown(total),
        trades=trades,
        fees=fees,
        exposure=float(np.mean(expo[:-1])) if expo.size > 1 else 0.0,
    )
    return TradingRun(total, scores)


def combine_runs(runs: list[TradingRun], periods_per_year: float) -> TradingScores:
    """Chain fold curves end to end (each rescaled to where the previous ended) and score the whole."""
    rets = [r.equity[1:] / r.equity[:-1] - 1.0 for r in runs if r.equity.size > 1]
    if not rets:
        return TradingScores(0.0, 0.0, 0.0, 0, 0.0, 0.0)
    chained = np.concatenate(rets)
    curve = np.concatenate([[1.0], np.cumprod(1.0 + chained)])
    exposure = [r.scores.exposure for r in runs]
    return TradingScores(
        total_return=float(curve[-1] - 1.0),
        sharpe=sharpe_ratio(chained, periods_per_year),
        max_drawdown=max_drawdown(curve),
        trades=sum(r.scores.trades for r in runs),
        fees=sum(r.scores.fees for r in runs),
        exposure=float(np.mean(exposure)),
    )
