"""Per-bar live work before and after streaming, at 500 and at 5,000 rows of history.

Run: `.venv/bin/python benchmarks/live_features.py [--symbols 200] [--bars 20]`. Reads ../shared/data.
Writes benchmarks/results/live_features.json.

The universe: the nine real daily files of shared/data (1998-2021) tiled to `--symbols` columns, each
column one real series scaled by a per-column factor (no two columns equal, every column a real shape).
The board's feature builder: the trend SMAs and the TA-Lib set, an LSTM-style fine pipeline and the GRU's
weekly pipeline (technical, returns, calendar, the real bundled macro series; scalers fitted on the first
300 rows), and the LightGBM member's Alpha158. Fundamentals and news have no real offline data at this
scale and are left out (their streaming states are exercised by tests/integration/engine/test_live_features.py).

Before: what `orchestrator._take_new_bars` did on every bar: `Panel.append` by stacking the whole history,
`FeatureBuilder` over the whole panel, and `Engine.extend`'s equality check over every row already seen.
After: `Panel.append` into spare capacity, `LiveFeatures.extend` (only the new row) and the bounded check.
Each is timed per appended bar (median and max of `--bars` bars) on this machine's CPU, with the values
computed per bar (`cells`, the deterministic counter the tests compare). The recurrent members: the LSTM
(40 steps, 128 hidden, 2 layers) and the weekly GRU (26 steps, 64 hidden) on `--symbols` windows, the full
window against the last step from a prefix state, one pinned thread, untrained seeded weights (cost does not
depend on the weights).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from papertrader.config.settings import Settings
from papertrader.data.adapters.bundled import BundledSource
from papertrader.engine.live_features import LiveFeatures
from papertrader.engine.panel import Panel
from papertrader.engine.strategies import FeatureBuilder, panel_bars, technical_spec
from papertrader.features.inputs import External, FeatureInputs
from papertrader.features.pipeline import FeaturePipeline
from papertrader.models.data import LabelSpec
from papertrader.models.resample import resample_bars
from papertrader.models.sequence import SequenceModel, SequenceSpec, build_network
from papertrader.models.specs import feature_spec
from papertrader.models.trainer import pinned_threads

DAILY = Path(__file__).resolve().parents[2] / "shared" / "data" / "equity-us" / "1d"
OUT = Path(__file__).resolve().parent / "results" / "live_features.json"
REAL = ("SPY", "AAPL", "IBM", "BAC", "AIG")  # the files that start in 1998 (5,849 rows)


def _bars(symbols: int) -> pd.DataFrame:
    frames = []
    for j in range(symbols):
        source = REAL[j % len(REAL)]
        path = DAILY / f"{source}.csv.gz"
        if not path.exists():
            sys.exit(f"shared data not found at {path}")
        df = pd.read_csv(path)
        scale = 1.0 + 0.01 * j
        ts = pd.to_datetime(df["timestamp"]).dt.tz_localize("America/New_York").dt.tz_convert("UTC")
        frame = df.drop(columns=["timestamp", "symbol"], errors="ignore").assign(ts=ts, symbol=f"S{j:03d}")
        for f in ("open", "high", "low", "close"):
            frame[f] = frame[f] * scale
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def _builder(whole: Panel) -> FeatureBuilder:
    macro = dict(BundledSource().series())
    external = External(macro=macro)
    inputs = FeatureInputs(whole.symbols, "1d", whole.ts, whole.prices, external)
    fine = FeaturePipeline(feature_spec(tuple(macro))).fit(inputs, None, whole.ts[300])
    coarse_bars, coarse_interval = resample_bars(panel_bars(whole), "1d")
    coarse = FeatureInputs.from_long(coarse_bars, coarse_interval, external, whole.symbols)
    weekly = FeaturePipeline(feature_spec(tuple(macro), coarse=True)).fit(coarse, None, coarse.ts[60])
    spec = technical_spec(Settings())
    return FeatureBuilder(
        spec, (("lstm", fine), ("gru", weekly)), external, cross_sections=(("lgbm", (5, 10, 20, 30, 60)),)
    )


def _old_append(panel: Panel, bars: pd.DataFrame) -> Panel:
    """Panel.append as it was: the whole history stacked again."""
    wide = bars.pivot(index="ts", columns="symbol", values=["open", "high", "low", "close", "volume"]).sort_index()
    arrays = {}
    for f in ("open", "high", "low", "close", "volume"):
        block = pd.DataFrame(wide[f]).reindex(columns=list(panel.symbols)).to_numpy(dtype=np.float64)
        arrays[f] = np.ascontiguousarray(np.vstack([getattr(panel.prices, f), block]))
    from papertrader.features.technical import PriceArrays

    return Panel(
        panel.interval,
        panel.symbols,
        pd.DatetimeIndex(panel.ts.append(pd.DatetimeIndex(wide.index))),
        PriceArrays(**arrays),
    )


def _per_bar(bars: pd.DataFrame, whole: Panel, builder: FeatureBuilder, history: int, n: int) -> dict[str, Any]:
    stamps = pd.DatetimeIndex(bars["ts"])
    start = Panel.from_long(bars[stamps < whole.ts[history]], "1d", whole.symbols)
    seen = builder(start)
    before: list[float] = []
    panel = start
    for ts in whole.ts[history : history + n]:
        new = bars[stamps == ts]
        t0 = time.perf_counter()
        grown = _old_append(panel, new)
        features = builder(grown)
        for name, old in seen.items():  # Engine.extend's check as it was: every row already seen
            np.array_equal(features[name][: len(panel)], old, equal_nan=True)
        before.append(time.perf_counter() - t0)
        panel, seen = grown, features
    after: list[float] = []
    cells: list[int] = []
    panel = start
    t0 = time.perf_counter()
    live = LiveFeatures(builder, panel, builder(panel))
    warm = time.perf_counter() - t0
    for ts in whole.ts[history : history + n]:
        new = bars[stamps == ts]
        t0 = time.perf_counter()
        panel = panel.append(new)
        features = live.extend(panel)
        for values in features.values():  # the bounded check (Engine.EXTEND_CHECK_ROWS)
            np.array_equal(values[len(panel) - 33 : len(panel) - 1], values[len(panel) - 33 : len(panel) - 1])
        after.append(time.perf_counter() - t0)
        cells.append(live.cells)
    return {
        "history_rows": history,
        "before_ms_p50": 1e3 * statistics.median(before),
        "before_ms_max": 1e3 * max(before),
        "after_ms_p50": 1e3 * statistics.median(after),
        "after_ms_max": 1e3 * max(after),
        "after_cells_per_bar": statistics.median(cells),
        "warm_up_s": warm,
    }


def _recurrent(symbols: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for family, lookback, hidden in (("lstm", 40, 128), ("gru", 26, 64)):
        kind = "direction" if family == "lstm" else "trend"
        spec = SequenceSpec(family, "1d", lookback, hidden, 2, LabelSpec(kind))  # type: ignore[arg-type]
        model = SequenceModel(spec)
        torch.manual_seed(0)
        model.network = build_network(spec, 45)
        model.network.eval()
        model.pipeline = FeaturePipeline().unscaled()
        x = np.random.default_rng(0).normal(size=(symbols, lookback, 45)).astype(np.float32)
        full_t, last_t, equal = [], [], True
        with pinned_threads(1), torch.inference_mode():
            for _ in range(7):
                t0 = time.perf_counter()
                full = model.predict_array(x)
                full_t.append(time.perf_counter() - t0)
                state = model.prefix_state(np.ascontiguousarray(x[:, :-1]))
                t0 = time.perf_counter()
                last = model.predict_last(state, np.ascontiguousarray(x[:, -1:]))
                last_t.append(time.perf_counter() - t0)
                equal = equal and all(np.array_equal(full[k], last[k]) for k in full)
        out[family] = {
            "full_window_ms_p50": 1e3 * statistics.median(full_t[1:]),
            "last_step_ms_p50": 1e3 * statistics.median(last_t[1:]),
            "bit_identical": equal,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--symbols", type=int, default=200)
    parser.add_argument("--bars", type=int, default=20)
    args = parser.parse_args()
    bars = _bars(args.symbols)
    whole = Panel.from_long(bars, "1d", tuple(f"S{j:03d}" for j in range(args.symbols)))
    builder = _builder(whole)
    rows = [_per_bar(bars, whole, builder, h, args.bars) for h in (500, 5000)]
    result = {
        "symbols": args.symbols,
        "bars_timed": args.bars,
        "cpu": "this machine (see the commit message or report for the box)",
        "per_bar": rows,
        "after_cells_ratio_5000_vs_500": rows[1]["after_cells_per_bar"] / rows[0]["after_cells_per_bar"],
        "recurrent": _recurrent(args.symbols),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
