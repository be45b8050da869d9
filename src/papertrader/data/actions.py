"""Corporate actions (splits and cash dividends) and the adjustment factors they explain.

The lake keeps RAW (as-traded) prices plus ``adj_factor`` (adjusted = raw × adj_factor, see data/store.py).
A factor is a running product of per-event steps: at a split of ``r`` new shares per old, the factor of every
earlier bar is divided by ``r``; at a cash dividend ``d`` going ex after a close ``c``, it is multiplied by
``1 - d / c`` (the CRSP/Yahoo convention). This module turns either side into the other:

* ``infer_actions``: the splits and dividends behind the steps of a stored factor (sources that ship only a
  factor or an adjusted close, e.g. the bundled bokeh prices). A step is a split when it is within 0.5% of a
  simple fraction p/q (q <= 10) at least 1.19 (or at most 0.84, a reverse split) AND the raw close moved by
  about the same ratio that day; the rest of the step (or a small step) is a dividend worth
  ``previous raw close × (1 - 1/step)``, rounded to 1/100 cent. Steps under 1e-5 are float noise (or
  under 20x the median step, for a vendor factor that wobbles with the rounding of its adjusted close).
* ``factor_file_actions``: QuantConnect Lean factor files (``date,price_factor,split_factor,reference_price``,
  each row's factors applying to bars up to its date) into the factor of each bar and the actions.

The engine (engine/panel.py) fills, charges and sizes at raw prices and applies these actions to positions
on their ex-dates; signals keep reading adjusted, continuous series.
"""

from __future__ import annotations

import logging
from typing import Final

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.schema import ACTION_COLUMNS, DAILY_TZ, UTC_NS, daily_stamp, empty_actions, require_columns

log = logging.getLogger(__name__)

#: Relative factor steps smaller than this are float noise, not events.
STEP_NOISE: Final = 1e-5
#: A step must be at least this far from 1 (either way) to be read as a split.
SPLIT_MIN: Final = 1.19
#: Largest relative distance between a step and a simple fraction still read as that split.
SPLIT_TOLERANCE: Final = 0.005
#: Largest denominator of a split ratio (3:2, 5:4, 7:1, 1:10 ...).
MAX_DENOMINATOR: Final = 10


def clean_actions(df: pd.DataFrame) -> pd.DataFrame:
    """Actions in the stored columns and dtypes; rows that are no action are dropped, bad ones refused."""
    require_columns(df, ("symbol", "ts"), what="corporate actions")
    if df.empty:
        return empty_actions()
    ts = df["ts"]
    if not (pd.api.types.is_datetime64_any_dtype(ts) and getattr(ts.dt, "tz", None)):
        raise DataError(f"corporate action ts must be timezone-aware datetimes (got {ts.dtype})")
    ratio = pd.to_numeric(df["split_ratio"], errors="coerce") if "split_ratio" in df else pd.Series(1.0, index=df.index)
    dividend = pd.to_numeric(df["dividend"], errors="coerce") if "dividend" in df else pd.Series(0.0, index=df.index)
    ratio, dividend = ratio.fillna(1.0).astype("float64"), dividend.fillna(0.0).astype("float64")
    bad = ~np.isfinite(ratio) | (ratio <= 0) | ~np.isfinite(dividend) | (dividend < 0) | ts.isna()
    bad |= df["symbol"].isna() | (df["symbol"].astype(str).str.strip() == "")
    if bool(bad.any()):
        first = df.loc[bad].iloc[0].to_dict()
        raise DataError(
            f"{int(bad.sum())} invalid corporate action row(s), e.g. {first}: need a positive split ratio, "
            "a non-negative dividend, a symbol and an ex-date"
        )
    out = pd.DataFrame(
        {
            "symbol": df["symbol"].astype(str),
            "ts": ts.dt.tz_convert("UTC").astype(UTC_NS),
            "split_ratio": ratio,
            "dividend": dividend,
        }
    )
    out = out.loc[(out["split_ratio"] != 1.0) | (out["dividend"] != 0.0)]
    if out.duplicated(["symbol", "ts"]).any():
        raise DataError("corporate actions repeat a (symbol, ex-date); give one row per ex-date")
    return out.sort_values(["symbol", "ts"], kind="mergesort").reset_index(drop=True).loc[:, list(ACTION_COLUMNS)]


def simple_ratio(step: float) -> float | None:
    """The split ratio p/q (q <= 10) a factor step stands for, or None when it is no plausible split."""
    if not np.isfinite(step) or step <= 0 or 1.0 / SPLIT_MIN < step < SPLIT_MIN:
        return None
    best: tuple[float, float] | None = None
    for q in range(1, MAX_DENOMINATOR + 1):
        p = round(step * q)
        if p < 1:
            continue
        err = abs(p / q - step) / step
        if best is None or err < best[0] - 1e-12:
            best = (err, p / q)
    if best is None or best[0] > SPLIT_TOLERANCE:
        return None
    return best[1]


def step_noise(factor: np.ndarray) -> float:
    """The smallest factor step read as an event: 1e-5, or 20x the median step when the factor wobbles
    every day (a vendor's adjusted close rounded to 1/100 cent, as Alpha Vantage's, is noisy; real
    events happen a few times a year, so the median step of a clean factor is exactly 1)."""
    good = factor[np.isfinite(factor) & (factor > 0)]
    if good.size < 20:
        return STEP_NOISE
    steps = np.abs(good[1:] / good[:-1] - 1.0)
    return max(STEP_NOISE, 20.0 * float(np.median(steps)))


def infer_actions(bars: pd.DataFrame) -> pd.DataFrame:
    """Splits and dividends behind the steps of each symbol's ``adj_factor`` (raw bars, one interval).

    A step is read at the first bar of the session where the factor changes (its ex-date). Bars with an
    unknown factor (NaN) break the chain: no step is read across them.
    """
    require_columns(bars, ("symbol", "ts", "close", "adj_factor"))
    rows: list[dict[str, object]] = []
    for symbol, one in bars.sort_values(["symbol", "ts"], kind="mergesort").groupby("symbol", sort=True):
        factor = one["adj_factor"].to_numpy(dtype="float64")
        close = one["close"].to_numpy(dtype="float64")
        ts = pd.DatetimeIndex(one["ts"])
        noise = step_noise(factor)
        with np.errstate(divide="ignore", invalid="ignore"):
            steps = factor[1:] / factor[:-1]
        usable = np.isfinite(steps) & (factor[1:] > 0) & (factor[:-1] > 0) & (np.abs(steps - 1.0) >= noise)
        for t in (int(i) + 1 for i in np.flatnonzero(usable)):  # only the bars where the factor moved
            step = float(steps[t - 1])
            ratio = simple_ratio(step)
            jump = close[t - 1] / close[t] if close[t] > 0 else np.nan
            if ratio is not None and not (np.isfinite(jump) and ratio / 1.6 < jump < ratio * 1.6):
                log.warning(
                    "%s %s: factor step %.6g looks like a %g split but the raw close moved %.4g; read as a dividend",
                    symbol,
                    ts[t].date(),
                    step,
                    ratio,
                    jump,
                )
                ratio = None
            split = ratio or 1.0
            rest = step / split
            dividend = 0.0
            if rest > 1.0 + noise:
                dividend = round(float(close[t - 1]) / split * (1.0 - 1.0 / rest), 4)
            elif rest < 1.0 - noise:
                log.warning(
                    "%s %s: factor fell by %.6g, which no split or dividend explains; ignored",
                    symbol,
                    ts[t].date(),
                    rest,
                )
            if split != 1.0 or dividend > 0:
                rows.append({"symbol": str(symbol), "ts": ts[t], "split_ratio": split, "dividend": dividend})
    if not rows:
        return empty_actions()
    return clean_actions(pd.DataFrame(rows))


def factor_file_actions(symbol: str, factors: pd.DataFrame, bars_ts: pd.Series) -> tuple[pd.Series, pd.DataFrame]:
    """A Lean factor file as (adj_factor of each bar in ``bars_ts``, the splits and dividends it records).

    Each row's ``price_factor × split_factor`` applies to bars on or before its date (and after the row
    before); the action takes effect on the first bar after a row's date. Actions before the first bar are
    left out (the raw prints already show them) and so are those after the last bar.
    """
    require_columns(factors, ("date", "price_factor", "split_factor", "reference_price"), what="factor file")
    table = factors.copy()
    table["date"] = pd.to_datetime(table["date"].astype(str), format="%Y%m%d")
    table = table.sort_values("date").reset_index(drop=True)
    price = table["price_factor"].to_numpy(dtype="float64")
    split = table["split_factor"].to_numpy(dtype="float64")
    if not (np.isfinite(price).all() and np.isfinite(split).all() and (price > 0).all() and (split > 0).all()):
        raise DataError(f"{symbol}: factor file has non-positive or missing factors")
    days = pd.to_datetime(bars_ts).dt.tz_convert(DAILY_TZ).dt.tz_localize(None).dt.normalize()
    row = np.searchsorted(table["date"].to_numpy(), days.to_numpy(), side="left")
    inside = row < len(table)
    factor = np.where(inside, (price * split)[np.clip(row, 0, len(table) - 1)], 1.0)
    rows: list[dict[str, object]] = []
    day_values = days.to_numpy()
    dates = table["date"].to_numpy()
    for i in range(len(table) - 1):
        later = np.flatnonzero(day_values > dates[i])
        if later.size == 0:
            break
        if not bool((day_values <= dates[i]).any()):
            continue  # went ex before the first bar: already in the raw prices
        ratio = split[i + 1] / split[i]
        ratio = (simple_ratio(ratio) or ratio) if abs(ratio - 1.0) > STEP_NOISE else 1.0
        step = price[i + 1] / price[i]
        reference = float(table["reference_price"].iloc[i])
        dividend = round(reference / ratio * (1.0 - 1.0 / step), 4) if step > 1.0 + STEP_NOISE else 0.0
        if ratio != 1.0 or dividend > 0:
            stamp = daily_stamp(pd.Series([days.iloc[int(later[0])]])).iloc[0]
            rows.append({"symbol": symbol, "ts": stamp, "split_ratio": ratio, "dividend": dividend})
    if not rows:
        return pd.Series(factor, index=bars_ts.index, dtype="float64"), empty_actions()
    # two factor rows with no bar between them (a gap in the bars) take effect on the same first bar: one action
    merged = (
        pd.DataFrame(rows)
        .groupby(["symbol", "ts"], as_index=False, sort=True)
        .agg(split_ratio=("split_ratio", "prod"), dividend=("dividend", "sum"))
    )
    return pd.Series(factor, index=bars_ts.index, dtype="float64"), clean_actions(merged)


def factor_from_actions(bars: pd.DataFrame, actions: pd.DataFrame) -> pd.Series:
    """The ``adj_factor`` of each raw bar that a list of splits and dividends implies (1.0 after the last).

    For an action on ex-date e (first bar k at or after e), every earlier bar's factor is multiplied by
    ``1/r × (1 - d·r / c)``: r the split ratio, d the dividend per post-split share, c the raw close of the
    bar before k. Bars of several symbols are handled per symbol; the result is aligned with ``bars``.
    """
    require_columns(bars, ("symbol", "ts", "close"))
    factor = pd.Series(1.0, index=bars.index, dtype="float64")
    if actions.empty:
        return factor
    for symbol, one in bars.groupby("symbol", sort=False):
        one = one.sort_values("ts", kind="mergesort")
        stamps = pd.DatetimeIndex(one["ts"]).asi8
        close = one["close"].to_numpy(dtype="float64")
        values = np.ones(len(one), dtype="float64")
        mine = actions.loc[actions["symbol"] == symbol]
        ex_dates = pd.DatetimeIndex(mine["ts"]).asi8
        ratios = mine["split_ratio"].to_numpy(dtype="float64")
        cash = mine["dividend"].to_numpy(dtype="float64")
        for at, ratio, dividend in zip(ex_dates, ratios, cash, strict=True):
            k = int(np.searchsorted(stamps, at, side="left"))
            if k == 0:  # before the first bar: already in the raw prints
                continue
            step = 1.0 / float(ratio)
            if dividend > 0:
                before = close[k - 1]
                if not (np.isfinite(before) and before > dividend * ratio):
                    day = pd.Timestamp(int(at), tz="UTC").date()
                    raise DataError(f"{symbol}: dividend {dividend} on {day} is not below the close before it")
                step *= 1.0 - float(dividend * ratio / before)
            values[:k] *= step
        factor.loc[one.index] = values
    return factor
