"""Live paper trading: the continuous loop data -> features -> decision -> risk -> execution -> persistence -> events.

The orchestrator waits on an injected clock (a SimClock in tests jumps straight to the next event; the
WallClock sleeps) for each event of the day plan (engine/schedule.py): warm-up before the open, one
cycle per bar close, the end-of-day report, the retraining slot. Each cycle appends the new bars to
the panel and runs `Engine.step` on the new row: the very engine a replay runs, so a live day and a
replay of the same bars give the same orders, fills and equity.

The strategy is whatever `settings.strategy.name` says, built by the same factory as a backtest or replay
(engine/strategies.py): the trend baseline, one model as a one-member board, or the whole AI board. On every
new bar its feature panels (each model's fitted-pipeline features, the GRU's weekly features, the SMAs) are
rebuilt from the grown panel by the factory's FeatureBuilder, and `Engine.extend` refuses a rebuild that
changed a row already seen. The board is calibrated on bars before the run's first traded cycle. A retrained
model version that passed its health check replaces the old one at the next warm-up: the strategy is rebuilt
(calibrated on bars before that session's first cycle) and a `strategy.rebuilt` event records it, so a
resumed run rebuilds the same board. Each model member's loading health (ModelHandle: version in use,
fallbacks) shows on the health board as `model.<member>`.

Data faults never crash the loop and never trade on bad data: a bar that fails data/quality is
quarantined (in the lake) and counts as missing; a cycle with any symbol missing runs in HOLD (no new
decisions; working exits, stops and halts still act) with the data component DEGRADED, and DOWN once a
symbol has missed `stale_after_bars` closes in a row or every source failed; a close with no bars at
all appends nothing and steps nothing. Trading resumes by itself at the first complete bar. Before any of that,
the symbols a close's request left without their bar are asked again within the bar (`live.refetch_attempts`,
a doubling backoff on the clock, no retry starting past `schedule.refetch_window`): bars that come then are
traded as if they had come first. A crashed run is restarted by engine/supervisor.py (`paper --live --supervise`).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import json
import logging
import threading
import time as wall_time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from papertrader.config.settings import Settings
from papertrader.core.clock import Clock, SimClock
from papertrader.core.errors import ConfigError, DataError, PapertraderError
from papertrader.core.ids import new_run_id
from papertrader.core.private import private_dir
from papertrader.data.polling import QuoteFeed
from papertrader.data.quality import validate_bars
from papertrader.data.schema import BAR_COLUMNS
from papertrader.data.store import Lake
from papertrader.domain.events import LiveRestarted, LiveScored, StrategyRebuilt
from papertrader.domain.sessions import NEW_YORK, session_date
from papertrader.engine import kernel
from papertrader.engine.control import RunControl
from papertrader.engine.cycle import CycleOutcome, Engine
from papertrader.engine.feed import BarFeed, closed_by
from papertrader.engine.growth import own_bars_start
from papertrader.engine.health import LatencyTracker, Status
from papertrader.engine.kernel import RunSpec, build_strategy, stored_settings
from papertrader.engine.live_features import LiveFeatures
from papertrader.engine.live_score import LiveScore, score_run
from papertrader.engine.notifier import attach_notifier, no_notifier
from papertrader.engine.panel import Panel
from papertrader.engine.recorder import BatchRecorder
from papertrader.engine.runner import apply_mode, board_health, close_strategy
from papertrader.engine.schedule import DayPlan, EventKind, ScheduledEvent, plans, refetch_window
from papertrader.engine.strategies import Built, FeatureBuilder, calibration_window, member_names, strategy_reach
from papertrader.features.view import FeatureView
from papertrader.persistence.repository import RunRepository
from papertrader.signals.base import HealthReporter, Preparable

log = logging.getLogger(__name__)

#: the key in a live run's stored config that remembers where its panel starts (resume reloads from there)
HISTORY_START_KEY = "live_history_start"
DATA = "data"
QUOTES = "quotes"
MODELS = "models"
#: the event that records a rebuilt strategy (model versions and the first cycle it trades); resume reads it
REBUILT = StrategyRebuilt.KIND
#: rows a bounded live panel keeps beyond the longest look-back of its readers
KEEP_MARGIN = 64


@dataclass(frozen=True)
class LiveRequest:
    """What to trade live: universe, bar interval, run id, and how many sessions (None: until stopped)."""

    symbols: tuple[str, ...]
    interval: str = "1h"
    run_id: str | None = None
    resume: bool = False
    days: int | None = None


@dataclass(frozen=True)
class ModelUpdate:
    """A retrained model version and what its health check found (nothing: it may be used)."""

    family: str
    version: str
    problems: tuple[str, ...] = ()


class Retrainer(Protocol):
    """Retrains models off the loop's thread; the loop only starts jobs and collects finished ones."""

    def start(self, data_until: datetime) -> bool:
        """Begin retraining on data up to `data_until` in the background; False if a job is still running."""
        ...

    def take_ready(self) -> ModelUpdate | None:
        """The finished job's outcome, once; None while running or when there is nothing new."""
        ...


class BackgroundRetrainer:
    """Runs `train(data_until) -> version` in a daemon thread, then `check(version) -> problems` on the result."""

    def __init__(self, family: str, train: Callable[[datetime], str], check: Callable[[str], Sequence[str]]) -> None:
        self.family = family
        self._train = train
        self._check = check
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._ready: ModelUpdate | None = None
        self.started: list[datetime] = []

    @property
    def running(self) -> bool:
        """Whether a training job is in progress."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, data_until: datetime) -> bool:
        """Start a job unless one is running (training must never pile up behind the trading loop)."""
        if self.running:
            return False
        self.started.append(data_until)
        self._thread = threading.Thread(target=self._work, args=(data_until,), name="retrain", daemon=True)
        self._thread.start()
        return True

    def _work(self, data_until: datetime) -> None:
        try:
            version = self._train(data_until)
        except Exception as exc:  # a failed training is reported, never raised into the loop
            log.exception("retraining %s on data to %s failed", self.family, data_until)
            update = ModelUpdate(self.family, "", (f"training failed: {type(exc).__name__}: {exc}",))
        else:
            try:
                problems = tuple(self._check(version))
            except Exception as exc:
                problems = (f"health check failed: {type(exc).__name__}: {exc}",)
            update = ModelUpdate(self.family, version, problems)
        with self._lock:
            self._ready = update

    def take_ready(self) -> ModelUpdate | None:
        """The finished job's outcome, once."""
        with self._lock:
            ready, self._ready = self._ready, None
            return ready

    def join(self, timeout: float | None = None) -> None:
        """Wait for a running job (at shutdown, or in tests)."""
        if self._thread is not None:
            self._thread.join(timeout)


@dataclass
class DayStats:
    """What one session did, for its end-of-day report."""

    day: date
    cycles: int = 0
    held: int = 0
    fills: int = 0
    first_equity: Decimal | None = None
    last_equity: Decimal | None = None
    first_ts: datetime | None = None
    last_ts: datetime | None = None


@dataclass
class LiveResult:
    """A live run's outcome: what ran, what it wrote, how healthy and how fast it was."""

    run_id: str
    status: str
    cycles: int = 0
    held_cycles: int = 0
    sessions: list[date] = field(default_factory=list)
    warm_ups: list[datetime] = field(default_factory=list)
    reports: list[Path] = field(default_factory=list)
    models: dict[str, str] = field(default_factory=dict)
    latency: dict[str, float] = field(default_factory=dict)
    feature_latency: dict[str, float] = field(default_factory=dict)
    health: dict[str, str] = field(default_factory=dict)
    final_equity: Decimal | None = None
    halted: str | None = None
    strategy: str = ""
    #: uptime and critical failures over the sessions traded (engine/live_score.py), as of the run's end
    live_score: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Stable keys for --json files and scripts."""
        return {
            "run_id": self.run_id,
            "mode": "live",
            "status": self.status,
            "cycles": self.cycles,
            "held_cycles": self.held_cycles,
            "sessions": [d.isoformat() for d in self.sessions],
            "reports": [str(p) for p in self.reports],
            "models": dict(self.models),
            "cycle_latency": dict(self.latency),
            "feature_latency": dict(self.feature_latency),
            "strategy": self.strategy,
            "health": dict(self.health),
            "final_equity": None if self.final_equity is None else float(self.final_equity),
            "halted": self.halted,
            "live_score": self.live_score,
        }


@dataclass(frozen=True)
class Fetched:
    """What the feed request(s) of one bar close brought: valid new bars, per-symbol failures, quarantined bars."""

    valid: pd.DataFrame
    failures: dict[str, str] = field(default_factory=dict)
    quarantined: tuple[str, ...] = ()
    quarantined_symbols: frozenset[str] = frozenset()
    #: when the (last) request was made: the data's health verdict is stamped then
    at: datetime | None = None

    def missing(self, symbols: Sequence[str], expected: datetime) -> list[str]:
        """The symbols worth asking again: no valid bar stamped `expected`, and none quarantined."""
        have = set(self.valid.loc[self.valid["ts"] == pd.Timestamp(expected), "symbol"]) if len(self.valid) else set()
        return [s for s in symbols if s not in have and s not in self.quarantined_symbols]

    def merge(self, retry: Fetched, asked: Sequence[str]) -> Fetched:
        """These bars plus a re-request's for the `asked` symbols (whose old failures the retry's replace)."""
        frames = [f for f in (self.valid, retry.valid) if len(f)]
        valid = pd.concat(frames, ignore_index=True) if len(frames) > 1 else (frames[0] if frames else self.valid)
        again = set(asked)
        failures = {s: why for s, why in self.failures.items() if s not in again} | retry.failures
        return Fetched(
            valid,
            failures,
            self.quarantined + retry.quarantined,
            self.quarantined_symbols | retry.quarantined_symbols,
            retry.at,
        )


Backfill = Callable[[Sequence[str], str, datetime, datetime], None]


class LiveOrchestrator:
    """Drives one live paper-trading run through the day plans until its sessions are done or it is stopped."""

    def __init__(
        self,
        settings: Settings,
        request: LiveRequest,
        *,
        feed: BarFeed,
        clock: Clock,
        lake: Lake,
        repo: RunRepository,
        retrainer: Retrainer | None = None,
        backfill: Backfill | None = None,
        control: RunControl | None = None,
        on_engine: Callable[[Engine, int], None] | None = None,
        on_cycle: Callable[[CycleOutcome], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        wall_now: Callable[[], datetime] | None = None,
        timer: Callable[[], float] = wall_time.perf_counter,
        quotes: QuoteFeed | None = None,
    ) -> None:
        if not request.symbols:
            raise ConfigError("live trading needs --symbols")
        self.settings = settings
        self.request = request
        self.feed = feed
        self.clock = clock
        self.lake = lake
        self.repo = repo
        self.retrainer = retrainer
        self.backfill = backfill
        self.control = control
        self.on_engine = on_engine
        self.on_cycle = on_cycle
        self._should_stop = should_stop
        self._wall_now = wall_now or clock.now
        self.engine: Engine | None = None
        self.recorder: BatchRecorder | None = None
        self.run_id = request.run_id or new_run_id(self._wall_now())
        self.result = LiveResult(self.run_id, "running")
        self._missed: dict[str, int] = {s: 0 for s in request.symbols}
        self._day: DayStats | None = None
        self._next_k = 0
        self._builder: FeatureBuilder | None = None
        self._live: LiveFeatures | None = None
        #: model versions pinned by retraining (member -> version); others run their family's live version
        self._versions: dict[str, str] = {}
        self._timer = timer
        self.feature_latency = LatencyTracker()
        self._stop_notifier: Callable[[], object] = no_notifier
        #: quotes between bar closes (live.quotes_every_s; None: off) and when the next sweep is due
        self.quotes = quotes if settings.live.quotes_every_s is not None else None
        self._next_quotes: datetime | None = None
        self.quote_sweeps = 0
        #: re-requests of missing bars within their bar (live.refetch_attempts)
        self.refetches = 0
        #: where the run's history starts in the lake (a rebuild on a bounded panel reloads it from there)
        self._history_start: datetime | None = None
        #: rows the bounded live panel has dropped so far (cycle numbers are unchanged by it)
        self.dropped_rows = 0

    # ---- the loop --------------------------------------------------------------------------------

    def stopping(self) -> bool:
        """Whether a signal, the API or the caller asked the run to end."""
        if self.control is not None and self.control.should_stop():
            return True
        return bool(self._should_stop and self._should_stop())

    def run(self) -> LiveResult:
        """Trade session after session; a stop finishes the current cycle, commits it and ends the run."""
        live = self.settings.live
        status = "interrupted"
        try:
            first = self.clock.now().astimezone(NEW_YORK).date()
            for plan in plans(live.calendar, first, self.request.interval, live):
                if self.stopping():
                    break
                if self.request.days is not None and len(self.result.sessions) >= self.request.days:
                    status = "finished"
                    break
                if plan.close + plan.fetch_delay <= self.clock.now():
                    continue  # started after this session's last bar: begin with the next one
                self._run_day(plan)
        except BaseException as exc:
            self._finish("failed" if not isinstance(exc, KeyboardInterrupt) else "interrupted", str(exc))
            raise
        self._finish(status)
        return self.result

    def _run_day(self, plan: DayPlan) -> None:
        """One session's events in order; events already past (a mid-day start) are skipped, except warm-up."""
        self._day = DayStats(plan.day)
        self.result.sessions.append(plan.day)
        for event in plan.events():
            if event.kind is not EventKind.WARM_UP and event.at < self.clock.now():
                continue
            bar_start = event.bar_ts if event.kind is EventKind.BAR_CLOSE else None
            if bar_start is not None and not self._quotes_until(bar_start, event.at - plan.fetch_delay):
                return
            if not self._wait_until(event.at):
                return
            self._handle(plan, event)

    def _wait_until(self, at: datetime) -> bool:
        """Sleep on the clock until `at` (in short chunks on the wall clock, so a stop is seen); False if stopped."""
        while not self.stopping():
            left = (at - self.clock.now()).total_seconds()
            if left <= 0:
                return True
            if isinstance(self.clock, SimClock):
                self.clock.advance_to(at)
            else:
                self.clock.sleep(min(left, self.settings.live.wait_chunk_seconds))
        return False

    def _quotes_until(self, bar_start: datetime, at: datetime) -> bool:
        """Inside the bar that closes at `at` (strictly before its close): sweep quotes every `live.quotes_every_s`
        and hand them to the engine (never overnight, never to catch up missed sweeps); False if stopped.

        A sweep's failures never stop the loop (they lower the quotes' health); quotes no newer than the last bar
        close are ignored, so a mark is never older than the close it would replace.
        """
        if self.quotes is None or self.settings.live.quotes_every_s is None:
            return True
        every = timedelta(seconds=self.settings.live.quotes_every_s)
        while True:
            engine = self.engine
            if engine is None or self._next_k != engine.end or not len(engine.panel):
                return True
            last_close = engine.panel.close_times[-1]
            due = self._next_quotes if self._next_quotes is not None else self.clock.now()
            due = max(due, last_close + every, bar_start + every, self.clock.now())
            if due >= at:
                return True
            if not self._wait_until(due):
                return False
            self._next_quotes = due + every
            self._quote_sweep(engine, last_close)

    def _quote_sweep(self, engine: Engine, last_close: datetime) -> None:
        """One sweep: prices newer than the last close, in universe order, to `Engine.on_quotes`."""
        assert self.quotes is not None
        now = self.clock.now()
        try:
            sweep = self.quotes.sweep()
        except PapertraderError as exc:  # a feed is meant to collect its failures; this is the last guard
            engine.set_health(QUOTES, Status.DEGRADED, f"{type(exc).__name__}: {exc}"[:500], now)
            return
        self.quote_sweeps += 1
        frame = sweep.quotes
        fresh = frame[(frame["ts"] > pd.Timestamp(last_close)) & (frame["ts"] <= pd.Timestamp(now))]
        prices = (
            fresh.drop_duplicates("symbol", keep="last")
            .set_index("symbol")["price"]
            .reindex(list(engine.panel.symbols))
            .to_numpy(dtype=float)
        )
        if sweep.failures:
            message = "; ".join(f"{s}: {why}" for s, why in sorted(sweep.failures.items()))
            # quotes only add to the bars, so even none at all is DEGRADED, never DOWN (uptime follows the bars)
            engine.set_health(QUOTES, Status.DEGRADED, message[:500], now)
        else:
            engine.set_health(QUOTES, Status.OK, "ok", now)
        if np.isfinite(prices).any():
            sources = ",".join(sorted(set(fresh["source"].astype(str))))
            engine.on_quotes(now, prices, sources)

    def _handle(self, plan: DayPlan, event: ScheduledEvent) -> None:
        if event.kind is EventKind.WARM_UP:
            self._warm_up(plan)
        elif event.kind is EventKind.BAR_CLOSE:
            assert event.bar_ts is not None
            self._bar_close(event.bar_ts, event.at)
        elif event.kind is EventKind.CLOSE:
            if self.recorder is not None:
                self.recorder.flush()
            self._compact_lake()
        elif event.kind is EventKind.REPORT:
            self._report(plan)
        elif event.kind is EventKind.RETRAIN:
            self._retrain(plan)

    def _compact_lake(self, tidy: bool = False) -> None:
        """Off the decision path: merge the bar's delta files (tidy), or after the close fold them into the base."""
        try:
            if tidy:
                self.lake.tidy()
            else:
                self.lake.compact(self.request.symbols, self.request.interval)
        except (PapertraderError, OSError) as exc:
            log.warning("lake %s failed (the deltas stay readable): %s", "tidy" if tidy else "compaction", exc)

    # ---- warm-up ---------------------------------------------------------------------------------

    def _warm_up(self, plan: DayPlan) -> None:
        """Backfill the gap since the last stored bar, build or restore the engine, pick up healthy new models."""
        now = self.clock.now()
        self.result.warm_ups.append(now)
        if self.backfill is not None:
            since = self._last_stored() or now - timedelta(days=self.settings.live.history_days)
            try:
                self.backfill(self.request.symbols, self.request.interval, since, now)
            except PapertraderError as exc:
                log.warning("warm-up backfill failed: %s", exc)
                if self.engine is not None:
                    self.engine.set_health(DATA, Status.DEGRADED, f"backfill failed: {exc}", now)
        if self.engine is None:
            self._start(plan)
        else:
            self._take_new_bars(None)
        self._pick_up_models(now)

    def _last_stored(self) -> datetime | None:
        """The newest bar in the lake across the universe (the start of the gap to backfill)."""
        stamps = [
            ts
            for s in self.request.symbols
            if not (frame := self.lake.read_partition(s, self.request.interval)).empty
            for ts in [frame["ts"].max()]
        ]
        return min(stamps).to_pydatetime() if stamps else None

    def _start(self, plan: DayPlan) -> None:
        """Create (or reopen with --resume) the run, load its history from the lake and restore committed state."""
        request, settings, now = self.request, self.settings, self.clock.now()
        stored = self.repo.get_run(self.run_id) if request.resume else None
        if request.resume and stored is None:
            raise ConfigError(f"no run {self.run_id} to resume; `papertrader runs` lists them")
        if stored is not None:
            if stored.mode.value != "live" or HISTORY_START_KEY not in stored.config:
                raise ConfigError(f"run {self.run_id} is a {stored.mode.value} run; resume it with its own command")
            settings = stored_settings(stored.config, self.settings)
            self.settings = settings
            history_start = pd.Timestamp(stored.config[HISTORY_START_KEY]).to_pydatetime()
        else:
            history_start = now - timedelta(days=settings.live.history_days)
        self._history_start = history_start
        bars = closed_by(
            self.lake.read_bars(list(request.symbols), request.interval, history_start, now),
            request.interval,
            history_start,
            now,
        )
        if bars.empty or set(bars["symbol"]) != set(request.symbols):
            missing = sorted(set(request.symbols) - set(bars["symbol"]) if not bars.empty else request.symbols)
            raise DataError(
                f"no stored {request.interval} bars of {', '.join(missing)} to warm up on; "
                "backfill them first (`papertrader data backfill`)"
            )
        panel = Panel.from_long(bars, request.interval, request.symbols)
        first_day = datetime.combine(plan.day, time(0, 0), NEW_YORK).astimezone(UTC)
        resumed = stored is not None and stored.last_cycle >= 0
        if stored is not None and stored.last_cycle >= len(panel):
            raise DataError(f"run {self.run_id} committed cycle {stored.last_cycle} but the lake has {len(panel)} bars")
        first = self._strategy_start(stored.last_cycle) if stored is not None and resumed else len(panel)
        spec = RunSpec(  # the model versions pinned by the last rebuild (_strategy_start read them) included
            self.run_id,
            "live",
            first=first,
            start=stored.start if stored is not None and stored.start is not None else first_day,
            end=stored.end if stored is not None else first_day + timedelta(days=3650),
            resume=request.resume,
            versions=dict(self._versions),
            extra_config={
                HISTORY_START_KEY: stored.config[HISTORY_START_KEY] if stored is not None else panel.ts[0].isoformat()
            },
        )
        assembly = kernel.assemble(
            settings, spec, panel, lake=self.lake, repo=self.repo, clock=self.clock, created_at=self._wall_now()
        )
        self._use(assembly.built)
        self.recorder = assembly.recorder
        engine = self.engine = assembly.engine
        last_cycle = assembly.last_cycle
        self._stop_notifier = attach_notifier(engine.bus, self.run_id)  # PAPERTRADER_NOTIFY_URLS, if set
        self._report_members(now)
        if stored is not None:  # closes since its last cycle: skipped after a clean stop, missed after a crash
            engine.note(
                LiveRestarted(
                    now,
                    since=None if stored.last_cycle_ts is None else stored.last_cycle_ts.isoformat(),
                    clean=stored.status.value in ("interrupted", "finished"),
                    previous_status=stored.status.value,
                )
            )
        self._next_k = last_cycle + 1
        if self.on_engine is not None:
            self.on_engine(engine, self._planned_cycles())
        engine.set_health(DATA, Status.OK, f"{len(panel)} stored bars from {panel.ts[0]:%Y-%m-%d}", now)
        self._live_features()  # warm the streaming features on the history now, not on the first bar's clock
        self._step_pending(hold="catching up on bars that closed while the run was down")
        self._bound()
        gc.freeze()  # the models, panels and caches just built are long-lived: see release_heap

    def _strategy_start(self, last_cycle: int) -> int:
        """On resume: the first cycle the strategy in use traded, with the model versions it was built on.

        That is the last `strategy.rebuilt` event's cycle (a retrained model came in), else the run's first
        committed cycle; the board is rebuilt as it was then and replays its committed cycles from there.
        """
        rebuilt = [e for e in self.repo.load_events(self.run_id, [REBUILT]) if isinstance(e, StrategyRebuilt)]
        if rebuilt:
            last = rebuilt[-1]
            self._versions = {str(m): str(v) for m, v in last.versions.items()}
            self.result.models.update(self._versions)
            return last.first_cycle
        cycles = self.repo.load_equity(self.run_id)["cycle"]
        return int(cycles.min()) if len(cycles) else last_cycle + 1

    def _build(self, panel: Panel, first: int) -> Built:
        """The configured strategy through the kernel a replay uses, calibrated on rows before `first`."""
        spec = RunSpec(self.run_id, "live", first, versions=dict(self._versions))
        return self._use(build_strategy(self.settings, panel, spec, self.lake, self.clock))

    def _use(self, built: Built) -> Built:
        """Keep the strategy's feature builder (called on every new bar) and its name for the result."""
        if built.builder is None:  # pragma: no cover - the factory always says how to rebuild its features
            raise ConfigError(f"strategy {self.settings.strategy.name} cannot rebuild its features live")
        self._builder = built.builder
        self.result.strategy = built.strategy.name
        return built

    def _report_members(self, at: datetime) -> None:
        """Show each model member's loading health (version in use, fallbacks) as `model.<member>`."""
        engine = self.engine
        if engine is None or not isinstance(engine.strategy, HealthReporter):
            return
        for name, entry in engine.strategy.health().items():
            if not isinstance(entry, dict) or "active" not in entry:
                continue  # the trend member and advisors (they report through member_status)
            problems = "; ".join(str(p) for p in entry.get("problems", []))
            message = f"{entry['active'] or 'nothing'} serving (requested {entry['requested']})"
            if entry.get("left_out"):
                message += f"; {entry['left_out']}"
            engine.set_health(f"model.{name}", Status(str(entry["status"])), (message + ": " + problems)[:500], at)

    def _planned_cycles(self) -> int:
        """Bar closes in the requested sessions (0 when the run is open-ended), for progress displays."""
        if self.request.days is None:
            return 0
        live = self.settings.live
        total = 0
        today = self.clock.now().astimezone(NEW_YORK).date()
        for i, plan in enumerate(plans(live.calendar, today, self.request.interval, live)):
            if i >= self.request.days:
                break
            total += len(plan.bar_closes)
        return total

    def _pick_up_models(self, now: datetime) -> None:
        """Use a retrained version only if it loaded and passed the registry's health check.

        When the strategy runs that model, it is rebuilt on the new version for the coming session: calibrated
        on the bars before the session's first cycle, recorded as a `strategy.rebuilt` event.
        """
        if self.retrainer is None or self.engine is None:
            return
        update = self.retrainer.take_ready()
        if update is None:
            return
        if update.problems:
            message = f"{update.family} {update.version or '(no version)'} rejected: {'; '.join(update.problems)}"
            self.engine.set_health(MODELS, Status.DEGRADED, message[:300], now)
            return
        if update.family in member_names(self.settings):
            try:
                self._rebuild({**self._versions, update.family: update.version}, now)
            except Exception as exc:  # the old board keeps trading; the operator sees why
                log.exception("rebuilding the strategy on %s %s failed", update.family, update.version)
                message = f"{update.family} {update.version} not used: {type(exc).__name__}: {exc}"
                self.engine.set_health(MODELS, Status.DEGRADED, message[:300], now)
                return
        self.result.models[update.family] = update.version
        self.engine.set_health(MODELS, Status.OK, f"{update.family} {update.version} picked up", now)

    def _rebuild(self, versions: dict[str, str], now: datetime) -> None:
        """Rebuild the strategy on these model versions; it trades from the next cycle (the session's first)."""
        engine = self.engine
        assert engine is not None
        first = self._next_k
        whole = self._whole_panel()  # calibrated on the rows a run that kept every bar would use
        previous, self._versions = self._versions, versions
        try:
            built = self._build(whole, first)
        except Exception:
            self._versions = previous
            raise
        window = calibration_window(whole, first, built.voting_manifests, self.settings.board.calibration_bars)
        rebuilt = StrategyRebuilt(
            now,
            strategy=built.strategy.name,
            versions=dict(versions),
            members={m: man.version for m, man in built.manifests.items()},
            first_cycle=first,
            calibration=None
            if window is None or built.calibration is None
            else {
                "start": whole.close_times[window[0]].isoformat(),
                "end": whole.close_times[window[1] - 1].isoformat(),
            },
        )
        old = engine.strategy
        features = built.features
        if whole is not engine.panel:  # the streaming twin warmed on every bar, then cut to the kept rows
            assert built.builder is not None
            self._live = LiveFeatures(built.builder, whole, built.features)
            kept = self._live.drop(engine.panel)
            features = {name: kept[name] for name in built.features}
        engine.use_strategy(built.strategy, features, rebuilt)
        close_strategy(old)
        log.info("strategy %s rebuilt on %s from cycle %d", built.strategy.name, versions, first)
        self._report_members(now)

    # ---- bar closes ------------------------------------------------------------------------------

    def _bar_close(self, bar_ts: datetime, due: datetime | None = None) -> None:
        """Fetch the bars that closed (re-requesting missing ones within the bar), append them and step the engine."""
        if self.control is not None:
            self.control.wait_while_paused()
            engine = self.engine
            if engine is not None and self.control.take_flatten():
                engine.halt("flatten requested by the operator")
            if engine is not None and self.control.take_reset():
                engine.unhalt("trading resumed by the operator")
            if engine is not None:
                apply_mode(engine, self.control)
        self._take_new_bars(bar_ts, due)

    def _take_new_bars(self, expected: datetime | None, due: datetime | None = None) -> None:
        """Feed request(s): quality-check, store, append and step; judge the data's health on the way.

        At a bar close (`expected` set) the symbols still missing its bar are asked again within the bar
        (`_refetch`) before the data's health is judged and the cycle runs.
        """
        engine = self.engine
        if engine is None:
            return
        since = engine.panel.ts[-1].to_pydatetime() + timedelta(microseconds=1)
        got = self._fetch(self.request.symbols, since)
        if expected is not None:
            got = self._refetch(expected, since, got, self.clock.now() if due is None else due)
            self._judge(expected, got.valid, got.failures, got.quarantined, got.at or self.clock.now())
        valid = got.valid
        if not valid.empty:
            panel = engine.panel.append(valid)
            live = self._live_features()
            started = self._timer()
            features = live.extend(panel)  # only the new rows are computed (engine.live_features)
            self.feature_latency.add(self._timer() - started)
            engine.extend(panel, features)
        self._step_pending("catching up: this bar closed before the latest one")
        self._bound()
        self._prepare_next()
        self._compact_lake(tidy=True)

    def _fetch(self, symbols: Sequence[str], since: datetime, known: Fetched | None = None) -> Fetched:
        """One feed request: the valid new bars, stored in the lake first, with what failed or was quarantined.

        A re-request passes what the close already `known`s: rows it already has are not stored or taken twice.
        """
        now = self.clock.now()
        batch = self.feed.fetch(symbols, self.request.interval, since, now)
        frame = batch.bars.loc[:, list(BAR_COLUMNS)] if not batch.bars.empty else batch.bars
        if not frame.empty:
            frame = frame.assign(ts=pd.to_datetime(frame["ts"], utc=True))
            if known is not None and len(known.valid):
                seen = pd.MultiIndex.from_frame(known.valid[["symbol", "ts"]])
                frame = frame[~pd.MultiIndex.from_frame(frame[["symbol", "ts"]]).isin(seen)]
        if frame.empty:
            return Fetched(frame, dict(batch.failures), at=now)
        checked = validate_bars(frame)
        quarantined = tuple(f"{r.symbol} {r.ts:%H:%M} ({r.reason})" for r in checked.quarantined.itertuples())
        # durable before the cycle that reads it runs (one batch for every symbol: data/store.py), so a
        # `--resume`, which reloads its panel from the lake, finds every bar a committed cycle used
        self.lake.write_bars(frame, self.request.interval, batch.source or "live", fetched_at=now, append=True)
        valid = checked.valid
        valid = valid[valid["ts"] > pd.Timestamp(since)]
        bad = frozenset(str(s) for s in checked.quarantined["symbol"])
        return Fetched(valid, dict(batch.failures), quarantined, bad, now)

    def _refetch(self, expected: datetime, since: datetime, got: Fetched, due: datetime) -> Fetched:
        """Ask again for the symbols without the expected bar (not the quarantined: their bar came, and was bad),
        with a doubling backoff on the clock, until they answer, the attempts run out or the next attempt would
        start past the close's re-fetch window (schedule.refetch_window); each retry is logged.

        Every request goes through the feed (the router's breakers and key budgets pace it as any other).
        """
        live = self.settings.live
        deadline = due + refetch_window(live, self.request.interval)
        wait = timedelta(seconds=live.refetch_backoff_seconds)
        for attempt in range(1, live.refetch_attempts + 1):
            missing = got.missing(self.request.symbols, expected)
            at = self.clock.now() + wait
            if not missing or at > deadline:
                break
            reasons = sorted({got.failures.get(s, "no bar yet") for s in missing})
            log.warning(
                "bar %s: re-fetching %d symbol(s) in %.1f s (attempt %d/%d): %s",
                f"{expected:%Y-%m-%d %H:%M}Z",
                len(missing),
                wait.total_seconds(),
                attempt,
                live.refetch_attempts,
                "; ".join(reasons)[:300],
            )
            if not self._wait_until(at):
                break
            self.refetches += 1
            got = got.merge(self._fetch(missing, since, got), missing)
            wait *= 2
        return got

    def _prepare_next(self) -> None:
        """Between bars: the strategy precomputes what the next cycle already determines (recurrent prefixes)."""
        engine = self.engine
        if engine is None or not isinstance(engine.strategy, Preparable) or self._next_k != engine.end:
            return
        engine.strategy.prepare(FeatureView(engine.features, self._next_k - 1, engine.base))

    def _whole_panel(self) -> Panel:
        """The engine's panel with the rows a bounded panel dropped, reloaded from the lake (as a resume does)."""
        engine = self.engine
        assert engine is not None
        if engine.base == 0:
            return engine.panel
        assert self._history_start is not None
        interval, now = self.request.interval, self.clock.now()
        bars = closed_by(
            self.lake.read_bars(list(self.request.symbols), interval, self._history_start, now),
            interval,
            self._history_start,
            now,
        )
        whole = Panel.from_long(bars, interval, self.request.symbols)
        kept = engine.panel
        if (
            len(whole) != engine.end
            or not np.array_equal(whole.ts.asi8[engine.base :], kept.ts.asi8)
            or not np.array_equal(whole.prices.close[engine.base :], kept.prices.close, equal_nan=True)
        ):
            raise DataError("the lake's history no longer matches the live panel; resume the run to reload it")
        return whole

    def _keep_rows(self) -> int | None:
        """Rows the bounded live panel keeps (None: every bar): the longest look-back of its readers plus a margin,
        at least `live.panel_rows`."""
        engine, rows = self.engine, self.settings.live.panel_rows
        if engine is None or rows is None:
            return None
        return max(rows, engine.reach(), strategy_reach(engine.strategy, self.settings)) + KEEP_MARGIN

    def _bound(self) -> None:
        """Drop the panel's oldest rows once it holds twice the rows kept (amortised: one copy per `keep` bars)."""
        engine, keep = self.engine, self._keep_rows()
        if engine is None or keep is None or self._next_k != engine.end or len(engine.panel) < 2 * keep:
            return
        live = self._live_features()
        if live.builder.extras:
            return  # plug-in features are recomputed over the whole panel: it cannot be cut
        cut = min(len(engine.panel) - keep, own_bars_start(engine.panel.prices.close, engine.reach()))
        if cut < keep // 2:
            return  # a symbol without recent bars still needs older rows; try again after more bars
        panel = engine.panel.drop_head(cut)
        features = live.drop(panel)
        self.dropped_rows += engine.drop_rows(panel, {name: features[name] for name in engine.features})
        log.debug("live panel: dropped %d rows, keeps %d from cycle %d", cut, len(panel), engine.base)

    def _live_features(self) -> LiveFeatures:
        """The streaming twin of the strategy's feature builder, warmed on the engine's history (once per builder)."""
        engine, live = self.engine, self._live
        assert engine is not None and self._builder is not None
        if live is None or live.builder is not self._builder or len(live) != len(engine.panel):
            live = self._live = LiveFeatures(self._builder, engine.panel, engine.features)
        return live

    def _judge(
        self,
        expected: datetime,
        valid: pd.DataFrame,
        failures: Mapping[str, str],
        quarantined: Sequence[str],
        now: datetime,
    ) -> None:
        """Set the data component's health and the engine's hold from which symbols have the expected bar."""
        assert self.engine is not None
        have = set(valid.loc[valid["ts"] == pd.Timestamp(expected), "symbol"]) if not valid.empty else set()
        missing = [s for s in self.request.symbols if s not in have]
        for s in self.request.symbols:
            self._missed[s] = self._missed[s] + 1 if s in missing else 0
        if not missing:
            self.engine.hold = None
            self.engine.set_health(DATA, Status.OK, "ok", now)
            return
        stale = [s for s in missing if self._missed[s] >= self.settings.live.stale_after_bars]
        all_failed = bool(failures) and set(failures) >= set(self.request.symbols)
        status = Status.DOWN if stale or all_failed else Status.DEGRADED
        parts = [f"no {self.request.interval} bar at {expected:%Y-%m-%d %H:%M}Z for {', '.join(missing)}"]
        if quarantined:
            parts.append("quarantined " + ", ".join(quarantined))
        if stale:
            parts.append(f"stale for {self.settings.live.stale_after_bars}+ bars: {', '.join(stale)}")
        if failures:
            parts.append("; ".join(f"{s}: {why}" for s, why in sorted(failures.items()))[:200])
        message = "; ".join(parts)
        self.engine.hold = f"data: {message}"
        self.engine.set_health(DATA, status, message[:500], now)

    def _step_pending(self, hold: str | None) -> None:
        """Step every appended row not yet stepped; all but the newest run in hold (their moment has passed)."""
        engine = self.engine
        assert engine is not None
        last = engine.end - 1
        keep = engine.hold
        while self._next_k <= last and not self.stopping():
            k = self._next_k
            engine.hold = hold if k < last else keep
            outcome = engine.step(k)
            self._next_k = k + 1
            self._count(outcome, engine.hold is not None)
            advisors = board_health(engine, None)
            if advisors is not None:
                advisors(outcome)
            self._report_members(outcome.ts)
            if self.on_cycle is not None:
                self.on_cycle(outcome)
        engine.hold = keep

    def _count(self, outcome: CycleOutcome, held: bool) -> None:
        self.result.cycles += 1
        self.result.held_cycles += int(held)
        self.result.final_equity = outcome.valuation.equity
        day = self._day
        if day is None or session_date(outcome.ts) != day.day:
            return
        day.cycles += 1
        day.held += int(held)
        day.fills += len(outcome.fills)
        if day.first_equity is None:
            day.first_equity, day.first_ts = outcome.valuation.equity, outcome.ts
        day.last_equity, day.last_ts = outcome.valuation.equity, outcome.ts

    # ---- end of day ------------------------------------------------------------------------------

    def report_dir(self) -> Path:
        """Where this run's end-of-day reports go."""
        root = self.settings.live.report_dir or self.settings.home / "reports"
        return root / self.run_id

    def _report(self, plan: DayPlan) -> None:
        """Write the day's JSON summary and the run's HTML tear sheet as of this close."""
        if self.engine is None or self.recorder is None:
            return
        self.recorder.flush()
        out = self.report_dir()
        private_dir(out)
        summary = self._day_summary(plan)
        try:
            score = self.score()
        except Exception:  # scoring reads the database; a report without it still says what the day did
            log.exception("could not score live run %s", self.run_id)
            summary["live_score"] = None
        else:
            summary["live_score"] = score.to_json()
            self.engine.note(
                LiveScored(
                    score.as_of,
                    score.scheduled,
                    score.up,
                    summary["live_score"]["uptime"],
                    score.missed_closes,
                    score.critical_failures,
                )
            )
        html_path = out / f"{plan.day.isoformat()}.html"
        try:
            from papertrader.engine.reporting import tearsheet_input
            from papertrader.reports.tearsheet import render

            data = replace(tearsheet_input(self.settings, self.repo, self.run_id), live_score=summary["live_score"])
            html_path.write_text(render(data), encoding="utf-8")
            summary["html"] = str(html_path)
        except PapertraderError as exc:  # e.g. no committed cycle yet: the JSON still says what happened
            summary["html"] = None
            summary["html_error"] = str(exc)
        json_path = out / f"{plan.day.isoformat()}.json"
        json_path.write_text(json.dumps(summary, indent=2))
        self.result.reports.append(json_path)
        if summary["html"]:
            self.result.reports.append(html_path)
        release_heap()  # the tear sheet and the compaction read the whole run: hand back what they freed

    def _day_summary(self, plan: DayPlan) -> dict[str, Any]:
        engine = self.engine
        assert engine is not None
        day = self._day or DayStats(plan.day)
        ret = (
            float(day.last_equity / day.first_equity - 1)
            if day.first_equity is not None and day.last_equity is not None and day.first_equity
            else None
        )
        return {
            "run_id": self.run_id,
            "date": plan.day.isoformat(),
            "exchange": plan.exchange,
            "interval": plan.interval,
            "open": plan.open.isoformat(),
            "close": plan.close.isoformat(),
            "early_close": plan.early_close,
            "scheduled_cycles": len(plan.bar_closes),
            "cycles": day.cycles,
            "held_cycles": day.held,
            "fills": day.fills,
            "first_cycle": None if day.first_ts is None else day.first_ts.isoformat(),
            "last_cycle": None if day.last_ts is None else day.last_ts.isoformat(),
            "equity_first_cycle": None if day.first_equity is None else float(day.first_equity),
            "equity_close": None if day.last_equity is None else float(day.last_equity),
            "return_first_to_last_cycle": ret,
            "positions": {s: p.qty for s, p in sorted(engine.ledger.positions.items())},
            "health": {n: c.status.value for n, c in engine.health.snapshot().items()},
            "cycle_latency": engine.latency.percentiles(),
            "halted": engine.halted,
            "models": dict(self.result.models),
        }

    def score(self, raised: str | None = None) -> LiveScore:
        """Uptime and critical failures of this run so far, scored from what it committed (the trial's rules)."""
        return score_run(
            self.repo, self.run_id, self.settings.live, self.request.interval, self.clock.now(), raised=raised
        )

    def _retrain(self, plan: DayPlan) -> None:
        """Start retraining on data up to this close in the background; the loop never waits for it."""
        if self.retrainer is None:
            return
        if not self.retrainer.start(plan.close) and self.engine is not None:
            self.engine.set_health(MODELS, Status.DEGRADED, "previous retraining still running", self.clock.now())

    # ---- finish ----------------------------------------------------------------------------------

    def _finish(self, status: str, error: str | None = None) -> None:
        """Commit what is left and close the run with its summary (latency and health included)."""
        result = self.result
        result.status = status
        engine = self.engine
        if engine is not None:
            result.latency = engine.latency.percentiles()
            result.feature_latency = self.feature_latency.percentiles()
            result.health = {n: c.status.value for n, c in engine.health.snapshot().items()}
            result.halted = engine.halted
            close_strategy(engine.strategy)
        self._stop_notifier()
        if self.recorder is not None:
            try:
                self.recorder.flush()
                result.live_score = self.score(error if status == "failed" else None).to_json()
            except Exception:  # scoring reads the database; a run stopping because of it still closes
                log.exception("could not score live run %s", self.run_id)
            summary = result.to_json()
            if error:
                summary["error"] = error
            try:
                self.recorder.finish(status, summary)
            except Exception:  # the database may be the reason we are stopping; committed cycles stay committed
                log.exception("could not mark live run %s %s", self.run_id, status)


def release_heap() -> None:
    """Return freed heap to the OS after the end-of-day work (glibc keeps freed memory mapped otherwise, so a
    week-long process would hold each day's high-water mark); a no-op where malloc_trim is absent.

    The heap that survives is frozen (`gc.freeze`, as after the start): a full collection that falls on a bar's
    decision then walks only what was allocated since, not the ~400k objects of the models and libraries
    (150-750 ms at 200 symbols, `benchmarks/decision_latency.py`); unfrozen here, the day's garbage still goes.
    """
    gc.unfreeze()
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):  # not glibc (macOS, musl): nothing to trim
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    gc.freeze()


# ---- production wiring ---------------------------------------------------------------------------


def vendor_feed(settings: Settings, clock: Clock) -> tuple[BarFeed, Backfill, list[str]]:
    """The live feed and warm-up backfill over the vendor sources in `live.feed_sources` order, with notes."""
    from papertrader.data.backfill import Backfiller, BackfillLedger, job_spec
    from papertrader.data.router import bars_kind
    from papertrader.data.sources import build_router
    from papertrader.engine.feed import RouterFeed

    cooldown = timedelta(seconds=settings.live.breaker_cooldown_seconds)
    router, notes = build_router(
        settings, clock, list(settings.live.feed_sources), purpose="live data", cooldown=cooldown
    )
    lake = Lake(settings.lake_dir, clock=clock)
    filler = Backfiller(lake, router, BackfillLedger(settings.home / "backfill.sqlite"), clock=clock)

    def backfill(symbols: Sequence[str], interval: str, since: datetime, until: datetime) -> None:
        plan = filler.plan(symbols, interval, since, until, router.route(bars_kind(interval)))
        report = filler.run(plan, job_spec("live", symbols, interval, since, until))
        if report.failed:
            raise DataError("backfill failed for " + ", ".join(r.symbol for r in report.failed))

    return RouterFeed(router, workers=settings.live.feed_workers), backfill, notes


def vendor_quotes(settings: Settings, clock: Clock, symbols: Sequence[str]) -> tuple[QuoteFeed | None, list[str]]:
    """The between-bar quote feed when `live.quotes_every_s` is set: bulk quotes on the premium Alpha Vantage key
    (100 symbols a request, paced by the key budgets), then Questrade's markets/quotes (100 symbolIds a request),
    the other `live.feed_sources` (Yahoo) as per-symbol failover."""
    from papertrader.data.adapters.alphavantage.polling import AlphaVantageBulkQuotes, achievable_cadence, key_budgets
    from papertrader.data.adapters.questrade import QuestradeBulkQuotes, QuestradeSource
    from papertrader.data.polling import BulkQuoteSource, LatestBarQuotes
    from papertrader.data.router import Router
    from papertrader.data.sources import build_sources

    every = settings.live.quotes_every_s
    if every is None:
        return None, []
    sources, notes = build_sources(settings, clock, list(settings.live.feed_sources))
    av = sources.get("alphavantage")
    bulks: list[BulkQuoteSource] = []
    if av is not None:
        bulk = AlphaVantageBulkQuotes(av.client, clock=clock)
        bulks.append(bulk)
        cadence = achievable_cadence(len(symbols), key_budgets(av.client.keys), batch_size=bulk.batch_size)
        if cadence.sweep_seconds is not None and cadence.sweep_seconds > every:
            notes.append(f"quotes every {every:.0f} s is beyond the key budgets: {cadence.describe()}")
    qt = sources.get("questrade")
    if isinstance(qt, QuestradeSource):  # markets/quotes: 100 symbols a request, not one request each
        bulks.append(QuestradeBulkQuotes(qt))
    bulk_names = {b.name for b in bulks}
    per_symbol = [LatestBarQuotes(src, clock=clock) for name, src in sources.items() if name not in bulk_names]
    fallback = Router(per_symbol, clock=clock) if per_symbol else None
    if not bulks and fallback is None:
        return None, [*notes, "quotes left off: no quote source is available"]
    return QuoteFeed(symbols, bulk=bulks, fallback=fallback, clock=clock), notes


def retraining_bars(
    lake: Lake, symbols: Sequence[str], interval: str, data_until: datetime, calibration_bars: int
) -> pd.DataFrame:
    """The bars a retrained model may see: up to `data_until`, less the last calibration window (+ embargo).

    Those held-back bars are seen by no part of training, so the board rebuilt on the new version at the next
    warm-up fits its calibrators on them instead of trading uncalibrated (models.holdout.calibration_holdback).
    """
    from papertrader.models.holdout import calibration_holdback

    bars = lake.read_bars(list(symbols), interval, None, data_until)
    holdback = calibration_holdback(pd.DatetimeIndex(bars["ts"]), calibration_bars)
    if holdback is None:
        return bars
    return bars[pd.DatetimeIndex(bars["ts"]) < holdback].reset_index(drop=True)


def registry_retrainer(settings: Settings, symbols: Sequence[str], interval: str) -> BackgroundRetrainer | None:
    """Retraining of `live.retrain_family` on the lake's bars up to a calibration window before the slot's close.

    Holding the last `board.calibration_bars` (+ embargo) back means the board rebuilt on the new version at the
    next warm-up calibrates on bars it never saw instead of trading uncalibrated; checked by the registry.
    """
    family = settings.live.retrain_family
    if family is None:
        return None
    from papertrader.models.loading import load_version
    from papertrader.models.registry import Registry
    from papertrader.models.training import REGISTRY_FAMILY, TrainOptions, train_and_register

    registry = Registry(settings.home)
    lake = Lake(settings.lake_dir)

    def train(data_until: datetime) -> str:
        from papertrader.features.from_lake import available_families, external_from_lake

        bars = retraining_bars(lake, symbols, interval, data_until, settings.board.calibration_bars)
        external = external_from_lake(lake, settings.features, list(symbols))
        live = registry.current(REGISTRY_FAMILY[family])
        used = (
            registry.manifest(REGISTRY_FAMILY[family]).config.get("families")  # keep the live version's families
            if live is not None
            else None
        ) or available_families(external, tuple(symbols))
        options = TrainOptions(
            kind=family,
            interval=interval,
            promote=False,
            macro_series=tuple(external.macro) if "macro" in used else (),
            fundamentals="fundamentals" in used,
            sentiment="news" in used,
            fundamentals_lag_days=settings.features.fundamentals_lag_days,
            macro_lag_days=settings.features.macro_lag_days,
        )
        return train_and_register(bars, options, registry, settings.costs, external).version

    def check(version: str) -> list[str]:
        try:
            load_version(registry, REGISTRY_FAMILY[family], version, None)
        except PapertraderError as exc:
            return [str(exc)]
        return []

    return BackgroundRetrainer(family, train, check)
