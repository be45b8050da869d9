"""What the models train on, read from the lake: bars of the chosen symbols and their side data, cut at a date.

One reader for `papertrader train`, the demo's training step, the benchmarks and the tests, so every trainer
sees the same bars and the same point-in-time side data (macro, fundamentals, news).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import pandas as pd

from papertrader.core.errors import ConfigError, DataError

if TYPE_CHECKING:
    from papertrader.config.settings import Settings
    from papertrader.features.inputs import External


def load_training_data(settings: Settings, interval: str, symbols: tuple[str, ...]) -> tuple[pd.DataFrame, External]:
    """Bars (every tradable symbol by default) and the side data (macro, fundamentals, news) from the lake."""
    from papertrader.data.store import Lake
    from papertrader.features.from_lake import external_from_lake

    lake = Lake(settings.lake_dir)
    wanted = symbols or tuple(s for s in lake.symbols(interval) if not s.startswith("^"))
    if not wanted:
        raise DataError(f"the lake has no {interval} bars; run `papertrader data import --source bundled` first")
    bars = lake.read_bars(list(wanted), interval)
    missing = sorted(set(wanted) - set(bars["symbol"].unique()))
    if missing:
        raise DataError(f"no {interval} bars for {', '.join(missing)}; import them or drop them")
    return bars, external_from_lake(lake, settings.features, wanted)


def bars_before(bars: pd.DataFrame, until: str | datetime | None) -> pd.DataFrame:
    """Only the bars stamped before `until` (New York date when naive), so a trial can hold later data out."""
    if until is None:
        return bars
    try:
        cutoff = pd.Timestamp(until)
    except ValueError:
        raise ConfigError(f"--until {until!r} is not an ISO date like 2008-01-01") from None
    cutoff = cutoff.tz_localize("America/New_York") if cutoff.tzinfo is None else cutoff
    kept = bars[pd.DatetimeIndex(bars["ts"]) < cutoff].reset_index(drop=True)
    if kept.empty:
        raise DataError(f"no bars before --until {until}")
    return kept
