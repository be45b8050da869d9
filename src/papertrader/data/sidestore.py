"""Company fundamentals and scored news in the lake, beside the bars: Parquet per symbol, merged, atomic.

Layout under the lake's root (bars and macro series: see data/store.py)::

    fundamentals/symbol=<SYM>/data.parquet     one row per (report, fiscal_date_ending)
    news/symbol=<SYM>/data.parquet             one row per (published_at, url, title)
    side_quarantine/<table>/<SYM>/<uuid>.parquet   rows set aside, with a reason

Rows keep the vendor's dates: a fundamentals row has ``fiscal_date_ending`` (the period) and
``available_at`` (when it became public: the earnings ``reportedDate`` refined by ``reportTime``, the fetch
time for OVERVIEW, and for statements without a report date the period end plus a conservative filing lag,
see data/collect.py); a news row has ``published_at``. Writes merge with what is stored (a re-fetched
period replaces the stored one: the vendor's latest numbers), skip the file when nothing changed, and replace
it atomically under the lake's write lock, exactly as bars are written. Provenance: ``source``,
``ingested_at`` and ``fetched_at`` (UTC) on every row.

Validation: a row without a symbol, an ``available_at``/``published_at`` or a fiscal period, or (news) with a
sentiment outside [-1, 1] or a relevance outside [0, 1], is quarantined with its reason; fundamentals rows
whose metrics are all missing (a quarter not reported yet) are dropped as empty, not errors.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from papertrader.core.errors import DataError
from papertrader.data.adapters.alphavantage.fundamentals import FUNDAMENTAL_METRICS, empty_fundamentals
from papertrader.data.adapters.alphavantage.news import NEWS_COLUMNS, empty_news
from papertrader.data.schema import UTC_NS, to_utc
from papertrader.data.store import (
    DATA_FILE,
    Lake,
    WriteReport,
    _atomic_write,
    _read_parquet_file,
    _stringify_objects,
    decode_name,
    encode_name,
)

log = logging.getLogger(__name__)

FUNDAMENTALS: Final = "fundamentals"
NEWS: Final = "news"
_PROVENANCE: Final = ("source", "ingested_at", "fetched_at")
_KEYS: Final = {FUNDAMENTALS: ("report", "fiscal_date_ending"), NEWS: ("published_at", "url", "title")}
_TIMES: Final = {FUNDAMENTALS: ("available_at", "fiscal_date_ending"), NEWS: ("published_at",)}


class SideStore:
    """Fundamentals and news tables of one lake, so collectors write and features read the same rows."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake

    def __repr__(self) -> str:
        return f"SideStore({str(self.lake.root)!r})"

    def table_dir(self, table: str) -> Path:
        """Root of one side table (fundamentals or news)."""
        if table not in _KEYS:
            raise DataError(f"unknown side table {table!r}: use {', '.join(_KEYS)}")
        return self.lake.root / table

    def path(self, table: str, symbol: str) -> Path:
        """Where one symbol's rows of a side table live."""
        return self.table_dir(table) / f"symbol={encode_name(symbol)}" / DATA_FILE

    def symbols(self, table: str) -> list[str]:
        """Symbols that have rows in a side table."""
        root = self.table_dir(table)
        if not root.is_dir():
            return []
        return sorted(decode_name(d.name.split("=", 1)[1]) for d in root.glob("symbol=*") if (d / DATA_FILE).is_file())

    # ---------------------------------------------------------------- writing

    def write_fundamentals(self, frame: pd.DataFrame, source: str, *, fetched_at: datetime) -> WriteReport:
        """Validate and merge fundamentals rows (the FundamentalsSource frame) per symbol."""
        return self._write(FUNDAMENTALS, frame, source, fetched_at)

    def write_news(self, frame: pd.DataFrame, source: str, *, fetched_at: datetime) -> WriteReport:
        """Validate and merge scored news rows (the NewsSource frame) per symbol."""
        return self._write(NEWS, frame, source, fetched_at)

    def _write(self, table: str, frame: pd.DataFrame, source: str, fetched_at: datetime) -> WriteReport:
        if frame.empty:
            return WriteReport(0, 0, ())
        stamp = pd.Timestamp(fetched_at)
        if stamp.tzinfo is None:
            raise DataError("fetched_at must be timezone-aware")
        rows = frame.copy()
        for col in _TIMES[table]:
            rows[col] = pd.to_datetime(rows[col], utc=True, errors="coerce").astype(UTC_NS)
        good, bad = _validate(table, rows)
        now = pd.Timestamp(self.lake._clock.now()).tz_convert("UTC")
        good = good.assign(source=source, ingested_at=now, fetched_at=stamp.tz_convert("UTC"))
        written = unchanged = 0
        with self.lake._write_lock():
            for symbol, part in good.groupby("symbol", sort=True):
                w, u = self._merge(table, str(symbol), part)
                written, unchanged = written + w, unchanged + u
            if len(bad):
                self._quarantine(table, bad.assign(source=source, detected_at=now))
        if len(bad):
            log.warning(
                "quarantined %d of %d %s row(s) from %s: %s",
                len(bad),
                len(frame),
                table,
                source,
                bad["reason"].value_counts().to_dict(),
            )
        symbols = tuple(sorted({str(s) for s in good["symbol"]} | {str(s) for s in bad["symbol"].dropna()}))
        return WriteReport(written, len(bad), symbols, unchanged)

    def _merge(self, table: str, symbol: str, rows: pd.DataFrame) -> tuple[int, int]:
        """Merge one symbol's valid rows into its file; returns (written, unchanged)."""
        keys = list(_KEYS[table])
        path = self.path(table, symbol)
        new = rows.drop_duplicates(keys, keep="last").reset_index(drop=True)
        value_cols = [c for c in new.columns if c not in (*keys, *_PROVENANCE)]
        if path.is_file():
            old = _coerce(table, _read_parquet_file(path))
            joined = new.merge(old, on=keys, how="left", suffixes=("", "_old"), indicator=True)
            same = (joined["_merge"] == "both").to_numpy()
            for col in value_cols:
                if f"{col}_old" not in joined.columns:
                    same &= joined[col].isna().to_numpy()
                    continue
                a, b = joined[col], joined[f"{col}_old"]
                same &= ((a == b) | (a.isna() & b.isna())).to_numpy()
            unchanged = int(same.sum())
            if unchanged == len(new):
                return 0, unchanged
            out = pd.concat([old, new.loc[~same]], ignore_index=True).drop_duplicates(keys, keep="last")
        else:
            out, unchanged = new, 0
        out = out.sort_values(keys, kind="mergesort").reset_index(drop=True)
        _atomic_write(_stringify_objects(out, keep=("symbol",)), path)
        return len(new) - unchanged, unchanged

    def _quarantine(self, table: str, bad: pd.DataFrame) -> None:
        """Persist rows the validation set aside, with their reason."""
        keys = bad["symbol"].map(lambda s: "<none>" if pd.isna(s) or not str(s).strip() else str(s))
        for symbol, rows in bad.groupby(keys, sort=True):
            directory = self.lake.root / "side_quarantine" / table / encode_name(str(symbol))
            frame = _stringify_objects(rows.reset_index(drop=True), keep=())
            stored = [_read_parquet_file(f) for f in sorted(directory.glob("*.parquet"))]
            if stored:  # a re-fetch of the same bad rows is not stored twice
                seen = set(_row_keys(pd.concat(stored, ignore_index=True)))
                frame = frame.loc[~_row_keys(frame).isin(seen).to_numpy()]
            if len(frame):
                _atomic_write(frame.reset_index(drop=True), directory / f"{uuid.uuid4().hex}.parquet")

    def quarantined(self, table: str) -> pd.DataFrame:
        """Every quarantined row of a side table with its reason."""
        root = self.lake.root / "side_quarantine" / table
        files = sorted(root.glob("*/*.parquet")) if root.is_dir() else []
        if not files:
            return pd.DataFrame({"symbol": pd.Series([], dtype=object), "reason": pd.Series([], dtype=object)})
        return pd.concat([_read_parquet_file(f) for f in files], ignore_index=True)

    # ---------------------------------------------------------------- reading

    def read_fundamentals(self, symbols: Sequence[str] | None = None) -> pd.DataFrame:
        """Stored fundamentals rows (every metric column), sorted by symbol, available_at, fiscal period."""
        frame = self._read(FUNDAMENTALS, symbols)
        if frame.empty:
            return empty_fundamentals()
        for col in FUNDAMENTAL_METRICS:
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64") if col in frame else np.nan
        return frame.sort_values(["symbol", "available_at", "fiscal_date_ending"], kind="mergesort").reset_index(
            drop=True
        )

    def read_news(self, symbols: Sequence[str] | None = None) -> pd.DataFrame:
        """Stored news rows, sorted by published_at then symbol."""
        frame = self._read(NEWS, symbols)
        if frame.empty:
            return empty_news()
        for col in ("sentiment", "relevance"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype("float64")
        return frame.sort_values(["published_at", "symbol"], kind="mergesort").reset_index(drop=True)

    def _read(self, table: str, symbols: Sequence[str] | None) -> pd.DataFrame:
        wanted = None if symbols is None else set(symbols)
        files = [self.path(table, s) for s in self.symbols(table) if wanted is None or s in wanted]
        frames = [_coerce(table, pq.read_table(f).to_pandas()) for f in files]
        frames = [f for f in frames if not f.empty]
        if not frames:
            return pd.DataFrame()
        return pd.concat(frames, ignore_index=True)


def _row_keys(frame: pd.DataFrame) -> pd.Series:
    """One string per quarantined row: its values and reason, without when or from where it came."""
    cols = sorted(c for c in frame.columns if c not in ("detected_at", "source"))
    return frame[cols].astype(str).agg("|".join, axis=1)


def _coerce(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Stored rows in their in-memory dtypes (UTC times, object strings)."""
    for col in (*_TIMES[table], "ingested_at", "fetched_at"):
        if col in frame.columns:
            frame[col] = to_utc(frame[col])
    frame["symbol"] = frame["symbol"].astype(object)
    return frame


def _validate(table: str, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(valid rows, rows with a `reason`) for a side table; empty fundamentals rows are dropped."""
    reason = pd.Series([None] * len(rows), index=rows.index, dtype=object)

    def flag(mask: pd.Series | np.ndarray, why: str) -> None:
        reason.loc[pd.Series(mask, index=rows.index) & reason.isna()] = why

    symbol = rows["symbol"].map(lambda s: "" if pd.isna(s) else str(s).strip())
    flag(symbol == "", "no symbol")
    for col in _TIMES[table]:
        flag(rows[col].isna(), f"no {col}")
    if table == NEWS:
        for col in NEWS_COLUMNS:
            if col not in rows.columns:
                rows[col] = None
        sent = pd.to_numeric(rows["sentiment"], errors="coerce")
        rel = pd.to_numeric(rows["relevance"], errors="coerce")
        flag(~np.isfinite(sent) | (sent.abs() > 1.0), "sentiment not in [-1, 1]")
        flag(~np.isfinite(rel) | (rel < 0) | (rel > 1.0), "relevance not in [0, 1]")
        rows = rows.loc[:, list(NEWS_COLUMNS)]
    else:
        metrics = [c for c in FUNDAMENTAL_METRICS if c in rows.columns]
        values = rows[metrics].apply(pd.to_numeric, errors="coerce").astype("float64")
        values = values.where(np.isfinite(values.to_numpy()))
        rows = rows.assign(**{c: values[c] for c in metrics})
        empty = values.isna().all(axis=1) & reason.isna()
        rows, reason = rows.loc[~empty], reason.loc[~empty]
    bad = rows.loc[reason.notna()].assign(reason=reason[reason.notna()])
    good = rows.loc[reason.isna()].copy()
    good["symbol"] = good["symbol"].map(str)
    return good.reset_index(drop=True), bad.reset_index(drop=True)
