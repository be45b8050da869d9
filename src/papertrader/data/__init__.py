"""Market data: a validated Parquet lake queried through DuckDB, and the adapters that fill it."""

from papertrader.data.quality import QualityResult, validate_bars
from papertrader.data.store import Lake, WriteReport

__all__ = ["Lake", "QualityResult", "WriteReport", "validate_bars"]
