"""The finance frontier: for each yearly ceiling, feasible or not, minimum cost, attainment.

The LP is built once; each ceiling only changes the ceiling rows' bounds, and HiGHS re-solves
warm from the previous basis. Each ceiling takes two solves: the least weighted shortfall the
ceiling allows, then the cheapest schedule with that shortfall.

The frontier is the **continuous** relaxation (fractions of people), also where ``optimize``
plans in whole people: a sweep of many ceilings needs warm LP re-solves, and whole people move
a ceiling's cost by a rounding premium of about 0.01% (``Plan.rounding_premium_vnd``) and the
smallest ceiling by a few people's money. Its smallest ceiling is therefore the continuous one,
a little below what a whole-people plan needs (``optimize`` reports that one). The scenario's
other ceilings (per source, envelopes, total) hold at every ceiling swept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
import pandas as pd
import pulp

from simopt.dynamics import Dynamics, compile_dynamics, engine_dynamics
from simopt.optimize.lp import MONEY_UNIT_VND, SHORTFALL_SCALE, LpModel, build_lp
from simopt.optimize.solve import make_solver, silence_highs_banner, smallest_ceiling
from simopt.scenario import Scenario, Target

_INF = highspy.kHighsInf
FloatArray = npt.NDArray[np.float64]


class _Linear:
    """An affine expression over the model's columns, evaluated on a solution vector."""

    def __init__(self, expr: Any, index: dict[str, int], n: int) -> None:
        self.coef = np.zeros(n)
        for var, c in expr.items():
            self.coef[index[var.name]] += c
        self.constant = float(expr.constant)

    def __call__(self, x: FloatArray) -> float:
        return float(self.coef @ x + self.constant)


class Frontier:
    """A built shortfall/cost model ready to be re-solved at many ceilings."""

    def __init__(self, dynamics: Dynamics) -> None:
        self.d = dynamics
        self.model: LpModel = build_lp(dynamics, ceiling_vnd=_INF_CEILING, mode="min_shortfall")
        m = self.model
        assert m.shortfall_objective is not None and m.weighted_cost is not None
        m.prob += m.shortfall_objective <= _INF_CEILING, "shortfall_cap"
        m.prob.solve(make_solver("highs"))
        self.h: highspy.Highs = m.prob.solverModel
        variables = m.prob.variables()
        self.n = len(variables)
        index = {v.name: v.index for v in variables}
        self.enrol_columns = {key: index[var.name] for key, var in m.enrol.items()}
        self.last_x: FloatArray | None = None
        self.shortfall_cost = _Linear(m.shortfall_objective, index, self.n)
        self.cost_cost = _Linear(m.weighted_cost, index, self.n)
        self.total_cost = _Linear(m.total_cost, index, self.n)
        self.cap_row = m.prob.constraints["shortfall_cap"].index
        self.ceiling_rows = [row.index for row in m.ceiling_rows.values()]
        years = dynamics.years
        self.targets: list[tuple[str, _Linear, _Linear, Target]] = []
        for tid, t in dynamics.scenario.targets.items():
            y = years.index(t.year)
            self.targets.append(
                (
                    tid,
                    _Linear(m.attained(tid, y), index, self.n),
                    _Linear(m.base(tid, y), index, self.n),
                    t,
                )
            )
        self.public_by_year = {yr: _Linear(e, index, self.n) for yr, e in m.cost_by_year.items()}
        all_cols = np.arange(self.n, dtype=np.int32)
        # Two copies of one model, each kept warm for its own objective: switching one
        # model's objective back and forth costs hundreds of simplex iterations a ceiling.
        self.h_short = self.h
        silence_highs_banner()
        self.h_cost = highspy.Highs()  # type: ignore[no-untyped-call]
        self.h_cost.setOptionValue("output_flag", False)
        self.h_cost.passModel(self.h.getLp())
        self.h_cost.changeColsCost(self.n, all_cols, self.cost_cost.coef)
        smallest = smallest_ceiling(dynamics, solver="highs")
        self.smallest_ceiling_vnd = smallest

    def last_schedule(self) -> FloatArray:
        """(years, pools, courses) enrolments of the last solve."""
        d = self.d
        out = np.zeros((len(d.years), d.n_pools, d.n_courses))
        if self.last_x is not None:
            for (p, c, y), col in self.enrol_columns.items():
                out[y, p, c] = max(float(self.last_x[col]), 0.0)
        return out

    def _set_ceiling(self, h: highspy.Highs, ceiling_vnd: float) -> None:
        for row in self.ceiling_rows:
            h.changeRowBounds(row, -_INF, float(ceiling_vnd) / MONEY_UNIT_VND)

    def solve_at(self, ceiling_vnd: float) -> dict[str, Any]:
        failed = {"ceiling_vnd": ceiling_vnd, "status": "not_solved", "feasible": False}
        best = 0.0
        smallest = self.smallest_ceiling_vnd
        if smallest is None or ceiling_vnd < smallest * (1 + 1e-9):
            h = self.h_short
            self._set_ceiling(h, ceiling_vnd)
            h.run()
            if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                return failed
            best = max(float(h.getInfo().objective_function_value), 0.0)
        h = self.h_cost
        self._set_ceiling(h, ceiling_vnd)
        h.changeRowBounds(self.cap_row, -_INF, best + 1e-9 + 1e-7 * best)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return failed
        x = np.asarray(h.getSolution().col_value)
        self.last_x = x
        feasible = best <= 1e-7 * SHORTFALL_SCALE
        row: dict[str, Any] = {
            "ceiling_vnd": float(ceiling_vnd),
            "status": "optimal" if feasible else "infeasible",
            "feasible": feasible,
            "min_cost_vnd": self.total_cost(x) * MONEY_UNIT_VND if feasible else float("nan"),
            "cost_vnd": self.total_cost(x) * MONEY_UNIT_VND,
            "max_public_cost_vnd_per_year": MONEY_UNIT_VND
            * max(f(x) for f in self.public_by_year.values()),
        }
        shortfall_total = 0.0
        for tid, attained, base, target in self.targets:
            a, b = attained(x), base(x)
            need = float(target.required(b))
            gap = max(need - a, 0.0)
            gap = 0.0 if gap < 1e-3 else gap  # solver tolerance, not people
            shortfall_total += gap
            row[f"attained_share:{tid}"] = a / b if b > 0 else float("nan")
            row[f"shortfall_people:{tid}"] = gap
        row["shortfall_people"] = shortfall_total
        return row


_INF_CEILING = 1e18


def ceiling_frontier(
    scenario: Scenario,
    ceilings_vnd: Iterable[float],
    *,
    dynamics: Dynamics | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """One row per ceiling: feasible, minimum cost, attainment and shortfall per target."""
    frontier = Frontier(engine_dynamics(scenario, dynamics))
    rows = []
    for ceiling in ceilings_vnd:
        rows.append(frontier.solve_at(ceiling))
        if progress is not None:
            progress(1)
    return pd.DataFrame(rows)


def naive_frontier_point(scenario: Scenario, ceiling_vnd: float, solver: str = "cbc") -> bool:
    """The slow way, for the benchmark: rebuild the PuLP model and solve it from scratch."""
    d = compile_dynamics(scenario)
    model = build_lp(d, ceiling_vnd=ceiling_vnd, mode="min_shortfall")
    model.prob.solve(make_solver(solver))
    assert model.shortfall_objective is not None and model.weighted_cost is not None
    best = pulp.value(model.shortfall_objective) or 0.0
    model.prob += model.shortfall_objective <= best + 1e-9 + 1e-7 * abs(best), "best"
    model.prob.setObjective(model.weighted_cost)
    model.prob.solve(make_solver(solver))
    return bool(best <= 1e-7 * SHORTFALL_SCALE)


__all__ = ["Frontier", "ceiling_frontier", "naive_frontier_point", "smallest_ceiling"]
