"""What the optimiser returns: a status and tidy tables, never bare solver ints."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd


class Status(StrEnum):
    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NOT_SOLVED = "not_solved"


SCHEDULE_COLUMNS = [
    "year",
    "group",
    "pool",
    "course",
    "funding_source",
    "enrolments",
    "cost_vnd",
]
ATTAINMENT_COLUMNS = [
    "target",
    "target_year",
    "year",
    "min_level",
    "attained_people",
    "base_people",
    "attained_share",
    "required_share",
    "required_count",
    "shortfall_people",
    "met",
]


@dataclass(frozen=True)
class Plan:
    """An enrolment schedule and what it achieves, in expectation.

    ``schedule`` has one row per intake year × pool × course × funding source: a cohort's
    enrolments and costs are split between sources by its group's funding shares, so sums over
    any columns stay right. ``cost_vnd`` counts tuition, class costs and every exam fee the cohort
    will pay (some fall in later years: see ``costs``).
    """

    scenario: str
    status: Status
    solver: str
    message: str
    ceiling_vnd: float | None = None
    integer_classes: bool = False
    total_cost_vnd: float | None = None
    schedule: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCHEDULE_COLUMNS))
    costs: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Long table: spending year, group, pool, course, item, funding_source, public, cost_vnd."""
    attainment: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ATTAINMENT_COLUMNS)
    )
    """Expected attainment of every target in every year (``met`` judged at the target's year)."""
    shadow_prices: pd.DataFrame = field(default_factory=pd.DataFrame)
    best_attainment: pd.DataFrame | None = None
    """When infeasible: the most the constraints allow (weighted shortfall minimised)."""
    smallest_ceiling_vnd: float | None = None
    """When a ceiling is too low: the smallest uniform yearly ceiling meeting every target."""
    lp_cost_vnd: float | None = None
    """With integer classes: the cost of the continuous relaxation, for the rounding premium."""
    cause: str | None = None
    """When infeasible, what binds first: "course" (one certifies nobody), "seats", "ceiling",
    "seats_and_ceiling" or "people" (the people available in time)."""

    @property
    def is_ok(self) -> bool:
        return self.status is Status.OPTIMAL

    @property
    def unmet_targets(self) -> list[str]:
        source = self.best_attainment if self.best_attainment is not None else self.attainment
        if source.empty:
            return []
        at_year = source[source["year"] == source["target_year"]]
        return sorted(at_year.loc[~at_year["met"].astype(bool), "target"].unique().tolist())

    def people_by_year(self) -> pd.DataFrame:
        return _sum(self.schedule, ["year"], "enrolments")

    def enrolments_by(self, *keys: str) -> pd.DataFrame:
        return _sum(self.schedule, list(keys), "enrolments")

    def totals_by_year(self) -> pd.DataFrame:
        """VND spent in each calendar year, all sources and public sources only."""
        if self.costs.empty:
            return pd.DataFrame(columns=["year", "cost_vnd", "public_cost_vnd"])
        total = _sum(self.costs, ["year"], "cost_vnd")
        public = _sum(self.costs[self.costs["public"]], ["year"], "cost_vnd")
        public.columns = pd.Index(["year", "public_cost_vnd"])
        out = total.merge(public, on="year", how="left").fillna({"public_cost_vnd": 0.0})
        out = out.merge(self.people_by_year(), on="year", how="left")
        return pd.DataFrame(out.fillna({"enrolments": 0.0}))

    def totals_by_phase(self, start_year: int, milestones: tuple[int, ...]) -> pd.DataFrame:
        """Enrolments (by intake year) and VND (by spending year) per phase up to a milestone."""
        rows: list[dict[str, Any]] = []
        if self.schedule.empty:
            return pd.DataFrame(
                columns=["phase", "first_year", "last_year", "enrolments", "cost_vnd"]
            )
        first = start_year
        bounds = list(milestones)
        last_cost_year = int(self.costs["year"].max()) if not self.costs.empty else bounds[-1]
        if last_cost_year > bounds[-1]:
            bounds.append(last_cost_year)
        lo = first
        for hi in bounds:
            sched = self.schedule[(self.schedule["year"] >= lo) & (self.schedule["year"] <= hi)]
            costs = self.costs[(self.costs["year"] >= lo) & (self.costs["year"] <= hi)]
            rows.append(
                {
                    "phase": f"{lo}–{hi}",
                    "first_year": lo,
                    "last_year": hi,
                    "enrolments": float(sched["enrolments"].sum()),
                    "cost_vnd": float(costs["cost_vnd"].sum()),
                }
            )
            lo = hi + 1
        return pd.DataFrame(rows)

    def totals_by_source(self) -> pd.DataFrame:
        if self.costs.empty:
            return pd.DataFrame(columns=["funding_source", "public", "cost_vnd"])
        return _sum(self.costs, ["funding_source", "public"], "cost_vnd")


def _sum(frame: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*keys, column])
    return pd.DataFrame(frame.groupby(keys, as_index=False).agg({column: "sum"}))
