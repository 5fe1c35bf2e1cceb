"""The layer's two tables for commands whose experiments are whole plans (``compare``, the
``ceilings`` frontier): one row per experiment with what defines it, and the long outcome table
(experiment, outcome, value, status) that ``sweep`` writes, so an analyst reads every command's
results the same way."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from simopt.experiments.store import OUTCOME_COLUMNS


def _number(value: Any) -> float | None:
    """A measure's number; None for text, flags and missing values (they stay in the wide
    table the command writes beside these)."""
    if isinstance(value, bool | np.bool_) or value is None:
        return None
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    return None


def long_outcomes(rows: Sequence[Mapping[str, Any]], statuses: Sequence[str]) -> pd.DataFrame:
    """Each experiment's numeric measures, in order, with its status beside every one."""
    out: list[tuple[int, str, float, str]] = []
    for experiment, (row, status) in enumerate(zip(rows, statuses, strict=True)):
        for name, value in row.items():
            number = _number(value)
            if number is not None:
                out.append((experiment, str(name), number, status))
    frame = pd.DataFrame(out, columns=OUTCOME_COLUMNS)
    frame["experiment"] = frame["experiment"].astype(np.int64)
    frame["value"] = frame["value"].astype(float)
    return frame


def experiments_table(rows: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """What defines each experiment, numbered 0, 1, … in order."""
    frame = pd.DataFrame([dict(r) for r in rows])
    frame.insert(0, "experiment", np.arange(len(frame), dtype=np.int64))
    return frame


def ceilings_tables(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frontier's rows as experiments (each ceiling; how it was found) and outcomes."""
    defining = [c for c in ("ceiling_vnd", "found_by") if c in table.columns]
    records = [{str(k): v for k, v in r.items()} for r in table.to_dict("records")]
    status_column = "robust_status" if "robust_status" in table.columns else "status"
    statuses = [str(r.get(status_column, "")) for r in records]
    measures = [{k: v for k, v in r.items() if k not in defining} for r in records]
    return (
        experiments_table([{k: r[k] for k in defining} for r in records]),
        long_outcomes(measures, statuses),
    )


def compare_tables(
    table: pd.DataFrame, definitions: Sequence[Mapping[str, Any]]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A comparison's columns as experiments (``definitions``: name, file, the overrides) and
    its measures as outcomes."""
    columns = [str(c) for c in table.columns]
    measures = [{str(k): v for k, v in table[c].items()} for c in table.columns]
    statuses = [str(m.get("status", "")) for m in measures]
    named = [
        {"name": c, **{k: v for k, v in d.items() if k != "name"}}
        for c, d in zip(columns, definitions, strict=True)
    ]
    return experiments_table(named), long_outcomes(measures, statuses)
