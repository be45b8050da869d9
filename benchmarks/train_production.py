"""Production training, measured: wall time and samples/s per family, beside the CI-sized models, same run.

`papertrader train all` at production sizes (LSTM 2x128 over 40 bars, GRU 2x64 over 24 weekly bars, PPO 50k
steps with a 64-64 policy, the cross-sectional LightGBM) pooled over every symbol of the bundled data, on bars
before `--until`, each early-stopped on its validation rows, then the same with `--small`. The issue's
budget is 20 minutes for all families on 2 cores; the table says how far inside (or outside) it a run is,
and each family's quality-gate verdict (a fast model that learned nothing is not a success).

Run: `.venv/bin/python benchmarks/train_production.py [--until 2008-01-01] [--json FILE]`. Uses a temporary
PAPERTRADER_HOME with the bundled data (no ../shared needed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).parent
RESULTS = HERE / "results"
KINDS = ("lstm", "gru", "ppo", "lgbm")
BUDGET_S = 20 * 60


def measure(until: str, small: bool, home: Path, models: Path) -> dict[str, Any]:
    """Train every family once at one size; wall seconds, training samples/s and the gate of each."""
    from papertrader.cli.models import training_families
    from papertrader.config.settings import Settings
    from papertrader.models.gate import gate_of
    from papertrader.models.lake import bars_before, load_training_data
    from papertrader.models.registry import Registry
    from papertrader.models.training import TrainOptions, train_and_register

    settings = Settings(home=home)
    bars, external = load_training_data(settings, "1d", ())
    bars = bars_before(bars, until)
    families = training_families(external, tuple(sorted(bars["symbol"].unique())), None)
    registry = Registry(models)  # one registry per size, the same lake
    out: dict[str, Any] = {"families_used": list(families), "symbols": sorted(bars["symbol"].unique())}
    runs: dict[str, Any] = {}
    for kind in KINDS:
        options = TrainOptions(kind=kind, small=small, macro_series=tuple(external.macro))  # type: ignore[arg-type]
        started = time.perf_counter()
        outcome = train_and_register(bars, options, registry, settings.costs, external)
        wall = time.perf_counter() - started
        gate = gate_of(outcome.metrics)
        runs[kind] = {
            "wall_s": wall,
            "fit_s": outcome.seconds,
            "samples_per_s": outcome.samples_per_second,
            "epochs": outcome.metrics.get("fit", {}).get("epochs_run"),
            "gate_passed": None if gate is None else gate.passed,
            "gate_reason": None if gate is None else gate.reason,
        }
    out["runs"] = runs
    out["total_wall_s"] = sum(r["wall_s"] for r in runs.values())
    return out


def main(argv: list[str]) -> int:
    """Both sizes in one run, one table, JSON under benchmarks/results/."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--until", default="2008-01-01", help="train on bars before this date (ISO)")
    parser.add_argument("--json", type=Path, default=RESULTS / "train_production.json")
    args = parser.parse_args(argv)
    console = Console()
    results: dict[str, Any] = {
        "until": args.until,
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(),
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["PAPERTRADER_HOME"] = str(home)
        from papertrader.config.settings import Settings
        from papertrader.data.adapters.bundled import import_bundled
        from papertrader.data.store import Lake

        import_bundled(Lake(Settings(home=home).lake_dir))
        for label, small in (("production", False), ("small", True)):
            console.print(f"training every family at {label} size on bars before {args.until} ...")
            results[label] = measure(args.until, small, home, home / label)
    table = Table(title=f"papertrader train all: production vs CI-sized models, bundled data before {args.until}")
    for col in ("family", "production wall s", "samples/s", "epochs", "gate", "small wall s"):
        table.add_column(col)
    prod, small = results["production"]["runs"], results["small"]["runs"]
    for kind in KINDS:
        p = prod[kind]
        gate = "no record" if p["gate_passed"] is None else ("passed" if p["gate_passed"] else "left out")
        table.add_row(
            kind,
            f"{p['wall_s']:.1f}",
            f"{p['samples_per_s']:,.0f}",
            str(p["epochs"] or "-"),
            f"{gate}: {p['gate_reason']}",
            f"{small[kind]['wall_s']:.1f}",
        )
    total = results["production"]["total_wall_s"]
    table.add_row(
        "all",
        f"{total:.1f}",
        "",
        "",
        f"budget {BUDGET_S} s: {'inside' if total <= BUDGET_S else 'OVER'}",
        f"{results['small']['total_wall_s']:.1f}",
    )
    console.print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(results, indent=2))
    console.print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
