"""`papertrader data import | status | backfill | poll`: bars into the lake, what it holds, vendor keys' budgets.

`data collect` (side data from Alpha Vantage) is in cli/collect.py, mounted into the same group.

Sources are built from the environment (keys, tokens and URL settings); one that cannot be built (no Alpha
Vantage key, no Questrade token) is left out with a note rather than failing the command.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from papertrader.cli.common import console, errors, iso_date, wanted_symbols
from papertrader.cli.progress import counted_progress, stop_on_signal
from papertrader.config.settings import Settings, load_settings
from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import ConfigError
from papertrader.data.sources import build_sources, key_manager
from papertrader.domain.sessions import NEW_YORK
from papertrader.domain.timefmt import ZONE_LABEL, exchange_time

SOURCES = ("alphavantage", "yahoo", "questrade")
app = typer.Typer(name="data", help="Import and inspect market data in the lake.", no_args_is_help=True)


# --- helpers ---------------------------------------------------------------------------------------


def stop_after_symbol() -> AbstractContextManager[Callable[[], bool]]:
    """SIGINT/SIGTERM finish the current symbol and stop; a second signal aborts at once."""
    return stop_on_signal("stopping after the current symbol; re-run the same command to resume")


def build_router(settings: Settings, clock: Clock, source: str) -> tuple[Any, list[str]]:
    """A router over one named source, or over every available one (``auto``, routes from PAPERTRADER_DATA_ROUTES)."""
    from papertrader.data.sources import build_router as router_over
    from papertrader.data.sources import source_routes

    names, routes = source_routes(source)
    return router_over(settings, clock, names, routes)


# --- data import, data status ----------------------------------------------------------------------


@app.command("import")
def data_import(
    source: Annotated[str, typer.Option(help="bundled | csv")] = "bundled",
    path: Annotated[Path | None, typer.Option(help="CSV or Parquet file (csv source)")] = None,
    symbol: Annotated[str | None, typer.Option(help="symbol, when the file has no symbol column")] = None,
    interval: Annotated[str, typer.Option(help="bar interval: 1m 5m 15m 30m 1h 1d")] = "1d",
    tz: Annotated[str | None, typer.Option(help="timezone of naive timestamps, e.g. America/New_York")] = None,
    column: Annotated[
        list[str] | None, typer.Option("--column", help="map a column OURS=THEIRS, e.g. close=Last (repeatable)")
    ] = None,
) -> None:
    """Import real bars into the lake; bad rows are quarantined with a reason, never dropped silently."""
    from papertrader.data.store import Lake

    settings = load_settings()
    lake = Lake(settings.lake_dir)
    with errors():
        if source == "bundled":
            import_bundled(lake)
        elif source == "csv":
            if path is None:
                raise typer.BadParameter("--path is required with --source csv")
            from papertrader.data.adapters.csv import import_file, parse_column_options

            columns = parse_column_options(column or [])
            report = import_file(lake, path, symbol=symbol, interval=interval, tz=tz, columns=columns)
            console.print(
                f"imported {report.written} rows for {', '.join(report.symbols)} ({report.quarantined} quarantined)"
            )
        else:
            raise typer.BadParameter(f"unknown source {source!r}: use bundled or csv")
    print_status(lake)


def import_bundled(lake: Any) -> None:
    """Import the bundled real data (the demo's too) and say how much came in."""
    from papertrader.data.adapters.bundled import import_bundled

    with console.status("importing bundled real market data (bokeh-sampledata, arch, statsmodels)"):
        report = import_bundled(lake)
    bars = sum(report.written.values()) + sum(report.unchanged.values())
    console.print(
        f"[green]bundled real data imported[/green]: {len(report.written)} symbols, {bars:,} bars, "
        f"{sum(report.quarantined.values())} quarantined, {len(report.series)} macro series"
    )


def _when(ts: Any, fmt: str) -> str:
    """A lake timestamp in New York time, or '-' for a symbol that only has quarantined rows."""
    import pandas as pd

    return "-" if pd.isna(ts) else str(ts.tz_convert(NEW_YORK).strftime(fmt))


def print_status(lake: Any) -> None:
    """What the lake holds, one row per interval and symbol, then its macro series."""
    status = lake.status()
    table = Table(title=f"lake: {lake.root}")
    for col in ("interval", "symbol", "first", "last", "rows", "quarantined"):
        table.add_column(col, justify="right" if col in ("rows", "quarantined") else "left")
    for row in status.itertuples(index=False):
        fmt = "%Y-%m-%d" if row.interval == "1d" else f"%Y-%m-%d %H:%M {ZONE_LABEL}"
        table.add_row(
            row.interval,
            row.symbol,
            _when(row.first_ts, fmt),
            _when(row.last_ts, fmt),
            f"{row.rows:,}",
            f"{row.quarantined:,}",
        )
    console.print(table)
    series = lake.series_names()
    if series:
        console.print(f"macro series: {', '.join(series)}")


@app.command("status")
def data_status(
    json_file: Annotated[Path | None, typer.Option("--json", help="also write it with stable keys")] = None,
) -> None:
    """Show what the lake holds (symbols, intervals, ranges, rows, quarantine) and each API key's budget."""
    from papertrader.data.store import Lake

    lake = Lake(load_settings().lake_dir)
    print_status(lake)
    print_key_status(console)
    if json_file is not None:
        from papertrader.data.status_json import status_json

        with errors():
            manager = key_manager(load_settings(), WallClock())
        keys = manager.status() if manager is not None else ()
        json_file.write_text(json.dumps(status_json(lake.root, lake.status(), lake.series_names(), keys), indent=2))
        console.print(f"wrote {json_file}")


# --- data backfill ---------------------------------------------------------------------------------


@app.command("backfill")
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
    from papertrader.data.adapters.alphavantage.polling import key_budgets
    from papertrader.data.backfill import Backfiller, BackfillLedger, estimate, job_spec
    from papertrader.data.router import bars_kind
    from papertrader.data.store import Lake

    settings = load_settings()
    clock = WallClock()
    with errors():
        wanted = wanted_symbols(symbols, universe, settings)
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
        with stop_after_symbol() as stopping, counted_progress("backfill", len(plan.symbols)) as (progress, task):

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


@app.command("poll")
def poll(
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols")] = None,
    universe: Annotated[str | None, typer.Option(help="top200 | all | a category")] = None,
    mode: Annotated[str, typer.Option(help="quote | bar")] = "quote",
    interval: Annotated[str, typer.Option(help="bar interval in bar mode")] = "1m",
    sweeps: Annotated[int, typer.Option(help="sweeps to run (0: only print the cadence)")] = 1,
) -> None:
    """Poll the freshest quote or bar per symbol at the cadence the key budgets allow (printed first)."""
    from papertrader.data.adapters.alphavantage.polling import AlphaVantageQuotes, achievable_cadence, key_budgets
    from papertrader.data.polling import LatestBarQuotes, LivePoller, fixed_rate_cadence
    from papertrader.data.router import Router
    from papertrader.data.store import Lake

    settings = load_settings()
    clock = WallClock()
    with errors():
        wanted = wanted_symbols(symbols, universe, settings)
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
        with stop_after_symbol() as stopping:
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
