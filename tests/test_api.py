"""simopt.api re-exports the public functions and resolves the experiments layer on first use."""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

import simopt.api as so
from simopt import ceilings, compare, plan, price, scenario
from simopt.reporting import outputs, workbook

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_every_listed_name_is_there_and_unique() -> None:
    assert len(set(so.__all__)) == len(so.__all__)
    missing = [n for n in so.__all__ if not hasattr(so, n)]
    assert not missing


def test_names_are_the_defining_modules_own_objects() -> None:
    # a re-export, not a wrapper: the notebooks call exactly what the CLI calls
    assert so.load_scenario is scenario.load_scenario
    assert so.robust_plan is plan.robust_plan
    assert so.compare_plans is compare.compare_plans
    assert so.sweep_ceilings is ceilings.sweep_ceilings
    assert so.price_of_confidence is price.price_of_confidence
    assert so.report_files is outputs.report_files
    assert so.write_workbook is workbook.write_workbook


def test_the_api_runs_a_scenario_end_to_end() -> None:
    s = so.load_scenario(SCENARIOS / "quang_tri.yaml")
    p = so.optimize(s, continuous=True)
    assert p.is_ok
    assert p.total_cost_vnd is not None and p.total_cost_vnd > 0
    files = so.report_files(so.from_optimize(p, s), "en")
    assert {"workbook.xlsx", "report.html"} <= set(files)


@pytest.fixture
def fake_layer(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    """A stand-in experiments package, plus a name listed for a module not written yet."""
    module = types.ModuleType("simopt_fake_layer")
    module.__all__ = ["run_fake_sweep"]  # type: ignore[attr-defined]

    def run_fake_sweep() -> str:
        return "swept"

    module.run_fake_sweep = run_fake_sweep  # type: ignore[attr-defined]
    module.helper_not_public = run_fake_sweep  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "simopt_fake_layer", module)
    monkeypatch.setattr(so, "EXPERIMENTS", "simopt_fake_layer")
    monkeypatch.setattr(so, "LAZY_NAMES", {"value_of_nothing": "simopt_not_written_yet"})
    yield module
    vars(so).pop("run_fake_sweep", None)  # the api caches a resolved name: forget it


def test_a_lazy_name_resolves_to_its_module(fake_layer: types.ModuleType) -> None:
    assert so.lazy_names() == {"run_fake_sweep": "simopt_fake_layer"}
    assert so.run_fake_sweep is fake_layer.run_fake_sweep
    assert so.run_fake_sweep() == "swept"
    assert "run_fake_sweep" in dir(so)


def test_a_name_outside_all_is_not_exposed(fake_layer: types.ModuleType) -> None:
    with pytest.raises(AttributeError, match="helper_not_public"):
        _ = so.helper_not_public


def test_a_name_of_a_module_not_written_yet_is_absent(fake_layer: types.ModuleType) -> None:
    # the api imports, and says where it looked, before that part of the layer exists
    with pytest.raises(AttributeError, match="LAZY_NAMES"):
        _ = so.value_of_nothing
    assert not hasattr(so, "value_of_nothing")
    assert "value_of_nothing" not in dir(so)


def test_a_broken_layer_module_is_an_error_not_an_absence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # a module that exists but imports something missing must not silently hide its names
    (tmp_path / "simopt_broken_layer.py").write_text("import simopt_dependency_gone\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(so, "LAZY_NAMES", {"anything": "simopt_broken_layer"})
    with pytest.raises(ModuleNotFoundError, match="simopt_dependency_gone"):
        so.lazy_names()


def test_the_experiments_layer_is_reachable_object_for_object() -> None:
    import simopt.experiments as experiments

    available = so.lazy_names()
    # the whole layer is written now: every listed name is there, from the module defining it
    assert set(experiments.__all__) | set(so.LAZY_NAMES) == set(available)
    for name, module_name in available.items():
        assert getattr(so, name) is getattr(importlib.import_module(module_name), name)
    assert so.run_sweep is experiments.run_sweep


def test_the_replan_estimate_and_merge_names_are_their_modules_own() -> None:
    # notebook 06 re-plans from a record and compares a merged province through these
    from simopt import dynamics, estimate, merge, replan, yamlio
    from simopt.optimize import arrays

    assert so.replan is replan.replan and so.with_rates is replan.with_rates
    assert so.estimate_rates is estimate.estimate_rates and so.rate_notes is estimate.rate_notes
    assert so.merge is merge.merge and so.MergeOptions is merge.MergeOptions
    assert so.MERGE_WEIGHTED_FIELDS is merge.WEIGHTED_FIELDS
    assert so.minimum_cost is arrays.minimum_cost
    assert so.compile_dynamics is dynamics.compile_dynamics
    assert so.parse_yaml_text is yamlio.parse_yaml_text
