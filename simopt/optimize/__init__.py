"""The optimiser: the minimum-cost enrolment schedule meeting the targets (a PuLP MILP of whole
people, or its continuous relaxation)."""

from simopt.optimize.plan import Plan, Status
from simopt.optimize.solve import SOLVERS, SolverError, optimize

__all__ = ["SOLVERS", "Plan", "SolverError", "Status", "optimize"]
