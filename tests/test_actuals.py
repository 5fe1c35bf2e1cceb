"""The record of what happened (``actuals:``): every rule refuses a record that cannot be true of
its scenario with one line naming the path, the value and the rule — through the loader and
through ``simopt show`` (exit 2, no traceback) — and the helpers read the record back."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import long_an_data

from simopt.actuals import (
    check_actuals_before,
    latest_survey,
    record_sources,
    recorded_enrolments,
    recorded_years,
    spending,
)
from simopt.cli import main
from simopt.errors import ScenarioError
from simopt.scenario import Scenario, load_scenario, parse_scenario

Data = dict[str, Any]
Edit = Callable[[Data], None]

ACTUALS_FILE = Path("scenarios/long_an_actuals.yaml")
ILLUSTRATIVE = "illustrative (made up to show the method), not Long An's record"


def record(years: dict[int, Any], **extra: Any) -> Data:
    """Long An with an ``actuals`` section of these years."""
    data = long_an_data()
    data["actuals"] = {"years": years, **extra}
    return data


def load(data: Data) -> Scenario:
    return parse_scenario(yaml.safe_dump(data, allow_unicode=True), file="x.yaml")


def refused(data: Data) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load(data)
    return info.value


def open_level3_to_communes_only(data: Data) -> None:
    data["courses"]["level3"]["groups"] = ["commune_civil_servants"]


# (id, years, scenario edit, path, value as shown, words of the rule)
CASES: list[tuple[str, dict[int, Any], Edit | None, str, str, str]] = [
    (
        "year-before-horizon",
        {2019: {"exams": {"level4": {"sat": 10, "passed": 5}}}},
        None,
        "actuals.years.2019",
        "2019",
        "is before the horizon 2021–2030 starts",
    ),
    (
        "year-after-horizon",
        {2031: {"exams": {"level4": {"sat": 10, "passed": 5}}}},
        None,
        "actuals.years.2031",
        "2031",
        "is after the horizon 2021–2030 ends",
    ),
    (
        "unknown-pool-enrolled",
        {2023: {"enrolments": {"pd_stafff": {"level4": 30}}}},
        None,
        "actuals.years.2023.enrolments.pd_stafff",
        "'pd_stafff'",
        "no pool of that name; did you mean 'pd_staff'?",
    ),
    (
        "unknown-course-enrolled",
        {2023: {"enrolments": {"pd_staff": {"levl4": 30}}}},
        None,
        "actuals.years.2023.enrolments.pd_staff.levl4",
        "'levl4'",
        "no course of that name; did you mean 'level4'?",
    ),
    (
        "unknown-course-exams",
        {2023: {"exams": {"level5": {"sat": 10, "passed": 5}}}},
        None,
        "actuals.years.2023.exams.level5",
        "'level5'",
        "no course of that name",
    ),
    (
        "unknown-course-completions",
        {2023: {"completions": {"levle3": {"finished": 10, "completed": 9}}}},
        None,
        "actuals.years.2023.completions.levle3",
        "'levle3'",
        "no course of that name; did you mean 'level3'?",
    ),
    (
        "unknown-funding-source",
        {2023: {"spending_vnd": {"state_budgett": 1e9}}},
        None,
        "actuals.years.2023.spending_vnd.state_budgett",
        "'state_budgett'",
        "no funding source of that name; did you mean 'state_budget'?",
    ),
    (
        "unknown-pool-headcount",
        {2025: {"headcount": {"pe_staf": 24000}}},
        None,
        "actuals.years.2025.headcount.pe_staf",
        "'pe_staf'",
        "no pool of that name; did you mean 'pe_staff'?",
    ),
    (
        "unknown-pool-certified",
        {2025: {"certified": {"pe_staf": {4: 100}}}},
        None,
        "actuals.years.2025.certified.pe_staf",
        "'pe_staf'",
        "no pool of that name; did you mean 'pe_staff'?",
    ),
    (
        "course-closed-to-group",
        {2023: {"enrolments": {"pe_staff": {"level3": 120}}}},
        open_level3_to_communes_only,
        "actuals.years.2023.enrolments.pe_staff.level3",
        "120",
        "course 'level3' is not open to pool 'pe_staff': its group 'public_employees' is not "
        "in courses.level3.groups (commune_civil_servants)",
    ),
    (
        "certified-over-recorded-headcount",
        {2025: {"headcount": {"pd_staff": 1200}, "certified": {"pd_staff": {3: 700, 4: 600}}}},
        None,
        "actuals.years.2025.certified.pd_staff",
        "{3: 700, 4: 600}",
        "the levels add up to 1,300 people, more than the 1,200 recorded at "
        "actuals.years.2025.headcount.pd_staff",
    ),
    (
        "certified-over-eligible",
        {2025: {"certified": {"pd_leaders": {0: 500, 3: 200, 4: 100}}}},
        None,
        "actuals.years.2025.certified.pd_leaders",
        "{0: 500, 3: 200, 4: 100}",
        "the levels add up to 800 people, more than the pool's eligible head count in the "
        "scenario (784",
    ),
    (
        "passed-over-sat",
        {2023: {"exams": {"level4": {"sat": 1000, "passed": 1001}}}},
        None,
        "actuals.years.2023.exams.level4.passed",
        "1001",
        "must not exceed sat (1,000)",
    ),
    (
        "completed-over-finished",
        {2023: {"completions": {"level3": {"finished": 800, "completed": 801}}}},
        None,
        "actuals.years.2023.completions.level3.completed",
        "801",
        "must not exceed finished (800)",
    ),
    (
        "over-the-seats",
        {2024: {"enrolments": {"pe_staff": {"level4": 4000}, "pe_leaders": {"level4": 600}}}},
        None,
        "actuals.years.2024.enrolments",
        "4600",
        "enrolments in course 'level4' add up to 4,600 people, more than its 4,500 seats a year "
        "(courses.level4): the record contradicts the scenario's seats",
    ),
]

IDS = [c[0] for c in CASES]


def bad_data(years: dict[int, Any], edit: Edit | None) -> Data:
    data = record(years)
    if edit is not None:
        edit(data)
    return data


@pytest.mark.parametrize(("name", "years", "edit", "path", "value", "words"), CASES, ids=IDS)
def test_each_rule_refuses_the_record_in_one_line(
    name: str, years: dict[int, Any], edit: Edit | None, path: str, value: str, words: str
) -> None:
    err = refused(bad_data(years, edit))
    assert err.path == path
    assert f"{path} = {value}: " in err.message
    assert words in err.message
    assert "\n" not in err.message
    assert err.line is not None  # the loader found the record's line


@pytest.mark.parametrize(("name", "years", "edit", "path", "value", "words"), CASES, ids=IDS)
def test_each_rule_through_the_command_line(
    name: str,
    years: dict[int, Any],
    edit: Edit | None,
    path: str,
    value: str,
    words: str,
    write_yaml: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
) -> None:
    file = write_yaml(bad_data(years, edit))
    rc = main(["show", str(file)])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert err.startswith(f"simopt: {file}:") and err.endswith("\n") and err.count("\n") == 1
    assert f"{path} = {value}: " in err and words in err
    assert "Traceback" not in err


def test_a_consistent_record_loads() -> None:
    s = load(
        record(
            {
                2024: {
                    "enrolments": {"pe_staff": {"level4": 4000}, "pe_leaders": {"level4": 500}},
                    "exams": {"level4": {"sat": 3000, "passed": 3000}},
                    "completions": {"level4": {"finished": 900, "completed": 900}},
                    "spending_vnd": {"unit_funds": 6.4e10},
                },
                # level 0 allowed, and a level below a course's entry is just a level
                2025: {
                    "headcount": {"pd_staff": 1300},
                    "certified": {"pd_staff": {0: 600, 3: 400, 4: 300}, "pd_leaders": {5: 784}},
                },
            },
            note="a test record",
        )
    )
    assert s.actuals is not None and s.actuals.note == "a test record"
    assert recorded_years(s) == (2024, 2025)


def test_a_course_closed_to_a_group_may_record_zero() -> None:
    data = record({2023: {"enrolments": {"pe_staff": {"level3": 0}}}})
    open_level3_to_communes_only(data)
    assert load(data).actuals is not None


def test_a_scenario_without_funding_sources_spends_from_the_state_budget() -> None:
    data = record({2023: {"spending_vnd": {"state_budget": 2e9}}})
    del data["funding_sources"]
    for group in data["groups"].values():
        del group["funding"]
    assert spending(load(data), 2023) == {"state_budget": 2e9}
    data["actuals"]["years"][2023]["spending_vnd"] = {"unit_funds": 2e9}
    err = refused(data)
    assert err.path == "actuals.years.2023.spending_vnd.unit_funds"
    assert "no funding source of that name (known: state_budget)" in err.message


def test_the_seats_count_classes_too() -> None:
    data = record({2023: {"enrolments": {"pe_staff": {"level3": 700}}}})
    del data["courses"]["level3"]["seats_per_year"]
    data["courses"]["level3"]["classes_per_year"] = 20  # 20 classes of 30: 600 seats
    err = refused(data)
    assert err.path == "actuals.years.2023.enrolments"
    assert "more than its 600 seats a year" in err.message


# --------------------------------------------------------------------------- the re-plan year


def test_actuals_at_or_after_the_replan_year_are_refused() -> None:
    s = load(record({2025: {}, 2026: {"exams": {"level4": {"sat": 1, "passed": 1}}}}))
    with pytest.raises(ScenarioError) as info:
        check_actuals_before(s, 2026, file="plan.yaml")
    message = info.value.message
    assert message.startswith("plan.yaml: actuals.years.2026: is not before the re-plan year 2026")
    assert "re-plan from 2027 or leave 2026 out of the record" in message
    assert "\n" not in message
    check_actuals_before(s, 2027, file="plan.yaml")
    with pytest.raises(ScenarioError, match="re-plan from 2027 or leave 2025–2026 out"):
        check_actuals_before(s, 2025, file="plan.yaml")


@pytest.mark.parametrize("year", [2020, 2021, 2031])
def test_the_replan_year_must_lie_after_the_start_and_in_the_horizon(year: int) -> None:
    s = load(record({}))
    with pytest.raises(ScenarioError) as info:
        check_actuals_before(s, year, file="plan.yaml")
    assert info.value.message.startswith(f"plan.yaml: --from-year = {year}: must lie in 2022–2030")


def test_a_replan_without_a_record_is_only_checked_for_its_year() -> None:
    s = load(long_an_data())
    check_actuals_before(s, 2026)
    assert recorded_years(s) == ()
    assert recorded_enrolments(s, 2025) is None
    assert latest_survey(s, 2026) is None
    assert spending(s, 2025) is None


# --------------------------------------------------------------------------- reading the record


def test_the_helpers_read_the_record() -> None:
    s = load(
        record(
            {
                2023: {
                    "enrolments": {"pe_staff": {"level4": 900, "level3": 0}},
                    "spending_vnd": {"unit_funds": 1.2e10},
                    "certified": {"pd_staff": {4: 100}},
                },
                2024: {"headcount": {"pe_staff": 24000}, "certified": {"pe_staff": {4: 8000}}},
                2025: {"enrolments": {}},
            }
        )
    )
    assert recorded_enrolments(s, 2023) == {("pe_staff", "level4"): 900}
    assert recorded_enrolments(s, 2025) == {}  # recorded: nobody enrolled
    assert recorded_enrolments(s, 2024) is None  # not recorded
    assert spending(s, 2023) == {"unit_funds": 1.2e10}
    survey = latest_survey(s, 2026)
    assert survey is not None
    year, headcount, certified = survey
    assert (year, headcount, certified) == (2024, {"pe_staff": 24000}, {"pe_staff": {4: 8000}})
    earlier = latest_survey(s, 2024)
    assert earlier is not None and earlier.year == 2023 and earlier.headcount == {}
    assert latest_survey(s, 2023) is None
    assert recorded_years(s, before_year=2025) == (2023, 2024)


def test_record_sources_read_a_table_through_its_numbers() -> None:
    data = record(
        {
            2023: {
                "exams": {
                    "value": {"level4": {"sat": 100, "passed": 60}},
                    "source": "exam centre report 2023",
                }
            }
        }
    )
    s = load(data)
    assert (
        s.provenance.source_of("actuals.years.2023.exams.level4.sat") == "exam centre report 2023"
    )
    assert record_sources(s, "actuals.years.2023.exams") == ("exam centre report 2023",)
    assert record_sources(s, "actuals.years.2023") == ("exam centre report 2023",)
    assert record_sources(s, "actuals.years.2024") == ()


# --------------------------------------------------------------------------- the Long An example


def test_long_an_actuals_is_long_an_plus_an_illustrative_record() -> None:
    s = load_scenario(ACTUALS_FILE)
    base = load_scenario("scenarios/long_an.yaml")
    plain = {"name", "title", "actuals"}
    assert s.model_dump(exclude=plain) == base.model_dump(exclude=plain)
    assert s.uncertainties == base.uncertainties
    assert s.actuals is not None and s.actuals.illustrative
    assert ILLUSTRATIVE in s.actuals.note
    assert recorded_years(s) == (2021, 2022, 2023, 2024, 2025)
    record_paths = [p for p in s.provenance.sources if p.startswith("actuals.")]
    assert record_paths
    assert all(ILLUSTRATIVE in s.provenance.sources[p] for p in record_paths)


def test_long_an_actuals_is_plausible() -> None:
    s = load_scenario(ACTUALS_FILE)
    assert s.actuals is not None
    totals = []
    for year in recorded_years(s):
        enrolled = recorded_enrolments(s, year)
        assert enrolled is not None
        totals.append(sum(enrolled.values()))
        rec = s.actuals.years[year]
        assert rec.exams is not None and rec.completions is not None
        share = rec.exams["level4"].passed / rec.exams["level4"].sat
        assert 0.45 < share < 0.6  # below the scenario's mode of 0.60
    assert totals == sorted(totals) and totals[0] > 500 and totals[-1] < 7500
    survey = latest_survey(s, 2026)
    assert survey is not None and survey.year == 2025
    assert set(survey.headcount) == set(survey.certified) == set(s.pools())


def test_long_an_actuals_shows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(ACTUALS_FILE)]) == 0
    assert "Traceback" not in capsys.readouterr().err
