"""`papertrader universe list | refresh`: the trading universe (top 200 US stocks, ETFs, Canadian listings)."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from papertrader.cli.common import console, errors
from papertrader.cli.progress import counted_progress
from papertrader.config.settings import load_settings
from papertrader.core.clock import WallClock
from papertrader.core.errors import ConfigError
from papertrader.data.sources import build_sources

app = typer.Typer(
    name="universe", help="The trading universe: top 200 US stocks, ETFs, Canadian listings.", no_args_is_help=True
)


@app.command("list")
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


@app.command("refresh")
def universe_refresh(
    n: Annotated[int, typer.Option(help="how many to keep")] = 200,
    include_lake: Annotated[bool, typer.Option(help="also rank the lake's daily symbols")] = True,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="print the budget only")] = False,
) -> None:
    """Re-rank the top-n US stocks by vendor market cap (Alpha Vantage OVERVIEW); keeps the list if it cannot."""
    from papertrader.data.adapters.alphavantage.polling import key_budgets, time_for_requests
    from papertrader.data.polling import format_seconds
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
        with counted_progress("refresh", len(candidates)) as (progress, task):
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
