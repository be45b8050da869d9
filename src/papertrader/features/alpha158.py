"""Alpha158 price/volume factors (Qlib's `Alpha158` handler), point in time, on a (T, N) bar panel.

The definitions follow Qlib's `qlib/contrib/data/loader.py` (Alpha158DL.get_feature_config with the
Alpha158 handler's defaults): nine candle shapes (KMID, KLEN, KMID2, KUP, KUP2, KLOW, KLOW2, KSFT, KSFT2),
today's open/high/low over the close (OPEN0, HIGH0, LOW0; Qlib's VWAP0 needs a VWAP the lake does not
keep), and 29 rolling operators over 5, 10, 20, 30 and 60 bars, each normalised by the current close or
volume exactly as Qlib's expressions divide them (157 factors in all).

Two deliberate differences from Qlib's operators: a rolling window is computed only once it is full
(Qlib's `min_periods=1` gives a 60-bar mean after 2 bars), and +-inf from a zero volume becomes NaN.
Every factor at row t reads the symbol's own bars up to t and nothing later: each symbol's bars are packed
to the top of its column (so a symbol's gaps never enter a window), rolled with pandas (vectorised over all
symbols at once), and scattered back to the rows they came from.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from papertrader.core.arrays import Array, BoolArray
from papertrader.features.history import BarHistory, Depths
from papertrader.features.technical import PriceArrays

WINDOWS: Final[tuple[int, ...]] = (5, 10, 20, 30, 60)
KBAR: Final = ("KMID", "KLEN", "KMID2", "KUP", "KUP2", "KLOW", "KLOW2", "KSFT", "KSFT2")
PRICE: Final = ("OPEN0", "HIGH0", "LOW0")
ROLLING: Final = (
    "ROC", "MA", "STD", "BETA", "RSQR", "RESI", "MAX", "MIN", "QTLU", "QTLD", "RANK", "RSV", "IMAX", "IMIN",
    "IMXD", "CORR", "CORD", "CNTP", "CNTN", "CNTD", "SUMP", "SUMN", "SUMD", "VMA", "VSTD", "WVMA", "VSUMP",
    "VSUMN", "VSUMD",
)  # fmt: skip
EPS: Final = 1e-12
_ARG_CHUNK: Final = 64  # symbols per block of the rolling arg-max (bounds the temporary to T x 64 x window)


def feature_names(windows: tuple[int, ...] = WINDOWS) -> tuple[str, ...]:
    """Column order of `alpha158`: candles, prices, then each rolling operator over every window."""
    return (*KBAR, *PRICE, *(f"{op}{d}" for op in ROLLING for d in windows))


def _packed(values: Array, own: list[npt.NDArray[np.intp]]) -> pd.DataFrame:
    """Each symbol's own bars moved to the top of its column (NaN below), so windows never span a gap."""
    out = np.full(values.shape, np.nan)
    for j, rows in enumerate(own):
        out[: rows.size, j] = values[rows, j]
    return pd.DataFrame(out)


def _finite(x: pd.DataFrame | Array) -> Array:
    a = np.asarray(x, dtype=np.float64)
    return np.where(np.isfinite(a), a, np.nan)


def _arg_extreme(x: pd.DataFrame, d: int, largest: bool) -> Array:
    """Qlib's IdxMax/IdxMin: 1-based position of the window's first max (min), oldest bar = 1; NaN until full."""
    a = x.to_numpy()
    t, n = a.shape
    out = np.full((t, n), np.nan)
    if t < d:
        return out
    for lo in range(0, n, _ARG_CHUNK):
        block = sliding_window_view(a[:, lo : lo + _ARG_CHUNK], d, axis=0)  # (t - d + 1, chunk, d)
        filled = np.where(np.isnan(block), -np.inf if largest else np.inf, block)
        idx = (np.argmax(filled, axis=-1) if largest else np.argmin(filled, axis=-1)) + 1.0
        idx[np.isnan(block).any(axis=-1)] = np.nan
        out[d - 1 :, lo : lo + _ARG_CHUNK] = idx
    return out


def _rolling(
    close: pd.DataFrame, high: pd.DataFrame, low: pd.DataFrame, volume: pd.DataFrame, d: int
) -> dict[str, Array]:
    """The 29 rolling operators over one window, on packed columns."""
    c = close.to_numpy()
    v = volume.to_numpy()
    prev = close.shift(1)
    diff = close - prev
    vdiff = volume - volume.shift(1)
    roll = close.rolling(d, min_periods=d)
    mean = roll.mean()
    x = pd.DataFrame(np.broadcast_to(np.arange(len(close), dtype=np.float64)[:, None], close.shape).copy())
    x = x.where(close.notna())
    slope = roll.cov(x) / x.rolling(d, min_periods=d).var()
    corr_x = roll.corr(x)
    hi = high.rolling(d, min_periods=d).max().to_numpy()
    lo = low.rolling(d, min_periods=d).min().to_numpy()
    up = diff.clip(lower=0).rolling(d, min_periods=d).sum()
    down = (-diff).clip(lower=0).rolling(d, min_periods=d).sum()
    moved = diff.abs().rolling(d, min_periods=d).sum() + EPS
    vup = vdiff.clip(lower=0).rolling(d, min_periods=d).sum()
    vdown = (-vdiff).clip(lower=0).rolling(d, min_periods=d).sum()
    vmoved = vdiff.abs().rolling(d, min_periods=d).sum() + EPS
    rising = (close > prev).astype(np.float64).where(prev.notna() & close.notna())
    falling = (close < prev).astype(np.float64).where(prev.notna() & close.notna())
    cntp = rising.rolling(d, min_periods=d).mean().to_numpy()
    cntn = falling.rolling(d, min_periods=d).mean().to_numpy()
    imax = _arg_extreme(high, d, largest=True)
    imin = _arg_extreme(low, d, largest=False)
    log_volume = pd.DataFrame(_finite(np.log(v + 1.0)))
    volume_change = pd.DataFrame(_finite(np.log(v / volume.shift(1).to_numpy() + 1.0)))
    weighted = (close / prev - 1.0).abs() * volume
    wroll = weighted.rolling(d, min_periods=d)
    vroll = volume.rolling(d, min_periods=d)
    return {
        f"ROC{d}": prev.shift(d - 1).to_numpy() / c,
        f"MA{d}": mean.to_numpy() / c,
        f"STD{d}": roll.std().to_numpy() / c,
        f"BETA{d}": slope.to_numpy() / c,
        f"RSQR{d}": (corr_x**2).to_numpy(),
        f"RESI{d}": (c - (mean.to_numpy() + slope.to_numpy() * (d - 1) / 2.0)) / c,
        f"MAX{d}": hi / c,
        f"MIN{d}": lo / c,
        f"QTLU{d}": roll.quantile(0.8).to_numpy() / c,
        f"QTLD{d}": roll.quantile(0.2).to_numpy() / c,
        f"RANK{d}": roll.rank(pct=True).to_numpy(),
        f"RSV{d}": (c - lo) / (hi - lo + EPS),
        f"IMAX{d}": imax / d,
        f"IMIN{d}": imin / d,
        f"IMXD{d}": (imax - imin) / d,
        f"CORR{d}": _corr(close, log_volume, d),
        f"CORD{d}": _corr(close / prev, volume_change, d),
        f"CNTP{d}": cntp,
        f"CNTN{d}": cntn,
        f"CNTD{d}": cntp - cntn,
        f"SUMP{d}": (up / moved).to_numpy(),
        f"SUMN{d}": (down / moved).to_numpy(),
        f"SUMD{d}": ((up - down) / moved).to_numpy(),
        f"VMA{d}": vroll.mean().to_numpy() / (v + EPS),
        f"VSTD{d}": vroll.std().to_numpy() / (v + EPS),
        f"WVMA{d}": wroll.std().to_numpy() / (wroll.mean().to_numpy() + EPS),
        f"VSUMP{d}": (vup / vmoved).to_numpy(),
        f"VSUMN{d}": (vdown / vmoved).to_numpy(),
        f"VSUMD{d}": ((vup - vdown) / vmoved).to_numpy(),
    }


def _corr(a: pd.DataFrame, b: pd.DataFrame, d: int) -> Array:
    """Rolling Pearson correlation per column; NaN where either side does not vary (as Qlib's Corr)."""
    a = a.where(b.notna())
    b = b.where(a.notna())
    out = a.rolling(d, min_periods=d).corr(b).to_numpy()
    flat = np.isclose(a.rolling(d, min_periods=d).std().to_numpy(), 0) | np.isclose(
        b.rolling(d, min_periods=d).std().to_numpy(), 0
    )
    return np.where(flat, np.nan, out)


def alpha158(prices: PriceArrays, windows: tuple[int, ...] = WINDOWS) -> npt.NDArray[np.float32]:
    """(T, N, F) float32 Alpha158 factors in `feature_names(windows)` order; row t reads bars <= t only."""
    out: npt.NDArray[np.float32] = _factors(prices, windows, np.float32)
    return out


def alpha158_float64(prices: PriceArrays, windows: tuple[int, ...] = WINDOWS) -> Array:
    """The factors of `alpha158` before the float32 cast (what the streaming form is checked against)."""
    out: Array = _factors(prices, windows, np.float64)
    return out


def _candles(o: Array, h: Array, lo: Array, c: Array) -> dict[str, Array]:
    """The bar's own shape factors (any shape: the batch's (T, N) panels or the stream's newest row)."""
    top, bottom = np.maximum(o, c), np.minimum(o, c)
    span = h - lo + EPS
    return {
        "KMID": (c - o) / o,
        "KLEN": (h - lo) / o,
        "KMID2": (c - o) / span,
        "KUP": (h - top) / o,
        "KUP2": (h - top) / span,
        "KLOW": (bottom - lo) / o,
        "KLOW2": (bottom - lo) / span,
        "KSFT": (2 * c - h - lo) / o,
        "KSFT2": (2 * c - h - lo) / span,
        "OPEN0": o / c,
        "HIGH0": h / c,
        "LOW0": lo / c,
    }


def _factors(prices: PriceArrays, windows: tuple[int, ...], dtype: type[np.floating[Any]]) -> npt.NDArray[Any]:
    """(T, N, F) factors stored as `dtype` (computed in float64 either way)."""
    o, h, lo_, c, v = prices.open, prices.high, prices.low, prices.close, prices.volume
    t, n = c.shape
    own = [np.flatnonzero(np.isfinite(c[:, j])) for j in range(n)]
    with np.errstate(divide="ignore", invalid="ignore"):
        cols: dict[str, Array] = _candles(o, h, lo_, c)
        pc, ph, pl, pv = (_packed(a, own) for a in (c, h, lo_, v))
        rolled: dict[str, Array] = {}
        for d in windows:
            rolled.update(_rolling(pc, ph, pl, pv, d))
    names = feature_names(windows)
    out = np.full((t, n, len(names)), np.nan, dtype=dtype)
    for f, name in enumerate(names):
        if name in cols:
            out[:, :, f] = _finite(cols[name])
            continue
        values = _finite(rolled[name])
        for j, rows in enumerate(own):
            out[rows, j, f] = values[: rows.size, j]
    return out


# ----------------------------------------------------------------- streaming form


def _nan_unless(ok: BoolArray | np.bool_, values: Array) -> Array:
    return np.where(ok, values, np.nan)


def _centered(w: Array) -> Array:
    """A (d, N) window minus its column means (two-pass: exact where pandas' running sums round)."""
    centered: Array = w - w.mean(axis=0)
    return centered


def _window_corr(a: Array, b: Array) -> tuple[Array, Array, Array]:
    """Pearson correlation of two (d, N) windows column by column, and each side's sample std."""
    ca, cb = _centered(a), _centered(b)
    saa, sbb, sab = (ca * ca).sum(axis=0), (cb * cb).sum(axis=0), (ca * cb).sum(axis=0)
    d = a.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = sab / np.sqrt(saa * sbb)
    return corr, np.sqrt(saa / (d - 1)), np.sqrt(sbb / (d - 1))


class Alpha158State:
    """Alpha158's newest row, one cycle at a time, from the last `max(windows) + 1` own bars of each symbol.

    Every factor is a finite window over a symbol's own bars, so the row at t needs only those bars: the
    state keeps them in per-symbol rings (a symbol without a bar does not move, as the batch form packs each
    symbol's bars) and computes each operator directly on its window, vectorised over the symbols. The work
    per cycle is fixed by the windows and the universe, never by the history (`work` counts the values read
    and written). Rows equal `alpha158_float64` to about 1e-12 (the batch form's pandas running sums round
    differently); `update(...).astype(np.float32)` is what the batch `alpha158` stores.
    """

    def __init__(self, n_symbols: int, windows: tuple[int, ...] = WINDOWS) -> None:
        if not windows or min(windows) < 2:
            raise ValueError("Alpha158 windows must hold at least two bars")
        self.windows = tuple(windows)
        self.names = feature_names(self.windows)
        depth = max(self.windows) + 1  # a d-bar window of differences reads d + 1 closes
        self.history = BarHistory(n_symbols, Depths(open=1, high=depth, low=depth, close=depth, volume=depth))
        self.work = 0

    def push(self, open_: Array, high: Array, low: Array, close: Array, volume: Array) -> None:
        """Remember one cycle's bars without computing its row (warming up on history nobody reads again)."""
        self.history.push(open_, high, low, close, volume)

    def update(self, open_: Array, high: Array, low: Array, close: Array, volume: Array) -> Array:
        """(N, F) float64 factors of this cycle in `names` order; NaN for symbols without a bar."""
        self.push(open_, high, low, close, volume)
        h = self.history
        n = close.shape[0]
        out = np.full((n, len(self.names)), np.nan)
        cols = np.flatnonzero(h.has)
        if cols.size:
            rings = [buf[:, cols] for buf in (h.close, h.high, h.low, h.volume)]
            with np.errstate(divide="ignore", invalid="ignore"):
                row = self._row(open_[cols], *rings)
            out[cols] = np.where(np.isfinite(row), row, np.nan)
            self.work = int(sum(r.size for r in rings) + row.size)
        else:
            self.work = 0
        return out

    def _row(self, o: Array, close: Array, high: Array, low: Array, volume: Array) -> Array:
        """(n, F) factors of the symbols with a bar; the rings are (depth, n), newest last."""
        c, h, lo, v = close[-1], high[-1], low[-1], volume[-1]
        values: dict[str, Array] = _candles(o, h, lo, c)
        prev = close[:-1]
        nxt = close[1:]
        diff = nxt - prev
        vdiff = volume[1:] - volume[:-1]
        log_volume = np.log(volume + 1.0)
        log_volume = np.where(np.isfinite(log_volume), log_volume, np.nan)
        volume_change = np.log(volume[1:] / volume[:-1] + 1.0)
        volume_change = np.where(np.isfinite(volume_change), volume_change, np.nan)
        ratio = nxt / prev
        weighted = np.abs(ratio - 1.0) * volume[1:]
        rising = np.where(np.isfinite(diff), (nxt > prev).astype(np.float64), np.nan)
        falling = np.where(np.isfinite(diff), (nxt < prev).astype(np.float64), np.nan)
        for d in self.windows:
            values.update(self._rolling(d, c, v, close, high, low, volume, diff, vdiff, log_volume, volume_change,
                                        ratio, weighted, rising, falling))  # fmt: skip
        return np.stack([values[name] for name in self.names], axis=1)

    @staticmethod
    def _rolling(
        d: int,
        c: Array,
        v: Array,
        close: Array,
        high: Array,
        low: Array,
        volume: Array,
        diff: Array,
        vdiff: Array,
        log_volume: Array,
        volume_change: Array,
        ratio: Array,
        weighted: Array,
        rising: Array,
        falling: Array,
    ) -> dict[str, Array]:
        """The 29 rolling operators of one window at the newest row (a window with a gap in it is NaN)."""
        w = close[-d:]
        full = np.isfinite(w).all(axis=0)
        x = np.arange(d, dtype=np.float64)
        xc = x - x.mean()
        cw = _centered(w)
        sxx = float((xc * xc).sum())
        slope = (xc[:, None] * cw).sum(axis=0) / sxx
        syy = (cw * cw).sum(axis=0)
        mean = w.mean(axis=0)
        rsqr = np.where(syy > 0, slope * slope * sxx / np.where(syy > 0, syy, 1.0), np.nan)
        ordered = np.sort(w, axis=0)
        hw, lw = high[-d:], low[-d:]
        hi, lo_ = hw.max(axis=0), lw.min(axis=0)
        imax = _nan_unless(np.isfinite(hw).all(axis=0), np.argmax(hw, axis=0) + 1.0)
        imin = _nan_unless(np.isfinite(lw).all(axis=0), np.argmin(lw, axis=0) + 1.0)
        less = (w < c).sum(axis=0)
        same = (w == c).sum(axis=0)
        rank = _nan_unless(full, (less + (same + 1) / 2.0) / d)
        dw = diff[-d:]
        up = np.clip(dw, 0.0, None).sum(axis=0)
        down = np.clip(-dw, 0.0, None).sum(axis=0)
        moved = np.abs(dw).sum(axis=0) + EPS
        vw = vdiff[-d:]
        vup = np.clip(vw, 0.0, None).sum(axis=0)
        vdown = np.clip(-vw, 0.0, None).sum(axis=0)
        vmoved = np.abs(vw).sum(axis=0) + EPS
        cntp = rising[-d:].mean(axis=0)
        cntn = falling[-d:].mean(axis=0)
        vol = volume[-d:]
        ww = weighted[-d:]
        return {
            f"ROC{d}": close[-1 - d] / c,
            f"MA{d}": mean / c,
            f"STD{d}": w.std(axis=0, ddof=1) / c,
            f"BETA{d}": slope / c,
            f"RSQR{d}": rsqr,
            f"RESI{d}": (c - (mean + slope * (d - 1) / 2.0)) / c,
            f"MAX{d}": hi / c,
            f"MIN{d}": lo_ / c,
            f"QTLU{d}": _nan_unless(full, _quantile(ordered, 0.8)) / c,
            f"QTLD{d}": _nan_unless(full, _quantile(ordered, 0.2)) / c,
            f"RANK{d}": rank,
            f"RSV{d}": (c - lo_) / (hi - lo_ + EPS),
            f"IMAX{d}": imax / d,
            f"IMIN{d}": imin / d,
            f"IMXD{d}": (imax - imin) / d,
            f"CORR{d}": _flat_nan(w, log_volume[-d:]),
            f"CORD{d}": _flat_nan(ratio[-d:], volume_change[-d:]),
            f"CNTP{d}": cntp,
            f"CNTN{d}": cntn,
            f"CNTD{d}": cntp - cntn,
            f"SUMP{d}": up / moved,
            f"SUMN{d}": down / moved,
            f"SUMD{d}": (up - down) / moved,
            f"VMA{d}": vol.mean(axis=0) / (v + EPS),
            f"VSTD{d}": vol.std(axis=0, ddof=1) / (v + EPS),
            f"WVMA{d}": ww.std(axis=0, ddof=1) / (ww.mean(axis=0) + EPS),
            f"VSUMP{d}": vup / vmoved,
            f"VSUMN{d}": vdown / vmoved,
            f"VSUMD{d}": (vup - vdown) / vmoved,
        }


def _quantile(ordered: Array, q: float) -> Array:
    """pandas' rolling quantile with linear interpolation, on a window sorted along axis 0."""
    at = q * (ordered.shape[0] - 1)
    i = int(at)
    low: Array = ordered[i]
    if at == i:
        return low
    out: Array = low + (ordered[i + 1] - low) * (at - i)
    return out


def _flat_nan(a: Array, b: Array) -> Array:
    """`_corr`'s rule on one window: NaN with a gap on either side or where either side does not vary."""
    ok = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    corr, sa, sb = _window_corr(a, b)
    flat = np.isclose(sa, 0) | np.isclose(sb, 0)
    return np.where(ok & ~flat, corr, np.nan)
