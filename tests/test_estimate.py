"""Pass and completion rates learnt from the record: the posterior narrows with evidence, moves
toward what was observed, stays inside the assumed range (and says so when the record contradicts
it), and its offer applies to a scenario as overrides."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import long_an_data

from simopt.cli import main
from simopt.dynamics import exam_sittings
from simopt.estimate import (
    COLUMNS,
    EFFECTIVE_TRIALS_PER_YEAR,
    describe_estimates,
    estimate_rates,
    intakes_behind,
    rate_notes,
    rate_overrides,
    sitting_pass_share,
)
from simopt.scenario import Scenario, load_scenario, parse_scenario

PASS4 = "courses.level4.exam_pass_probability"
DONE4 = "courses.level4.completion_rate"
YEARS = (2021, 2022, 2023, 2024, 2025)


def with_record(years: dict[int, Any], illustrative: bool = False) -> Scenario:
    data = long_an_data()
    data["actuals"] = {"illustrative": illustrative, "years": years}
    return parse_scenario(yaml.safe_dump(data, allow_unicode=True), file="x.yaml")


def exams(sat: int, passed: int, years: tuple[int, ...] = YEARS) -> dict[int, Any]:
    """The same level-4 exam result in each year (no enrolments: one cohort's mix)."""
    return {y: {"exams": {"level4": {"sat": sat, "passed": passed}}} for y in years}


def row(table: pd.DataFrame, path: str) -> dict[str, Any]:
    rows = table[table["path"] == path].to_dict("records")
    assert len(rows) == 1
    return rows[0]


def width(r: dict[str, Any]) -> float:
    return float(r["posterior_high"] - r["posterior_low"])


# --------------------------------------------------------------------------- the model of a record


@pytest.mark.parametrize("p", [0.3, 0.55, 0.9])
def test_sittings_pass_at_p_when_retakes_pass_as_often(p: float) -> None:
    # one cohort, two attempts, f = 1: passes 1 − (1 − p)² over sittings 2 − p = p
    assert float(sitting_pass_share(p, 1.0, 2)) == pytest.approx(p)
    assert float(sitting_pass_share(p, 0.9, 2)) < p
    # a year of first attempts only (no intake behind its retakes): p itself
    assert float(sitting_pass_share(p, 0.9, 2, np.array([100.0, 0.0]))) == pytest.approx(p)


def test_rising_intakes_make_first_attempts_weigh_more() -> None:
    one_cohort = float(sitting_pass_share(0.55, 0.9, 2))
    rising = float(sitting_pass_share(0.55, 0.9, 2, np.array([2000.0, 1000.0])))
    assert one_cohort < rising < 0.55


def test_a_years_sittings_come_from_the_intakes_behind_it() -> None:
    s = with_record(
        {
            2021: {"enrolments": {"pe_staff": {"level4": 600}}},
            2022: {"enrolments": {"pe_staff": {"level4": 900}, "pd_staff": {"level4": 100}}},
            2024: {"exams": {"level4": {"sat": 10, "passed": 5}}},
        }
    )
    # Long An: first attempt in December of the intake year, the retake in March after
    assert [sp.year_offset for sp in exam_sittings(s, "level4")] == [0, 1]
    rows = intakes_behind(s, "level4", (2021, 2022, 2023, 2024))
    assert rows.tolist() == [[600, 0], [1000, 600], [1, 1], [1, 1]]  # 2023 not recorded


# --------------------------------------------------------------------------- the posterior


def test_more_evidence_narrows_the_interval() -> None:
    two_years = row(estimate_rates(with_record(exams(150, 80, (2021, 2022)))), PASS4)
    five_years = row(estimate_rates(with_record(exams(150, 80))), PASS4)
    small_years = row(estimate_rates(with_record(exams(30, 16))), PASS4)
    assert width(five_years) < width(two_years) < 0.35
    assert width(five_years) < width(small_years)
    assert five_years["offered_high"] - five_years["offered_low"] < 0.35  # the prior's range


def test_the_posterior_moves_toward_the_observed_rate() -> None:
    s = with_record(exams(1000, 480))
    r = row(estimate_rates(s), PASS4)
    prior_mean = (0.45 + 0.80 + 0.60) / 3  # triangular [0.45, 0.80], mode 0.60
    assert r["observed_share"] == pytest.approx(0.48)
    assert r["implied_value"] < r["posterior_mean"] < prior_mean
    assert r["posterior_low"] < r["implied_value"] + 0.02
    assert r["offered_value"] < 0.60
    assert not r["contradicts"]
    assert "WARNING" not in r["source"]


def test_evidence_outside_the_range_stays_at_its_edge_and_warns() -> None:
    table = estimate_rates(with_record(exams(1000, 250)))
    r = row(table, PASS4)
    assert r["implied_value"] < 0.35
    assert 0.45 <= r["posterior_low"] < r["posterior_high"] < 0.47
    assert r["offered_value"] == 0.45 and r["offered_low"] == 0.45
    assert r["contradicts"]
    assert "the record contradicts the assumed range 0.45–0.80" in r["source"]
    assert "widen the range" in r["source"]
    assert any("contradicts the assumed range" in line for line in describe_estimates(table))


def test_a_huge_year_counts_as_a_tempered_one() -> None:
    r = row(estimate_rates(with_record(exams(100_000, 55_000, (2023,)))), PASS4)
    assert r["effective_trials"] < EFFECTIVE_TRIALS_PER_YEAR
    assert width(r) > 0.05  # 100,000 untempered sittings would pin it to ±0.003
    assert "evidence tempered to an effective 200 sittings" in r["source"]


def test_completion_is_a_binomial_in_the_rate_itself() -> None:
    years = {y: {"completions": {"level4": {"finished": 1000, "completed": 780}}} for y in YEARS}
    r = row(estimate_rates(with_record(years)), DONE4)
    assert math.isnan(r["first_attempt_share"])
    assert r["implied_value"] == pytest.approx(0.78, abs=1e-3)
    assert 0.78 < r["posterior_mean"] < 0.80
    # no "(illustrative)" on a record that does not say it is one
    assert r["source"].startswith("estimated from 2021–2025 course results: 3,900 of 5,000 ")


def test_the_record_before_the_replan_year_only() -> None:
    s = with_record(exams(200, 100) | {2026: {"exams": {"level4": {"sat": 9000, "passed": 10}}}})
    r = row(estimate_rates(s, before_year=2026), PASS4)
    assert r["years"] == "2021–2025" and r["trials"] == 1000
    assert row(estimate_rates(s), PASS4)["trials"] == 10_000


def test_a_rate_without_a_range_is_not_updated() -> None:
    data = long_an_data()
    data["courses"]["level4"]["exam_pass_probability"] = 0.6
    data["correlations"] = [c for c in data["correlations"] if c["label"] != "provider_quality"]
    data["actuals"] = {"years": exams(500, 250)}
    s = parse_scenario(yaml.safe_dump(data, allow_unicode=True))
    r = row(estimate_rates(s), PASS4)
    assert math.isnan(r["offered_value"]) and "without a range" in r["source"]
    assert PASS4 not in rate_notes(estimate_rates(s))


def test_no_record_no_rows() -> None:
    table = estimate_rates(parse_scenario(yaml.safe_dump(long_an_data(), allow_unicode=True)))
    assert table.empty and list(table.columns) == list(COLUMNS)


# --------------------------------------------------------------------------- applying the update


def test_the_offer_applies_as_overrides() -> None:
    s = with_record(exams(1000, 480), illustrative=True)
    table = estimate_rates(s)
    notes = rate_notes(table)
    note = notes[PASS4]
    assert set(note) == {"value", "range", "distribution", "source"}
    assert note["distribution"] == "triangular"
    assert note["source"].startswith("estimated from 2021–2025 exam results (illustrative)")
    data = long_an_data()
    updated = parse_scenario(
        yaml.safe_dump(data, allow_unicode=True), overrides=rate_overrides(table)
    )
    r = updated.uncertainties.ranges[PASS4]
    assert (r.value, [r.low, r.high], r.distribution) == (
        note["value"],
        note["range"],
        "triangular",
    )
    assert r.source == note["source"]
    assert updated.courses["level4"].exam_pass_probability == note["value"]
    # the correlation of the two pass rates still holds both
    assert PASS4 in updated.uncertainties.correlations[0].paths
    # the notes themselves, written into the file's data, say the same
    data["courses"]["level4"]["exam_pass_probability"] = note
    direct = parse_scenario(yaml.safe_dump(data, allow_unicode=True))
    assert direct.uncertainties.ranges[PASS4] == r


def test_the_overrides_work_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = estimate_rates(load_scenario("scenarios/long_an_actuals.yaml"), before_year=2026)
    args = [f"{path}={value}" for path, value in rate_overrides(table).items()]
    argv = ["show", "scenarios/long_an_actuals.yaml"]
    for a in args:
        argv += ["--set", a]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "estimated from 2021–2025 exam results (illustrative)" in out


# --------------------------------------------------------------------------- Long An's example


def test_long_an_illustrative_record() -> None:
    s = load_scenario("scenarios/long_an_actuals.yaml")
    table = estimate_rates(s, before_year=2026)
    assert sorted(table["path"]) == sorted(
        f"courses.{c}.{p}"
        for c in ("level3", "level4")
        for p in ("exam_pass_probability", "completion_rate")
    )
    r = row(table, PASS4)
    # made up at a first-attempt rate of 0.55, below the scenario's mode of 0.60
    assert r["posterior_low"] < 0.55 < r["posterior_high"] < 0.60
    assert r["offered_value"] < 0.60 and r["offered_high"] < 0.80
    assert 0.6 < r["first_attempt_share"] < 0.9
    assert not table["contradicts"].any()
    assert all("(illustrative)" in src for src in table["source"])
    done = row(table, DONE4)
    assert done["posterior_low"] < 0.80 < done["posterior_high"]


def test_recovers_a_known_rate_from_simulated_sittings() -> None:
    # two attempts, retakes at 0.9 p, intakes of 1,000 a year: simulate each year's sittings
    rng = np.random.default_rng(7)
    p, f = 0.62, 0.9
    years: dict[int, Any] = {}
    failed_before = 0
    for y in YEARS:
        completers = 1000
        first = rng.binomial(completers, p)
        retake = rng.binomial(failed_before, p * f)
        years[y] = {
            "enrolments": {"pe_staff": {"level4": completers}},
            "exams": {"level4": {"sat": completers + failed_before, "passed": first + retake}},
        }
        failed_before = completers - first
    r = row(estimate_rates(with_record(years)), PASS4)
    assert r["posterior_low"] < p < r["posterior_high"]
    assert abs(r["implied_value"] - p) < 0.02
