"""The value of knowing an uncertainty before committing (EVPPI by the adaptive policy).

The toy: one pool of 20,000 at level 0 (nobody leaving), one course 0 → 3 with completion 1 and
one exam sitting, its pass probability uniform on [0.4, 0.8]; a target of 30% of the pool. The
robust plan without information must enrol for a pass rate near its 10% quantile; knowing the
rate lets the province enrol fewer people in the better strata, so the pass rate is worth
something. Beside it, uncertainties that decide nothing: the tuition of a course open to the
target's pool but dearer for the same result (nobody takes it: its value is computed in full and
must come out exactly 0), the tuition of a course only an uncounted pool may take, and the hires
of that pool (no target counts them: worth 0 without simulating).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

from simopt.experiments.voi import (
    NO_TARGET,
    SCALE,
    SCREENED,
    TABLE_COLUMNS,
    VALUED,
    InformationError,
    Item,
    ValueOfInformation,
    best_policy,
    fixed_scenario,
    information_items,
    stratum_setting,
    value_of_information,
)
from simopt.scenario import Scenario, build_scenario, load_scenario
from simopt.uncertain.draws import draw_parameters, mix_share_quantile

REPS = 200
PASS = "courses.c.exam_pass_probability"
DEAR = "courses.d.tuition_vnd_per_trainee"
CLOSED = "courses.e.tuition_vnd_per_trainee"
HIRES = "groups.h.pools.q.hires_per_year"


def note(value: float, low: float, high: float) -> dict[str, Any]:
    return {"value": value, "range": [low, high], "distribution": "uniform", "source": "test"}


COURSE = {
    "entry_level": 0,
    "target_level": 3,
    "duration_months": 3,
    "intake_month": 1,
    "completion_rate": 1.0,
}


def toy_data() -> dict[str, Any]:
    return {
        "name": "toy",
        "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
        "groups": {
            "g": {"pools": {"p": {"headcount": 20_000, "level_shares": {0: 1.0}}}},
            "h": {
                "pools": {
                    "q": {
                        "headcount": 1000,
                        "level_shares": {0: 1.0},
                        "hires_per_year": note(20, 10, 30),
                    }
                }
            },
        },
        "courses": {
            "c": {
                **COURSE,
                "tuition_vnd_per_trainee": 1_000_000,
                "exam_pass_probability": note(0.6, 0.4, 0.8),
            },
            "d": {
                **COURSE,
                "tuition_vnd_per_trainee": note(5.5e6, 5e6, 6e6),
                "exam_pass_probability": 0.6,
                "groups": ["g"],
            },
            "e": {
                **COURSE,
                "tuition_vnd_per_trainee": note(1.5e6, 1e6, 2e6),
                "exam_pass_probability": 0.6,
                "groups": ["h"],
            },
        },
        "exams": {"session_months": [6], "max_attempts": 1},
        "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
    }


def toy() -> Scenario:
    return build_scenario(toy_data())


@pytest.fixture(scope="module")
def voi() -> ValueOfInformation:
    return value_of_information(toy(), reps=REPS, seed=0, strata=4)


def row(v: ValueOfInformation, name: str) -> pd.Series[Any]:
    rows = v.table[v.table["uncertainty"] == name]
    assert len(rows) == 1, name
    return rows.iloc[0]


def test_every_value_is_at_least_zero(voi: ValueOfInformation) -> None:
    assert voi.status == "done"
    assert list(voi.table.columns) == TABLE_COLUMNS
    assert set(voi.table["uncertainty"]) == {PASS, DEAR, CLOSED, HIRES}
    assert (voi.table["evppi_vnd"] >= 0.0).all()


def test_a_parameter_the_plan_does_not_depend_on_is_worth_exactly_zero(
    voi: ValueOfInformation,
) -> None:
    dear = row(voi, DEAR)
    # valued in full: in every stratum the plan made knowing the price is the plan made without
    assert dear["status"] == VALUED
    assert dear["conditional_plans_met"] == 4
    assert dear["strata_adapted"] == 0
    assert dear["evppi_vnd"] == 0.0
    for name in (CLOSED, HIRES):
        r = row(voi, name)
        assert r["status"] == NO_TARGET
        assert r["evppi_vnd"] == 0.0


def test_a_parameter_that_matters_is_worth_something(voi: ValueOfInformation) -> None:
    passing = row(voi, PASS)
    assert passing["status"] == VALUED and passing["rank"] == 1
    assert passing["strata_adapted"] >= 1
    # the plan without information enrols about 6,000 / 0.44 ≈ 13,600 people at 1,000,000 VND;
    # knowing the rate, the best three strata need 6,000 / p_k people: over a billion saved
    assert voi.plan_cost_vnd is not None
    assert 1e9 < passing["evppi_vnd"] < voi.plan_cost_vnd
    assert passing["standard_error_vnd"] > 0.0
    strata = voi.strata_table[voi.strata_table["uncertainty"] == PASS]
    assert list(strata["quantile"]) == [0.125, 0.375, 0.625, 0.875]
    # the savings adopted add up to the value
    assert strata["saving_vnd"].mean() == pytest.approx(passing["evppi_vnd"])


def test_the_text_ranks_and_states_method_and_error(voi: ValueOfInformation) -> None:
    text = voi.text("en")
    assert "1. A pilot course and exam — c exam pass probability: worth about" in text
    assert "Worth nothing (no target depends on it)" in text
    assert "4 equal-probability strata" in text
    assert "200 futures" in text
    assert "rounded to what the larger of the two allows" in text
    assert "not of luck" in text  # the ± is the spread between strata, and says so
    assert "valued together as one study" in text  # says how correlations are treated
    vi = voi.text("vi")
    assert "1. Một khóa học và kỳ thi thí điểm — tỷ lệ đỗ kỳ thi c: đáng khoảng" in vi
    assert "tỷ đồng" in vi


def test_the_result_is_plain_json(voi: ValueOfInformation) -> None:
    data = json.loads(json.dumps(voi.to_dict()))
    assert data["strata"] == 4 and data["reps"] == REPS
    assert data["items"][0]["uncertainty"] == PASS
    assert "adaptive policy" in data["method"]


def test_the_same_seed_gives_the_same_table(voi: ValueOfInformation) -> None:
    again = value_of_information(toy(), reps=REPS, seed=0, strata=4)
    pd.testing.assert_frame_equal(again.table, voi.table)


def test_screening_keeps_only_the_top_swings() -> None:
    v = value_of_information(toy(), reps=REPS, seed=0, strata=2, top=1)
    assert row(v, PASS)["status"] == VALUED
    # the one left over is the smallest swing: valued beside the top one, for scale
    dear = row(v, DEAR)
    assert dear["status"] == SCALE and dear["evppi_vnd"] == 0.0 and pd.isna(dear["rank"])
    assert "For scale: the uncertainty that moves the targets least, d tuition" in v.text("en")
    none = value_of_information(toy(), reps=REPS, seed=0, strata=2, top=0)
    for name in (PASS, DEAR):
        r = row(none, name)
        assert r["status"] == SCREENED and math.isnan(r["evppi_vnd"])
    assert "Screened out" in none.text("en") and "c exam pass probability" in none.text("en")


# --------------------------------------------------------------------------- the policy


def test_the_policy_is_never_worse_than_keeping_the_plan() -> None:
    rng = np.random.default_rng(7)
    for _ in range(200):
        k, t = int(rng.integers(2, 6)), int(rng.integers(1, 4))
        keep_cost = rng.uniform(90, 110, k)
        adapt_cost = rng.uniform(60, 140, k)
        adapt_cost[rng.random(k) < 0.2] = np.nan  # some strata have no conditional plan
        keep_p = rng.uniform(0.7, 1.0, (t, k))
        adapt_p = rng.uniform(0.7, 1.0, (t, k))
        adopt, cost = best_policy(keep_cost, adapt_cost, keep_p, adapt_p, 0.9)
        assert cost <= keep_cost.mean()
        assert not (adopt & np.isnan(adapt_cost)).any()
        chosen = np.where(adopt[None, :], adapt_p, keep_p).mean(axis=1)
        assert (chosen >= np.minimum(0.9, keep_p.mean(axis=1)) - 1e-12).all()


def test_identical_options_are_worth_exactly_nothing() -> None:
    cost = np.array([10.0, 12.0, 9.0])
    p = np.array([[0.95, 0.9, 0.85]])
    adopt, best = best_policy(cost, cost.copy(), p, p.copy(), 0.9)
    assert not adopt.any()
    assert cost.mean() - best == 0.0


def test_a_cheaper_plan_that_loses_the_confidence_is_not_adopted_alone() -> None:
    keep_cost = np.array([100.0, 100.0])
    keep_p = np.array([[0.9, 0.9]])
    # stratum 1's own plan is cheaper but holds only 80%; stratum 2's is dearer and holds 100%
    adapt_cost = np.array([70.0, 110.0])
    adapt_p = np.array([[0.8, 1.0]])
    adopt, best = best_policy(keep_cost, adapt_cost, keep_p, adapt_p, 0.9)
    # adopting both keeps the mean at 90% for 90 instead of 100
    assert list(adopt) == [True, True] and best == pytest.approx(90.0)
    adopt, best = best_policy(keep_cost, adapt_cost, keep_p, np.array([[0.8, 0.95]]), 0.9)
    assert not adopt.any() and best == 100.0


# --------------------------------------------------------------------------- knowing a value


def test_fixing_one_parameter_leaves_the_others_draws_unchanged() -> None:
    s = toy()
    known = fixed_scenario(s, {PASS: 0.55})
    assert known.courses["c"].exam_pass_probability == 0.55
    a = draw_parameters(s.uncertainties, 300, seed=4)
    b = draw_parameters(known.uncertainties, 300, seed=4)
    for path in a.paths:
        if path == PASS:
            assert np.all(b.column(path) == 0.55)
        else:
            assert np.array_equal(a.column(path), b.column(path))
    # the scenario as written is untouched
    assert s.courses["c"].exam_pass_probability == 0.6
    assert s.uncertainties.ranges[PASS].width == pytest.approx(0.4)


def test_a_level_table_is_known_by_its_certified_share() -> None:
    data = toy_data()
    data["groups"]["g"]["pools"]["p"]["level_shares"] = {
        "value": {0: 0.8, 3: 0.15, 4: 0.05},
        "concentration": 50,
        "source": "test",
    }
    s = build_scenario(data)
    table = "groups.g.pools.p.level_shares"
    item = next(i for i in information_items(s) if i.name == table)
    assert item.kind == "level table"
    setting = stratum_setting(s, item, 0.25)
    assert setting[table] == pytest.approx(mix_share_quantile({0: 0.8, 3: 0.15, 4: 0.05}, 50, 0.25))
    known = fixed_scenario(s, setting)
    shares = known.groups["g"].pools["p"].level_shares
    assert shares is not None and 1.0 - shares[0] == pytest.approx(setting[table])
    # the certified levels keep their proportions (3 : 1)
    assert shares[3] / shares[4] == pytest.approx(3.0)
    draws = draw_parameters(known.uncertainties, 100, seed=0)
    assert np.allclose(1.0 - draws.mixes[table][:, 0], setting[table], atol=1e-5)


def test_correlated_numbers_are_one_item_moved_along_their_common_direction() -> None:
    s = load_scenario("scenarios/long_an.yaml")
    items = {i.name: i for i in information_items(s)}
    quality = items["correlation:provider_quality"]
    assert quality.kind == "correlation group"
    assert set(quality.paths) == {
        "courses.level3.exam_pass_probability",
        "courses.level4.exam_pass_probability",
    }
    labour = items["correlation:labour_market"]
    assert len(labour.paths) == 7  # every pool's attrition
    # no member of a group is valued on its own
    assert not any(p in items for p in quality.paths + labour.paths)
    low, high = stratum_setting(s, quality, 0.125), stratum_setting(s, quality, 0.875)
    for path in quality.paths:
        r = s.uncertainties.ranges[path]
        assert r.low < low[path] < high[path] < r.high
    # the members sit nearer the middle than their own 12.5% quantiles: the principal
    # component of a correlation below 1 spreads each member less than the member alone
    from simopt.uncertain.draws import quantile

    for path in quality.paths:
        own = float(quantile(s.uncertainties.ranges[path], np.array([0.125]))[0])
        assert low[path] > own


def test_a_correlated_pair_is_valued_together() -> None:
    data: dict[str, Any] = {
        "name": "two",
        "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
        "groups": {
            f"g{i}": {"pools": {f"p{i}": {"headcount": 20_000, "level_shares": {0: 1.0}}}}
            for i in (1, 2)
        },
        "courses": {
            f"c{i}": {
                **COURSE,
                "tuition_vnd_per_trainee": 1_000_000,
                "exam_pass_probability": note(0.6, 0.4, 0.8),
                "groups": [f"g{i}"],
            }
            for i in (1, 2)
        },
        "exams": {"session_months": [6], "max_attempts": 1},
        "targets": {
            f"t{i}": {"groups": [f"g{i}"], "min_level": 3, "share": 0.3, "year": 2022}
            for i in (1, 2)
        },
        "correlations": [
            {
                "label": "same_examiners",
                "parameters": ["courses.*.exam_pass_probability"],
                "rank_correlation": 0.8,
                "source": "test",
            }
        ],
    }
    v = value_of_information(build_scenario(data), reps=REPS, seed=1, strata=2)
    assert list(v.table["uncertainty"]) == ["correlation:same_examiners"]
    group = row(v, "correlation:same_examiners")
    assert group["kind"] == "correlation group" and group["evppi_vnd"] > 0.0
    assert "exam pass probability (c1, c2, moving together)" in v.text("en")


def test_a_plan_that_does_not_hold_is_said_plainly() -> None:
    data = toy_data()
    data["courses"]["c"]["seats_per_year"] = 1000  # far too few for 6,000 people
    data["courses"]["d"]["seats_per_year"] = 1000
    v = value_of_information(build_scenario(data), reps=REPS, seed=0, strata=2)
    assert v.status == "no_plan"
    assert v.table.empty
    assert "Cannot value information" in v.text("en")


def test_bad_settings_are_refused() -> None:
    with pytest.raises(InformationError, match="strata"):
        value_of_information(toy(), reps=REPS, strata=1)
    with pytest.raises(InformationError, match="top"):
        value_of_information(toy(), reps=REPS, top=-1)


def test_items_skip_what_cannot_vary() -> None:
    data = toy_data()
    data["courses"]["c"]["exam_pass_probability"] = note(0.6, 0.6, 0.6)  # zero width
    names = [i.name for i in information_items(build_scenario(data))]
    assert PASS not in names
    assert Item(DEAR, "range", (DEAR,)) in information_items(build_scenario(data))


# --------------------------------------------------------------------------- the command


def run_command(argv: list[str]) -> int:
    """The command as ``simopt`` runs it."""
    from simopt.cli import main

    return main(argv)


def test_the_command_writes_its_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "toy.yaml"
    file.write_text(yaml.safe_dump(toy_data()), encoding="utf-8")
    out = tmp_path / "run"
    argv = ["value-of-information", str(file), "--reps", "200", "--strata", "2", "--out", str(out)]
    assert run_command([*argv, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["items"][0]["uncertainty"] == PASS
    table = pd.read_csv(out / "value_of_information.csv")
    assert list(table.columns) == TABLE_COLUMNS
    assert table.loc[table["uncertainty"] == PASS, "evppi_vnd"].iloc[0] > 0
    assert (out / "value_of_information_strata.csv").exists()
    assert json.loads((out / "manifest.json").read_text())["command"] == "value-of-information"
    capsys.readouterr()
    assert run_command(["rerun", str(out), "--out", str(tmp_path / "again")]) == 0
    assert "identical" in capsys.readouterr().out


def test_the_command_refuses_too_few_replications(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "toy.yaml"
    file.write_text(yaml.safe_dump(toy_data()), encoding="utf-8")
    out = tmp_path / "run"
    assert run_command(["value-of-information", str(file), "--reps", "50", "--out", str(out)]) == 2
    assert "at least 100" in capsys.readouterr().err
    assert not out.exists()
