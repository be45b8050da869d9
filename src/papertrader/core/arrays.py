"""The numpy array aliases every package annotates with, declared once (the only module of core that needs numpy).

`Array` is the float64 vector or matrix of prices, features, weights and probabilities; `FloatArray` is the same
type under the name some modules use; `IntArray` and `BoolArray` are index and mask arrays.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.float64]
FloatArray = Array
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

__all__ = ["Array", "BoolArray", "FloatArray", "IntArray"]
