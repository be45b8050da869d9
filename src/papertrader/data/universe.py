"""The trading universe: symbols with categories, the top 200 US stocks shipped offline and refreshable.

Categories: ``core_large_cap`` (the top 200 US-listed companies by market capitalisation), ``etf``,
``penny`` (price under ``RiskSettings.penny_below``, tagged from prices, never shipped), ``canadian_tsx`` and
``canadian_tsxv``.

Where members come from, later files overriding earlier ones by symbol:

1. ``universe_top200.csv`` shipped in this package (``# as_of: 2024-12-31``; rank and membership only, no
   market-cap numbers), or ``$PAPERTRADER_HOME/universe/top200.csv`` once ``papertrader universe refresh``
   has re-ranked it from vendor market caps (that file carries the caps and the refresh date);
2. the ETFs of the risk buckets and twenty large TSX listings, defined below;
3. ``$PAPERTRADER_HOME/universe/extra.csv`` (``symbol,name,category,sector``), the place for TSX Venture and
   other names: small caps change too fast to ship a list honestly, so none are shipped.

Refresh: each candidate's market cap comes from a ``MarketCapSource`` (Alpha Vantage OVERVIEW through the
budgeted client; Yahoo's and Questrade's clients have no market-cap call yet), and the top ``n`` by cap form
the new list. Candidates are the current list plus any the caller adds (symbols in the lake, a file).
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any, Final, Protocol

from papertrader.core.errors import ConfigError, DataError, PapertraderError, QuotaExhaustedError

log = logging.getLogger(__name__)

SHIPPED_FILE: Final = "universe_top200.csv"
TOP_N: Final = 200
_COLUMNS: Final = ("rank", "symbol", "name", "category", "sector", "market_cap")


class Category(StrEnum):
    """What kind of instrument a member is, for buckets and filters."""

    CORE = "core_large_cap"
    ETF = "etf"
    PENNY = "penny"
    TSX = "canadian_tsx"
    TSXV = "canadian_tsxv"


@dataclass(frozen=True)
class Member:
    """One symbol in the universe; `market_cap` (USD) only when a vendor supplied it."""

    symbol: str
    name: str
    category: Category
    sector: str = ""
    rank: int | None = None
    market_cap: float | None = None


@dataclass(frozen=True)
class Universe:
    """An ordered set of members, with where the list came from and as of when."""

    members: tuple[Member, ...]
    as_of: str
    origin: str

    def __len__(self) -> int:
        return len(self.members)

    def symbols(self, *categories: Category | str) -> list[str]:
        """Symbols, optionally only of some categories, in list order."""
        wanted = {Category(c) for c in categories}
        return [m.symbol for m in self.members if not wanted or m.category in wanted]

    def get(self, symbol: str) -> Member | None:
        """The member with this symbol, if any."""
        return next((m for m in self.members if m.symbol == symbol.upper()), None)

    def merged(self, others: Iterable[Member], origin: str | None = None) -> Universe:
        """This universe with members added or replaced by symbol (later wins), order kept."""
        by_symbol = {m.symbol: m for m in self.members}
        for m in others:
            by_symbol[m.symbol] = m
        return Universe(tuple(by_symbol.values()), self.as_of, origin or self.origin)


ETFS: Final = (
    Member("SPY", "SPDR S&P 500 ETF Trust", Category.ETF, "US large cap"),
    Member("QQQ", "Invesco QQQ Trust", Category.ETF, "US large cap growth"),
    Member("IWM", "iShares Russell 2000 ETF", Category.ETF, "US small cap"),
    Member("EEM", "iShares MSCI Emerging Markets ETF", Category.ETF, "Emerging markets"),
    Member("DIA", "SPDR Dow Jones Industrial Average ETF Trust", Category.ETF, "US large cap"),
    Member("VTI", "Vanguard Total Stock Market ETF", Category.ETF, "US total market"),
    Member("VOO", "Vanguard S&P 500 ETF", Category.ETF, "US large cap"),
    Member("IVV", "iShares Core S&P 500 ETF", Category.ETF, "US large cap"),
    Member("EFA", "iShares MSCI EAFE ETF", Category.ETF, "Developed ex-US"),
    Member("TLT", "iShares 20+ Year Treasury Bond ETF", Category.ETF, "US treasuries"),
    Member("GLD", "SPDR Gold Shares", Category.ETF, "Gold"),
    Member("XLF", "Financial Select Sector SPDR Fund", Category.ETF, "Financials"),
    Member("XLK", "Technology Select Sector SPDR Fund", Category.ETF, "Information Technology"),
    Member("XLE", "Energy Select Sector SPDR Fund", Category.ETF, "Energy"),
    Member("XIU.TO", "iShares S&P/TSX 60 Index ETF", Category.ETF, "Canadian large cap"),
)

TSX_LARGE: Final = (
    Member("RY.TO", "Royal Bank of Canada", Category.TSX, "Financials"),
    Member("TD.TO", "The Toronto-Dominion Bank", Category.TSX, "Financials"),
    Member("SHOP.TO", "Shopify Inc.", Category.TSX, "Information Technology"),
    Member("ENB.TO", "Enbridge Inc.", Category.TSX, "Energy"),
    Member("CNR.TO", "Canadian National Railway Company", Category.TSX, "Industrials"),
    Member("CP.TO", "Canadian Pacific Kansas City Limited", Category.TSX, "Industrials"),
    Member("BN.TO", "Brookfield Corporation", Category.TSX, "Financials"),
    Member("BMO.TO", "Bank of Montreal", Category.TSX, "Financials"),
    Member("BNS.TO", "The Bank of Nova Scotia", Category.TSX, "Financials"),
    Member("CNQ.TO", "Canadian Natural Resources Limited", Category.TSX, "Energy"),
    Member("CM.TO", "Canadian Imperial Bank of Commerce", Category.TSX, "Financials"),
    Member("TRI.TO", "Thomson Reuters Corporation", Category.TSX, "Industrials"),
    Member("ATD.TO", "Alimentation Couche-Tard Inc.", Category.TSX, "Consumer Staples"),
    Member("SU.TO", "Suncor Energy Inc.", Category.TSX, "Energy"),
    Member("MFC.TO", "Manulife Financial Corporation", Category.TSX, "Financials"),
    Member("CSU.TO", "Constellation Software Inc.", Category.TSX, "Information Technology"),
    Member("WCN.TO", "Waste Connections Inc.", Category.TSX, "Industrials"),
    Member("TRP.TO", "TC Energy Corporation", Category.TSX, "Energy"),
    Member("AEM.TO", "Agnico Eagle Mines Limited", Category.TSX, "Materials"),
    Member("BCE.TO", "BCE Inc.", Category.TSX, "Communication Services"),
)


# --- files -----------------------------------------------------------------------------------------


def _header(text: str) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a universe file."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        if sep and key.strip().isidentifier():
            out[key.strip()] = value.strip()
    return out


def parse_universe(text: str, *, origin: str, default_category: Category = Category.CORE) -> Universe:
    """Members from CSV text (``rank,symbol,name,category,sector[,market_cap]``; ``#`` lines are the header)."""
    meta = _header(text)
    body = "\n".join(line for line in text.splitlines() if not line.startswith("#"))
    reader = csv.DictReader(io.StringIO(body))
    if reader.fieldnames is None or "symbol" not in reader.fieldnames:
        raise DataError(f"universe file ({origin}) has no header with a 'symbol' column")
    members: list[Member] = []
    seen: set[str] = set()
    for line, row in enumerate(reader, start=2):
        symbol = (row.get("symbol") or "").strip().upper()
        if not symbol:
            raise DataError(f"universe file ({origin}) line {line}: empty symbol")
        if symbol in seen:
            raise DataError(f"universe file ({origin}) line {line}: {symbol} listed twice")
        seen.add(symbol)
        try:
            category = Category((row.get("category") or default_category.value).strip())
        except ValueError:
            raise DataError(
                f"universe file ({origin}) line {line}: category must be one of {', '.join(c.value for c in Category)}"
            ) from None
        rank_text = (row.get("rank") or "").strip()
        cap_text = (row.get("market_cap") or "").strip()
        try:
            rank = int(rank_text) if rank_text else None
            cap = float(cap_text) if cap_text else None
        except ValueError:
            raise DataError(f"universe file ({origin}) line {line}: rank or market_cap is not a number") from None
        members.append(
            Member(symbol, (row.get("name") or "").strip(), category, (row.get("sector") or "").strip(), rank, cap)
        )
    return Universe(tuple(members), meta.get("as_of", "unknown"), origin)


def format_universe(universe: Universe, notes: Sequence[str] = ()) -> str:
    """A universe as CSV text with its header (the format ``parse_universe`` reads)."""
    out = io.StringIO()
    out.write(f"# as_of: {universe.as_of}\n# origin: {universe.origin}\n")
    for note in notes:
        out.write(f"# {note}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_COLUMNS)
    for m in universe.members:
        cap = "" if m.market_cap is None else f"{m.market_cap:.0f}"
        writer.writerow(["" if m.rank is None else m.rank, m.symbol, m.name, m.category.value, m.sector, cap])
    return out.getvalue()


@functools.cache
def shipped_top200() -> Universe:
    """The list shipped in the package: the offline default, as of the date in its header (parsed once per process:
    every run's risk engine reads its sectors, and the file is part of the installed package)."""
    text = resources.files("papertrader.data").joinpath(SHIPPED_FILE).read_text(encoding="utf-8")
    return parse_universe(text, origin="shipped")


def universe_dir(home: Path) -> Path:
    """Where refreshed and user universe files live."""
    return home / "universe"


def top200(home: Path | None = None) -> Universe:
    """The refreshed top-200 list when one exists under `home`, else the shipped one."""
    if home is not None:
        path = universe_dir(home) / "top200.csv"
        if path.is_file():
            return parse_universe(path.read_text(encoding="utf-8"), origin=f"refreshed ({path})")
    return shipped_top200()


def load_universe(home: Path | None = None) -> Universe:
    """Every category: top 200, ETFs, TSX large caps and the user's extra file (later entries win)."""
    universe = top200(home).merged([*ETFS, *TSX_LARGE])
    if home is not None:
        extra = universe_dir(home) / "extra.csv"
        if extra.is_file():
            universe = universe.merged(parse_universe(extra.read_text(encoding="utf-8"), origin=str(extra)).members)
    return universe


def universe_sectors(home: Path | None = None, symbols: Iterable[str] | None = None) -> dict[str, str]:
    """Symbol -> sector of every stock in the universe (shipped or refreshed top 200 and the user's extra file).

    ETFs are left out: each is a diversified basket, capped by its own bucket rather than a sector.
    """
    wanted = None if symbols is None else set(symbols)
    return {
        m.symbol: m.sector
        for m in load_universe(home).members
        if m.sector and m.category is not Category.ETF and (wanted is None or m.symbol in wanted)
    }


def resolve(name: str, home: Path | None = None) -> list[str]:
    """Symbols of a named universe: ``top200``, ``all``, or a category (``etf``, ``canadian_tsx``, ...)."""
    key = name.strip().lower()
    if key == "top200":
        return top200(home).symbols()
    universe = load_universe(home)
    if key == "all":
        return universe.symbols()
    try:
        return universe.symbols(Category(key))
    except ValueError:
        raise ConfigError(
            f"unknown universe {name!r}: use top200, all or one of {', '.join(c.value for c in Category)}"
        ) from None


def tag_penny(universe: Universe, closes: Mapping[str, float], below: float = 5.0) -> Universe:
    """Members whose last close is under `below` re-tagged as penny stocks (prices decide, not a list)."""
    members = tuple(
        replace(m, category=Category.PENNY)
        if m.category is not Category.ETF and 0 < closes.get(m.symbol, math.inf) < below
        else m
        for m in universe.members
    )
    return Universe(members, universe.as_of, universe.origin)


# --- refresh ---------------------------------------------------------------------------------------


class MarketCapSource(Protocol):
    """A vendor's market capitalisation of one symbol (USD), None when it does not know it."""

    name: str

    def market_cap(self, symbol: str) -> float | None:
        """The latest market cap, or None."""
        ...


class AlphaVantageMarketCaps:
    """Market caps from Alpha Vantage OVERVIEW through the budgeted client (fundamentals keys first)."""

    name = "alphavantage"

    def __init__(self, client: Any) -> None:
        self.client = client

    def market_cap(self, symbol: str) -> float | None:
        """OVERVIEW's MarketCapitalization, None when missing or the symbol is unknown."""
        frame = self.client.overview(symbol)
        if frame.empty or "market_cap" not in frame.columns:
            return None
        value = float(frame["market_cap"].iloc[0])
        return value if math.isfinite(value) and value > 0 else None


@dataclass(frozen=True)
class RefreshResult:
    """A refreshed top-n list, and the candidates no market cap was found for."""

    universe: Universe
    priced: int
    missing: tuple[str, ...]


def refresh_top(
    source: MarketCapSource,
    candidates: Sequence[Member],
    *,
    as_of: datetime,
    n: int = TOP_N,
    on_symbol: Callable[[str, float | None], None] | None = None,
) -> RefreshResult:
    """Rank the candidates by the source's market caps and keep the top n; a quota ends it early (reported)."""
    caps: dict[str, float] = {}
    missing: list[str] = []
    stopped = False
    for member in candidates:
        try:
            cap = source.market_cap(member.symbol)
        except QuotaExhaustedError as exc:
            log.warning("universe refresh stopped at %s: %s", member.symbol, exc)
            stopped = True
            break
        except PapertraderError as exc:
            log.warning("no market cap for %s: %s", member.symbol, exc)
            cap = None
        if cap is None:
            missing.append(member.symbol)
        else:
            caps[member.symbol] = cap
        if on_symbol is not None:
            on_symbol(member.symbol, cap)
    if stopped or len(caps) < n:
        raise DataError(
            f"market caps found for {len(caps)} of {len(candidates)} candidates "
            f"({'the key budget ran out' if stopped else 'the rest unknown'}); need {n} to rank a top {n}: "
            "the current list is kept, retry when the key budget resets"
        )
    by_symbol = {m.symbol: m for m in candidates}
    ranked = sorted(caps, key=lambda s: (-caps[s], s))[:n]
    members = tuple(
        replace(by_symbol[s], category=Category.CORE, rank=i, market_cap=caps[s]) for i, s in enumerate(ranked, start=1)
    )
    universe = Universe(members, as_of.date().isoformat(), f"refreshed from {source.name} market caps")
    return RefreshResult(universe, len(caps), tuple(missing))


def save_top200(universe: Universe, home: Path) -> Path:
    """Write a refreshed list where ``top200`` finds it (atomically)."""
    path = universe_dir(home) / "top200.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".top200.csv.tmp")
    tmp.write_text(
        format_universe(universe, [f"the {len(universe)} largest candidates by vendor market cap (USD)"]),
        encoding="utf-8",
    )
    tmp.replace(path)
    return path
