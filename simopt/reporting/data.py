"""What a report is about, gathered once from a run's results: plain tables, no language.

The workbook, the charts and the HTML report all render a :class:`ReportData`; none of them
reads the optimiser's or the simulator's objects. Tables use the tool's tidy column names and
units in their names (``cost_vnd``, ``share``); renderers translate headers through the catalogue.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from simopt.evidence import Evidence
    from simopt.optimize.plan import Plan
    from simopt.plan import RobustPlan
    from simopt.replan import Replan
    from simopt.scenario import Scenario
    from simopt.simulate.run import SimulationResult

SOURCE_PREFIX = "cost_vnd:"
"""Schedule columns holding one funding source's money: ``cost_vnd:state_budget``."""


@dataclass(frozen=True)
class Phase:
    label: str
    first_year: int
    last_year: int


@dataclass(frozen=True)
class FundingSourceInfo:
    id: str
    name: str
    public: bool


@dataclass(frozen=True)
class ReportData:
    """One run's answer, ready to render in any language."""

    kind: str
    """"plan" (robust plan, with probabilities) or "optimize" (expected value only)."""
    scenario: str
    title: str
    status: str
    """"met", "optimal", "infeasible", "unreachable", …: the library's status word."""
    message: str
    """The library's own sentence about the status (English; renderers may show it as detail)."""
    question: dict[str, Any]
    """What was asked: confidence, joint, uncertainty, replications, seed, ceiling_vnd_per_year."""
    start_year: int
    end_year: int
    phases: tuple[Phase, ...]
    sources: tuple[FundingSourceInfo, ...]
    total_cost_vnd: float | None
    """All sources, the plan reported (robust plan for ``plan``)."""
    public_cost_vnd: float | None
    schedule: pd.DataFrame
    """year, group, pool, course, enrolments (whole people), cost_vnd, public_cost_vnd and one
    ``cost_vnd:<source>`` column per funding source."""
    classes: pd.DataFrame
    """year, course, trainees, class_size, classes (empty when the run has no classes)."""
    budget: pd.DataFrame
    """Spending by the year it falls in: year, funding_source, public, cost_vnd (long)."""
    ceilings: pd.DataFrame
    """year, ceiling_vnd: the yearly public ceiling in force (no rows when there is none)."""
    targets: pd.DataFrame
    """One row per target at its year: target, label, year, min_level, required_share,
    required_count, base_people, expected_people, expected_share, probability_met,
    probability_low95, probability_high95, met (probabilities NaN for ``optimize``)."""
    trajectory: pd.DataFrame
    """One row per target and year: target, year, mean_share, share_low95, share_high95,
    required_share, target_year (bands NaN when not simulated)."""
    joint: pd.DataFrame
    """scope, targets, probability_all_met, probability_all_met_low95 and _high95."""
    assumptions: pd.DataFrame
    """path, value, low, high, distribution, source: every number of the scenario with its source
    and, when it is drawn, its range."""
    best_effort: bool = False
    smallest_ceiling_vnd: float | None = None
    """When a ceiling is too low: the smallest uniform yearly ceiling meeting every target."""
    """The schedule is the least shortfall the limits allow, not a plan meeting the targets."""
    expected_cost_vnd: float | None = None
    """The expected-value (minimum-cost) plan's cost, beside a robust plan's."""
    lp_cost_vnd: float | None = None
    """The continuous relaxation's cost, when the schedule is whole people."""
    drivers: pd.DataFrame = field(default_factory=pd.DataFrame)
    price: pd.DataFrame = field(default_factory=pd.DataFrame)
    frontier: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()
    replan_from_year: int | None = None
    """A re-plan (``simopt plan --from-year``): the first year planned; the years before it are
    the record. None for every other run, which then renders as it always has."""
    planned_vs_actual: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Long: year, measure (enrolments, exam_passes, spending_vnd), planned, actual (NaN: not
    recorded), difference, basis, source — :func:`simopt.variance.variance_table`."""
    past_targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    """target, year, min_level, required_share, planned_share, actual_share, gap_points, met,
    basis: each target of a past year judged on the record."""
    replan_notes: tuple[str, ...] = ()
    """The re-plan's own sentences (English) on what came from where."""
    record_illustrative: bool = False
    """The record is made up to show the method, not a province's results."""
    people_in_training: float | None = None
    """People in a course or waiting for a sitting on 1 January of ``replan_from_year``."""

    @property
    def rounding_premium_vnd(self) -> float | None:
        if self.lp_cost_vnd is None or self.total_cost_vnd is None:
            return None
        return self.total_cost_vnd - self.lp_cost_vnd

    @property
    def source_columns(self) -> list[str]:
        return [c for c in self.schedule.columns if str(c).startswith(SOURCE_PREFIX)]

    def phase_of(self, year: int) -> Phase | None:
        for p in self.phases:
            if p.first_year <= year <= p.last_year:
                return p
        return None

    def budget_by_year(self) -> pd.DataFrame:
        """Wide: one row per spending year, one column per funding source (VND), with totals."""
        ids = [s.id for s in self.sources]
        if self.budget.empty:
            return pd.DataFrame(columns=["year", *ids, "public_cost_vnd", "cost_vnd"])
        wide = self.budget.pivot_table(
            index="year", columns="funding_source", values="cost_vnd", aggfunc="sum", fill_value=0.0
        )
        wide = wide.reindex(columns=ids, fill_value=0.0)
        public = [s.id for s in self.sources if s.public]
        wide["public_cost_vnd"] = wide[public].sum(axis=1)
        wide["cost_vnd"] = wide[ids].sum(axis=1)
        return wide.reset_index()


def phases_of(scenario: Scenario, last_cost_year: int | None = None) -> tuple[Phase, ...]:
    """The programme's phases up to each milestone; exam fees falling after the horizon (retakes)
    make a last phase of their own so that the phases' totals add up to the plan's."""
    h = scenario.horizon
    out: list[Phase] = []
    lo = h.start_year
    for hi in h.milestones:
        out.append(Phase(_span(lo, hi), lo, hi))
        lo = hi + 1
    if h.end_year >= lo:
        out.append(Phase(_span(lo, h.end_year), lo, h.end_year))
        lo = h.end_year + 1
    if last_cost_year is not None and last_cost_year >= lo:
        out.append(Phase(_span(lo, last_cost_year), lo, last_cost_year))
    return tuple(out)


def _span(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}–{last}"


def whole_schedule(schedule: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """A schedule with one row per year × pool × course and money columns per funding source.

    Schedules split by funding source (one row per source, each with its share of the people)
    are folded back: people summed, money spread into ``cost_vnd:<source>`` columns.
    """
    keys = ["year", "group", "pool", "course"]
    if schedule.empty:
        cols = [*keys, "enrolments", "cost_vnd", "public_cost_vnd"]
        return pd.DataFrame(columns=cols + [SOURCE_PREFIX + s for s in scenario.funding_sources])
    if "funding_source" not in schedule.columns:
        return schedule.reset_index(drop=True)
    people = schedule.groupby(keys, as_index=False)["enrolments"].sum()
    money = schedule.pivot_table(
        index=keys, columns="funding_source", values="cost_vnd", aggfunc="sum", fill_value=0.0
    )
    money = money.reindex(columns=list(scenario.funding_sources), fill_value=0.0)
    public = [k for k, v in scenario.funding_sources.items() if v.public]
    money["public_cost_vnd"] = money[public].sum(axis=1)
    money["cost_vnd"] = money[list(scenario.funding_sources)].sum(axis=1)
    money = money.rename(columns={k: SOURCE_PREFIX + k for k in scenario.funding_sources})
    out = people.merge(money.reset_index(), on=keys)
    ordered = [*keys, "enrolments", "cost_vnd", "public_cost_vnd"]
    ordered += [SOURCE_PREFIX + k for k in scenario.funding_sources]
    return pd.DataFrame(out[ordered])


def _budget(plan: Plan) -> pd.DataFrame:
    if plan.costs.empty:
        return pd.DataFrame(columns=["year", "funding_source", "public", "cost_vnd"])
    out = plan.costs.groupby(["year", "funding_source", "public"], as_index=False)["cost_vnd"].sum()
    return pd.DataFrame(out)


def _ceilings(scenario: Scenario, years: list[int], ceiling_vnd: float | None) -> pd.DataFrame:
    rows = []
    for y in years:
        cap = ceiling_vnd if ceiling_vnd is not None else scenario.budget.ceiling_for(y)
        if cap is not None:
            rows.append({"year": y, "ceiling_vnd": float(cap)})
    return pd.DataFrame(rows, columns=["year", "ceiling_vnd"])


def assumptions_table(scenario: Scenario) -> pd.DataFrame:
    """Every sourced number of the scenario: path, value, its range when drawn, and its source."""
    from simopt.uncertain.spec import uncertainty_table

    ranged = uncertainty_table(scenario.uncertainties).set_index("path")
    rows = []
    for path, source in scenario.provenance.sources.items():
        row: dict[str, Any] = {"path": path, "value": _value_at(scenario, path)}
        if path in ranged.index:
            r = ranged.loc[path]
            row.update(low=r["low"], high=r["high"], distribution=r["distribution"])
        else:
            row.update(low=math.nan, high=math.nan, distribution="")
        row["source"] = source
        rows.append(row)
    for path in ranged.index.difference(list(scenario.provenance.sources)):
        r = ranged.loc[path]
        rows.append(
            {
                "path": path,
                "value": r["value"],
                "low": r["low"],
                "high": r["high"],
                "distribution": r["distribution"],
                "source": r["source"],
            }
        )
    cols = ["path", "value", "low", "high", "distribution", "source"]
    return pd.DataFrame(rows, columns=cols)


def _value_at(scenario: Scenario, path: str) -> Any:
    """The scenario's value at a dotted path (a table of level shares is shown as text)."""
    node: Any = scenario
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part, node.get(int(part)) if part.isdigit() else None)
        elif isinstance(node, tuple | list):
            # milestones.0, promotions.1.rate_per_year: an item of a sequence, by its index
            node = node[int(part)] if part.isdigit() and int(part) < len(node) else None
        else:
            node = getattr(node, part, None)
        if node is None:
            return None
    if isinstance(node, dict):
        return ", ".join(
            f"{k}: {v:g}" if isinstance(v, float) else f"{k}: {v}" for k, v in node.items()
        )
    if isinstance(node, tuple | list):
        return ", ".join(str(v) for v in node)
    if isinstance(node, bool | int | float | str):
        return node
    return str(node)


def _targets(
    scenario: Scenario, plan: Plan, sim: SimulationResult | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    att = plan.attainment if plan.is_ok or plan.best_attainment is None else plan.best_attainment
    rows = []
    traj = []
    simmed = None
    if sim is not None:
        simmed = sim.summary.set_index(["target", "year"])
    for r in att.to_dict("records"):
        tid = str(r["target"])
        t = scenario.targets[tid]
        key = (tid, int(r["year"]))
        s: Any = simmed.loc[key] if simmed is not None and key in simmed.index else None
        traj.append(
            {
                "target": tid,
                "year": int(r["year"]),
                "target_year": int(r["target_year"]),
                "mean_share": float(s["mean_share"]) if s is not None else r["attained_share"],
                "share_low95": float(s["share_low95"]) if s is not None else math.nan,
                "share_high95": float(s["share_high95"]) if s is not None else math.nan,
                "required_share": t.share if t.share is not None else math.nan,
            }
        )
        if int(r["year"]) != int(r["target_year"]):
            continue
        rows.append(
            {
                "target": tid,
                "label": t.label or tid,
                "year": int(r["year"]),
                "min_level": t.min_level,
                "required_share": t.share if t.share is not None else math.nan,
                "required_count": float(t.min_count) if t.min_count is not None else math.nan,
                "base_people": float(r["base_people"]),
                "expected_people": float(r["attained_people"]),
                "expected_share": float(r["attained_share"]),
                "probability_met": float(s["probability_met"]) if s is not None else math.nan,
                "probability_low95": float(s["probability_met_low95"])
                if s is not None
                else math.nan,
                "probability_high95": float(s["probability_met_high95"])
                if s is not None
                else math.nan,
                "met": bool(r["met"]),
            }
        )
    return pd.DataFrame(rows), pd.DataFrame(traj)


def _common(scenario: Scenario, plan: Plan, ceiling_vnd: float | None) -> dict[str, Any]:
    budget = _budget(plan)
    last = int(budget["year"].max()) if not budget.empty else None
    years = sorted(set(budget["year"].astype(int))) if not budget.empty else []
    public = float(budget.loc[budget["public"].astype(bool), "cost_vnd"].sum()) if years else None
    classes = getattr(plan, "classes", None)
    return {
        "scenario": scenario.name,
        "title": scenario.title or scenario.name,
        "start_year": scenario.horizon.start_year,
        "end_year": scenario.horizon.end_year,
        "phases": phases_of(scenario, last),
        "sources": tuple(
            FundingSourceInfo(k, v.name, v.public) for k, v in scenario.funding_sources.items()
        ),
        "schedule": whole_schedule(plan.schedule, scenario),
        "classes": classes if isinstance(classes, pd.DataFrame) else pd.DataFrame(),
        "budget": budget,
        "ceilings": _ceilings(scenario, years, ceiling_vnd),
        "assumptions": assumptions_table(scenario),
        "public_cost_vnd": public,
        # a best-effort schedule (targets out of reach) is costed too, and marked as such
        "total_cost_vnd": plan.total_cost_vnd
        if plan.total_cost_vnd is not None
        else getattr(plan, "best_effort_cost_vnd", None),
        "best_effort": bool(getattr(plan, "best_effort", False)),
        "smallest_ceiling_vnd": plan.smallest_ceiling_vnd,
        "lp_cost_vnd": plan.lp_cost_vnd,
    }


def from_optimize(plan: Plan, scenario: Scenario) -> ReportData:
    """An optimiser's run: expected attainment only, no probabilities."""
    targets, trajectory = _targets(scenario, plan, None)
    return ReportData(
        kind="optimize",
        status=str(plan.status),
        message=plan.message,
        question={"ceiling_vnd_per_year": plan.ceiling_vnd, "solver": plan.solver},
        targets=targets,
        trajectory=trajectory,
        joint=pd.DataFrame(),
        **_common(scenario, plan, plan.ceiling_vnd),
    )


def from_robust(
    r: RobustPlan,
    scenario: Scenario,
    evidence: Evidence | None = None,
    *,
    ceiling_vnd: float | None = None,
) -> ReportData:
    """A robust plan's run: the robust plan (or, when there is none, the expected-value plan)
    judged on its fresh sample, with what it rests on."""
    plan = r.robust if r.robust is not None and r.robust.is_ok else r.expected
    judged = r.confirmed or r.after if plan is r.robust else r.before
    targets, trajectory = _targets(scenario, plan, judged)
    joint = judged.joint if judged is not None and judged.joint is not None else pd.DataFrame()
    return ReportData(
        kind="plan",
        status=r.status,
        message=r.message,
        question={
            "confidence": r.confidence,
            "joint": r.joint,
            "uncertainty": r.uncertainty,
            "replications": judged.reps if judged is not None else None,
            "seed": judged.seed if judged is not None else None,
            "ceiling_vnd_per_year": ceiling_vnd,
        },
        targets=targets,
        trajectory=trajectory,
        joint=joint,
        expected_cost_vnd=r.expected.total_cost_vnd,
        drivers=evidence.drivers if evidence is not None else pd.DataFrame(),
        price=evidence.price
        if evidence is not None and evidence.price is not None
        else pd.DataFrame(),
        **_common(scenario, plan, ceiling_vnd),
    )


def with_replan(data: ReportData, rp: Replan, illustrative: bool) -> ReportData:
    """``data`` (a run on a re-plan's scenario) with the re-plan's past beside it: planned
    against actual, the past targets, the people carried into the first year and the notes.

    ``illustrative``: the record is made up to show the method (``actuals.illustrative`` of the
    scenario the re-plan was built from); the report and the workbook then say so.
    """
    carried = rp.carried
    people = (
        float(carried["people"].sum()) if not carried.empty and "people" in carried.columns else 0.0
    )
    return dataclasses.replace(
        data,
        replan_from_year=int(rp.from_year),
        planned_vs_actual=rp.variance.reset_index(drop=True).copy(),
        past_targets=rp.past_targets.reset_index(drop=True).copy(),
        replan_notes=tuple(str(n) for n in rp.notes),
        record_illustrative=bool(illustrative),
        people_in_training=people,
    )
