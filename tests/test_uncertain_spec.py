"""Uncertainty as data: ranges, distributions, level-table concentrations and correlations in the
scenario file, checked like every other field and collected into ``Scenario.uncertainties``."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simopt.cli import main
from simopt.errors import ScenarioError, describe_value
from simopt.overrides import OVERRIDE_SOURCE
from simopt.scenario import Scenario, load_scenario, parse_scenario
from simopt.show import summary, unranged_assumptions
from simopt.uncertain.parse import NOT_DRAWN_MIX, NOT_DRAWN_RANGE
from simopt.uncertain.spec import (
    DRAWN_MIXES,
    DRAWN_SCALARS,
    TABLE_COLUMNS,
    LevelMix,
    Range,
    is_drawn_mix,
    is_drawn_scalar,
    path_matches,
    uncertainty_table,
)

Data = dict[str, Any]
Mutation = Callable[[Data], None]

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
PD = "groups.provincial_district_civil_servants"
PE = "groups.public_employees"
PE_STAFF = f"{PE}.pools.pe_staff"
PE_LEADERS = f"{PE}.pools.pe_leaders"
PD_STAFF = f"{PD}.pools.pd_staff"
L4_PASS = "courses.level4.exam_pass_probability"
L3_PASS = "courses.level3.exam_pass_probability"
L3_DONE = "courses.level3.completion_rate"


# --------------------------------------------------------------------------- helpers


def _key(node: Any, part: str) -> Any:
    if isinstance(node, list):
        return int(part)
    if part not in node and part.isdecimal():
        return int(part)
    return part


def _note(data: Data, path: str) -> dict[str, Any]:
    """The mapping at ``path``, turned into a {value, source} note if it was a bare value."""
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        node = node[_key(node, part)]
    key = _key(node, last)
    if not (isinstance(node[key], dict) and "value" in node[key]):
        node[key] = {"value": node[key], "source": "assumption"}
    note: dict[str, Any] = node[key]
    return note


def note(path: str, **keys: Any) -> Mutation:
    """Set keys of the note at ``path`` (None deletes a key)."""

    def mutate(data: Data) -> None:
        target = _note(data, path)
        for k, v in keys.items():
            if v is None:
                target.pop(k, None)
            else:
                target[k] = v

    return mutate


def correlations(*entries: dict[str, Any]) -> Mutation:
    def mutate(data: Data) -> None:
        data["correlations"] = list(entries)

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: Data) -> None:
        for m in mutations:
            m(data)

    return mutate


def load_mutated(data: Data, write_yaml: Callable[[Any], Path], mutate: Mutation) -> Scenario:
    mutate(data)
    return load_scenario(write_yaml(data))


def error_of(data: Data, write_yaml: Callable[[Any], Path], mutate: Mutation) -> ScenarioError:
    mutate(data)
    file = write_yaml(data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    err = info.value
    assert err.file == str(file)
    assert "\n" not in err.message
    return err


def _unranged(data: Data) -> None:
    """Long An without any uncertainty: ranges, concentrations and correlations removed."""

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            for k in ("range", "distribution", "sd", "concentration"):
                if "value" in node:
                    node.pop(k, None)
            for v in node.values():
                strip(v)
        elif isinstance(node, list):
            for v in node:
                strip(v)

    strip(data)
    data.pop("correlations", None)


# --------------------------------------------------------------------------- parsing


def test_long_an_declares_its_uncertainty(long_an_path: Path) -> None:
    u = load_scenario(long_an_path).uncertainties
    assert u.any
    r = u.ranges[L4_PASS]
    assert r == Range(
        path=L4_PASS,
        value=0.60,
        low=0.45,
        high=0.80,
        distribution="triangular",
        sd=None,
        source="assumption (DOMAIN: VSTEP pass rates not published); range 0.45–0.8",
    )
    mix = u.level_mixes[f"{PE_STAFF}.level_shares"]
    assert mix.shares == {0: 0.45, 3: 0.30, 4: 0.22, 5: 0.03}
    assert mix.concentration == 80
    assert mix.source.startswith("assumption (no survey published)")
    assert [c.label for c in u.correlations] == ["provider_quality", "labour_market"]


@pytest.mark.parametrize("distribution", ["uniform", "triangular", "pert", "normal"])
def test_each_distribution_is_read(
    long_an: Data, write_yaml: Callable[[Any], Path], distribution: str
) -> None:
    s = load_mutated(long_an, write_yaml, note(L4_PASS, distribution=distribution))
    r = s.uncertainties.ranges[L4_PASS]
    assert (r.value, r.low, r.high, r.distribution, r.sd) == (0.6, 0.45, 0.8, distribution, None)


def test_uniform_is_the_default(long_an: Data, write_yaml: Callable[[Any], Path]) -> None:
    s = load_mutated(long_an, write_yaml, note(L4_PASS, distribution=None))
    assert s.uncertainties.ranges[L4_PASS].distribution == "uniform"


def test_normal_sd_given_or_a_quarter_of_the_range(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    s = load_mutated(
        long_an,
        write_yaml,
        both(note(L4_PASS, distribution="normal", sd=0.05), note(L3_PASS, distribution="normal")),
    )
    given, default = s.uncertainties.ranges[L4_PASS], s.uncertainties.ranges[L3_PASS]
    assert (given.sd, given.normal_sd) == (0.05, 0.05)
    assert default.sd is None
    assert default.normal_sd == pytest.approx((0.90 - 0.60) / 4)


def test_ranges_keep_the_order_of_the_file(long_an_path: Path) -> None:
    paths = list(load_scenario(long_an_path).uncertainties.ranges)
    assert [p for p in paths if p.startswith("courses.")] == [
        "courses.level3.tuition_vnd_per_trainee",
        L3_DONE,
        L3_PASS,
        "courses.level4.completion_rate",
        L4_PASS,
    ]
    sections = [p.split(".")[0] for p in paths]
    assert sections == sorted(sections, key=["groups", "promotions", "courses", "exams"].index)
    assert paths[:2] == [
        f"{PD}.pools.pd_leaders.attrition_rate_per_year",
        f"{PD}.pools.pd_leaders.hires_per_year",
    ]


def test_zero_width_range_is_legal_and_changes_nothing(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    plain = load_mutated(long_an, write_yaml, _unranged)
    zero = load_mutated(
        long_an, write_yaml, note(f"{PE_STAFF}.hires_per_year", range=[700, 700], distribution=None)
    )
    r = zero.uncertainties.ranges[f"{PE_STAFF}.hires_per_year"]
    assert (r.low, r.high, r.width) == (700, 700, 0)
    assert zero.model_dump() == plain.model_dump()
    assert zero.provenance.sources == plain.provenance.sources


def test_a_scenario_without_ranges_is_certain(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    s = load_mutated(long_an, write_yaml, _unranged)
    assert not s.uncertainties.any
    assert s.uncertainties.ranges == {} and s.uncertainties.level_mixes == {}
    assert s.uncertainties.correlations == ()


def test_retake_factor_may_range_above_one(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    s = load_mutated(long_an, write_yaml, note("exams.retake_pass_factor", range=[0.8, 1.2]))
    assert s.uncertainties.ranges["exams.retake_pass_factor"].high == 1.2


def test_path_patterns_stand_for_one_segment() -> None:
    assert path_matches("courses.*.exam_pass_probability", L4_PASS)
    assert not path_matches("courses.*", L4_PASS)
    assert path_matches(
        "groups.*.pools.*.attrition_rate_per_year", f"{PE_STAFF}.attrition_rate_per_year"
    )
    assert is_drawn_scalar("promotions.0.rate_per_year")
    assert not is_drawn_scalar("targets.pe_2025.share")
    assert is_drawn_mix(f"{PE_STAFF}.hire_level_shares")
    assert not is_drawn_mix(f"{PD}.funding")
    assert all(p.count("*") >= 1 for p in DRAWN_SCALARS[:5] + DRAWN_MIXES)


# --------------------------------------------------------------------------- one-line errors

RANGE_CASES = [
    # where a range may stand
    pytest.param(
        note("targets.pe_2025.share", range=[0.5, 0.7]),
        "targets.pe_2025.share.range",
        f"= [0.5, 0.7]: {NOT_DRAWN_RANGE}",
        id="range-on-a-target",
    ),
    pytest.param(
        note("courses.level4.seats_per_year", range=[3000, 6000]),
        "courses.level4.seats_per_year.range",
        f"= [3000, 6000]: {NOT_DRAWN_RANGE}",
        id="range-on-a-lever",
    ),
    pytest.param(
        note(f"{PD}.funding.state_budget", range=[0.7, 1.0]),
        f"{PD}.funding.state_budget.range",
        f"= [0.7, 1.0]: {NOT_DRAWN_RANGE}",
        id="range-on-funding",
    ),
    pytest.param(
        note("courses.level3.duration_months", distribution="pert"),
        "courses.level3.duration_months.distribution",
        f"= 'pert': {NOT_DRAWN_RANGE}",
        id="distribution-on-structure",
    ),
    pytest.param(
        note(f"{PD}.funding", concentration=50),
        f"{PD}.funding.concentration",
        f"= 50: {NOT_DRAWN_MIX}",
        id="concentration-on-funding",
    ),
    pytest.param(
        note(L4_PASS, concentration=50),
        f"{L4_PASS}.concentration",
        "= 50: a concentration applies to a level table (level_shares, hire_level_shares); "
        "give a single number a range: [low, high]",
        id="concentration-on-a-number",
    ),
    pytest.param(
        note(f"{PE_STAFF}.level_shares", range=[0.4, 0.5]),
        f"{PE_STAFF}.level_shares.range",
        "= [0.4, 0.5]: a level table varies as a whole with a concentration "
        "(e.g. concentration: 80), not a range",
        id="range-on-a-table",
    ),
    # the shape of a range
    pytest.param(
        note(L4_PASS, range=0.5),
        f"{L4_PASS}.range",
        "= 0.5: must be a list of two numbers [low, high], not a number",
        id="range-not-a-list",
    ),
    pytest.param(
        note(L4_PASS, range=[0.4, 0.6, 0.8]),
        f"{L4_PASS}.range",
        "= [0.4, 0.6, 0.8]: must be a list of two numbers [low, high], not of 3 values",
        id="range-of-three",
    ),
    pytest.param(
        note(L4_PASS, range=[0.45, "high"]),
        f"{L4_PASS}.range.1",
        "= 'high': must be a number, not text",
        id="range-end-text",
    ),
    pytest.param(
        note(L4_PASS, range=[math.nan, 0.8]),
        f"{L4_PASS}.range.0",
        "= nan: must be a finite number, not NaN or infinity",
        id="range-end-nan",
    ),
    # each end obeys the field's own rule
    pytest.param(
        note(L4_PASS, range=[0.45, 1.2]),
        f"{L4_PASS}.range.1",
        "= 1.2: must be a probability between 0 and 1",
        id="probability-end-above-1",
    ),
    pytest.param(
        note(f"{PE_STAFF}.attrition_rate_per_year", range=[-0.01, 0.06]),
        f"{PE_STAFF}.attrition_rate_per_year.range.0",
        "= -0.01: must be a rate between 0 and 1",
        id="rate-end-below-0",
    ),
    pytest.param(
        note(f"{PE_LEADERS}.headcount", range=[1650.5, 2750]),
        f"{PE_LEADERS}.headcount.range.0",
        "= 1650.5: must be a whole number",
        id="count-end-fraction",
    ),
    pytest.param(
        note(f"{PE_STAFF}.excluded", range=[-1, 1200]),
        f"{PE_STAFF}.excluded.range.0",
        "= -1: must not be negative",
        id="count-end-negative",
    ),
    pytest.param(
        note("courses.level4.tuition_vnd_per_trainee", range=[-1, 2e7]),
        "courses.level4.tuition_vnd_per_trainee.range.0",
        "= -1: must not be negative",
        id="vnd-end-negative",
    ),
    pytest.param(
        note("exams.fee_vnd", range=[0, 1e30]),
        "exams.fee_vnd.range.1",
        "= 1e+30: must be at most 1,000,000,000,000,000,000 VND",
        id="vnd-end-absurd",
    ),
    # order and the value inside
    pytest.param(
        note(L4_PASS, range=[0.8, 0.45]),
        f"{L4_PASS}.range",
        "= [0.8, 0.45]: the low end must not be above the high end",
        id="range-reversed",
    ),
    pytest.param(
        note(L4_PASS, range=[0.65, 0.8]),
        f"{L4_PASS}.range",
        "= [0.65, 0.8]: must contain the value 0.6 (low ≤ value ≤ high)",
        id="value-outside-range",
    ),
    pytest.param(
        note(f"{PE_STAFF}.hires_per_year", range=[701, 701]),
        f"{PE_STAFF}.hires_per_year.range",
        "= [701, 701]: must contain the value 700 (low ≤ value ≤ high)",
        id="zero-width-elsewhere",
    ),
    # distribution and sd
    pytest.param(
        note(L4_PASS, distribution="triangualr"),
        f"{L4_PASS}.distribution",
        "= 'triangualr': unknown distribution; did you mean 'triangular'?",
        id="distribution-typo",
    ),
    pytest.param(
        note(L4_PASS, distribution="beta"),
        f"{L4_PASS}.distribution",
        "= 'beta': must be one of uniform, triangular, pert, normal",
        id="distribution-unknown",
    ),
    pytest.param(
        note(L4_PASS, distribution=3),
        f"{L4_PASS}.distribution",
        "= 3: must be one of uniform, triangular, pert, normal, not a number",
        id="distribution-number",
    ),
    pytest.param(
        note("courses.level4.tuition_vnd_per_trainee", distribution="pert"),
        "courses.level4.tuition_vnd_per_trainee.distribution",
        "= 'pert': a distribution needs a range: [low, high] to apply to",
        id="distribution-without-range",
    ),
    pytest.param(
        note(L4_PASS, sd=0.05),
        f"{L4_PASS}.sd",
        "= 0.05: an sd applies only to distribution: normal",
        id="sd-not-normal",
    ),
    pytest.param(
        note(L4_PASS, distribution="normal", sd=0),
        f"{L4_PASS}.sd",
        "= 0: must be above 0",
        id="sd-zero",
    ),
    pytest.param(
        note(L4_PASS, distribution="normal", sd=math.inf),
        f"{L4_PASS}.sd",
        "= inf: must be a finite number, not NaN or infinity",
        id="sd-infinite",
    ),
    pytest.param(
        note(L4_PASS, distribution="normal", sd="wide"),
        f"{L4_PASS}.sd",
        "= 'wide': must be a number, not text",
        id="sd-text",
    ),
    # concentration
    pytest.param(
        note(f"{PE_STAFF}.level_shares", concentration=0),
        f"{PE_STAFF}.level_shares.concentration",
        "= 0: must be above 0",
        id="concentration-zero",
    ),
    pytest.param(
        note(f"{PE_STAFF}.level_shares", concentration=-5),
        f"{PE_STAFF}.level_shares.concentration",
        "= -5: must be above 0",
        id="concentration-negative",
    ),
    pytest.param(
        note(f"{PE_STAFF}.level_shares", concentration=2e6),
        f"{PE_STAFF}.level_shares.concentration",
        "= 2000000.0: must be at most 1,000,000 (a larger concentration hardly varies the table; "
        "leave the key out to fix the shares)",
        id="concentration-huge",
    ),
    pytest.param(
        note(f"{PE_STAFF}.level_shares", concentration=math.nan),
        f"{PE_STAFF}.level_shares.concentration",
        "= nan: must be a finite number, not NaN or infinity",
        id="concentration-nan",
    ),
    pytest.param(
        note(f"{PE_STAFF}.hire_level_shares", concentration=True),
        f"{PE_STAFF}.hire_level_shares.concentration",
        "= true: must be a number, not true/false",
        id="concentration-bool",
    ),
    # misspelt note keys
    pytest.param(
        note(L4_PASS, range=None, rnage=[0.45, 0.8]),
        f"{L4_PASS}.rnage",
        "= [0.45, 0.8]: unknown key in a {value, source} note; did you mean 'range'?",
        id="misspelt-range",
    ),
    pytest.param(
        note(L4_PASS, distribution=None, distrbution="pert"),
        f"{L4_PASS}.distrbution",
        "= 'pert': unknown key in a {value, source} note; did you mean 'distribution'?",
        id="misspelt-distribution",
    ),
    pytest.param(
        note(f"{PE_STAFF}.level_shares", concentration=None, concentraton=80),
        f"{PE_STAFF}.level_shares.concentraton",
        "= 80: unknown key in a {value, source} note; did you mean 'concentration'?",
        id="misspelt-concentration",
    ),
    # headcount and excluded
    pytest.param(
        both(
            note(f"{PE_STAFF}.headcount", range=[1250, 26000]),
            note(f"{PE_STAFF}.excluded", range=[1000, 1300]),
        ),
        f"{PE_STAFF}.excluded.range",
        "= [1000.0, 1300.0]: the high end must not exceed headcount's lowest value (1250)",
        id="excluded-above-headcount-low",
    ),
    pytest.param(
        note(f"{PE_STAFF}.headcount", range=[1100, 26000]),
        f"{PE_STAFF}.headcount.range",
        "= [1100.0, 26000.0]: the low end must not be below excluded (1147)",
        id="headcount-low-below-excluded",
    ),
    pytest.param(
        both(
            note(f"{PE_STAFF}.level_shares", value=None),
            lambda d: d["groups"]["public_employees"]["pools"]["pe_staff"].pop("level_shares"),
            lambda d: d["groups"]["public_employees"]["pools"]["pe_staff"].update(
                level_counts={0: 24276}
            ),
            note(f"{PE_STAFF}.headcount", range=[25000, 26000]),
        ),
        f"{PE_STAFF}.headcount.range",
        "= [25000.0, 26000.0]: a pool that gives level_counts cannot vary its headcount or "
        "excluded (the counts must sum to the eligible headcount); give level_shares instead",
        id="level-counts-with-headcount-range",
    ),
    # everyone leaving at once in some draw
    pytest.param(
        note("promotions.0.rate_per_year", range=[0.01, 0.95]),
        "promotions.0.rate_per_year.range",
        "= [0.01, 0.95]: at the high ends of their ranges, attrition and promotions out of pool "
        "'pd_staff' add up to more than everyone each year (1.01)",
        id="outflow-above-1",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "tail"), RANGE_CASES)
def test_bad_uncertainty(
    long_an: Data, write_yaml: Callable[[Any], Path], mutate: Mutation, path: str, tail: str
) -> None:
    err = error_of(long_an, write_yaml, mutate)
    assert err.path == path, err.message
    assert err.line is not None, err.message
    assert err.message == f"{err.file}:{err.line}: {path} {tail}"


CORRELATION_CASES = [
    pytest.param(
        correlations(
            {
                "label": "x",
                "parameters": ["courses.*.exam_pass_probabilty"],
                "rank_correlation": 0.5,
            }
        ),
        "correlations.0.parameters.0",
        "= 'courses.*.exam_pass_probabilty': matches no number that carries a range "
        "(* stands for one id); did you mean 'courses.level4.exam_pass_probability'?",
        id="pattern-matches-nothing",
    ),
    pytest.param(
        correlations(
            {"label": "x", "parameters": [L4_PASS, "exams.fee_vnd"], "rank_correlation": 0.5}
        ),
        "correlations.0.parameters.1",
        "= 'exams.fee_vnd': matches exams.fee_vnd, which carries no range; give it one first",
        id="pattern-matches-an-unranged-number",
    ),
    pytest.param(
        correlations(
            {
                "label": "x",
                "parameters": [L4_PASS, f"{PE_STAFF}.level_shares"],
                "rank_correlation": 0.5,
            }
        ),
        "correlations.0.parameters.1",
        f"= '{PE_STAFF}.level_shares': matches the level table {PE_STAFF}.level_shares; level "
        "tables (concentration) cannot be correlated, only numbers with a range",
        id="level-table",
    ),
    pytest.param(
        correlations({"label": "x", "parameters": [L4_PASS], "rank_correlation": 0.5}),
        "correlations.0.parameters",
        f"= {describe_value([L4_PASS])}: matches only one number with a range ({L4_PASS}); "
        "a correlation needs two",
        id="one-number",
    ),
    pytest.param(
        correlations({"label": "x", "parameters": [], "rank_correlation": 0.5}),
        "correlations.0.parameters",
        "= []: must list at least one pattern, e.g. courses.*.exam_pass_probability",
        id="no-patterns",
    ),
    pytest.param(
        correlations(
            {
                "label": "x",
                "parameters": ["courses.*.exam_pass_probability"],
                "rank_correlation": 1.5,
            }
        ),
        "correlations.0.rank_correlation",
        "= 1.5: must be a rank correlation between -1 and 1",
        id="rank-correlation-above-1",
    ),
    pytest.param(
        correlations(
            {
                "label": "x",
                "parameters": ["courses.*.exam_pass_probability"],
                "rank_corelation": 0.5,
            }
        ),
        "correlations.0.rank_corelation",
        "= 0.5: unknown field; did you mean 'rank_correlation'?",
        id="misspelt-field",
    ),
    pytest.param(
        correlations(
            {
                "label": "a",
                "parameters": ["courses.*.exam_pass_probability"],
                "rank_correlation": 0.5,
            },
            {"label": "b", "parameters": [L3_PASS, L4_PASS, L3_DONE], "rank_correlation": 0.3},
        ),
        "correlations.1.parameters",
        f"= {describe_value([L3_PASS, L4_PASS, L3_DONE])}: {L3_PASS} and {L4_PASS} are already "
        "correlated by 'a'; name a pair in one entry only",
        id="pair-twice",
    ),
    pytest.param(
        correlations(
            {"label": "a", "parameters": [L3_PASS, L4_PASS], "rank_correlation": 0.5},
            {"label": "a", "parameters": [L3_PASS, L3_DONE], "rank_correlation": 0.5},
        ),
        "correlations.1.label",
        "= 'a': is used twice (also correlations.0)",
        id="label-twice",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "tail"), CORRELATION_CASES)
def test_bad_correlation(
    long_an: Data, write_yaml: Callable[[Any], Path], mutate: Mutation, path: str, tail: str
) -> None:
    test_bad_uncertainty(long_an, write_yaml, mutate, path, tail)


def test_correlations_that_cannot_hold_together(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    """Each pair alone is possible; A~B and A~C strongly positive with B~C strongly negative is
    not (the copula's correlation matrix has a negative eigenvalue)."""
    err = error_of(
        long_an,
        write_yaml,
        correlations(
            {"label": "ab", "parameters": [L3_PASS, L4_PASS], "rank_correlation": 0.9},
            {"label": "ac", "parameters": [L3_PASS, L3_DONE], "rank_correlation": 0.9},
            {"label": "bc", "parameters": [L4_PASS, L3_DONE], "rank_correlation": -0.9},
        ),
    )
    assert err.path == "correlations"
    assert re.fullmatch(
        rf"{re.escape(err.file)}:{err.line}: correlations: these rank correlations cannot hold "
        r"together \(the normal correlation matrix they imply is not positive semi-definite: "
        r"smallest eigenvalue -0\.\d+\); weaken or drop some of them",
        err.message,
    ), err.message


def test_correlations_that_do_hold_together(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    s = load_mutated(
        long_an,
        write_yaml,
        correlations(
            {"label": "ab", "parameters": [L3_PASS, L4_PASS], "rank_correlation": 0.9},
            {"label": "ac", "parameters": [L3_PASS, L3_DONE], "rank_correlation": 0.9},
            {"label": "bc", "parameters": [L4_PASS, L3_DONE], "rank_correlation": 0.7},
            {
                "label": "all_attrition",
                "parameters": ["groups.*.pools.*.attrition_rate_per_year"],
                "rank_correlation": {"value": -0.1, "source": "assumption: a test"},
            },
        ),
    )
    got = {c.label: (c.paths, c.rank_correlation, c.source) for c in s.uncertainties.correlations}
    assert got["ab"] == ((L3_PASS, L4_PASS), 0.9, "assumption")
    assert got["bc"][0] == (L3_DONE, L4_PASS)  # the scenario's order, not the entry's
    assert len(got["all_attrition"][0]) == 7
    assert got["all_attrition"][1:] == (-0.1, "assumption: a test")


def test_a_bare_rank_correlation_takes_the_entrys_source(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    s = load_mutated(
        long_an,
        write_yaml,
        correlations(
            {
                "label": "x",
                "parameters": ["courses.*.exam_pass_probability"],
                "rank_correlation": 0.5,
                "source": "assumption: same universities",
            }
        ),
    )
    (c,) = s.uncertainties.correlations
    assert c.source == "assumption: same universities"
    assert s.provenance.unsourced == []
    assert s.provenance.source_of("correlations.0.rank_correlation") == c.source


# --------------------------------------------------------------------------- line numbers


def _error_in_text(text: str, tmp_path: Path) -> ScenarioError:
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    return info.value


def _line_with(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


FLOW_NOTE = "exam_pass_probability: {value: 0.60, range: [0.45, 0.80], distribution: triangular,"


def test_line_of_a_range_end_in_a_flow_note(long_an_path: Path, tmp_path: Path) -> None:
    text = long_an_path.read_text(encoding="utf-8")
    assert text.count(FLOW_NOTE) == 1
    bad = text.replace(FLOW_NOTE, FLOW_NOTE.replace("0.80]", "1.20]"))
    err = _error_in_text(bad, tmp_path)
    assert err.path == f"{L4_PASS}.range.1"
    assert err.line == _line_with(bad, "range: [0.45, 1.20]")


def test_lines_in_a_block_note(long_an_path: Path, tmp_path: Path) -> None:
    text = long_an_path.read_text(encoding="utf-8")
    start = text.index(FLOW_NOTE)
    end = text.index("\n", start)
    block = (
        "exam_pass_probability:\n"
        "      value: 0.60\n"
        "      range:\n"
        "        - 0.45\n"
        "        - 1.20\n"
        "      distribution: triangualr\n"
        '      source: "assumption"'
    )
    bad = text[:start] + block + text[end:]
    err = _error_in_text(bad, tmp_path)
    assert err.path == f"{L4_PASS}.range.1"
    assert err.line == _line_with(bad, "- 1.20")
    fixed = bad.replace("- 1.20", "- 0.80")
    err = _error_in_text(fixed, tmp_path)
    assert err.path == f"{L4_PASS}.distribution"
    assert err.line == _line_with(fixed, "distribution: triangualr")


def test_line_of_a_misplaced_range(long_an_path: Path, tmp_path: Path) -> None:
    text = long_an_path.read_text(encoding="utf-8")
    old = 'share: {value: 0.60, source: "LA plan §II.2.a"}'
    assert old in text
    bad = text.replace(old, 'share: {value: 0.60, range: [0.5, 0.7], source: "LA plan §II.2.a"}')
    err = _error_in_text(bad, tmp_path)
    assert err.path == "targets.pe_2025.share.range"
    assert err.line == _line_with(bad, "range: [0.5, 0.7]")
    assert err.message == f"{err.file}:{err.line}: {err.path} = [0.5, 0.7]: {NOT_DRAWN_RANGE}"


def test_line_of_a_bad_correlation_pattern(long_an_path: Path, tmp_path: Path) -> None:
    text = long_an_path.read_text(encoding="utf-8")
    old = 'parameters: ["groups.*.pools.*.attrition_rate_per_year"]'
    assert text.count(old) == 1
    bad = text.replace(old, 'parameters: ["groups.*.attrition_rate_per_year"]')
    err = _error_in_text(bad, tmp_path)
    assert err.path == "correlations.1.parameters.0"
    assert err.line == _line_with(bad, 'parameters: ["groups.*.attrition_rate_per_year"]')


# --------------------------------------------------------------------------- --set


def test_set_fixes_a_ranged_number(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={L4_PASS: "0.55"})
    assert s.courses["level4"].exam_pass_probability == 0.55
    assert L4_PASS not in s.uncertainties.ranges
    assert s.provenance.source_of(L4_PASS) == OVERRIDE_SOURCE
    # the correlation of the two pass rates lapses: only one of them is still drawn
    assert [c.label for c in s.uncertainties.correlations] == ["labour_market"]
    assert L3_PASS in s.uncertainties.ranges


def test_set_fixing_every_number_of_a_correlation(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={L4_PASS: "0.55", L3_PASS: "0.7"})
    assert [c.label for c in s.uncertainties.correlations] == ["labour_market"]


def test_set_fixes_a_level_table(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={f"{PE_STAFF}.level_shares": "{0: 0.5, 4: 0.5}"})
    assert f"{PE_STAFF}.level_shares" not in s.uncertainties.level_mixes
    assert f"{PE_LEADERS}.level_shares" in s.uncertainties.level_mixes


def test_set_a_range(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={f"{L4_PASS}.range": "[0.5, 0.7]"})
    r = s.uncertainties.ranges[L4_PASS]
    assert (r.value, r.low, r.high, r.distribution) == (0.6, 0.5, 0.7, "triangular")
    assert r.source.startswith("assumption (DOMAIN")  # the value and its source are kept


def test_set_one_end_of_a_range(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={f"{L4_PASS}.range.1": "0.85"})
    assert s.uncertainties.ranges[L4_PASS].high == 0.85


def test_set_a_range_on_a_number_without_one(long_an_path: Path) -> None:
    path = "courses.level4.tuition_vnd_per_trainee"
    s = load_scenario(long_an_path, overrides={f"{path}.range": "[1.2e7, 2e7]"})
    r = s.uncertainties.ranges[path]
    assert (r.value, r.low, r.high, r.distribution) == (16e6, 12e6, 20e6, "uniform")
    assert r.source.startswith("LA plan §IV.2.b")


def test_set_a_range_on_a_bare_number(long_an: Data, write_yaml: Callable[[Any], Path]) -> None:
    long_an["groups"]["public_employees"]["pools"]["pe_staff"]["hires_per_year"] = 700
    file = write_yaml(long_an)
    s = load_scenario(file, overrides={f"{PE_STAFF}.hires_per_year.range": "[500, 900]"})
    assert s.uncertainties.ranges[f"{PE_STAFF}.hires_per_year"].low == 500
    assert s.groups["public_employees"].pools["pe_staff"].hires_per_year == 700


def test_set_distribution_and_sd(long_an_path: Path) -> None:
    s = load_scenario(
        long_an_path, overrides={f"{L4_PASS}.distribution": "normal", f"{L4_PASS}.sd": "0.04"}
    )
    r = s.uncertainties.ranges[L4_PASS]
    assert (r.distribution, r.sd) == ("normal", 0.04)
    s = load_scenario(long_an_path, overrides={f"{L4_PASS}.distribution": "pert"})
    assert s.uncertainties.ranges[L4_PASS].distribution == "pert"


def test_set_a_concentration(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={f"{PE_STAFF}.level_shares.concentration": "200"})
    mix = s.uncertainties.level_mixes[f"{PE_STAFF}.level_shares"]
    assert mix.concentration == 200
    assert mix.shares == {0: 0.45, 3: 0.30, 4: 0.22, 5: 0.03}


def test_set_the_value_keeps_the_range(long_an_path: Path) -> None:
    s = load_scenario(long_an_path, overrides={f"{L4_PASS}.value": "0.7"})
    r = s.uncertainties.ranges[L4_PASS]
    assert (r.value, r.low, r.high) == (0.7, 0.45, 0.8)
    assert r.source == OVERRIDE_SOURCE


@pytest.mark.parametrize(
    ("override", "path", "tail"),
    [
        pytest.param(
            {f"{L4_PASS}.range": "[0.65, 0.7]"},
            f"{L4_PASS}.range",
            "= [0.65, 0.7]: must contain the value 0.6 (low ≤ value ≤ high)",
            id="value-outside",
        ),
        pytest.param(
            {f"{L4_PASS}.range": "[0.5, 1.5]"},
            f"{L4_PASS}.range.1",
            "= 1.5: must be a probability between 0 and 1",
            id="end-not-a-probability",
        ),
        pytest.param(
            {f"{L4_PASS}.distribution": "lognormal"},
            f"{L4_PASS}.distribution",
            "= 'lognormal': unknown distribution; did you mean 'normal'?",
            id="distribution-typo",
        ),
        pytest.param(
            {f"{L4_PASS}.value": "0.9"},
            f"{L4_PASS}.range",
            "= [0.45, 0.8]: must contain the value 0.9 (low ≤ value ≤ high)",
            id="value-moved-out-of-its-range",
        ),
        pytest.param(
            {"targets.pe_2025.share.range": "[0.5, 0.7]"},
            "targets.pe_2025.share.range",
            f"= [0.5, 0.7]: {NOT_DRAWN_RANGE}",
            id="not-drawn",
        ),
        pytest.param(
            {f"{L4_PASS}.rnage": "[0.5, 0.7]"},
            f"{L4_PASS}.rnage",
            "= '[0.5, 0.7]': unknown key in a {value, source} note; did you mean 'range'?",
            id="misspelt-range",
        ),
        pytest.param(
            {f"{L4_PASS}.range.2": "0.9"},
            f"{L4_PASS}.range.2",
            "= '0.9': list index must be a whole number from 0 to 1",
            id="third-end",
        ),
        pytest.param(
            {f"{PE_STAFF}.level_shares.concentration": "0"},
            f"{PE_STAFF}.level_shares.concentration",
            "= 0: must be above 0",
            id="concentration-zero",
        ),
    ],
)
def test_bad_set(long_an_path: Path, override: dict[str, str], path: str, tail: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(long_an_path, overrides=override)
    err = info.value
    assert err.path == path
    assert err.message == f"{long_an_path} (--set): {path} {tail}"


def test_cli_set_range(long_an_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["show", str(long_an_path), "--set", f"{L4_PASS}.range=[0.5, 0.7]"])
    out = capsys.readouterr().out
    assert rc == 0
    assert f"  {L4_PASS}: 0.6 [0.5–0.7] triangular — " in out


# --------------------------------------------------------------------------- show and the table


def test_show_lists_the_uncertainty(long_an_path: Path) -> None:
    text = summary(load_scenario(long_an_path))
    lines = text.splitlines()
    # the existing summary is still there, first
    assert lines.index("Groups and pools (headcount / excluded / eligible):") < lines.index(
        "Uncertain assumptions (drawn in every replication):"
    )
    assert any(line.startswith("Numbers: ") for line in lines)
    assert (
        f"  {L4_PASS}: 0.6 [0.45–0.8] triangular — assumption (DOMAIN: VSTEP pass rates not "
        "published); range…"
    ) in lines
    assert (
        "  courses.level3.tuition_vnd_per_trainee: 12.000.000 [8.000.000–16.000.000] triangular"
        " — assumption: ~35,000 VND/h × 340 h; range 8–16 million"
    ) in lines
    assert "Level mixes (Dirichlet around the stated shares):" in lines
    assert any(
        line.startswith(
            f"  {PE_STAFF}.level_shares: concentration 80 (level-0 share 0.45, sd ≈ 0.055)"
        )
        for line in lines
    )
    assert "Correlations (Spearman rank, in every replication):" in lines
    assert any(
        line.startswith("  provider_quality: 0.7 — assumption: both courses") for line in lines
    )
    assert f"    between {L3_PASS}, {L4_PASS}" in lines
    assert lines[-1] == (
        "23 numbers carry a range, 14 level tables a concentration; "
        "0 assumptions of a kind the simulator draws have none (2 say why they are not drawn)."
    )


def test_show_names_assumptions_without_a_range(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    s = load_mutated(
        long_an,
        write_yaml,
        both(
            note(f"{PE_STAFF}.hires_per_year", range=None, distribution=None),
            note(f"{PE_STAFF}.hire_level_shares", concentration=None),
        ),
    )
    assert unranged_assumptions(s) == [
        f"{PE_STAFF}.hires_per_year",
        f"{PE_STAFF}.hire_level_shares",
    ]
    assert summary(s).splitlines()[-1] == (
        "22 numbers carry a range, 13 level tables a concentration; 2 assumptions of a kind the "
        f"simulator draws have none ({PE_STAFF}.hires_per_year, {PE_STAFF}.hire_level_shares) "
        "(2 say why they are not drawn)."
    )


def test_show_a_certain_scenario() -> None:
    lines = summary(load_scenario(SCENARIOS / "long_an_as_written.yaml")).splitlines()
    assert lines[-2:] == [
        "Uncertain assumptions: none (every replication uses the stated values).",
        "0 numbers carry a range, 0 level tables a concentration; "
        "0 assumptions of a kind the simulator draws have none.",
    ]


def test_show_a_normal_range(long_an: Data, write_yaml: Callable[[Any], Path]) -> None:
    s = load_mutated(long_an, write_yaml, note(L4_PASS, distribution="normal"))
    assert any(
        line.startswith(f"  {L4_PASS}: 0.6 [0.45–0.8] normal sd 0.0875 — ")
        for line in summary(s).splitlines()
    )


def test_uncertainty_table(long_an: Data, write_yaml: Callable[[Any], Path]) -> None:
    s = load_mutated(long_an, write_yaml, note(L4_PASS, distribution="normal", sd=0.05))
    table = uncertainty_table(s.uncertainties)
    assert tuple(table.columns) == TABLE_COLUMNS
    assert len(table) == 23 + 14
    row = table.set_index("path").loc[L4_PASS]
    assert (row["value"], row["low"], row["high"], row["distribution"], row["sd"]) == (
        0.6,
        0.45,
        0.8,
        "normal",
        0.05,
    )
    assert math.isnan(row["concentration"])
    mix = table.set_index("path").loc[f"{PE_STAFF}.level_shares"]
    assert mix["distribution"] == "dirichlet"
    assert mix["concentration"] == 80
    assert mix["sd"] == pytest.approx(math.sqrt(0.45 * 0.55 / 81))
    assert math.isnan(mix["value"])
    assert table.set_index("path").loc[L3_PASS, "sd"] != table.set_index("path").loc[L3_PASS, "sd"]


def test_uncertainty_table_of_a_certain_scenario() -> None:
    u = load_scenario(SCENARIOS / "long_an_as_written.yaml").uncertainties
    table = uncertainty_table(u)
    assert table.empty
    assert tuple(table.columns) == TABLE_COLUMNS


def test_share_sd_of_a_level_mix() -> None:
    mix = LevelMix(path="p", shares={0: 0.7, 3: 0.3}, concentration=80)
    assert mix.share_sd(3) == pytest.approx(0.0509, abs=1e-4)  # ≈ 5 points at s = 0.3
    assert mix.share_sd(5) == 0


# --------------------------------------------------------------------------- bundled scenarios

UNCERTAIN = ["long_an", "quang_tri"]


@pytest.mark.parametrize("name", UNCERTAIN)
def test_every_pass_completion_and_attrition_rate_has_a_range(name: str) -> None:
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    ranges = s.uncertainties.ranges
    wanted = [
        f"courses.{cid}.{f}"
        for cid in s.courses
        for f in ("completion_rate", "exam_pass_probability")
    ]
    wanted += [
        f"groups.{gid}.pools.{pid}.attrition_rate_per_year" for pid, (gid, _) in s.pools().items()
    ]
    missing = [p for p in wanted if p not in ranges or ranges[p].width <= 0]
    assert missing == []
    assert all(ranges[p].distribution == "triangular" for p in wanted)


@pytest.mark.parametrize("name", UNCERTAIN)
def test_every_drawable_assumption_is_drawn_or_says_why_not(name: str) -> None:
    """An assumption of a kind the simulator draws carries a range or concentration; any other
    assumption (a lever or the shape of the model) says in its source that it is not drawn."""
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    assert unranged_assumptions(s) == []
    silent = [
        path
        for path, source in s.provenance.sources.items()
        if source.startswith("assumption")
        and not path.startswith("correlations.")
        and not is_drawn_scalar(path)
        and not is_drawn_mix(path.rpartition(".")[0])
        and "not drawn" not in source
    ]
    assert silent == []


@pytest.mark.parametrize("name", UNCERTAIN)
def test_no_source_mentions_a_range_that_is_not_data(name: str) -> None:
    """A source that speaks of a range ("range 0.02–0.06", "±10 points") either belongs to a
    number or table that carries one as data, or to a lever or structure note saying it is not
    drawn."""
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    u = s.uncertainties
    speaks = re.compile(r"\brange\b|±")
    stale = []
    for path, source in s.provenance.sources.items():
        if not speaks.search(source):
            continue
        table = path.rpartition(".")[0]
        if path in u.ranges or table in u.level_mixes or "not drawn" in source:
            continue
        stale.append(path)
    assert stale == []


@pytest.mark.parametrize("name", UNCERTAIN)
def test_the_bundled_correlations(name: str) -> None:
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    got = {c.label: c for c in s.uncertainties.correlations}
    assert set(got) == {"provider_quality", "labour_market"}
    assert got["provider_quality"].paths == (L3_PASS, L4_PASS)
    assert got["provider_quality"].rank_correlation == 0.7
    assert "same few certifying universities" in got["provider_quality"].source
    assert got["labour_market"].rank_correlation == 0.6
    assert got["labour_market"].paths == tuple(
        f"groups.{gid}.pools.{pid}.attrition_rate_per_year" for pid, (gid, _) in s.pools().items()
    )


@pytest.mark.parametrize("name", UNCERTAIN)
def test_every_draw_stays_valid(name: str) -> None:
    """At the extremes of their ranges: nobody excluded beyond the headcount, nobody leaving a
    pool more than once a year, every level table with room to vary."""
    s = load_scenario(SCENARIOS / f"{name}.yaml")
    u = s.uncertainties
    out: dict[str, float] = {}
    for pid, (gid, pool) in s.pools().items():
        here = f"groups.{gid}.pools.{pid}"
        head = u.ranges.get(f"{here}.headcount")
        excl = u.ranges.get(f"{here}.excluded")
        low_head = head.low if head else pool.headcount
        high_excl = excl.high if excl else pool.excluded
        assert high_excl < low_head
        attrition = u.ranges[f"{here}.attrition_rate_per_year"]
        out[pid] = attrition.high
        assert f"{here}.level_shares" in u.level_mixes
    for i, promo in enumerate(s.promotions):
        out[promo.from_pool] += u.ranges[f"promotions.{i}.rate_per_year"].high
    assert max(out.values()) < 0.2


def test_long_an_as_written_is_deliberately_certain() -> None:
    path = SCENARIOS / "long_an_as_written.yaml"
    assert not load_scenario(path).uncertainties.any
    header = "".join(
        line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")
    )
    assert "deliberately certain" in header


def test_parse_scenario_from_text_has_uncertainties(long_an_path: Path) -> None:
    s = parse_scenario(long_an_path.read_text(encoding="utf-8"))
    assert s.uncertainties == load_scenario(long_an_path).uncertainties


def test_an_unknown_key_in_a_note_is_named_as_such(tmp_path: Path) -> None:
    text = Path("scenarios/long_an.yaml").read_text(encoding="utf-8")
    bad = text.replace(
        "exam_pass_probability: {value: 0.60, range",
        "exam_pass_probability: {value: 0.60, foo: 1, range",
    )
    assert bad != text
    path = tmp_path / "bad.yaml"
    path.write_text(bad, encoding="utf-8")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    err = caught.value
    assert err.path == "courses.level4.exam_pass_probability.foo"
    assert "unknown key in a {value, source} note (known keys: value, source" in err.message
    assert err.line is not None and "\n" not in err.message
