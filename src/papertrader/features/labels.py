"""Training and evaluation targets: the ONLY module in papertrader.features that looks forward.

A label measures what a trade decided at bar t's close can earn: it is entered at the open of the symbol's
next own bar (t+1) and exited at the open `horizon` own bars after that (t+1+h), never close-to-close (the
close of t is not a price anyone could still trade at once the decision is made). Moves are classified
against a FLAT band that is never narrower than the round-trip cost of that trade; the band may differ per
(row, symbol), because commissions per share, minimums and ticks make a cheap share cost more in percent.
Where the horizon runs past the data the label is NaN, never guessed. Nothing in the feature path imports
this module; models join labels to features by (time, symbol), and walk-forward validation must purge the
last `horizon` rows before each test window.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError

#: A band or a cost: one number for every cell, or a (T, N) array aligned with the prices.
Band = float | Array


class Direction(IntEnum):
    """Label values: the sign of the move beyond the no-trade band."""

    DOWN = -1
    FLAT = 0
    UP = 1


def _own_bars(prices: Array) -> list[npt.NDArray[np.intp]]:
    return [np.flatnonzero(np.isfinite(prices[:, j])) for j in range(prices.shape[1])]


def _check(horizon: int, band: Band, round_trip_cost: Band) -> None:
    if horizon < 1:
        raise ConfigError("label horizon must be at least one bar")
    cost = np.asarray(round_trip_cost, dtype=np.float64)
    if np.any(cost < 0):
        raise ConfigError("round_trip_cost must be >= 0")
    with np.errstate(invalid="ignore"):
        narrow = np.asarray(band, dtype=np.float64) < cost
    if np.any(narrow):
        raise ConfigError(
            f"FLAT band {np.min(band):g} is narrower than the round-trip cost {np.max(cost):g}: a move inside "
            "the cost is not tradable, so it must be labelled FLAT; widen the band"
        )


def forward_returns(close: Array, horizon: int, log: bool = True) -> Array:
    """(T, N) close-to-close return over `horizon` own bars: board calibration scoring only, never a label."""
    if horizon < 1:
        raise ConfigError("label horizon must be at least one bar")
    out = np.full(close.shape, np.nan)
    for j, rows in enumerate(_own_bars(close)):
        c = close[rows, j]
        if c.size > horizon:
            ratio = c[horizon:] / c[:-horizon]
            out[rows[:-horizon], j] = np.log(ratio) if log else ratio - 1.0
    return out


def entry_prices(open_: Array) -> Array:
    """(T, N) the open of each symbol's next own bar: where a decision at bar t's close is filled (NaN: none)."""
    out = np.full(open_.shape, np.nan)
    for j, rows in enumerate(_own_bars(open_)):
        out[rows[:-1], j] = open_[rows[1:], j]
    return out


def next_open_returns(open_: Array, horizon: int, log: bool = False) -> Array:
    """(T, N) return from the next own bar's open to the open `horizon` own bars later: what a trade earns."""
    if horizon < 1:
        raise ConfigError("label horizon must be at least one bar")
    out = np.full(open_.shape, np.nan)
    for j, rows in enumerate(_own_bars(open_)):
        o = open_[rows, j]
        if o.size > horizon + 1:
            ratio = o[horizon + 1 :] / o[1:-horizon]
            out[rows[: -horizon - 1], j] = np.log(ratio) if log else ratio - 1.0
    return out


def _classify(move: Array, band: Band) -> Array:
    out = np.where(move > band, float(Direction.UP), np.where(move < -np.asarray(band), float(Direction.DOWN), 0.0))
    return np.where(np.isnan(move) | np.isnan(np.broadcast_to(band, move.shape)), np.nan, out)


def direction_labels(open_: Array, horizon: int, band: Band, round_trip_cost: Band) -> Array:
    """UP/DOWN/FLAT (1/-1/0, NaN unknown) of the next-open to open-after-h return against a band >= cost."""
    _check(horizon, band, round_trip_cost)
    return _classify(next_open_returns(open_, horizon), band)


def _fitted_moves(prices: Array, horizon: int, skip: int) -> tuple[Array, Array]:
    """Least-squares log-price move over own bars t+skip..t+skip+h (future) and t-h..t (past), per cell."""
    future = np.full(prices.shape, np.nan)
    past = np.full(prices.shape, np.nan)
    x = np.arange(horizon + 1, dtype=np.float64)
    xc = x - x.mean()
    weights = xc * horizon / (xc @ xc)  # slope * horizon: the fitted move from first to last bar
    for j, rows in enumerate(_own_bars(prices)):
        y = np.log(prices[rows, j])
        if y.size <= horizon + skip:
            continue
        moves = sliding_window_view(y, horizon + 1) @ weights  # moves[k]: bars k..k+horizon
        future[rows[: moves.size - skip], j] = moves[skip:]
        past[rows[horizon:], j] = moves
    return future, past


def trend_labels(open_: Array, horizon: int, band: Band, round_trip_cost: Band) -> Array:
    """Trend class of the opens t+1..t+1+h (the least-squares log move beyond +-band; GRU target)."""
    _check(horizon, band, round_trip_cost)
    return _classify(_fitted_moves(open_, horizon, skip=1)[0], band)


def reversal_labels(close: Array, open_: Array, horizon: int, band: Band, round_trip_cost: Band) -> Array:
    """1 where the coming trend (opens t+1..t+1+h) opposes the last `horizon` bars' (closes t-h..t), else 0."""
    _check(horizon, band, round_trip_cost)
    future = _classify(_fitted_moves(open_, horizon, skip=1)[0], band)
    past = _classify(_fitted_moves(close, horizon, skip=0)[1], band)
    out = ((past != 0) & (future == -past)).astype(np.float64)
    return np.where(np.isnan(future) | np.isnan(past), np.nan, out)


def class_index(labels: Array) -> npt.NDArray[np.int64]:
    """DOWN/FLAT/UP as class indices 0/1/2 for a classifier; -1 where the label is unknown."""
    out = np.where(np.isnan(labels), -1, np.nan_to_num(labels) + 1)
    return out.astype(np.int64)


def excess_over_universe(returns: Array) -> Array:
    """(T, N) each cell's return minus the mean over the symbols with a return on that row (what a ranker sees)."""
    counts = np.isfinite(returns).sum(axis=1, keepdims=True)
    total = np.nansum(returns, axis=1, keepdims=True)
    mean = np.where(counts > 0, total / np.maximum(counts, 1), np.nan)
    return returns - mean
