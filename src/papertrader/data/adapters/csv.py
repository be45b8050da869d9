"""Import a user's bars file (CSV, optionally gzipped, or Parquet) into the lake, with explicit timezones.

Columns are matched by name, case-insensitively, with common aliases (``timestamp``/``date``/``datetime``/
``time``, ``o``/``h``/``l``/``c``, ``vol``/``v``, ``ticker``); ``adj close`` is never taken for ``close``.
An explicit ``columns`` mapping ``{our_name: their_name}`` overrides the guess.

Timestamps:

* values with a UTC offset (``1998-01-02T09:00:00-0500``, ``...Z``) are converted to UTC;
* naive values need ``tz`` (the CLI's ``--tz``) and are localized to it; without it the import is refused,
  because guessing a timezone silently shifts every bar;
* for interval ``1d`` every value is reduced to its session date (in ``tz``, default America/New_York)
  and stamped at midnight of that date in ``tz``, converted to UTC: the daily convention. Date-only values
  (``1998-01-02``) therefore need no ``tz``.

Symbols (a ``symbol`` column or ``--symbol``) are upper-cased and must follow ``data.symbols``' rule; one
bad symbol refuses the whole file before anything is written, and a write that fails part-way is undone, so
a multi-symbol import is all or nothing.

Corporate actions (daily files only): an optional ``split_ratio`` column (aliases ``split coefficient``,
``split_coefficient``: new shares per old share on the ex-date row, 1 or empty when none) and/or
``dividend`` (``dividend amount``, ``dividend_amount``: cash per share going ex that day, in the prices of
the file, 0 or empty when none) mark the prices as RAW prints: the import stores the actions and an
``adj_factor`` derived from them (data/actions.py), so signals read a continuous history while the engine
fills at the prices in the file and splits positions on the ex-dates.

Rows that cannot be parsed (bad numbers, bad dates, DST gaps) become missing values and are quarantined by
the lake's quality rules, never raised. A file whose rows run newest-first (as some vendors export) is put
oldest-first per symbol before validation, so the ordering rule does not quarantine the whole file.
"""

from __future__ import annotations

import logging
import re
import zlib
import zoneinfo
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from papertrader.core.errors import DataError
from papertrader.data.actions import clean_actions, factor_from_actions
from papertrader.data.deltas import parse_delta
from papertrader.data.schema import BAR_COLUMNS, DAILY_TZ, UTC_NS, daily_stamp, normalize_interval
from papertrader.data.store import Lake, WriteReport
from papertrader.data.symbols import check_symbols

log = logging.getLogger(__name__)

#: Our column name -> accepted header names (lower case), in order of preference.
ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "symbol": ("symbol", "ticker"),
    "ts": ("ts", "timestamp", "datetime", "date", "time"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c"),
    "volume": ("volume", "vol", "v"),
}
_REQUIRED: Final = ("ts", "open", "high", "low", "close", "volume")
#: Optional corporate-action columns -> accepted header names (lower case).
ACTION_ALIASES: Final[Mapping[str, tuple[str, ...]]] = {
    "split_ratio": ("split_ratio", "split ratio", "split_coefficient", "split coefficient"),
    "dividend": ("dividend", "dividend_amount", "dividend amount"),
}
_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def _check_tz(tz: str | None) -> str | None:
    if tz is None:
        return None
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise DataError(f"unknown timezone {tz!r}; pass an IANA name such as America/New_York") from exc
    return tz


def _read_raw(path: Path) -> pd.DataFrame:
    """Load the file as text columns (CSV) or typed columns (Parquet), or say why it cannot be read."""
    if not path.is_file():
        raise DataError(f"file not found: {path}; check the path")
    name = path.name.lower()
    try:
        if name.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        sep = "\t" if name.endswith((".tsv", ".tsv.gz", ".tab")) else ","
        return pd.read_csv(path, sep=sep, dtype=str, compression="infer", skipinitialspace=True)
    except (EOFError, zlib.error) as exc:  # click would print only "Aborted." for an EOFError
        raise DataError(
            f"cannot read {path}: the compressed file is truncated or corrupt ({exc}); download or copy it again"
        ) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path} is empty: expected a header line and at least one row of bars") from exc
    except (OSError, ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataError(f"cannot read {path}: {exc}; expected a CSV (optionally .gz) or Parquet bars file") from exc


def resolve_columns(found: list[str], columns: Mapping[str, str] | None = None) -> dict[str, str]:
    """Map our column names to the file's headers, so users rarely need to rename anything."""
    by_lower = {str(c).strip().lower(): c for c in found}
    out: dict[str, str] = {}
    for ours, theirs in (columns or {}).items():
        if ours not in BAR_COLUMNS:
            raise DataError(f"unknown target column {ours!r} in columns mapping; use {', '.join(BAR_COLUMNS)}")
        if theirs in found:
            out[ours] = theirs
        elif str(theirs).strip().lower() in by_lower:
            out[ours] = by_lower[str(theirs).strip().lower()]
        else:
            raise DataError(f"column {theirs!r} (for {ours}) is not in the file; it has {', '.join(map(str, found))}")
    used = set(out.values())
    for ours, aliases in ALIASES.items():
        if ours in out:
            continue
        for alias in aliases:
            if alias in by_lower and by_lower[alias] not in used:
                out[ours] = by_lower[alias]
                used.add(by_lower[alias])
                break
    missing = [c for c in _REQUIRED if c not in out]
    if missing:
        raise DataError(
            f"cannot find column(s) {', '.join(missing)} in {', '.join(map(str, found))}; "
            "rename them or map them with --column (e.g. --column close=Last, repeatable)"
        )
    return out


def parse_column_options(items: Iterable[str]) -> dict[str, str]:
    """`--column close=Last` options as a columns mapping {our_name: their_name}."""
    out: dict[str, str] = {}
    for item in items:
        ours, sep, theirs = item.partition("=")
        ours, theirs = ours.strip().lower(), theirs.strip()
        if not sep or not ours or not theirs:
            raise DataError(f"--column {item!r}: write OURS=THEIRS, e.g. --column close=Last")
        out[ours] = theirs
    return out


def _is_date_only(values: pd.Series) -> bool:
    """Whether naive parsed values carry no time of day (a daily file written as dates)."""
    present = values.dropna()
    return bool(len(present)) and bool((present == present.dt.normalize()).all())


def _first_present(values: pd.Series) -> object:
    present = values.dropna()
    return present.iloc[0] if len(present) else None


def parse_timestamps(raw: pd.Series, interval: str, tz: str | None) -> pd.Series:
    """Turn a file's timestamp column into bar-start UTC stamps under the lake's conventions."""
    interval = normalize_interval(interval)
    tz = _check_tz(tz)
    n = len(raw)
    raw = raw.reset_index(drop=True)
    aware = pd.Series(pd.NaT, index=raw.index, dtype=UTC_NS)
    naive = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns]")

    if pd.api.types.is_datetime64_any_dtype(raw):
        if getattr(raw.dt, "tz", None) is not None:
            aware = raw.dt.tz_convert("UTC").astype(UTC_NS)
        else:
            naive = raw.astype("datetime64[ns]")
    elif n and isinstance(_first_present(raw), date):
        parsed = pd.to_datetime(raw, errors="coerce", utc=True)
        has_tz = raw.map(lambda v: isinstance(v, datetime) and v.tzinfo is not None).to_numpy()
        aware[has_tz] = parsed[has_tz]
        naive[~has_tz] = parsed[~has_tz].dt.tz_localize(None)
    else:
        text = raw.astype("string").str.strip()
        offset = text.str.contains(_OFFSET, na=False).to_numpy(dtype=bool)
        if offset.any():
            aware[offset] = pd.to_datetime(text[offset], utc=True, format="ISO8601", errors="coerce")
            retry = offset & aware.isna().to_numpy()
            if retry.any():
                aware[retry] = pd.to_datetime(text[retry], utc=True, format="mixed", errors="coerce")
        plain = ~offset & text.notna().to_numpy(dtype=bool)
        if plain.any():
            naive[plain] = pd.to_datetime(text[plain], format="ISO8601", errors="coerce")
            retry = plain & naive.isna().to_numpy()
            if retry.any():
                naive[retry] = pd.to_datetime(text[retry], format="mixed", errors="coerce")

    has_naive = naive.notna().to_numpy()
    daily_tz = tz or DAILY_TZ
    if interval == "1d":
        if has_naive.any() and not _is_date_only(naive) and tz is None:
            raise DataError(
                "daily timestamps have a time of day but no UTC offset; pass --tz (e.g. --tz America/New_York)"
            )
        out = aware.copy()
        if has_naive.any():
            localized = naive.dt.tz_localize(daily_tz, ambiguous="NaT", nonexistent="NaT")
            out[has_naive] = localized[has_naive].dt.tz_convert("UTC")
        return daily_stamp(out, daily_tz)
    if has_naive.any():
        if tz is None:
            raise DataError(
                "timestamps have no UTC offset, so their timezone is unknown; "
                "pass --tz (e.g. --tz America/New_York) to say which timezone they are in"
            )
        localized = naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        aware[has_naive] = localized[has_naive]
    return aware.astype(UTC_NS)


def _oldest_first(frame: pd.DataFrame) -> pd.DataFrame:
    """Reverse each symbol whose rows run strictly newest-first, leaving genuine glitches to the rules."""
    parts = []
    for sym, rows in frame.groupby("symbol", sort=False, dropna=False):
        if len(rows) > 1 and rows["ts"].notna().all() and rows["ts"].is_monotonic_decreasing:
            log.info("%s: file runs newest-first; importing it oldest-first", sym)
            rows = rows.iloc[::-1]
        parts.append(rows)
    return pd.concat(parts, ignore_index=True) if parts else frame


def read_file(
    path: Path,
    *,
    symbol: str | None,
    interval: str,
    tz: str | None,
    columns: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Parse a bars file into a long frame (bad cells become NaN/NaT for the quality rules to catch)."""
    path = Path(path).expanduser()
    interval = normalize_interval(interval)
    raw = _read_raw(path)
    mapping = resolve_columns([str(c) for c in raw.columns], columns)
    if raw.empty:
        raise DataError(f"{path.name} has a header but no rows: nothing to import")
    if symbol is not None:
        symbol = symbol.strip().upper()
        check_symbols([symbol], "--symbol")
    ts_values = raw[mapping["ts"]]
    if mapping["ts"].strip().lower() == "date" and "ts" not in (columns or {}):
        time_col = next((c for c in raw.columns if str(c).strip().lower() == "time"), None)
        if time_col is not None:
            ts_values = raw[mapping["ts"]].astype("string").str.strip() + " " + raw[time_col].astype("string")
    frame = pd.DataFrame({"ts": parse_timestamps(ts_values, interval, tz)})
    for col in ("open", "high", "low", "close", "volume"):
        values = raw[mapping[col]].reset_index(drop=True)
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            values = values.astype("string").str.strip()
        frame[col] = pd.to_numeric(values, errors="coerce").astype("float64")

    by_lower = {str(c).strip().lower(): c for c in raw.columns}
    extra = [ours for ours, aliases in ACTION_ALIASES.items() if any(a in by_lower for a in aliases)]
    if extra and interval != "1d":
        raise DataError(f"{', '.join(extra)} columns need a daily file (--interval 1d): actions go ex per session")
    for ours in extra:
        header = next(by_lower[a] for a in ACTION_ALIASES[ours] if a in by_lower)
        frame[ours] = pd.to_numeric(raw[header].reset_index(drop=True), errors="coerce").astype("float64")

    if "symbol" in mapping:
        symbols = raw[mapping["symbol"]].reset_index(drop=True).astype("string").str.strip().str.upper()
        symbols = symbols.mask(symbols == "")  # a blank cell is a missing symbol: quarantined
        frame.insert(0, "symbol", symbols.astype(object).where(symbols.notna(), None))
        if symbol is not None:
            keep = (frame["symbol"] == symbol).to_numpy()
            if not keep.any():
                present = ", ".join(sorted({str(s) for s in frame["symbol"].dropna()})[:20])
                raise DataError(f"{path.name} has no rows for symbol {symbol!r}; it has {present}")
            frame = frame.loc[keep].reset_index(drop=True)
    elif symbol is None:
        raise DataError(f"{path.name} has no symbol column; pass --symbol to say whose bars these are")
    else:
        frame.insert(0, "symbol", symbol)
    check_symbols([str(s) for s in frame["symbol"].dropna().unique()], path.name)
    frame = frame.loc[:, [*BAR_COLUMNS, *extra]]
    frame["volume"] = frame["volume"].astype(np.float64)
    return _oldest_first(frame)


def import_file(
    lake: Lake,
    path: Path,
    *,
    symbol: str | None,
    interval: str,
    tz: str | None,
    columns: Mapping[str, str] | None = None,
    source: str | None = None,
) -> WriteReport:
    """Import a user's bars file into the lake, all symbols or none; bad rows are quarantined with a reason."""
    path = Path(path).expanduser()
    frame = read_file(path, symbol=symbol, interval=interval, tz=tz, columns=columns)
    tag = source or f"file:{path.name}"
    symbols = sorted({str(s) for s in frame["symbol"].dropna()})
    with all_or_nothing(lake, symbols, interval):
        if "split_ratio" not in frame.columns and "dividend" not in frame.columns:
            return lake.write_bars(frame, interval, tag)
        actions = clean_actions(frame.dropna(subset=["symbol", "ts"]))
        bars = frame.drop(columns=[c for c in ("split_ratio", "dividend") if c in frame.columns])
        bars["adj_factor"] = factor_from_actions(bars, actions)
        report = lake.write_bars(bars, interval, tag)
        lake.write_actions(actions, tag)
        return report


@contextmanager
def all_or_nothing(lake: Lake, symbols: Iterable[str], interval: str) -> Iterator[None]:
    """Undo a partial multi-symbol write: restore each touched partition and drop new quarantine files."""
    iv = normalize_interval(interval)
    saved = {p: (p.read_bytes() if p.is_file() else None) for p in (lake.bars_path(s, iv) for s in symbols)}
    # A partition's live delta files (data/deltas.py) are folded and deleted by a merge: keep them too.
    deltas = {
        d: d.read_bytes() for p in saved if p.parent.is_dir() for d in p.parent.iterdir() if parse_delta(d) is not None
    }
    quarantine = lake.quarantine_dir / iv
    before = set(quarantine.rglob("*.parquet")) if quarantine.is_dir() else set()
    try:
        yield
    except BaseException:
        for partition, content in saved.items():
            if content is None:
                partition.unlink(missing_ok=True)
            else:
                partition.write_bytes(content)
        for delta, content in deltas.items():
            delta.write_bytes(content)
        if quarantine.is_dir():
            for added in set(quarantine.rglob("*.parquet")) - before:
                added.unlink(missing_ok=True)
        log.warning("import failed part-way; restored the %d partition(s) it touched", len(saved))
        raise
