"""The feature pipeline: one spec, fitted on a training window, the same numbers in batch and streaming.

    pipe = FeaturePipeline(PipelineSpec())
    fitted = pipe.fit(inputs, start, end)        # scalers and clip bounds from [start, end) only
    batch = fitted.transform(inputs)             # FeatureSet: (F, T, N), panels() for FeatureView
    stream = fitted.stream(symbols, interval, external)
    row = stream.update(ts, open, high, low, close, volume)   # (N, F) for one new cycle

Order of operations, identical in both modes: raw causal features per family -> bounded forward fill and
`_missing` masks -> robust scaling and clipping (fitted parameters) -> remaining NaN -> fill value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from papertrader.core.arrays import Array
from papertrader.core.errors import ConfigError, DataError
from papertrader.features.calendar import CalendarState, EarningsDates, compute_calendar, prepare_earnings
from papertrader.features.fundamentals import (
    FundamentalsState,
    build_reports,
    fundamentals_at,
    latest_report,
)
from papertrader.features.history import BarHistory, Depths
from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.macro import MacroState, build_tables, macro_at
from papertrader.features.missing import FillState, fill_batch
from papertrader.features.returns import ReturnState, compute_returns
from papertrader.features.scaling import FittedScaler, fit_scaler, identity_scaler
from papertrader.features.sentiment import SentimentState, compute_sentiment, prepare_news
from papertrader.features.spec import PipelineSpec
from papertrader.features.technical import TechnicalState, compute_technical
from papertrader.features.times import decision_ns_of, ny_day_of, ny_days, to_ns


@dataclass(frozen=True)
class FeatureSet:
    """Feature values on a (feature, time, symbol) grid, with the views engines and models read."""

    names: tuple[str, ...]
    symbols: tuple[str, ...]
    ts: pd.DatetimeIndex
    data: Array  # (F, T, N)

    def panels(self) -> dict[str, Array]:
        """name -> (T, N) view: the engine's FeatureView format (no copy)."""
        return {name: self.data[i] for i, name in enumerate(self.names)}

    def panel(self, name: str) -> Array:
        """One feature as a (T, N) view."""
        out: Array = self.data[self.names.index(name)]
        return out

    def tensor(self, dtype: type[np.floating[Any]] = np.float64) -> np.ndarray[Any, np.dtype[Any]]:
        """A contiguous (T, N, F) copy for models."""
        out: np.ndarray[Any, np.dtype[Any]] = np.ascontiguousarray(np.moveaxis(self.data, 0, -1), dtype=dtype)
        return out


def _require(frame: pd.DataFrame | None, family: str) -> pd.DataFrame:
    if frame is None:
        raise DataError(
            f"the {family} family is on but no {family} data was supplied; pass an empty frame "
            f"to run without it (its features are then missing) or drop the family from the spec"
        )
    return frame


def compute_raw(spec: PipelineSpec, inputs: FeatureInputs, out: Array | None = None) -> Array:
    """Raw causal features of every family as one (F_raw, T, N) block (natural units, NaN = missing)."""
    names = spec.raw_names()
    t, n = len(inputs), len(inputs.symbols)
    block = np.empty((len(names), t, n)) if out is None else out
    if block.shape != (len(names), t, n):
        raise ValueError(f"out must have shape {(len(names), t, n)}")
    pos = {name: i for i, name in enumerate(names)}
    ext, prices, ts = inputs.external, inputs.prices, inputs.ts

    def put(values: dict[str, Array]) -> None:
        for name, v in values.items():
            block[pos[name]] = v[:, None] if v.ndim == 1 else v

    if spec.technical is not None:
        put(compute_technical(prices, spec.technical))
    if spec.returns is not None:
        put(compute_returns(prices, ny_days(ts), spec.returns))
    if spec.calendar is not None:
        earnings = prepare_earnings(ext.earnings, inputs.symbols) if spec.calendar.earnings else None
        put(compute_calendar(ts, inputs.interval, inputs.symbols, spec.calendar, earnings))
    if spec.macro is not None:
        put(macro_at(build_tables(ext.macro, spec.macro), spec.macro, to_ns(ts)))
    if spec.fundamentals is not None:
        frame = _require(ext.fundamentals, "fundamentals")
        table = build_reports(frame, inputs.symbols, spec.fundamentals)
        t_ns = to_ns(ts)
        put(fundamentals_at(table, latest_report(table, t_ns), prices.close, t_ns))
    if spec.sentiment is not None:
        items = prepare_news(_require(ext.news, "news"), inputs.symbols)
        put(compute_sentiment(items, to_ns(inputs.decision_times()), n, spec.sentiment))
    return block


def _window_rows(ts: pd.DatetimeIndex, start: datetime | None, end: datetime | None) -> slice:
    lo = 0 if start is None else int(ts.searchsorted(pd.Timestamp(start), side="left"))
    hi = len(ts) if end is None else int(ts.searchsorted(pd.Timestamp(end), side="left"))
    return slice(lo, hi)


class FeaturePipeline:
    """An unfitted pipeline: raw features for anyone, `fit` for models."""

    def __init__(self, spec: PipelineSpec | None = None) -> None:
        self.spec = spec or PipelineSpec()

    @property
    def schema_hash(self) -> str:
        """The spec's schema hash."""
        return self.spec.schema_hash()

    def raw(self, inputs: FeatureInputs) -> FeatureSet:
        """Raw features in natural units (no fill, no scaling): what rules and dashboards read."""
        data = compute_raw(self.spec, inputs)
        return FeatureSet(self.spec.raw_names(), inputs.symbols, inputs.ts, data)

    def fit(self, inputs: FeatureInputs, start: datetime | None = None, end: datetime | None = None) -> FittedPipeline:
        """Learn the scaler from rows with start <= ts < end only (inputs may extend further: unread)."""
        rows = _window_rows(inputs.ts, start, end)
        if rows.stop <= rows.start:
            raise DataError(f"no bars in the training window [{start}, {end})")
        train = inputs.head(rows.stop)
        raw = compute_raw(self.spec, train)
        fill_batch(raw, self.spec.missing, want_masks=False)
        scaler = fit_scaler(raw[:, rows], self.spec.scaling)
        return FittedPipeline(
            spec=self.spec,
            scaler=scaler,
            train_start=train.ts[rows.start].isoformat(),
            train_end=train.ts[rows.stop - 1].isoformat(),
        )

    def unscaled(self) -> FittedPipeline:
        """The fill policy without scaling (identity scaler): for rules and for inspecting values."""
        n = len(self.spec.raw_names())
        return FittedPipeline(self.spec, identity_scaler(n, self.spec.scaling), "", "")


@dataclass(frozen=True)
class FittedPipeline:
    """A spec with its fitted scaler: transform anywhere, stream live, store with a model."""

    spec: PipelineSpec
    scaler: FittedScaler
    train_start: str
    train_end: str

    def __post_init__(self) -> None:
        if self.scaler.center.shape != (len(self.spec.raw_names()),):
            raise ConfigError("scaler parameters do not match the spec's features")

    @property
    def names(self) -> tuple[str, ...]:
        """Output columns: features then masks."""
        return self.spec.names()

    @property
    def schema_hash(self) -> str:
        """The spec's schema hash."""
        return self.spec.schema_hash()

    def transform(self, inputs: FeatureInputs) -> FeatureSet:
        """Model-ready features for every row: filled, masked, scaled and clipped."""
        raw_n = len(self.spec.raw_names())
        names = self.names
        data = np.empty((len(names), len(inputs), len(inputs.symbols)))
        compute_raw(self.spec, inputs, out=data[:raw_n])
        masks = self.spec.missing.masks
        fill_batch(data[:raw_n], self.spec.missing, masks=data[raw_n:] if masks else None, want_masks=masks)
        self.scaler.apply(data[:raw_n])
        return FeatureSet(names, inputs.symbols, inputs.ts, data)

    def stream(self, symbols: tuple[str, ...], interval: str, external: External | None = None) -> FeatureStream:
        """A streaming state for live cycles, starting empty (warm it with `FeatureStream.replay`)."""
        return FeatureStream(self, symbols, interval, external or External())

    def to_dict(self) -> dict[str, Any]:
        """Everything a model artifact needs to rebuild this pipeline exactly."""
        return {
            "schema_hash": self.schema_hash,
            "spec": self.spec.to_dict(),
            "scaler": self.scaler.to_dict(),
            "train_start": self.train_start,
            "train_end": self.train_end,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedPipeline:
        """Rebuild from `to_dict`; refuses an artifact whose schema this code no longer produces."""
        spec = PipelineSpec.from_dict(data["spec"])
        if spec.schema_hash() != data["schema_hash"]:
            raise ConfigError(
                "the stored feature schema hash does not match this code's features for the same spec; "
                "retrain the model or check out the feature code it was trained with"
            )
        return cls(spec, FittedScaler.from_dict(data["scaler"]), data["train_start"], data["train_end"])


class FeatureBuffer:
    """Streamed rows kept as a growing (F, T, N) block, readable through FeatureView like batch panels."""

    def __init__(self, names: tuple[str, ...], n_symbols: int, capacity: int = 1024) -> None:
        self.names = names
        self._data = np.full((len(names), max(1, capacity), n_symbols), np.nan)
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def append(self, row: Array) -> int:
        """Store one (N, F) row from `FeatureStream.update`; returns its cycle index k."""
        if self._len == self._data.shape[1]:
            grown = np.full((self._data.shape[0], 2 * self._len, self._data.shape[2]), np.nan)
            grown[:, : self._len] = self._data
            self._data = grown
        self._data[:, self._len] = row.T
        self._len += 1
        return self._len - 1

    def panels(self) -> dict[str, Array]:
        """name -> (k + 1, N) views of the rows so far (fetch again after each append)."""
        return {name: self._data[i, : self._len] for i, name in enumerate(self.names)}


class FeatureStream:
    """Updates every feature for the whole universe one cycle at a time, equal to the batch to 1e-9."""

    def __init__(self, fitted: FittedPipeline, symbols: tuple[str, ...], interval: str, external: External) -> None:
        spec = fitted.spec
        self.fitted = fitted
        self.symbols = symbols
        self.interval = interval
        n = len(symbols)
        self._raw_names = spec.raw_names()
        self._pos = {name: i for i, name in enumerate(self._raw_names)}
        depths = Depths()
        if spec.technical is not None:
            depths = depths.merge(spec.technical.depths())
        if spec.returns is not None:
            depths = depths.merge(spec.returns.depths())
        self._hist = BarHistory(n, depths)
        self._tech = TechnicalState(spec.technical, n) if spec.technical else None
        self._ret = ReturnState(spec.returns, n) if spec.returns else None
        self._fill = FillState(len(self._raw_names), n, spec.missing)
        self._last_ns: int | None = None
        self._fund: FundamentalsState | None = None
        self._sent: SentimentState | None = None
        self._cal: CalendarState | None = None
        self._earnings: EarningsDates | None = None
        self.set_external(external)
        #: the last cycle's raw values (natural units, before fill and scaling), (F_raw, N)
        self.last_raw: Array = np.full((len(self._raw_names), n), np.nan)

    def set_external(self, external: External) -> None:
        """Replace the side data (new macro prints, reports, news); feature state carries on."""
        spec, n = self.fitted.spec, len(self.symbols)
        self._external = external
        if spec.macro is not None:
            self._macro = MacroState(build_tables(external.macro, spec.macro), spec.macro, self._last_ns)
        if spec.calendar is not None and spec.calendar.earnings:
            self._earnings = prepare_earnings(external.earnings, self.symbols)
            if self._cal is not None:
                self._cal.set_earnings(self._earnings)
        if spec.fundamentals is not None:
            table = build_reports(_require(external.fundamentals, "fundamentals"), self.symbols, spec.fundamentals)
            fund = FundamentalsState(table)
            if self._last_ns is not None:
                fund.update(self._last_ns, np.full(n, np.nan))
            self._fund = fund
        if spec.sentiment is not None:
            items = prepare_news(_require(external.news, "news"), self.symbols)
            if self._sent is None:
                self._sent = SentimentState(spec.sentiment, items, n)
            else:
                self._sent.replace_items(items)

    def update(
        self, ts: pd.Timestamp | datetime, open_: Array, high: Array, low: Array, close: Array, volume: Array
    ) -> Array:
        """Features (N, F) for one new cycle whose bars start at ts (NaN close: that symbol has no bar)."""
        spec = self.fitted.spec
        stamp = pd.Timestamp(ts)
        if stamp.tzinfo is None:
            raise DataError("cycle timestamps must be timezone-aware (UTC)")
        t_ns = int(stamp.value)
        if self._last_ns is not None and t_ns <= self._last_ns:
            raise DataError(f"cycle {pd.Timestamp(ts)} is not after the previous one")
        self._last_ns = t_ns
        day = ny_day_of(t_ns)
        decide = decision_ns_of(t_ns, self.interval)
        arrays = [np.asarray(a, dtype=np.float64) for a in (open_, high, low, close, volume)]
        self._hist.push(*arrays)
        raw = np.empty((len(self._raw_names), len(self.symbols)))

        def put(values: dict[str, Array]) -> None:
            for name, v in values.items():
                raw[self._pos[name]] = v

        if self._tech is not None:
            put(self._tech.update(self._hist))
        if self._ret is not None:
            put(self._ret.update(self._hist, day))
        if spec.calendar is not None:
            if self._cal is None:
                self._cal = CalendarState(spec.calendar, self.symbols, self.interval, np.asarray([day]))
                self._cal.set_earnings(self._earnings)
            put(self._cal.row(day, decide))
        if spec.macro is not None:
            for name, value in self._macro.update(t_ns).items():
                raw[self._pos[name]] = value
        if self._fund is not None:
            put(self._fund.update(t_ns, arrays[3]))
        if self._sent is not None:
            put(self._sent.update(decide))
        self.last_raw = raw.copy()
        masks = self._fill.update(raw)
        self.fitted.scaler.apply(raw)
        out = np.concatenate([raw, masks]) if spec.missing.masks else raw
        return out.T

    def replay(self, inputs: FeatureInputs) -> Array:
        """Feed every row of `inputs` through `update` (warm-up, or a replay): (T, N, F)."""
        p = inputs.prices
        rows = [
            self.update(inputs.ts[k], p.open[k], p.high[k], p.low[k], p.close[k], p.volume[k])
            for k in range(len(inputs))
        ]
        return np.stack(rows) if rows else np.empty((0, len(self.symbols), len(self.fitted.names)))
