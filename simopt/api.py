"""simopt's public interface: the one module a notebook or script imports.

    import simopt.api as so

    s = so.load_scenario("scenarios/long_an.yaml")
    r = so.robust_plan(s, confidence=0.9, reps=200)

Everything here is a re-export of the module that defines it; nothing is computed here. The
experiments layer (designs, sweeps, sensitivity, value of information, scenario discovery) is
resolved on first use by :func:`__getattr__`, so that ``simopt.api`` imports without it and the
names appear as soon as its modules exist.
"""

from __future__ import annotations

import importlib
from typing import Any

from simopt.audit import AuditReport, Finding, audit
from simopt.audit import render as render_audit_text
from simopt.ceilings import CeilingSweep, sweep_ceilings
from simopt.compare import (
    BASE,
    Comparison,
    Variant,
    compare_plans,
    comparison_table,
    load_variant,
    nothing_shares,
    people_certified,
    read_variants_file,
)
from simopt.dynamics import compile_dynamics
from simopt.errors import ScenarioError
from simopt.estimate import describe_estimates, estimate_rates, rate_notes
from simopt.evidence import Evidence, gather_evidence
from simopt.format import people, vnd
from simopt.merge import WEIGHTED_FIELDS as MERGE_WEIGHTED_FIELDS
from simopt.merge import MergeOptions, MergeResult, Province, merge
from simopt.national import national_data, write_national
from simopt.optimize import Plan, SolverError, Status, optimize
from simopt.optimize.arrays import MinimumCost, minimum_cost
from simopt.optimize.envelopes import with_total_ceiling
from simopt.plan import (
    PlanError,
    RobustCeiling,
    RobustPlan,
    min_replications,
    robust_ceiling,
    robust_plan,
)
from simopt.price import LEVELS as PRICE_LEVELS
from simopt.price import price_of_confidence
from simopt.replan import Replan, replan, with_rates
from simopt.reporting.charts import charts, figures, frontier_figure, png_bytes
from simopt.reporting.data import ReportData, from_optimize, from_robust
from simopt.reporting.html import render_report
from simopt.reporting.outputs import report_files
from simopt.reporting.text import answer_text
from simopt.reporting.workbook import write_workbook
from simopt.scenario import Scenario, build_scenario, load_scenario
from simopt.show import holding_at_start, people_needed
from simopt.show import summary as scenario_summary
from simopt.simulate import SimulationResult, simulate
from simopt.uncertain.drivers import oat_drivers
from simopt.yamlio import parse_yaml_text

__all__ = [
    "BASE",
    "MERGE_WEIGHTED_FIELDS",
    "PRICE_LEVELS",
    "AuditReport",
    "CeilingSweep",
    "Comparison",
    "Evidence",
    "Finding",
    "MergeOptions",
    "MergeResult",
    "MinimumCost",
    "Plan",
    "PlanError",
    "Province",
    "Replan",
    "ReportData",
    "RobustCeiling",
    "RobustPlan",
    "Scenario",
    "ScenarioError",
    "SimulationResult",
    "SolverError",
    "Status",
    "Variant",
    "answer_text",
    "audit",
    "build_scenario",
    "charts",
    "compare_plans",
    "comparison_table",
    "compile_dynamics",
    "describe_estimates",
    "estimate_rates",
    "figures",
    "from_optimize",
    "from_robust",
    "frontier_figure",
    "gather_evidence",
    "holding_at_start",
    "load_scenario",
    "load_variant",
    "merge",
    "min_replications",
    "minimum_cost",
    "national_data",
    "nothing_shares",
    "oat_drivers",
    "optimize",
    "parse_yaml_text",
    "people",
    "people_certified",
    "people_needed",
    "png_bytes",
    "price_of_confidence",
    "rate_notes",
    "read_variants_file",
    "render_audit_text",
    "render_report",
    "replan",
    "report_files",
    "robust_ceiling",
    "robust_plan",
    "scenario_summary",
    "simulate",
    "sweep_ceilings",
    "vnd",
    "with_rates",
    "with_total_ceiling",
    "write_national",
    "write_workbook",
]

EXPERIMENTS = "simopt.experiments"
"""The experiments layer: every name of its ``__all__`` is public here."""

LAZY_NAMES: dict[str, str] = {
    # sensitivity: tornado, Morris, Sobol
    "METHODS": "simopt.experiments.sensitivity",
    "MissingOutcomeError": "simopt.experiments.sensitivity",
    "SensitivityError": "simopt.experiments.sensitivity",
    "SensitivityResult": "simopt.experiments.sensitivity",
    "SweepSettings": "simopt.experiments.sensitivity",
    "morris_indices": "simopt.experiments.sensitivity",
    "oat_swings": "simopt.experiments.sensitivity",
    "sensitivity": "simopt.experiments.sensitivity",
    "sobol_indices": "simopt.experiments.sensitivity",
    "morris_figure": "simopt.experiments.sensitivity_charts",
    "sensitivity_figure": "simopt.experiments.sensitivity_charts",
    "sensitivity_png": "simopt.experiments.sensitivity_charts",
    "sobol_figure": "simopt.experiments.sensitivity_charts",
    "tornado_figure": "simopt.experiments.sensitivity_charts",
    # value of information
    "InformationError": "simopt.experiments.voi",
    "ValueOfInformation": "simopt.experiments.voi",
    "value_of_information": "simopt.experiments.voi",
    # scenario discovery
    "Discovery": "simopt.experiments.discovery",
    "discover": "simopt.experiments.discovery",
    "planner_label": "simopt.experiments.discovery",
    "planner_value": "simopt.experiments.discovery",
}
"""The rest of the experiments layer that is public here: name → the module defining it."""


def _lazy_module(name: str) -> Any | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        # only the module itself (or its package) being absent means "not there"; a missing
        # dependency of a module that exists is a real error and is raised as such
        if exc.name is not None and (name == exc.name or name.startswith(f"{exc.name}.")):
            return None
        raise


def lazy_names() -> dict[str, str]:
    """The experiments layer's public names available now: name → module to take it from.

    Resolved on demand, so that ``simopt.api`` imports without loading (or needing) the layer.
    """
    found: dict[str, str] = {}
    package = _lazy_module(EXPERIMENTS)
    if package is not None:
        found |= {str(n): EXPERIMENTS for n in getattr(package, "__all__", ())}
    modules = {m: _lazy_module(m) for m in sorted(set(LAZY_NAMES.values()))}
    for name, module_name in LAZY_NAMES.items():
        if modules[module_name] is not None:
            found.setdefault(name, module_name)
    return found


def __getattr__(name: str) -> Any:
    if not name.startswith("_"):
        module_name = lazy_names().get(name)
        if module_name is not None:
            value = getattr(importlib.import_module(module_name), name)
            globals()[name] = value  # resolved once: later look-ups are plain attributes
            return value
    raise AttributeError(
        f"module 'simopt.api' has no attribute {name!r} (nor has the experiments layer: "
        f"{EXPERIMENTS}.__all__ and simopt.api.LAZY_NAMES)"
    )


def __dir__() -> list[str]:
    return sorted({*globals(), *lazy_names()})
