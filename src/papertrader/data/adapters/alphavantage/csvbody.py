"""CSV answers (``datatype=csv``): a header and rows, with a cut-off last line detected as truncation."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from papertrader.core.errors import DataError, TemporaryError


class TruncatedBodyError(TemporaryError):
    """The answer ended mid-row (a cut connection): fetch it again."""


@dataclass(frozen=True)
class CsvTable:
    """A CSV answer's lower-cased header and its rows (strings), in the vendor's order."""

    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def column(self, *names: str) -> int | None:
        """The index of the first header matching one of `names`, if any."""
        for name in names:
            if name in self.header:
                return self.header.index(name)
        return None


def read_csv_table(body: str, *, partial_ok: bool = False) -> CsvTable:
    """Split a CSV body; a malformed unterminated last row is truncation (dropped only if `partial_ok`)."""
    try:
        records = list(csv.reader(io.StringIO(body.replace("\x00", ""))))
    except csv.Error as exc:
        raise DataError(f"Alpha Vantage CSV body is not valid CSV: {exc}") from None
    records = [r for r in records if any(cell.strip() for cell in r)]
    if not records:
        raise DataError("Alpha Vantage CSV body has no header")
    header = tuple(cell.strip().lower() for cell in records[0])
    rows = [tuple(cell.strip() for cell in r) for r in records[1:]]
    terminated = body.endswith(("\n", "\r"))
    if rows and len(rows[-1]) != len(header) and not terminated:
        if not partial_ok:
            raise TruncatedBodyError("Alpha Vantage CSV body ends mid-row (truncated transfer); retry the request")
        rows = rows[:-1]
    for number, row in enumerate(rows, start=2):
        if len(row) != len(header):
            raise DataError(f"Alpha Vantage CSV line {number} has {len(row)} fields but the header has {len(header)}")
    return CsvTable(header, tuple(rows))
