"""``--set PATH=VALUE``: what-if edits that go through the same validation as the file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simopt.cli import main
from simopt.errors import ScenarioError
from simopt.overrides import OVERRIDE_SOURCE, apply_overrides, parse_assignment
from simopt.scenario import load_scenario

PE_STAFF = "groups.public_employees.pools.pe_staff"


def _error(path: Path, overrides: dict[str, str]) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides=overrides)
    assert "\n" not in info.value.message
    return info.value


# --------------------------------------------------------------------------- parse_assignment


def test_parse_assignment_splits_on_the_first_equals() -> None:
    assert parse_assignment("budget.ceiling_vnd_per_year=2e10") == (
        "budget.ceiling_vnd_per_year",
        "2e10",
    )
    assert parse_assignment(" title = a=b ") == ("title", "a=b")


@pytest.mark.parametrize("text", ["budget.ceiling_vnd_per_year", "=5", "", "  =  "])
def test_malformed_assignment(text: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_assignment(text)
    message = info.value.message
    assert message.startswith("--set")
    assert "an override must look like PATH=VALUE" in message
    assert "e.g. budget.ceiling_vnd_per_year=2e10" in message
    assert "\n" not in message


# --------------------------------------------------------------------------- values that work


def test_setting_a_number_records_its_source(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={"courses.level4.exam_pass_probability": "0.55"})
    assert s.courses["level4"].exam_pass_probability == 0.55
    assert s.provenance.source_of("courses.level4.exam_pass_probability") == OVERRIDE_SOURCE
    assert OVERRIDE_SOURCE == "override (--set)"
    # the other numbers keep their sources
    assert s.provenance.source_of("courses.level3.exam_pass_probability").startswith("assumption")
    assert s.provenance.source_of("courses.level4.tuition_vnd_per_trainee").startswith("LA plan")


def test_2e10_is_a_float(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={"budget.ceiling_vnd_per_year": "2e10"})
    ceiling = s.budget.ceiling_vnd_per_year
    assert isinstance(ceiling, float)
    assert ceiling == 2e10
    assert s.provenance.source_of("budget.ceiling_vnd_per_year") == OVERRIDE_SOURCE


def test_integer_keyed_table_entries(long_an_path: Path) -> None:
    s = load_scenario(
        long_an_path,
        overrides={f"{PE_STAFF}.level_shares.0": "0.40", f"{PE_STAFF}.level_shares.5": "0.08"},
    )
    pool = s.groups["public_employees"].pools["pe_staff"]
    assert pool.level_shares == {0: 0.40, 3: 0.30, 4: 0.22, 5: 0.08}
    assert s.provenance.source_of(f"{PE_STAFF}.level_shares.0") == OVERRIDE_SOURCE
    # the table's note still covers the entries that were not overridden
    assert s.provenance.source_of(f"{PE_STAFF}.level_shares.3").startswith("assumption (no survey")


def test_new_integer_key_in_a_missing_table(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={"budget.ceiling_vnd_by_year.2025": "1.5e10"})
    assert s.budget.ceiling_vnd_by_year == {2025: 1.5e10}
    assert s.budget.ceiling_for(2025) == 1.5e10
    assert s.provenance.source_of("budget.ceiling_vnd_by_year.2025") == OVERRIDE_SOURCE


def test_list_entries_inside_a_note(long_an_path: Path) -> None:
    s = load_scenario(
        long_an_path, overrides={"exams.session_months.1": "7", "horizon.milestones.0": "2024"}
    )
    assert s.exams.session_months == (3, 7, 9, 12)
    assert s.horizon.milestones == (2024, 2030)


def test_whole_table_and_list_values(long_an_path: Path) -> None:
    s = load_scenario(
        long_an_path,
        overrides={
            f"{PE_STAFF}.level_shares": "{0: 0.5, 4: 0.5}",
            "exams.session_months": "[6, 12]",
        },
    )
    assert s.groups["public_employees"].pools["pe_staff"].level_shares == {0: 0.5, 4: 0.5}
    assert s.exams.session_months == (6, 12)
    assert s.provenance.source_of(f"{PE_STAFF}.level_shares.4") == OVERRIDE_SOURCE


def test_setting_the_value_of_a_note(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={f"{PE_STAFF}.headcount.value": "26000"})
    assert s.groups["public_employees"].pools["pe_staff"].headcount == 26000
    assert s.provenance.source_of(f"{PE_STAFF}.headcount") == OVERRIDE_SOURCE


def test_text_and_booleans(long_an_path: Path) -> None:
    s = load_scenario(
        long_an_path,
        overrides={"title": "What if", "funding_sources.trainee_contribution.public": "true"},
    )
    assert s.title == "What if"
    assert s.funding_sources["trainee_contribution"].public is True


def test_overrides_leave_the_data_untouched(long_an: dict[str, Any]) -> None:
    before = repr(long_an)
    out = apply_overrides(long_an, {"courses.level4.exam_pass_probability": "0.5"})
    assert repr(long_an) == before
    assert out["courses"]["level4"]["exam_pass_probability"] == {
        "value": 0.5,
        "source": OVERRIDE_SOURCE,
    }


# --------------------------------------------------------------------------- values that do not


def test_unknown_field_gets_did_you_mean(long_an_path: Path) -> None:
    err = _error(long_an_path, {"courses.level4.exam_pass_probabilty": "0.5"})
    assert err.path == "courses.level4.exam_pass_probabilty"
    assert "unknown field; did you mean 'exam_pass_probability'?" in err.message


def test_unknown_top_level_field(long_an_path: Path) -> None:
    err = _error(long_an_path, {"course.level4.exam_pass_probability": "0.5"})
    assert err.path == "course"
    assert "unknown field; did you mean 'courses'?" in err.message


def test_unknown_entry_of_a_table(long_an_path: Path) -> None:
    err = _error(long_an_path, {"courses.levl4.exam_pass_probability": "0.5"})
    assert err.path == "courses.levl4"
    assert "courses has no entry of that name; did you mean 'level4'?" in err.message


def test_unknown_field_in_the_middle(long_an_path: Path) -> None:
    err = _error(long_an_path, {"exams.sessions.x": "1"})
    assert err.path == "exams.sessions"
    assert "unknown field; did you mean 'session_months'?" in err.message


def test_bad_value_gets_the_same_message_as_the_file(
    long_an: dict[str, Any], write_yaml: Callable[[Any], Path], long_an_path: Path
) -> None:
    via_set = _error(long_an_path, {"courses.level4.exam_pass_probability": "1.5"})
    long_an["courses"]["level4"]["exam_pass_probability"] = 1.5
    file = write_yaml(long_an)
    via_file = _error(file, {})
    assert via_set.path == via_file.path == "courses.level4.exam_pass_probability"
    assert via_set.rule == via_file.rule == "must be a probability between 0 and 1"
    assert via_set.value == via_file.value == 1.5
    tail = "courses.level4.exam_pass_probability = 1.5: must be a probability between 0 and 1"
    assert via_set.message.endswith(tail)
    assert via_file.message.endswith(tail)
    # the file's line would point at the untouched 0.60; the override is named instead
    assert via_set.message == f"{long_an_path} (--set): {tail}"
    assert via_file.line is not None


def test_bad_value_in_a_table_entry(long_an_path: Path) -> None:
    err = _error(long_an_path, {f"{PE_STAFF}.level_shares.0": "0.5"})
    assert err.path == f"{PE_STAFF}.level_shares"
    assert "shares must sum to 1 (they sum to 1.05)" in err.message
    assert err.file == f"{long_an_path} (--set)"


def test_error_elsewhere_still_points_at_the_file(long_an_path: Path) -> None:
    """Lowering the headcount below excluded: the rule breaks at 'excluded', a line of the file."""
    err = _error(long_an_path, {f"{PE_STAFF}.headcount": "1000"})
    assert err.path == f"{PE_STAFF}.excluded"
    assert err.file == str(long_an_path)
    assert err.line is not None
    assert "must not exceed headcount (1000)" in err.message


@pytest.mark.parametrize(
    ("override", "path", "words"),
    [
        pytest.param(
            {"exams.fee_vnd": ".nan"}, "exams.fee_vnd", "must be a finite number", id="nan"
        ),
        pytest.param(
            {f"{PE_STAFF}.headcount": "lots"},
            f"{PE_STAFF}.headcount",
            "must be a number",
            id="text",
        ),
        pytest.param(
            {"horizon.end_year": "2019"}, "horizon.end_year", "must not be before", id="year"
        ),
        pytest.param(
            {"promotions.5.rate_per_year": "0.1"},
            "promotions.5",
            "list index must be a whole number from 0 to 2",
            id="index-out-of-range",
        ),
        pytest.param(
            {"promotions.first.rate_per_year": "0.1"},
            "promotions.first",
            "list index must be",
            id="index-not-a-number",
        ),
        pytest.param(
            {"name.first": "x"},
            "name.first",
            "cannot set a field inside a plain value",
            id="inside-a-scalar",
        ),
        pytest.param({"courses..x": "1"}, "courses..x", "dotted field names", id="empty-segment"),
        pytest.param({"exams.fee_vnd": "1e30"}, "exams.fee_vnd", "must be at most", id="huge"),
    ],
)
def test_bad_overrides(long_an_path: Path, override: dict[str, str], path: str, words: str) -> None:
    err = _error(long_an_path, override)
    assert err.path == path
    assert words in err.message
    assert "(--set)" in err.message


def test_bad_yaml_in_the_value(long_an_path: Path) -> None:
    err = _error(long_an_path, {"exams.session_months": "[3, 6"})
    assert err.message.startswith("--set exams.session_months:")
    assert "YAML syntax error" in err.message


# --------------------------------------------------------------------------- through the CLI


def test_cli_set_ok(long_an_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["validate", str(long_an_path), "--set", "budget.ceiling_vnd_per_year=2e10"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    assert "valid scenario" in out


@pytest.mark.parametrize(
    ("assignment", "words"),
    [
        pytest.param("courses.level4.exam_pass_probability=1.5", "between 0 and 1", id="value"),
        pytest.param("courses.level4.exam_pass_probabilty=0.5", "did you mean", id="unknown"),
        pytest.param("budget.ceiling_vnd_per_year", "PATH=VALUE", id="no-equals"),
        pytest.param("exams.session_months=[3,", "YAML syntax error", id="bad-yaml"),
    ],
)
def test_cli_set_errors(
    long_an_path: Path, capsys: pytest.CaptureFixture[str], assignment: str, words: str
) -> None:
    rc = main(["validate", str(long_an_path), "--set", assignment])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert err.startswith("simopt: ")
    assert err.count("\n") == 1
    assert words in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("assignment", "message"),
    [
        pytest.param(
            "courses.level3.seats_per_year=0100",
            "--set courses.level3.seats_per_year: 0100: a leading zero is ambiguous "
            "(YAML 1.1 reads it as octal, 64); write 100",
            id="octal",
        ),
        pytest.param(
            "courses.level3.seats_per_year=3:00",
            "--set courses.level3.seats_per_year: 3:00: a base-60 number in YAML 1.1 "
            "(read as 180); write the number itself, or quote it if it is text",
            id="base-60",
        ),
        pytest.param(
            "courses.level3.seats_per_year=0b11",
            "--set courses.level3.seats_per_year: 0b11: a binary number in YAML 1.1 "
            "(read as 3); write 3",
            id="binary",
        ),
        pytest.param(
            "exams.session_months=[3, 09]",
            "--set: exams.session_months.1: 09: a leading zero is ambiguous "
            "(YAML 1.1 reads it as text); write 9",
            id="inside-a-list",
        ),
    ],
)
def test_yaml_11_numbers_refused_in_set(
    long_an_path: Path, capsys: pytest.CaptureFixture[str], assignment: str, message: str
) -> None:
    rc = main(["validate", str(long_an_path), "--set", assignment])
    out, err = capsys.readouterr()
    assert (rc, out, err) == (2, "", f"simopt: {message}\n")


def test_yaml_12_numbers_still_read_in_set(long_an_path: Path) -> None:
    s = load_scenario(
        long_an_path,
        overrides={"courses.level3.seats_per_year": "0x64", "budget.ceiling_vnd_per_year": "2e10"},
    )
    assert s.courses["level3"].seats_per_year == 100
    assert s.budget.ceiling_vnd_per_year == 2e10
