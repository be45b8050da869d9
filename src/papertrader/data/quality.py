"""Bar quality rules: split a frame into valid rows and quarantined rows with a reason, never dropping one.

The rules run in a fixed order and a row with several problems gets the first reason that applies:

1. ``missing value``: NaN/None/NaT in symbol, ts, open, high, low, close or volume (a non-numeric
   price counts as missing);
2. ``non-positive or non-finite price``: any of OHLC <= 0 or infinite;
3. ``high < low``;
4. ``high/low do not bound open/close``: high below max(open, close) or low above min(open, close);
5. ``negative volume``;
6. ``non-finite volume``: +inf volume;
7. ``duplicate timestamp``: among rows passing 1-6, a later row with the same (symbol, ts) as an earlier one;
   the first occurrence is kept;
8. ``out-of-order timestamp``: among the remaining rows, per symbol and in input order, a row whose ts is
   earlier than the latest ts already accepted for that symbol (a feed that jumped back in time).

Only rows that pass the value rules (1-6) take part in the duplicate and ordering checks, so a bad first
copy of a bar never pushes out a good later copy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.schema import BAR_COLUMNS, PRICE_COLUMNS, VALUE_COLUMNS, require_columns

log = logging.getLogger(__name__)

REASON_MISSING: Final = "missing value"
REASON_PRICE: Final = "non-positive or non-finite price"
REASON_HIGH_LOW: Final = "high < low"
REASON_BOUNDS: Final = "high/low do not bound open/close"
REASON_NEGATIVE_VOLUME: Final = "negative volume"
REASON_INFINITE_VOLUME: Final = "non-finite volume"
REASON_DUPLICATE: Final = "duplicate timestamp"
REASON_OUT_OF_ORDER: Final = "out-of-order timestamp"

#: Every reason, in the order the rules are applied.
REASONS: Final = (
    REASON_MISSING,
    REASON_PRICE,
    REASON_HIGH_LOW,
    REASON_BOUNDS,
    REASON_NEGATIVE_VOLUME,
    REASON_INFINITE_VOLUME,
    REASON_DUPLICATE,
    REASON_OUT_OF_ORDER,
)


@dataclass(frozen=True)
class QualityResult:
    """The outcome of validation: rows safe to store, and rows set aside with the reason why."""

    valid: pd.DataFrame
    quarantined: pd.DataFrame

    def reason_counts(self) -> dict[str, int]:
        """How many rows each rule caught, for logs and reports."""
        if self.quarantined.empty:
            return {}
        counts = self.quarantined["reason"].value_counts()
        return {str(k): int(v) for k, v in counts.items()}


def _normalise(df: pd.DataFrame) -> pd.DataFrame:
    """Copy with a clean index, float64 values and a datetime ts (UTC if it was tz-aware)."""
    work = df.reset_index(drop=True).copy()
    ts = work["ts"]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        if ts.isna().all():
            ts = pd.to_datetime(ts, utc=True)
        else:
            raise DataError(
                f"column ts has dtype {ts.dtype}; parse it to timezone-aware datetimes (UTC) before validating"
            )
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
    work["ts"] = ts
    for col in VALUE_COLUMNS:
        work[col] = pd.to_numeric(work[col], errors="coerce").astype("float64")
    return work


def validate_bars(df: pd.DataFrame) -> QualityResult:
    """Apply the quality rules so bad vendor rows are kept for inspection but never reach a backtest."""
    require_columns(df, BAR_COLUMNS)
    work = _normalise(df)
    n = len(work)

    symbol = work["symbol"]
    symbol_missing = symbol.isna().to_numpy() | (symbol.astype(str).str.strip() == "").to_numpy()
    missing = symbol_missing | work[["ts", *VALUE_COLUMNS]].isna().any(axis=1).to_numpy()

    prices = work[list(PRICE_COLUMNS)].to_numpy(dtype="float64")
    o, h, lo, c = prices.T
    vol = work["volume"].to_numpy(dtype="float64")
    with np.errstate(invalid="ignore"):
        bad_price = (~np.isfinite(prices)).any(axis=1) | (prices <= 0).any(axis=1)
        high_below_low = h < lo
        not_bounded = (h < np.maximum(o, c)) | (lo > np.minimum(o, c))
        negative_volume = vol < 0
        infinite_volume = ~np.isfinite(vol)

    reason = np.select(
        [missing, bad_price, high_below_low, not_bounded, negative_volume, infinite_volume],
        list(REASONS[:6]),
        default="",
    ).astype(object)

    # Duplicate and ordering rules only see rows whose values passed.
    value_ok = reason == ""
    candidates = work.loc[value_ok, ["symbol", "ts"]]
    duplicate = candidates.duplicated(subset=["symbol", "ts"], keep="first")
    reason[candidates.index[duplicate.to_numpy()]] = REASON_DUPLICATE

    ordered = candidates.loc[~duplicate.to_numpy()]
    latest_before = ordered.groupby("symbol", sort=False)["ts"].cummax().groupby(ordered["symbol"]).shift(1)
    out_of_order = (ordered["ts"] < latest_before).to_numpy()
    reason[ordered.index[out_of_order]] = REASON_OUT_OF_ORDER

    ok = reason == ""
    valid = (
        work.loc[ok].sort_values(["symbol", "ts"], kind="mergesort").reset_index(drop=True).astype({"symbol": object})
    )
    quarantined = work.loc[~ok].assign(reason=reason[~ok].astype(str)).reset_index(drop=True)
    if len(quarantined):
        log.debug("quality rules quarantined %d of %d rows", len(quarantined), n)
    return QualityResult(valid=valid, quarantined=quarantined)
