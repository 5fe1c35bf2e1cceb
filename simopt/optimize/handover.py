"""A built PuLP model handed to HiGHS as arrays, its matrix converted once.

PuLP hands a model to HiGHS one column and one row at a time, sorting the variables by name
first, on every solve: at a national scale (some 22,000 rows and 21,000 columns) that takes
several times as long as HiGHS's own solve. A built model's matrix does not change between its
solves; only bounds, the objective and right-hand sides do (``optimize`` caps the shortfalls and
swaps objectives, the robust loop changes the targets' margins). So the matrix is converted once
and the rest is read again from the PuLP objects before every solve: HiGHS receives exactly the
model PuLP would hand it, in the same column and row order, and is started afresh each time as
PuLP starts it, so that it answers exactly as through PuLP.
"""

from __future__ import annotations

from typing import Any

import highspy
import numpy as np
import numpy.typing as npt
import pulp

FloatArray = npt.NDArray[np.float64]
_INF = highspy.kHighsInf

# PuLP's reading of HiGHS's model status (pulp.apis.highs_api.HiGHS.findSolutionValues), kept
# the same so that a status means what it meant through PuLP
_FOUND = (pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible)
_NONE = (pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound)
_STATUS: dict[Any, tuple[int, int]] = {
    highspy.HighsModelStatus.kOptimal: (pulp.LpStatusOptimal, pulp.LpSolutionOptimal),
    highspy.HighsModelStatus.kInfeasible: (pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible),
    highspy.HighsModelStatus.kUnboundedOrInfeasible: (
        pulp.LpStatusInfeasible,
        pulp.LpSolutionInfeasible,
    ),
    highspy.HighsModelStatus.kUnbounded: (pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded),
    highspy.HighsModelStatus.kObjectiveBound: _FOUND,
    highspy.HighsModelStatus.kObjectiveTarget: _FOUND,
    highspy.HighsModelStatus.kInterrupt: _FOUND,
    highspy.HighsModelStatus.kTimeLimit: _FOUND,
    highspy.HighsModelStatus.kIterationLimit: _FOUND,
}
_LIMITS = (highspy.HighsModelStatus.kTimeLimit, highspy.HighsModelStatus.kIterationLimit)


class Handover:
    """The columns, rows and column-wise matrix of one built problem."""

    def __init__(self, prob: pulp.LpProblem) -> None:
        self.prob = prob
        self.columns: list[pulp.LpVariable] = list(prob.variables())  # PuLP's order: by name
        self.rows: list[pulp.LpConstraint] = list(prob._constraints.values())
        position = {}
        for i, var in enumerate(self.columns):
            var.index = i  # as PuLP leaves it: a warm start and the frontier read it
            position[var] = i
        cols: list[int] = []
        rows: list[int] = []
        coefs: list[float] = []
        for r, row in enumerate(self.rows):
            row.index = r
            for var, coef in row.items():
                if coef != 0:
                    cols.append(position[var])
                    rows.append(r)
                    coefs.append(coef)
        self.position = position
        n_col, n_row = len(self.columns), len(self.rows)
        col = np.asarray(cols, dtype=np.int64)
        # column-wise with each column's rows ascending: what HiGHS holds after PuLP's addRow
        order = np.argsort(col, kind="stable")
        start = np.zeros(n_col + 1, dtype=np.int32)
        np.cumsum(np.bincount(col, minlength=n_col), out=start[1:])
        lp = highspy.HighsLp()
        lp.num_col_ = n_col
        lp.num_row_ = n_row
        lp.sense_ = highspy.ObjSense.kMinimize
        lp.offset_ = 0.0
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.num_col_ = n_col
        lp.a_matrix_.num_row_ = n_row
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = np.asarray(rows, dtype=np.int32)[order]
        lp.a_matrix_.value_ = np.asarray(coefs, dtype=np.float64)[order]
        self.lp = lp
        self._le = [row.sense == pulp.LpConstraintLE for row in self.rows]
        # which side of each row is bounded, as LpConstraint.getLb and getUb say
        self._lower = [row.sense in (pulp.LpConstraintGE, pulp.LpConstraintEQ) for row in self.rows]
        self._upper = [row.sense in (pulp.LpConstraintLE, pulp.LpConstraintEQ) for row in self.rows]

    def fits(self, prob: pulp.LpProblem) -> bool:
        """Whether ``prob`` still has this handover's rows (a row added makes a new one)."""
        rows = prob._constraints
        return (
            prob is self.prob
            and len(rows) == len(self.rows)
            and all(a is b for a, b in zip(rows.values(), self.rows, strict=True))
        )

    def refresh(self) -> None:
        """Bounds, costs and right-hand sides as the PuLP objects now state them."""
        prob, lp = self.prob, self.lp
        sign = -1 if prob.sense == pulp.LpMaximize else 1
        cost = np.zeros(len(self.columns))
        for var, coef in prob.objective.items():
            cost[self.position[var]] = sign * coef
        lp.col_cost_ = cost
        # inline rather than through getLb/getUb: tens of thousands of calls a solve; the
        # right-hand sides are negated in Python, as PuLP negates them, to keep signed zeros
        lp.col_lower_ = np.array(
            [-_INF if (b := v.lowBound) is None else b for v in self.columns], dtype=np.float64
        )
        lp.col_upper_ = np.array(
            [_INF if (b := v.upBound) is None else b for v in self.columns], dtype=np.float64
        )
        lp.row_lower_ = np.array(
            [-r.constant if has else -_INF for r, has in zip(self.rows, self._lower, strict=True)],
            dtype=np.float64,
        )
        lp.row_upper_ = np.array(
            [-r.constant if has else _INF for r, has in zip(self.rows, self._upper, strict=True)],
            dtype=np.float64,
        )

    def read(self, h: highspy.Highs) -> tuple[int, int]:
        """Write HiGHS's answer into the PuLP objects, as PuLP would; PuLP's status codes."""
        solution = h.getSolution()
        for var, x, dj in zip(
            self.columns, list(solution.col_value), list(solution.col_dual), strict=True
        ):
            var.varValue = x
            var.dj = dj
        for row, activity, pi, le in zip(
            self.rows, list(solution.row_value), list(solution.row_dual), self._le, strict=True
        ):
            # PuLP keeps the constant on the left-hand side: the signs are PuLP's
            row.slack = row.constant + activity
            if le:
                row.slack *= -1.0
            row.pi = pi
        status = h.getModelStatus()
        if status in _LIMITS and h.getObjectiveValue() == float(_INF):
            return _NONE
        return _STATUS.get(status, _NONE)


def handed_over(prob: pulp.LpProblem) -> bool:
    """Whether :func:`solve` can take ``prob`` (else PuLP's own path must)."""
    objective = prob.objective
    return isinstance(objective, pulp.LpAffineExpression) and not objective.isNumericalConstant()


def solve(
    prob: pulp.LpProblem, solver: pulp.HiGHS, handover: Handover | None
) -> tuple[int, Handover]:
    """Solve a continuous problem with ``solver``'s options; the handover to keep for its next
    solve. PuLP's status code, and the problem's ``status`` and ``sol_status`` set as by PuLP."""
    if handover is None or not handover.fits(prob):
        handover = Handover(prob)
    handover.refresh()
    solver.createAndConfigureSolver(prob)  # a fresh Highs with the options, as PuLP makes it
    h = prob.solverModel
    h.passModel(handover.lp)
    h.run()
    status, sol_status = handover.read(h)
    prob.assignStatus(status, sol_status)
    prob.solver = solver
    return status, handover
