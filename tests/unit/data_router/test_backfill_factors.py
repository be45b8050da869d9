"""Factor bookkeeping across fetches, and the ledger that makes backfills resumable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from papertrader.data.backfill import BackfillLedger, Gap, inherit_factors, job_id_for, job_spec, rebase_ratio
from papertrader.data.store import ADJ_FACTOR

T0 = datetime(2024, 6, 3, tzinfo=UTC)


def frame(days: list[str], factor: list[float] | None) -> pd.DataFrame:
    out = pd.DataFrame({"ts": pd.to_datetime(days).tz_localize("UTC"), "close": 1.0})
    if factor is not None:
        out[ADJ_FACTOR] = factor
    return out


def test_the_rebase_ratio_is_new_over_stored_on_shared_bars() -> None:
    stored = frame(["2020-08-20", "2020-08-21"], [0.998, 1.0])
    fetched = frame(["2020-08-21", "2020-08-24", "2020-08-31"], [0.25, 0.25, 1.0])
    assert rebase_ratio(stored, fetched) == 0.25


def test_no_shared_factored_bar_means_no_ratio() -> None:
    assert rebase_ratio(frame(["2020-08-20"], [1.0]), frame(["2020-08-21"], [1.0])) is None
    assert rebase_ratio(frame(["2020-08-20"], [1.0]), frame(["2020-08-20"], None)) is None
    assert rebase_ratio(frame(["2020-08-20"], [np.nan]), frame(["2020-08-20"], [1.0])) is None


def test_bars_without_factors_inherit_the_next_later_stored_factor() -> None:
    stored = frame(["2020-01-10", "2020-03-10"], [0.5, 0.9])
    fetched = frame(["2020-01-05", "2020-02-01", "2020-04-01"], None)
    assert list(inherit_factors(fetched, stored)[ADJ_FACTOR]) == [0.5, 0.9, 1.0]
    assert ADJ_FACTOR not in inherit_factors(fetched, frame(["2020-01-10"], None)).columns


def test_the_ledger_remembers_checked_ranges_across_instances(tmp_path: Path) -> None:
    path = tmp_path / "backfill.sqlite"
    gap = Gap(pd.Timestamp("2024-01-02 05:00", tz="UTC"), pd.Timestamp("2024-01-04 05:00", tz="UTC"), 2)
    BackfillLedger(path).mark_checked("AAPL", "60min", [gap], "yahoo", T0, 0)
    assert BackfillLedger(path).checked("AAPL", "1h") == [(gap.start, gap.end)]
    assert BackfillLedger(path).checked("AAPL", "1d") == []


def test_an_unfinished_job_is_resumed_and_a_finished_one_starts_over(tmp_path: Path) -> None:
    ledger = BackfillLedger(tmp_path / "backfill.sqlite")
    spec = job_spec("auto", ["MSFT", "AAPL"], "1d", T0, datetime(2024, 7, 1, tzinfo=UTC))
    assert spec["symbols"] == ["AAPL", "MSFT"] and job_id_for(spec) == job_id_for(dict(reversed(spec.items())))
    open_ended = job_spec("auto", ["AAPL"], "1d", T0, None)  # "until now": the same job whenever it is re-run
    assert open_ended["end"] == "now"
    first = ledger.start_job(spec, ["AAPL", "MSFT"], T0)
    assert not first.resumed and first.runs == 1
    ledger.finish_task(first.job_id, "AAPL", "done", "yahoo", 20, "", T0)
    ledger.finish_job(first.job_id, "stopped", T0)
    again = ledger.start_job(spec, ["AAPL", "MSFT"], T0)
    assert again.resumed and again.runs == 2 and again.done == frozenset({"AAPL"})
    ledger.finish_job(again.job_id, "done", T0)
    fresh = ledger.start_job(spec, ["AAPL", "MSFT"], T0)
    assert not fresh.resumed and fresh.done == frozenset()
