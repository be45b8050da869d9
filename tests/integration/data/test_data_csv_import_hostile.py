"""Hostile or broken import files: bad symbols are refused before any write, a failed write is undone, a
truncated .gz, a header-only file and wrong columns each get a sentence that says what is wrong."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from papertrader.cli import app
from papertrader.core.clock import SimClock
from papertrader.core.errors import DataError
from papertrader.data import Lake
from papertrader.data.adapters.csv import import_file, parse_column_options
from papertrader.data.symbols import is_symbol
from support import SHARED as SHARED_DATA

SPY_1D = SHARED_DATA / "equity-us" / "1d" / "SPY.csv.gz"
pytestmark = pytest.mark.skipif(not SPY_1D.is_file(), reason=f"real bars not found at {SPY_1D}")
runner = CliRunner()


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake", clock=SimClock(datetime(2024, 1, 2, tzinfo=UTC)))


def _spy_rows(n: int) -> list[str]:
    """The header and the first n real SPY daily rows."""
    with gzip.open(SPY_1D, "rt") as fh:
        return [next(fh) for _ in range(n + 1)]


def _file(tmp_path: Path, rows: list[str], name: str = "bars.csv") -> Path:
    path = tmp_path / name
    path.write_text("".join(rows), encoding="utf-8")
    return path


def _as(symbol: str, rows: list[str]) -> list[str]:
    return [symbol + line[line.index(",") :] for line in rows]


def _partitions(lake: Lake) -> list[Path]:
    return sorted(lake.root.rglob("*.parquet")) if lake.root.exists() else []


@pytest.mark.parametrize("bad", ["X" * 5000, "<none>", "AAPL\u202e", "A/B", "../ETC", "AAPL BRK"])
def test_a_bad_symbol_refuses_the_whole_file_before_anything_is_written(lake: Lake, tmp_path: Path, bad: str) -> None:
    header, *rows = _spy_rows(6)
    path = _file(tmp_path, [header, *_as("GOOD", rows[:3]), *_as(bad, rows[3:])])
    with pytest.raises(DataError, match="invalid symbol") as refused:
        import_file(lake, path, symbol=None, interval="1d", tz=None)
    assert "nothing was imported" in str(refused.value) and len(str(refused.value)) < 400
    assert _partitions(lake) == []


def test_a_bad_symbol_option_is_refused_too(lake: Lake, tmp_path: Path) -> None:
    header, *rows = _spy_rows(3)
    path = _file(tmp_path, [header.replace("symbol,", ""), *(r[r.index(",") + 1 :] for r in rows)])
    with pytest.raises(DataError, match="--symbol"):
        import_file(lake, path, symbol="<none>", interval="1d", tz=None)
    assert import_file(lake, path, symbol="junk", interval="1d", tz=None).symbols == ("JUNK",)


def test_symbols_are_upper_cased_and_common_forms_accepted() -> None:
    for ok in ("AAPL", "BRK.B", "BRK-B", "RY.TO", "^GSPC", "EURUSD=X", "A" * 15):
        assert is_symbol(ok), ok
    for bad in ("", "aapl", "A" * 16, "<NONE>", ".X", "-X", "A B", "AAPL\u202e", "ÄPFEL"):
        assert not is_symbol(bad), bad


def test_a_write_that_fails_part_way_leaves_the_lake_as_it_was(
    lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    header, *rows = _spy_rows(6)
    import_file(lake, _file(tmp_path, [header, *_as("AAA", rows[:2])], "old.csv"), symbol=None, interval="1d", tz=None)
    before = lake.bars_path("AAA", "1d").read_bytes()
    calls: list[Path] = []
    real = Lake._write_partition

    def fail_on_second(frame: pd.DataFrame, path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(frame, path)

    monkeypatch.setattr(Lake, "_write_partition", staticmethod(fail_on_second))
    both = _file(tmp_path, [header, *_as("AAA", rows[:4]), *_as("BBB", rows[4:])], "new.csv")
    with pytest.raises(OSError, match="No space"):
        import_file(lake, both, symbol=None, interval="1d", tz=None)
    assert len(calls) == 2
    assert lake.bars_path("AAA", "1d").read_bytes() == before
    assert not lake.bars_path("BBB", "1d").exists()


def test_a_truncated_gzip_says_so(lake: Lake, tmp_path: Path) -> None:
    data = SPY_1D.read_bytes()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        import_file(lake, cut, symbol=None, interval="1d", tz=None)


def test_a_header_only_or_empty_file_is_an_error_not_zero_rows(lake: Lake, tmp_path: Path) -> None:
    header, *_ = _spy_rows(1)
    with pytest.raises(DataError, match="header but no rows"):
        import_file(lake, _file(tmp_path, [header]), symbol=None, interval="1d", tz=None)
    with pytest.raises(DataError, match="empty"):
        import_file(lake, _file(tmp_path, [], "empty.csv"), symbol=None, interval="1d", tz=None)


def test_column_options_parse_and_refuse_nonsense() -> None:
    assert parse_column_options(["close=Last", " Volume = Shares "]) == {"close": "Last", "volume": "Shares"}
    with pytest.raises(DataError, match="OURS=THEIRS"):
        parse_column_options(["close"])


def _cli(home: Path, *args: str) -> tuple[int, str]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PAPERTRADER_HOME", str(home))
        mp.setenv("COLUMNS", "200")
        result = runner.invoke(app, ["data", "import", "--source", "csv", *args])
    return result.exit_code, result.output


def test_the_cli_hint_names_an_option_that_exists_and_it_works(tmp_path: Path) -> None:
    header, *rows = _spy_rows(3)
    path = _file(tmp_path, [header.replace(",close,", ",Last,"), *rows])
    code, out = _cli(tmp_path / "home", "--path", str(path))
    assert code == 2 and "--column close=Last" in out
    code, out = _cli(tmp_path / "home", "--path", str(path), "--column", "close=Last")
    assert code == 0, out
    assert "imported 3 rows for SPY" in out


def test_the_cli_says_what_is_wrong_with_a_header_only_or_truncated_file(tmp_path: Path) -> None:
    header, *_ = _spy_rows(1)
    code, out = _cli(tmp_path / "home", "--path", str(_file(tmp_path, [header])))
    assert code == 2 and "header but no rows" in out and "imported 0 rows" not in out
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(SPY_1D.read_bytes()[:2000])
    code, out = _cli(tmp_path / "home", "--path", str(cut))
    assert code == 2 and "truncated" in out and "Aborted" not in out
    header, *rows = _spy_rows(4)
    mixed = _file(tmp_path, [header, *_as("GOOD", rows[:2]), *_as("X" * 5000, rows[2:])], "mixed.csv")
    code, out = _cli(tmp_path / "home", "--path", str(mixed))
    assert code == 2 and "invalid symbol" in out and "Traceback" not in out
    assert not list((tmp_path / "home" / "lake").rglob("*.parquet"))
