"""One scenario's plan asked again and again with other margins on its targets.

The robust loop (:func:`simopt.plan.robust_plan`) asks the optimiser for the same scenario, under
the same ceiling, round after round; between rounds only the targets' margins change, i.e. the
right-hand sides of the target rows. Building the model is most of an ask at a national scale
(PuLP, some 20,000 rows), so it is built once and each ask resets it to what a fresh build with
those margins is: shortfalls uncapped, the least-shortfall objective, the target rows' right-hand
sides. HiGHS then solves it from scratch as before, so every answer is the one :func:`optimize`
gives (a warm start from the last round's basis could end at another optimal vertex of a
degenerate program, and with it another schedule).
"""

from __future__ import annotations

from simopt.dynamics import Dynamics, engine_dynamics
from simopt.optimize.lp import LpModel, build_lp, set_margins
from simopt.optimize.plan import Plan
from simopt.optimize.solve import plan_from
from simopt.scenario import Scenario


class MarginModel:
    """:func:`simopt.optimize.optimize` for one scenario, ceiling and solver, its least-shortfall
    model built on the first ask and kept for the next."""

    def __init__(
        self,
        scenario: Scenario | None,
        *,
        ceiling_vnd: float | None = None,
        solver: str = "highs",
        dynamics: Dynamics | None = None,
    ) -> None:
        self.dynamics = engine_dynamics(scenario, dynamics)
        self.ceiling_vnd = ceiling_vnd
        self.solver = solver
        self._model: LpModel | None = None

    def optimize(
        self, buffers: dict[str, float] | None = None, *, continuous: bool = False
    ) -> Plan:
        """What ``optimize(scenario, ceiling_vnd=…, solver=…, buffers=buffers,
        continuous=continuous)`` returns."""
        model = self._model
        if model is None:
            model = build_lp(
                self.dynamics, ceiling_vnd=self.ceiling_vnd, mode="min_shortfall", buffers=buffers
            )
            self._model = model
        else:
            # undo what the last ask did to the model (plan_from caps the shortfalls and swaps
            # the objective), then the margins
            for slack in model.shortfall.values():
                slack.upBound = None
            assert model.shortfall_objective is not None
            model.prob.setObjective(model.shortfall_objective)
            set_margins(model, buffers)
        return plan_from(
            model,
            ceiling_vnd=self.ceiling_vnd,
            solver=self.solver,
            continuous=continuous,
            buffers=buffers,
        )
