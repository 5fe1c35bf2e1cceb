"""Reading schedule.csv: every bad row is one line naming the file, the line and the column."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from simopt.dynamics import compile_dynamics
from simopt.scenario import Scenario, load_scenario
from simopt.schedule_csv import ScheduleCsvError, read_schedule_csv
from simopt.simulate.run import ScheduleError, schedule_array

HEADER = "year,group,pool,course,funding_source,enrolments,cost_vnd"
ROW = "2021,public_employees,pe_staff,level4,unit_funds,{n},0"


@pytest.fixture(scope="module")
def long_an() -> Scenario:
    return load_scenario("scenarios/long_an.yaml")


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    def write_(text: str) -> Path:
        path = tmp_path / "schedule.csv"
        path.write_text(text, encoding="utf-8")
        return path

    return write_


def _row(year: str = "2021", pool: str = "pe_staff", course: str = "level4", n: str = "10") -> str:
    return f"{year},public_employees,{pool},{course},unit_funds,{n},0"


def test_reads_and_sums_the_optimisers_rows(
    write: Callable[[str], Path], long_an: Scenario
) -> None:
    path = write(
        "\n".join(
            [
                HEADER,
                _row(n="214.5"),
                _row(n="1214.5").replace("unit_funds", "trainee_contribution"),
                _row(year="2022", course="level3", n="7"),
                "",
            ]
        )
    )
    df = read_schedule_csv(path, long_an)
    assert list(df.columns) == ["year", "pool", "course", "enrolments"]
    assert df.to_dict("records") == [
        {"year": 2021, "pool": "pe_staff", "course": "level4", "enrolments": 1429.0},
        {"year": 2022, "pool": "pe_staff", "course": "level3", "enrolments": 7.0},
    ]
    d = compile_dynamics(long_an)
    assert read_schedule_csv(path, d).equals(df)  # a Dynamics will do as well
    assert schedule_array(d, df).sum() == pytest.approx(1436.0)


def test_reads_the_schedule_optimize_writes_with_its_money_columns(
    tmp_path: Path, long_an: Scenario
) -> None:
    # the file `simopt optimize` writes: one row per year × pool × course, whole people, and a
    # money column per funding source (cost_vnd:<source>), which the reader ignores
    from simopt.iofiles import csv_text
    from simopt.optimize import optimize

    plan = optimize(long_an)
    path = tmp_path / "schedule.csv"
    path.write_text(csv_text(plan.schedule), encoding="utf-8")
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert "cost_vnd:unit_funds" in header and "public_cost_vnd" in header
    df = read_schedule_csv(path, long_an)
    assert list(df.columns) == ["year", "pool", "course", "enrolments"]
    assert len(df) == len(plan.schedule)
    assert df["enrolments"].tolist() == plan.schedule["enrolments"].astype(float).tolist()
    d = compile_dynamics(long_an)
    assert (schedule_array(d, df) == schedule_array(d, plan.schedule)).all()


def test_header_only_is_an_empty_schedule(write: Callable[[str], Path], long_an: Scenario) -> None:
    assert read_schedule_csv(write("year,pool,course,enrolments\n"), long_an).empty


BIG = "9" * 400


@pytest.mark.parametrize(
    ("lines", "line", "column", "words"),
    [
        ([_row() + ",extra"], 2, "", "has 8 field(s) but the header (line 1) has 7"),
        ([_row(), _row(pool="pe_staf")], 3, "pool", "did you mean 'pe_staff'?"),
        ([_row(pool="nope")], 2, "pool", "no pool of that name in scenario 'long_an'"),
        ([_row(course="levl4")], 2, "course", "did you mean 'level4'?"),
        ([_row(year="2099")], 2, "year", "must lie in the horizon 2021–2030"),
        ([_row(year="2021.5")], 2, "year", "must be a whole calendar year"),
        ([_row(year="soon")], 2, "year", "must be a calendar year"),
        ([_row(year=BIG)], 2, "year", "must lie in the horizon"),
        ([_row(n="NaN")], 2, "enrolments", "is not a number (NaN)"),
        ([_row(n="")], 2, "enrolments", "is empty"),
        ([_row(n="-3")], 2, "enrolments", "must not be negative"),
        ([_row(n="2e9")], 2, "enrolments", "must be at most 1,000,000,000"),
        ([_row(n=BIG)], 2, "enrolments", "must be at most 1,000,000,000"),
        ([_row(n="inf")], 2, "enrolments", "must be a finite number"),
        ([_row(n="12 people")], 2, "enrolments", "must be a number of people"),
        ([_row(n='"1,200"')], 2, "enrolments", "no thousands separators"),
        (["", "", _row(n="x")], 4, "enrolments", "must be a number"),  # blank lines counted
        ([_row(n="6e8"), _row(n="6e8")], 3, "", "add up to 1,200,000,000"),
        (['2021,"public_employees,pe_staff,level4,unit_funds,1,0'], 2, "", "not readable as CSV"),
    ],
)
def test_bad_rows(
    write: Callable[[str], Path],
    long_an: Scenario,
    lines: list[str],
    line: int,
    column: str,
    words: str,
) -> None:
    path = write("\n".join([HEADER, *lines]) + "\n")
    with pytest.raises(ScheduleCsvError) as info:
        read_schedule_csv(path, long_an)
    err = info.value
    message = str(err)
    assert "\n" not in message
    assert err.line == line
    assert err.column == column
    assert message.startswith(f"{path}:{line}: {column}" if column else f"{path}:{line}: ")
    assert words in message
    assert BIG not in message  # a 400-digit value is cut, not echoed whole
    assert isinstance(err, ScheduleError)  # what the CLI already reports: one line, exit 2


def test_course_not_open_to_the_pool(write: Callable[[str], Path]) -> None:
    closed = load_scenario(
        "scenarios/long_an.yaml", overrides={"courses.level4.groups": "[public_employees]"}
    )
    with pytest.raises(ScheduleCsvError) as info:
        read_schedule_csv(write(f"{HEADER}\n{_row()}\n{_row(pool='pd_staff')}\n"), closed)
    assert info.value.line == 3 and info.value.column == "course"
    assert "course 'level4' is not open to pool 'pd_staff'" in str(info.value)


def test_long_values_are_cut(write: Callable[[str], Path], long_an: Scenario) -> None:
    with pytest.raises(ScheduleCsvError) as info:
        read_schedule_csv(write(f"{HEADER}\n{_row(pool='p' * 500)}\n"), long_an)
    assert f"pool = '{'p' * 40}…'" in str(info.value)


def test_control_characters_are_escaped(write: Callable[[str], Path], long_an: Scenario) -> None:
    row = _row(pool="x\x1b[2J\u202e")
    with pytest.raises(ScheduleCsvError) as info:
        read_schedule_csv(write(f"{HEADER}\n{row}\n"), long_an)
    message = str(info.value)
    assert "\x1b" not in message and "\u202e" not in message
    assert "\\x1b[2J" in message


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", None, "the file is empty"),
        ("2021,pe_staff,level4,10\n", 1, "missing column(s) year, pool, course, enrolments"),
        ("year,pool,course\n", 1, "missing column(s) enrolments"),
        ("year,pool,pool,course,enrolments\n", 1, "column 'pool' is given twice"),
    ],
)
def test_bad_headers(
    write: Callable[[str], Path], long_an: Scenario, text: str, line: int | None, words: str
) -> None:
    with pytest.raises(ScheduleCsvError) as info:
        read_schedule_csv(write(text), long_an)
    assert info.value.line == line
    assert words in str(info.value)


def test_bad_files(tmp_path: Path, long_an: Scenario) -> None:
    with pytest.raises(ScheduleCsvError, match="file not found"):
        read_schedule_csv(tmp_path / "none.csv", long_an)
    with pytest.raises(ScheduleCsvError, match="is a directory"):
        read_schedule_csv(tmp_path, long_an)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(b"year,pool,course,enrolments\n2021,pe_staff,level4,1\n2021,\xe9,level4,1\n")
    with pytest.raises(ScheduleCsvError) as info:
        read_schedule_csv(latin, long_an)
    assert info.value.line == 3 and "not UTF-8" in str(info.value)
    if Path("/dev/zero").exists():
        with pytest.raises(ScheduleCsvError, match="not a regular file"):
            read_schedule_csv("/dev/zero", long_an)
