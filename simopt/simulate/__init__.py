"""The simulator: cohorts through courses and exams, year by year, with Monte Carlo replications."""

from simopt.simulate.engines import ENGINES
from simopt.simulate.run import (
    ScheduleError,
    SimulationResult,
    schedule_array,
    schedule_frame,
    simulate,
)

__all__ = [
    "ENGINES",
    "ScheduleError",
    "SimulationResult",
    "schedule_array",
    "schedule_frame",
    "simulate",
]
