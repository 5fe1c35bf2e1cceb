"""Planned against actual, year by year: what a re-plan tells the planner about the past.

*Planned* is the optimiser's expected plan of the scenario as written (``simopt optimize``: whole
people, every target met in expectation at the least cost), read for the past years: its
enrolments, the exam passes it expects and its spending. *Actual* is the scenario's record.
Each row names its basis, so a figure the record does not hold is never mistaken for one it
does. Past targets are judged on a survey at the end of their year where every pool they count
was surveyed, else on the projection of the recorded enrolments.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from simopt.dynamics import Dynamics
from simopt.scenario import Scenario

FloatArray = np.ndarray[Any, np.dtype[np.float64]]

VARIANCE_COLUMNS = ["year", "measure", "planned", "actual", "difference", "basis", "source"]
TARGET_COLUMNS = [
    "target",
    "year",
    "min_level",
    "required_share",
    "planned_share",
    "actual_share",
    "gap_points",
    "met",
    "basis",
]


def expected_passes(d: Dynamics, enrol: FloatArray) -> FloatArray:
    """Expected exam passes by horizon year of a schedule (years × pools × courses), every
    sitting counted when it is passed (those who leave before the year's end included, as an
    exam centre counts them)."""
    n_y = len(d.years)
    passes = np.zeros(n_y + 8)
    for y0, p, c in zip(*np.nonzero(enrol), strict=True):
        x = float(enrol[y0, p, c])
        not_passed = 1.0
        for sp in d.sittings[c]:
            got = (
                x * float(d.completion[c]) * not_passed * d.survival(int(p), sp.months_after_intake)
            )
            passes[int(y0) + sp.year_offset] += got * sp.pass_probability
            not_passed *= 1.0 - sp.pass_probability
    return passes[:n_y]


def schedule_cube(d: Dynamics, schedule: pd.DataFrame) -> FloatArray:
    """A plan's schedule table as (years × pools × courses)."""
    cube = np.zeros((len(d.years), d.n_pools, d.n_courses))
    for year, pool, course, n in zip(
        schedule["year"].astype(int),
        schedule["pool"].astype(str),
        schedule["course"].astype(str),
        schedule["enrolments"].astype(float),
        strict=True,
    ):
        cube[d.years.index(year), d.pool_index(pool), d.course_ids.index(course)] += n
    return cube


def variance_table(
    s: Scenario,
    d: Dynamics,
    past: tuple[int, ...],
    planned_schedule: pd.DataFrame,
    planned_costs: pd.DataFrame,
    actual_enrol: FloatArray,
) -> pd.DataFrame:
    """Per past year: enrolments, exam passes and spending, planned and actual."""
    assert s.actuals is not None
    planned = schedule_cube(d, planned_schedule)
    planned_passes = expected_passes(d, planned)
    rows: list[dict[str, Any]] = []
    for yi, year in enumerate(past):
        rec = s.actuals.years.get(year)
        here = f"actuals.years.{year}"

        def add(
            measure: str,
            plan_value: float,
            actual: float | None,
            part: str,
            year: int = year,
            here: str = here,
        ) -> None:
            source = s.provenance.sources_under(f"{here}.{part}") if actual is not None else ""
            rows.append(
                {
                    "year": year,
                    "measure": measure,
                    "planned": plan_value,
                    "actual": math.nan if actual is None else actual,
                    "difference": math.nan if actual is None else actual - plan_value,
                    "basis": "recorded" if actual is not None else "not recorded",
                    "source": source,
                }
            )

        recorded = rec is not None and rec.enrolments is not None
        add(
            "enrolments",
            float(planned[yi].sum()),
            float(actual_enrol[yi].sum()) if recorded else None,
            "enrolments",
        )
        exams = None if rec is None or rec.exams is None else rec.exams
        add(
            "exam_passes",
            float(planned_passes[yi]),
            float(sum(r.passed for r in exams.values())) if exams is not None else None,
            "exams",
        )
        spending = None if rec is None or rec.spending_vnd is None else rec.spending_vnd
        costs = planned_costs[planned_costs["year"] == year]
        if spending is not None:
            # compare the sources the record covers, no more
            costs = costs[costs["funding_source"].isin(list(spending))]
        add(
            "spending_vnd",
            float(costs["cost_vnd"].sum()),
            math.fsum(spending.values()) if spending is not None else None,
            "spending_vnd",
        )
    return pd.DataFrame(rows, columns=VARIANCE_COLUMNS)


def past_target_table(
    s: Scenario,
    d: Dynamics,
    from_year: int,
    planned_attainment: pd.DataFrame,
    projected_levels: FloatArray,
) -> pd.DataFrame:
    """Each target of a past year: what the plan expected, what happened, and the gap."""
    assert s.actuals is not None
    rows: list[dict[str, Any]] = []
    for tid, t in s.targets.items():
        if t.year >= from_year:
            continue
        pools = [d.pool_index(pid) for pid in s.target_pools(t)]
        yi = d.years.index(t.year)
        rec = s.actuals.years.get(t.year)
        surveyed = rec is not None and rec.certified is not None
        levels = projected_levels[yi].copy()
        basis = "projected from recorded enrolments"
        certified = rec.certified if surveyed and rec is not None else None
        if certified is not None and all(d.pool_ids[p] in certified for p in pools):
            assert rec is not None
            basis = f"survey {t.year}"
            for p in pools:
                pid = d.pool_ids[p]
                row = np.zeros(levels.shape[1])
                for lvl, n in certified[pid].items():
                    row[lvl] = n
                counted = (rec.headcount or {}).get(pid)
                # not counted that year: the projection's head count
                total = float(projected_levels[yi, p].sum()) if counted is None else counted
                row[0] += total - row.sum()
                levels[p] = row
        attained = float(levels[pools, t.min_level :].sum())
        base = float(levels[pools].sum())
        actual = attained / base if base > 0 else math.nan
        plan_row = planned_attainment[
            (planned_attainment["target"] == tid) & (planned_attainment["year"] == t.year)
        ]
        planned = float(plan_row["attained_share"].iloc[0]) if len(plan_row) else math.nan
        required = float(t.required(base))
        rows.append(
            {
                "target": tid,
                "year": t.year,
                "min_level": t.min_level,
                "required_share": t.share,
                "planned_share": planned,
                "actual_share": actual,
                "gap_points": 100.0 * (actual - planned),
                "met": attained >= required - 1e-9,
                "basis": basis,
            }
        )
    return pd.DataFrame(rows, columns=TARGET_COLUMNS)
