"""Numbers as the API shows them: stored values may be missing, strings, NaN or infinite; JSON takes none of that."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


def to_float(value: Any, default: float = 0.0) -> float:
    """A stored or payload number as a float, `default` when it is missing or not a number."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def finite(value: float) -> float:
    """Gross exposure is stored as inf when equity is not positive; JSON has no infinity."""
    return value if np.isfinite(value) else 0.0


def nan_to_null(value: Any) -> Any:
    """Stored JSON may hold NaN/inf floats (metrics of a flat run); JSON responses cannot."""
    if isinstance(value, Mapping):
        return {str(k): nan_to_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [nan_to_null(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
