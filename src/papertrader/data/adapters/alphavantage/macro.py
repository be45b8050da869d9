"""Economic and commodity answers (CPI, FEDERAL_FUNDS_RATE, TREASURY_YIELD, UNEMPLOYMENT, NONFARM_PAYROLL,
REAL_GDP, WTI, BRENT) into ``(date, value)`` frames, oldest first.

``date`` is the observation's REFERENCE date at midnight UTC (the project's series convention), not its
release date: a monthly CPI dated the 1st is published weeks later, so consumers must lag it by the
publication delay. The vendor's ``"."`` (missing) becomes NaN. ``frame.attrs`` keeps ``name``,
``interval`` and ``unit`` from the answer.
"""

from __future__ import annotations

from typing import Final

import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.classify import BodyKind, classify_payload, raise_unless_data
from papertrader.data.adapters.alphavantage.csvbody import read_csv_table
from papertrader.data.adapters.alphavantage.wire import (
    nums,
    parse_local_times,
    require_list,
    require_object,
    text,
)
from papertrader.data.schema import UTC_NS

#: The macro and commodity functions this client knows, with the intervals the vendor accepts.
MACRO_FUNCTIONS: Final = {
    "CPI": ("monthly", "semiannual"),
    "FEDERAL_FUNDS_RATE": ("daily", "weekly", "monthly"),
    "TREASURY_YIELD": ("daily", "weekly", "monthly"),
    "UNEMPLOYMENT": (),
    "NONFARM_PAYROLL": (),
    "REAL_GDP": ("quarterly", "annual"),
    "WTI": ("daily", "weekly", "monthly"),
    "BRENT": ("daily", "weekly", "monthly"),
}
TREASURY_MATURITIES: Final = ("3month", "2year", "5year", "7year", "10year", "30year")


def _series_frame(dates: list[object], values: list[object]) -> pd.DataFrame:
    local = parse_local_times(dates)
    date = local.dt.normalize().dt.tz_localize("UTC").astype(UTC_NS) if len(local) else pd.Series([], dtype=UTC_NS)
    frame = pd.DataFrame({"date": date.reset_index(drop=True), "value": nums(values)})
    return frame.sort_values("date", kind="stable", na_position="last").reset_index(drop=True)


def parse_macro(payload: object, function: str = "") -> pd.DataFrame:
    """Parse a macro/commodity answer ``{"name", "interval", "unit", "data": [{"date", "value"}]}``."""
    classified = classify_payload(payload)
    raise_unless_data(classified, f"{function or 'macro'} series")
    body = require_object(payload, "macro answer") if classified.kind is BodyKind.DATA else {}
    rows = [require_object(r, "data point") for r in require_list(body.get("data", []), "data")]
    frame = _series_frame([r.get("date") for r in rows], [r.get("value") for r in rows])
    frame.attrs.update({k: text(body.get(k)) for k in ("name", "interval", "unit")})
    return frame


def parse_macro_csv(body: str, *, partial_ok: bool = False) -> pd.DataFrame:
    """Parse a ``datatype=csv`` macro answer (``timestamp,value``)."""
    table = read_csv_table(body, partial_ok=partial_ok)
    date_col = table.column("timestamp", "date", "time")
    value_col = table.column("value")
    if date_col is None or value_col is None:
        raise DataError(
            f"Alpha Vantage macro CSV needs timestamp and value columns (header: {', '.join(table.header)[:200]})"
        )
    return _series_frame([r[date_col] for r in table.rows], [r[value_col] for r in table.rows])
