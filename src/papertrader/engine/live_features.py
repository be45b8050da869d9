"""Live feature panels grown by the new rows only: per-bar work independent of how long the history is.

`FeatureBuilder` recomputes every panel over the whole history; a live session calling it on every bar
grows without bound (TA-Lib set 76 / 115 / 244 ms at 320 / 1,000 / 2,000 rows). `LiveFeatures` is its
streaming twin: it starts from the batch panels of the warm-up history (what the engine already holds),
replays that history once through per-family streaming states, and from then on computes only the new
rows of each family the board uses:

- the trend SMAs and the rest of the TA-Lib set: `TechnicalState`, with the SMAs (price and volume) kept as
  TA-Lib's own running sum, so they are bit-identical to `talib.SMA` (the trend member reads them);
- each model member's pipeline (`lstm:`, `ppo:`): `FeatureStream` with the member's FITTED scaler and the
  lake's point-in-time macro and fundamentals;
- the GRU's coarse bars (`gru:`): a bucket that closes as `models.resample` and `signals.members.coarse_alignment`
  say (a calendar week for daily bars, the bucket's end for intraday), fed to the GRU's `FeatureStream`;
- Alpha158 (`lgbm:`): every factor is a finite rolling window over a symbol's own bars, so `Alpha158State`
  keeps the last `max(windows) + 1` own bars per symbol and computes only the newest row (the float32 values
  the batch stores; the warm-up history is only pushed into its rings, never featured again);
- close and volume: the panel's own arrays.

Plug-in features (`UserFeatures`) have no known streaming form and are recomputed over the whole panel.
Streamed panels equal a batch rebuild to 1e-9 (the SMAs, close and volume exactly; Alpha158's correlations
are the exact two-pass values, where pandas' running sums can drift a little further, and are stored as the
batch's float32); `cells` counts the values computed by the last `extend`, the deterministic measure of
per-bar work the tests compare.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import Array
from papertrader.domain.sessions import bar_close_time
from papertrader.engine.growth import Columns
from papertrader.engine.panel import Panel
from papertrader.engine.strategies import VOLUME, FeatureBuilder
from papertrader.features.alpha158 import Alpha158State
from papertrader.features.history import BarHistory
from papertrader.features.pipeline import FeatureStream, FittedPipeline
from papertrader.features.technical import TechnicalSpec, TechnicalState
from papertrader.models.resample import coarser
from papertrader.signals.members import CLOSE, ROW_SUFFIX, _week_key, panel_name

_FIELDS = ("open", "high", "low", "close", "volume")


class _RunningSma:
    """TA-Lib's SMA per symbol over its own bars (its running total, in its order): bit-identical to talib.SMA."""

    def __init__(self, period: int, n: int) -> None:
        self.p = period
        self._total = np.zeros(n)

    def update(self, values: Array, ring: Array, count: npt.NDArray[np.int64], has: npt.NDArray[np.bool_]) -> Array:
        """The SMA at this cycle; `ring` holds own values newest last (already pushed), `count` own bars so far."""
        p, total = self.p, self._total
        out = np.full(values.shape, np.nan)
        warming = has & (count < p)
        total[warming] += values[warming]
        ready = has & (count >= p)
        if ready.any():
            now = total[ready] + values[ready]
            out[ready] = now / p
            total[ready] = now - ring[-p, ready]
        return out


class _Technical:
    """The builder's TA-Lib set, one cycle at a time."""

    def __init__(self, spec: TechnicalSpec, n: int) -> None:
        depths = spec.depths()
        self.spec = spec
        self._hist = BarHistory(n, depths)
        self._state = TechnicalState(spec, n)
        self._sma = {f"sma_{p}": _RunningSma(p, n) for p in spec.sma}
        self._vsma = _RunningSma(spec.volume_sma, n)

    def update(self, o: Array, h: Array, lo: Array, c: Array, v: Array) -> dict[str, Array]:
        hist = self._hist
        hist.push(o, h, lo, c, v)
        out = self._state.update(hist)
        if not self.spec.relative:  # TA-Lib's own SMA arithmetic (the streaming state's window mean is 1e-15 off)
            for name, sma in self._sma.items():
                out[name] = sma.update(c, hist.close, hist.count, hist.has)
            out[f"volume_sma_{self.spec.volume_sma}"] = self._vsma.update(v, hist.volume, hist.count, hist.has)
        return out


class _Coarse:
    """The GRU's coarse bars built as fine bars arrive, featured when their bucket closes, aligned like the batch."""

    def __init__(self, fitted: FittedPipeline, symbols: tuple[str, ...], interval: str, builder: FeatureBuilder):
        _, self.coarse_interval = coarser(interval)
        self.interval = interval
        self.n = len(symbols)
        self.stream: FeatureStream = fitted.stream(symbols, self.coarse_interval, builder.external)
        self.names = fitted.names
        self._key: int | None = None  # the open bucket (week key, or bucket start ns)
        self._agg = np.full((5, self.n), np.nan)
        self._stamp = np.full(self.n, -1, dtype=np.int64)
        self._rows = -1  # index of the last coarse row featured
        self._last = np.full((self.n, len(self.names)), np.nan)
        self._end_ns: int | None = None

    def _bucket(self, ts: pd.Timestamp) -> int:
        local = ts.tz_convert("America/New_York")
        if self.interval == "1d":
            return int(_week_key(pd.DatetimeIndex([ts]))[0])
        label, _ = coarser(self.interval)
        if label == "1d":
            return int(local.tz_localize(None).normalize().value)
        return int(local.floor({"5m": "5min", "15m": "15min", "1h": "1h"}[label]).value)

    def _stamp_of(self, ts: pd.Timestamp) -> int:
        """The coarse stamp a fine bar gives its bucket (models.resample's convention)."""
        if self.interval == "1d":
            return int(ts.value)
        label, _ = coarser(self.interval)
        local = ts.tz_convert("America/New_York")
        if label == "1d":
            return int(local.tz_localize(None).normalize().tz_localize("America/New_York").value)
        return int(local.floor({"5m": "5min", "15m": "15min", "1h": "1h"}[label]).value)

    def _close_bucket(self) -> None:
        """Feature the open bucket: one coarse row per distinct stamp, in time order, as the batch pivot has."""
        if self._key is None:
            return
        stamps = np.unique(self._stamp[self._stamp >= 0])
        for s in stamps:
            at = self._stamp == s
            row = [np.where(at, self._agg[f], np.nan) for f in range(5)]
            self._last = self.stream.update(pd.Timestamp(int(s), tz="UTC"), *row)
            self._rows += 1
        self._key, self._end_ns = None, None
        self._agg[:] = np.nan
        self._stamp[:] = -1

    def update(self, ts: pd.Timestamp, o: Array, h: Array, lo: Array, c: Array, v: Array) -> dict[str, Array]:
        key = self._bucket(ts)
        if self._key is not None and key != self._key:
            self._close_bucket()
        has = np.isfinite(c)
        if has.any():
            if self._key is None:
                self._key = key
                if self.interval != "1d":
                    start = pd.Timestamp(self._stamp_of(ts), tz="UTC").to_pydatetime()
                    self._end_ns = int(pd.Timestamp(bar_close_time(start, self.coarse_interval)).value)
            a = self._agg
            first = has & ~np.isfinite(a[3])
            a[0] = np.where(first, o, a[0])
            a[1] = np.where(has, np.fmax(a[1], h), a[1])
            a[2] = np.where(has, np.fmin(a[2], lo), a[2])
            a[3] = np.where(has, c, a[3])
            a[4] = np.where(first, v, np.where(has, a[4] + v, a[4]))
            self._stamp[has] = self._stamp_of(ts)
        if self._end_ns is not None:
            close_ns = int(pd.Timestamp(bar_close_time(ts.to_pydatetime(), self.interval)).value)
            if self._end_ns <= close_ns:
                self._close_bucket()
        none = np.full(self.n, np.nan)
        out = {panel_name("gru", f): (self._last[:, i] if self._rows >= 0 else none) for i, f in enumerate(self.names)}
        out[panel_name("gru", ROW_SUFFIX)] = np.array([float(self._rows)])
        return out


class LiveFeatures:
    """The panels a `FeatureBuilder` gives, grown row by row by streaming twins (see the module docstring)."""

    def __init__(self, builder: FeatureBuilder, panel: Panel, features: Mapping[str, Array]) -> None:
        self.builder = builder
        self.symbols = panel.symbols
        self.interval = panel.interval
        n = len(panel.symbols)
        self._tech = _Technical(builder.spec, n)
        self._tech_names = builder.spec.names()
        self._streams: list[tuple[str, FeatureStream]] = []
        self._coarse: _Coarse | None = None
        for name, fitted in builder.pipelines:
            if name == "gru":
                self._coarse = _Coarse(fitted, panel.symbols, panel.interval, builder)
            else:
                self._streams.append((name, fitted.stream(panel.symbols, panel.interval, builder.external)))
        self._alphas = [(member, Alpha158State(n, windows)) for member, windows in builder.cross_sections]
        self._own = [k for k in features if k not in (CLOSE, VOLUME)]
        self._columns = Columns({k: features[k] for k in self._own})
        self.cells = 0
        self._replay(panel, 0, len(panel), keep_rows=False)  # warm the states on the batch panels' history
        self.cells = 0

    def __len__(self) -> int:
        return len(self._columns)

    def _replay(self, panel: Panel, start: int, stop: int, keep_rows: bool = True) -> dict[str, list[Array]]:
        """Push rows [start, stop) through every streaming state; their rows by name (when `keep_rows`)."""
        p = panel.prices
        rows: dict[str, list[Array]] = {}

        def keep(values: Mapping[str, Array]) -> None:
            for name, v in values.items():
                if keep_rows:
                    rows.setdefault(name, []).append(v)
                self.cells += int(v.size)

        for k in range(start, stop):
            bar = [getattr(p, f)[k] for f in _FIELDS]
            ts = panel.ts[k]
            keep({name: v for name, v in self._tech.update(*bar).items() if name in self._tech_names})
            for member, stream in self._streams:
                row = stream.update(ts, *bar)
                keep({panel_name(member, f): row[:, i] for i, f in enumerate(stream.fitted.names)})
            if self._coarse is not None:
                keep(self._coarse.update(ts, *bar))
            for member, alpha in self._alphas:
                if not keep_rows:  # warm-up: only the rings (the batch panels already hold these rows)
                    alpha.push(*bar)
                    continue
                # stored as the batch stores them: float32 values in a float64 panel
                factors = alpha.update(*bar).astype(np.float32).astype(np.float64)
                keep({panel_name(member, f): factors[:, i] for i, f in enumerate(alpha.names)})
        return rows

    def drop(self, panel: Panel) -> dict[str, Array]:
        """Forget the rows before `panel`, the tail of the panel grown so far (a bounded live run): the streaming
        states keep what they read, so nothing computed later changes. Returns the panels for `panel`'s rows."""
        if self.builder.extras:
            raise ValueError("plug-in features are recomputed over the whole panel: their rows cannot be dropped")
        self._columns.drop(len(self._columns) - len(panel))
        return self._out(panel)

    def extend(self, panel: Panel) -> dict[str, Array]:
        """Every panel for the grown `panel` (the old one plus new rows): only the new rows are computed."""
        old = len(self._columns)
        if len(panel) < old or panel.symbols != self.symbols:
            raise ValueError("LiveFeatures.extend needs the panel it was built on plus new rows")
        self.cells = 0
        rows = self._replay(panel, old, len(panel))
        # one bar (the usual case): its row as a (1, N) view, copied once by the append below
        new: dict[str, Array] = {
            name: v[0][None] if len(v) == 1 else np.stack(v) for name, v in rows.items() if name in self._own
        }
        row_name = panel_name("gru", ROW_SUFFIX)
        if row_name in new:
            new[row_name] = new[row_name].reshape(-1, 1)
        if self.builder.extras:  # plug-in features: no streaming form known, recomputed whole
            whole = self.builder(panel)
            new.update({k: v[old:] for k, v in whole.items() if k in self._own and k not in new})
        if len(panel) > old:
            self._columns.append({k: new[k] for k in self._own})
        return self._out(panel)

    def _out(self, panel: Panel) -> dict[str, Array]:
        """The panels by name: the streamed columns, and the close and volume as the panel's own arrays."""
        out = self._columns.views()
        if self.builder.close:
            out[CLOSE] = panel.prices.close
        if self.builder.volume:
            out[VOLUME] = panel.prices.volume
        return out
