"""Solve the LP and read the answer into a :class:`Plan`."""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pulp

from simopt.dynamics import Dynamics, engine_dynamics
from simopt.optimize.diagnose import explain_infeasible, not_solved_message
from simopt.optimize.lp import MONEY_UNIT_VND, LpModel, build_lp
from simopt.optimize.plan import SCHEDULE_COLUMNS, Plan, Status
from simopt.scenario import Scenario

SOLVERS = ("highs", "cbc")
_EPS = 1e-6


class SolverError(RuntimeError):
    """The chosen solver is not installed or failed outright."""


_banner_silenced = False


def silence_highs_banner() -> None:
    """HiGHS prints its banner from C++ on the first Highs() of a process, before any option
    can be set; swallow that one line so a planner's output stays the tool's own."""
    global _banner_silenced
    if _banner_silenced:
        return
    _banner_silenced = True
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            highspy.Highs()  # type: ignore[no-untyped-call]
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def make_solver(name: str, *, mip: bool = True) -> pulp.LpSolver:
    name = name.lower()
    silence_highs_banner()
    if name == "highs":
        solver: pulp.LpSolver = pulp.HiGHS(msg=False, mip=mip)
    elif name == "cbc":
        solver = pulp.PULP_CBC_CMD(msg=False, mip=mip)
    else:
        raise SolverError(f"unknown solver {name!r}; choose one of {', '.join(SOLVERS)}")
    if not solver.available():
        raise SolverError(f"solver {name!r} is not installed")
    return solver


def run(model: LpModel, solver: str) -> Status:
    """Solve ``model.prob`` in place and map the solver's answer to a Status."""
    try:
        code = model.prob.solve(make_solver(solver))
    except pulp.PulpSolverError as exc:
        raise SolverError(f"{solver} failed: {exc}") from None
    return _status(model.prob, code)


def _status(prob: pulp.LpProblem, code: int) -> Status:
    if code == pulp.LpStatusOptimal and prob.sol_status in (
        pulp.LpSolutionOptimal,
        pulp.LpSolutionIntegerFeasible,
    ):
        return Status.OPTIMAL
    if code == pulp.LpStatusInfeasible:
        return Status.INFEASIBLE
    if code == pulp.LpStatusUnbounded:
        return Status.UNBOUNDED
    return Status.NOT_SOLVED


def value(expr: Any) -> float:
    v = pulp.value(expr)
    return 0.0 if v is None else float(v)


def optimize(
    scenario: Scenario | None,
    *,
    ceiling_vnd: float | None = None,
    solver: str = "highs",
    integer_classes: bool = False,
    dynamics: Dynamics | None = None,
    buffers: dict[str, float] | None = None,
) -> Plan:
    """The minimum-cost enrolment schedule meeting every target, or an explained failure.

    The LP is built from ``dynamics`` (compiled from ``scenario`` when not given); given both,
    they must agree (:func:`simopt.dynamics.engine_dynamics`), and ``scenario`` may be None.
    """
    d = engine_dynamics(scenario, dynamics)
    scenario = d.scenario
    model = build_lp(d, ceiling_vnd=ceiling_vnd, integer_classes=integer_classes, buffers=buffers)
    status = run(model, solver)
    ceiling = ceiling_vnd if ceiling_vnd is not None else scenario.budget.ceiling_vnd_per_year
    common: dict[str, Any] = {
        "scenario": scenario.name,
        "solver": solver,
        "ceiling_vnd": ceiling,
        "integer_classes": integer_classes,
    }
    if status is Status.OPTIMAL:
        lp_cost = None
        if integer_classes:
            relaxed = build_lp(d, ceiling_vnd=ceiling_vnd, buffers=buffers)
            if run(relaxed, solver) is Status.OPTIMAL:
                lp_cost = value(relaxed.total_cost) * MONEY_UNIT_VND
        # Everything about the plan is read now: pricing below re-solves the same model, which
        # overwrites the variables' values.
        total_cost = value(model.total_cost) * MONEY_UNIT_VND
        schedule = read_schedule(model)
        costs = read_costs(model)
        attainment = read_attainment(model)
        limits = binding_limits(model)
        if integer_classes:
            # a MIP has no duals; the binding limits are still listed, unpriced, for the report
            shadow_prices = read_shadow_prices(model, limits, priced=False)
        else:
            shadow_prices = price_constraints(model, solver, limits)
        return Plan(
            status=status,
            message="every target is met in expectation at minimum cost",
            total_cost_vnd=total_cost,
            schedule=schedule,
            costs=costs,
            attainment=attainment,
            shadow_prices=shadow_prices,
            lp_cost_vnd=lp_cost,
            **common,
        )
    if status is Status.INFEASIBLE:
        best = best_attainment(
            d,
            ceiling_vnd=ceiling_vnd,
            solver=solver,
            buffers=buffers,
            integer_classes=integer_classes,
        )
        smallest = smallest_ceiling(
            d, solver=solver, buffers=buffers, integer_classes=integer_classes
        )
        b = scenario.budget
        has_ceiling = (
            ceiling is not None
            or bool(b.ceiling_vnd_by_year)
            or bool(b.source_ceilings_vnd_per_year)
        )

        def solve_variant(variant: Dynamics, ceilings: bool) -> LpModel | None:
            trial = build_lp(
                variant,
                ceiling_vnd=ceiling_vnd,
                integer_classes=integer_classes,
                buffers=buffers,
                ceilings=ceilings,
            )
            return trial if run(trial, solver) is Status.OPTIMAL else None

        def relaxed_best(variant: Dynamics) -> pd.DataFrame:
            return best_attainment(
                variant,
                ceiling_vnd=None,
                solver=solver,
                buffers=buffers,
                integer_classes=integer_classes,
                ceilings=False,
            )

        why = explain_infeasible(
            d,
            solve=solve_variant,
            best=best,
            has_ceiling=has_ceiling,
            smallest_ceiling_vnd=smallest,
            margins=any(v > 0 for v in (buffers or {}).values()),
            relaxed_best=relaxed_best,
        )
        return Plan(
            status=status,
            message=why.message,
            best_attainment=best,
            smallest_ceiling_vnd=smallest,
            cause=why.cause,
            **common,
        )
    return Plan(status=status, message=not_solved_message(d, model, solver, status), **common)


def project(
    scenario: Scenario | None, enrolments: Any, *, dynamics: Dynamics | None = None
) -> pd.DataFrame:
    """The expected attainment of any schedule (years × pools × courses array), by the same
    balance equations the optimiser plans with."""
    d = engine_dynamics(scenario, dynamics)
    model = build_lp(d, fixed_enrolments=enrolments)
    status = run(model, "highs")
    if status is not Status.OPTIMAL:
        raise SolverError(f"projecting a fixed schedule ended with status '{status}'")
    return read_attainment(model)


def best_attainment(
    d: Dynamics,
    *,
    ceiling_vnd: float | None,
    solver: str,
    buffers: dict[str, float] | None = None,
    integer_classes: bool = False,
    ceilings: bool = True,
) -> pd.DataFrame:
    """Attainment of the schedule minimising weighted relative shortfall under the constraints
    (``ceilings=False``: with no budget ceiling at all)."""
    model = build_lp(
        d,
        ceiling_vnd=ceiling_vnd,
        mode="min_shortfall",
        buffers=buffers,
        integer_classes=integer_classes,
        ceilings=ceilings,
    )
    status = run(model, solver)
    if status is not Status.OPTIMAL:
        return pd.DataFrame()
    assert model.shortfall_objective is not None and model.weighted_cost is not None
    # second pass: the cheapest schedule with that shortfall
    best = value(model.shortfall_objective)
    model.prob += model.shortfall_objective <= best + 1e-9 + 1e-7 * abs(best), "best_shortfall"
    model.prob.setObjective(model.weighted_cost)
    if run(model, solver) is not Status.OPTIMAL:
        return pd.DataFrame()
    return read_attainment(model)


def smallest_ceiling(
    d: Dynamics,
    *,
    solver: str,
    buffers: dict[str, float] | None = None,
    integer_classes: bool = False,
) -> float | None:
    """The smallest uniform yearly public ceiling with which every target can be met (an LP)."""
    model = build_lp(d, mode="min_ceiling", buffers=buffers, integer_classes=integer_classes)
    if run(model, solver) is not Status.OPTIMAL:
        return None
    assert model.ceiling_var is not None
    return value(model.ceiling_var) * MONEY_UNIT_VND


def read_schedule(model: LpModel) -> pd.DataFrame:
    d = model.dynamics
    rows: list[dict[str, Any]] = []
    for (p, c, y), var in model.enrol.items():
        n = value(var)
        if n <= _EPS:
            continue
        items = d.cost_items(p, c, whole_classes=bool(model.classes))
        per_trainee = math.fsum(amount for _, _, amount in items)
        if (c, y) in model.classes:
            # whole classes: each course-year's class cost spread over its trainees
            in_class = sum(value(v) for (_, cc, yy), v in model.enrol.items() if (cc, yy) == (c, y))
            per_class = d.scenario.courses[d.course_ids[c]].cost_vnd_per_class
            per_trainee += value(model.classes[c, y]) * per_class / in_class
        for src, share in enumerate(d.funding[p]):
            if share <= 0:
                continue
            rows.append(
                {
                    "year": d.years[y],
                    "group": d.pool_group[p],
                    "pool": d.pool_ids[p],
                    "course": d.course_ids[c],
                    "funding_source": d.source_ids[src],
                    "enrolments": n * share,
                    "cost_vnd": n * share * per_trainee,
                }
            )
    frame = pd.DataFrame(rows, columns=SCHEDULE_COLUMNS)
    return frame.sort_values(["year", "group", "pool", "course", "funding_source"]).reset_index(
        drop=True
    )


def read_costs(model: LpModel) -> pd.DataFrame:
    d = model.dynamics
    rows: list[dict[str, Any]] = []
    for (p, c, y0), var in model.enrol.items():
        n = value(var)
        if n <= _EPS:
            continue
        items = d.cost_items(p, c, whole_classes=bool(model.classes))
        for k, item, amount in items:
            if amount == 0.0:
                continue
            for src, share in enumerate(d.funding[p]):
                if share > 0:
                    rows.append(
                        {
                            "year": d.years[y0] + k,
                            "group": d.pool_group[p],
                            "pool": d.pool_ids[p],
                            "course": d.course_ids[c],
                            "item": item,
                            "funding_source": d.source_ids[src],
                            "public": d.source_public[src],
                            "cost_vnd": n * share * amount,
                        }
                    )
    for (c, y), var in model.classes.items():
        per_class = d.scenario.courses[d.course_ids[c]].cost_vnd_per_class
        n = value(var)
        if per_class and n > _EPS:
            for src in range(len(d.source_ids)):
                share = float(d.funding[d.allowed[:, c], src].mean())
                if share:
                    rows.append(
                        {
                            "year": d.years[y],
                            "group": "",
                            "pool": "",
                            "course": d.course_ids[c],
                            "item": "classes",
                            "funding_source": d.source_ids[src],
                            "public": d.source_public[src],
                            "cost_vnd": n * per_class * share,
                        }
                    )
    return pd.DataFrame(
        rows,
        columns=["year", "group", "pool", "course", "item", "funding_source", "public", "cost_vnd"],
    )


def read_attainment(model: LpModel) -> pd.DataFrame:
    d = model.dynamics
    rows: list[dict[str, Any]] = []
    for tid, t in d.scenario.targets.items():
        for y, year in enumerate(d.years):
            attained = value(model.attained(tid, y))
            base = value(model.base(tid, y))
            required = float(t.required(base))
            rows.append(
                {
                    "target": tid,
                    "target_year": t.year,
                    "year": year,
                    "min_level": t.min_level,
                    "attained_people": attained,
                    "base_people": base,
                    "attained_share": attained / base if base > 0 else float("nan"),
                    "required_share": t.share,
                    "required_count": t.min_count,
                    "shortfall_people": max(required - attained, 0.0),
                    "met": attained >= required - 1e-6 * max(1.0, required),
                }
            )
    return pd.DataFrame(rows)


SHADOW_PRICE_COLUMNS = ["kind", "name", "year", "value_vnd", "meaning"]

_LIMIT_MEANING = {
    "available": "VND saved overall for one more person of this level free to enrol here",
    "capacity": "VND saved overall for one more seat in this course this year",
}


@dataclass(frozen=True)
class BindingLimit:
    """An availability or capacity row the plan fills to the brim."""

    kind: str
    """``"available"`` (every free person of a level in a pool-year enrolled) or ``"capacity"``
    (every seat of a course-year taken)."""
    name: str
    year: int
    row: pulp.LpConstraint


def binding_limits(model: LpModel) -> list[BindingLimit]:
    """The availability and capacity rows the solved schedule meets with equality.

    Only rows through which someone is enrolled count: a level with nobody free and nobody
    enrolled is binding on paper, but there is no min(X, n) there to bias the expectation.
    """
    d = model.dynamics
    out: list[BindingLimit] = []
    for (p, lvl, y), row in model.availability_rows.items():
        intake = math.fsum(
            value(var)
            for (pp, c, yy), var in model.enrol.items()
            if (pp, yy) == (p, y) and d.entry[c] == lvl
        )
        if _at_limit(row, intake):
            out.append(BindingLimit("available", f"{d.pool_ids[p]} L{lvl}", d.years[y], row))
    for (c, y), row in model.capacity_rows.items():
        intake = math.fsum(
            value(var) for (_, cc, yy), var in model.enrol.items() if (cc, yy) == (c, y)
        )
        if _at_limit(row, intake):
            out.append(BindingLimit("capacity", d.course_ids[c], d.years[y], row))
    return out


def _at_limit(row: pulp.LpConstraint, intake: float) -> bool:
    # Rows are ``intake - limit <= 0`` in people; a vertex meets its binding rows to within the
    # solver's feasibility tolerance (about 1e-7), far below a fraction of a person.
    slack = -value(row)
    return intake > _EPS and slack <= _EPS * max(1.0, intake)


def price_constraints(model: LpModel, solver: str, limits: list[BindingLimit]) -> pd.DataFrame:
    """Shadow prices of the true cost: re-solve with the discounted cost alone and read its duals.

    The plan keeps the tie-broken schedule (the caller has read it already). The tie-break's
    duals are not costs: in a plan where a 2025 count is met by people the 2030 count needs
    anyway, one more person by 2025 only moves 16 million VND five years earlier, which the
    tie-break values at 8 VND while the cost does not change at all. The tie-broken schedule is
    a pure-cost optimum too (it could give up at most the tie-break's weight, 1e-7 a year of
    the horizon relative; on the shipped scenarios both solves cost the same to the đồng), so
    the pure-cost duals are valid prices at the plan: by complementary slackness they pair with
    any optimal schedule. Where the LP is degenerate they are one valid choice among several,
    each between the left and right marginal costs.
    """
    assert model.discounted_cost is not None
    model.prob.setObjective(model.discounted_cost)
    if run(model, solver) is not Status.OPTIMAL:
        # cannot happen for a model just solved with a nearly equal objective; should it, the
        # plan stands and only its prices are left out
        return read_shadow_prices(model, limits, priced=False)
    return read_shadow_prices(model, limits)


def read_shadow_prices(
    model: LpModel, limits: list[BindingLimit] | None = None, *, priced: bool = True
) -> pd.DataFrame:
    """Duals in planners' words (in the objective's VND: discounted if a rate is set).

    ``limits`` adds one row per binding availability or capacity row. Unpriced (a MIP, or a
    failed re-solve), only those rows are given, with a NaN value: they still say where the
    expected plan is at a limit.
    """
    d = model.dynamics
    rows: list[dict[str, Any]] = []
    if priced:
        for tid, row in model.target_rows.items():
            t = d.scenario.targets[tid]
            base = value(model.base(tid, d.years.index(t.year)))
            pi = float(row.pi or 0.0)
            rows.append(
                {
                    "kind": "target_share",
                    "name": tid,
                    "year": t.year,
                    "value_vnd": pi * MONEY_UNIT_VND * base / 100.0,
                    "meaning": "VND more for one more percentage point of this target",
                }
            )
        for tid, row in model.target_count_rows.items():
            t = d.scenario.targets[tid]
            rows.append(
                {
                    "kind": "target_count",
                    "name": tid,
                    "year": t.year,
                    "value_vnd": float(row.pi or 0.0) * MONEY_UNIT_VND,
                    "meaning": "VND more for one more person in this target's minimum count",
                }
            )
        for year, row in model.ceiling_rows.items():
            rows.append(
                {
                    "kind": "ceiling",
                    "name": "public_ceiling",
                    "year": year,
                    "value_vnd": -float(row.pi or 0.0),
                    "meaning": "VND saved overall per extra VND of this year's ceiling",
                }
            )
    for limit in limits or []:
        rows.append(
            {
                "kind": limit.kind,
                "name": limit.name,
                "year": limit.year,
                # a ``<=`` row of a minimisation has pi <= 0: minus it is the saving
                "value_vnd": -float(limit.row.pi or 0.0) * MONEY_UNIT_VND
                if priced
                else float("nan"),
                "meaning": _LIMIT_MEANING[limit.kind],
            }
        )
    return pd.DataFrame(rows, columns=SHADOW_PRICE_COLUMNS)
