"""A trial's bars read and pivoted once; each window's panel is the prefix of that panel up to the window's end.

Why: every window of a trial loads the same symbols from the lake's first bar to its own end (the bars before the
window only warm indicators up: `engine.runner.load_panel`), so reading the lake, pivoting and placing corporate
actions per window repeats the same work hundreds of times. The panel of the whole trial, cut after the last bar
before a window's end, holds exactly what that window's own load builds: the lake read is a filter on the bar
time ([start, end)), the pivot's rows are the union of bar times, the factor and raw prices are per cell, and an
action lands on its symbol's first traded bar at or after its ex-date (after the window's last bar: not placed in
either). The one thing that could differ is corporate actions read off the factor (`data/actions.infer_actions`),
whose step threshold is a statistic of the whole factor series: when a symbol needs that, `TrialBars.load` says so
(None) and the trial loads each window itself, as before. `tests/integration/engine/test_trial_data.py` compares
the prefixes with the windows' own loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.store import Lake
from papertrader.engine.panel import AsTraded, Panel
from papertrader.engine.runner import RunRequest
from papertrader.features.technical import PriceArrays

_FIELDS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class TrialBars:
    """The trial's panel from the lake's first bar up to `end` (exclusive): every window's bars."""

    panel: Panel
    end: datetime

    @classmethod
    def load(cls, lake: Lake, symbols: tuple[str, ...], interval: str, end: datetime) -> TrialBars | None:
        """Read and pivot the bars once; None when a window's own load could differ (actions read off factors)."""
        bars = lake.read_bars(list(symbols), interval, None, end, with_factor=True)
        actions = lake.read_actions(list(symbols))
        if "adj_factor" in bars.columns and bool(bars["symbol"].isin(set(symbols) - set(actions["symbol"])).any()):
            return None  # a symbol's actions would be read off its factor, over each window's own bars
        return cls(Panel.from_long(bars, interval, symbols, actions), end)

    def window(self, _lake: Lake, request: RunRequest) -> tuple[Panel, int]:
        """`engine.runner.load_panel` of one window: the rows before its end and the index of its first cycle."""
        if request.symbols != self.panel.symbols or request.interval != self.panel.interval:
            raise DataError("a trial window asked for other symbols or another interval than the trial loaded")
        if request.start is None or request.end is None or request.end > self.end:
            raise DataError("a trial window needs its start and an end no later than the bars the trial loaded")
        rows = int(self.panel.ts.searchsorted(pd.Timestamp(request.end), side="left"))
        panel = prefix(self.panel, rows)
        first = int(panel.ts.searchsorted(pd.Timestamp(request.start)))
        if first >= len(panel) - 1:
            raise DataError(f"no bars after {request.start:%Y-%m-%d} for {', '.join(panel.symbols)}")
        return panel, first


def prefix(panel: Panel, rows: int) -> Panel:
    """The panel `Panel.from_long` builds from the bars of the first `rows` bar times only (copies, not views)."""
    if rows < 1:
        raise DataError("no bars before the window's end")
    times = (panel.open_times[:rows], panel.close_times[:rows])
    ts = pd.DatetimeIndex(panel.ts[:rows])
    at = panel.as_traded
    if at is None:
        return Panel(panel.interval, panel.symbols, ts, _head(panel.prices, rows), _times=times)
    raw = _head(at.prices, rows)
    factor, splits, dividends = (np.array(a[:rows]) for a in (at.factor, at.splits, at.dividends))
    if bool((factor == 1.0).all()) and bool((splits == 1.0).all()) and bool((dividends == 0.0).all()):
        return Panel(panel.interval, panel.symbols, ts, raw, _times=times)  # as from_long: nothing to adjust
    adjusted = _head(panel.prices, rows)
    return Panel(panel.interval, panel.symbols, ts, adjusted, AsTraded(raw, factor, splits, dividends), _times=times)


def _head(prices: PriceArrays, rows: int) -> PriceArrays:
    return PriceArrays(**{f: np.array(getattr(prices, f)[:rows]) for f in _FIELDS})
