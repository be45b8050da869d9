"""Sector caps come from the universe file by default; explicit `risk.sectors` entries win."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from papertrader.config.settings import RiskSettings
from papertrader.data.universe import universe_dir, universe_sectors
from papertrader.risk.engine import RiskEngine, RiskInputs
from papertrader.risk.sectors import with_sectors

T0 = datetime(2020, 1, 2, 21, tzinfo=UTC)


def test_the_shipped_universe_knows_stock_sectors_but_not_etf_ones(tmp_path: Path) -> None:
    sectors = universe_sectors(tmp_path, ["AAPL", "MSFT", "JPM", "SPY", "NOPE"])
    assert sectors == {"AAPL": "Information Technology", "MSFT": "Information Technology", "JPM": "Financials"}


def test_a_users_extra_file_adds_and_overrides_sectors(tmp_path: Path) -> None:
    folder = universe_dir(tmp_path)
    folder.mkdir(parents=True)
    (folder / "extra.csv").write_text(
        "rank,symbol,name,category,sector\n,ZZZ,Tiny Co,canadian_tsxv,Materials\n,AAPL,Apple,core_large_cap,Phones\n"
    )
    assert universe_sectors(tmp_path, ["ZZZ", "AAPL"]) == {"ZZZ": "Materials", "AAPL": "Phones"}


def test_explicit_sectors_win_and_the_switch_turns_the_universe_off() -> None:
    merged = with_sectors(RiskSettings(sectors={"AAPL": "Mine"}), {"AAPL": "IT", "MSFT": "IT"})
    assert merged.sectors == {"AAPL": "Mine", "MSFT": "IT"}
    off = RiskSettings(sectors_from_universe=False)
    assert with_sectors(off, {"AAPL": "IT"}) is off


def test_universe_sectors_cap_two_tech_stocks_together(tmp_path: Path) -> None:
    symbols = ("AAPL", "MSFT", "JPM")
    limits = with_sectors(RiskSettings(max_sector_fraction=0.3), universe_sectors(tmp_path, symbols))
    risk = RiskEngine(symbols, limits, rebalance_band=0.0)
    weights, rule = risk.limit_weights(np.array([0.25, 0.25, 0.25]), np.array([100.0] * 3), RiskInputs())
    assert np.isclose(weights[:2].sum(), 0.3) and weights[2] == 0.25
    assert rule == ["max_sector_fraction", "max_sector_fraction", None]
