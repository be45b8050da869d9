"""Data budget: requests per universe sweep, cache hit ratio, and polling cadence per key budget, vs naive.

Run: `.venv/bin/python benchmarks/data_budget.py` (a few minutes). Everything is measured in one run against
the fake vendor server of the integration tests (tests/integration/data_vendors/fake_vendors.py: a real HTTP
server on 127.0.0.1 answering in the vendors' wire formats with real bars from ../shared/data), through the
real clients, key manager, router, lake and backfill, on a simulated clock: key budgets pace requests in
simulated time, so a day of free-key waiting costs nothing. The top-200 universe is served by aliasing each
symbol onto one of the nine symbols with real shared bars (request counts do not depend on the prices).

Backfill sweeps (daily bars 2020-06-01 → 2021-01-01, then one week more) compare the incremental backfill
(lake + ledger: only missing sessions, nothing fetched twice) with the naive alternative that fetches every
symbol's whole range on every sweep. Polling compares the achievable cadence the poller computes and keeps
with a naive one-sweep-a-minute loop that ignores the budget, counting what the vendor refuses.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "integration" / "data_vendors"))

from fake_vendors import SHARED, FakeVendors, shared_symbols  # noqa: E402

from papertrader.config.alphavantage import AlphaVantageSettings  # noqa: E402
from papertrader.core.clock import SimClock  # noqa: E402
from papertrader.data.adapters.alphavantage import AlphaVantageClient, AlphaVantageSource  # noqa: E402
from papertrader.data.adapters.alphavantage.keys import ApiKey, KeyManager, Purpose, Tier, make_key  # noqa: E402
from papertrader.data.adapters.alphavantage.polling import AlphaVantageQuotes, achievable_cadence, key_budgets  # noqa: E402
from papertrader.data.backfill import Backfiller, BackfillLedger, job_spec  # noqa: E402
from papertrader.data.polling import LivePoller, format_seconds  # noqa: E402
from papertrader.data.router import Router  # noqa: E402
from papertrader.data.store import Lake  # noqa: E402
from papertrader.data.universe import shipped_top200  # noqa: E402
from papertrader.persistence.db import make_engine  # noqa: E402

NOW = datetime(2021, 4, 5, 16, tzinfo=UTC)
START, END, END_PLUS_WEEK = (
    datetime(2020, 6, 1, 4, tzinfo=UTC),
    datetime(2021, 1, 1, 5, tzinfo=UTC),
    datetime(2021, 1, 8, 5, tzinfo=UTC),
)
PREMIUM = "PREMIUMBENCH0001"
FREE = ("FREEBENCHKEY0002", "FREEBENCHKEY0003", "FREEBENCHKEY0004")


class SimSleep:
    """Sleep by moving the simulated clock."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

    def __call__(self, seconds: float) -> None:
        self.clock.advance_to(self.clock.now() + timedelta(seconds=max(0.0, seconds)))


@dataclass
class World:
    """The fake server, a clock and the universe it serves."""

    fake: FakeVendors
    clock: SimClock
    symbols: list[str]
    settings: AlphaVantageSettings


def keys_for(premium: int, free: int, settings: AlphaVantageSettings) -> list[ApiKey]:
    """Key sets of the budgets compared."""
    out = [make_key(PREMIUM, Tier.PREMIUM, Purpose.MARKET, settings)] if premium else []
    purposes = (Purpose.FUNDAMENTALS, Purpose.MACRO, Purpose.SENTIMENT)
    return out + [make_key(FREE[i], Tier.FREE, purposes[i], settings) for i in range(free)]


def client(world: World, keys: list[ApiKey], db: Path) -> AlphaVantageClient:
    """The real budgeted client on the simulated clock; one usage database for all, as on one machine."""
    sleep = SimSleep(world.clock)
    manager = KeyManager(
        keys,
        make_engine(f"sqlite:///{db}"),
        clock=world.clock,
        settings=world.settings,
        jitter=lambda: 0.5,
        sleep=sleep,
    )
    return AlphaVantageClient(manager, world.settings, clock=world.clock, sleep=sleep)


def sent(world: World, since: int) -> int:
    """Requests the server saw since a log position."""
    return len(world.fake.log) - since


# --- backfill ------------------------------------------------------------------------------------------


def backfill_sweeps(world: World, tmp: Path) -> list[dict[str, Any]]:
    """Three sweeps (first, repeat, one more week) incremental vs naive; requests, sessions, simulated time."""
    rows = []
    for strategy in ("incremental", "naive"):
        av = AlphaVantageSource(client(world, keys_for(1, 0, world.settings), tmp / "keys.db"), clock=world.clock)
        lake = Lake(tmp / f"lake-{strategy}", clock=world.clock)
        filler = Backfiller(
            lake, Router([av], clock=world.clock), BackfillLedger(tmp / f"{strategy}.sqlite"), clock=world.clock
        )
        for label, end in (("first sweep", END), ("repeat sweep", END), ("+1 week sweep", END_PLUS_WEEK)):
            mark, t0, wall = len(world.fake.log), world.clock.now(), time.perf_counter()
            plan = filler.plan(world.symbols, "1d", START, end, ("alphavantage",))
            if strategy == "incremental":
                filler.run(plan, job_spec("alphavantage", world.symbols, "1d", START, end))
                fetched_sessions = plan.sessions
            else:
                fetched_sessions = naive_sweep(av, lake, world.symbols, end)
            total_sessions = naive_sessions(lake, world.symbols, end)
            rows.append(
                {
                    "strategy": strategy,
                    "sweep": label,
                    "requests": sent(world, mark),
                    "sessions_needed": total_sessions,
                    "sessions_fetched": fetched_sessions,
                    "cache_hit_ratio": 1 - fetched_sessions / total_sessions if total_sessions else 1.0,
                    "simulated_s": (world.clock.now() - t0).total_seconds(),
                    "wall_s": time.perf_counter() - wall,
                }
            )
    return rows


def naive_sweep(av: AlphaVantageSource, lake: Lake, symbols: Sequence[str], end: datetime) -> int:
    """Fetch every symbol's whole range and write it (no lake check, no ledger); sessions fetched."""
    fetched = 0
    for symbol in symbols:
        bars = av.fetch_bars(symbol, "1d", START, end)
        lake.write_bars(bars, "1d", "alphavantage")
        fetched += len(bars)
    return fetched


def naive_sessions(lake: Lake, symbols: Sequence[str], end: datetime) -> int:
    """Sessions the sweep asks for in all (what a cache could serve)."""
    return len(lake.read_bars(list(symbols), "1d", START, end, adjusted=False))


# --- polling -------------------------------------------------------------------------------------------

BUDGETS: tuple[tuple[str, int, int], ...] = (
    ("1 premium (75/min)", 1, 0),
    ("1 premium + 3 free", 1, 3),
    ("3 free (25/day each)", 0, 3),
)


def polling(world: World, tmp: Path) -> list[dict[str, Any]]:
    """Per budget: computed cadence, measured cadence of the poller (2 sweeps), and a naive 60 s loop."""
    rows = []
    for label, premium, free in BUDGETS:
        keys = keys_for(premium, free, world.settings)
        av = client(world, keys, tmp / "keys.db")
        cadence = achievable_cadence(len(world.symbols), key_budgets(av.keys))
        mark, violations = len(world.fake.log), len(world.fake.violations)
        router = Router([AlphaVantageQuotes(av, clock=world.clock)], clock=world.clock)
        poller = LivePoller(router, world.symbols, cadence, clock=world.clock)
        sweeps = list(poller.run(sweeps=2))
        measured = (sweeps[1].finished_at - sweeps[0].finished_at).total_seconds()
        ok = sum(len(s.quotes) for s in sweeps)
        ours = {"requests": sent(world, mark), "refused": len(world.fake.violations) - violations, "quotes": ok}
        world.clock.advance_to(world.clock.now() + timedelta(days=2))  # fresh budgets for the naive loop
        naive = naive_polling(world, keys, sweeps=2, period_s=60.0)
        rows.append(
            {
                "budget": label,
                "symbols": len(world.symbols),
                "requests_per_sweep": cadence.requests_per_sweep,
                "computed_sweep_s": cadence.sweep_seconds,
                "measured_sweep_s": measured,
                "ours": ours,
                "naive_60s": naive,
            }
        )
        world.clock.advance_to(world.clock.now() + timedelta(days=2))
    return rows


def naive_polling(world: World, keys: list[ApiKey], *, sweeps: int, period_s: float) -> dict[str, int]:
    """One GLOBAL_QUOTE per symbol per minute, round-robin over the keys, no budget: what the vendor refuses."""
    mark, violations = len(world.fake.log), len(world.fake.violations)
    step = timedelta(seconds=period_s / len(world.symbols))
    with httpx.Client(timeout=10) as http:
        for n in range(sweeps * len(world.symbols)):
            key = keys[n % len(keys)].reveal()
            symbol = world.symbols[n % len(world.symbols)]
            http.get(world.fake.av_url, params={"function": "GLOBAL_QUOTE", "symbol": symbol, "apikey": key})
            world.clock.advance_to(world.clock.now() + step)
    refused = len(world.fake.violations) - violations
    return {"requests": sent(world, mark), "refused": refused, "quotes": sent(world, mark) - refused}


# --- report --------------------------------------------------------------------------------------------


def print_tables(backfill: list[dict[str, Any]], polls: list[dict[str, Any]], n: int) -> None:
    """The two tables."""
    console = Console(width=150)
    t1 = Table(title=f"backfill sweeps, {n} symbols, daily bars, 1 premium key (75/min), fake vendor on 127.0.0.1")
    for col in ("strategy", "sweep", "requests", "sessions needed", "fetched", "cache hit ratio", "sim. time", "wall"):
        t1.add_column(col, justify="left" if col in ("strategy", "sweep") else "right")
    for r in backfill:
        t1.add_row(
            r["strategy"],
            r["sweep"],
            str(r["requests"]),
            f"{r['sessions_needed']:,}",
            f"{r['sessions_fetched']:,}",
            f"{r['cache_hit_ratio']:.1%}",
            format_seconds(r["simulated_s"]),
            f"{r['wall_s']:.1f} s",
        )
    console.print(t1)
    t2 = Table(title=f"live polling, {n} symbols, GLOBAL_QUOTE (no batch endpoint in the clients)")
    for col in ("budget", "req/sweep", "computed sweep", "measured sweep", "ours: refused", "naive 60 s: refused"):
        t2.add_column(col, justify="left" if col == "budget" else "right")
    for r in polls:
        naive = r["naive_60s"]
        t2.add_row(
            r["budget"],
            str(r["requests_per_sweep"]),
            format_seconds(r["computed_sweep_s"]),
            format_seconds(r["measured_sweep_s"]),
            f"{r['ours']['refused']}/{r['ours']['requests']}",
            f"{naive['refused']}/{naive['requests']} ({naive['refused'] / naive['requests']:.0%})",
        )
    console.print(t2)


def main() -> None:
    """Run both measurements, print the tables, write benchmarks/results/data_budget.json."""
    if not (SHARED / "equity-us" / "1d").is_dir():
        sys.exit(f"shared data not found at {SHARED}")
    import tempfile

    symbols = shipped_top200().symbols()
    real = shared_symbols()
    aliases = {s: real[i % len(real)] for i, s in enumerate(symbols) if s not in real}
    clock = SimClock(NOW)
    settings = AlphaVantageSettings(_env_file=None, max_wait_s=10 * 86_400.0)
    av_keys = {PREMIUM: ("premium", settings.premium_per_minute), **{k: ("free", settings.free_per_day) for k in FREE}}
    with (
        tempfile.TemporaryDirectory() as tmp,
        FakeVendors(clock, av_keys=av_keys, aliases=aliases, history_start="2020-01-01") as fake,
    ):
        settings = AlphaVantageSettings(_env_file=None, url=fake.av_url, max_wait_s=10 * 86_400.0)
        world = World(fake, clock, symbols, settings)
        backfill = backfill_sweeps(world, Path(tmp))
        polls = polling(world, Path(tmp))
    print_tables(backfill, polls, len(symbols))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "data_budget.json").write_text(json.dumps({"backfill": backfill, "polling": polls}, indent=2, default=str))


if __name__ == "__main__":
    main()
