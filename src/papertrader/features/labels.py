"""Training and evaluation targets: the ONLY module in papertrader.features that looks forward.

Horizons count each symbol's own bars: the label at bar t of a symbol uses its bars t..t+h (and, for the
reversal label, t-h..t as well). Where the horizon runs past the data the label is NaN, never guessed.
Nothing in the feature path imports this module; models join labels to features by (time, symbol), and
walk-forward validation must purge the last `horizon` rows before each test window.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from papertrader.core.errors import ConfigError
from papertrader.features.technical import Array


class Direction(IntEnum):
    """Label values: the sign of the move beyond the no-trade band."""

    DOWN = -1
    FLAT = 0
    UP = 1


def _own_bars(close: Array) -> list[npt.NDArray[np.intp]]:
    return [np.flatnonzero(np.isfinite(close[:, j])) for j in range(close.shape[1])]


def _check(horizon: int, band: float, round_trip_cost: float) -> None:
    if horizon < 1:
        raise ConfigError("label horizon must be at least one bar")
    if round_trip_cost < 0:
        raise ConfigError("round_trip_cost must be >= 0")
    if band < round_trip_cost:
        raise ConfigError(
            f"FLAT band {band:g} is narrower than the round-trip cost {round_trip_cost:g}: a move inside the "
            "cost is not tradable, so it must be labelled FLAT; widen the band"
        )


def forward_returns(close: Array, horizon: int, log: bool = True) -> Array:
    """(T, N) return from each bar's close to the close `horizon` own bars later: for evaluation only."""
    if horizon < 1:
        raise ConfigError("label horizon must be at least one bar")
    out = np.full(close.shape, np.nan)
    for j, rows in enumerate(_own_bars(close)):
        c = close[rows, j]
        if c.size > horizon:
            ratio = c[horizon:] / c[:-horizon]
            out[rows[:-horizon], j] = np.log(ratio) if log else ratio - 1.0
    return out


def _classify(move: Array, band: float) -> Array:
    out = np.where(move > band, float(Direction.UP), np.where(move < -band, float(Direction.DOWN), 0.0))
    return np.where(np.isnan(move), np.nan, out)


def direction_labels(close: Array, horizon: int, band: float, round_trip_cost: float) -> Array:
    """UP/DOWN/FLAT (1/-1/0, NaN unknown) of the simple return over `horizon` bars against a band >= cost."""
    _check(horizon, band, round_trip_cost)
    return _classify(forward_returns(close, horizon, log=False), band)


def _fitted_moves(close: Array, horizon: int) -> tuple[Array, Array]:
    """Least-squares log-price move over the next and over the past `horizon` bars, per (t, symbol)."""
    future = np.full(close.shape, np.nan)
    past = np.full(close.shape, np.nan)
    x = np.arange(horizon + 1, dtype=np.float64)
    xc = x - x.mean()
    weights = xc * horizon / (xc @ xc)  # slope * horizon: the fitted move from first to last bar
    for j, rows in enumerate(_own_bars(close)):
        y = np.log(close[rows, j])
        if y.size <= horizon:
            continue
        moves = sliding_window_view(y, horizon + 1) @ weights  # moves[k]: bars k..k+horizon
        future[rows[: moves.size], j] = moves
        past[rows[horizon:], j] = moves
    return future, past


def trend_labels(close: Array, horizon: int, band: float, round_trip_cost: float) -> Array:
    """Trend class of the next `horizon` bars: the least-squares log move beyond +-band (GRU target)."""
    _check(horizon, band, round_trip_cost)
    return _classify(_fitted_moves(close, horizon)[0], band)


def reversal_labels(close: Array, horizon: int, band: float, round_trip_cost: float) -> Array:
    """1 where the coming trend opposes the trend of the last `horizon` bars (both beyond the band), else 0."""
    _check(horizon, band, round_trip_cost)
    future, past = _fitted_moves(close, horizon)
    f, p = _classify(future, band), _classify(past, band)
    out = ((p != 0) & (f == -p)).astype(np.float64)
    return np.where(np.isnan(f) | np.isnan(p), np.nan, out)


def class_index(labels: Array) -> npt.NDArray[np.int64]:
    """DOWN/FLAT/UP as class indices 0/1/2 for a classifier; -1 where the label is unknown."""
    out = np.where(np.isnan(labels), -1, np.nan_to_num(labels) + 1)
    return out.astype(np.int64)
