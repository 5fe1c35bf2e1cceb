"""Experiments at scale, in the vocabulary of exploratory modelling.

*Uncertainties* are the scenario's ranges (and level tables); *levers* are what a province
decides (a ceiling, the confidence, seats, funding shares: any scenario field, or the run
settings ``confidence`` and ``reps``); *outcomes* are named measures (:data:`OUTCOMES`). A
:class:`Design` of experiments is applied to an :class:`ExperimentModel` — the scenario parsed
once — as typed overrides, and :func:`run_sweep` evaluates it on an executor (sequential, local
processes, Dask), writing the experiments and the long outcomes table, resumably.
"""

# Names load on first use: the command line imports this package's ``cli_*`` modules to build
# its parser, and ``simopt validate`` must not pay for pandas, SciPy or Dask.
import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simopt.experiments.design import (
        Design as Design,
    )
    from simopt.experiments.design import (
        grid_design as grid_design,
    )
    from simopt.experiments.design import (
        lhs_design as lhs_design,
    )
    from simopt.experiments.design import (
        list_design as list_design,
    )
    from simopt.experiments.design import (
        unit_design as unit_design,
    )
    from simopt.experiments.executors import (
        EXECUTORS as EXECUTORS,
    )
    from simopt.experiments.executors import (
        ExecutorError as ExecutorError,
    )
    from simopt.experiments.executors import (
        make_executor as make_executor,
    )
    from simopt.experiments.factors import (
        CorrelationSplitError as CorrelationSplitError,
    )
    from simopt.experiments.factors import (
        Uncertainty as Uncertainty,
    )
    from simopt.experiments.model import (
        LEVER_ALIASES as LEVER_ALIASES,
    )
    from simopt.experiments.model import (
        RUN_SETTINGS as RUN_SETTINGS,
    )
    from simopt.experiments.model import (
        ExperimentModel as ExperimentModel,
    )
    from simopt.experiments.outcomes import (
        OUTCOMES as OUTCOMES,
    )
    from simopt.experiments.outcomes import (
        Settings as Settings,
    )
    from simopt.experiments.outcomes import (
        expand_outcomes as expand_outcomes,
    )
    from simopt.experiments.store import (
        SweepFolderError as SweepFolderError,
    )
    from simopt.experiments.sweep import (
        SweepError as SweepError,
    )
    from simopt.experiments.sweep import (
        SweepResult as SweepResult,
    )
    from simopt.experiments.sweep import (
        experiment_seed as experiment_seed,
    )
    from simopt.experiments.sweep import (
        run_sweep as run_sweep,
    )

_WHERE = {
    "CorrelationSplitError": "factors",
    "Design": "design",
    "EXECUTORS": "executors",
    "ExecutorError": "executors",
    "ExperimentModel": "model",
    "LEVER_ALIASES": "model",
    "OUTCOMES": "outcomes",
    "RUN_SETTINGS": "model",
    "Settings": "outcomes",
    "SweepError": "sweep",
    "SweepFolderError": "store",
    "SweepResult": "sweep",
    "Uncertainty": "factors",
    "expand_outcomes": "outcomes",
    "experiment_seed": "sweep",
    "grid_design": "design",
    "lhs_design": "design",
    "list_design": "design",
    "make_executor": "executors",
    "run_sweep": "sweep",
    "unit_design": "design",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'simopt.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(f"simopt.experiments.{module}"), name)
