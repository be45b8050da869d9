"""Bar times: the vectorised batch path and the scalar streaming path agree with domain.sessions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from papertrader.domain.sessions import bar_close_time, session_date
from papertrader.features.times import decision_ns_of, decision_times, ny_day_of, ny_days, to_ns


def test_decision_times_and_dates_match_the_domain_rules_across_dst_changes() -> None:
    rng = np.random.default_rng(4)
    stamps = pd.DatetimeIndex(
        [
            *pd.date_range("2019-03-09", "2019-03-12", freq="17min", tz="UTC"),  # spring forward
            *pd.date_range("2019-11-02", "2019-11-05", freq="17min", tz="UTC"),  # fall back
            *pd.to_datetime(rng.integers(0, 2_000_000_000, 300) * 10**9, utc=True),
        ]
    ).unique()
    for interval in ("1m", "1h", "1d"):
        batch = to_ns(decision_times(stamps, interval))
        days = ny_days(stamps)
        for k, ts in enumerate(stamps):
            t_ns = int(ts.value)
            expected = pd.Timestamp(bar_close_time(ts.to_pydatetime(), interval)).value
            assert batch[k] == expected == decision_ns_of(t_ns, interval)
            assert days[k] == ny_day_of(t_ns) == (session_date(ts.to_pydatetime()) - pd.Timestamp(0).date()).days
