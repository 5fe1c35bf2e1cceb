"""The plan as written, judged: its people, run in a world where pass rates, drop-out and
attrition are real, beside the robust plan for the same targets.

Where the written plan's people come from:

- by default, the scenario's own ``stated_budget``: each line of each phase states the people it
  pays for and the groups they belong to. A line covering several groups (Long An's "civil
  servants" line: provincial/district and commune) is split between them in proportion to the
  rise of each group's minimum count over the phase — the plan budgets one course per person of
  its minimum counts (Long An 2021–2025: 55 + 119 = 174; 2026–2030: 19 + 59 = 78) — or, where the
  groups state no minimum counts, in proportion to their eligible headcounts;
- with ``--written``, the written-world scenario (``long_an_as_written.yaml``): its minimum-cost
  schedule, summed per group and per phase between milestones.

How they are mapped onto the scenario's pools: each phase's people of a group are spread evenly
over the phase's years; each takes the one course that leads to the highest level the group's
targets ask for (the plan pays one course a person, as if everyone already stood at that
course's entry level), in the group's pools open to that course, split in proportion to the
eligible people at the course's entry level on the first day. People are whole: the cells of a
group's phase are rounded by largest remainder, so every stated line keeps its total exactly.
People the simulated world does not have (nobody free at the entry level) are simply not
enrolled; the report says how many enrolled.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.format import people, vnd
from simopt.optimize import Plan, optimize
from simopt.plan import RobustPlan, robust_plan
from simopt.reporting.tables import records as _records
from simopt.scenario import Scenario, StatedLine
from simopt.simulate import SimulationResult, schedule_frame, simulate

STATED_RULE = (
    "People: each line of the stated budget's phases, a line of several groups split in "
    "proportion to the rise of their minimum counts over the phase (else their eligible "
    "headcounts), spread evenly over the phase's years."
)
WRITTEN_RULE = (
    "People: the written-world scenario's minimum-cost schedule, summed per group and per "
    "phase between milestones, spread evenly over the phase's years."
)
MAPPING_RULE = (
    "Each takes the one course leading to the highest level the group's targets ask for (one "
    "paid course a person), in the group's pools open to it, split by the eligible people at its "
    "entry level on the first day; whole people, each line's total kept exact."
)


class JudgeError(ValueError):
    """The written plan cannot be mapped onto the real-world scenario."""


# --------------------------------------------------------------------------- the plan's people


def written_people(written: Scenario) -> pd.DataFrame:
    """People the written-world scenario's optimum trains: (group, first_year, last_year,
    people, line) per group and phase between milestones."""
    plan = optimize(written)
    if not plan.is_ok:
        raise JudgeError(f"the written plan itself has no schedule: {plan.message}")
    h = written.horizon
    rows = []
    lo = h.start_year
    for hi in h.milestones:
        part = plan.schedule[(plan.schedule["year"] >= lo) & (plan.schedule["year"] <= hi)]
        for group, n in part.groupby("group")["enrolments"].sum().items():
            rows.append(
                {
                    "group": str(group),
                    "first_year": lo,
                    "last_year": hi,
                    "people": float(n),
                    "line": f"{written.name} {lo}–{hi}",
                }
            )
        lo = hi + 1
    return pd.DataFrame(rows, columns=["group", "first_year", "last_year", "people", "line"])


def stated_people(real: Scenario) -> pd.DataFrame:
    """People the scenario's stated budget pays for, per group and phase (module docstring)."""
    sb = real.stated_budget
    if sb is None or not sb.phases:
        raise JudgeError(
            f"scenario {real.name!r} states no budget phases (stated_budget.phases), so there "
            "is no written plan to judge; give the written plan's world with --written"
        )
    h = real.horizon
    rows: list[dict[str, Any]] = []
    for ph_id, phase in sb.phases.items():
        where = f"stated_budget.phases.{ph_id}"
        if phase.first_year < h.start_year or phase.last_year > h.end_year:
            raise JudgeError(
                f"{where}: years {phase.first_year}–{phase.last_year} reach outside the horizon "
                f"{h.start_year}–{h.end_year}; the written plan's people cannot be placed in years "
                "the scenario does not simulate"
            )
        lines = dict(phase.lines)
        if not lines:
            if len(real.groups) != 1 or phase.people is None:
                raise JudgeError(
                    f"{where}: states no lines with people per group, so its people cannot be "
                    "given to the scenario's groups"
                )
            lines = {"all": _one_line(real, phase.people)}
        for ln_id, line in lines.items():
            here = f"{where}.lines.{ln_id}"
            if line.people is None:
                raise JudgeError(f"{here}: states no people, so nobody can be placed")
            if not line.groups:
                raise JudgeError(f"{here}: names no groups, so its people belong to nobody")
            shares = _line_shares(real, line.groups, phase.first_year, phase.last_year)
            for gid, n in zip(line.groups, _whole(float(line.people), shares), strict=True):
                rows.append(
                    {
                        "group": gid,
                        "first_year": phase.first_year,
                        "last_year": phase.last_year,
                        "people": float(n),
                        "line": f"{ph_id}.{ln_id}",
                    }
                )
    return pd.DataFrame(rows, columns=["group", "first_year", "last_year", "people", "line"])


def _one_line(real: Scenario, n: int) -> StatedLine:
    """A phase that states only its people, in a scenario of one group: one line for it."""
    return StatedLine(groups=tuple(real.groups), people=n)


def _min_count(real: Scenario, group: str, year: int) -> float:
    """The largest minimum count of the group's own targets (the group alone) at ``year``."""
    counts = [
        float(t.min_count)
        for t in real.targets.values()
        if t.groups == (group,) and t.year == year and t.min_count is not None
    ]
    return max(counts, default=0.0)


def _line_shares(
    real: Scenario, groups: Sequence[str], first_year: int, last_year: int
) -> list[float]:
    """How a line's people divide between its groups: the rise of their minimum counts from the
    last target year before the phase to the last one in it, else their eligible headcounts."""
    if len(groups) == 1:
        return [1.0]
    years = sorted({t.year for t in real.targets.values()})
    inside = [y for y in years if first_year <= y <= last_year]
    before = [y for y in years if y < first_year]
    rise = [0.0] * len(groups)
    if inside:
        for i, g in enumerate(groups):
            start = _min_count(real, g, before[-1]) if before else 0.0
            rise[i] = max(_min_count(real, g, inside[-1]) - start, 0.0)
    if sum(rise) > 0:
        return rise
    pools = real.pools()
    return [float(sum(p.eligible for gid, p in pools.values() if gid == g)) for g in groups]


def _whole(total: float, weights: Sequence[float]) -> list[int]:
    """``total`` (a whole number) split in proportion to ``weights`` by largest remainder: whole
    people whose sum is exactly the total (ties go to the earlier cell)."""
    n = round(total)
    w = np.asarray(weights, dtype=float)
    if n <= 0 or w.sum() <= 0:
        return [0] * len(w)
    exact = n * w / w.sum()
    floor = np.floor(exact).astype(int)
    left = n - int(floor.sum())
    order = sorted(range(len(w)), key=lambda i: (-(exact[i] - floor[i]), i))
    for i in order[:left]:
        floor[i] += 1
    return [int(x) for x in floor]


# --------------------------------------------------------------------------- onto the pools


def course_for(d: Dynamics, group: str) -> int:
    """The course a person of ``group`` takes under the written plan: the one leading to the
    highest level the group's targets ask for, open to a pool of the group."""
    real = d.scenario
    levels = {t.min_level for t in real.targets.values() if group in t.groups}
    if not levels:
        raise JudgeError(
            f"group {group!r} of the written plan has no target in {real.name!r}, so no course "
            "tells which level its people train for"
        )
    courses = [
        c
        for c in range(d.n_courses)
        if d.target[c] in levels
        and any(d.allowed[p, c] for p in range(d.n_pools) if d.pool_group[p] == group)
    ]
    if not courses:
        wanted = ", ".join(str(x) for x in sorted(levels))
        raise JudgeError(
            f"no course in {real.name!r} open to group {group!r} leads to level {wanted}, the "
            "level its targets ask for"
        )
    return max(courses, key=lambda k: (d.target[k], -k))


def as_written_schedule(
    real: Scenario, written: Scenario | None = None, *, plan_people: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The written plan's people as a whole-people enrolment schedule of the real-world scenario
    (``written``: the written-world scenario; None: the real scenario's stated budget)."""
    if plan_people is None:
        plan_people = written_people(written) if written is not None else stated_people(real)
    d = compile_dynamics(real)
    enrol = np.zeros((len(d.years), d.n_pools, d.n_courses))
    for row in plan_people.to_dict("records"):
        group = str(row["group"])
        if group not in real.groups:
            raise JudgeError(f"group {group!r} of the written plan is not in {real.name!r}")
        c = course_for(d, group)
        pools = [p for p in range(d.n_pools) if d.pool_group[p] == group and d.allowed[p, c]]
        weights = np.array([d.start_levels[p, d.entry[c]] for p in pools], dtype=float)
        if weights.sum() <= 0:
            weights = np.ones(len(pools))  # nobody at the entry level yet: split evenly
        years = [
            y
            for y, yr in enumerate(d.years)
            if int(row["first_year"]) <= yr <= int(row["last_year"])
        ]
        if not years:
            continue
        cells = [(y, p) for y in years for p in pools]
        cell_weights = [float(weights[pools.index(p)]) for _, p in cells]
        for (y, p), n in zip(cells, _whole(float(row["people"]), cell_weights), strict=True):
            enrol[y, p, c] += n
    return schedule_frame(d, enrol)


# --------------------------------------------------------------------------- the judgement


@dataclass(frozen=True)
class Judgement:
    scenario: str
    title: str
    source: str
    """Where the people come from: "stated budget" or "written scenario <name>"."""
    rule: tuple[str, ...]
    """The mapping rule as printed: where the people come from, then onto which pools."""
    people: pd.DataFrame
    """The written plan's people per group and phase (group, first_year, last_year, people)."""
    schedule: pd.DataFrame
    """The written plan as a schedule of the real-world scenario."""
    simulated: SimulationResult
    robust: RobustPlan | None
    as_written_cost_vnd: float
    """What the written schedule costs in the real world (tuition, exam fees and retakes of the
    people who could enrol; the simulated mean)."""
    stated_vnd: float | None
    """What the plan itself budgets (its stated total), for comparison."""
    confidence: float

    def targets(self) -> pd.DataFrame:
        """Per target at its year: the written plan's simulated share and probability met, with
        their intervals, beside the robust plan's (on its fresh sample)."""
        s = self.simulated.summary
        at = s[s["year"] == s["target_year"]]
        fresh = None
        if self.robust is not None and self.robust.confirmed is not None:
            f = self.robust.confirmed.summary
            fresh = f[f["year"] == f["target_year"]].set_index("target")
        rows = []
        for r in at.to_dict("records"):
            row: dict[str, Any] = {
                "target": r["target"],
                "year": int(r["year"]),
                "required_share": r["required_share"],
                "required_count": r["required_count"],
                "written_mean_share": r["mean_share"],
                "written_share_low95": r["share_low95"],
                "written_share_high95": r["share_high95"],
                "written_probability_met": r["probability_met"],
                "written_probability_met_low95": r["probability_met_low95"],
                "written_probability_met_high95": r["probability_met_high95"],
            }
            if fresh is not None:
                g = fresh.loc[r["target"]]
                row |= {
                    "robust_mean_share": float(g["mean_share"]),
                    "robust_probability_met": float(g["probability_met"]),
                    "robust_probability_met_low95": float(g["probability_met_low95"]),
                    "robust_probability_met_high95": float(g["probability_met_high95"]),
                }
            rows.append(row)
        return pd.DataFrame(rows)

    def all_together(self) -> dict[str, float]:
        """The probability every target held in the same replication, with its interval."""
        assert self.simulated.joint is not None
        row = self.simulated.joint[self.simulated.joint["scope"] == "all"].iloc[0]
        return {
            "probability": float(row["probability_all_met"]),
            "low95": float(row["probability_all_met_low95"]),
            "high95": float(row["probability_all_met_high95"]),
        }

    def robust_figures(self) -> dict[str, Any] | None:
        """The robust plan's status, cost (planned at the stated values and simulated) and its
        probability of all targets together (fresh sample, else its last round)."""
        r = self.robust
        if r is None:
            return None
        out: dict[str, Any] = {
            "confidence": self.confidence,
            "joint": r.joint,
            "status": r.status,
            "message": r.message,
            "fresh_seed": r.confirmed.seed if r.confirmed is not None else None,
            "enrolments": None,
            "cost_vnd_planned": None,
            "cost_vnd_simulated_mean": None,
            "all_targets_together": None,
        }
        judged = r.confirmed if r.confirmed is not None else r.after
        if r.robust is not None and r.robust.is_ok:
            out["enrolments"] = float(r.robust.schedule["enrolments"].sum())
            out["cost_vnd_planned"] = r.robust.total_cost_vnd
            if judged is not None:
                out["cost_vnd_simulated_mean"] = float(judged.cost_vnd.mean(axis=0).sum())
        if judged is not None and judged.joint is not None:
            row = judged.joint[judged.joint["scope"] == "all"].iloc[0]
            out["all_targets_together"] = {
                "probability": float(row["probability_all_met"]),
                "low95": float(row["probability_all_met_low95"]),
                "high95": float(row["probability_all_met_high95"]),
            }
        return out

    def headline(self) -> str:
        together = self.all_together()
        t = self.targets()
        n = people(float(self.schedule["enrolments"].sum()))
        return (
            f"The written plan's {n} courses meet all targets together in "
            f"{_p(together['probability'], together['low95'], together['high95'])} of "
            f"replications; each target on its own in {t['written_probability_met'].min():.1%}–"
            f"{t['written_probability_met'].max():.1%}."
        )

    def to_dict(self) -> dict[str, Any]:
        sim = self.simulated
        planned = float(self.schedule["enrolments"].sum())
        out: dict[str, Any] = {
            "scenario": self.scenario,
            "source": self.source,
            "rule": list(self.rule),
            "replications": sim.reps,
            "seed": sim.seed,
            "engine": sim.engine,
            "uncertainty": sim.uncertainty,
            "headline": self.headline(),
            "written_plan": {
                "people": planned,
                "enrolled_simulated_mean": float(sim.yearly["enrolled"].sum()),
                "certified_simulated_mean": float(sim.yearly["passed"].sum()),
                "cost_vnd_simulated_mean": self.as_written_cost_vnd,
                "stated_vnd": self.stated_vnd,
                "all_targets_together": self.all_together(),
            },
            "targets": _records(self.targets()),
        }
        robust = self.robust_figures()
        if robust is not None:
            out["robust_plan"] = robust
        return out

    def tables(self) -> dict[str, pd.DataFrame | None]:
        """The run folder's tables."""
        sim = self.simulated
        robust = None
        if self.robust is not None and self.robust.robust is not None:
            robust = self.robust.robust.schedule
        return {
            "written_people.csv": self.people,
            "schedule.csv": self.schedule,
            "judge_targets.csv": self.targets(),
            "simulation_targets.csv": sim.summary,
            "simulation_yearly.csv": sim.yearly,
            "simulation_joint.csv": sim.joint,
            "simulation_parameters.csv": None if sim.parameters is None else sim.parameters.table(),
            "robust_schedule.csv": robust,
        }

    def text(self) -> str:
        sim = self.simulated
        planned = float(self.schedule["enrolments"].sum())
        enrolled = float(sim.yearly["enrolled"].sum())
        lines = [
            f"{self.title}: the plan as written ({self.source}), judged in this scenario's world",
            f"  {sim.reps} replications, seed {sim.seed}, engine {sim.engine}, uncertainty "
            f"{sim.uncertainty}",
            "Rule: " + self.rule[0],
            "      " + self.rule[1],
            "",
            self.headline(),
            "",
            "Written plan: " + _phases(self.people),
            f"  {people(enrolled)} of its {people(planned)} people could enrol (simulated mean; "
            "the rest found nobody free at the course's entry level), "
            f"{people(float(sim.yearly['passed'].sum()))} certified; it costs "
            f"{vnd(self.as_written_cost_vnd)} in this world (tuition, exam fees and retakes, "
            "simulated mean)"
            + (f"; the plan budgets {vnd(self.stated_vnd)}" if self.stated_vnd else ""),
        ]
        r = self.robust
        robust = self.robust_figures()
        if r is not None and robust is not None:
            what = "all targets together" if r.joint else "each target"
            lines.append(f"Robust plan at {self.confidence:.0%} ({what}): {r.status} — {r.message}")
            if robust["cost_vnd_planned"] is not None:
                simulated = robust["cost_vnd_simulated_mean"]
                lines.append(
                    f"  {people(robust['enrolments'])} enrolments, "
                    f"{vnd(robust['cost_vnd_planned'])} planned at the stated values"
                    + (f", {vnd(simulated)} simulated mean" if simulated is not None else "")
                )
        head = "  target (year): written plan — mean share [95% range] vs required, P(met) [95%]"
        if r is not None and r.confirmed is not None:
            head += f"  |  robust plan, fresh sample (seed {r.confirmed.seed})"
        lines += ["", "Per target at its year:", head]
        for row in self.targets().to_dict("records"):
            need = _required(row)
            text = (
                f"  {row['target']} ({row['year']}): {row['written_mean_share']:.1%} "
                f"[{row['written_share_low95']:.1%}–{row['written_share_high95']:.1%}] vs {need}, "
                "P = "
                + _p(
                    row["written_probability_met"],
                    row["written_probability_met_low95"],
                    row["written_probability_met_high95"],
                )
            )
            if "robust_probability_met" in row:
                text += f"  |  {row['robust_mean_share']:.1%}, P = " + _p(
                    row["robust_probability_met"],
                    row["robust_probability_met_low95"],
                    row["robust_probability_met_high95"],
                )
            lines.append(text)
        together = self.all_together()
        text = "  all targets together: written plan " + _p(
            together["probability"], together["low95"], together["high95"]
        )
        robust_together = robust["all_targets_together"] if robust is not None else None
        if robust_together:
            text += "  |  robust plan " + _p(
                robust_together["probability"], robust_together["low95"], robust_together["high95"]
            )
        lines.append(text)
        return "\n".join(lines)


def _p(p: float, low: float, high: float) -> str:
    return f"{p:.1%} [{low:.1%}–{high:.1%}]"


def _required(row: Mapping[Any, Any]) -> str:
    parts = []
    share = row.get("required_share")
    count = row.get("required_count")
    if share is not None and not (isinstance(share, float) and math.isnan(share)):
        parts.append(f"{share:.0%}")
    if count is not None and not (isinstance(count, float) and math.isnan(count)):
        parts.append(f"≥ {people(float(count))} people")
    return " and ".join(parts) or "—"


def _phases(frame: pd.DataFrame) -> str:
    by = frame.groupby(["first_year", "last_year"], sort=True)["people"].sum()
    parts = [f"{k[0]}–{k[1]}: {people(float(n))}" for k, n in zip(by.index, by, strict=True)]
    return f"{people(float(frame['people'].sum()))} people (" + ", ".join(parts) + ")"


def judge(
    real: Scenario,
    written: Scenario | None = None,
    *,
    reps: int = 1000,
    seed: int = 0,
    confidence: float = 0.9,
    engine: str = "fast",
    workers: int = 1,
    uncertainty: str = "ranges",
    robust: bool = True,
    joint: bool = False,
    plan_people: pd.DataFrame | None = None,
    schedule: pd.DataFrame | None = None,
    progress: Callable[[str], None] | None = None,
) -> Judgement:
    """Simulate the written plan in the real world (people from ``written``'s optimum, or from
    ``real``'s stated budget when None), beside the robust plan for the same targets at
    ``confidence``, each target on its own or all together with ``joint`` (unless ``robust`` is
    False). ``plan_people`` and ``schedule`` are :func:`written_people` (or :func:`stated_people`)
    and :func:`as_written_schedule`'s answers when the caller already has them."""
    if plan_people is None:
        plan_people = written_people(written) if written is not None else stated_people(real)
    if schedule is None:
        schedule = as_written_schedule(real, plan_people=plan_people)
    d = compile_dynamics(real)
    result = simulate(
        real,
        schedule,
        reps=reps,
        seed=seed,
        engine=engine,
        workers=workers,
        dynamics=d,
        uncertainty=uncertainty,
    )
    cost = float(result.cost_vnd.mean(axis=0).sum())
    found = None
    if robust:
        found = robust_plan(
            real,
            confidence=confidence,
            reps=reps,
            seed=seed,
            engine=engine,
            workers=workers,
            uncertainty=uncertainty,
            joint=joint,
            progress=progress,
        )
    source = f"written scenario {written.name}" if written is not None else "stated budget"
    stated = None
    if written is None and real.stated_budget is not None:
        stated = _stated_total(real)
    elif written is not None and written.stated_budget is not None:
        stated = _stated_total(written)
    return Judgement(
        scenario=real.name,
        title=real.title or real.name,
        source=source,
        rule=(WRITTEN_RULE if written is not None else STATED_RULE, MAPPING_RULE),
        people=plan_people,
        schedule=schedule,
        simulated=result,
        robust=found,
        as_written_cost_vnd=cost,
        stated_vnd=stated,
        confidence=confidence,
    )


def _stated_total(s: Scenario) -> float | None:
    sb = s.stated_budget
    return None if sb is None or sb.vnd is None else float(sb.vnd)


__all__ = [
    "MAPPING_RULE",
    "STATED_RULE",
    "WRITTEN_RULE",
    "JudgeError",
    "Judgement",
    "Plan",
    "as_written_schedule",
    "judge",
    "stated_people",
    "written_people",
]
