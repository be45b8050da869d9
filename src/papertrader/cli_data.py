"""CLI glue for vendor data: `data backfill`, `data poll`, key budgets for `data status`, and `universe`.

Sources are built from the environment (keys, tokens and URL settings); one that cannot be built (no Alpha
Vantage key, no Questrade token) is left out with a note rather than failing the command.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from papertrader.cli_common import errors, iso_date
from papertrader.config.settings import Settings, load_settings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError
from papertrader.data.sources import build_sources, key_manager
from papertrader.domain.sessions import NEW_YORK
from papertrader.domain.timefmt import exchange_time

SOURCES = ("alphavantage", "yahoo", "questrade")
console = Console()
universe_app = typer.Typer(
    help="The trading universe: top 200 US stocks, ETFs, Canadian listings.", no_args_is_help=True
)


# --- helpers ---------------------------------------------------------------------------------------


@contextmanager
def _stop_on_signal() -> Iterator[Callable[[], bool]]:
    """SIGINT/SIGTERM finish the current symbol and stop; a second signal aborts at once."""
    requested: list[int] = []

    def handler(signum: int, _frame: object) -> None:
        if requested:
            raise KeyboardInterrupt
        requested.append(signum)
        console.print("[yellow]stopping after the current symbol; re-run the same command to resume[/yellow]")

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield lambda: bool(requested)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _symbols(symbols: str | None, universe: str | None, settings: Settings) -> list[str]:
    from papertrader.data.universe import resolve

    picked = [s.strip().upper() for s in (symbols or "").split(",") if s.strip()]
    if universe:
        picked += resolve(universe, settings.home)
    if not picked:
        raise typer.BadParameter("name the symbols: --symbols AAPL,MSFT or --universe top200")
    return list(dict.fromkeys(picked))


def build_router(settings: Settings, clock: Clock, source: str) -> tuple[Any, list[str]]:
    """A router over one named source, or over every available one (``auto``, routes from PAPERTRADER_DATA_ROUTES)."""
    from papertrader.data.sources import build_router as router_over
    from papertrader.data.sources import source_routes

    names, routes = source_routes(source)
    return router_over(settings, clock, names, routes)


# --- data backfill ---------------------------------------------------------------------------------


def backfill(
    start: Annotated[str, typer.Option(help="first session (ISO date, New York)")],
    source: Annotated[str, typer.Option(help="alphavantage | yahoo | questrade | auto (failover)")] = "auto",
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols")] = None,
    universe: Annotated[str | None, typer.Option(help="top200 | all | a category such as etf")] = None,
    interval: Annotated[str, typer.Option(help="1d | 60min | 30min | 15min | 5min | 1min")] = "1d",
    end: Annotated[str | None, typer.Option(help="end (ISO, exclusive; default now)")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan and its budget, fetch nothing")] = False,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the outcome with stable keys")] = None,
) -> None:
    """Fill the lake's missing sessions from vendors: budgeted, resumable, validated, with provenance."""
    from papertrader.data.backfill import Backfiller, BackfillLedger, estimate, job_spec
    from papertrader.data.polling import key_budgets
    from papertrader.data.router import bars_kind
    from papertrader.data.store import Lake

    settings = load_settings()
    clock = WallClock()
    with errors():
        wanted = _symbols(symbols, universe, settings)
        lo = iso_date(start, "--start")
        hi = iso_date(end, "--end") if end else clock.now()
        router, notes = build_router(settings, clock, source)
        for note in notes:
            console.print(f"[yellow]{note}[/yellow]")
        lake = Lake(settings.lake_dir, clock=clock)
        ledger = BackfillLedger(settings.home / "backfill.sqlite")
        filler = Backfiller(lake, router, ledger, clock=clock)
        plan = filler.plan(wanted, interval, lo, hi, router.route(bars_kind(interval)))
        manager = router.sources.get("alphavantage")
        budgets = key_budgets(manager.client.keys) if manager is not None else None
        _print_plan(plan, estimate(plan, budgets))
        if dry_run:
            return
        spec = job_spec(source, wanted, interval, lo, hi if end else None)
        with _stop_on_signal() as stopping, _progress(len(plan.symbols)) as (progress, task):

            def on_symbol(result: Any) -> None:
                progress.update(task, advance=1, info=f"{result.symbol} {result.status} {result.source or ''}")

            report = filler.run(plan, spec, on_symbol=on_symbol, should_stop=stopping)
    _print_report(report)
    if json_file is not None:
        out = {
            "job_id": report.job_id,
            "resumed": report.resumed,
            "stopped": report.stopped,
            "written": report.written,
            "by_source": report.by_source(),
            "symbols": [asdict(r) for r in report.results],
        }
        json_file.write_text(json.dumps(out, indent=2))
        console.print(f"wrote {json_file}")
    if report.failed:
        raise typer.Exit(1)


@contextmanager
def _progress(total: int) -> Iterator[tuple[Progress, Any]]:
    with Progress(
        TextColumn("[bold]backfill[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        yield progress, progress.add_task("backfill", total=total, info="")


def _print_plan(plan: Any, lines: Sequence[Any]) -> None:
    todo = plan.todo
    console.print(
        f"backfill {plan.interval} {plan.start.tz_convert(NEW_YORK):%Y-%m-%d} → "
        f"{plan.end.tz_convert(NEW_YORK):%Y-%m-%d}: "
        f"{len(plan.symbols)} symbol(s), route {' → '.join(plan.route)}"
    )
    console.print(
        f"missing: {plan.sessions:,} session(s) in {len(todo)} symbol(s) ({len(plan.symbols) - len(todo)} up to date), "
        f"{sum(len(s.spans) for s in todo)} fetch(es)"
    )
    if todo:
        console.print("requests and time if one source served it all:")
        for line in lines:
            console.print(f"  {line.describe()}")


def _print_report(report: Any) -> None:
    table = Table(title=f"backfill job {report.job_id}" + (" (resumed)" if report.resumed else ""))
    for col in ("symbol", "status", "source", "bars", "sessions", "note"):
        table.add_column(col, justify="right" if col in ("bars", "sessions") else "left")
    for r in report.results:
        note = (r.detail[:80] + "…") if len(r.detail) > 80 else r.detail
        if r.failed_over and not note:
            note = "served after failover"
        table.add_row(r.symbol, r.status, r.source or "-", f"{r.written:,}", f"{r.sessions:,}", note)
    console.print(table)
    sources = ", ".join(f"{k} {v}" for k, v in report.by_source().items()) or "none"
    failed = len(report.failed)
    state = (
        "stopped: re-run the same command to resume"
        if report.stopped
        else f"done, {failed} symbol(s) failed (re-run to retry them)"
        if failed
        else "done"
    )
    console.print(f"{state} · {report.written:,} bar(s) written · symbols per source: {sources}")


# --- data poll -------------------------------------------------------------------------------------


def poll(
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols")] = None,
    universe: Annotated[str | None, typer.Option(help="top200 | all | a category")] = None,
    mode: Annotated[str, typer.Option(help="quote | bar")] = "quote",
    interval: Annotated[str, typer.Option(help="bar interval in bar mode")] = "1m",
    sweeps: Annotated[int, typer.Option(help="sweeps to run (0: only print the cadence)")] = 1,
) -> None:
    """Poll the freshest quote or bar per symbol at the cadence the key budgets allow (printed first)."""
    from papertrader.data.polling import (
        AlphaVantageQuotes,
        LatestBarQuotes,
        LivePoller,
        achievable_cadence,
        fixed_rate_cadence,
        key_budgets,
    )
    from papertrader.data.router import Router
    from papertrader.data.store import Lake

    settings = load_settings()
    clock = WallClock()
    with errors():
        wanted = _symbols(symbols, universe, settings)
        sources, notes = build_sources(settings, clock, SOURCES)
        for note in notes:
            console.print(f"[yellow]{note}[/yellow]")
        if not sources:
            raise ConfigError("no data source is available: " + "; ".join(notes))
        av = sources.get("alphavantage")
        if av is not None:
            cadence = achievable_cadence(len(wanted), key_budgets(av.client.keys), premium_only=mode == "bar")
        else:
            cadence = fixed_rate_cadence(len(wanted), 2.0, "no Alpha Vantage key; polite Yahoo/Questrade pace 2/s")
        console.print(f"cadence: {cadence.describe()}")
        if sweeps <= 0:
            return
        quote_sources: list[Any] = [AlphaVantageQuotes(av.client, clock=clock)] if av is not None else []
        quote_sources += [LatestBarQuotes(s, clock=clock) for n, s in sources.items() if n != "alphavantage"]
        router = Router(list(sources.values()) if mode == "bar" else quote_sources, clock=clock)
        lake = Lake(settings.lake_dir, clock=clock) if mode == "bar" else None
        poller = LivePoller(
            router, wanted, cadence, clock=clock, mode="bar" if mode == "bar" else "quote", interval=interval, lake=lake
        )
        with _stop_on_signal() as stopping:
            for sweep in poller.run(sweeps, should_stop=stopping):
                finished = exchange_time(sweep.finished_at, seconds=True)
                table = Table(title=f"sweep at {finished} ({sweep.seconds:.1f} s)")
                for col in ("symbol", "price", "as of", "source", "delayed"):
                    table.add_column(col)
                for row in sweep.quotes.itertuples(index=False):
                    table.add_row(
                        str(row.symbol),
                        f"{row.price:,.4f}",
                        exchange_time(row.ts),  # type: ignore[arg-type]  # a pandas Timestamp (a datetime)
                        str(row.source),
                        str(row.delayed),
                    )
                console.print(table)
                for symbol, why in sweep.failures.items():
                    console.print(f"[red]{symbol}[/red]: {why}")


# --- data status: key budgets ----------------------------------------------------------------------


def print_key_status(out: Console | None = None) -> None:
    """Each Alpha Vantage key's remaining budget, the key masked (for `papertrader data status`)."""
    out = out or console
    settings = load_settings()
    with errors():
        manager = key_manager(settings, WallClock())
    if manager is None:
        out.print("Alpha Vantage keys: none configured (set PAPERTRADER_AV_KEY_PREMIUM or PAPERTRADER_AV_KEYS)")
        return
    table = Table(title="Alpha Vantage key budgets")
    for col in ("key", "tier", "purpose", "used", "remaining", "window", "state"):
        table.add_column(col, justify="right" if col in ("used", "remaining") else "left")
    for s in manager.status():
        if s.retired_until is not None:
            state = f"retired until {s.retired_until.astimezone(NEW_YORK):%Y-%m-%d %H:%M} ET ({s.retired_reason})"
        elif s.backoff_until is not None:
            state = f"backing off until {s.backoff_until.astimezone(NEW_YORK):%H:%M:%S} ET"
        else:
            state = "ok"
        table.add_row(s.key, s.tier, s.purpose, f"{s.used}/{s.budget}", str(s.remaining), f"per {s.window}", state)
    out.print(table)


# --- universe --------------------------------------------------------------------------------------


@universe_app.command("list")
def universe_list(
    category: Annotated[
        str | None, typer.Option(help="core_large_cap | etf | penny | canadian_tsx | canadian_tsxv")
    ] = None,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the members with stable keys")] = None,
) -> None:
    """List the members with category and sector; stocks whose last stored close is under penny_below are penny."""
    from papertrader.data.store import Lake
    from papertrader.data.universe import load_universe, tag_penny

    settings = load_settings()
    with errors():
        universe = load_universe(settings.home)
        last = Lake(settings.lake_dir).read_bars_asof(universe.symbols(), "1d", WallClock().now(), adjusted=False)
        closes = dict(zip(last["symbol"], last["close"], strict=True))
        universe = tag_penny(universe, closes, settings.risk.penny_below)
        members = [m for m in universe.members if category is None or m.category.value == category]
    table = Table(title=f"universe: {len(members)} member(s) · top 200 as of {universe.as_of} ({universe.origin})")
    for col in ("rank", "symbol", "name", "category", "sector"):
        table.add_column(col)
    for m in members:
        table.add_row("" if m.rank is None else str(m.rank), m.symbol, m.name, m.category.value, m.sector)
    console.print(table)
    if json_file is not None:
        rows = [{**asdict(m), "category": m.category.value} for m in members]
        json_file.write_text(
            json.dumps({"as_of": universe.as_of, "origin": universe.origin, "members": rows}, indent=2)
        )


@universe_app.command("refresh")
def universe_refresh(
    n: Annotated[int, typer.Option(help="how many to keep")] = 200,
    include_lake: Annotated[bool, typer.Option(help="also rank the lake's daily symbols")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the budget only")] = False,
) -> None:
    """Re-rank the top-n US stocks by vendor market cap (Alpha Vantage OVERVIEW); keeps the list if it cannot."""
    from papertrader.data.polling import format_seconds, key_budgets, time_for_requests
    from papertrader.data.store import Lake
    from papertrader.data.universe import AlphaVantageMarketCaps, Category, Member, refresh_top, save_top200, top200

    settings = load_settings()
    clock = WallClock()
    with errors():
        current = top200(settings.home)
        candidates = list(current.members)
        if include_lake:
            known = {m.symbol for m in candidates}
            lake_symbols = Lake(settings.lake_dir).symbols("1d")
            candidates += [
                Member(s, "", Category.CORE)
                for s in lake_symbols
                if s not in known and not s.startswith("^") and "." not in s
            ]
        sources, notes = build_sources(settings, clock, ["alphavantage"])
        if not sources:
            raise ConfigError(
                f"refresh needs Alpha Vantage keys; the list as of {current.as_of} stays in use ({notes[0]})"
            )
        client = sources["alphavantage"].client
        seconds = time_for_requests(len(candidates), key_budgets(client.keys), clock.now())
        took = "cannot be served" if seconds is None else f"~{format_seconds(seconds)}"
        console.print(f"refresh: {len(candidates)} OVERVIEW request(s), {took} with the configured key budgets")
        if dry_run:
            return
        with _progress(len(candidates)) as (progress, task):
            result = refresh_top(
                AlphaVantageMarketCaps(client),
                candidates,
                as_of=clock.now(),
                n=n,
                on_symbol=lambda s, cap: progress.update(task, advance=1, info=s),
            )
        path = save_top200(result.universe, settings.home)
    console.print(
        f"wrote {path}: top {len(result.universe)} of {result.priced} priced ({len(result.missing)} without a cap)"
    )
