"""Monte Carlo runs: reproducibility, the result's tables, the summary and schedule checking."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from builders import with_changes

from simopt.dynamics import compile_dynamics
from simopt.optimize import optimize
from simopt.scenario import Scenario, build_scenario, load_scenario
from simopt.simulate import ScheduleError, SimulationResult, schedule_array, simulate

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
ENGINES = ("fast", "simpy")

REPLICATION_COLUMNS = [
    "replication",
    "year",
    "group",
    "pool",
    *(f"level_{i}" for i in range(7)),
    "certified",
    "enrolled",
    "passed",
    "failed",
    "dropped_out",
    "left",
    "queued",
    "cost_vnd",
]

_BASE: dict[str, Any] = {
    "name": "tiny",
    "horizon": {"start_year": 2021, "end_year": 2023, "milestones": [2023]},
    "groups": {"g": {"pools": {"p": {"headcount": 200, "level_shares": {0: 1.0}}}}},
    "courses": {
        "c": {
            "entry_level": 0,
            "target_level": 3,
            "duration_months": 3,
            "intake_month": 1,
            "tuition_vnd_per_trainee": 1_000_000,
            "exam_pass_probability": 0.5,
        }
    },
    "exams": {"session_months": [6, 12], "max_attempts": 2},
    "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2023}},
}


def tiny(**changes: Any) -> Scenario:
    """One pool of 200 at level 0, one course 0→3; ``a__b=v`` sets ``data[a][b] = v``."""
    data = with_changes(_BASE, **changes)
    return build_scenario(data)


def schedule(*rows: tuple[Any, Any, Any, Any]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["year", "pool", "course", "enrolments"])


@pytest.fixture(scope="module")
def long_an() -> tuple[Scenario, pd.DataFrame]:
    s = load_scenario(SCENARIOS / "long_an.yaml")
    plan = optimize(s)
    assert plan.is_ok
    return s, plan.schedule


def reps_for(engine: str) -> int:
    # the fast engine draws blocks of 250 replications: 600 makes three of them
    return 600 if engine == "fast" else 6


def assert_same_result(a: SimulationResult, b: SimulationResult) -> None:
    np.testing.assert_array_equal(a.attained, b.attained)
    np.testing.assert_array_equal(a.base, b.base)
    np.testing.assert_array_equal(a.cost_vnd, b.cost_vnd)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.yearly, b.yearly)
    if a.replications is not None or b.replications is not None:
        assert a.replications is not None and b.replications is not None
        pd.testing.assert_frame_equal(a.replications, b.replications)


# --------------------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("engine", ENGINES)
def test_the_same_seed_gives_the_same_result(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> None:
    s, sched = long_an
    a = simulate(s, sched, reps=reps_for(engine), seed=42, engine=engine)
    b = simulate(s, sched, reps=reps_for(engine), seed=42, engine=engine)
    assert_same_result(a, b)
    assert (a.scenario, a.engine, a.reps, a.seed) == ("long_an", engine, reps_for(engine), 42)


@pytest.mark.parametrize("engine", ENGINES)
def test_different_seeds_give_different_results(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> None:
    s, sched = long_an
    a = simulate(s, sched, reps=reps_for(engine), seed=1, engine=engine)
    b = simulate(s, sched, reps=reps_for(engine), seed=2, engine=engine)
    assert not np.array_equal(a.attained, b.attained)
    assert not a.summary.equals(b.summary)


@pytest.mark.parametrize("engine", ENGINES)
def test_replications_are_independent_draws(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> None:
    s, sched = long_an
    result = simulate(s, sched, reps=reps_for(engine), seed=3, engine=engine)
    last_year = result.attained[:, :, -1]
    assert len(np.unique(last_year, axis=0)) == len(last_year)


@pytest.mark.parametrize("engine", ENGINES)
def test_the_number_of_workers_does_not_change_the_result(
    long_an: tuple[Scenario, pd.DataFrame], engine: str
) -> None:
    s, sched = long_an
    kwargs: dict[str, Any] = {
        "reps": reps_for(engine),
        "seed": 5,
        "engine": engine,
        "keep_replications": True,
    }
    one = simulate(s, sched, workers=1, **kwargs)
    two = simulate(s, sched, workers=2, **kwargs)
    assert_same_result(one, two)


def test_the_progress_callback_counts_every_replication(
    long_an: tuple[Scenario, pd.DataFrame],
) -> None:
    s, sched = long_an
    for engine, workers in [("fast", 1), ("simpy", 1), ("simpy", 2)]:
        ticks: list[int] = []
        reps = reps_for(engine)
        simulate(s, sched, reps=reps, seed=0, engine=engine, workers=workers, progress=ticks.append)
        assert sum(ticks) == reps, (engine, workers)


# --------------------------------------------------------------------------- the result's tables


@pytest.fixture(scope="module")
def kept(long_an: tuple[Scenario, pd.DataFrame]) -> SimulationResult:
    s, sched = long_an
    return simulate(s, sched, reps=7, seed=8, engine="simpy", keep_replications=True)


def test_the_replication_table_has_one_sorted_row_per_replication_year_and_pool(
    long_an: tuple[Scenario, pd.DataFrame], kept: SimulationResult
) -> None:
    s, _ = long_an
    table = kept.replications
    assert table is not None
    assert list(table.columns) == REPLICATION_COLUMNS
    n_years, n_pools = len(s.horizon.years), len(s.pools())
    assert len(table) == 7 * n_years * n_pools
    keys = table[["replication", "year", "pool"]]
    assert not keys.duplicated().any()
    assert set(table["replication"]) == set(range(7))
    assert set(table["year"]) == set(s.horizon.years)
    assert set(table["pool"]) == set(s.pools())
    pd.testing.assert_frame_equal(
        table, table.sort_values(["replication", "year", "pool"]).reset_index(drop=True)
    )
    assert table.index.equals(pd.RangeIndex(len(table)))
    groups = {pid: gid for pid, (gid, _) in s.pools().items()}
    assert (table["group"] == table["pool"].map(groups)).all()
    levels = table[[f"level_{i}" for i in range(1, 7)]].sum(axis=1)
    assert (table["certified"] == levels).all()


def test_the_replication_table_agrees_with_the_other_outputs(
    long_an: tuple[Scenario, pd.DataFrame], kept: SimulationResult
) -> None:
    table = kept.replications
    assert table is not None
    # per replication and year, the pools' costs add up to the run's cost
    cost = table.groupby(["replication", "year"])["cost_vnd"].sum().unstack("year").to_numpy()
    # (the run's cost also has the years after the horizon, when only retakes are paid)
    np.testing.assert_allclose(cost, kept.cost_vnd[:, : cost.shape[1]], rtol=1e-12)
    # the yearly table is the mean over replications of the replication table
    numeric = [c for c in REPLICATION_COLUMNS if c not in ("replication", "year", "group", "pool")]
    means = table.groupby(["year", "pool"])[numeric].mean()
    yearly = kept.yearly.set_index(["year", "pool"])[numeric].loc[means.index]
    pd.testing.assert_frame_equal(yearly, means, check_dtype=False, rtol=1e-12)


def test_the_replication_table_is_only_kept_when_asked(
    long_an: tuple[Scenario, pd.DataFrame],
) -> None:
    s, sched = long_an
    assert simulate(s, sched, reps=2, seed=0, engine="fast").replications is None


def test_result_arrays_have_one_entry_per_replication_target_and_year(
    long_an: tuple[Scenario, pd.DataFrame], kept: SimulationResult
) -> None:
    s, _ = long_an
    shape = (7, len(s.targets), len(s.horizon.years))
    assert kept.attained.shape == shape
    assert kept.base.shape == shape
    # money is counted to the last retake, one year past the horizon for Long An
    assert kept.cost_years == (*s.horizon.years, s.horizon.end_year + 1)
    assert kept.cost_vnd.shape == (7, len(s.horizon.years) + 1)
    assert np.all(kept.attained <= kept.base)
    assert np.all(kept.attained >= 0)


# --------------------------------------------------------------------------- the summary


@pytest.fixture(scope="module")
def long_an_summary(long_an: tuple[Scenario, pd.DataFrame]) -> SimulationResult:
    s, sched = long_an
    return simulate(s, sched, reps=300, seed=0, engine="fast")


def test_summary_probabilities_and_intervals_are_coherent(
    long_an: tuple[Scenario, pd.DataFrame], long_an_summary: SimulationResult
) -> None:
    s, _ = long_an
    summary = long_an_summary.summary
    assert len(summary) == len(s.targets) * len(s.horizon.years)
    p = summary["probability_met"]
    assert p.between(0.0, 1.0).all()
    assert (summary["share_low95"] <= summary["mean_share"] + 1e-12).all()
    assert (summary["mean_share"] <= summary["share_high95"] + 1e-12).all()
    assert summary["mean_share"].between(0.0, 1.0).all()
    se = np.sqrt(p * (1 - p) / 300)
    np.testing.assert_allclose(summary["probability_met_se"], se)
    # the summary's means are the arrays' means
    first = summary.iloc[0]
    assert first["mean_attained_people"] == pytest.approx(long_an_summary.attained[:, 0, 0].mean())
    # probability_met() reads the target's own year by default
    for tid, t in s.targets.items():
        row = summary[(summary["target"] == tid) & (summary["year"] == t.year)]
        assert long_an_summary.probability_met(tid) == float(row["probability_met"].iloc[0])


def test_a_probability_met_is_the_share_of_replications_meeting_the_target(
    long_an: tuple[Scenario, pd.DataFrame], long_an_summary: SimulationResult
) -> None:
    s, _ = long_an
    r = long_an_summary
    i = list(s.targets).index("pe_2030")
    t = s.targets["pe_2030"]
    y = s.horizon.years.index(2030)
    a, b = r.attained[:, i, y], r.base[:, i, y]
    need = np.maximum((t.share or 0.0) * b, float(t.min_count or 0))
    assert r.probability_met("pe_2030", 2030) == pytest.approx(float(np.mean(a >= need - 1e-9)))


@pytest.mark.parametrize("engine", ENGINES)
def test_a_target_met_with_certainty_from_the_start_has_probability_one(engine: str) -> None:
    s = tiny(
        groups={
            "g": {
                "pools": {
                    "p": {
                        "headcount": 200,
                        "level_shares": {0: 0.2, 4: 0.8},
                        "attrition_rate_per_year": 0.1,
                    }
                }
            }
        },
        targets={
            "certain": {"groups": ["g"], "min_level": 3, "share": 0.5, "year": 2023},
            "impossible": {"groups": ["g"], "min_level": 5, "min_count": 1, "year": 2023},
        },
    )
    result = simulate(s, schedule(), reps=50, seed=0, engine=engine)
    summary = result.summary.set_index(["target", "year"])
    # 80% hold level 4 from the start and attrition strikes every level alike: the share stays
    # near 80%, far above the 50% required, in every replication and every year
    certain = summary.loc["certain"]
    assert (certain["probability_met"] == 1.0).all()
    assert (certain["share_low95"] > 0.5).all()
    assert result.probability_met("certain") == 1.0
    impossible = summary.loc["impossible"]
    assert (impossible["probability_met"] == 0.0).all()
    assert (impossible["mean_attained_people"] == 0.0).all()


# --------------------------------------------------------------------------- schedules


@pytest.fixture(scope="module")
def tiny_dynamics() -> Any:
    return compile_dynamics(tiny())


def test_schedule_array_sums_rows_into_years_pools_and_courses(tiny_dynamics: Any) -> None:
    arr = schedule_array(
        tiny_dynamics,
        schedule((2021, "p", "c", 10.5), (2021, "p", "c", 4.5), (2023, "p", "c", 3)),
    )
    assert arr.shape == (3, 1, 1)
    assert arr[:, 0, 0].tolist() == [15.0, 0.0, 3.0]


def test_an_optimisers_schedule_with_its_extra_columns_is_accepted(
    long_an: tuple[Scenario, pd.DataFrame],
) -> None:
    s, sched = long_an
    d = compile_dynamics(s)
    # whole people, one row per year × pool × course, with money columns the simulator ignores
    assert "public_cost_vnd" in sched.columns and any(c.startswith("cost_vnd:") for c in sched)
    assert not sched.duplicated(["year", "pool", "course"]).any()
    arr = schedule_array(d, sched)
    assert arr.sum() == pytest.approx(sched["enrolments"].sum())
    assert arr.shape == (len(d.years), d.n_pools, d.n_courses)
    assert (arr == np.round(arr)).all()
    for r in sched.to_dict("records"):
        y, p, c = d.years.index(r["year"]), d.pool_index(r["pool"]), d.course_ids.index(r["course"])
        assert arr[y, p, c] == r["enrolments"]


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ((2021, "nobody", "c", 1), "pool 'nobody'"),
        ((2021, "p", "no_course", 1), "course 'no_course'"),
        ((2020, "p", "c", 1), "year 2020"),
        ((2024, "p", "c", 1), "year 2024"),
        ((2021, "p", "c", -1), "≥ 0"),
        ((2021, "p", "c", float("nan")), "≥ 0"),
        ((2021, "p", "c", float("inf")), "≥ 0"),
        ((2021, "p", "c", "ten"), "≥ 0"),
    ],
)
def test_schedule_array_rejects_what_the_scenario_does_not_have(
    tiny_dynamics: Any, row: tuple[Any, ...], words: str
) -> None:
    with pytest.raises(ScheduleError, match=words):
        schedule_array(tiny_dynamics, schedule(row))


@pytest.mark.parametrize("year", [2021.5, "twenty", float("nan")])
def test_schedule_array_rejects_a_year_that_is_not_a_whole_number(
    tiny_dynamics: Any, year: Any
) -> None:
    # int(2021.5) would silently move the enrolments to 2021; int("twenty") and int(nan) would
    # raise a bare ValueError instead of the ScheduleError every other bad row gets
    with pytest.raises(ScheduleError, match="year"):
        schedule_array(tiny_dynamics, schedule((year, "p", "c", 1)))


@pytest.mark.parametrize("missing", ["year", "pool", "course", "enrolments"])
def test_schedule_array_names_a_missing_column(tiny_dynamics: Any, missing: str) -> None:
    frame = schedule((2021, "p", "c", 1)).drop(columns=[missing])
    with pytest.raises(ScheduleError, match=f"missing column.*{missing}"):
        schedule_array(tiny_dynamics, frame)


def test_simulate_rejects_a_bad_schedule_before_running(tiny_dynamics: Any) -> None:
    with pytest.raises(ScheduleError):
        simulate(tiny(), schedule((2021, "p", "c", -5)), reps=1)


@pytest.mark.parametrize("engine", ENGINES)
def test_enrolling_a_pool_in_a_course_closed_to_its_group_loses_nobody(engine: str) -> None:
    # to_level3 is open to commune civil servants only. Enrolling pd_all in it must either be
    # refused as a bad schedule or enrol nobody: the 2,130 civil servants must not vanish.
    s = load_scenario(SCENARIOS / "long_an_as_written.yaml")
    bad = schedule((2021, "pd_all", "to_level3", 100))
    try:
        result = simulate(s, bad, reps=2, seed=0, engine=engine)
    except ScheduleError:
        return
    pd_all = result.yearly[result.yearly["pool"] == "pd_all"]
    levels = pd_all[[f"level_{i}" for i in range(7)]].sum(axis=1)
    assert (levels == 2130).all(), f"head count {levels.tolist()} (nobody leaves in this world)"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"reps": 0}, "reps"),
        ({"workers": 0}, "workers"),
        ({"engine": "warp"}, "engine"),
    ],
)
def test_simulate_rejects_bad_arguments(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        simulate(tiny(), schedule(), **kwargs)


def test_public_spending_is_the_public_part_and_is_judged_against_a_ceiling() -> None:
    s = load_scenario("scenarios/long_an.yaml")
    plan = optimize(s)
    result = simulate(s, plan.schedule, reps=300, seed=6, engine="fast")
    assert result.public_cost_vnd is not None
    public, total = result.public_cost_vnd, result.cost_vnd
    # every Long An group pays 85% from public sources, 15% from trainees
    np.testing.assert_allclose(public, 0.85 * total, rtol=1e-9)
    busiest = int(np.argmax(public.mean(axis=0)))
    year = result.cost_years[busiest]
    mean = float(public[:, busiest].mean())
    loose = result.ceiling_table(float(public.max()) * 1.01)
    assert (loose["probability_within"] == 1.0).all()
    tight = result.ceiling_table(lambda y: mean if y == year else None)
    assert list(tight["year"]) == [str(year), "all"]
    # a ceiling at the mean of a spread-out year holds about half the time
    assert 0.2 < tight["probability_within"].iloc[0] < 0.8
    assert tight["probability_within"].iloc[-1] == tight["probability_within"].iloc[0]
    assert tight["probability_within_low95"].iloc[0] < tight["probability_within"].iloc[0]


# --------------------------------------------------------------------------- one engine input


def test_dynamics_compiled_from_another_scenario_are_refused(
    long_an: tuple[Scenario, pd.DataFrame],
) -> None:
    a, sched = long_an
    b = load_scenario(SCENARIOS / "long_an.yaml", {"courses.level4.exam_pass_probability": "0.3"})
    with pytest.raises(ValueError, match="another version of scenario 'long_an'"):
        simulate(b, sched, reps=3, dynamics=compile_dynamics(a))
    other = tiny()
    with pytest.raises(ValueError, match="compiled from scenario 'tiny', not 'long_an'"):
        simulate(a, sched, reps=3, dynamics=compile_dynamics(other))


def test_dynamics_from_an_equal_scenario_or_alone_are_accepted(
    long_an: tuple[Scenario, pd.DataFrame],
) -> None:
    a, sched = long_an
    again = load_scenario(SCENARIOS / "long_an.yaml")
    assert again is not a
    d = compile_dynamics(again)
    kwargs: dict[str, Any] = {"reps": 250, "seed": 4, "engine": "fast"}
    assert_same_result(simulate(a, sched, dynamics=d, **kwargs), simulate(a, sched, **kwargs))
    assert_same_result(simulate(None, sched, dynamics=d, **kwargs), simulate(a, sched, **kwargs))
    with pytest.raises(TypeError, match="scenario or the dynamics"):
        simulate(None, sched)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("uncertainty", ["ranges", "none"])
def test_workers_run_the_dynamics_they_are_given(
    long_an: tuple[Scenario, pd.DataFrame], engine: str, uncertainty: str
) -> None:
    # dynamics no scenario compiles to (100 seats a course, which nothing draws): a worker that
    # recompiled from the scenario would run another model than the first process
    s, sched = long_an
    d = dataclasses.replace(compile_dynamics(s), capacity=(100.0, 100.0))
    kwargs: dict[str, Any] = {
        "reps": reps_for(engine),
        "seed": 8,
        "engine": engine,
        "uncertainty": uncertainty,
        "keep_replications": True,
    }
    one = simulate(None, sched, dynamics=d, workers=1, **kwargs)
    two = simulate(None, sched, dynamics=d, workers=2, **kwargs)
    assert_same_result(one, two)
    assert one.uncertainty == uncertainty
    plain = simulate(s, sched, workers=1, **kwargs)
    assert not np.array_equal(one.attained, plain.attained)  # the seats did bind


# --------------------------------------------------------------------------- memory


def test_a_run_too_large_for_memory_fails_at_once_in_one_line(
    long_an: tuple[Scenario, pd.DataFrame],
) -> None:
    s, sched = long_an
    started = time.perf_counter()
    with pytest.raises(ValueError, match="100,000,000 replications") as caught:
        simulate(s, sched, reps=100_000_000)
    assert time.perf_counter() - started < 2.0
    message = str(caught.value)
    assert "\n" not in message and "GiB" in message and "fit" in message
