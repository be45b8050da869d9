"""Board members: each model family (and the trend baseline) turned into a `Member` that opines on every symbol.

Feature panels are namespaced per member (`lstm:<feature>`, `gru:<feature>`, `ppo:<feature>`) because each
model carries its own fitted pipeline (scaler); the trend member reads the plain `sma_<n>` panels and every
member reads the raw `close` panel to know which symbols traded. All reads go through the FeatureView, so a
member at cycle k never sees a row after k.

The GRU is trained on coarser bars (weekly from daily). `coarse_panels` computes its features on resampled
bars and aligns them to the engine's bars so that cycle k only sees coarse bars that had closed by bar k's
close: a week becomes visible on the first engine bar of a LATER week (intraday: once the bucket's end is at or
before the bar's close). A partial week is therefore never read, whatever the data after k looks like.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from papertrader.core.arrays import Array, BoolArray
from papertrader.core.errors import ConfigError
from papertrader.domain.sessions import bar_close_time
from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.pipeline import FittedPipeline
from papertrader.features.spec import PipelineSpec
from papertrader.features.view import FeatureView
from papertrader.models.inference import BatchPredictor
from papertrader.models.loading import Health, ModelHandle, PrefixState
from papertrader.models.registry import Manifest, Registry
from papertrader.models.resample import resample_bars
from papertrader.models.rl.env import OBS_LIMIT, Action, next_units
from papertrader.signals.votes import Opinion, Timeframe

DOWN, FLAT, UP = 0, 1, 2
CLOSE: Final = "close"
ROW_SUFFIX: Final = "_coarse_row"


def panel_name(prefix: str, feature: str) -> str:
    """The namespaced engine panel of one member's feature."""
    return f"{prefix}:{feature}"


def _present(view: FeatureView) -> BoolArray:
    """Symbols with a bar at this cycle (a member gives no view on the others)."""
    return np.asarray(np.isfinite(view.now(CLOSE)), dtype=np.bool_)


def _opinion(
    name: str, timeframe: Timeframe, p_up: Array, p_down: Array, exit_: BoolArray, present: BoolArray, why: str
) -> Opinion:
    """Mask symbols without a bar to NaN and attach a per-symbol reason."""
    up = np.where(present, p_up, np.nan)
    down = np.where(present, p_down, np.nan)
    flags = np.asarray(exit_ & present, dtype=np.bool_)

    def reason(i: int) -> str:
        if not present[i]:
            return f"{name}: no bar"
        tail = " EXIT" if flags[i] else ""
        return f"{name} ({why}): raw P(up) {up[i]:.2f} P(down) {down[i]:.2f}{tail}"

    return Opinion(name, timeframe, up, down, flags, reason)


def _predict(predictor: BatchPredictor, x: npt.NDArray[np.float32]) -> dict[str, Array]:
    """One batched call on one pinned thread without autograd (predictable beside the engine; see inference)."""
    import torch

    from papertrader.models.trainer import pinned_threads

    with pinned_threads(1), torch.inference_mode():
        return predictor.predict(x)


def _pinned_prefix(handle: ModelHandle, x: npt.NDArray[np.float32]) -> PrefixState | None:
    """The handle's recurrent prefix state, computed as `_predict` computes (one pinned thread, no autograd)."""
    import torch

    from papertrader.models.trainer import pinned_threads

    with pinned_threads(1), torch.inference_mode():
        return handle.prefix_state(x)


def _pinned_last(handle: ModelHandle, prefix: PrefixState, x: npt.NDArray[np.float32]) -> dict[str, Array] | None:
    """The handle's outputs from a prefix state and the last step, as `_predict` computes them."""
    import torch

    from papertrader.models.trainer import pinned_threads

    with pinned_threads(1), torch.inference_mode():
        return handle.predict_last(prefix, x)


def _inputs(raw: Array) -> npt.NDArray[np.float32]:
    """(F, T, N) panels as read -> the (N, T, F) float32 model inputs, NaN and infinities as the scaled median (0).

    Written as one mask and one transposing cast: the same numbers as `np.nan_to_num(x, nan=0, posinf=0,
    neginf=0)` then float32, with fewer passes over the window (why: it sits on the decision path).
    """
    clean = np.where(np.isfinite(raw), raw, 0.0)
    return np.ascontiguousarray(clean.transpose(2, 1, 0), dtype=np.float32)


def _same_bits(a: Array, b: Array) -> bool:
    """Whether two float64 blocks hold the very same bits (NaN where NaN): inputs that cannot differ in any number."""
    return a.shape == b.shape and bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


class _ModelMember:
    """What every model member shares: its predictor, its namespaced feature panels, name, timeframe, version."""

    def __init__(
        self, predictor: BatchPredictor, feature_names: tuple[str, ...], name: str, timeframe: Timeframe, version: str
    ) -> None:
        self.predictor = predictor
        self.feature_names = feature_names
        self.name = name
        self.timeframe: Timeframe = timeframe
        self.version = version
        self._panels = tuple(panel_name(name, f) for f in feature_names)

    @property
    def health(self) -> Health | None:
        """The model handle's health (which version serves, fallbacks), when it has one."""
        return getattr(self.predictor, "health", None)

    def required_features(self) -> tuple[str, ...]:
        """The model's namespaced feature panels and the close."""
        return (*self._panels, CLOSE)

    def _direction(self, view: FeatureView, x: npt.NDArray[np.float32], why: str) -> Opinion:
        """A direction classifier's DOWN/FLAT/UP probabilities for a batch as an opinion (it never asks to exit)."""
        return self._from_probs(view, _predict(self.predictor, x)["probs"], why)

    def _from_probs(self, view: FeatureView, probs: Array, why: str) -> Opinion:
        """DOWN/FLAT/UP probabilities (N, 3) as an opinion."""
        n = probs.shape[0]
        return _opinion(
            self.name, self.timeframe, probs[:, UP], probs[:, DOWN], np.zeros(n, dtype=np.bool_), _present(view), why
        )


class SequenceMember(_ModelMember):
    """The LSTM direction model as a member: P(up) and P(down) over its horizon, from its own features."""

    def __init__(
        self,
        predictor: BatchPredictor,
        feature_names: tuple[str, ...],
        lookback: int,
        name: str = "lstm",
        timeframe: Timeframe = "short",
        version: str = "",
    ) -> None:
        if lookback < 1:
            raise ValueError("lookback must be positive")
        super().__init__(predictor, feature_names, name, timeframe, version)
        self.lookback = lookback
        #: (the next window's first lookback - 1 rows as read, (F, lookback - 1, N), their recurrent state)
        self._prefix: tuple[Array, PrefixState] | None = None

    def prepare(self, view: FeatureView) -> None:
        """Between bars: the recurrent state over the next cycle's first `lookback - 1` rows (all at or before k).

        The rows are final (a live run only appends), so at the close only the last step runs (`opine`);
        the answer equals the full window's (`opine` checks that the window starts with these very rows, bit
        for bit, before it uses the state). Backtests never call this and run the full window.
        """
        self._prefix = None
        if self.lookback < 2 or view.k + 2 < self.lookback or not isinstance(self.predictor, ModelHandle):
            return
        raw = view.windows(self._panels, self.lookback - 1)
        state = _pinned_prefix(self.predictor, _inputs(raw))
        if state is not None:
            self._prefix = (raw, state)

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """One batched prediction for the universe; silent while the look-back is not filled."""
        n = view.now(CLOSE).shape[0]
        prefix, self._prefix = self._prefix, None
        if view.k + 1 < self.lookback:
            return Opinion.silent(self.name, self.timeframe, n, f"warming up: needs {self.lookback} bars")
        why = f"{self.name} {self.version}".strip()
        raw = view.windows(self._panels, self.lookback)
        if prefix is not None and isinstance(self.predictor, ModelHandle) and _same_bits(raw[:, :-1], prefix[0]):
            out = _pinned_last(self.predictor, prefix[1], _inputs(raw[:, -1:]))
            if out is not None:
                return self._from_probs(view, out["probs"], why)
        return self._direction(view, _inputs(raw), why)


class CoarseMember(_ModelMember):
    """The GRU trend model: reads coarse-bar features aligned so that only closed coarse bars are visible."""

    def __init__(
        self,
        predictor: BatchPredictor,
        feature_names: tuple[str, ...],
        lookback: int,
        name: str = "gru",
        timeframe: Timeframe = "trend",
        version: str = "",
        max_fine_per_coarse: int = 7,
    ) -> None:
        if lookback < 1:
            raise ValueError("lookback must be positive")
        super().__init__(predictor, feature_names, name, timeframe, version)
        self.lookback = lookback
        self.span = lookback * max_fine_per_coarse + max_fine_per_coarse
        self._row = panel_name(name, ROW_SUFFIX)
        #: (the window's rows as read, the serving version, probabilities): reused until a coarse bar closes
        self._answer: tuple[Array, str | None, Array] | None = None
        #: (the next window's first lookback - 1 rows as read, their recurrent state), from `prepare`
        self._prefix: tuple[Array, PrefixState] | None = None

    def required_features(self) -> tuple[str, ...]:
        """Coarse feature panels, the coarse-row index panel and the close."""
        return (*self._panels, self._row, CLOSE)

    def coarse_positions(self, view: FeatureView) -> npt.NDArray[np.intp] | None:
        """Positions (in the view's window) of the last `lookback` distinct closed coarse bars, or None."""
        rows = view.window(self._row, self.span)[:, 0]
        last = np.flatnonzero(np.r_[rows[1:] != rows[:-1], True] & (rows >= 0))
        return last[-self.lookback :] if last.size >= self.lookback else None

    def _raw(self, view: FeatureView) -> Array | None:
        """(F, lookback, N): the rows of the last `lookback` closed coarse bars as read, or None (only those rows
        are copied, not the fine bars between them)."""
        pos = self.coarse_positions(view)
        if pos is None:
            return None
        back = np.asarray(min(self.span, view.k + 1) - 1 - pos, dtype=np.intp)  # positions in the span's window
        return view.rows(self._panels, back)

    def prepare(self, view: FeatureView) -> None:
        """Between bars: once per coarse bar, the recurrent state over the next coarse window's first steps."""
        if self.lookback < 2 or not isinstance(self.predictor, ModelHandle):
            return
        raw = self._raw(view)
        if raw is None:
            return
        head = np.ascontiguousarray(raw[:, 1:])
        if self._prefix is not None and _same_bits(self._prefix[0], head):
            return
        state = _pinned_prefix(self.predictor, _inputs(head))
        self._prefix = (head, state) if state is not None else None

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """The trend class probabilities over the last `lookback` closed coarse bars.

        The inputs change only when a coarse bar closes, so the answer is reused until then (the same inputs
        give the same numbers); at a close, a prefix state from `prepare` leaves only the new step to run.
        """
        n = view.now(CLOSE).shape[0]
        raw = self._raw(view)
        if raw is None:
            return Opinion.silent(self.name, self.timeframe, n, f"warming up: needs {self.lookback} closed coarse bars")
        why = f"{self.name} {self.version} weekly".strip()
        answer, serving = self._answer, getattr(self.health, "active", None)
        if answer is not None and answer[1] == serving and _same_bits(answer[0], raw):
            return self._from_probs(view, answer[2], why)
        probs: Array | None = None
        prefix = self._prefix
        if prefix is not None and isinstance(self.predictor, ModelHandle) and _same_bits(prefix[0], raw[:, :-1]):
            out = _pinned_last(self.predictor, prefix[1], _inputs(raw[:, -1:]))
            probs = out["probs"] if out is not None else None
        if probs is None:
            probs = _predict(self.predictor, _inputs(raw))["probs"]
        self._answer = (raw, getattr(self.health, "active", None), probs)
        return self._from_probs(view, probs, why)


def coarse_alignment(engine_ts: pd.DatetimeIndex, coarse_ts: pd.DatetimeIndex, interval: str) -> npt.NDArray[np.int64]:
    """For each engine bar, the index of the last coarse bar closed by its close (-1: none yet).

    Daily bars: a week is closed for every bar of a later New York week (its stamp is data-dependent, so the
    calendar week decides, never the stamp). Intraday: the coarse bucket's end must be at or before the bar's
    close.
    """
    if interval == "1d":
        fine = _week_key(engine_ts)
        coarse = _week_key(coarse_ts)
        return np.asarray(np.searchsorted(coarse, fine, side="left") - 1, dtype=np.int64)
    from papertrader.models.resample import coarser

    _, coarse_interval = coarser(interval)
    ends = np.array([bar_close_time(t.to_pydatetime(), coarse_interval).timestamp() for t in coarse_ts])
    closes = np.array([bar_close_time(t.to_pydatetime(), interval).timestamp() for t in engine_ts])
    return np.asarray(np.searchsorted(ends, closes, side="right") - 1, dtype=np.int64)


def _week_key(ts: pd.DatetimeIndex) -> npt.NDArray[np.int64]:
    """Monday of each stamp's New York week, as days since the epoch (sorted input stays sorted)."""
    local = pd.DatetimeIndex(ts).tz_convert("America/New_York").tz_localize(None).normalize()
    days = np.asarray(local.asi8 // 86_400_000_000_000, dtype=np.int64)
    weekday = np.asarray(local.weekday, dtype=np.int64)
    return days - weekday


def coarse_panels(
    bars: pd.DataFrame,
    interval: str,
    fitted: FittedPipeline,
    engine_ts: pd.DatetimeIndex,
    symbols: tuple[str, ...],
    external: External | None = None,
    prefix: str = "gru",
) -> dict[str, Array]:
    """The GRU's coarse features on the engine's time grid: row k holds the last coarse bar closed by bar k."""
    coarse, coarse_interval = resample_bars(bars[bars["symbol"].isin(symbols)], interval)
    inputs = FeatureInputs.from_long(coarse, coarse_interval, external, symbols)
    features = fitted.transform(inputs)
    idx = coarse_alignment(pd.DatetimeIndex(engine_ts), inputs.ts, interval)
    take = np.clip(idx, 0, None)
    out: dict[str, Array] = {}
    for name, panel in features.panels().items():
        aligned = panel[take]
        aligned[idx < 0] = np.nan
        out[panel_name(prefix, name)] = aligned
    out[panel_name(prefix, ROW_SUFFIX)] = idx.astype(np.float64)[:, None]
    return out


class CrossSectionMember(_ModelMember):
    """The LightGBM ranker: P(outperform the universe over its horizon) per symbol, from its Alpha158 panels.

    The factors are computed point in time on the engine's panel by the same function training used
    (features.alpha158), so row k of a panel equals the training feature at that bar. The model needs a
    cross-section (its probabilities come from the scores' z-score across the symbols with a bar), so it is
    silent while fewer than two symbols trade or the longest factor window has not filled yet.
    """

    def __init__(
        self,
        predictor: BatchPredictor,
        feature_names: tuple[str, ...],
        warmup: int,
        name: str = "lgbm",
        timeframe: Timeframe = "short",
        version: str = "",
    ) -> None:
        super().__init__(predictor, feature_names, name, timeframe, version)
        self.warmup = warmup

    def features_now(self, view: FeatureView) -> Array:
        """(N, F) factors of every symbol at the view's cycle."""
        return np.stack([view.now(p) for p in self._panels], axis=1)

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """One prediction over the symbols with a bar now; P(down) is P(underperform) = 1 - P(up)."""
        present = _present(view)
        n = present.shape[0]
        if view.k + 1 < self.warmup:
            return Opinion.silent(self.name, self.timeframe, n, f"warming up: needs {self.warmup} bars")
        if present.sum() < 2:
            return Opinion.silent(self.name, self.timeframe, n, "needs at least two symbols with a bar to rank")
        x = np.asarray(self.features_now(view)[present], dtype=np.float32)
        probs = self.predictor.predict(x)["probs"]
        p_up = np.full(n, np.nan)
        p_up[present] = probs[:, 1]
        why = f"{self.name} {self.version} rank".strip()
        return _opinion(self.name, self.timeframe, p_up, 1.0 - p_up, np.zeros(n, dtype=np.bool_), present, why)


class AccountProvider(Protocol):
    """Position state the agent needs at a cycle: (N, 4) position, unrealised P&L, equity change, drawdown."""

    def account(self, k: int, close: Array) -> Array:
        """Account features for every symbol at cycle k."""
        ...

    def record(self, k: int, close: Array, actions: npt.NDArray[np.int64]) -> None:
        """Learn the actions taken at cycle k (the agent's own book moves with them)."""
        ...

    def holding(self) -> BoolArray:
        """Symbols the book is long now (an exit request only means something there)."""
        ...


class ShadowBook:
    """The agent's own per-symbol sleeve, as in training: units from its actions, marked at each close.

    The ensemble blends members, so the real portfolio is not the agent's position; the agent is fed the
    position its own actions would hold (what its policy was trained on). Cycles must arrive in order; a
    jump backwards (a new run over the same member) starts a fresh book.
    """

    def __init__(self, n_symbols: int, max_units: int) -> None:
        self.n = n_symbols
        self.max_units = max_units
        self.reset()

    def reset(self) -> None:
        """A flat book (a new run)."""
        n = self.n
        self.units = np.zeros(n, dtype=np.int64)
        self.entry = np.full(n, np.nan)
        self.equity = np.ones(n)
        self.peak = np.ones(n)
        self.last_close = np.full(n, np.nan)
        self.last_k: int | None = None

    def account(self, k: int, close: Array) -> Array:
        """(N, 4) features in the environment's order and scale."""
        if self.last_k is not None and k <= self.last_k:
            self.reset()
        ret = np.where(np.isfinite(close) & np.isfinite(self.last_close), close / self.last_close - 1.0, 0.0)
        self.equity = self.equity * (1.0 + self.units / self.max_units * ret)
        self.peak = np.maximum(self.peak, self.equity)
        mark = np.where(np.isfinite(close), close, self.last_close)
        unreal = np.where(
            (self.units != 0) & np.isfinite(self.entry) & np.isfinite(mark),
            self.units / self.max_units * (mark / np.where(np.isfinite(self.entry), self.entry, 1.0) - 1.0),
            0.0,
        )
        self.last_close = np.where(np.isfinite(close), close, self.last_close)
        return np.stack([self.units / self.max_units, unreal, self.equity - 1.0, 1.0 - self.equity / self.peak], axis=1)

    def holding(self) -> BoolArray:
        """Symbols the book is long now."""
        return np.asarray(self.units > 0, dtype=np.bool_)

    def record(self, k: int, close: Array, actions: npt.NDArray[np.int64]) -> None:
        """Move the book to what the actions ask for (entered at this close)."""
        new = units_after(actions, self.units, self.max_units)
        opened = (self.units == 0) & (new != 0)
        self.entry = np.where(opened, close, np.where(new == 0, np.nan, self.entry))
        self.units = new.astype(np.int64)
        self.last_k = k


def units_after(actions: npt.NDArray[np.int64], units: npt.NDArray[np.int64], max_units: int) -> npt.NDArray[np.int64]:
    """`next_units` (long only) of every symbol at once: the same integers, without a Python call per symbol."""
    a = np.asarray(actions, dtype=np.int64)
    u = np.asarray(units, dtype=np.int64)
    if not np.isin(a, [int(x) for x in Action]).all():  # an unknown action: next_units says which
        return np.array([next_units(x, y, max_units, False) for x, y in zip(a.tolist(), u.tolist(), strict=True)])
    added = np.where(u == 0, 0, np.clip(u + np.sign(u), -max_units, max_units))
    new = np.select(
        [a == Action.BUY, a == Action.SELL, a == Action.ADD, a == Action.EXIT],
        [np.where(u > 0, u, 1), np.where(u < 0, u, 0), added, np.zeros_like(u)],
        default=u,
    )
    return np.asarray(new, dtype=np.int64)


class AgentMember(_ModelMember):
    """The PPO agent: BUY/ADD probability as P(up), SELL/EXIT as P(down); a greedy SELL/EXIT while its book
    holds the symbol raises the exit flag."""

    def __init__(
        self,
        predictor: BatchPredictor,
        feature_names: tuple[str, ...],
        book: AccountProvider,
        name: str = "ppo",
        timeframe: Timeframe = "agent",
        version: str = "",
    ) -> None:
        super().__init__(predictor, feature_names, name, timeframe, version)
        self.book = book

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """Observations (features + the book's account state) -> action probabilities -> an opinion."""
        close = view.now(CLOSE)
        feats = view.windows(self._panels, 1)[:, -1].T  # (N, F): every panel's row now, read in one block
        feats = np.nan_to_num(feats, nan=0.0, posinf=0.0, neginf=0.0)
        obs = np.concatenate([feats, self.book.account(view.k, close)], axis=1)
        obs = np.asarray(np.clip(obs, -OBS_LIMIT, OBS_LIMIT), dtype=np.float32)
        out = _predict(self.predictor, obs)
        probs = out["probs"]
        actions = np.asarray(out.get("action", np.argmax(probs, axis=1)), dtype=np.int64)
        held = self.book.holding()
        exit_ = np.asarray(((actions == Action.SELL) | (actions == Action.EXIT)) & held, dtype=np.bool_)
        self.book.record(view.k, close, actions)
        return _opinion(
            self.name,
            self.timeframe,
            probs[:, Action.BUY] + probs[:, Action.ADD],
            probs[:, Action.SELL] + probs[:, Action.EXIT],
            exit_,
            _present(view),
            f"{self.name} {self.version}".strip(),
        )


class TrendMember:
    """The moving-average baseline as a member: P(up) grows with how far the fast average is above the slow."""

    def __init__(self, fast: int = 20, slow: int = 50, name: str = "trend", timeframe: Timeframe = "baseline") -> None:
        if fast >= slow:
            raise ValueError("fast must be shorter than slow")
        self.fast, self.slow = fast, slow
        self.name = name
        self.timeframe: Timeframe = timeframe

    def required_features(self) -> tuple[str, ...]:
        """The two moving averages and the close."""
        return (f"sma_{self.fast}", f"sma_{self.slow}", CLOSE)

    def opine(self, ts: datetime, view: FeatureView) -> Opinion:
        """0.5 +/- half the clipped relative spread of the averages; NaN until both exist."""
        fast, slow = view.now(f"sma_{self.fast}"), view.now(f"sma_{self.slow}")
        ready = np.isfinite(fast) & np.isfinite(slow) & (slow > 0)
        spread = np.where(ready, fast / np.where(ready, slow, 1.0) - 1.0, 0.0)
        conviction = np.clip(np.abs(spread) * 20.0, 0.0, 1.0)
        p_up = np.where(spread > 0, 0.5 + 0.5 * conviction, 0.5 - 0.5 * conviction)
        present = _present(view) & ready
        return _opinion(
            self.name,
            self.timeframe,
            p_up,
            1.0 - p_up,
            np.zeros(len(fast), dtype=np.bool_),
            present,
            f"sma{self.fast} vs sma{self.slow}",
        )


# ----------------------------------------------------------------- from the registry


def fitted_pipeline(registry: Registry, family: str, manifest: Manifest) -> FittedPipeline:
    """The fitted feature pipeline stored with a version (the scaler it was trained with)."""
    import json

    path = registry.path(family, manifest.version) / "pipeline.json"
    if not path.exists():
        raise ConfigError(f"{family} {manifest.version} has no pipeline.json; retrain it (`papertrader train all`)")
    return FittedPipeline.from_dict(json.loads(path.read_text()))


def handle_for(registry: Registry, family: str) -> tuple[ModelHandle, Manifest]:
    """The live version's handle (lazy load, fallback, health) and its manifest."""
    manifest = registry.manifest(family)
    spec = PipelineSpec.from_dict(manifest.config["features"])
    return ModelHandle(registry, family, expected_schema=spec.schema_hash()), manifest
