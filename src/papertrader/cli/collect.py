"""`papertrader data collect fundamentals|macro|news`: side data from Alpha Vantage into the lake (data/collect.py).

Mounted into the `data` group (cli/__init__.py). Prints how many requests
the run needs and how long the keys of the family's purpose take to send them, then a line per item.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from papertrader.cli.common import console, errors, iso_date, wanted_symbols
from papertrader.config.settings import load_settings
from papertrader.core.clock import WallClock
from papertrader.core.errors import ConfigError
from papertrader.core.lazy import deferred

if TYPE_CHECKING:
    import pandas as pd
else:  # imported on first use: `papertrader --help` never pays for it
    pd = deferred("pandas")

app = typer.Typer()


@app.command("collect")
def collect(
    family: Annotated[str, typer.Argument(help="fundamentals | macro | news")],
    symbols: Annotated[str | None, typer.Option(help="comma-separated symbols (fundamentals, news)")] = None,
    universe: Annotated[str | None, typer.Option(help="top200 | all | a category such as etf")] = None,
    start: Annotated[
        str | None, typer.Option(help="news: first day (ISO, New York; default 30 days before end)")
    ] = None,
    end: Annotated[str | None, typer.Option(help="news: end (ISO, exclusive; default today's midnight)")] = None,
    refresh: Annotated[bool, typer.Option("--refresh", help="ask again for what was answered before")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the plan and its budget, send nothing")] = False,
    json_file: Annotated[Path | None, typer.Option("--json", help="write the outcome with stable keys")] = None,
) -> None:
    """Store Alpha Vantage fundamentals, macro series or news in the lake: budgeted, resumable, re-run free."""
    from papertrader.cli.data import stop_after_symbol
    from papertrader.data.adapters.alphavantage import AlphaVantageClient
    from papertrader.data.adapters.alphavantage.polling import key_budgets, time_for_requests
    from papertrader.data.collect import (
        FAMILIES,
        NEWS_DEFAULT_DAYS,
        PURPOSES,
        CollectLedger,
        Collector,
        default_news_end,
        plan_items,
    )
    from papertrader.data.sources import key_manager
    from papertrader.data.store import Lake

    family = family.strip().lower()
    if family not in FAMILIES:
        raise typer.BadParameter(f"unknown family {family!r}: use {', '.join(FAMILIES)}")
    settings = load_settings()
    clock = WallClock()
    with errors():
        wanted = wanted_symbols(symbols, universe, settings) if family != "macro" else []
        hi = pd.Timestamp(iso_date(end, "--end")).tz_convert("UTC") if end else default_news_end(clock.now())
        lo = (
            pd.Timestamp(iso_date(start, "--start")).tz_convert("UTC")
            if start
            else hi - pd.Timedelta(days=NEWS_DEFAULT_DAYS)
        )
        ledger = CollectLedger(settings.home / "collect.sqlite")
        items = plan_items(ledger, family, wanted, start=lo, end=hi, refresh=refresh)
        manager = key_manager(settings, clock)
        purpose = PURPOSES[family]
        seconds = None
        if manager is not None:
            routed = {k.fingerprint for k in manager.route(purpose)}
            budgets = [b for b, k in zip(key_budgets(manager), manager.keys, strict=True) if k.fingerprint in routed]
            seconds = time_for_requests(len(items), budgets, clock.now())
        took = "no Alpha Vantage key" if seconds is None else f"~{_seconds(seconds)}"
        console.print(
            f"collect {family}: {len(items)} request(s) to send on the {purpose.value} keys ({took}); "
            f"already stored: {'asked again (--refresh)' if refresh else 'skipped'}"
        )
        if dry_run or not items:
            _write_json(json_file, family, [], 0)
            return
        if manager is None:
            raise ConfigError(
                "no Alpha Vantage key configured: set PAPERTRADER_AV_KEY_PRIMARY (fundamentals), "
                "PAPERTRADER_AV_KEY_SECONDARY (macro), PAPERTRADER_AV_KEY_SENTIMENT (news) or PAPERTRADER_AV_KEYS"
            )
        lake = Lake(settings.lake_dir, clock=clock)
        with AlphaVantageClient(manager, clock=clock) as client, stop_after_symbol() as stop:
            collector = Collector(
                lake, client, ledger, clock=clock, statement_lag_days=settings.features.statement_lag_days
            )
            report = collector.run(family, items, should_stop=stop)
    _print_report(report)
    _write_json(json_file, family, report.results, report.requests)
    if report.count("failed"):
        raise typer.Exit(1)


def _seconds(seconds: float) -> str:
    from papertrader.data.polling import format_seconds

    return format_seconds(seconds)


def _print_report(report: Any) -> None:
    table = Table(title=f"collect {report.family}")
    for col in ("item", "function", "status", "rows", "note"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for r in report.results:
        note = (r.detail[:90] + "…") if len(r.detail) > 90 else r.detail
        window = ""
        if r.item.start is not None and r.item.end is not None:
            window = f" {r.item.start:%Y-%m-%d}→{r.item.end:%Y-%m-%d}"
        table.add_row(r.item.subject + window, r.item.function, r.status, f"{r.rows:,}", note)
    console.print(table)
    counts = {s: report.count(s) for s in ("stored", "empty", "quarantined", "failed", "waiting")}
    state = "stopped: re-run the same command to resume" if report.stopped else "done"
    console.print(
        f"{state} · {report.requests} request(s) · {report.rows:,} row(s) written · "
        + ", ".join(f"{v} {k}" for k, v in counts.items() if v)
    )
    if counts["waiting"]:
        console.print("[yellow]the keys' budget is spent: re-run later to collect the rest[/yellow]")


def _write_json(path: Path | None, family: str, results: list[Any], requests: int) -> None:
    if path is None:
        return
    out = {
        "family": family,
        "requests": requests,
        "items": [
            {
                "function": r.item.function,
                "subject": r.item.subject,
                "status": r.status,
                "rows": r.rows,
                "detail": r.detail,
            }
            for r in results
        ],
    }
    path.write_text(json.dumps(out, indent=2))
    console.print(f"wrote {path}")
