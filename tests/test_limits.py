"""Stated limits: oversized scenarios and files, special files and simulations too big for memory
are each refused with one line before the work (or the allocation) starts."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path
from typing import Any

import pytest

from simopt.errors import ScenarioError
from simopt.limits import (
    MAX_COURSES,
    MAX_HORIZON_YEARS,
    MAX_POOLS,
    MAX_SCENARIO_BYTES,
    MAX_SCHEDULE_CELLS,
    MAX_TARGETS,
    LimitError,
    check_replications,
    simulation_budget,
    simulation_bytes,
)
from simopt.scenario import build_scenario, load_scenario

PE = "public_employees"


def _plain(data: Any) -> Any:
    """``data`` without {value, source} notes, so that copies can be edited freely."""
    if isinstance(data, dict):
        if "value" in data and "source" in data:
            return _plain(data["value"])
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _error(data: dict[str, Any]) -> LimitError:
    with pytest.raises(LimitError) as info:
        build_scenario(data, file="big.yaml")
    err = info.value
    assert isinstance(err, ScenarioError)  # what the CLI catches: one line, exit 2
    assert "\n" not in err.message
    return err


def test_long_an_is_far_inside_every_limit(long_an: dict[str, Any]) -> None:
    s = build_scenario(long_an)
    assert len(s.pools()) * 100 < MAX_POOLS
    assert len(s.courses) * 10 < MAX_COURSES


def test_too_many_pools(long_an: dict[str, Any]) -> None:
    pools = long_an["groups"][PE]["pools"]
    model = _plain(next(iter(pools.values())))
    for i in range(MAX_POOLS):
        pools[f"extra_{i}"] = copy.deepcopy(model)
    err = _error(long_an)
    assert err.path == "groups"
    n_pools = sum(len(g["pools"]) for g in long_an["groups"].values())
    assert f"groups: {n_pools:,} pools in all groups" in err.message
    assert f"at most {MAX_POOLS:,}" in err.message


def test_too_many_courses(long_an: dict[str, Any]) -> None:
    model = _plain(next(iter(long_an["courses"].values())))
    for i in range(MAX_COURSES):
        long_an["courses"][f"extra_{i}"] = copy.deepcopy(model)
    err = _error(long_an)
    assert err.path == "courses"
    assert f"at most {MAX_COURSES:,}" in err.message


def test_too_many_years(long_an: dict[str, Any]) -> None:
    start = _plain(long_an["horizon"]["start_year"])
    long_an["horizon"]["end_year"] = start + MAX_HORIZON_YEARS
    err = _error(long_an)
    assert err.path == "horizon.end_year"
    assert f"{MAX_HORIZON_YEARS + 1} years" in err.message
    assert f"at most {MAX_HORIZON_YEARS}" in err.message


def test_too_many_targets(long_an: dict[str, Any]) -> None:
    model = _plain(next(iter(long_an["targets"].values())))
    for i in range(MAX_TARGETS):
        long_an["targets"][f"extra_{i}"] = copy.deepcopy(model)
    err = _error(long_an)
    assert err.path == "targets"
    assert f"at most {MAX_TARGETS:,}" in err.message


def test_too_many_cells(long_an: dict[str, Any]) -> None:
    """Each count inside its limit, their product (the LP's size) not."""
    pools = long_an["groups"][PE]["pools"]
    model = _plain(next(iter(pools.values())))
    for i in range(1_500):
        pools[f"extra_{i}"] = copy.deepcopy(model)
    course = _plain(next(iter(long_an["courses"].values())))
    for i in range(40):
        long_an["courses"][f"extra_{i}"] = copy.deepcopy(course)
    long_an["horizon"]["end_year"] = _plain(long_an["horizon"]["start_year"]) + 40
    err = _error(long_an)
    assert "enrolment cells" in err.message
    assert f"{MAX_SCHEDULE_CELLS:,}" in err.message


def test_limit_error_keeps_its_line(tmp_path: Path, long_an: dict[str, Any]) -> None:
    import yaml

    long_an["horizon"]["end_year"] = 2200
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump(long_an, sort_keys=False, allow_unicode=True))
    with pytest.raises(LimitError) as info:
        load_scenario(path)
    assert info.value.line is not None
    assert info.value.message.startswith(f"{path}:{info.value.line}: horizon.end_year: ")


# --------------------------------------------------------------------------- files


def test_a_file_above_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:  # sparse: 300 MB that cost nothing to write
        f.truncate(300 * 2**20)
    started = time.perf_counter()
    with pytest.raises(LimitError, match=r"at most 5\.0 MiB") as info:
        load_scenario(path)
    assert time.perf_counter() - started < 1.0
    assert (
        info.value.message
        == f"{path}: is 300.0 MiB; a scenario file may be at most 5.0 MiB " + ("(simopt.limits)")
    )


def test_six_megabytes_refused(tmp_path: Path) -> None:
    path = tmp_path / "six.yaml"
    path.write_bytes(b"# padding\n" * 600_000)
    assert path.stat().st_size > MAX_SCENARIO_BYTES
    started = time.perf_counter()
    with pytest.raises(LimitError):
        load_scenario(path)
    assert time.perf_counter() - started < 1.0


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_named_pipe_refused_without_opening(tmp_path: Path) -> None:
    # Refused from its mode alone: opening it to read would wait for a writer. (If this ever
    # regressed, the CLI test in test_input_limits_cli.py guards the suite with a timeout.)
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="is not a regular file \\(it is a named pipe\\)"):
        load_scenario(fifo)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_character_device_refused() -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario("/dev/zero")
    assert info.value.message == (
        "/dev/zero: is not a regular file (it is a character device); "
        "give the path of a scenario file"
    )


# --------------------------------------------------------------------------- simulation memory


def test_replications_that_fit_pass() -> None:
    check_replications(1_000, 7, 7, 10, 10)
    check_replications(1_000, 238, 7, 10, 340, keep_replications=True, n_courses=2, workers=4)


def test_a_hundred_million_replications_refused() -> None:
    need = simulation_bytes(100_000_000, 7, 7, 10, 10)
    assert need > 70 * 2**30  # the recorder alone: two (reps, targets, years) float64 arrays
    with pytest.raises(LimitError) as info:
        check_replications(100_000_000, 7, 7, 10, 10)
    message = info.value.message
    assert message.startswith("command line: --reps: 100,000,000 replications would need about ")
    assert "\n" not in message
    assert "at most " in message and " fit)" in message


def test_the_advice_is_right() -> None:
    """The number of replications the message offers does fit, and one more does not."""
    with pytest.raises(LimitError) as info:
        check_replications(10**9, 238, 7, 10, 340, keep_replications=True)
    fits = int(info.value.rule.split("at most ")[1].split(" fit")[0].replace(",", ""))
    budget = simulation_budget()
    assert simulation_bytes(fits, 238, 7, 10, 340, keep_replications=True) <= budget
    assert simulation_bytes(fits + 1, 238, 7, 10, 340, keep_replications=True) > budget


def test_kept_replications_count() -> None:
    plain = simulation_bytes(1_000, 238, 7, 10, 340)
    kept = simulation_bytes(1_000, 238, 7, 10, 340, keep_replications=True)
    assert kept - plain >= 1_000 * 10 * 238 * 7 * 4  # the (reps, years, pools, levels) int32
