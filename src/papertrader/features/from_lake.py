"""The lake's side data as the feature pipeline's `External`, and which data families a universe has.

Training (`papertrader train`) and inference (the board's feature builder) both read side data through
`external_from_lake`, so a model sees the same rows, with the same point-in-time stamps, in both places:

* macro: every stored series (reference dates; features/macro.py lags each by its publication delay);
* fundamentals: every stored row (data/sidestore.py), statements re-stamped as published
  ``statement_lag_days`` after their fiscal period end (the current setting, so changing it needs no
  re-collection); the availability delay on top (``fundamentals_lag_days``) lives in the model's feature spec;
* news: every stored row, ``published_at`` moved ``news_lag_minutes`` later.

`available_families` says which families a universe can train with: macro when any series the macro spec
knows is stored, fundamentals and news when at least `MIN_COVERAGE` of the universe's symbols have rows
(a family most symbols lack would be mostly missing-value masks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from papertrader.config.features import FeatureSettings
from papertrader.data.adapters.alphavantage.fundamentals import statement_available_at
from papertrader.data.sidestore import SideStore
from papertrader.data.store import Lake
from papertrader.features.fundamentals import FundamentalsSpec
from papertrader.features.inputs import External
from papertrader.features.macro import macro_spec_for

#: Share of the universe's symbols that must have rows before fundamentals or news are switched on.
MIN_COVERAGE: Final = 0.5
STATEMENT_REPORTS: Final = ("income_statement", "balance_sheet")
#: The data families a model can be trained with, as manifests name them.
FAMILY_NAMES: Final = ("price", "macro", "fundamentals", "news")


def external_from_lake(
    lake: Lake, settings: FeatureSettings | None = None, symbols: Sequence[str] | None = None
) -> External:
    """Macro series, fundamentals and news from the lake, stamped for point-in-time joins."""
    cfg = settings or FeatureSettings()
    macro = {name: lake.read_series(name) for name in lake.series_names()}
    side = SideStore(lake)
    fundamentals = side.read_fundamentals(symbols)
    statements = fundamentals["report"].isin(STATEMENT_REPORTS).to_numpy()
    if statements.any():
        fundamentals.loc[statements, "available_at"] = statement_available_at(
            fundamentals.loc[statements, "fiscal_date_ending"], cfg.statement_lag_days
        ).to_numpy()
    news = side.read_news(symbols)
    if cfg.news_lag_minutes and len(news):
        news["published_at"] = news["published_at"] + pd.Timedelta(minutes=cfg.news_lag_minutes)
    return External(macro=macro, fundamentals=fundamentals, news=news)


def _coverage(frame: pd.DataFrame | None, symbols: Sequence[str], columns: Sequence[str]) -> float:
    """Share of `symbols` with at least one row holding a value in one of `columns`."""
    if frame is None or frame.empty or not symbols:
        return 0.0
    cols = [c for c in columns if c in frame.columns]
    if not cols:
        return 0.0
    values = frame[cols].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    has = frame.loc[np.isfinite(values).any(axis=1), "symbol"]
    return len(set(map(str, has)) & set(symbols)) / len(set(symbols))


def available_families(external: External, symbols: Sequence[str]) -> tuple[str, ...]:
    """The families (FAMILY_NAMES) whose data the universe has: price always, the others when stored."""
    out = ["price"]
    if macro_spec_for(external.macro).series:
        out.append("macro")
    spec = FundamentalsSpec()
    reads = (spec.eps, spec.eps_estimate, spec.net_income, spec.equity, spec.liabilities, spec.assets)
    if _coverage(external.fundamentals, symbols, reads) >= MIN_COVERAGE:
        out.append("fundamentals")
    if _coverage(external.news, symbols, ("sentiment",)) >= MIN_COVERAGE:
        out.append("news")
    return tuple(out)
