"""Column types that never lose a cent or a timezone, whatever the database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import DateTime, Numeric, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

MONEY_PRECISION = 28
MONEY_SCALE = 10


def to_decimal(value: object) -> Decimal:
    """Coerce an exact number to Decimal, refusing floats and non-finite values that would corrupt money."""
    if isinstance(value, bool):
        raise TypeError("a bool is not a money amount")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        raise TypeError(f"money must be Decimal, not float ({value!r}): floats are not exact")
    else:
        raise TypeError(f"money must be Decimal, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"money must be finite, got {result}")
    return result


class Money(TypeDecorator[Decimal]):
    """Exact Decimal money: TEXT on SQLite (whose NUMERIC goes through float), NUMERIC(28, 10) elsewhere."""

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Pick the storage type per dialect, because SQLite would round-trip NUMERIC through float."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        """Validate and encode: plain-notation text on SQLite, the Decimal itself elsewhere."""
        if value is None:
            return None
        amount = to_decimal(value)
        if dialect.name == "sqlite":
            return format(amount, "f")
        return amount

    def process_result_value(self, value: Any | None, dialect: Dialect) -> Decimal | None:
        """Decode to Decimal exactly as it was stored."""
        if value is None:
            return None
        if isinstance(value, Decimal):
            return value
        return Decimal(str(value))

    @property
    def python_type(self) -> type[Decimal]:
        """The Python type this column holds."""
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, even on SQLite which keeps no timezone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        """Refuse naive times (their zone is a guess) and store everything as UTC."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: store timezone-aware datetimes only")
        utc = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return utc.replace(tzinfo=None)
        return utc

    def process_result_value(self, value: Any | None, dialect: Dialect) -> datetime | None:
        """Give back an aware UTC datetime whatever the driver returned."""
        if value is None:
            return None
        if not isinstance(value, datetime):
            value = datetime.fromisoformat(str(value))
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        """The Python type this column holds."""
        return datetime
