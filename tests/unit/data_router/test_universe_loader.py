"""The universe: the shipped top 200, the other categories, user files, and the refresh from market caps."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from papertrader.core.errors import ConfigError, DataError, QuotaExhaustedError
from papertrader.data.universe import (
    ETFS,
    TSX_LARGE,
    Category,
    Member,
    load_universe,
    parse_universe,
    refresh_top,
    resolve,
    save_top200,
    shipped_top200,
    tag_penny,
    top200,
)


def test_the_shipped_list_has_200_unique_ranked_large_caps_with_an_as_of_date() -> None:
    u = shipped_top200()
    assert len(u) == 200 and len(set(u.symbols())) == 200
    assert [m.rank for m in u.members] == list(range(1, 201))
    assert u.as_of == "2024-12-31" and u.origin == "shipped"
    assert {m.category for m in u.members} == {Category.CORE}
    assert all(m.name and m.sector for m in u.members)
    assert all(m.market_cap is None for m in u.members)  # no numbers shipped, only ranking and membership
    assert {"AAPL", "MSFT", "NVDA", "BRK-B", "JPM"} <= set(u.symbols()[:20])


def test_the_full_universe_adds_etfs_and_tsx_listings_by_category() -> None:
    u = load_universe()
    assert u.symbols(Category.ETF) == [m.symbol for m in ETFS]
    assert u.symbols(Category.TSX) == [m.symbol for m in TSX_LARGE]
    assert all(s.endswith(".TO") for s in u.symbols(Category.TSX))
    assert u.symbols(Category.TSXV) == [] and u.symbols(Category.PENNY) == []
    assert len(u) == 200 + len(ETFS) + len(TSX_LARGE)


def test_a_user_extra_file_adds_tsx_venture_names_and_overrides_by_symbol(tmp_path: Path) -> None:
    folder = tmp_path / "universe"
    folder.mkdir()
    (folder / "extra.csv").write_text(
        "symbol,name,category,sector\nabc.v,ABC Mining,canadian_tsxv,Materials\nSPY,S&P 500 tracker,etf,\n"
    )
    u = load_universe(tmp_path)
    assert u.symbols(Category.TSXV) == ["ABC.V"]
    spy = u.get("SPY")
    assert spy is not None and spy.name == "S&P 500 tracker"


def test_named_universes_resolve_to_symbols_and_unknown_names_say_what_exists() -> None:
    assert resolve("top200")[:3] == ["AAPL", "NVDA", "MSFT"]
    assert "XIU.TO" in resolve("etf") and "RY.TO" in resolve("canadian_tsx")
    with pytest.raises(ConfigError, match="top200"):
        resolve("sp500")


def test_bad_universe_files_are_refused_with_the_line() -> None:
    with pytest.raises(DataError, match="line 3"):
        parse_universe("symbol,name\nAAA,a\nAAA,b\n", origin="test")
    with pytest.raises(DataError, match="category"):
        parse_universe("symbol,category\nAAA,bonds\n", origin="test")


def test_penny_stocks_are_tagged_from_prices_not_from_a_list() -> None:
    u = parse_universe("symbol,category\nAAA,core_large_cap\nBBB,core_large_cap\nSPY,etf\n", origin="t")
    tagged = tag_penny(u, {"AAA": 3.2, "BBB": 40.0, "SPY": 2.0}, below=5.0)
    assert tagged.symbols(Category.PENNY) == ["AAA"]


class Caps:
    """A market-cap source from a dict; raises what it is told to for some symbols."""

    name = "fake"

    def __init__(self, caps: dict[str, float], raise_for: dict[str, Exception] | None = None) -> None:
        self.caps = caps
        self.raise_for = raise_for or {}
        self.asked: list[str] = []

    def market_cap(self, symbol: str) -> float | None:
        self.asked.append(symbol)
        if symbol in self.raise_for:
            raise self.raise_for[symbol]
        return self.caps.get(symbol)


CANDIDATES = [Member(s, s.title(), Category.CORE) for s in ("AAA", "BBB", "CCC", "DDD")]


def test_refresh_ranks_candidates_by_market_cap_and_keeps_the_top_n(tmp_path: Path) -> None:
    source = Caps({"AAA": 10.0, "BBB": 30.0, "CCC": 20.0}, {"DDD": DataError("unknown")})
    result = refresh_top(source, CANDIDATES, as_of=datetime(2025, 5, 1, tzinfo=UTC), n=2)
    assert result.universe.symbols() == ["BBB", "CCC"] and result.missing == ("DDD",)
    assert [m.rank for m in result.universe.members] == [1, 2] and result.universe.as_of == "2025-05-01"
    path = save_top200(result.universe, tmp_path)
    back = top200(tmp_path)
    assert path.is_file() and back.symbols() == ["BBB", "CCC"] and back.members[0].market_cap == 30.0


def test_refresh_keeps_the_current_list_when_a_quota_ends_it_early() -> None:
    source = Caps({"AAA": 10.0, "BBB": 30.0}, {"CCC": QuotaExhaustedError("daily cap")})
    with pytest.raises(DataError, match="budget"):
        refresh_top(source, CANDIDATES, as_of=datetime(2025, 5, 1, tzinfo=UTC), n=3)
    assert source.asked == ["AAA", "BBB", "CCC"]  # nothing sent after the quota answer
