"""The market-data lake: Parquet partitions on disk, queried through DuckDB, written atomically.

Layout under ``root``::

    bars/interval=<iv>/symbol=<SYM>/data.parquet     one file per (interval, symbol)
    macro/series=<NAME>/data.parquet                 one file per macro series
    actions/symbol=<SYM>/data.parquet                corporate actions (splits, cash dividends) per symbol
    quarantine/<iv>/<SYM>/<uuid>.parquet             rows the quality rules set aside, with a reason

Directory names are the symbol percent-encoded (``urllib.parse.quote`` keeping ``^``), so ``^GSPC`` and
``SHOP.TO`` are stored as-is while ``BRK/B`` becomes ``BRK%2FB``; DuckDB's hive partitioning decodes them
back. Every Parquet file also carries its own ``symbol`` column, and the lake reads explicit file lists, so
nothing depends on how a reader parses directory names.

Writes merge with what is stored (a new row with the same ts replaces the old one: a vendor correction),
skip the file entirely when nothing changed (so re-importing is a no-op), and replace the file atomically
(temp file in the same directory, fsync, ``os.replace``). Writers serialise on a lock file in the root.
Readers never lock: they see the old file or the new one, never half of one. Each query opens its own
in-memory DuckDB connection and closes it, so no file stays open and no stale metadata is cached.

Live appends (``write_bars(..., append=True)``, the live loop's per-bar write): rows newer than everything a
partition holds go to a small delta file beside ``data.parquet`` (``delta_<first>_<last>_<level>.parquet``,
written atomically the same way), so a bar costs O(new rows), not O(history); see data/deltas.py for the
rules. The symbols of one such write are stored together: one Arrow table sliced per symbol, every delta
written to a temporary file, then one durability barrier (``syncfs`` of the lake's filesystem on Linux, an fsync
per file elsewhere) before any is renamed into place and one after the renames, so a bar of 200 symbols costs
two barriers instead of 400 fsyncs, and each symbol's partition is either as it was or holds the whole new bar
after a crash. Every read (``read_partition``, ``read_bars``, ``read_bars_asof``, ``status``) sees the base and its
live deltas as one partition, and retries when a writer replaced or removed a file it had listed. Any other
write to a partition (a correction, a backfill, an import) merges base and deltas into a new base;
``tidy`` merges small deltas (the live loop calls it after each cycle) and ``compact`` folds them into the
base (the live loop calls it at each session's close).

Adjustment convention: a partition stores RAW (as-traded) OHLCV. When a source knows corporate actions it
also sends ``adj_factor`` (split- and dividend-adjusted price = raw price × adj_factor; adjusted volume =
raw volume ÷ adj_factor), and the partition gains an ``adj_factor`` column; rows without one hold NaN,
which reads as 1.0 (prices used as stored: a source without corporate actions, or a lake imported before
the bundled source stored raw prints with factors). ``read_bars`` and ``read_bars_asof`` return ADJUSTED bars by
default (``adjusted=False`` gives the raw prints). All factors of a partition share one basis (the
latest fetch that carried factors); ``rescale_adj_factor`` moves older rows onto a newer basis when a
later fetch shows a split or dividend happened since (see data/backfill.py).

Corporate actions (``write_actions``/``read_actions``): one row per (symbol, ex-date) with ``split_ratio``
(new shares per old share, 1.0 when none) and ``dividend`` (cash per share in the dollars that traded that
day, 0.0 when none), the facts behind a step of ``adj_factor``. The engine fills at raw prices and applies
them to positions (see data/actions.py and engine/panel.py).

Provenance: every stored row has ``source`` and ``ingested_at`` (when the lake wrote it); a write given
``fetched_at`` (when the vendor answered) stores it too, in a ``fetched_at`` column. Optional columns
appear only once a write supplies them, so older files keep their layout.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import quote, unquote

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from filelock import FileLock

from papertrader.core.clock import Clock, WallClock
from papertrader.core.errors import DataError
from papertrader.core.private import private_dir
from papertrader.data.deltas import (
    FANOUT,
    Delta,
    Partition,
    delta_name,
    merge_group,
    merged_delta,
    parse_delta,
    scan,
)
from papertrader.data.quality import validate_bars
from papertrader.data.schema import (
    ACTION_COLUMNS,
    BAR_COLUMNS,
    LAKE_COLUMNS,
    SERIES_COLUMNS,
    UTC_NS,
    VALUE_COLUMNS,
    empty_actions,
    empty_bars,
    empty_series,
    interval_order,
    normalize_interval,
    require_columns,
    to_utc,
)

log = logging.getLogger(__name__)

DATA_FILE: Final = "data.parquet"
#: Quarantine directory for rows that had no symbol at all.
NO_SYMBOL: Final = "<none>"
_QUARANTINE_KEY: Final = ("symbol", "ts", *VALUE_COLUMNS, "reason", "source")
#: Optional stored column: back-adjustment multiplier (adjusted price = raw price × adj_factor).
ADJ_FACTOR: Final = "adj_factor"
#: Optional stored column: when the vendor answered (UTC), beside the lake's own ``ingested_at``.
FETCHED_AT: Final = "fetched_at"
#: Optional stored columns, in their stored order after LAKE_COLUMNS.
OPTIONAL_COLUMNS: Final = (ADJ_FACTOR, FETCHED_AT)
#: Length of one bar per canonical interval, for as-of reads (a bar is usable once ts + length <= at).
BAR_LENGTH: Final = {
    "1m": pd.Timedelta(minutes=1),
    "5m": pd.Timedelta(minutes=5),
    "15m": pd.Timedelta(minutes=15),
    "30m": pd.Timedelta(minutes=30),
    "1h": pd.Timedelta(hours=1),
    "1d": pd.Timedelta(days=1),
}
#: How often a read starts over when writers replaced or removed a file it had listed.
READ_TRIES: Final = 20
#: Live deltas a partition may hold before an append merges them itself (when no one calls ``tidy``).
MAX_LIVE_DELTAS: Final = 4 * FANOUT

_T = TypeVar("_T")


@dataclass(frozen=True)
class WriteReport:
    """What a write did, so callers can report it and tests can check idempotency.

    ``written``: valid rows inserted or changed (a correction); ``unchanged``: valid rows already stored with
    the same values (not rewritten); ``quarantined``: rows of this input the quality rules set aside (a row
    quarantined before is counted again but stored only once); ``symbols``: symbols seen in the input.
    """

    written: int
    quarantined: int
    symbols: tuple[str, ...]
    unchanged: int = 0


def encode_name(name: str) -> str:
    """Make a symbol or series name safe as one directory name, reversibly (see ``decode_name``)."""
    encoded = quote(name, safe="^")
    if set(encoded) <= {"."}:  # "." and ".." would name this or the parent directory
        encoded = encoded.replace(".", "%2E")
    return encoded


def decode_name(dirname: str) -> str:
    """Recover the symbol or series name from its directory name."""
    return unquote(dirname)


def _utc_bound(value: datetime | str | None, what: str) -> int | None:
    """A query bound as UTC epoch nanoseconds; naive bounds are refused so no one guesses a timezone."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is None:
        raise DataError(f"{what}={value!r} has no timezone; pass a timezone-aware datetime (e.g. UTC)")
    return int(ts.tz_convert("UTC").value)


def _fsync_dir(path: Path) -> None:
    if sys.platform == "win32":  # directories cannot be opened for fsync there
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _arrow(frame: pd.DataFrame | pa.Table) -> pa.Table:
    """A frame as the Arrow table written to disk (a table as it is)."""
    return frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)


def _atomic_write(frame: pd.DataFrame | pa.Table, path: Path) -> None:
    """Write a Parquet file so a reader or a crash sees either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = _arrow(frame)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _syncfs_call() -> Callable[[int], int] | None:
    """libc's syncfs(2) where it exists (Linux, glibc 2.14+), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        call: Callable[[int], int] = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    return call


_SYNCFS: Final = _syncfs_call()


def _sync_all(paths: Sequence[Path]) -> None:
    """Make these files' data, or these directories' entries, durable: one syncfs(2) of their filesystem when
    they all live on one, else an fsync each (what a crash must not lose is the same either way)."""
    if not paths:
        return
    if _SYNCFS is not None and len({os.stat(p).st_dev for p in paths}) == 1:
        fd = os.open(paths[0], os.O_RDONLY)
        try:
            if _SYNCFS(fd) == 0:
                return
        finally:
            os.close(fd)
    for path in paths:
        if path.is_dir():
            _fsync_dir(path)
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write_many(items: Sequence[tuple[pd.DataFrame | pa.Table, Path]]) -> None:
    """Write several Parquet files, each atomically, with one durability barrier per phase instead of two
    fsyncs per file: every temporary file is written and made durable before any is renamed into place, and
    the renames are made durable before returning. A crash leaves each file old or complete, never half."""
    if len(items) == 1:
        _atomic_write(*items[0])
        return
    tmps: list[Path] = []
    try:
        for frame, path in items:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
            tmps.append(tmp)
            pq.write_table(_arrow(frame), tmp)
        _sync_all(tmps)
        for tmp, (_, path) in zip(tmps, items, strict=True):
            os.replace(tmp, path)
    except BaseException:
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
        raise
    _sync_all(sorted({path.parent for _, path in items}))


def _read_parquet_file(path: Path) -> pd.DataFrame:
    """Read one stored file whole; an unreadable file stops the write rather than being overwritten."""
    try:
        frame: pd.DataFrame = pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read lake file {path}: {exc}; restore it or move it aside") from exc
    return frame


def _clean_factor(values: pd.Series) -> pd.Series:
    """Factors as float64 with NaN for unknown: a non-finite or non-positive factor is not a factor."""
    factor = pd.to_numeric(values, errors="coerce").astype("float64")
    bad = ~np.isfinite(factor.to_numpy()) | (factor.to_numpy() <= 0)
    if bool((bad & factor.notna().to_numpy()).any()):
        log.warning("ignored %d non-finite or non-positive adj_factor value(s)", int((bad & factor.notna()).sum()))
    return factor.where(~bad)


def _has_column(paths: Sequence[str], column: str) -> bool:
    """Whether any of the Parquet files has a column (footers only), so queries can name it safely."""
    return any(column in pq.read_schema(p).names for p in paths)


def _stringify_objects(frame: pd.DataFrame, keep: Sequence[str]) -> pd.DataFrame:
    """Turn free-form object columns into strings so arbitrary input columns always fit in Parquet."""
    out = frame.copy()
    for col in out.columns:
        if col not in keep and out[col].dtype == object:
            out[col] = [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in out[col]]
    return out


def _stored_format(frame: pd.DataFrame) -> pd.DataFrame:
    """A partition frame in the stored column order and dtypes (optional columns only when present)."""
    extra = [c for c in OPTIONAL_COLUMNS if c in frame.columns]
    out = frame.loc[:, [*LAKE_COLUMNS, *extra]].astype({"ts": UTC_NS, "ingested_at": UTC_NS})
    if ADJ_FACTOR in out.columns:
        out[ADJ_FACTOR] = out[ADJ_FACTOR].astype("float64")
    if FETCHED_AT in out.columns:
        out[FETCHED_AT] = to_utc(out[FETCHED_AT])
    return out


def _read_stored(path: Path) -> pd.DataFrame:
    """One stored partition file with its times as UTC, as ``read_partition`` returns them."""
    frame = _read_parquet_file(path)
    for col in ("ts", "ingested_at", *([FETCHED_AT] if FETCHED_AT in frame.columns else [])):
        frame[col] = to_utc(frame[col])
    return frame


def _union(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stored frames (a base, then its deltas) as one partition; a column some files lack reads as missing."""
    if len(frames) == 1:
        return frames[0]
    extra = [c for c in OPTIONAL_COLUMNS if any(c in f.columns for f in frames)]
    filled = []
    for frame in frames:
        part = frame.loc[:, [c for c in (*LAKE_COLUMNS, *extra) if c in frame.columns]]
        if ADJ_FACTOR in extra and ADJ_FACTOR not in part.columns:
            part = part.assign(**{ADJ_FACTOR: np.nan})
        if FETCHED_AT in extra and FETCHED_AT not in part.columns:
            part = part.assign(**{FETCHED_AT: pd.Series(pd.NaT, index=part.index, dtype=UTC_NS)})
        filled.append(part.loc[:, [*LAKE_COLUMNS, *extra]])
    return pd.concat(filled, ignore_index=True)


def _changes(
    old: pd.DataFrame, new: pd.DataFrame, compared: Sequence[str], with_factor: bool
) -> tuple[pd.DataFrame, pd.Index]:
    """New rows (indexed by ts) that differ from the stored ones or are not stored, and the stamps unchanged."""
    if with_factor and ADJ_FACTOR not in old.columns:
        old[ADJ_FACTOR] = np.nan
    common = new.index.intersection(old.index)
    before, after = old.loc[common, compared], new.loc[common, compared]
    same = ((before == after) | (before.isna() & after.isna())).all(axis=1)
    unchanged_ts = common[same.to_numpy()]
    return new.drop(index=unchanged_ts), unchanged_ts


def _remove(paths: Sequence[Path]) -> None:
    """Delete leftover files of a partition (folded or superseded deltas, orphan temporaries), durably."""
    if not paths:
        return
    for path in paths:
        path.unlink(missing_ok=True)
    _fsync_dir(paths[0].parent)


def _merged_files(paths: Sequence[Path]) -> pd.DataFrame | pa.Table:
    """Consecutive delta files as one: their Arrow tables end to end when they share a schema (the live
    appends' case), else the pandas union that fills a column some files lack."""
    try:
        tables = [pq.ParquetFile(p).read(use_threads=False) for p in paths]  # small files: ~4x read_table's speed
    except (OSError, pa.ArrowException) as exc:
        raise DataError(f"cannot read lake files {', '.join(map(str, paths))}: {exc}") from exc
    if all(t.schema.equals(tables[0].schema, check_metadata=False) for t in tables[1:]):
        return pa.concat_tables(tables)
    return _stored_format(_union([_read_stored(p) for p in paths]))


def _remove_all(paths: Sequence[Path]) -> None:
    """Delete leftover files of several partitions, made durable with one barrier (``_remove`` for one)."""
    directories = sorted({p.parent for p in paths})
    if len(directories) <= 1:
        _remove(paths)
        return
    for path in paths:
        path.unlink(missing_ok=True)
    _sync_all(directories)


def _files(parts: Sequence[tuple[str, str, Partition]]) -> list[str]:
    """Every file a read of these partitions unions: each base and its live deltas."""
    return [f for _, _, part in parts for f in part.files]


class Lake:
    """A local Parquet lake of bars and macro series, so every run reads the same validated history."""

    def __init__(self, root: Path | str, clock: Clock | None = None) -> None:
        self.root = Path(root).expanduser()
        self._clock: Clock = clock or WallClock()
        self._thread_lock = threading.RLock()
        self._to_merge: set[Path] = set()  # partitions whose deltas ``tidy`` should merge

    def __repr__(self) -> str:
        return f"Lake({str(self.root)!r})"

    # ---------------------------------------------------------------- paths

    @property
    def bars_dir(self) -> Path:
        """Root of the bar partitions."""
        return self.root / "bars"

    @property
    def macro_dir(self) -> Path:
        """Root of the macro series."""
        return self.root / "macro"

    @property
    def actions_dir(self) -> Path:
        """Root of the corporate-action tables."""
        return self.root / "actions"

    def actions_path(self, symbol: str) -> Path:
        """Where one symbol's corporate actions live."""
        return self.actions_dir / f"symbol={encode_name(symbol)}" / DATA_FILE

    @property
    def quarantine_dir(self) -> Path:
        """Root of the quarantined rows."""
        return self.root / "quarantine"

    def bars_path(self, symbol: str, interval: str) -> Path:
        """Where one (interval, symbol) partition lives, so tools and tests can find it."""
        iv = normalize_interval(interval)
        return self.bars_dir / f"interval={iv}" / f"symbol={encode_name(symbol)}" / DATA_FILE

    def series_path(self, name: str) -> Path:
        """Where one macro series lives."""
        return self.macro_dir / f"series={encode_name(name)}" / DATA_FILE

    def _bar_files(self, interval: str | None = None) -> list[tuple[str, str, Path]]:
        """(interval, symbol, path) for every stored bar partition, optionally of one interval."""
        out: list[tuple[str, str, Path]] = []
        if not self.bars_dir.is_dir():
            return out
        for iv_dir in sorted(self.bars_dir.glob("interval=*")):
            iv = iv_dir.name.split("=", 1)[1]
            if interval is not None and iv != interval:
                continue
            for sym_dir in sorted(iv_dir.glob("symbol=*")):
                path = sym_dir / DATA_FILE
                if path.is_file():
                    out.append((iv, decode_name(sym_dir.name.split("=", 1)[1]), path))
        return out

    def _quarantine_files(self, symbol: str | None = None, interval: str | None = None) -> list[tuple[str, str, Path]]:
        """(interval, symbol, path) of every quarantine file, optionally filtered."""
        out: list[tuple[str, str, Path]] = []
        if not self.quarantine_dir.is_dir():
            return out
        for iv_dir in sorted(p for p in self.quarantine_dir.iterdir() if p.is_dir()):
            if interval is not None and iv_dir.name != interval:
                continue
            for sym_dir in sorted(p for p in iv_dir.iterdir() if p.is_dir()):
                sym = decode_name(sym_dir.name)
                if symbol is not None and sym != symbol:
                    continue
                out.extend((iv_dir.name, sym, f) for f in sorted(sym_dir.glob("*.parquet")))
        return out

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Serialise writers across threads and processes: read-merge-write must not interleave."""
        with self._thread_lock:
            private_dir(self.root)
            with FileLock(self.root / ".lock"):
                yield

    @staticmethod
    def _query(sql: str, params: Sequence[Any]) -> pd.DataFrame:
        """Run one query on a fresh in-memory DuckDB connection, closed before returning."""
        con = duckdb.connect(":memory:")
        try:
            frame: pd.DataFrame = con.execute(sql, list(params)).df()
        finally:
            con.close()
        return frame

    # ---------------------------------------------------------------- bars

    def write_bars(
        self,
        df: pd.DataFrame,
        interval: str,
        source: str,
        *,
        fetched_at: datetime | None = None,
        append: bool = False,
    ) -> WriteReport:
        """Validate, quarantine bad rows and merge good ones into the lake, never losing a stored row.

        An ``adj_factor`` column in ``df`` is stored with the bars (see the module's adjustment convention);
        ``fetched_at`` (aware) is stored as every written row's vendor answer time. ``append=True`` (the live
        loop) stores rows newer than a partition's last stamp as a delta file, in time independent of its
        history; rows that touch stored stamps still merge into a new base. What reads see is the same.
        """
        iv = normalize_interval(interval)
        require_columns(df, BAR_COLUMNS)
        ts = df["ts"]
        if len(df) and not (pd.api.types.is_datetime64_any_dtype(ts) and getattr(ts.dt, "tz", None)):
            raise DataError(
                f"bars ts must be timezone-aware datetimes (got {ts.dtype}); localize them "
                "(e.g. ts.dt.tz_localize('America/New_York')) or import the file with --tz"
            )
        if df.empty:
            return WriteReport(0, 0, ())
        result = validate_bars(df)
        now = pd.Timestamp(self._clock.now()).tz_convert("UTC")
        fetched = None if fetched_at is None else _utc_bound(fetched_at, "fetched_at")
        written = unchanged = 0
        with self._write_lock():
            if append:
                written, unchanged = self._append_all(result.valid, iv, source, now, fetched)
            else:
                for symbol, rows in result.valid.groupby("symbol", sort=True):
                    w, u = self._merge_partition(str(symbol), iv, rows, source, now, fetched)
                    written += w
                    unchanged += u
            if len(result.quarantined):
                self._append_quarantine(result.quarantined, iv, source, now)
        symbols = {str(s) for s in result.valid["symbol"]}
        symbols |= {str(s) for s in result.quarantined["symbol"].dropna() if str(s).strip()}
        if len(result.quarantined):
            log.warning(
                "quarantined %d of %d %s bar(s) from %s: %s",
                len(result.quarantined),
                len(df),
                iv,
                source,
                result.reason_counts(),
            )
        log.info("wrote %d %s bar(s) from %s (%d unchanged)", written, iv, source, unchanged)
        return WriteReport(written, len(result.quarantined), tuple(sorted(symbols)), unchanged)

    def _append_all(
        self, valid: pd.DataFrame, interval: str, source: str, now: pd.Timestamp, fetched_ns: int | None
    ) -> tuple[int, int]:
        """The live loop's append: each symbol's rows newer than its partition become one delta file, all of
        them prepared in one frame and written with one durability barrier (``_atomic_write_many``), so a bar
        of many symbols costs a few milliseconds, not two fsyncs and a pandas round per symbol. A symbol whose
        rows touch stored stamps (or that has no partition yet) takes ``_merge_partition``'s way.
        Returns (written, unchanged)."""
        if valid.empty:
            return 0, 0
        with_factor = ADJ_FACTOR in valid.columns
        new = valid.loc[:, [*BAR_COLUMNS, *([ADJ_FACTOR] if with_factor else [])]].assign(
            source=source, ingested_at=now
        )
        if with_factor:
            new[ADJ_FACTOR] = _clean_factor(new[ADJ_FACTOR])
        if fetched_ns is not None:
            new[FETCHED_AT] = pd.Timestamp(fetched_ns, tz="UTC")
        new = _stored_format(new.sort_values(["symbol", "ts"], kind="stable").reset_index(drop=True))
        symbols = new["symbol"].astype(str).to_numpy()
        stamps = pd.DatetimeIndex(new["ts"]).as_unit("ns").asi8
        cuts = np.flatnonzero(symbols[1:] != symbols[:-1]) + 1
        starts, ends = np.concatenate(([0], cuts)), np.concatenate((cuts, [len(new)]))
        table = pa.Table.from_pandas(new, preserve_index=False)
        items: list[tuple[pd.DataFrame | pa.Table, Path]] = []
        done: list[tuple[Partition, Delta]] = []
        written = unchanged = 0
        for lo, hi in zip(starts.tolist(), ends.tolist(), strict=True):
            symbol = symbols[lo]
            part = scan(self.bars_path(symbol, interval), need_last=True)
            last = None if part is None else part.last_ns
            if part is None or last is None or int(stamps[lo:hi].min()) <= last:
                w, u = self._merge_partition(
                    symbol, interval, valid[valid["symbol"] == symbol], source, now, fetched_ns, append=True
                )
                written, unchanged = written + w, unchanged + u
                continue
            delta = Delta(
                part.base.parent / delta_name(int(stamps[lo]), int(stamps[hi - 1]), 0),
                int(stamps[lo]),
                int(stamps[hi - 1]),
                0,
            )
            items.append((table.slice(lo, hi - lo), delta.path))
            done.append((part, delta))
            written += hi - lo
        if items:
            _atomic_write_many(items)
        for part, delta in done:
            live = [*part.live, delta]
            if len(live) >= MAX_LIVE_DELTAS:
                self._merge_deltas(part.base.parent, live)
            elif merge_group(live):
                self._to_merge.add(part.base)
            _remove(list(part.dead))
        return written, unchanged

    def _merge_partition(
        self,
        symbol: str,
        interval: str,
        rows: pd.DataFrame,
        source: str,
        now: pd.Timestamp,
        fetched_ns: int | None = None,
        *,
        append: bool = False,
    ) -> tuple[int, int]:
        """Merge one symbol's valid rows into its partition; returns (written, unchanged)."""
        with_factor = ADJ_FACTOR in rows.columns
        new = rows.loc[:, [*BAR_COLUMNS, *([ADJ_FACTOR] if with_factor else [])]].assign(source=source, ingested_at=now)
        new["ingested_at"] = new["ingested_at"].astype(UTC_NS)
        if with_factor:
            new[ADJ_FACTOR] = _clean_factor(new[ADJ_FACTOR])
        if fetched_ns is not None:
            new[FETCHED_AT] = pd.Series(pd.Timestamp(fetched_ns, tz="UTC"), index=new.index).astype(UTC_NS)
        new = new.set_index("ts")
        compared = [*VALUE_COLUMNS, *([ADJ_FACTOR] if with_factor else [])]
        path = self.bars_path(symbol, interval)
        part = scan(path, need_last=append)
        if append and part is not None and (done := self._append(part, new, compared, with_factor)) is not None:
            return done
        if part is not None:
            old = self._partition_frame(part).set_index("ts")
            changed, unchanged_ts = _changes(old, new, compared, with_factor)
            if changed.empty:
                return 0, len(unchanged_ts)
            merged = pd.concat([old.drop(index=changed.index, errors="ignore"), changed])
        else:
            unchanged_ts = new.index[:0]
            changed = merged = new
        self._write_partition(merged.sort_index().reset_index(), path)
        self._fold_done(path)
        return len(changed), len(unchanged_ts)

    def _append(
        self, part: Partition, new: pd.DataFrame, compared: Sequence[str], with_factor: bool
    ) -> tuple[int, int] | None:
        """Store rows newer than everything in the partition as a delta; None when the write needs a merge.

        Rows at stored stamps are compared with the deltas only: unchanged ones are skipped, and a changed
        one, a gap filled between deltas or a stamp in the base's range sends the write to the full merge.
        """
        last = part.last_ns
        if last is None:
            return None
        stamps = pd.DatetimeIndex(new.index).tz_convert("UTC").as_unit("ns").asi8
        older = stamps <= last
        unchanged = 0
        if older.any():
            base_last = part.base_last_ns
            if base_last is not None and bool((stamps[older] <= base_last).any()):
                return None
            stored = _union([_read_stored(d.path) for d in part.live]).set_index("ts")
            changed, same = _changes(stored, new.loc[older], compared, with_factor)
            if len(changed):
                return None
            unchanged = len(same)
        fresh = new.loc[~older]
        if fresh.empty:
            return 0, unchanged
        first_ns, last_ns = int(stamps[~older].min()), int(stamps[~older].max())
        directory = part.base.parent
        delta = Delta(directory / delta_name(first_ns, last_ns, 0), first_ns, last_ns, 0)
        _atomic_write(_stored_format(fresh.sort_index().reset_index()), delta.path)
        live = [*part.live, delta]
        if len(live) >= MAX_LIVE_DELTAS:
            self._merge_deltas(directory, live)
        elif merge_group(live):
            self._to_merge.add(part.base)
        _remove(list(part.dead))
        return len(fresh), unchanged

    @staticmethod
    def _merge_deltas(directory: Path, live: list[Delta]) -> None:
        """Merge runs of same-level deltas into one file each until none is left (sources deleted after)."""
        while group := merge_group(live):
            merged = merged_delta(directory, group)
            _atomic_write(_stored_format(_union([_read_stored(d.path) for d in group])), merged.path)
            _remove([d.path for d in group])
            at = live.index(group[0])
            live = [*live[:at], merged, *live[at + len(group) :]]

    def tidy(self) -> int:
        """Merge the delta files that appends since the last call left mergeable; returns partitions tidied.

        The live loop calls it after each cycle, so merging stays off the decision path; it costs
        O(rows appended since the last compaction), never the partition's history.
        """
        with self._write_lock():
            pending, self._to_merge = sorted(self._to_merge), set()
            lives: dict[Path, list[Delta]] = {}
            dead: list[Path] = []
            for base in pending:
                part = scan(base)
                if part is not None:
                    lives[base.parent] = list(part.live)
                    dead.extend(part.dead)
            self._merge_all(lives)
            _remove_all(dead)
        return len(pending)

    @staticmethod
    def _merge_all(lives: dict[Path, list[Delta]]) -> None:
        """``_merge_deltas`` over many partitions at once: each round writes every partition's merged file with
        one durability barrier, then deletes the sources with another (the same files, the same order)."""
        while work := [(d, g) for d, live in lives.items() if (g := merge_group(live))]:
            merged = [(d, g, merged_delta(d, g)) for d, g in work]
            _atomic_write_many([(_merged_files([x.path for x in g]), m.path) for _, g, m in merged])
            _remove_all([x.path for _, g, _ in merged for x in g])
            for d, g, m in merged:
                live = lives[d]
                at = live.index(g[0])
                lives[d] = [*live[:at], m, *live[at + len(g) :]]

    def _partition_frame(self, part: Partition) -> pd.DataFrame:
        """A scanned partition's rows: the base, then its live deltas, as ``read_partition`` returns them."""
        return _union([_read_stored(part.base), *(_read_stored(d.path) for d in part.live)])

    def _fold_done(self, base: Path) -> None:
        """After a new base was written (it holds every delta's rows), delete the partition's delta files."""
        leftovers = [
            p
            for p in base.parent.iterdir()
            if parse_delta(p) is not None or (p.name.startswith(".") and p.name.endswith(".tmp"))
        ]
        _remove(leftovers)

    def compact(self, symbols: Sequence[str] | None = None, interval: str | None = None) -> int:
        """Fold each partition's delta files into its base (atomically), so reads open one file per symbol.

        Returns how many partitions were folded. The base is replaced before the deltas are deleted: a crash
        in between leaves deltas that reads already ignore (see data/deltas.py).
        """
        iv = None if interval is None else normalize_interval(interval)
        wanted = None if symbols is None else set(symbols)
        folded = 0
        with self._write_lock():
            for _, sym, base in self._bar_files(iv):
                if wanted is not None and sym not in wanted:
                    continue
                part = scan(base)
                if part is None:
                    continue
                if part.live:
                    self._write_partition(self._partition_frame(part), base)
                    self._fold_done(base)
                    folded += 1
                else:
                    _remove(list(part.dead))
        if folded:
            log.info("compacted the delta files of %d partition(s)", folded)
        return folded

    @staticmethod
    def _write_partition(frame: pd.DataFrame, path: Path) -> None:
        """Write a partition in the stored column order and dtypes (optional columns only when present)."""
        _atomic_write(_stored_format(frame), path)

    def rescale_adj_factor(self, symbol: str, interval: str, ratio: float) -> int:
        """Move a partition's stored factors onto a newer basis (× ratio) after a later split or dividend."""
        if not np.isfinite(ratio) or ratio <= 0:
            raise DataError(f"adj_factor ratio must be a positive number, got {ratio!r}")
        path = self.bars_path(symbol, interval)
        with self._write_lock():
            part = scan(path)
            if part is None:
                return 0
            frame = self._partition_frame(part)
            if ADJ_FACTOR not in frame.columns:
                return 0
            known = frame[ADJ_FACTOR].notna()
            if not bool(known.any()) or ratio == 1.0:
                return 0
            frame.loc[known, ADJ_FACTOR] = frame.loc[known, ADJ_FACTOR] * ratio
            self._write_partition(frame, path)
            self._fold_done(path)
        log.info("rescaled %d adj_factor(s) of %s %s by %.8g", int(known.sum()), symbol, interval, ratio)
        return int(known.sum())

    def last_stamp(self, symbol: str, interval: str) -> pd.Timestamp | None:
        """The newest stored bar's ``ts`` of one partition (its files' footers, not its rows), None when empty."""
        part = scan(self.bars_path(symbol, normalize_interval(interval)), need_last=True)
        last = None if part is None else part.last_ns
        return None if last is None else pd.Timestamp(last, tz="UTC")

    def read_partition(self, symbol: str, interval: str) -> pd.DataFrame:
        """One partition exactly as stored (raw prices, factors, provenance), for audits and backfill.

        Its delta files, if any, are read with it: the rows are those one merged file would hold.
        """
        path = self.bars_path(symbol, interval)

        def read(parts: list[tuple[str, str, Partition]]) -> pd.DataFrame:
            if not parts:
                return empty_bars().assign(source=pd.Series([], dtype=object), ingested_at=pd.Series([], dtype=UTC_NS))
            return self._partition_frame(parts[0][2])

        def listing() -> list[tuple[str, str, Partition]]:
            part = scan(path)
            return [] if part is None else [(normalize_interval(interval), symbol, part)]

        return self._consistent(listing, read)

    def _partitions(
        self, symbols: Sequence[str] | str | None, interval: str | None
    ) -> list[tuple[str, str, Partition]]:
        """(interval, symbol, partition) of every stored partition, optionally of some symbols or one interval."""
        if isinstance(symbols, str):
            symbols = [symbols]
        wanted = None if symbols is None else set(symbols)
        out = []
        for iv, sym, base in self._bar_files(interval):
            if wanted is None or sym in wanted:
                part = scan(base)
                if part is not None:
                    out.append((iv, sym, part))
        return out

    @staticmethod
    def _consistent(
        listing: Callable[[], list[tuple[str, str, Partition]]],
        read: Callable[[list[tuple[str, str, Partition]]], _T],
    ) -> _T:
        """Run a read over listed partitions again until no writer replaced or removed a listed file meanwhile."""
        for _ in range(READ_TRIES):
            parts = listing()
            try:
                out = read(parts)
            except (duckdb.Error, OSError, DataError):
                if all(p.holds() for _, _, p in parts):
                    raise
                continue
            if all(p.holds() for _, _, p in parts):
                return out
        raise DataError(f"the lake changed under each of {READ_TRIES} tries of a read; try again")

    def _append_quarantine(self, bad: pd.DataFrame, interval: str, source: str, now: pd.Timestamp) -> None:
        """Persist quarantined rows (new ones only, so re-imports do not pile up copies) with their reason."""
        bad = bad.assign(source=source, interval=interval, detected_at=now)
        bad["detected_at"] = bad["detected_at"].astype(UTC_NS)
        keys = bad["symbol"].map(lambda s: NO_SYMBOL if pd.isna(s) or not str(s).strip() else str(s))
        for symbol, rows in bad.groupby(keys, sort=True):
            sym_dir = self.quarantine_dir / interval / encode_name(str(symbol))
            existing = [_read_parquet_file(f) for f in sorted(sym_dir.glob("*.parquet"))]
            if existing:
                seen = set(self._row_hashes(pd.concat(existing, ignore_index=True)))
                rows = rows.loc[~self._row_hashes(rows).isin(seen).to_numpy()]
            if rows.empty:
                continue
            frame = _stringify_objects(rows.reset_index(drop=True), keep=("symbol",))
            frame["symbol"] = frame["symbol"].map(lambda s: None if pd.isna(s) else str(s))
            _atomic_write(frame, sym_dir / f"{uuid.uuid4().hex}.parquet")

    @staticmethod
    def _row_hashes(frame: pd.DataFrame) -> pd.Series:
        key = frame.loc[:, list(_QUARANTINE_KEY)].copy()
        key["symbol"] = key["symbol"].map(lambda s: None if pd.isna(s) else str(s))
        key["ts"] = to_utc(key["ts"])
        for col in VALUE_COLUMNS:
            key[col] = key[col].astype("float64")
        return pd.util.hash_pandas_object(key, index=False)

    def read_bars(
        self,
        symbols: Sequence[str] | None = None,
        interval: str = "1d",
        start: datetime | None = None,
        end: datetime | None = None,
        *,
        adjusted: bool = True,
        with_factor: bool = False,
    ) -> pd.DataFrame:
        """Bars for the universe in [start, end), sorted by ts then symbol: the engine's one way in.

        Prices are split/dividend-adjusted with the stored ``adj_factor`` unless ``adjusted=False``;
        ``with_factor=True`` returns the RAW prints plus the ``adj_factor`` column (NaN where unknown)
        when any partition stores one, so a caller can hold both views (engine/panel.py).
        """
        iv = normalize_interval(interval)
        lo, hi = _utc_bound(start, "start"), _utc_bound(end, "end")
        return self._consistent(
            lambda: self._partitions(symbols, iv),
            lambda parts: self._read_window(_files(parts), lo, hi, adjusted, with_factor),
        )

    def _read_window(
        self, files: list[str], lo: int | None, hi: int | None, adjusted: bool, with_factor: bool
    ) -> pd.DataFrame:
        """``read_bars`` over a list of partition files."""
        if not files:
            return empty_bars()
        where: list[str] = []
        params: list[Any] = [files]
        if lo is not None:
            where.append("epoch_ns(ts) >= ?")
            params.append(lo)
        if hi is not None:
            where.append("epoch_ns(ts) < ?")
            params.append(hi)
        columns = self._value_sql(files, adjusted)
        factor = with_factor and _has_column(files, ADJ_FACTOR)
        if factor:
            columns = f"{self._value_sql(files, False)}, {ADJ_FACTOR}"
        sql = (
            f"SELECT {columns} "
            "FROM read_parquet(?, hive_partitioning = false, union_by_name = true) "
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "ORDER BY ts, symbol"
        )
        frame = self._query(sql, params)
        if not factor or frame.empty:
            return self._bars_frame(frame)
        adj = frame.pop(ADJ_FACTOR).astype("float64").to_numpy()
        out = self._bars_frame(frame)
        out[ADJ_FACTOR] = adj
        return out

    def read_bars_asof(
        self, symbols: Sequence[str] | None, interval: str, at: datetime, *, adjusted: bool = True
    ) -> pd.DataFrame:
        """The latest COMPLETE bar per symbol at `at` (ts + bar length <= at): what a decision at `at` may see.

        Symbols with no such bar are absent. Adjusted prices use today's factor basis, so ratios (returns)
        are point-in-time while price levels before a later split are scaled; pass ``adjusted=False`` for
        the raw prints.
        """
        iv = normalize_interval(interval)
        at_ns = _utc_bound(at, "at")
        if at_ns is None:
            return empty_bars()
        return self._consistent(
            lambda: self._partitions(symbols, iv), lambda parts: self._read_asof(_files(parts), iv, at_ns, adjusted)
        )

    def _read_asof(self, files: list[str], iv: str, at_ns: int, adjusted: bool) -> pd.DataFrame:
        """``read_bars_asof`` over a list of partition files."""
        if not files:
            return empty_bars()
        sql = (
            f"SELECT {self._value_sql(files, adjusted)} "
            "FROM read_parquet(?, hive_partitioning = false, union_by_name = true) "
            "WHERE epoch_ns(ts) + ? <= ? "
            "QUALIFY row_number() OVER (PARTITION BY symbol ORDER BY ts DESC) = 1 "
            "ORDER BY symbol"
        )
        return self._bars_frame(self._query(sql, [files, int(BAR_LENGTH[iv].value), at_ns]))

    def _files_for(self, symbols: Sequence[str] | str | None, interval: str) -> list[str]:
        """Stored partition files of an interval (bases and live deltas), optionally only some symbols'."""
        return _files(self._partitions(symbols, interval))

    @staticmethod
    def _value_sql(files: Sequence[str], adjusted: bool) -> str:
        """The bar columns to select: raw, or adjusted with the stored factor (NaN or absent reads as 1)."""
        if not adjusted or not _has_column(files, ADJ_FACTOR):
            return "symbol, ts, open, high, low, close, volume"
        f = f"coalesce({ADJ_FACTOR}, 1.0)"
        return (
            f"symbol, ts, open * {f} AS open, high * {f} AS high, low * {f} AS low, "
            f"close * {f} AS close, volume / {f} AS volume"
        )

    @staticmethod
    def _bars_frame(frame: pd.DataFrame) -> pd.DataFrame:
        """A query result in the bars frame's dtypes."""
        if frame.empty:
            return empty_bars()
        frame["ts"] = to_utc(frame["ts"])
        frame["symbol"] = frame["symbol"].astype(object)
        return frame.astype({c: "float64" for c in VALUE_COLUMNS}).reset_index(drop=True)

    def symbols(self, interval: str = "1d") -> list[str]:
        """Symbols stored at an interval, so callers can build a universe from what is really there."""
        iv = normalize_interval(interval)
        return sorted({sym for _, sym, _ in self._bar_files(iv)})

    def intervals(self) -> list[str]:
        """Intervals that hold at least one partition, shortest first."""
        return sorted({iv for iv, _, _ in self._bar_files()}, key=interval_order)

    # ---------------------------------------------------------------- status and quarantine

    def status(self) -> pd.DataFrame:
        """One row per (interval, symbol): coverage, row and quarantine counts, as `data status` shows."""
        columns = ["interval", "symbol", "first_ts", "last_ts", "rows", "quarantined", "sources"]
        records = self._consistent(lambda: self._partitions(None, None), self._bar_stats)
        for iv, sym, path in self._quarantine_files():
            rec = records.setdefault(
                (iv, sym),
                {"first_ts": pd.NaT, "last_ts": pd.NaT, "rows": 0, "quarantined": 0, "sources": ""},
            )
            rec["quarantined"] += int(pq.ParquetFile(path).metadata.num_rows)
        if not records:
            return pd.DataFrame(
                {
                    "interval": pd.Series([], dtype=object),
                    "symbol": pd.Series([], dtype=object),
                    "first_ts": pd.Series([], dtype=UTC_NS),
                    "last_ts": pd.Series([], dtype=UTC_NS),
                    "rows": pd.Series([], dtype="int64"),
                    "quarantined": pd.Series([], dtype="int64"),
                    "sources": pd.Series([], dtype=object),
                }
            )
        ordered = sorted(records, key=lambda k: (interval_order(k[0]), k[0], k[1]))
        out = pd.DataFrame([{"interval": k[0], "symbol": k[1], **records[k]} for k in ordered], columns=columns)
        out["first_ts"] = out["first_ts"].astype(UTC_NS)
        out["last_ts"] = out["last_ts"].astype(UTC_NS)
        return out.astype({"rows": "int64", "quarantined": "int64"})

    def _bar_stats(self, parts: list[tuple[str, str, Partition]]) -> dict[tuple[str, str], dict[str, Any]]:
        """Coverage, row count and sources per (interval, symbol), a partition's deltas counted with its base."""
        records: dict[tuple[str, str], dict[str, Any]] = {}
        if not parts:
            return records
        by_path = {f: (iv, sym) for iv, sym, part in parts for f in part.files}
        stats = self._query(
            "SELECT filename, min(ts) AS first_ts, max(ts) AS last_ts, count(*) AS n, "
            "list_sort(list_distinct(list(source))) AS sources "
            "FROM read_parquet(?, hive_partitioning = false, filename = true, union_by_name = true) "
            "GROUP BY filename",
            [list(by_path)],
        )
        stats["first_ts"] = to_utc(stats["first_ts"])
        stats["last_ts"] = to_utc(stats["last_ts"])
        sources: dict[tuple[str, str], set[str]] = {}
        row: dict[Any, Any]
        for row in stats.to_dict("records"):
            key = by_path[str(row["filename"])]
            sources.setdefault(key, set()).update(str(s) for s in row["sources"])
            if key in records:
                rec = records[key]
                rec["first_ts"] = min(rec["first_ts"], row["first_ts"])
                rec["last_ts"] = max(rec["last_ts"], row["last_ts"])
                rec["rows"] += int(row["n"])
            else:
                records[key] = {"first_ts": row["first_ts"], "last_ts": row["last_ts"], "rows": int(row["n"])}
        for key, rec in records.items():
            rec["quarantined"] = 0
            rec["sources"] = ",".join(sorted(sources[key]))
        return records

    def quarantine(self, symbol: str | None = None, interval: str | None = None) -> pd.DataFrame:
        """Every quarantined row with its reason, so an operator can see what a vendor got wrong."""
        iv = None if interval is None else normalize_interval(interval)
        files = self._quarantine_files(symbol, iv)
        if not files:
            return empty_bars().assign(
                reason=pd.Series([], dtype=object),
                source=pd.Series([], dtype=object),
                interval=pd.Series([], dtype=object),
                detected_at=pd.Series([], dtype=UTC_NS),
            )
        frame = self._query(
            "SELECT * FROM read_parquet(?, hive_partitioning = false, union_by_name = true)",
            [[str(p) for _, _, p in files]],
        )
        frame["ts"] = to_utc(frame["ts"])
        frame["detected_at"] = to_utc(frame["detected_at"])
        return frame.sort_values(["interval", "symbol", "ts"], kind="mergesort", na_position="last").reset_index(
            drop=True
        )

    # ---------------------------------------------------------------- macro series

    def write_series(self, name: str, df: pd.DataFrame, source: str) -> WriteReport:
        """Store a macro series by reference date, merging like bars so re-imports and revisions are safe."""
        if not name or not str(name).strip():
            raise DataError("a series needs a non-empty name")
        require_columns(df, ("date", "value"), what="series")
        frame = pd.DataFrame(
            {
                "date": pd.to_datetime(df["date"], errors="coerce"),
                "value": pd.to_numeric(df["value"], errors="coerce"),
            }
        ).reset_index(drop=True)
        frame["date"] = (
            frame["date"].dt.tz_localize("UTC") if frame["date"].dt.tz is None else frame["date"].dt.tz_convert("UTC")
        ).astype(UTC_NS)
        frame["value"] = frame["value"].astype("float64")
        bad = frame["date"].isna() | ~np.isfinite(frame["value"].to_numpy())
        dup = frame["date"].duplicated(keep="first") & ~bad
        dropped = int(bad.sum() + dup.sum())
        if dropped:
            log.warning(
                "series %s from %s: dropped %d observation(s) (%d missing/non-finite, %d duplicate dates)",
                name,
                source,
                dropped,
                int(bad.sum()),
                int(dup.sum()),
            )
        new = frame.loc[~(bad | dup)].assign(source=source).set_index("date")
        if new.empty:
            return WriteReport(0, dropped, (name,))
        path = self.series_path(name)
        with self._write_lock():
            if path.is_file():
                old = _read_parquet_file(path)
                old["date"] = to_utc(old["date"])
                old = old.set_index("date")
                common = new.index.intersection(old.index)
                same = (old.loc[common, "value"] == new.loc[common, "value"]).to_numpy()
                unchanged_dates = common[same]
                changed = new.drop(index=unchanged_dates)
                if changed.empty:
                    return WriteReport(0, dropped, (name,), len(unchanged_dates))
                merged = pd.concat([old.drop(index=changed.index, errors="ignore"), changed])
            else:
                unchanged_dates = new.index[:0]
                changed = merged = new
            merged = merged.sort_index().reset_index().loc[:, list(SERIES_COLUMNS)]
            merged["date"] = merged["date"].astype(UTC_NS)
            _atomic_write(merged, path)
        log.info("wrote %d observation(s) of series %s from %s", len(changed), name, source)
        return WriteReport(len(changed), dropped, (name,), len(unchanged_dates))

    def read_series(self, name: str) -> pd.DataFrame:
        """One macro series (date = reference date, UTC), sorted by date; unknown names are a DataError."""
        path = self.series_path(name)
        if not path.is_file():
            known = ", ".join(self.series_names()) or "none"
            raise DataError(
                f"unknown series {name!r} (stored: {known}); import it first, "
                "e.g. `papertrader data import --source bundled`"
            )
        frame = self._query(
            "SELECT date, value, source FROM read_parquet(?, hive_partitioning = false) ORDER BY date",
            [[str(path)]],
        )
        if frame.empty:
            return empty_series()
        frame["date"] = to_utc(frame["date"])
        return frame.astype({"value": "float64", "source": object})

    def series_names(self) -> list[str]:
        """Names of the stored macro series."""
        if not self.macro_dir.is_dir():
            return []
        return sorted(
            decode_name(d.name.split("=", 1)[1]) for d in self.macro_dir.glob("series=*") if (d / DATA_FILE).is_file()
        )

    # ---------------------------------------------------------------- corporate actions

    def write_actions(self, df: pd.DataFrame, source: str) -> WriteReport:
        """Store splits and cash dividends by (symbol, ex-date), merging like bars: re-imports are no-ops.

        ``df`` has ``symbol, ts`` (ex-date session stamp, aware) and ``split_ratio`` and/or ``dividend``;
        a row with neither a split (ratio 1) nor a dividend (0) is dropped. Bad rows (unknown date,
        non-positive ratio, negative dividend) are a DataError: actions move positions, so none is guessed.
        """
        from papertrader.data.actions import clean_actions

        frame = clean_actions(df)
        if frame.empty:
            return WriteReport(0, 0, ())
        now = pd.Timestamp(self._clock.now()).tz_convert("UTC")
        written = unchanged = 0
        with self._write_lock():
            for symbol, rows in frame.groupby("symbol", sort=True):
                path = self.actions_path(str(symbol))
                new = rows.assign(source=source, ingested_at=now).set_index("ts")
                new["ingested_at"] = new["ingested_at"].astype(UTC_NS)
                if path.is_file():
                    old = _read_parquet_file(path)
                    old["ts"] = to_utc(old["ts"])
                    old = old.set_index("ts")
                    common = new.index.intersection(old.index)
                    values = ["split_ratio", "dividend"]
                    same = (old.loc[common, values] == new.loc[common, values]).all(axis=1)
                    unchanged_ts = common[same.to_numpy()]
                    changed = new.drop(index=unchanged_ts)
                    unchanged += len(unchanged_ts)
                    if changed.empty:
                        continue
                    merged = pd.concat([old.drop(index=changed.index, errors="ignore"), changed])
                else:
                    changed = merged = new
                out = merged.sort_index().reset_index().loc[:, [*ACTION_COLUMNS, "source", "ingested_at"]]
                out = out.astype({"ts": UTC_NS, "ingested_at": UTC_NS, "split_ratio": "float64", "dividend": "float64"})
                _atomic_write(out, path)
                written += len(changed)
        log.info("wrote %d corporate action(s) from %s (%d unchanged)", written, source, unchanged)
        return WriteReport(written, 0, tuple(sorted({str(s) for s in frame["symbol"]})), unchanged)

    def read_actions(self, symbols: Sequence[str] | None = None) -> pd.DataFrame:
        """Stored splits and dividends (symbol, ts = ex-date, split_ratio, dividend), sorted by ts then symbol."""
        if not self.actions_dir.is_dir():
            return empty_actions()
        wanted = None if symbols is None else set(symbols)
        frames = []
        for sym_dir in sorted(self.actions_dir.glob("symbol=*")):
            path = sym_dir / DATA_FILE
            if path.is_file() and (wanted is None or decode_name(sym_dir.name.split("=", 1)[1]) in wanted):
                frames.append(_read_parquet_file(path).loc[:, list(ACTION_COLUMNS)])
        if not frames:
            return empty_actions()
        out = pd.concat(frames, ignore_index=True)
        out["ts"] = to_utc(out["ts"])
        out["symbol"] = out["symbol"].astype(object)
        out = out.astype({"split_ratio": "float64", "dividend": "float64"})
        return out.sort_values(["ts", "symbol"], kind="mergesort").reset_index(drop=True)
