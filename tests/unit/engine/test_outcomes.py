"""A run's outcomes kept compact (quiet stretches as tick arrays) read back exactly as the objects stepping gives."""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.config.settings import RiskSettings, Settings
from support import build_engine, load_shared_daily


def _bars() -> pd.DataFrame:
    bars = pd.concat([load_shared_daily(s) for s in ("AAPL", "SPY")], ignore_index=True)
    ts = pd.to_datetime(bars["ts"], utc=True)
    return bars[(ts >= pd.Timestamp("2010-01-01", tz="UTC")) & (ts < pd.Timestamp("2012-01-01", tz="UTC"))]


def test_compact_outcomes_read_back_as_the_outcomes_of_stepping_every_cycle_on_real_bars() -> None:
    settings = Settings(risk=RiskSettings(max_drawdown=0.2))
    full, _ = build_engine(_bars(), settings)
    sparse, _ = build_engine(_bars(), settings)
    every = full.run()
    kept = sparse.run(sparse=True)
    assert sparse.sparse is not None and sparse.sparse.skipped > len(kept) // 3
    assert len(kept) == len(every)
    assert [repr(o) for o in kept] == [repr(o) for o in every]  # iteration
    picks = [0, 1, 17, len(every) // 2, len(every) - 1, -1, -len(every)]
    assert [repr(kept[i]) for i in picks] == [repr(every[i]) for i in picks]  # indexing, negative too
    assert [repr(o) for o in kept[10:40:3]] == [repr(o) for o in every[10:40:3]]
    assert kept.equities().tolist() == [float(o.valuation.equity) for o in every]
    assert kept.gross().tolist() == [float(o.valuation.gross_exposure) for o in every]
    assert kept.fills() == tuple(f for o in every for f in o.fills)
    assert kept.cycles().tolist() == [o.k for o in every]
    assert [o.k for o in kept.stepped()] == sorted({o.k for o in kept.stepped()})
    assert all(not o.fills for o in kept if o.k not in {s.k for s in kept.stepped()})
    assert np.array_equal(full.holdings(), sparse.holdings())
