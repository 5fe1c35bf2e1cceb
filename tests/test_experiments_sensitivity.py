"""Global sensitivity: SALib wired as simopt wires it (Ishigami's analytic indices), a toy
scenario whose minimum cost is a known linear function of its uncertainties (variance shares,
Morris effects and one-at-a-time swings by hand), correlation groups, the chart and the command.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import with_changes

from simopt.errors import ScenarioError
from simopt.experiments import ExperimentModel
from simopt.experiments.sensitivity import (
    END_QUANTILES,
    SensitivityError,
    group_label,
    morris_indices,
    oat_swings,
    select_factors,
    sensitivity,
    sobol_indices,
)
from simopt.experiments.sensitivity_charts import sensitivity_png

# ------------------------------------------------------------------------------- Ishigami

A, B = 7.0, 0.1
"""Ishigami's constants: f = sin x1 + A sin² x2 + B x3⁴ sin x1 on [−π, π]³."""


def ishigami(u: np.ndarray) -> np.ndarray:
    x = -math.pi + 2 * math.pi * u
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def ishigami_variances() -> tuple[float, float, float]:
    """V1, V2 and V13 (the only interaction), from the integrals."""
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
    return v1, v2, v13


def close(est: float, conf: float, truth: float) -> bool:
    """Within the estimate's 95% bootstrap interval and within 0.03 of the truth (a factor with
    no effect has an interval of exactly zero)."""
    return abs(est - truth) <= max(min(conf, 0.03), 1e-9)


def test_sobol_indices_of_ishigami_match_the_analytic_values() -> None:
    v1, v2, v13 = ishigami_variances()
    v = v1 + v2 + v13
    s1 = {"x1": v1 / v, "x2": v2 / v, "x3": 0.0}
    st = {"x1": (v1 + v13) / v, "x2": v2 / v, "x3": v13 / v}
    assert s1["x1"] == pytest.approx(0.314, abs=1e-3) and st["x3"] == pytest.approx(0.244, abs=1e-3)
    first, pairs = sobol_indices(["x1", "x2", "x3"], ishigami, 2048, seed=1)
    assert pairs is None
    for row in first.to_dict("records"):
        name = row["factor"]
        assert close(row["S1"], row["S1_conf"], s1[name]), row
        assert close(row["ST"], row["ST_conf"], st[name]), row
        assert 0 < row["S1_conf"] < 0.1 and 0 < row["ST_conf"] < 0.1


def test_second_order_index_of_ishigami_is_the_x1_x3_interaction() -> None:
    v1, v2, v13 = ishigami_variances()
    _, pairs = sobol_indices(["x1", "x2", "x3"], ishigami, 2048, seed=2, second_order=True)
    assert pairs is not None
    s2 = {(r["factor"], r["other"]): (r["S2"], r["S2_conf"]) for r in pairs.to_dict("records")}
    v = v1 + v2 + v13
    assert close(*s2[("x1", "x3")], v13 / v)
    assert close(*s2[("x1", "x2")], 0.0)
    assert close(*s2[("x2", "x3")], 0.0)


def test_a_group_of_sobol_factors_has_the_variance_of_its_members_together() -> None:
    # x1 and x2 as one factor: alone it explains V1 + V2; with x3's interaction, everything
    v1, v2, v13 = ishigami_variances()
    v = v1 + v2 + v13
    first, _ = sobol_indices(["x1", "x2", "x3"], ishigami, 2048, 3, groups=["a", "a", "b"])
    rows = {r["factor"]: r for r in first.to_dict("records")}
    assert list(rows) == ["a", "b"]
    assert close(rows["a"]["S1"], rows["a"]["S1_conf"], (v1 + v2) / v)
    assert close(rows["a"]["ST"], rows["a"]["ST_conf"], 1.0)
    assert close(rows["b"]["ST"], rows["b"]["ST_conf"], v13 / v)


def test_the_same_seed_gives_the_same_indices_and_another_seed_others() -> None:
    one, _ = sobol_indices(["x1", "x2", "x3"], ishigami, 64, seed=5)
    again, _ = sobol_indices(["x1", "x2", "x3"], ishigami, 64, seed=5)
    other, _ = sobol_indices(["x1", "x2", "x3"], ishigami, 64, seed=6)
    pd.testing.assert_frame_equal(one, again)
    assert not one.equals(other)


def test_sobol_wants_a_power_of_two_and_two_factors() -> None:
    with pytest.raises(SensitivityError, match="power of 2"):
        sobol_indices(["x1", "x2", "x3"], ishigami, 100, seed=0)
    with pytest.raises(SensitivityError, match="at least two"):
        sobol_indices(["x1", "x2"], ishigami, 64, seed=0, groups=["g", "g"])


def test_a_run_without_a_value_stops_the_indices() -> None:
    def holes(u: np.ndarray) -> np.ndarray:
        y = u.sum(axis=1)
        y[3] = np.nan
        return y

    with pytest.raises(SensitivityError, match="1 of 40 runs gave no value"):
        sobol_indices(["a", "b", "c"], holes, 8, seed=0)


def test_morris_effects_of_a_linear_function_are_its_slopes_across_the_span() -> None:
    def linear(u: np.ndarray) -> np.ndarray:
        return 3.0 * u[:, 0] - 1.0 * u[:, 1] + 0.0 * u[:, 2]

    frame = morris_indices(["a", "b", "c"], linear, 10, seed=0, span=(0.05, 0.95))
    rows = {r["factor"]: r for r in frame.to_dict("records")}
    assert rows["a"]["mu_star"] == pytest.approx(3.0 * 0.9)
    assert rows["b"]["mu"] == pytest.approx(-0.9)
    assert rows["c"]["mu_star"] == pytest.approx(0.0, abs=1e-12)
    assert rows["a"]["sigma"] == pytest.approx(0.0, abs=1e-9)  # no interaction, no curvature


def test_oat_swings_move_one_factor_at_a_time() -> None:
    seen: list[np.ndarray] = []

    def f(x: np.ndarray) -> np.ndarray:
        seen.append(x.copy())
        return 2.0 * x[:, 0] + x[:, 0] * x[:, 1]

    frame = oat_swings(["a", "b"], f, [1.0, 1.0], [0.0, 0.5], [2.0, 3.0])
    assert seen[0].tolist() == [[1.0, 1.0], [0.0, 1.0], [2.0, 1.0], [1.0, 0.5], [1.0, 3.0]]
    rows = {r["factor"]: r for r in frame.to_dict("records")}
    assert rows["a"]["outcome_low"] == 0.0 and rows["a"]["outcome_high"] == 6.0
    assert rows["a"]["swing"] == 6.0 and rows["b"]["swing"] == 2.5
    assert rows["b"]["outcome_stated"] == 3.0


# ------------------------------------------------------------------------------- the toy

TUITION_C = (8e6, 12e6)
TUITION_D = (10e6, 20e6)
FEE = (0.5e6, 1.5e6)
PEOPLE_C, PEOPLE_D = 30, 20
"""Required people: 30 of g to level 3 through course c, 20 of h (at level 3) to 4 through d.
Everyone completes and passes at the first sitting, nobody leaves, so the minimum cost is
30 (T_c + fee) + 20 (T_d + fee): linear in the tuitions and the fee."""


def uniform(low: float, high: float) -> dict[str, Any]:
    return {
        "value": (low + high) / 2,
        "range": [low, high],
        "distribution": "uniform",
        "source": "test",
    }


def course(entry: int, target: int, tuition: tuple[float, float]) -> dict[str, Any]:
    return {
        "entry_level": entry,
        "target_level": target,
        "duration_months": 11,
        "intake_month": 1,
        "tuition_vnd_per_trainee": uniform(*tuition),
        "completion_rate": 1.0,
        "exam_pass_probability": 1.0,
    }


TOY: dict[str, Any] = {
    "name": "toy",
    "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
    "groups": {
        "g": {"pools": {"p": {"headcount": 100, "level_shares": {0: 1.0}}}},
        "h": {"pools": {"q": {"headcount": 100, "level_shares": {3: 1.0}}}},
    },
    "courses": {"c": course(0, 3, TUITION_C), "d": course(3, 4, TUITION_D)},
    "exams": {
        "session_months": [12],
        "max_attempts": 1,
        "fee_vnd": uniform(*FEE),
        # one attempt only: the retake factor cannot matter
        "retake_pass_factor": {"value": 0.9, "range": [0.8, 1.0], "source": "test"},
    },
    "targets": {
        "tc": {"groups": ["g"], "min_level": 3, "min_count": PEOPLE_C, "year": 2022},
        "td": {"groups": ["h"], "min_level": 4, "min_count": PEOPLE_D, "year": 2022},
    },
}
TUITIONS = ["courses.c.tuition_vnd_per_trainee", "courses.d.tuition_vnd_per_trainee"]
FEE_PATH = "exams.fee_vnd"
RETAKE = "exams.retake_pass_factor"
RHO = 0.8
CORRELATED = with_changes(
    TOY,
    correlations=[
        {
            "label": "tuition_market",
            "parameters": ["courses.*.tuition_vnd_per_trainee"],
            "rank_correlation": RHO,
        }
    ],
)


def var_uniform(r: tuple[float, float]) -> float:
    return (r[1] - r[0]) ** 2 / 12


def cost(tc: float, td: float, fee: float) -> float:
    return PEOPLE_C * (tc + fee) + PEOPLE_D * (td + fee)


@pytest.fixture(scope="module")
def toy() -> ExperimentModel:
    return ExperimentModel.from_scenario_data(copy.deepcopy(TOY), file="toy.yaml")


@pytest.fixture(scope="module")
def correlated() -> ExperimentModel:
    return ExperimentModel.from_scenario_data(copy.deepcopy(CORRELATED), file="toy.yaml")


def by_factor(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    return {str(r["factor"]): r for r in table.to_dict("records")}


def test_toy_first_order_indices_are_the_analytic_variance_shares(toy: ExperimentModel) -> None:
    parts = {
        TUITIONS[0]: PEOPLE_C**2 * var_uniform(TUITION_C),
        TUITIONS[1]: PEOPLE_D**2 * var_uniform(TUITION_D),
        FEE_PATH: (PEOPLE_C + PEOPLE_D) ** 2 * var_uniform(FEE),
        RETAKE: 0.0,
    }
    total = sum(parts.values())
    result = sensitivity(toy, "minimum_cost_vnd", "sobol", n=128, seed=0)
    rows = by_factor(result.table)
    assert set(rows) == set(parts)
    for name, part in parts.items():
        share = part / total
        assert close(rows[name]["S1"], rows[name]["S1_conf"], share), (name, share)
        # additive: nothing interacts, the total index is the first-order one
        assert close(rows[name]["ST"], rows[name]["ST_conf"], share), (name, share)
    assert [r for r in result.table["factor"]][:2] == [TUITIONS[1], TUITIONS[0]]
    assert result.runs == 128 * (4 + 2)
    assert result.sweep is not None and len(result.sweep.experiments) == result.runs


def test_morris_ranks_an_irrelevant_factor_last_with_no_effect(toy: ExperimentModel) -> None:
    result = sensitivity(toy, "minimum_cost_vnd", "morris", n=8, seed=3)
    rows = by_factor(result.table)
    assert result.table["factor"].iloc[-1] == RETAKE
    assert rows[RETAKE]["mu_star"] == pytest.approx(0.0, abs=1.0)  # VND: a solver's rounding
    # linear: every step's effect is the cost's change from the 5% to the 95% quantile
    span = END_QUANTILES[1] - END_QUANTILES[0]
    width_c = TUITION_C[1] - TUITION_C[0]
    assert rows[TUITIONS[0]]["mu_star"] == pytest.approx(PEOPLE_C * span * width_c, rel=1e-6)
    assert rows[TUITIONS[0]]["mu"] == pytest.approx(rows[TUITIONS[0]]["mu_star"], rel=1e-9)
    assert result.runs == 8 * (4 + 1)


def test_oat_swings_are_the_hand_computed_ends(toy: ExperimentModel) -> None:
    result = sensitivity(toy, "minimum_cost_vnd", "oat")
    rows = by_factor(result.table)
    q0, q1 = END_QUANTILES
    stated = cost(10e6, 15e6, 1e6)
    tc_low, tc_high = (TUITION_C[0] + q * (TUITION_C[1] - TUITION_C[0]) for q in (q0, q1))
    row = rows[TUITIONS[0]]
    assert row["value_low"] == pytest.approx(tc_low) and row["value_high"] == pytest.approx(tc_high)
    assert row["outcome_stated"] == pytest.approx(stated, rel=1e-9)
    assert row["outcome_low"] == pytest.approx(cost(tc_low, 15e6, 1e6), rel=1e-9)
    assert row["outcome_high"] == pytest.approx(cost(tc_high, 15e6, 1e6), rel=1e-9)
    assert row["swing"] == pytest.approx(PEOPLE_C * (tc_high - tc_low), rel=1e-9)
    d_swing = PEOPLE_D * (q1 - q0) * (TUITION_D[1] - TUITION_D[0])
    assert rows[TUITIONS[1]]["swing"] == pytest.approx(d_swing, rel=1e-9)
    assert rows[RETAKE]["swing"] == pytest.approx(0.0, abs=1.0)
    assert list(result.table["factor"]) == [TUITIONS[1], TUITIONS[0], FEE_PATH, RETAKE]
    assert result.table["rank"].tolist() == [1, 2, 3, 4]
    assert result.runs == 1 + 2 * 4


def test_a_correlation_group_is_one_factor_with_its_joint_variance(
    correlated: ExperimentModel,
) -> None:
    # Spearman ρ between uniforms is their Pearson correlation, whatever the copula
    sd_c, sd_d = math.sqrt(var_uniform(TUITION_C)), math.sqrt(var_uniform(TUITION_D))
    group = (PEOPLE_C * sd_c) ** 2 + (PEOPLE_D * sd_d) ** 2
    group += 2 * PEOPLE_C * PEOPLE_D * RHO * sd_c * sd_d
    fee = (PEOPLE_C + PEOPLE_D) ** 2 * var_uniform(FEE)
    result = sensitivity(correlated, "minimum_cost_vnd", "sobol", n=128, seed=0)
    rows = by_factor(result.table)
    assert set(rows) == {"tuition_market", FEE_PATH, RETAKE}
    market = rows["tuition_market"]
    assert market["members"] == "; ".join(TUITIONS)
    assert market["label"] == "tuition_market: c and d tuitions (VND per trainee), together"
    assert close(market["S1"], market["S1_conf"], group / (group + fee))
    assert close(rows[FEE_PATH]["S1"], rows[FEE_PATH]["S1_conf"], fee / (group + fee))
    # the group's columns moved together: every experiment changes both tuitions or neither
    assert result.sweep is not None
    x = result.sweep.experiments
    base = x.iloc[0::5].reset_index(drop=True)  # SALib's rows come in blocks of k + 2 = 5
    swapped = x.iloc[1::5].reset_index(drop=True)  # the first factor (the group) from B
    assert (base[TUITIONS[0]] != swapped[TUITIONS[0]]).all()
    assert (base[TUITIONS[1]] != swapped[TUITIONS[1]]).all()
    assert (base[FEE_PATH] == swapped[FEE_PATH]).all()
    assert any("correlation group moves as one factor" in a for a in result.assumptions)


def test_part_of_a_correlation_group_is_refused(correlated: ExperimentModel) -> None:
    with pytest.raises(ScenarioError, match="correlations: tuition_market") as err:
        select_factors(correlated, [TUITIONS[0], FEE_PATH])
    assert "\n" not in err.value.message
    whole = select_factors(correlated, ["tuition_market", FEE_PATH])
    assert [f.name for f in whole] == ["tuition_market", FEE_PATH]
    assert [f.name for f in select_factors(correlated, ["courses.*", "exams.fee_vnd"])] == [
        "tuition_market",
        FEE_PATH,
    ]


def test_oat_moves_correlated_uncertainties_alone_and_says_so(
    correlated: ExperimentModel,
) -> None:
    result = sensitivity(correlated, "minimum_cost_vnd", "oat")
    assert TUITIONS[0] in set(result.table["factor"])
    assert any("as if independent" in n for n in result.notes)
    assert any("correlations between uncertainties are ignored" in a for a in result.assumptions)


def test_group_labels_read_as_one_phrase() -> None:
    labels = ["level3 exam pass probability", "level4 exam pass probability"]
    assert group_label("provider_quality", labels) == (
        "provider_quality: level3 and level4 exam pass probabilities, together"
    )
    assert group_label("m", ["a attrition rate per year", "b attrition rate per year"]) == (
        "m: a and b attrition rates per year, together"
    )
    assert group_label("x", ["tuition", "exam fee"]) == "x: tuition and exam fee, together"


def test_a_status_or_unknown_outcome_is_refused(toy: ExperimentModel) -> None:
    with pytest.raises(ScenarioError, match="known: minimum_cost_vnd"):
        sensitivity(toy, "cheapest", "oat")
    with pytest.raises(SensitivityError, match="status"):
        sensitivity(toy, "optimizer_status", "oat")
    with pytest.raises(SensitivityError, match="name one target"):
        sensitivity(toy, "probability_met", "oat")


def test_the_chart_is_the_same_bytes_for_the_same_result(toy: ExperimentModel) -> None:
    for method, n in (("oat", None), ("morris", 2), ("sobol", 8)):
        result = sensitivity(toy, "minimum_cost_vnd", method, n=n, seed=0)
        png = sensitivity_png(result)
        assert png.startswith(b"\x89PNG") and png == sensitivity_png(result)
        assert b"Software" not in png and b"matplotlib" not in png.lower()


# ------------------------------------------------------------------------------- the command


def cli(argv: Sequence[str]) -> tuple[int, str, str]:
    """``simopt sensitivity …`` as a user runs it, with its exit code, stdout and stderr."""
    from simopt.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def toy_file(write_yaml: Callable[[Any], Path]) -> Path:
    return write_yaml(CORRELATED)


def test_cli_writes_the_table_the_chart_and_the_runs(toy_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    argv = ["sensitivity", str(toy_file), "--method", "sobol", "--outcome", "minimum_cost_vnd"]
    code, stdout, stderr = cli([*argv, "--n", "8", "--out", str(out)])
    assert code == 0, stderr
    for name in ("sensitivity.csv", "sensitivity.json", "sensitivity.png", "manifest.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "sensitivity.csv")
    assert list(table.columns[:6]) == ["method", "outcome", "rank", "factor", "label", "members"]
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(table.columns)
    assert len(pd.read_csv(out / "experiments.csv")) == 8 * 5
    assert "tuition_market: c and d tuitions" in stdout and "alone" in stdout
    assert "What the numbers rest on" in stdout
    # the same command and seed: the same bytes, chart included
    again = tmp_path / "again"
    code, json_out, _ = cli([*argv, "--n", "8", "--out", str(again), "--json"])
    assert code == 0
    for name in ("sensitivity.csv", "sensitivity.png", "experiments.csv", "outcomes.csv"):
        assert (out / name).read_bytes() == (again / name).read_bytes(), name
    printed = json.loads(json_out)
    assert printed["method"] == "sobol" and len(printed["factors"]) == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "oat", "--outcome", "cheapest"], "unknown outcome (known: minimum_cost_vnd"),
        (
            ["--method", "sobol", "--outcome", "minimum_cost_vnd", "--only", TUITIONS[0], FEE_PATH],
            "correlations: tuition_market",
        ),
        (["--method", "sobol", "--outcome", "minimum_cost_vnd", "--n", "6"], "power of 2"),
        (["--method", "oat", "--outcome", "minimum_cost_vnd", "--n", "6"], "--n: oat"),
    ],
)
def test_cli_refuses_on_one_line_and_writes_nothing(
    toy_file: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "refused"
    code, _, stderr = cli(["sensitivity", str(toy_file), *extra, "--out", str(out)])
    assert code == 2
    assert message in stderr and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert not out.exists()


def test_cli_results_do_not_depend_on_the_executor(toy_file: Path, tmp_path: Path) -> None:
    argv = ["sensitivity", str(toy_file), "--method", "morris", "--outcome", "minimum_cost_vnd"]
    argv += ["--n", "4", "--seed", "7"]
    code, _, err = cli([*argv, "--out", str(tmp_path / "seq")])
    assert code == 0, err
    code, _, err = cli(
        [*argv, "--executor", "processes", "--workers", "2", "--out", str(tmp_path / "proc")]
    )
    assert code == 0, err
    for name in ("sensitivity.csv", "outcomes.csv", "sensitivity.png"):
        assert (tmp_path / "seq" / name).read_bytes() == (tmp_path / "proc" / name).read_bytes()


SCARCE = with_changes(
    TOY,
    courses__d__seats_per_year=25,
    courses__d__exam_pass_probability={"value": 0.9, "range": [0.2, 1.0], "source": "test"},
)
"""50 seats over two years for 20 people to certify: no plan when d's pass rate is below 0.4."""


def test_an_end_with_no_plan_has_no_swing_and_ranks_last() -> None:
    model = ExperimentModel.from_scenario_data(copy.deepcopy(SCARCE), file="scarce.yaml")
    result = sensitivity(model, "minimum_cost_vnd", "oat")
    last = result.table.iloc[-1]
    assert last["factor"] == "courses.d.exam_pass_probability"
    assert math.isnan(last["outcome_low"]) and math.isnan(last["swing"])
    assert last["outcome_high"] < last["outcome_stated"]
    assert any("no swing" in n for n in result.notes)
    assert "no value" in result.text()
    assert sensitivity_png(result).startswith(b"\x89PNG")


def test_cli_keeps_the_runs_when_some_have_no_outcome(
    write_yaml: Callable[[Any], Path], tmp_path: Path
) -> None:
    out = tmp_path / "run"
    argv = ["sensitivity", str(write_yaml(SCARCE)), "--method", "sobol"]
    code, _, stderr = cli([*argv, "--outcome", "minimum_cost_vnd", "--n", "8", "--out", str(out)])
    assert code == 1
    assert "runs have no minimum_cost_vnd (infeasible:" in stderr
    assert "where courses.d.exam_pass_probability is low" in stderr
    assert len(pd.read_csv(out / "outcomes.csv")) == 8 * (5 + 2)
    assert not (out / "sensitivity.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["status"] == "missing_outcomes"
