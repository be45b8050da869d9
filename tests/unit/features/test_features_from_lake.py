"""Side data from the lake as `External`: statements re-stamped by the setting, news lagged, families detected.

Rows are hand-made (synthetic) values written through the side store; only the stamping and detection are
under test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from papertrader.config.features import FeatureSettings
from papertrader.core.clock import SimClock
from papertrader.data.adapters.alphavantage.fundamentals import empty_fundamentals
from papertrader.data.sidestore import SideStore
from papertrader.data.store import Lake
from papertrader.features.from_lake import available_families, external_from_lake
from papertrader.features.inputs import External
from papertrader.features.macro import macro_spec_for
from papertrader.models import specs

NOW = datetime(2024, 11, 1, tzinfo=UTC)


def _lake(tmp_path: Path) -> Lake:
    lake = Lake(tmp_path / "lake", clock=SimClock(NOW))
    rows = pd.DataFrame(
        {
            "symbol": ["IBM", "IBM"],
            "available_at": pd.to_datetime(["2024-12-29 05:00", "2024-10-24 00:00"], utc=True),
            "fiscal_date_ending": pd.to_datetime(["2024-09-30", "2024-09-30"], utc=True),
            "report": ["balance_sheet", "earnings"],
            "total_assets": [1.0e11, float("nan")],
            "reported_eps": [float("nan"), 2.3],
        }
    )
    side = SideStore(lake)
    side.write_fundamentals(pd.concat([empty_fundamentals(), rows], ignore_index=True), "test", fetched_at=NOW)
    news = pd.DataFrame(
        {
            "symbol": ["IBM"],
            "published_at": pd.to_datetime(["2024-10-23 20:15"], utc=True),
            "sentiment": [0.4],
            "relevance": [0.9],
            "source": ["wire"],
            "title": ["t"],
            "url": ["u"],
        }
    )
    side.write_news(news, "test", fetched_at=NOW)
    return lake


def test_statements_follow_the_current_lag_setting_and_news_its_lag(tmp_path: Path) -> None:
    external = external_from_lake(_lake(tmp_path), FeatureSettings(statement_lag_days=45, news_lag_minutes=30))
    assert external.fundamentals is not None and external.news is not None
    funds = external.fundamentals.set_index("report")
    assert funds.loc["balance_sheet", "available_at"] == pd.Timestamp("2024-11-14", tz="America/New_York")
    assert funds.loc["earnings", "available_at"] == pd.Timestamp("2024-10-24", tz="UTC")  # its own report date
    assert external.news["published_at"].iloc[0] == pd.Timestamp("2024-10-23 20:45", tz="UTC")


def test_families_switch_on_when_half_the_universe_has_rows(tmp_path: Path) -> None:
    external = external_from_lake(_lake(tmp_path))
    assert available_families(external, ("IBM", "AAPL")) == ("price", "fundamentals", "news")
    assert available_families(external, ("IBM", "AAPL", "MSFT")) == ("price",)
    with_macro = External(macro={"CPI": pd.DataFrame({"date": [], "value": []})})
    assert available_families(with_macro, ("IBM",)) == ("price", "macro")


def test_the_macro_lag_setting_delays_every_series_and_the_spec_names_its_families() -> None:
    base, later = macro_spec_for(["CPI", "WTI"]), macro_spec_for(["CPI", "WTI"], extra_lag_days=3)
    assert [s.lag_days + 3 for s in base.series] == [s.lag_days for s in later.series]
    spec = specs.feature_spec(["CPI"], fundamentals=True, sentiment=True, fundamentals_lag_days=2.0, macro_lag_days=3)
    assert specs.families(spec) == ["price", "macro", "fundamentals", "news"]
    assert spec.fundamentals is not None and spec.fundamentals.delay_days == 2.0
    assert specs.families(specs.feature_spec()) == ["price"]
