"""The delta-file naming and merge rules (pure: names and stamps only, no bars)."""

from __future__ import annotations

from pathlib import Path

from papertrader.data.deltas import FANOUT, Delta, delta_name, merge_group, merged_delta, parse_delta

DIR = Path("/lake/bars/interval=1m/symbol=SPY")


def delta(first: int, last: int, level: int = 0) -> Delta:
    return Delta(DIR / delta_name(first, last, level), first, last, level)


def test_a_delta_name_round_trips_and_other_files_are_not_deltas() -> None:
    assert parse_delta(DIR / delta_name(-5, 1_700_000_000_000_000_000, 2)) == delta(-5, 1_700_000_000_000_000_000, 2)
    for other in ("data.parquet", ".delta_1_2_0.parquet.abc.tmp", "delta_1_2.parquet", "delta_3_2_0.parquet"):
        assert parse_delta(DIR / other) is None, other


def test_same_level_deltas_merge_only_in_groups_of_the_fanout() -> None:
    zeros = [delta(i, i) for i in range(FANOUT)]
    assert merge_group(zeros[:-1]) == ()
    assert merge_group(zeros) == tuple(zeros)
    assert merge_group([delta(-10, -1, 1), *zeros[1:]]) == ()  # mixed levels wait for more appends
    merged = merged_delta(DIR, zeros)
    assert (merged.first_ns, merged.last_ns, merged.level) == (0, FANOUT - 1, 1)


def test_a_merged_file_covers_its_sources_and_not_its_neighbours() -> None:
    merged = delta(0, 7, 1)
    assert merged.covers(delta(3, 3)) and not merged.covers(merged)
    assert not merged.covers(delta(8, 8)) and not delta(3, 3).covers(merged)
