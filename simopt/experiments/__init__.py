"""Experiments at scale, in the vocabulary of exploratory modelling.

*Uncertainties* are the scenario's ranges (and level tables); *levers* are what a province
decides (a ceiling, the confidence, seats, funding shares: any scenario field, or the run
settings ``confidence`` and ``reps``); *outcomes* are named measures (:data:`OUTCOMES`). A
:class:`Design` of experiments is applied to an :class:`ExperimentModel` — the scenario parsed
once — as typed overrides, and :func:`run_sweep` evaluates it on an executor (sequential, local
processes, Dask), writing the experiments and the long outcomes table, resumably.
"""

from simopt.experiments.design import Design, grid_design, lhs_design, list_design, unit_design
from simopt.experiments.executors import EXECUTORS, ExecutorError, make_executor
from simopt.experiments.factors import CorrelationSplitError, Uncertainty
from simopt.experiments.model import LEVER_ALIASES, RUN_SETTINGS, ExperimentModel
from simopt.experiments.outcomes import OUTCOMES, Settings, expand_outcomes
from simopt.experiments.store import SweepFolderError
from simopt.experiments.sweep import SweepError, SweepResult, experiment_seed, run_sweep

__all__ = [
    "EXECUTORS",
    "LEVER_ALIASES",
    "OUTCOMES",
    "RUN_SETTINGS",
    "CorrelationSplitError",
    "Design",
    "ExecutorError",
    "ExperimentModel",
    "Settings",
    "SweepError",
    "SweepFolderError",
    "SweepResult",
    "Uncertainty",
    "expand_outcomes",
    "experiment_seed",
    "grid_design",
    "lhs_design",
    "list_design",
    "make_executor",
    "run_sweep",
    "unit_design",
]
