"""TA-Lib indicators over a (time x symbol) panel, computed per symbol on its own bars only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import talib

Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class PriceArrays:
    """OHLCV panels of shape (T, N); NaN marks a symbol with no bar at that time."""

    open: Array
    high: Array
    low: Array
    close: Array
    volume: Array


def _per_symbol(
    panel: PriceArrays, fn: Callable[[PriceArrays], dict[str, Array]], names: tuple[str, ...]
) -> dict[str, Array]:
    """Run fn on each symbol's present bars, then scatter back, so gaps never poison an indicator."""
    t, n = panel.close.shape
    out = {name: np.full((t, n), np.nan) for name in names}
    for j in range(n):
        rows = np.flatnonzero(np.isfinite(panel.close[:, j]))
        if rows.size == 0:
            continue
        sub = PriceArrays(*(np.ascontiguousarray(a[rows, j]) for a in _fields(panel)))
        for name, values in fn(sub).items():
            out[name][rows, j] = values
    return out


def _fields(p: PriceArrays) -> tuple[Array, Array, Array, Array, Array]:
    return p.open, p.high, p.low, p.close, p.volume


@dataclass(frozen=True, slots=True)
class TechnicalSpec:
    """Indicator periods; defaults are the textbook ones, not tuned on any test window."""

    sma: tuple[int, ...] = (20, 50)
    ema: tuple[int, ...] = (12, 26)
    rsi: int = 14
    macd: tuple[int, int, int] = (12, 26, 9)
    atr: int = 14
    bbands: int = 20
    bbands_k: float = 2.0

    def names(self) -> tuple[str, ...]:
        """Column names the spec produces, in a stable order."""
        return (
            *(f"sma_{p}" for p in self.sma),
            *(f"ema_{p}" for p in self.ema),
            f"rsi_{self.rsi}",
            "macd",
            "macd_signal",
            "macd_hist",
            f"atr_{self.atr}",
            "bb_upper",
            "bb_middle",
            "bb_lower",
        )


def _compute_one(spec: TechnicalSpec) -> Callable[[PriceArrays], dict[str, Array]]:
    def run(p: PriceArrays) -> dict[str, Array]:
        out: dict[str, Array] = {}
        for period in spec.sma:
            out[f"sma_{period}"] = talib.SMA(p.close, timeperiod=period)
        for period in spec.ema:
            out[f"ema_{period}"] = talib.EMA(p.close, timeperiod=period)
        out[f"rsi_{spec.rsi}"] = talib.RSI(p.close, timeperiod=spec.rsi)
        fast, slow, signal = spec.macd
        macd, macd_signal, macd_hist = talib.MACD(
            p.close, fastperiod=fast, slowperiod=slow, signalperiod=signal
        )
        out["macd"], out["macd_signal"], out["macd_hist"] = macd, macd_signal, macd_hist
        out[f"atr_{spec.atr}"] = talib.ATR(p.high, p.low, p.close, timeperiod=spec.atr)
        upper, middle, lower = talib.BBANDS(
            p.close,
            timeperiod=spec.bbands,
            nbdevup=spec.bbands_k,
            nbdevdn=spec.bbands_k,
            matype=talib.MA_Type.SMA,  # type: ignore[attr-defined]
        )
        out["bb_upper"], out["bb_middle"], out["bb_lower"] = upper, middle, lower
        return out

    return run


def compute_technical(panel: PriceArrays, spec: TechnicalSpec | None = None) -> dict[str, Array]:
    """All indicators of the spec as (T, N) panels; row t uses only bars at or before t."""
    spec = spec or TechnicalSpec()
    return _per_symbol(panel, _compute_one(spec), spec.names())
