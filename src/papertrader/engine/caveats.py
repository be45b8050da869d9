"""Warnings a run's numbers need next to them: too little history to warm up, too short a window to annualise.

Three daily bars make a CAGR of thousands of percent and a Sharpe above 30. The numbers are arithmetically
right and meaningless; the summary and the JSON say so instead of printing them without a word.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

#: Fewer traded bars than this: too few returns for a volatility (and so a Sharpe or Sortino) worth a number.
MIN_BARS_ANNUALISED = 20
#: A shorter calendar span than this: CAGR and the annualised ratios extrapolate a few weeks to a year.
MIN_DAYS_ANNUALISED = 90


def run_caveats(ts: pd.DatetimeIndex, bars_per_symbol: Mapping[str, int], warm_up: int) -> tuple[str, ...]:
    """Plain-language warnings for a run over `ts` whose symbols had `bars_per_symbol` bars (warm-up included)."""
    notes: list[str] = []
    short = sorted(s for s, n in bars_per_symbol.items() if n < warm_up)
    if short:
        counts = ", ".join(f"{s} {bars_per_symbol[s]}" for s in short)
        notes.append(
            f"too little history to warm up: the strategy needs {warm_up} bars of a symbol before it can hold it "
            f"(its {warm_up}-bar average); {counts} bar(s), so it never traded {'it' if len(short) == 1 else 'them'}"
        )
    days = (ts[-1] - ts[0]).total_seconds() / 86_400 if len(ts) else 0.0
    if len(ts) < MIN_BARS_ANNUALISED or days < MIN_DAYS_ANNUALISED:
        notes.append(
            f"too short to annualise: {len(ts)} bar(s) over {days:.0f} day(s); CAGR, volatility, Sharpe and Sortino "
            f"extrapolate it to a year and mean little (at least {MIN_BARS_ANNUALISED} bars over "
            f"{MIN_DAYS_ANNUALISED} days)"
        )
    return tuple(notes)
