"""Persistence: SQLAlchemy 2 schema and the run repository; SQLite in WAL mode by default, any URL works."""

from papertrader.persistence.db import SQLITE_BEGIN_OPTION, init_db, is_sqlite_memory, make_engine
from papertrader.persistence.jsonable import JSONValue, to_jsonable
from papertrader.persistence.models import (
    Base,
    EquityModel,
    EventModel,
    FillModel,
    OrderModel,
    PositionModel,
    RunMode,
    RunModel,
    RunStatus,
)
from papertrader.persistence.repository import (
    EQUITY_COLUMNS,
    CycleRecord,
    RecordConflictError,
    RunExistsError,
    RunInfo,
    RunNotFoundError,
    RunRepository,
    RunRow,
)
from papertrader.persistence.types import Money, UTCDateTime, to_decimal

__all__ = [
    "EQUITY_COLUMNS",
    "SQLITE_BEGIN_OPTION",
    "Base",
    "CycleRecord",
    "EquityModel",
    "EventModel",
    "FillModel",
    "JSONValue",
    "Money",
    "OrderModel",
    "PositionModel",
    "RecordConflictError",
    "RunExistsError",
    "RunInfo",
    "RunMode",
    "RunModel",
    "RunNotFoundError",
    "RunRepository",
    "RunRow",
    "RunStatus",
    "UTCDateTime",
    "init_db",
    "is_sqlite_memory",
    "make_engine",
    "to_decimal",
    "to_jsonable",
]
