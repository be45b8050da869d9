"""`papertrader new-strategy` and the `--strategy MODULE:CLASS` option of backtest, paper, trial and compare.

Mounted like every command module (`app`, see cli/__init__.py). A plug-in strategy is loaded by engine.plugins when
the run is built (docs/strategies.md); this module only puts its name into the settings and writes templates.
"""

from __future__ import annotations

import keyword
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from papertrader.cli.common import EXIT_ERROR
from papertrader.config.settings import Settings, load_settings

console = Console()

StrategyOpt = Annotated[
    str | None,
    typer.Option(
        "--strategy",
        help="strategy to run instead of strategy.name: a built-in (trend, ensemble, ...), MODULE:CLASS "
        "(importable from the current directory or PYTHONPATH) or an installed entry point",
    ),
]


def member_name(text: str) -> str:
    """A board member as typed on the command line: built-in names lower-cased, import paths kept as written."""
    name = text.strip()
    return name if ":" in name else name.lower()


def strategy_settings(spec: str | None) -> Settings | None:
    """The loaded settings with --strategy applied, or None (the command loads its own) without one."""
    if spec is None:
        return None
    from papertrader.engine.plugins import with_strategy

    return with_strategy(load_settings(), spec)


# ------------------------------------------------------------------ new-strategy

TEMPLATE = '''"""{module}: a mean-reversion strategy for papertrader, written by `papertrader new-strategy {module}`.

Run it from this folder (or with this folder on PYTHONPATH):

    papertrader backtest --strategy {module}:{cls}
    export PAPERTRADER_STRATEGY__PARAMS='{{"window": 10, "entry": 1.5}}'   # its parameters
    papertrader backtest --strategy {module}:{cls}

or set it once in $PAPERTRADER_HOME/config.toml:

    [strategy]
    name = "{module}:{cls}"
    params = {{ window = 20, entry = 1.0 }}

The contract (docs/strategies.md): the class is built as `{cls}(symbols, **params)`; `required_features()`
names the panels it reads; `decide(ts, view)` returns a Decision for every symbol, reading only what the
FeatureView shows (rows up to the current bar: the future is unreachable). `features(prices)` adds panels of
its own; row k of each may use bars up to k only. An exception is reported with this file's line and the
cycle holds (no new orders) instead of stopping the run.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from papertrader import Decision, FeatureView, PriceArrays


class {cls}:
    """Long 1/N of a symbol whose close sits `entry` standard deviations below its `window`-bar mean; flat
    otherwise. No parameter is fitted to any data."""

    def __init__(self, symbols: Sequence[str], window: int = 20, entry: float = 1.0) -> None:
        if window < 2 or entry <= 0:
            raise ValueError("window must be at least 2 bars and entry positive")
        self.symbols = tuple(symbols)
        self.window = window
        self.entry = entry
        self.name = f"{module}_{{window}}"  # shown in reports and events
        self.zscore = f"{module}_zscore_{{window}}"

    def features(self, prices: PriceArrays) -> dict[str, np.ndarray]:
        """The close's z-score against its trailing mean; rolling windows end at each row, so row k reads bars <= k."""
        close = pd.DataFrame(prices.close)  # (bars, symbols); NaN where a symbol has no bar
        mean = close.rolling(self.window).mean()
        std = close.rolling(self.window).std()
        return {{self.zscore: ((close - mean) / std).to_numpy()}}

    def required_features(self) -> tuple[str, ...]:
        """The panels decide() reads: built-in ("close", "sma_20", "rsi_14", ...) or from features()."""
        return ("close", self.zscore)

    def decide(self, ts: datetime, view: FeatureView) -> Decision:
        """Target weights for every symbol from what is known at this bar's close."""
        z = view.now(self.zscore)
        ready = np.isfinite(z)
        cheap = ready & (z < -self.entry)
        weights = np.where(cheap, 1.0 / len(self.symbols), 0.0)
        confidence = np.where(ready, np.minimum(np.abs(np.nan_to_num(z)) / (2 * self.entry), 1.0), 0.0)

        def explain(i: int) -> str:  # asked only for the symbols whose target changed
            if not ready[i]:
                return f"warming up: the z-score needs {{self.window}} bars"
            return f"z-score {{z[i]:+.2f}} {{'<' if cheap[i] else '>='}} -{{self.entry}}"

        return Decision(weights=weights, confidence=confidence, explain=explain)
'''


def class_name(module: str) -> str:
    """CamelCase class name for a snake_case module name (mean_reversion -> MeanReversion)."""
    return "".join(part[:1].upper() + part[1:] for part in module.split("_") if part) or "Strategy"


def check_module_name(name: str) -> str | None:
    """Why `name` cannot be a strategy module (None when it can): it must import as itself, not as another."""
    if not name.isidentifier() or keyword.iskeyword(name):
        return f"{name!r} is not a Python module name (letters, digits and _; e.g. mean_reversion)"
    if name in sys.stdlib_module_names or name.split("_")[0] in ("papertrader",) or name in ("numpy", "pandas"):
        return f"{name!r} would shadow the module of that name; choose another"
    return None


def render_template(module: str) -> str:
    """The template's source for a module name."""
    return TEMPLATE.format(module=module, cls=class_name(module))


app = typer.Typer()


@app.command("new-strategy")
def new_strategy(
    name: Annotated[str, typer.Argument(help="module name of the new strategy (e.g. mean_reversion)")],
    directory: Annotated[Path, typer.Option("--dir", help="folder to write NAME.py into")] = Path("."),
    force: Annotated[bool, typer.Option(help="overwrite NAME.py if it exists")] = False,
) -> None:
    """Write a working strategy template NAME.py that `papertrader backtest --strategy NAME:Class` runs."""
    problem = check_module_name(name)
    if problem is not None:
        console.print(f"[red]error:[/red] {problem}")
        raise typer.Exit(EXIT_ERROR)
    path = directory / f"{name}.py"
    if path.exists() and not force:
        console.print(f"[red]error:[/red] {path} exists; pass --force to overwrite it")
        raise typer.Exit(EXIT_ERROR)
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(render_template(name), encoding="utf-8")
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    console.print(f"wrote {path}\nrun it: {where}papertrader backtest --strategy {name}:{class_name(name)}")
