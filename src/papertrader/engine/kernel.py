"""The composition root: the one place a run is assembled, whatever drives it.

A run is a panel of bars, the strategy the settings name with every feature panel it reads
(engine/strategies.py), the engine that holds the risk engine, the paper broker and the ledger, the recorder
that commits each cycle, and, when the run already committed cycles, that state restored. `assemble` builds all
of it in one order for every mode:

    strategy (calibrated on rows before `first`) -> run row (created, or reopened on resume)
    -> recorder -> Engine -> committed state restored

`engine.runner.run` drives an assembly for a backtest or a replay (trial windows and compare rows are runs of
it) and the live orchestrator drives one bar by bar, so backtest, replay and live cannot drift apart in how a
run is put together. A stored run's settings are rehydrated by `stored_settings` only (resume, live resume,
reports, the API), and `stored_config` is its inverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Final, Literal

from papertrader.config.settings import Settings
from papertrader.core.clock import Clock, SimClock, WallClock
from papertrader.core.events import EventBus
from papertrader.data.store import Lake
from papertrader.domain.events import RESTORE_KINDS
from papertrader.engine.cycle import Engine
from papertrader.engine.panel import Panel
from papertrader.engine.recorder import BatchRecorder
from papertrader.engine.strategies import Built, build
from papertrader.persistence.repository import RunInfo, RunRepository, RunRow

Mode = Literal["backtest", "replay", "live"]
#: what a run stores of its settings leaves out this machine's own paths (a copied database still resumes)
MACHINE_KEYS: Final = frozenset({"home", "database_url"})
#: cycles buffered per commit: a backtest commits in batches, a replay and a live run every cycle
RECORD_EVERY: Final[Mapping[str, int]] = {"backtest": 500, "replay": 1, "live": 1}
#: modes whose per-cycle commit runs on a writer thread, settled before the next bar fills (engine/recorder.py)
COMMIT_OFF_PATH: Final[frozenset[str]] = frozenset({"replay", "live"})


def stored_settings(config: Mapping[str, Any], current: Settings) -> Settings:
    """A stored run's own settings with this machine's home and database, so it resumes or reports as it ran.

    Raises pydantic's ValidationError (or TypeError) when this version cannot read the stored config.
    """
    return Settings(**{**config, "home": current.home, "database_url": current.database_url})


def stored_config(settings: Settings, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a run stores of its settings (less this machine's paths, plus mode keys); stored_settings reads it."""
    config = settings.model_dump(mode="json", exclude=set(MACHINE_KEYS))
    config.update(extra or {})
    return config


@dataclass(frozen=True)
class RunSpec:
    """One run to assemble, the same record for every mode: identity, where trading starts, the stored window.

    `first` is the first cycle the strategy trades: calibration and drift references read only rows before it.
    `start`/`end` are stored on the run row (None: the panel's rows `first` and last). `versions` pins model
    members to registered versions (a live run trading a retrained model); `extra_config` is stored beside the
    settings (a live run's history start).
    """

    run_id: str
    mode: Mode
    first: int
    start: datetime | None = None
    end: datetime | None = None
    resume: bool = False
    versions: Mapping[str, str] = field(default_factory=dict, hash=False)
    extra_config: Mapping[str, Any] = field(default_factory=dict, hash=False)
    #: the home whose model registry (and board calibrations) the run reads; None: the settings' home.
    #: `hyperopt --strategy ensemble` points it at a fold's models, trained on bars before that fold only
    models_home: Path | None = None
    #: cycles per commit instead of the mode's own (RECORD_EVERY), committed on the caller's thread: a trial window
    #: commits its few cycles at once (the same rows; nobody watches a window cycle by cycle)
    record_every: int | None = None

    @property
    def historical(self) -> bool:
        """Whether the run trades history (advisors join history only with `in_backtests`)."""
        return self.mode != "live"


@dataclass
class Assembly:
    """A run ready to drive: its engine (strategy, risk, broker, ledger), recorder, built strategy and row.

    `last_cycle` is the last committed cycle (`first - 1` when nothing is committed); the driver runs from
    `last_cycle + 1`. `recorder` and `row` are None for a run that is not persisted.
    """

    settings: Settings
    spec: RunSpec
    engine: Engine
    built: Built
    recorder: BatchRecorder | None
    row: RunRow | None
    last_cycle: int

    @property
    def next_cycle(self) -> int:
        """The first cycle the driver steps."""
        return self.last_cycle + 1

    @property
    def restored(self) -> bool:
        """Whether committed state was restored (a resumed run that had committed cycles)."""
        return self.row is not None and self.row.last_cycle >= 0


def build_strategy(
    settings: Settings, panel: Panel, spec: RunSpec, lake: Lake | None, clock: Clock | None = None
) -> Built:
    """The strategy the settings name, built the same way for every mode (live: advisors admitted, versions pinned).

    The live orchestrator calls it again to rebuild its board on a retrained model.
    """
    return build(
        settings,
        panel,
        spec.first,
        lake,
        clock=clock,
        historical=spec.historical,
        versions=dict(spec.versions),
        models_home=spec.models_home,
    )


def assemble(
    settings: Settings,
    spec: RunSpec,
    panel: Panel,
    *,
    lake: Lake | None,
    repo: RunRepository | None,
    clock: Clock | None = None,
    created_at: datetime | None = None,
) -> Assembly:
    """Build the strategy, open (or reopen) the run row, create the recorder and Engine, restore what was committed.

    `repo` None: nothing is stored (compare rows, trial baselines). `clock` meters the advisors' budgets (the wall
    clock when None); the engine gets its own SimClock at the open of the next cycle to run.
    """
    built = build_strategy(settings, panel, spec, lake, clock)
    row: RunRow | None = None
    recorder: BatchRecorder | None = None
    last_cycle = spec.first - 1
    if repo is not None:
        row = repo.create_run(run_info(settings, spec, panel, created_at or WallClock().now()), resume=spec.resume)
        last_cycle = max(last_cycle, row.last_cycle)
        recorder = BatchRecorder(
            repo,
            spec.run_id,
            every=spec.record_every or RECORD_EVERY[spec.mode],
            background=spec.record_every is None and spec.mode in COMMIT_OFF_PATH,
        )
    at = last_cycle + 1 if last_cycle + 1 < len(panel) else last_cycle
    engine = Engine(
        run_id=spec.run_id,
        panel=panel,
        features=built.features,
        strategy=built.strategy,
        settings=settings,
        clock=SimClock(panel.open_times[at]),
        bus=EventBus(),
        recorder=recorder,
    )
    assembly = Assembly(settings, spec, engine, built, recorder, row, last_cycle)
    if repo is not None and assembly.restored:
        restore_committed(engine, repo, spec.run_id, last_cycle, spec.first)
    return assembly


def run_info(settings: Settings, spec: RunSpec, panel: Panel, created_at: datetime) -> RunInfo:
    """The run row's setup: the spec's window (else the panel's traded rows) and the settings it runs with."""
    start = spec.start if spec.start is not None else panel.ts[spec.first].to_pydatetime()
    end = spec.end if spec.end is not None else panel.ts[-1].to_pydatetime()
    return RunInfo(
        id=spec.run_id,
        mode=spec.mode,
        interval=panel.interval,
        symbols=panel.symbols,
        start=start,
        end=end,
        initial_cash=Decimal(repr(settings.initial_cash)),
        config=stored_config(settings, spec.extra_config),
        created_at=created_at,
    )


def restore_committed(
    engine: Engine, repo: RunRepository, run_id: str, last_cycle: int, first: int | None = None
) -> None:
    """Give a fresh engine everything the run committed up to `last_cycle`, so a resume continues exactly.

    `first` is the run's first cycle: a strategy with memory (the ensemble) decides first..last_cycle again.
    """
    stored = repo.load_equity(run_id, exact=True)
    curve = [(ts.to_pydatetime(), float(eq)) for ts, eq in zip(stored["ts"], stored["equity"], strict=True)]
    engine.restore(
        repo.load_fills(run_id),
        repo.load_orders(run_id),
        last_cycle,
        repo.load_events(run_id, RESTORE_KINDS),
        curve,
        first=first,
    )
