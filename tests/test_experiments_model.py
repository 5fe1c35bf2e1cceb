"""The experiments model: factors from the scenario's ranges, typed overrides per row."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from simopt.errors import ScenarioError
from simopt.experiments import CorrelationSplitError, ExperimentModel
from simopt.experiments.model import EXPERIMENT_SOURCE
from simopt.scenario import load_scenario

PASS4 = "courses.level4.exam_pass_probability"
PASS3 = "courses.level3.exam_pass_probability"
MIX = "groups.public_employees.pools.pe_staff.level_shares"


@pytest.fixture(scope="module")
def model() -> ExperimentModel:
    return ExperimentModel.from_file("scenarios/long_an.yaml")


def test_every_range_and_level_table_is_a_factor(model: ExperimentModel) -> None:
    s = load_scenario("scenarios/long_an.yaml")
    assert model.names == [*s.uncertainties.ranges, *s.uncertainties.level_mixes]
    pass4 = model.uncertainty(PASS4)
    assert (pass4.low, pass4.value, pass4.high) == (0.45, 0.6, 0.8)
    assert pass4.group == "provider_quality"
    assert pass4.label == "level4 exam pass probability"
    assert model.uncertainty(MIX).kind == "mix"


def test_a_factor_is_drawn_through_its_own_distribution(model: ExperimentModel) -> None:
    pass4 = model.uncertainty(PASS4)
    u = np.linspace(0.01, 0.99, 7)
    c = (0.6 - 0.45) / (0.8 - 0.45)
    expected = stats.triang.ppf(u, c, loc=0.45, scale=0.35)
    assert np.allclose(pass4.at(u), expected)


def test_the_copula_holds_within_a_group_and_nowhere_else(model: ExperimentModel) -> None:
    names = [PASS3, PASS4, "exams.retake_pass_factor"]
    u = np.random.default_rng(1).random((4000, 3))
    values = model.to_values(names, u)
    rho_group = stats.spearmanr(values[:, 0], values[:, 1]).statistic
    rho_other = stats.spearmanr(values[:, 1], values[:, 2]).statistic
    assert abs(rho_group - 0.7) < 0.04
    assert abs(rho_other) < 0.05
    # the independent column is untouched by the copula: its value is its own quantile
    assert np.allclose(values[:, 2], model.uncertainty(names[2]).at(u[:, 2]))


def test_part_of_a_correlation_group_is_refused(model: ExperimentModel) -> None:
    with pytest.raises(CorrelationSplitError, match="provider_quality"):
        model.to_values([PASS4], np.full((1, 1), 0.5))


def test_a_row_fixes_its_factors_and_keeps_the_others_uncertain(model: ExperimentModel) -> None:
    s = model.scenario_at({PASS4: 0.5, MIX: 0.5, "ceiling_vnd_per_year": 1e11})
    assert s.courses["level4"].exam_pass_probability == 0.5
    fixed = s.uncertainties.ranges[PASS4]
    assert fixed.low == fixed.high == 0.5
    assert fixed.source == EXPERIMENT_SOURCE
    assert s.budget.ceiling_vnd_per_year == 1e11
    shares = s.groups["public_employees"].pools["pe_staff"].level_shares
    assert shares is not None and shares[0] == pytest.approx(0.5)
    assert MIX not in s.uncertainties.level_mixes
    # everything the row does not name keeps its range; the correlation still stands
    assert s.uncertainties.ranges[PASS3].width > 0
    assert [c.label for c in s.uncertainties.correlations] == ["provider_quality", "labour_market"]


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({PASS4: 1.5}, "courses.level4.exam_pass_probability = 1.5: must be a probability"),
        ({"budget.ceiling_vnd_per_yer": 1.0}, "did you mean 'ceiling_vnd_per_year'"),
        ({"courses.level9.seats_per_year": 3}, "courses has no entry of that name"),
    ],
)
def test_a_bad_row_gets_the_files_own_rule(
    model: ExperimentModel, row: dict[str, float], message: str
) -> None:
    with pytest.raises(ScenarioError) as err:
        model.scenario_at(row, where="experiment 7")
    assert "(experiment 7)" in err.value.message and message in err.value.message
    assert "\n" not in err.value.message


def test_unknown_uncertainty_suggests_a_name(model: ExperimentModel) -> None:
    with pytest.raises(ScenarioError, match="did you mean"):
        model.uncertainty("courses.level4.exam_pass_probabilty")
