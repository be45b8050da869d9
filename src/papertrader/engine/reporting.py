"""Assemble a stored run's tear-sheet input: curves from the database, prices and benchmark from the lake."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd

from papertrader.config.settings import Settings
from papertrader.core.errors import DataError
from papertrader.data.store import Lake
from papertrader.domain.events import ATTRIBUTION_KINDS, REPORT_RISK_KINDS
from papertrader.engine.benchmark import buy_and_hold
from papertrader.engine.kernel import stored_settings
from papertrader.engine.runner import RunRequest, load_panel
from papertrader.persistence.repository import RunRepository
from papertrader.portfolio.metrics import periods_per_year
from papertrader.reports.tearsheet import TearSheetInput


def tearsheet_input(settings: Settings, repo: RunRepository, run_id: str) -> TearSheetInput:
    """Everything the tear sheet of `run_id` shows, with buy-and-hold recomputed on the same bars."""
    run = repo.get_run(run_id)
    if run is None:
        raise DataError(f"no run {run_id}; `papertrader runs` lists the stored runs")
    stored = repo.load_equity(run_id)
    if stored.empty or run.start is None or run.end is None:
        raise DataError(f"run {run_id} has no committed cycles to report")
    run_settings = stored_settings(run.config, settings)
    request = RunRequest(tuple(run.symbols), run.interval, run.start, run.end + timedelta(microseconds=1))
    panel, first = load_panel(Lake(settings.lake_dir), request)
    cycles = len(stored)
    index = pd.DatetimeIndex(stored["ts"])
    bench, invested = buy_and_hold(panel, float(run.initial_cash), run_settings.costs, first)
    equity = pd.Series(stored["equity"].to_numpy(), index=index)
    closes = pd.DataFrame(panel.traded.close[first : first + cycles], index=index, columns=list(panel.symbols))
    window = panel.ts[first : first + cycles]
    ppy = periods_per_year(int(window.tz_convert("America/New_York").normalize().nunique()), cycles)
    return TearSheetInput(
        run_id=run_id,
        title=(
            f"{run.mode.value} · {run.interval} · {', '.join(run.symbols)} · "
            f"{window[0]:%Y-%m-%d} → {window[-1]:%Y-%m-%d} · status {run.status.value} · "
            f"initial cash ${float(run.initial_cash):,.0f}"
        ),
        equity=equity,
        exposure=pd.Series(stored["gross_exposure"].to_numpy(), index=index),
        benchmark=pd.Series(bench[:cycles], index=index),
        benchmark_exposure=pd.Series(invested[:cycles], index=index),
        closes=closes,
        fills=repo.load_fills(run_id),
        events=repo.load_events(run_id, [*REPORT_RISK_KINDS, *ATTRIBUTION_KINDS]),
        periods_per_year=ppy,
    )
