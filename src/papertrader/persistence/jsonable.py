"""Turn payloads holding Decimals, datetimes, enums and dataclasses into plain JSON values."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, TypeAlias
from uuid import UUID

import numpy as np

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None


def _key(key: object) -> str:
    if isinstance(key, Enum):
        return str(key.value)
    if isinstance(key, datetime | date | time):
        return key.isoformat()
    return str(key)


def to_jsonable(value: Any) -> JSONValue:
    """Convert a payload to JSON-safe values so events and configs persist on any database.

    Decimal -> plain-notation str (exact), datetime -> ISO 8601 (aware ones in UTC), date/time -> ISO,
    timedelta -> seconds, Enum -> its value, dataclass -> dict of fields, mapping -> dict with str keys,
    list/tuple -> list, set -> sorted list, numpy scalars/arrays -> Python values, non-finite floats -> None
    (JSON has no NaN). Anything else raises TypeError, so a bad payload fails loudly in tests.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Enum):
        return to_jsonable(value.value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return format(value, "f") if value.is_finite() else str(value)
    if isinstance(value, datetime):
        ts: datetime = value
        if ts.tzinfo is not None and ts.utcoffset() is not None:
            ts = ts.astimezone(UTC)
        return ts.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, UUID | PurePath):
        return str(value)
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {_key(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, set | frozenset):
        # Sorted by their JSON text, so the stored order does not depend on hash randomisation.
        return sorted((to_jsonable(v) for v in value), key=lambda v: json.dumps(v, sort_keys=True))
    raise TypeError(f"cannot store {type(value).__name__} as JSON: convert it in the event payload")
