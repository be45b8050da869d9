"""What every view reads through: the settings, the repository, the live engine's state, and run lookup.

Views never touch the engine's objects directly: they read LiveState's immutable snapshots (thread-safe)
and the repository (its own connections; SQLite WAL lets them read while the engine commits). One context
per app, safe to use from any worker thread; it caches only what never changes (a run's bars, the live row).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import pandas as pd
from fastapi import HTTPException, status
from pydantic import ValidationError

from papertrader.api.config import ApiSettings
from papertrader.config.settings import Settings
from papertrader.core.errors import DataError
from papertrader.data.store import Lake
from papertrader.engine.benchmark import buy_and_hold
from papertrader.engine.control import RunControl
from papertrader.engine.kernel import stored_settings
from papertrader.engine.live import LiveState, Snapshot
from papertrader.engine.panel import Panel
from papertrader.engine.runner import RunRequest, load_panel
from papertrader.persistence.repository import RunRepository, RunRow

log = logging.getLogger(__name__)

NO_RUNS = "no runs stored yet: start one with `papertrader demo` or `papertrader paper --replay`"


def not_found(detail: str) -> HTTPException:
    """404 with a sentence saying what to do."""
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=detail)


def no_such_run(run_id: str) -> HTTPException:
    """404 for a run id that is not stored, pointing at the list of runs."""
    return not_found(f"no run {run_id!r}: GET /api/v1/runs lists the stored runs")


@dataclass(frozen=True)
class Curve:
    """A run's stored equity curve with its running peak and drawdown."""

    frame: pd.DataFrame
    peak: np.ndarray[Any, np.dtype[np.float64]]
    drawdown: np.ndarray[Any, np.dtype[np.float64]]

    @property
    def max_drawdown(self) -> float:
        """The deepest drawdown of the curve (0 for an empty one)."""
        return float(self.drawdown.min()) if len(self.drawdown) else 0.0


@dataclass(frozen=True)
class Market:
    """A run's bars (for marks) and buy-and-hold benchmark, or why they are unavailable."""

    panel: Panel | None
    first: int
    benchmark: np.ndarray[Any, np.dtype[np.float64]] | None
    note: str | None


class ApiContext:
    """The API's shared state: one per app; views resolve runs and read the live engine through it."""

    def __init__(
        self,
        settings: Settings,
        repo: RunRepository,
        live: LiveState | None = None,
        control: RunControl | None = None,
        api_settings: ApiSettings | None = None,
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.live = live
        self.control = control
        self.api_settings = api_settings or ApiSettings()
        self._market: OrderedDict[str, Market] = OrderedDict()
        self._lock = threading.Lock()
        self._live_row: RunRow | None = None

    def live_run_id(self) -> str | None:
        """Id of the run the engine in this process is running, if any."""
        return None if self.live is None else self.live.snapshot().run_id

    def resolve(self, run: str | None) -> RunRow:
        """The requested run, else the live one, else the newest stored one (404 when there is none)."""
        wanted = run or self.live_run_id()
        if wanted is not None:
            row = self.repo.get_run(wanted)
            if row is None:
                raise no_such_run(wanted)
            return row
        rows = self.repo.list_runs()
        if not rows:
            raise not_found(NO_RUNS)
        return rows[0]

    def live_snapshot(self, row: RunRow) -> Snapshot | None:
        """The live snapshot when `row` is the live run."""
        if self.live is None:
            return None
        snap = self.live.snapshot()
        return snap if snap.run_id == row.id else None

    def live_row(self) -> RunRow | None:
        """The live run's stored row (setup only; cached since it does not change)."""
        run_id = self.live_run_id()
        if run_id is None:
            return None
        if self._live_row is None or self._live_row.id != run_id:
            self._live_row = self.repo.get_run(run_id)
        return self._live_row

    def curve(self, row: RunRow) -> Curve:
        """The run's stored equity per cycle with its running peak (from the initial cash) and drawdown."""
        frame = self.repo.load_equity(row.id)
        equity = frame["equity"].to_numpy(dtype=np.float64)
        peak = np.maximum.accumulate(np.maximum(equity, float(row.initial_cash))) if len(equity) else equity
        drawdown = equity / np.where(peak > 0, peak, 1.0) - 1.0 if len(equity) else equity
        return Curve(frame, peak, np.minimum(drawdown, 0.0))

    def run_settings(self, row: RunRow) -> Settings:
        """The settings the run was started with (its stored config), falling back to the current ones."""
        try:
            return stored_settings(row.config, self.settings)
        except (ValidationError, TypeError):
            log.warning("run %s has a config this version cannot read; showing current settings", row.id)
            return self.settings

    def market_data(self, row: RunRow) -> Market:
        """Bars and benchmark of a run from the lake, cached per run (the window never changes)."""
        with self._lock:
            cached = self._market.get(row.id)
            if cached is not None:
                self._market.move_to_end(row.id)
                return cached
        market = self._load_market(row)
        with self._lock:
            self._market[row.id] = market
            while len(self._market) > 4:
                self._market.popitem(last=False)
        return market

    def _load_market(self, row: RunRow) -> Market:
        if row.start is None or row.end is None:
            return Market(None, 0, None, "the run has no stored window")
        request = RunRequest(tuple(row.symbols), row.interval, row.start, row.end + timedelta(microseconds=1))
        try:
            panel, first = load_panel(Lake(self.settings.lake_dir), request)
        except (DataError, OSError, ValueError, KeyError) as exc:
            return Market(None, 0, None, f"the lake cannot supply the run's bars: {exc}")
        costs = self.run_settings(row).costs
        bench, _ = buy_and_hold(panel, float(row.initial_cash), costs, first)
        return Market(panel, first, bench, None)
