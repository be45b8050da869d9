"""Undo Yahoo's split adjustment and derive `adj_factor` from the split and dividend events.

Yahoo's chart OHLCV are already split-adjusted to the day of the fetch (NVDA's 2021 prices come divided
by 40: its 4:1 split of 2021 and 10:1 of 2024), and ``adjclose`` is additionally dividend-adjusted. The lake
stores raw (as-traded) prices plus a back-adjustment multiplier, so this module:

* computes, per bar, ``S`` = product of ``denominator/numerator`` over the splits after the bar's session
  and ``D`` = product of ``1 - amount / previous close`` over the dividends going ex after it (the CRSP and
  Yahoo convention), comparing sessions by their date in the exchange's timezone;
* returns raw prices ``yahoo / S`` and raw volume ``yahoo * S``, and ``adj_factor = S * D``, so that
  ``raw * adj_factor`` is the split- and dividend-adjusted price, equal to Yahoo's adjclose up to one
  constant;
* verifies ``D`` against ``adjclose / close`` where the payload has adjclose. When they disagree (a payload
  asked only for splits, say) and the adjclose ratio is a plausible dividend factor (positive, never
  falling over time), Yahoo's own ratio wins; otherwise the events win. Either way a warning is logged and
  the outcome is in ``AdjustmentCheck``.

Prices are exact raw prints only when the events cover every split from the first bar up to the fetch:
the source therefore asks for events through "now" (see source.py). Rows whose open, high, low and close
are all null are dropped and counted; rows with some nulls keep NaN for the lake's quality rules.
"""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import pandas as pd

from papertrader.core.arrays import FloatArray, IntArray
from papertrader.core.errors import DataError
from papertrader.data.adapters.yahoo.parse import ChartPayload, Dividend, Split
from papertrader.data.schema import UTC_NS, daily_stamp

log = logging.getLogger(__name__)

#: Largest relative disagreement between our dividend factor and Yahoo's adjclose/close still accepted.
CHECK_TOLERANCE: Final = 2e-4
#: Day-to-day changes of adjclose/close smaller than this are float32 rounding, not dividends.
STEP_NOISE: Final = 1e-5
_NS_PER_DAY: Final = 86_400_000_000_000


@dataclass(frozen=True)
class AdjustmentCheck:
    """How our dividend factor compared with Yahoo's adjclose, and which one the bars carry."""

    compared: int
    max_rel_error: float
    ok: bool | None
    used: Literal["events", "adjclose"]


@dataclass(frozen=True)
class AdjustedBars:
    """Raw bars with adj_factor, the events behind it, and what was dropped or doubted on the way."""

    bars: pd.DataFrame
    splits: pd.DataFrame
    dividends: pd.DataFrame
    dropped_null: int
    check: AdjustmentCheck


def local_days(ts: IntArray, tz: str) -> IntArray:
    """Session day numbers (days since 1970-01-01 in the exchange's timezone) of epoch seconds."""
    if ts.size == 0:
        return np.array([], dtype=np.int64)
    local = pd.DatetimeIndex(pd.to_datetime(ts, unit="s", utc=True)).tz_convert(zoneinfo.ZoneInfo(tz))
    naive = local.tz_localize(None).normalize()
    return np.asarray(naive.asi8 // _NS_PER_DAY, dtype=np.int64)


def split_multiplier(days: IntArray, splits: Sequence[Split], tz: str) -> FloatArray:
    """Per bar, the product of 1/ratio over splits effective on a later session (1.0 when none)."""
    factor = np.ones(days.shape[0], dtype=np.float64)
    if not splits:
        return factor
    split_days = local_days(np.array([s.ts for s in splits], dtype=np.int64), tz)
    for split, day in zip(splits, split_days, strict=True):
        factor[days < day] /= split.ratio
    return factor


def dividend_multiplier(
    days: IntArray, dividends: Sequence[Dividend], tz: str, ref_days: IntArray, ref_close: FloatArray
) -> FloatArray:
    """Per bar, the product of (1 - amount / close before the ex-date) over later ex-dates."""
    factor = np.ones(days.shape[0], dtype=np.float64)
    if not dividends:
        return factor
    usable = np.isfinite(ref_close) & (ref_close > 0)
    div_days = local_days(np.array([d.ts for d in dividends], dtype=np.int64), tz)
    for dividend, day in zip(dividends, div_days, strict=True):
        affected = days < day
        if not affected.any() or dividend.amount == 0:
            continue
        before = np.flatnonzero(usable & (ref_days < day))
        if before.size == 0:
            log.warning("yahoo: no close before the dividend at %d; its factor is left out", dividend.ts)
            continue
        step = 1.0 - dividend.amount / float(ref_close[before[-1]])
        if not (0.0 < step <= 1.0):
            log.warning("yahoo: dividend at %d is not below the previous close; left out", dividend.ts)
            continue
        factor[affected] *= step
    return factor


def _step_factor(ratio: FloatArray) -> FloatArray:
    """Rebuild a piecewise-constant factor from adjclose/close, ignoring Yahoo's float32 noise between steps."""
    steps = ratio[:-1] / ratio[1:]
    steps = np.where(np.abs(steps - 1.0) > STEP_NOISE, steps, 1.0)
    out = np.ones_like(ratio)
    out[:-1] = np.cumprod(steps[::-1])[::-1]
    return out


def _check_against_adjclose(
    dividend: FloatArray, close: FloatArray, adjclose: FloatArray
) -> tuple[FloatArray, AdjustmentCheck]:
    """Compare the events' dividend factor with adjclose/close; fall back to adjclose when it is sane."""
    mask = np.isfinite(adjclose) & np.isfinite(close) & (close > 0) & (adjclose > 0)
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return dividend, AdjustmentCheck(0, float("nan"), None, "events")
    last = idx[-1]
    ratio = adjclose[idx] / close[idx]
    ratio_n = ratio / ratio[-1]
    ours_n = dividend[idx] / dividend[last]
    err = float(np.max(np.abs(ratio_n / ours_n - 1.0)))
    if err <= CHECK_TOLERANCE:
        return dividend, AdjustmentCheck(int(idx.size), err, True, "events")
    plausible = bool(np.all(np.diff(ratio_n) >= -CHECK_TOLERANCE) and np.all(ratio_n <= 1 + CHECK_TOLERANCE))
    if plausible:
        log.warning("yahoo: dividend events disagree with adjclose by up to %.4g; using adjclose/close", err)
        fixed = dividend.copy()
        fixed[idx] = _step_factor(ratio_n) * dividend[last]
        return fixed, AdjustmentCheck(int(idx.size), err, False, "adjclose")
    log.warning("yahoo: adjclose disagrees with the events by %.4g and is implausible; using events", err)
    return dividend, AdjustmentCheck(int(idx.size), err, False, "events")


def _concat(payloads: Sequence[ChartPayload]) -> tuple[str, dict[str, np.ndarray]]:
    """Join chunk payloads in order, dropping rows a later chunk repeats from an earlier one."""
    tzs = {p.timezone for p in payloads if len(p)}
    if len(tzs) > 1:
        raise DataError(f"Yahoo chunks disagree on the exchange timezone: {sorted(tzs)}")
    tz = tzs.pop() if tzs else "UTC"
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("ts", "open", "high", "low", "close", "volume", "adj")}
    latest: int | None = None
    for p in payloads:
        keep = np.ones(len(p), dtype=bool) if latest is None else p.ts > latest
        adj = p.adjclose if p.adjclose is not None else np.full(len(p), np.nan)
        for key, arr in (
            ("ts", p.ts),
            ("open", p.open),
            ("high", p.high),
            ("low", p.low),
            ("close", p.close),
            ("volume", p.volume),
            ("adj", adj),
        ):
            parts[key].append(arr[keep])
        if len(p):
            top = int(p.ts.max())
            latest = top if latest is None else max(latest, top)
    joined = {k: (np.concatenate(v) if v else np.array([], dtype=np.float64)) for k, v in parts.items()}
    joined["ts"] = joined["ts"].astype(np.int64)
    return tz, joined


def _events(payloads: Sequence[ChartPayload]) -> tuple[tuple[Split, ...], tuple[Dividend, ...]]:
    """The union of every payload's splits and dividends, one per date."""
    splits = {s.ts: s for p in payloads for s in p.splits}
    dividends = {d.ts: d for p in payloads for d in p.dividends}
    return tuple(splits[k] for k in sorted(splits)), tuple(dividends[k] for k in sorted(dividends))


def _event_frames(splits: Sequence[Split], dividends: Sequence[Dividend]) -> tuple[pd.DataFrame, pd.DataFrame]:
    split_ts = pd.to_datetime(np.array([s.ts for s in splits], dtype=np.int64), unit="s", utc=True)
    div_ts = pd.to_datetime(np.array([d.ts for d in dividends], dtype=np.int64), unit="s", utc=True)
    split_frame = pd.DataFrame(
        {
            "ts": pd.Series(split_ts, dtype=UTC_NS),
            "numerator": pd.Series([s.numerator for s in splits], dtype="float64"),
            "denominator": pd.Series([s.denominator for s in splits], dtype="float64"),
        }
    )
    div_frame = pd.DataFrame(
        {
            "ts": pd.Series(div_ts, dtype=UTC_NS),
            "amount": pd.Series([d.amount for d in dividends], dtype="float64"),
        }
    )
    return split_frame, div_frame


def adjust(
    symbol: str,
    interval: str,
    payloads: Sequence[ChartPayload],
    reference: ChartPayload | None = None,
) -> AdjustedBars:
    """Raw bars with adj_factor from chunk payloads; `reference` (daily) supplies later events and closes."""
    tz, cols = _concat(payloads)
    all_payloads = [*payloads, *([reference] if reference is not None else [])]
    splits, dividends = _events(all_payloads)
    null_rows = np.isnan(cols["open"]) & np.isnan(cols["high"]) & np.isnan(cols["low"]) & np.isnan(cols["close"])
    dropped = int(null_rows.sum())
    if dropped:
        log.info("yahoo %s %s: dropped %d null bar(s) (no trade)", symbol, interval, dropped)
        cols = {k: v[~null_rows] for k, v in cols.items()}
    ts: IntArray = cols["ts"].astype(np.int64)
    days = local_days(ts, tz)
    if reference is not None and len(reference):
        ref_days, ref_close = local_days(reference.ts, reference.timezone), reference.close
    else:
        ref_days, ref_close = days, cols["close"]
    s_factor = split_multiplier(days, splits, tz)
    d_factor = dividend_multiplier(days, dividends, tz, ref_days, ref_close)
    d_factor, check = _check_against_adjclose(d_factor, cols["close"], cols["adj"])
    if interval == "1d":
        local = pd.Series(pd.to_datetime(days * _NS_PER_DAY, unit="ns"))
        stamps = daily_stamp(local)
    else:
        stamps = pd.Series(pd.to_datetime(ts, unit="s", utc=True), dtype=UTC_NS)
    bars = pd.DataFrame(
        {
            "symbol": pd.Series([symbol] * len(ts), dtype=object),
            "ts": stamps.reset_index(drop=True).astype(UTC_NS),
            "open": cols["open"] / s_factor,
            "high": cols["high"] / s_factor,
            "low": cols["low"] / s_factor,
            "close": cols["close"] / s_factor,
            "volume": cols["volume"] * s_factor,
            "adj_factor": s_factor * d_factor,
        }
    )
    split_frame, div_frame = _event_frames(splits, dividends)
    return AdjustedBars(bars, split_frame, div_frame, dropped, check)
