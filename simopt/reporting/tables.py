"""Tables made ready for JSON and for people, once: the one place NaN becomes "no value".

pandas writes a missing number as NaN and numpy scalars as their own types; JSON has neither.
Every summary, report and web page takes its records from here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def clean(x: Any) -> Any:
    """A cell as plain JSON: NaN, pandas' NA and infinities → None, numpy scalars → Python
    numbers."""
    if x is None or x is pd.NA:
        return None
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def missing(x: Any) -> bool:
    """Whether a cell holds no value (None or NaN)."""
    return x is None or (isinstance(x, float | np.floating) and math.isnan(float(x)))


def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts with string keys; [] for no table."""
    if frame is None or frame.empty:
        return []
    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict("records")]


def records_by_index(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """A table keyed by its index (one measure per row): {index: {column: value}}."""
    return {
        str(i): {str(k): clean(v) for k, v in row.items()}
        for i, row in frame.to_dict("index").items()
    }
