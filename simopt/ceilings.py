"""The finance frontier as a sweep over yearly public ceilings: feasibility, minimum cost and
shortfall at each, optionally what each ceiling buys with a stated confidence, and the smallest
ceiling meeting every target with that confidence. One function for the CLI and notebooks alike.

Without ``simulate`` a row is the optimiser's expected-value frontier: whether every target can be
met on average under the ceiling, at what minimum cost, and if not, the least shortfall.

With ``simulate`` each row is first of all **that ceiling's robust plan**
(:func:`simopt.plan.robust_plan` under the ceiling): met at the confidence or not reachable (and
why), its cost, and the probability of each target, of all together and of public spending
staying within the ceiling every year, judged on the plan's fresh sample — the figures
``simopt plan --ceiling-vnd`` reports. The expected-value plan's simulated figures stay beside
them as ``expected_plan_…`` columns. The search for the smallest ceiling at the confidence
(:func:`simopt.plan.robust_ceiling`) adds its ceiling as a row of its own, and the conclusion is
read off the rows, so that the two cannot disagree:

- the smallest ceiling at the confidence is the smallest row whose robust plan is met (the
  search's row, or a swept ceiling below it where the loop run there found a plan);
- a plan that holds under a ceiling also fits under every higher one, so a row above it whose own
  loop stopped short is solved again from the margins that held there, and failing that shows
  that plan itself (``robust_source`` says which): every row at or above the conclusion is met.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from simopt.format import people, vnd
from simopt.plan import RobustCeiling
from simopt.reporting.tables import missing as _missing
from simopt.reporting.tables import records
from simopt.scenario import Scenario

if TYPE_CHECKING:
    from simopt.dynamics import Dynamics
    from simopt.optimize.frontier import Frontier
    from simopt.plan import RobustPlan
    from simopt.simulate import SimulationResult

ROBUST = "robust_"
"""Prefix of the columns describing a ceiling's robust plan."""
EXPECTED = "expected_plan_"
"""Prefix of the simulated columns of the expected-value (minimum-cost) plan."""
OWN_LOOP = "this ceiling"
MARK = "◀"


@dataclass(frozen=True)
class CeilingSweep:
    scenario: str
    title: str
    table: pd.DataFrame
    """One row per ceiling. The optimiser's expected-value frontier: ceiling_vnd, status,
    feasible, min_cost_vnd, attained_share:<target>, shortfall_people:<target>. With
    ``simulate`` also: found_by ("sweep" or "search"), smallest_at_confidence, the robust plan
    under the ceiling (robust_status, robust_message, robust_source, robust_cost_vnd,
    robust_enrolments, robust_judged_on, robust_probability_met:<target>,
    robust_min_probability_met, robust_probability_all_met, robust_probability_within_ceiling)
    and the expected-value plan simulated (expected_plan_probability_met:<target>,
    expected_plan_min_probability_met, expected_plan_probability_all_met,
    expected_plan_probability_within_ceiling)."""
    smallest_ceiling_vnd: float | None
    """Smallest yearly ceiling meeting every target in expectation (None: none does)."""
    confidence: float | None
    """The confidence the robust plans were asked for (None: not simulated)."""
    robust: RobustCeiling | None
    """The search for the smallest ceiling at the confidence, as it ended."""
    smallest_at_confidence_vnd: float | None = None
    """Smallest ceiling of the table whose robust plan is met (None: no row is met)."""
    joint: bool = False
    reps: int | None = None
    seed: int | None = None
    uncertainty: str | None = None

    def chart_frame(self) -> pd.DataFrame:
        """What the frontier chart draws: per ceiling the cost of the plan the row stands for
        (the robust plan when simulated — only where it is met — else the minimum-cost plan) and
        its probabilities."""
        t = self.table.sort_values("ceiling_vnd")
        if self.confidence is None or f"{ROBUST}cost_vnd" not in t.columns:
            return pd.DataFrame(
                {"ceiling_vnd": t["ceiling_vnd"], "cost_vnd": t["min_cost_vnd"]}
            ).reset_index(drop=True)
        # a plan that stopped short has no cost to show: its last schedule meets nothing asked
        met = t[f"{ROBUST}status"] == "met"
        cost = t[f"{ROBUST}cost_vnd"].where(met)
        out = pd.DataFrame({"ceiling_vnd": t["ceiling_vnd"], "cost_vnd": cost})
        for name in ("probability_all_met", "min_probability_met"):
            if f"{ROBUST}{name}" in t.columns:
                out[name] = t[f"{ROBUST}{name}"]
        return out.reset_index(drop=True)

    def records(self) -> list[dict[str, Any]]:
        """The table as JSON-ready rows: NaN (no value at that ceiling) becomes None."""
        return records(self.table)

    def to_dict(self) -> dict[str, Any]:
        robust: dict[str, Any] = {}
        if self.robust is not None:
            robust = {
                "confidence": self.confidence,
                "joint": self.joint,
                "replications": self.reps,
                "seed": self.seed,
                "uncertainty": self.uncertainty,
                "smallest_ceiling_vnd_per_year_at_confidence": self.smallest_at_confidence_vnd,
                "search": {
                    "ceiling_vnd_per_year": self.robust.ceiling_vnd,
                    "message": self.robust.message,
                },
            }
        return {
            "scenario": self.scenario,
            "smallest_feasible_ceiling_vnd_per_year": self.smallest_ceiling_vnd,
            **robust,
            "ceilings": self.records(),
        }

    def text(self) -> str:
        if self.confidence is None:
            lines = [f"{self.title}: public budget ceiling per year → outcome"]
            lines += ["  " + _frontier_text(r) for r in self.records()]
        else:
            lines = self._simulated_lines()
        if self.smallest_ceiling_vnd is None:
            lines.append(
                "No ceiling meets every target: seats, time or people available limit them."
            )
        else:
            lines.append(
                "Smallest yearly ceiling meeting every target in expectation: "
                f"{vnd(self.smallest_ceiling_vnd)}"
            )
        if self.confidence is not None:
            lines.append(self._conclusion())
        return "\n".join(lines)

    def _what(self) -> str:
        assert self.confidence is not None
        held = "all targets together" if self.joint else "every target on its own"
        return f"{held} with probability ≥ {self.confidence:.0%}"

    def _simulated_lines(self) -> list[str]:
        rows = self.records()
        lines = [
            f"{self.title}: public budget ceiling per year → the robust plan under it",
            f"  ({self._what()}; {self.reps} replications, seed {self.seed}, uncertainty "
            f"{self.uncertainty}), beside the expected-value plan (minimum cost, targets met on "
            "average)",
        ]
        for r in rows:
            mark = ""
            if r["smallest_at_confidence"]:
                mark = f" {MARK} smallest found at {self.confidence:.0%}"
            lines.append(f"  {vnd(r['ceiling_vnd'])}{mark}: {_robust_text(r)}")
            lines.append(f"      expected-value plan: {_frontier_text(r, with_ceiling=False)}")
        lines += ["", *self._matrix(rows), ""]
        return lines

    def _matrix(self, rows: list[dict[str, Any]]) -> list[str]:
        """Per target (rows) and ceiling (columns): the robust plan's probability met."""
        heads = [
            f"{r['ceiling_vnd'] / 1e9:.1f} bn" + (MARK if r["smallest_at_confidence"] else "")
            for r in rows
        ]
        per_target = f"{ROBUST}probability_met:"
        targets = [
            k.removeprefix(per_target) for k in self.table.columns if k.startswith(per_target)
        ]
        labels = [*targets, "all together", "within the ceiling", "judged on"]
        cells: list[list[str]] = []
        for r in rows:
            column = [_percent(r.get(f"{ROBUST}probability_met:{t}")) for t in targets]
            column.append(_percent(r.get(f"{ROBUST}probability_all_met")))
            column.append(_percent(r.get(f"{ROBUST}probability_within_ceiling")))
            column.append(
                {"fresh sample": "fresh", "tuning sample": "tuning"}.get(
                    str(r.get(f"{ROBUST}judged_on") or ""), "—"
                )
            )
            cells.append(column)
        width = max(len(x) for x in [*labels, "target"])
        col_w = [max(len(h), *(len(c) for c in col)) for h, col in zip(heads, cells, strict=True)]
        out = [
            "Probability each target is met, robust plan under each ceiling (judged on its fresh "
            "sample; 'tuning' where the loop stopped short, on the last schedule tried):",
            "  "
            + "target".ljust(width)
            + "".join(f"  {h.rjust(w)}" for h, w in zip(heads, col_w, strict=True)),
        ]
        for i, label in enumerate(labels):
            out.append(
                "  "
                + label.ljust(width)
                + "".join(f"  {col[i].rjust(w)}" for col, w in zip(cells, col_w, strict=True))
            )
        return out

    def _conclusion(self) -> str:
        assert self.confidence is not None
        if self.smallest_at_confidence_vnd is None:
            why = self.robust.message if self.robust is not None else "no search was made"
            return f"No ceiling tested meets {self._what()}: {why}"
        found = next(
            r
            for r in self.records()
            if r["smallest_at_confidence"] and r["ceiling_vnd"] == self.smallest_at_confidence_vnd
        )
        searched = self.robust.ceiling_vnd if self.robust is not None else None
        if found["found_by"] == "search":
            how = "found by the search"
        elif searched is None:
            how = "a swept ceiling; the search found none"
        else:
            how = f"a swept ceiling, below the search's {vnd(searched)}"
        return (
            f"Smallest yearly ceiling found meeting {self._what()}: "
            f"{vnd(self.smallest_at_confidence_vnd)} ({MARK}, {how}; the robust plan is met under "
            "every ceiling of the table above it)"
        )


def _percent(v: Any) -> str:
    return "·" if _missing(v) else f"{v:.0%}"


def _robust_text(r: dict[str, Any]) -> str:
    status = r.get(f"{ROBUST}status")
    message = str(r.get(f"{ROBUST}message") or "")
    if status == "not_solved":
        return f"the solver did not finish — {message}"
    if status == "infeasible":
        return f"robust plan not reachable, not even on average — {message}"
    figures = ""
    if not _missing(r.get(f"{ROBUST}min_probability_met")):
        figures = (
            f"lowest target {r[f'{ROBUST}min_probability_met']:.0%}, all together "
            f"{r[f'{ROBUST}probability_all_met']:.0%}, spending within the ceiling every year "
            f"{r[f'{ROBUST}probability_within_ceiling']:.0%} ({r[f'{ROBUST}judged_on']})"
        )
    cost = r.get(f"{ROBUST}cost_vnd")
    if status == "met":
        text = (
            f"robust plan met — {vnd(cost)}, {people(r[f'{ROBUST}enrolments'])} enrolments; "
            + figures
        )
        source = str(r.get(f"{ROBUST}source") or OWN_LOOP)
        return text if source == OWN_LOOP else f"{text}; {source}"
    last = "" if _missing(cost) else f"; last schedule tried {vnd(cost)}"
    return f"robust plan not reachable under this ceiling — {message}{last}" + (
        f"; {figures}" if figures else ""
    )


def _frontier_text(r: dict[str, Any], *, with_ceiling: bool = True) -> str:
    at = f"{vnd(r['ceiling_vnd'])}: " if with_ceiling else ""
    if r.get("status") == "not_solved":
        return f"{at}the solver did not finish"
    simulated = ""
    if not _missing(r.get(f"{EXPECTED}min_probability_met")):
        simulated = (
            f"; lowest probability of a target being met {r[f'{EXPECTED}min_probability_met']:.0%}"
            f", all together {r[f'{EXPECTED}probability_all_met']:.0%}; spending within the "
            f"ceiling every year {r[f'{EXPECTED}probability_within_ceiling']:.0%}"
        )
    if r["feasible"]:
        return f"{at}every target met in expectation, minimum cost {vnd(r['min_cost_vnd'])}" + (
            simulated
        )
    short = [
        k.split(":", 1)[1]
        for k, v in r.items()
        if k.startswith("shortfall_people:") and not _missing(v) and v > 0
    ]
    return (
        f"{at}NOT feasible — short {people(r['shortfall_people'])} people ({', '.join(short)})"
        + simulated
    )


@dataclass
class _Entry:
    """One row being built: its ceiling, the frontier's columns and the robust plan shown."""

    ceiling: float
    frontier: dict[str, Any]
    plan: RobustPlan
    found_by: str
    source: str = OWN_LOOP


def sweep_ceilings(
    scenario: Scenario,
    *,
    from_vnd: float,
    to_vnd: float,
    steps: int = 10,
    simulate: bool = False,
    confidence: float = 0.9,
    reps: int = 500,
    seed: int = 0,
    engine: str = "fast",
    workers: int = 1,
    uncertainty: str = "ranges",
    joint: bool = False,
    progress: Callable[[str], None] | None = None,
    executor: str | None = None,
    executor_workers: int | None = None,
    scheduler: str | None = None,
) -> CeilingSweep:
    """Solve at ``steps`` ceilings evenly from ``from_vnd`` to ``to_vnd`` (one model, re-solved
    warm). With ``simulate``: the robust plan under each ceiling, the expected-value plan
    simulated, and the search for the smallest ceiling at ``confidence`` as a row of its own (see
    the module docstring for how the rows and the conclusion are kept consistent). ``progress``
    hears one line per ceiling. The robust plans of the swept ceilings are experiments of one
    design (a grid over the ceiling), run on ``executor`` (see
    :func:`simopt.experiments.executors.map_tasks`: sequential, processes or dask, with
    ``executor_workers`` workers or the Dask cluster at ``scheduler``); the rows do not depend
    on where they ran."""
    if not 0 <= from_vnd <= to_vnd:
        raise ValueError(f"need 0 ≤ from_vnd ≤ to_vnd, got {from_vnd} and {to_vnd}")
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    from simopt.dynamics import compile_dynamics
    from simopt.optimize.frontier import Frontier

    d = compile_dynamics(scenario)
    frontier = Frontier(d)
    ceilings = [float(c) for c in np.linspace(from_vnd, to_vnd, steps)]
    if not simulate:
        return CeilingSweep(
            scenario=scenario.name,
            title=scenario.title or scenario.name,
            table=pd.DataFrame([frontier.solve_at(c) for c in ceilings]),
            smallest_ceiling_vnd=frontier.smallest_ceiling_vnd,
            confidence=None,
            robust=None,
        )
    from simopt.plan import robust_ceiling, robust_plan

    say = progress or (lambda _message: None)
    targets = list(scenario.targets)

    def robust_at(ceiling: float, start: dict[str, float] | None = None) -> RobustPlan:
        return robust_plan(
            scenario,
            ceiling_vnd=ceiling,
            confidence=confidence,
            reps=reps,
            seed=seed,
            joint=joint,
            uncertainty=uncertainty,
            engine=engine,
            workers=workers,
            start_buffers=start,
        )

    def frontier_row(ceiling: float) -> dict[str, Any]:
        row = frontier.solve_at(ceiling)
        if row.get("status") != "not_solved":
            sim = _simulate_schedule(
                scenario, d, frontier, reps, seed, engine, workers, uncertainty
            )
            row.update(_judged(sim, ceiling, targets, EXPECTED))
        return row

    from simopt.experiments.executors import map_tasks

    settings = _PlanSettings(confidence, reps, seed, joint, uncertainty, engine, workers)
    plans = map_tasks(
        _robust_plan_at,
        [(scenario, c, settings) for c in ceilings],
        executor=executor,
        workers=executor_workers,
        scheduler=scheduler,
        progress=lambda done, total: say(f"robust plans: {done} of {total} ceilings done"),
    )
    entries: list[_Entry] = []
    for i, (ceiling, plan) in enumerate(zip(ceilings, plans, strict=True), start=1):
        entries.append(_Entry(ceiling, frontier_row(ceiling), plan, "sweep"))
        say(f"ceiling {i}/{len(ceilings)}: {vnd(ceiling)} — robust plan {_word(plan)}")
    say(f"searching the smallest ceiling at {confidence:.0%}")
    search = robust_ceiling(
        scenario,
        confidence=confidence,
        reps=reps,
        seed=seed,
        engine=engine,
        uncertainty=uncertainty,
        joint=joint,
    )
    if search.ceiling_vnd is not None and search.plan is not None:
        entries.append(
            _Entry(search.ceiling_vnd, frontier_row(search.ceiling_vnd), search.plan, "search")
        )
        say(f"search: {vnd(search.ceiling_vnd)} — robust plan {_word(search.plan)}")
    else:
        say(f"search: {search.message}")
    entries.sort(key=lambda e: e.ceiling)  # stable: a swept ceiling the search hit comes first
    smallest = _make_consistent(entries, robust_at, say)
    rows = [_row(e, e is smallest, targets) for e in entries]
    return CeilingSweep(
        scenario=scenario.name,
        title=scenario.title or scenario.name,
        table=pd.DataFrame(rows),
        smallest_ceiling_vnd=frontier.smallest_ceiling_vnd,
        confidence=confidence,
        robust=search,
        smallest_at_confidence_vnd=smallest.ceiling if smallest is not None else None,
        joint=joint,
        reps=reps,
        seed=seed,
        uncertainty=uncertainty,
    )


@dataclass(frozen=True)
class _PlanSettings:
    confidence: float
    reps: int
    seed: int
    joint: bool
    uncertainty: str
    engine: str
    workers: int


def _robust_plan_at(task: tuple[Scenario, float, _PlanSettings]) -> RobustPlan:
    """One experiment of the ceilings design: the robust plan under one yearly ceiling."""
    from simopt.plan import robust_plan

    scenario, ceiling, s = task
    return robust_plan(
        scenario,
        ceiling_vnd=ceiling,
        confidence=s.confidence,
        reps=s.reps,
        seed=s.seed,
        joint=s.joint,
        uncertainty=s.uncertainty,
        engine=s.engine,
        workers=s.workers,
    )


def _make_consistent(
    entries: list[_Entry],
    robust_at: Callable[[float, dict[str, float] | None], RobustPlan],
    say: Callable[[str], None],
) -> _Entry | None:
    """The smallest met row; every row above it made to show a met plan (module docstring)."""
    met = [e for e in entries if e.plan.is_met]
    if not met:
        return None
    smallest = min(met, key=lambda e: e.ceiling)
    for e in entries:
        if e.ceiling <= smallest.ceiling or e.plan.is_met:
            continue
        # the margins that hold under the smaller ceiling fit under this one: start from them
        again = robust_at(e.ceiling, dict(smallest.plan.buffers))
        if again.is_met:
            e.plan = again
            e.source = f"resumed from the margins that hold under {vnd(smallest.ceiling)}"
        else:
            e.plan = smallest.plan
            e.source = (
                f"the plan found for {vnd(smallest.ceiling)}, which fits under this ceiling too "
                "(the loop run here stopped short)"
            )
        say(f"ceiling {vnd(e.ceiling)}: {e.source}")
    return smallest


def _row(e: _Entry, smallest: bool, targets: Sequence[str]) -> dict[str, Any]:
    r = e.plan
    judged = r.confirmed if r.confirmed is not None else r.after
    cost = enrolments = float("nan")
    if r.robust is not None and r.robust.is_ok and r.robust.total_cost_vnd is not None:
        cost = float(r.robust.total_cost_vnd)
        enrolments = float(r.robust.schedule["enrolments"].sum())
    judged_on = "fresh sample" if r.confirmed is not None else ""
    if judged_on == "" and r.after is not None:
        judged_on = "tuning sample"
    row: dict[str, Any] = {
        "ceiling_vnd": e.ceiling,
        "found_by": e.found_by,
        "smallest_at_confidence": smallest,
        f"{ROBUST}status": r.status,
        f"{ROBUST}cost_vnd": cost,
        f"{ROBUST}enrolments": enrolments,
        **_judged(judged, e.ceiling, targets, ROBUST),
        f"{ROBUST}judged_on": judged_on,
        f"{ROBUST}source": e.source,
        f"{ROBUST}message": r.message,
    }
    row.update({k: v for k, v in e.frontier.items() if k != "ceiling_vnd"})
    return row


def _word(plan: RobustPlan) -> str:
    return {"met": "met", "not_solved": "not solved"}.get(plan.status, "not reachable")


def _simulate_schedule(
    scenario: Scenario,
    d: Dynamics,
    frontier: Frontier,
    reps: int,
    seed: int,
    engine: str,
    workers: int,
    uncertainty: str,
) -> SimulationResult:
    """The frontier's last schedule (the cheapest meeting every target in expectation, or the one
    with the least shortfall), simulated."""
    from simopt.simulate import schedule_frame
    from simopt.simulate import simulate as run_simulation

    return run_simulation(
        scenario,
        schedule_frame(d, frontier.last_schedule()),
        reps=reps,
        seed=seed,
        engine=engine,
        workers=workers,
        dynamics=d,
        uncertainty=uncertainty,
    )


def _judged(
    sim: SimulationResult | None, ceiling: float, targets: Sequence[str], prefix: str
) -> dict[str, float]:
    """Per target the probability met at its year, the lowest, all together, and spending within
    the ceiling every year; NaN throughout when there is no simulation."""
    nan = float("nan")
    row: dict[str, float] = {f"{prefix}probability_met:{t}": nan for t in targets}
    row |= {
        f"{prefix}min_probability_met": nan,
        f"{prefix}probability_all_met": nan,
        f"{prefix}probability_within_ceiling": nan,
    }
    if sim is None:
        return row
    at = sim.summary[sim.summary["year"] == sim.summary["target_year"]]
    for rec in at.to_dict("records"):
        row[f"{prefix}probability_met:{rec['target']}"] = float(rec["probability_met"])
    row[f"{prefix}min_probability_met"] = float(at["probability_met"].min())
    assert sim.joint is not None, "simulate always returns the joint table"
    overall = sim.joint[sim.joint["scope"] == "all"].iloc[0]
    row[f"{prefix}probability_all_met"] = float(overall["probability_all_met"])
    within = sim.ceiling_table(ceiling)
    row[f"{prefix}probability_within_ceiling"] = float(within["probability_within"].iloc[-1])
    return row
