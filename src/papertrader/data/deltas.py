"""Append-only delta files beside a bar partition's base file, so storing a new bar costs O(new rows).

A partition directory holds its base, ``data.parquet``, and zero or more delta files named
``delta_<first>_<last>_<level>.parquet`` by the first and last ``ts`` they hold (UTC epoch nanoseconds) and
their merge level. The rules that make a plain union of the files equal to one merged partition:

- A delta is only written with rows strictly newer than everything stored (the base and every live delta),
  so live files never share a stamp and a read is base rows, then the deltas in stamp order.
- A delta whose first stamp is not after the base's last stamp is STALE: a compaction wrote a base that
  holds its rows. The base is replaced (atomically) before deltas are removed, so a crash in between
  leaves stale files behind, never lost or doubled rows; the next writer deletes them.
- A delta whose stamp range lies inside another delta's range is SUPERSEDED: a merge wrote the wider file
  before removing its sources.
- Merges (``merge_group``): ``FANOUT`` consecutive live deltas of one level become one delta of the next
  level (a base-``FANOUT`` counter), done by ``Lake.tidy`` after the live cycle, off the decision path (an
  append merges by itself only past ``MAX_LIVE_DELTAS`` files). A partition then holds fewer than ``FANOUT``
  deltas per level, and an appended row is rewritten about log_FANOUT(rows appended since the last
  compaction) times, never together with the base's history. Folding deltas into the base
  (``Lake.compact``) is the only O(history) step.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pyarrow as pa
import pyarrow.parquet as pq

from papertrader.core.errors import DataError

DELTA_PREFIX: Final = "delta_"
DELTA_SUFFIX: Final = ".parquet"
#: How many same-level deltas are merged into one of the next level.
FANOUT: Final = 8

FileStamp = tuple[int, int, int]


@dataclass(frozen=True)
class Delta:
    """One delta file: where it is, the stamps it covers (inclusive, UTC ns) and its merge level."""

    path: Path
    first_ns: int
    last_ns: int
    level: int

    def covers(self, other: Delta) -> bool:
        """Whether this file's range holds the other's (a merge that was not yet cleaned up)."""
        return self.path != other.path and self.first_ns <= other.first_ns and other.last_ns <= self.last_ns


@dataclass(frozen=True)
class Partition:
    """A partition's files as scanned: the base, its identity, its live deltas and leftovers to delete."""

    base: Path
    stamp: FileStamp
    live: tuple[Delta, ...]
    dead: tuple[Path, ...]
    base_last_ns: int | None

    @property
    def files(self) -> list[str]:
        """The files a read must union: the base, then the live deltas in stamp order."""
        return [str(self.base), *(str(d.path) for d in self.live)]

    @property
    def last_ns(self) -> int | None:
        """The newest stored stamp (None for an empty base without deltas)."""
        if self.live:
            return self.live[-1].last_ns
        return self.base_last_ns

    def holds(self) -> bool:
        """Whether a read of ``files`` saw one consistent state: the same base, and no delta removed since."""
        if not self.live:
            return True
        try:
            if file_stamp(self.base) != self.stamp:
                return False
        except FileNotFoundError:
            return False
        return all(d.path.is_file() for d in self.live)


def delta_name(first_ns: int, last_ns: int, level: int) -> str:
    """The file name of a delta holding [first_ns, last_ns] at a merge level."""
    return f"{DELTA_PREFIX}{first_ns}_{last_ns}_{level}{DELTA_SUFFIX}"


def parse_delta(path: Path) -> Delta | None:
    """The delta a file name describes, or None for any other file (the base, temporary files)."""
    name = path.name
    if not (name.startswith(DELTA_PREFIX) and name.endswith(DELTA_SUFFIX)):
        return None
    parts = name[len(DELTA_PREFIX) : -len(DELTA_SUFFIX)].split("_")
    try:
        first, last, level = (int(p) for p in parts)
    except ValueError:
        return None
    return Delta(path, first, last, level) if first <= last and level >= 0 else None


def file_stamp(path: Path) -> FileStamp:
    """A file's identity (inode, mtime, size): an atomic replace always changes it."""
    st = os.stat(path)
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def last_stamp_ns(path: Path) -> int | None:
    """The newest ``ts`` in a stored file from its footer statistics (the column itself when they are absent)."""
    try:
        meta = pq.ParquetFile(path).metadata
        col = meta.schema.names.index("ts")
        stats = [meta.row_group(i).column(col).statistics for i in range(meta.num_row_groups)]
        kind = meta.schema.to_arrow_schema().field("ts").type
        ns = isinstance(kind, pa.TimestampType) and kind.unit == "ns"
        if ns and stats and all(s is not None and s.has_min_max for s in stats):
            return max(int(s.max_raw) for s in stats if s is not None)
        column = pq.read_table(path, columns=["ts"]).column("ts").cast(pa.timestamp("ns", tz="UTC"))
        values = column.to_numpy().astype("int64")
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DataError(f"cannot read lake file {path}: {exc}; restore it or move it aside") from exc
    return int(values.max()) if len(values) else None


#: A base file's newest stamp by (path, identity): an atomic replace changes the identity, so an entry never
#: goes stale; it spares the live append a footer read per symbol and bar.
_BASE_LAST: dict[tuple[Path, FileStamp], int | None] = {}
_BASE_LAST_MAX: Final = 8192


def base_last_ns(base: Path, stamp: FileStamp) -> int | None:
    """``last_stamp_ns`` of a base, remembered by its identity (read once per version of the file)."""
    key = (base, stamp)
    if key in _BASE_LAST:
        return _BASE_LAST[key]
    last = last_stamp_ns(base)
    if len(_BASE_LAST) >= _BASE_LAST_MAX:
        _BASE_LAST.clear()
    _BASE_LAST[key] = last
    return last


def scan(base: Path, *, need_last: bool = False) -> Partition | None:
    """The partition whose base is ``base`` (None when there is no base): live deltas in order, dead ones apart.

    The base's footer is read only when delta files exist or ``need_last`` asks for the newest stamp.
    """
    try:
        stamp = file_stamp(base)
    except FileNotFoundError:
        return None
    listed = sorted(base.parent.iterdir())
    found = [d for p in listed if (d := parse_delta(p)) is not None]
    orphans = [p for p in listed if p.name.startswith(".") and p.name.endswith(".tmp")]
    if not found and not need_last:
        return Partition(base, stamp, (), tuple(orphans), None)
    base_last = base_last_ns(base, stamp)
    floor = base_last if base_last is not None else -(2**63)
    fresh = [d for d in found if d.first_ns > floor]
    live = sorted((d for d in fresh if not any(o.covers(d) for o in fresh)), key=lambda d: d.first_ns)
    for before, after in itertools.pairwise(live):
        if after.first_ns <= before.last_ns:
            raise DataError(
                f"delta files {before.path.name} and {after.path.name} of {base.parent} overlap; "
                "move the newer one aside and run the write again"
            )
    dead = tuple(orphans) + tuple(d.path for d in found if d not in live)
    return Partition(base, stamp, tuple(live), dead, base_last)


def merge_group(live: Sequence[Delta], fanout: int = FANOUT) -> tuple[Delta, ...]:
    """The oldest run of ``fanout`` consecutive live deltas that share a level (to merge into one), else nothing."""
    run: list[Delta] = []
    for d in live:
        run = [*run, d] if run and run[-1].level == d.level else [d]
        if len(run) == fanout:
            return tuple(run)
    return ()


def merged_delta(directory: Path, group: Sequence[Delta]) -> Delta:
    """The delta that replaces a merge group: its whole stamp range, one level up."""
    first, last, level = group[0].first_ns, group[-1].last_ns, group[0].level + 1
    return Delta(directory / delta_name(first, last, level), first, last, level)
