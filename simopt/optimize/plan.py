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


SOURCE_PREFIX = "cost_vnd:"
"""A schedule's money columns per funding source: ``cost_vnd:state_budget``."""

SCHEDULE_COLUMNS = [
    "year",
    "group",
    "pool",
    "course",
    "enrolments",
    "cost_vnd",
    "public_cost_vnd",
]
"""The columns every schedule starts with; one ``cost_vnd:<source>`` column per funding source
follows (:func:`schedule_columns`)."""

COST_COLUMNS = ["year", "group", "pool", "course", "item", "funding_source", "public", "cost_vnd"]
CLASSES_COLUMNS = ["year", "course", "trainees", "class_size", "classes"]


def schedule_columns(source_ids: tuple[str, ...] | list[str]) -> list[str]:
    """A schedule's columns for these funding sources."""
    return [*SCHEDULE_COLUMNS, *(f"{SOURCE_PREFIX}{s}" for s in source_ids)]


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

    ``schedule`` has one row per intake year × pool × course with enrolments: ``enrolments`` (whole
    people in a whole-people plan), ``cost_vnd`` (everything the cohort costs: tuition, its part
    of the classes and every exam fee it will pay, some in later years: see ``costs``),
    ``public_cost_vnd`` (the public sources' part) and one ``cost_vnd:<source>`` column per
    funding source. ``classes`` has one row per intake year × course with trainees.

    When the targets cannot all be met (status "infeasible") and the solver found the schedule
    that comes closest under every limit, that **best-effort** schedule is carried in the same
    fields with ``best_effort`` True: it is not a plan meeting the targets, and its cost is
    ``best_effort_cost_vnd`` (``total_cost_vnd`` is the cost of a plan that meets them only).
    """

    scenario: str
    status: Status
    solver: str
    message: str
    ceiling_vnd: float | None = None
    integer: bool = False
    """Whole people and whole classes (a MILP) rather than the continuous relaxation."""
    total_cost_vnd: float | None = None
    schedule: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCHEDULE_COLUMNS))
    costs: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=COST_COLUMNS))
    """Long table: spending year, group, pool, course, item, funding_source, public, cost_vnd."""
    attainment: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ATTAINMENT_COLUMNS)
    )
    """Expected attainment of every target in every year (``met`` judged at the target's year)."""
    classes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=CLASSES_COLUMNS))
    """year, course, trainees, class_size, classes: whole classes in a whole-people plan; in a
    continuous plan the fraction of a class its cost pays for; empty without a class size."""
    shadow_prices: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Marginal costs of the targets and ceilings (of the continuous relaxation in a
    whole-people plan: a MILP has no duals), and the availability and seat limits the schedule
    sits on (unpriced, NaN, in a whole-people plan)."""
    best_attainment: pd.DataFrame | None = None
    """When infeasible: the most the constraints allow (weighted shortfall minimised)."""
    smallest_ceiling_vnd: float | None = None
    """When a ceiling is too low: the smallest uniform yearly ceiling meeting every target."""
    lp_cost_vnd: float | None = None
    """In a whole-people plan: the cost of the continuous relaxation, a bound on any plan's."""
    rounding_premium_vnd: float | None = None
    """In a whole-people plan: what whole people and classes cost over the continuous
    relaxation (≥ 0; in the objective's VND, discounted when a discount rate is set)."""
    mip_gap: float | None = None
    """HiGHS's relative gap between the whole-people schedule and its bound on the best one
    (None for CBC): the schedule is at most this much dearer than the optimum."""
    mip_bound_vnd: float | None = None
    """HiGHS's bound on the best whole-people objective, VND (≥ the continuous cost)."""
    best_effort: bool = False
    """The schedule fields hold the best-effort schedule of an infeasible problem."""
    best_effort_cost_vnd: float | None = None
    cause: str | None = None
    """When infeasible, what binds first: "course" (one certifies nobody), "seats", "ceiling"
    (the yearly public ceiling), "source_ceiling" (a funding source's yearly ceiling),
    "envelope" (a ceiling over a span of years, or the total), "ceilings" (several ceilings
    together), "seats_and_ceiling", "rounding" (only whole people fail) or "people" (the people
    available in time)."""

    @property
    def schedule_kind(self) -> str:
        """ "whole_people", "continuous", "best_effort" or "none" (no schedule)."""
        if self.best_effort:
            return "best_effort"
        if not self.is_ok:
            return "none"
        return "whole_people" if self.integer else "continuous"

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
        """Enrolments (people entering a course) per intake year: year, enrolments."""
        return _sum(self.schedule, ["year"], "enrolments")

    def enrolments_by(self, *keys: str) -> pd.DataFrame:
        """Enrolments summed by any schedule columns (``"year", "course"``, ``"group"``, …)."""
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
        """Enrolments (by intake year) and VND (by spending year: all sources, and public) per
        phase up to a milestone; the exam fees falling after the horizon make a last phase."""
        rows: list[dict[str, Any]] = []
        if self.schedule.empty and self.costs.empty:
            return pd.DataFrame(
                columns=[
                    "phase",
                    "first_year",
                    "last_year",
                    "enrolments",
                    "cost_vnd",
                    "public_cost_vnd",
                ]
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
                    "public_cost_vnd": float(costs.loc[costs["public"], "cost_vnd"].sum()),
                }
            )
            lo = hi + 1
        return pd.DataFrame(rows)

    def totals_by_source(self) -> pd.DataFrame:
        """VND per funding source over all years: funding_source, public, cost_vnd."""
        if self.costs.empty:
            return pd.DataFrame(columns=["funding_source", "public", "cost_vnd"])
        return _sum(self.costs, ["funding_source", "public"], "cost_vnd")


def _sum(frame: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=[*keys, column])
    return pd.DataFrame(frame.groupby(keys, as_index=False).agg({column: "sum"}))
