"""Every bad scenario gets one clear line: file, field path, value and rule.

The table below applies one mutation to the valid scenarios/long_an.yaml, writes it back out with
yaml.safe_dump and loads it from disk (so line numbers are looked up too), then checks the exact
field path and the key words of the rule. File-level problems (syntax, encoding, empty files, …)
are written as raw text or bytes. A handful go through the CLI to check ``simopt: …`` and exit 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from simopt.cli import main
from simopt.errors import ScenarioError
from simopt.scenario import Scenario, build_scenario, load_scenario, parse_scenario

Data = dict[str, Any]
Mutation = Callable[[Data], None]

PD = "groups.provincial_district_civil_servants"
PE = "groups.public_employees"
PE_STAFF = f"{PE}.pools.pe_staff"
PD_STAFF = f"{PD}.pools.pd_staff"


# --------------------------------------------------------------------------- mutation helpers


def _step(node: Any, key: str) -> tuple[Any, Any]:
    if isinstance(node, list):
        return node, int(key)
    if key not in node and key.lstrip("-").isdecimal():  # levels and years are number keys
        return node, int(key)
    return node, key


def _parent(data: Data, path: str) -> tuple[Any, Any]:
    *parents, last = path.split(".")
    node: Any = data
    for part in parents:
        container, key = _step(node, part)
        node = container[key]
    return _step(node, last)


def set_(path: str, value: Any) -> Mutation:
    """Set the value at a dotted path (replacing any {value, source} note there)."""

    def mutate(data: Data) -> None:
        container, key = _parent(data, path)
        container[key] = value

    return mutate


def delete(path: str) -> Mutation:
    def mutate(data: Data) -> None:
        container, key = _parent(data, path)
        del container[key]

    return mutate


def rename(path: str, new_key: str) -> Mutation:
    """Rename a key in place (as a typo in the file would), keeping its value."""

    def mutate(data: Data) -> None:
        container, key = _parent(data, path)
        items = list(container.items())
        container.clear()
        container.update((new_key if k == key else k, v) for k, v in items)

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: Data) -> None:
        for m in mutations:
            m(data)

    return mutate


# --------------------------------------------------------------------------- the table

CASES = [
    # wrong types
    pytest.param(
        set_(f"{PE_STAFF}.headcount", "many"),
        f"{PE_STAFF}.headcount",
        ["= 'many'", "must be a number", "not text"],
        id="text-for-number",
    ),
    pytest.param(
        set_("courses.level4.tuition_vnd_per_trainee", "16,000,000"),
        "courses.level4.tuition_vnd_per_trainee",
        ["'16,000,000'", "must be a number"],
        id="number-with-commas-is-text",
    ),
    pytest.param(
        set_("horizon", 2021),
        "horizon",
        ["= 2021", "must be a mapping", "not a number"],
        id="number-for-mapping",
    ),
    pytest.param(
        set_("exams", [3, 6, 9, 12]),
        "exams",
        ["must be a mapping", "not a list"],
        id="list-for-mapping",
    ),
    pytest.param(
        set_(f"{PE}.pools.pe_staff", [25423, 1147]),
        PE_STAFF,
        ["must be a mapping", "not a list"],
        id="list-for-pool",
    ),
    pytest.param(
        set_("courses.level4.exam_pass_probability", True),
        "courses.level4.exam_pass_probability",
        ["= true", "must be a number", "not true/false"],
        id="bool-for-number",
    ),
    pytest.param(
        set_("targets.pd_2025.groups", "provincial_district_civil_servants"),
        "targets.pd_2025.groups",
        ["must be a list", "not text"],
        id="text-for-list",
    ),
    pytest.param(
        set_("targets.pd_2025.groups", {"provincial_district_civil_servants": 1}),
        "targets.pd_2025.groups",
        ["must be a list", "not a mapping"],
        id="mapping-for-list",
    ),
    pytest.param(
        set_("funding_sources.state_budget.public", "yes"),
        "funding_sources.state_budget.public",
        ["must be true or false", "not text"],
        id="text-for-bool",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.headcount", None),
        f"{PE_STAFF}.headcount",
        ["= null", "must be a number", "not null"],
        id="null-for-number",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.headcount", 25423.5),
        f"{PE_STAFF}.headcount",
        ["must be a whole number"],
        id="fraction-of-a-person",
    ),
    pytest.param(
        set_("name", "long an"),
        "name",
        ["must be a name of letters, digits and _"],
        id="name-not-an-identifier",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.attributes.leader", [True]),
        f"{PE_STAFF}.attributes.leader",
        ["an attribute must be true/false, a whole number or text", "not a list"],
        id="attribute-list",
    ),
    # unknown keys, with a did-you-mean when close
    pytest.param(
        rename("horizon", "horizn"),
        "horizn",
        ["unknown field", "did you mean 'horizon'"],
        id="unknown-top-level-typo",
    ),
    pytest.param(
        set_("favourite_food", "phở"),
        "favourite_food",
        ["unknown field", "known fields:", "horizon"],
        id="unknown-top-level-no-match",
    ),
    pytest.param(
        rename(f"{PE_STAFF}.headcount", "headcont"),
        f"{PE_STAFF}.headcont",
        ["unknown field", "did you mean 'headcount'"],
        id="unknown-pool-key",
    ),
    pytest.param(
        rename("courses.level4.exam_pass_probability", "exam_pass_probabilty"),
        "courses.level4.exam_pass_probabilty",
        ["unknown field", "did you mean 'exam_pass_probability'"],
        id="unknown-course-key",
    ),
    pytest.param(
        rename("targets.pe_2025.min_level", "min_levl"),
        "targets.pe_2025.min_levl",
        ["unknown field", "did you mean 'min_level'"],
        id="unknown-target-key",
    ),
    pytest.param(
        set_("promotions.0.rate_per_yer", 0.1),
        "promotions.0.rate_per_yer",
        ["unknown field", "did you mean 'rate_per_year'"],
        id="unknown-promotion-key",
    ),
    pytest.param(
        delete("courses.level4.exam_pass_probability"),
        "courses.level4.exam_pass_probability",
        ["is required but missing"],
        id="missing-field",
    ),
    # negative counts or money
    pytest.param(
        set_(f"{PE_STAFF}.headcount", -5),
        f"{PE_STAFF}.headcount",
        ["= -5", "must not be negative"],
        id="negative-headcount",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.excluded", -1),
        f"{PE_STAFF}.excluded",
        ["must not be negative"],
        id="negative-excluded",
    ),
    pytest.param(
        set_("courses.level3.tuition_vnd_per_trainee", -12000000),
        "courses.level3.tuition_vnd_per_trainee",
        ["must not be negative"],
        id="negative-money",
    ),
    pytest.param(
        set_("exams.fee_vnd", 1e30),
        "exams.fee_vnd",
        ["must be at most", "VND"],
        id="absurd-money",
    ),
    # NaN and infinity
    pytest.param(
        set_("courses.level4.exam_pass_probability", math.nan),
        "courses.level4.exam_pass_probability",
        ["= nan", "must be a finite number"],
        id="nan",
    ),
    pytest.param(
        set_("courses.level4.tuition_vnd_per_trainee", math.inf),
        "courses.level4.tuition_vnd_per_trainee",
        ["= inf", "must be a finite number"],
        id="infinity",
    ),
    # probabilities, rates and shares outside [0, 1]
    pytest.param(
        set_("courses.level4.exam_pass_probability", 1.5),
        "courses.level4.exam_pass_probability",
        ["= 1.5", "must be a probability between 0 and 1"],
        id="probability-above-1",
    ),
    pytest.param(
        set_("courses.level3.completion_rate", -0.1),
        "courses.level3.completion_rate",
        ["= -0.1", "between 0 and 1"],
        id="probability-below-0",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.attrition_rate_per_year", 3.5),
        f"{PE_STAFF}.attrition_rate_per_year",
        ["must be a rate between 0 and 1"],
        id="rate-above-1",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.level_shares.value.3", 1.3),
        f"{PE_STAFF}.level_shares.3",
        ["must be a share between 0 and 1"],
        id="share-above-1",
    ),
    # level distributions
    pytest.param(
        set_(f"{PE_STAFF}.level_shares", {0: 0.5, 3: 0.3}),
        f"{PE_STAFF}.level_shares",
        ["shares must sum to 1", "they sum to 0.8"],
        id="level-shares-sum",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.hire_level_shares", {0: 0.5, 3: 0.35, 4: 0.2}),
        f"{PE_STAFF}.hire_level_shares",
        ["shares must sum to 1", "1.05"],
        id="hire-level-shares-sum",
    ),
    pytest.param(
        both(delete(f"{PE_STAFF}.level_shares"), set_(f"{PE_STAFF}.level_counts", {0: 100})),
        f"{PE_STAFF}.level_counts",
        ["counts must sum to the eligible headcount 24276", "they sum to 100"],
        id="level-counts-sum",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.level_counts", {0: 24276}),
        f"{PE_STAFF}.level_counts",
        ["give level_shares or level_counts, not both"],
        id="level-shares-and-counts",
    ),
    # excluded > headcount
    pytest.param(
        set_(f"{PE_STAFF}.excluded", 30000),
        f"{PE_STAFF}.excluded",
        ["excluded = 30000: must not exceed headcount (25423)"],
        id="excluded-above-headcount",
    ),
    # levels
    pytest.param(
        set_("courses.level4.target_level", 3),
        "courses.level4.target_level",
        ["= 3", "must be above entry_level (3)"],
        id="target-level-equal-entry",
    ),
    pytest.param(
        set_("courses.level3.target_level", 0),
        "courses.level3.target_level",
        ["must be above entry_level (0)"],
        id="target-level-below-entry",
    ),
    pytest.param(
        set_("courses.level4.target_level", 7),
        "courses.level4.target_level",
        ["= 7", "must be a level from 0 to 6"],
        id="level-above-6",
    ),
    pytest.param(
        set_("courses.level3.entry_level", -1),
        "courses.level3.entry_level",
        ["must be a level from 0 to 6"],
        id="level-below-0",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.level_shares.value.7", 0.0),
        f"{PE_STAFF}.level_shares.7",
        ["key must be a level from 0 to 6"],
        id="level-key-above-6",
    ),
    pytest.param(
        set_("targets.pe_2025.min_level", 0),
        "targets.pe_2025.min_level",
        ["must be a level from 1 to 6"],
        id="target-min-level-0",
    ),
    # horizon and milestones
    pytest.param(
        set_("targets.pd_2030.year", 2035),
        "targets.pd_2030.year",
        ["= 2035", "must lie in the horizon 2021–2030"],
        id="target-after-horizon",
    ),
    pytest.param(
        set_("targets.pd_2025.year", 2019),
        "targets.pd_2025.year",
        ["must lie in the horizon 2021–2030"],
        id="target-before-horizon",
    ),
    pytest.param(
        set_("horizon.milestones", [2030, 2025]),
        "horizon.milestones.1",
        ["= 2025", "increasing order", "follows 2030"],
        id="milestones-out-of-order",
    ),
    pytest.param(
        set_("horizon.milestones", [2025, 2031]),
        "horizon.milestones.1",
        ["must lie in the horizon 2021–2030"],
        id="milestone-outside-horizon",
    ),
    pytest.param(
        set_("horizon.end_year", 2020),
        "horizon.end_year",
        ["must not be before start_year (2021)"],
        id="horizon-ends-before-start",
    ),
    pytest.param(
        set_("horizon.start_year", 1066),
        "horizon.start_year",
        ["must be a year from 1900 to 2200"],
        id="year-out-of-range",
    ),
    # targets pointing at things that do not exist
    pytest.param(
        set_("targets.pe_2025.groups", ["public_employes"]),
        "targets.pe_2025.groups.0",
        ["'public_employes'", "no group of that name", "did you mean 'public_employees'"],
        id="target-unknown-group",
    ),
    pytest.param(
        set_("targets.pe_2025.groups", ["public_employees", "public_employees"]),
        "targets.pe_2025.groups.1",
        ["is listed twice"],
        id="target-group-twice",
    ),
    pytest.param(
        set_("targets.pe_leaders_2025.where", {"leader": "yes"}),
        "targets.pe_leaders_2025.where",
        ["selects no pool in the target's groups"],
        id="target-where-selects-nothing",
    ),
    pytest.param(
        set_("targets.pe_leaders_2025.where", {"leadr": True}),
        "targets.pe_leaders_2025.where.leadr",
        ["no pool in the target's groups has this attribute", "did you mean 'leader'"],
        id="target-where-unknown-attribute",
    ),
    pytest.param(
        both(delete("targets.pe_2025.share"), delete("targets.pe_2025.min_count")),
        "targets.pe_2025",
        ["needs a share, a min_count, or both"],
        id="target-without-goal",
    ),
    # promotions
    pytest.param(
        set_("promotions.0.from_pool", "pd_staf"),
        "promotions.0.from_pool",
        ["= 'pd_staf'", "no pool of that name", "did you mean 'pd_staff'"],
        id="promotion-unknown-from-pool",
    ),
    pytest.param(
        set_("promotions.1.to_pool", "nobody"),
        "promotions.1.to_pool",
        ["no pool of that name", "known:"],
        id="promotion-unknown-to-pool",
    ),
    pytest.param(
        set_("promotions.0.to_pool", "pd_staff"),
        "promotions.0.to_pool",
        ["must differ from from_pool"],
        id="promotion-to-itself",
    ),
    pytest.param(
        set_("promotions.0.rate_per_year", 0.97),
        "promotions.0.rate_per_year",
        ["add up to more than everyone each year"],
        id="promotion-outflow-above-1",
    ),
    # courses and exams
    pytest.param(
        set_("courses.level3.groups", ["communes"]),
        "courses.level3.groups.0",
        ["no group of that name"],
        id="course-unknown-group",
    ),
    pytest.param(
        set_("exams.session_months", [3, 9, 6]),
        "exams.session_months.2",
        ["exam months must be in increasing order"],
        id="exam-months-out-of-order",
    ),
    pytest.param(
        set_("exams.session_months", [3, 13]),
        "exams.session_months.1",
        ["must be a month from 1 to 12"],
        id="exam-month-13",
    ),
    # provenance notes
    pytest.param(
        set_(f"{PE_STAFF}.headcount", {"value": 25423, "source": ""}),
        f"{PE_STAFF}.headcount.source",
        ["= ''", "a source must be a non-empty text"],
        id="note-empty-source",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.headcount", {"value": 25423, "source": None}),
        f"{PE_STAFF}.headcount.source",
        ["a source must be a non-empty text", "not null"],
        id="note-null-source",
    ),
    pytest.param(
        set_(f"{PE_STAFF}.headcount", {"value": 25423, "sorce": "LA plan"}),
        f"{PE_STAFF}.headcount.sorce",
        ["unknown key in a {value, source} note", "did you mean 'source'"],
        id="note-misspelt-source",
    ),
    # funding
    pytest.param(
        set_(f"{PD}.funding.state_budget", 0.5),
        f"{PD}.funding",
        ["shares must sum to 1", "they sum to 0.65"],
        id="funding-shares-sum",
    ),
    pytest.param(
        rename(f"{PD}.funding.state_budget", "state_budjet"),
        f"{PD}.funding.state_budjet",
        ["no funding source of that name", "did you mean 'state_budget'"],
        id="funding-unknown-source",
    ),
    pytest.param(
        set_("budget.source_ceilings_vnd_per_year", {"lottery": 1e9}),
        "budget.source_ceilings_vnd_per_year.lottery",
        ["no funding source of that name"],
        id="budget-ceiling-unknown-source",
    ),
    pytest.param(
        set_("budget.ceiling_vnd_by_year", {2040: 1e10}),
        "budget.ceiling_vnd_by_year.2040",
        ["must lie in the horizon 2021–2030"],
        id="budget-ceiling-year-outside-horizon",
    ),
    pytest.param(
        set_(
            "budget.envelopes",
            {"phase2": {"first_year": 2026, "last_year": 2025, "ceiling_vnd": 1e11}},
        ),
        "budget.envelopes.phase2.last_year",
        ["must not be before first_year (2026)"],
        id="envelope-ends-before-it-starts",
    ),
    pytest.param(
        set_(
            "budget.envelopes",
            {"late": {"first_year": 2026, "last_year": 2032, "ceiling_vnd": 1e11}},
        ),
        "budget.envelopes.late.last_year",
        # 2031 is in: the retakes of the 2030 intakes fall there, and the plan pays them
        ["must lie in the years the plan spends in, 2021–2031"],
        id="envelope-after-the-last-fee",
    ),
    pytest.param(
        set_(
            "budget.envelopes",
            {"early": {"first_year": 2019, "last_year": 2025, "ceiling_vnd": 1e11}},
        ),
        "budget.envelopes.early.first_year",
        ["must lie in the years the plan spends in"],
        id="envelope-before-the-horizon",
    ),
    pytest.param(
        set_(
            "budget.envelopes",
            {"p": {"first_year": 2021, "last_year": 2025, "ceiling_vnd": 1e11, "source": "lotto"}},
        ),
        "budget.envelopes.p.source",
        ["no funding source of that name"],
        id="envelope-unknown-source",
    ),
    pytest.param(
        set_("budget.envelopes", {"p": {"first_year": 2021, "last_year": 2025}}),
        "budget.envelopes.p.ceiling_vnd",
        ["is required"],
        id="envelope-without-ceiling",
    ),
    pytest.param(
        set_(
            "budget.envelopes",
            {"p": {"first_year": 2021, "last_year": 2025, "ceiling_vnd": -1}},
        ),
        "budget.envelopes.p.ceiling_vnd",
        ["must not be negative"],
        id="envelope-negative-ceiling",
    ),
    pytest.param(
        set_("budget.total_ceiling_vnd", "a lot"),
        "budget.total_ceiling_vnd",
        ["must be a number"],
        id="total-ceiling-not-a-number",
    ),
    # groups and pools
    pytest.param(
        set_(f"{PE}.pools.pd_staff", {"headcount": 10}),
        f"{PE}.pools.pd_staff",
        ["pool ids must be unique", "provincial_district_civil_servants"],
        id="pool-id-twice",
    ),
    pytest.param(
        set_(f"{PE}.pools.2nd_pool", {"headcount": 10}),
        f"{PE}.pools.2nd_pool",
        ["key must be a name of letters, digits and _"],
        id="pool-id-not-an-identifier",
    ),
    pytest.param(
        set_(f"{PE}.pools", {}),
        f"{PE}.pools",
        ["a group must have at least one pool"],
        id="group-without-pools",
    ),
    pytest.param(
        set_("stated_budget.phases.p2021_2025.last_year", 2020),
        "stated_budget.phases.p2021_2025.last_year",
        ["must not be before first_year (2021)"],
        id="stated-phase-years-reversed",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "words"), CASES)
def test_malformed_scenario(
    long_an: Data,
    write_yaml: Callable[[Any], Path],
    mutate: Mutation,
    path: str,
    words: list[str],
) -> None:
    mutate(long_an)
    file = write_yaml(long_an)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    err = info.value
    assert err.path == path, err.message
    assert err.file == str(file)
    assert err.line is not None, err.message
    message = err.message
    assert message.startswith(f"{file}:{err.line}: {path}"), message
    assert "\n" not in message
    for word in words:
        assert word in message, message


def test_the_table_is_large() -> None:
    assert len(CASES) >= 40


def test_long_an_is_valid(long_an_path: Path) -> None:
    scenario = load_scenario(long_an_path)
    assert isinstance(scenario, Scenario)
    assert scenario.pools()["pe_staff"][1].eligible == 25423 - 1147


def test_exact_message_for_excluded(long_an: Data, write_yaml: Callable[[Any], Path]) -> None:
    set_(f"{PE_STAFF}.excluded", 30000)(long_an)
    file = write_yaml(long_an)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    line = info.value.line
    assert info.value.message == (
        f"{file}:{line}: groups.public_employees.pools.pe_staff.excluded = 30000: "
        "must not exceed headcount (25423)"
    )


def test_line_points_at_the_field(long_an_path: Path, tmp_path: Path) -> None:
    """In the hand-written file, the error names the line of the offending field."""
    text = long_an_path.read_text(encoding="utf-8")
    old = 'excluded: {value: 1147, source: "LA plan footnote 2'
    assert old in text
    bad = text.replace(old, 'excluded: {value: 30000, source: "LA plan footnote 2')
    file = tmp_path / "bad.yaml"
    file.write_text(bad, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    expected_line = next(i for i, ln in enumerate(bad.splitlines(), 1) if "value: 30000" in ln)
    assert info.value.line == expected_line


# --------------------------------------------------------------------------- file-level problems

SYNTAX_CASES = [
    pytest.param("name: x\nhorizon: [2021, 2030\n", 3, 1, "expected ',' or ']'", id="open-list"),
    pytest.param("name: x\ntitle: a: b\n", 2, 9, "mapping values are not allowed", id="colon"),
    pytest.param("name: x\nhorizon:\n  start_year: 1\n end_year: 2\n", 4, 2, "", id="indent"),
    pytest.param("name: 'x\n", 2, 1, "unexpected end of stream", id="unclosed-quote"),
    pytest.param("name: x\n\tbad: 1\n", 2, 1, "cannot start any token", id="tab"),
    pytest.param("name: *nothing\n", 1, 7, "undefined alias", id="undefined-alias"),
]


@pytest.mark.parametrize(("text", "line", "column", "words"), SYNTAX_CASES)
def test_yaml_syntax_error(tmp_path: Path, text: str, line: int, column: int, words: str) -> None:
    file = tmp_path / "bad.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    err = info.value
    assert (err.line, err.column) == (line, column), err.message
    assert err.message.startswith(f"{file}:{line}:{column}: YAML syntax error: ")
    assert words in err.message
    assert "\n" not in err.message


FILE_CASES = [
    pytest.param(b"", None, ["the file is empty"], id="empty"),
    pytest.param(b"   \n\n", None, ["the file is empty"], id="blank"),
    pytest.param(b"# only a comment\n", None, ["the file is empty", "only comments"], id="comment"),
    pytest.param(b"---\n...\n", None, ["the file is empty"], id="empty-document"),
    pytest.param(
        b"- name: x\n- horizon: 1\n", None, ["must be a YAML mapping", "not a list"], id="list"
    ),
    pytest.param(b"long_an\n", None, ["must be a YAML mapping", "not text"], id="scalar-text"),
    pytest.param(b"42\n", None, ["must be a YAML mapping", "not a number"], id="scalar-number"),
    pytest.param(
        b"name: Long An\xe2\x80\nx: \xff\xfe\n",
        1,
        ["not UTF-8", "save the file as UTF-8"],
        id="not-utf8",
    ),
    pytest.param("name: L\u00f4ng An\n".encode("utf-16"), 1, ["not UTF-8"], id="utf16"),
    pytest.param(
        b"name: x\nname: y\n", 2, ["name: key given twice", "first at line 1"], id="duplicate-key"
    ),
    pytest.param(b"a: &x [1, *x]\n", 1, ["a.1: an alias", "contains it"], id="recursive-alias"),
    pytest.param(
        b"name: !!int abc\n", 1, ["cannot read 'abc' as a whole number"], id="bad-int-tag"
    ),
    pytest.param(b"name: !!bool maybe\n", 1, ["cannot read 'maybe' as true/false"], id="bad-bool"),
    pytest.param(b"name: 2021-13-45\n", 1, ["cannot read '2021-13-45'"], id="impossible-date"),
    pytest.param(
        b"name: !!python/object:os.system x\n",
        1,
        ["could not determine a constructor"],
        id="python-tag",
    ),
    pytest.param(b"? [a, b]\n: 1\n", 1, ["unhashable key"], id="list-as-key"),
    pytest.param(b"name: x\x01\n", 1, ["character #x0001 is not allowed"], id="control-char"),
    pytest.param(
        b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", None, ["nested too deeply"], id="deep-nesting"
    ),
]


@pytest.mark.parametrize(("content", "line", "words"), FILE_CASES)
def test_bad_file(tmp_path: Path, content: bytes, line: int | None, words: list[str]) -> None:
    file = tmp_path / "bad.yaml"
    file.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    err = info.value
    assert err.file == str(file)
    assert err.line == line, err.message
    assert err.message.startswith(str(file))
    assert "\n" not in err.message
    for word in words:
        assert word in err.message, err.message


def test_billion_laughs_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    with pytest.raises(ScenarioError) as info:
        parse_scenario("\n".join(lines) + "\n", file="laughs.yaml")
    assert "aliases expand to more than" in info.value.message


def test_aliases_that_stay_small_are_fine(long_an_path: Path) -> None:
    text = long_an_path.read_text(encoding="utf-8")
    text = text.replace("title: Long An", "title: &t Long An").replace(
        "province: Long An", "province: *t"
    )
    assert parse_scenario(text).province.startswith("Long An")


def test_utf8_bom_is_accepted(long_an_path: Path, tmp_path: Path) -> None:
    file = tmp_path / "bom.yaml"
    file.write_bytes(b"\xef\xbb\xbf" + long_an_path.read_bytes())
    assert load_scenario(file).name == "long_an"


def test_missing_file(tmp_path: Path) -> None:
    file = tmp_path / "nope.yaml"
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert info.value.message == f"{file}: file not found"


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path)
    assert "is a directory" in info.value.message


def test_build_scenario_rejects_non_mapping() -> None:
    with pytest.raises(ScenarioError) as info:
        build_scenario([1, 2], file="x.yaml")  # type: ignore[arg-type]
    assert info.value.message == "x.yaml: a scenario must be a YAML mapping of fields, not a list"


def test_build_scenario_refuses_data_that_contains_itself(long_an: Data) -> None:
    long_an["notes"] = long_an  # only possible from Python, but must still be one clean error
    with pytest.raises(ScenarioError):
        build_scenario(long_an)


# --------------------------------------------------------------------------- through the CLI

CLI_CASES = [
    pytest.param(
        set_(f"{PE_STAFF}.excluded", 30000), "must not exceed headcount (25423)", id="excluded"
    ),
    pytest.param(
        set_("courses.level4.exam_pass_probability", 1.5), "between 0 and 1", id="probability"
    ),
    pytest.param(
        rename(f"{PE_STAFF}.headcount", "headcont"), "did you mean 'headcount'", id="unknown-key"
    ),
    pytest.param(set_("targets.pd_2030.year", 2035), "must lie in the horizon", id="target-year"),
    pytest.param(set_("horizon", [2021, 2030]), "must be a mapping", id="list-for-mapping"),
    pytest.param(set_("exams.fee_vnd", math.nan), "finite number", id="nan"),
]


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize(("mutate", "words"), CLI_CASES)
@pytest.mark.parametrize("command", ["validate", "show"])
def test_cli_reports_bad_scenario(
    long_an: Data,
    write_yaml: Callable[[Any], Path],
    capsys: pytest.CaptureFixture[str],
    command: str,
    mutate: Mutation,
    words: str,
) -> None:
    mutate(long_an)
    file = write_yaml(long_an)
    rc, out, err = _run_cli([command, str(file)], capsys)
    assert rc == 2
    assert out == ""
    assert err.startswith(f"simopt: {file}:")
    assert err.count("\n") == 1 and err.endswith("\n")
    assert words in err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(b"name: [x\n", "YAML syntax error", id="syntax"),
        pytest.param(b"", "the file is empty", id="empty"),
        pytest.param(b"# nothing\n", "only comments", id="comment"),
        pytest.param(b"- a\n- b\n", "not a list", id="list"),
        pytest.param(b"\xff\xfe\x00", "not UTF-8", id="not-utf8"),
    ],
)
def test_cli_reports_bad_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, words: str
) -> None:
    file = tmp_path / "bad.yaml"
    file.write_bytes(content)
    rc, out, err = _run_cli(["validate", str(file)], capsys)
    assert rc == 2
    assert err.startswith(f"simopt: {file}")
    assert err.count("\n") == 1
    assert words in err
    assert "Traceback" not in out + err


def test_cli_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, _out, err = _run_cli(["validate", str(tmp_path / "nope.yaml")], capsys)
    assert rc == 2
    assert err == f"simopt: {tmp_path / 'nope.yaml'}: file not found\n"


def test_cli_valid_scenario(long_an_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc, out, err = _run_cli(["validate", str(long_an_path)], capsys)
    assert rc == 0
    assert "valid scenario 'long_an'" in out
    assert err == ""


# --------------------------------------------------------------------------- YAML 1.1 numbers

SEATS = "seats_per_year: {value: 3000,"


@pytest.mark.parametrize(
    ("written", "rule"),
    [
        pytest.param(
            "0100",
            "0100: a leading zero is ambiguous (YAML 1.1 reads it as octal, 64); write 100",
            id="octal",
        ),
        pytest.param(
            "08",
            "08: a leading zero is ambiguous (YAML 1.1 reads it as text); write 8",
            id="not-octal",
        ),
        pytest.param(
            "3:00",
            "3:00: a base-60 number in YAML 1.1 (read as 180); write the number "
            "itself, or quote it if it is text",
            id="base-60",
        ),
        pytest.param("0b11", "0b11: a binary number in YAML 1.1 (read as 3); write 3", id="binary"),
        pytest.param(
            "0" + "7" * 400,
            f"a leading zero is ambiguous (YAML 1.1 reads it as octal); write {'7' * 39}…",
            id="long",
        ),
    ],
)
def test_yaml_11_numbers_refused(
    long_an_path: Path, tmp_path: Path, written: str, rule: str
) -> None:
    text = long_an_path.read_text(encoding="utf-8")
    assert SEATS in text
    line = text[: text.index(SEATS)].count("\n") + 1
    path = tmp_path / "octal.yaml"
    path.write_text(text.replace(SEATS, f"seats_per_year: {{value: {written},", 1))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    err = info.value
    assert err.line == line
    assert err.path == "courses.level3.seats_per_year.value"
    assert err.message.startswith(f"{path}:{line}:")
    assert err.message.endswith(rule)
    assert "7" * 100 not in err.message


def test_yaml_12_numbers_still_read(long_an_path: Path, tmp_path: Path) -> None:
    text = long_an_path.read_text(encoding="utf-8").replace(
        SEATS, "seats_per_year: {value: 0x64,", 1
    )
    text = text.replace("seats_per_year: {value: 4500,", "seats_per_year: {value: 4_500,", 1)
    path = tmp_path / "hex.yaml"
    path.write_text(text, encoding="utf-8")
    s = load_scenario(path)
    assert s.courses["level3"].seats_per_year == 100
    assert s.courses["level4"].seats_per_year == 4500


# --------------------------------------------------------------------------- control characters


def test_control_characters_escaped_in_messages(
    long_an: Data, write_yaml: Callable[[Any], Path]
) -> None:
    long_an["\x1b[2J\u202eevil\r"] = 1
    long_an["title"] = "x" * 200
    path = write_yaml(long_an)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    message = info.value.message
    assert "\\x1b[2J\\u202eevil\\x0d" in message
    assert not any(c in message for c in "\x1b\u202e\r\n")


def test_long_keys_and_values_cut(long_an: Data, write_yaml: Callable[[Any], Path]) -> None:
    long_an["k" * 500] = "v" * 500
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_yaml(long_an))
    assert "k" * 60 not in info.value.message
    assert "v" * 60 not in info.value.message
    assert "…" in info.value.message
