"""The audit recomputes a plan's stated figures; Long An's known inconsistencies are pinned here."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from simopt.audit import AuditReport, Finding, audit
from simopt.cli import main
from simopt.scenario import build_scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
LONG_AN = ROOT / "scenarios" / "long_an.yaml"
P1 = "stated_budget.phases.p2021_2025"
P2 = "stated_budget.phases.p2026_2030"
EARMARK = "stated_budget.earmarks.national_programme_2021_2023"
TARGET_KINDS = {"implied_base", "implied_base_drift"}

# Every finding on Long An, each checked by hand against the plan (§II.2, §IV.2.b):
LONG_AN_FINDINGS = {
    # 5,518 people ÷ 5 years = 1,103.6; the plan prints "about 1,103"
    ("yearly_average", f"{P1}.people_per_year", 1103, 1103.6),
    # 87,472,000,000 ÷ 16,000,000 = 5,467 people, not 5,641 (= 5,467 + the 174 of phase 1)
    ("people_x_unit_cost", f"{P2}.people", 5641, 5467),
    # 5,389 × 16,000,000 = 86,224,000,000, not 86,244,000,000
    ("people_x_unit_cost", f"{P2}.lines.public_employees.vnd", 86_244_000_000, 86_224_000_000),
    # 78 + 5,389 = 5,467 people
    ("group_sum", f"{P2}.people", 5641, 5467),
    # 1,248,000,000 + 86,244,000,000 = 87,492,000,000
    ("group_sum", f"{P2}.vnd", 87_472_000_000, 87_492_000_000),
    # 5,518 + 5,641 = 11,159 people, not 10,985
    ("phase_sum", "stated_budget.people", 10985, 11159),
    # 48,910,000,000 ÷ 16,000,000 = 3,056.875 people; 3,057 would cost 48,912,000,000
    ("whole_people", f"{EARMARK}.vnd", 48_910_000_000, 48_912_000_000),
    # min count vs share × eligible headcount: 25% × 2,130; 60% × 26,476; 20% × 3,852 …
    ("implied_base", "targets.pd_2025.min_count", 55, 532.5),
    ("implied_base", "targets.pe_2025.min_count", 5344, 15885.6),
    ("implied_base", "targets.commune_2025.min_count", 119, 770.4),
    ("implied_base", "targets.pd_2030.min_count", 74, 745.5),
    ("implied_base", "targets.pe_2030.min_count", 10733, 18533.2),
    ("implied_base", "targets.commune_2030.min_count", 178, 1155.6),
    # 5,344 ÷ 60% = 8,906.667 implied in 2025; 70% of that = 6,234.667, not 10,733 (base 15,333)
    ("implied_base_drift", "targets.pe_2030.min_count", 10733, 6234.667),
    # min counts grow by (74 + 10,733 + 178) − (55 + 5,344 + 119) = 5,467 over 2026–2030
    ("min_counts", f"{P2}.people", 5641, 5467),
}

# Long An with every target a whole-number rounding of share × eligible headcount and a budget
# derived from those minimum counts at 16,000,000 VND a person:
#   2025: 533 (25% × 2,130) + 770 (20% × 3,852) civil servants, 15,886 (60% × 26,476) employees
#   2030: 746 (35% × 2,130) + 1,156 (30% × 3,852) civil servants, 18,533 (70% × 26,476) employees
CONSISTENT: dict[str, float] = {
    "targets.pd_2025.min_count": 533,
    "targets.pd_2030.min_count": 746,
    "targets.pe_2025.min_count": 15886,
    "targets.pe_2030.min_count": 18533,
    "targets.commune_2025.min_count": 770,
    "targets.commune_2030.min_count": 1156,
    "stated_budget.people": 20435,
    "stated_budget.vnd": 326_960_000_000,
    f"{P1}.people": 17189,
    f"{P1}.vnd": 275_024_000_000,
    f"{P1}.people_per_year": 3437.8,
    f"{P1}.vnd_per_year": 55_004_800_000,
    f"{P1}.lines.civil_servants.people": 1303,
    f"{P1}.lines.civil_servants.vnd": 20_848_000_000,
    f"{P1}.lines.public_employees.people": 15886,
    f"{P1}.lines.public_employees.vnd": 254_176_000_000,
    f"{P2}.people": 3246,
    f"{P2}.vnd": 51_936_000_000,
    f"{P2}.vnd_per_year": 10_387_200_000,
    f"{P2}.lines.civil_servants.people": 599,
    f"{P2}.lines.civil_servants.vnd": 9_584_000_000,
    f"{P2}.lines.public_employees.people": 2647,
    f"{P2}.lines.public_employees.vnd": 42_352_000_000,
    f"{EARMARK}.vnd": 48_000_000_000,
}


def raw_long_an() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(LONG_AN.read_text(encoding="utf-8"))
    return data


def set_field(data: dict[str, Any], path: str, value: Any) -> None:
    """Set a dotted field, keeping its ``{value, source}`` note when it has one."""
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if isinstance(node.get(last), dict) and "value" in node[last]:
        node[last]["value"] = value
    else:
        node[last] = value


def consistent_data() -> dict[str, Any]:
    data = raw_long_an()
    for path, value in CONSISTENT.items():
        set_field(data, path, value)
    return data


def audit_data(data: dict[str, Any]) -> AuditReport:
    return audit(build_scenario(copy.deepcopy(data)))


def pinned(report: AuditReport) -> set[tuple[str, str, float, float]]:
    return {(f.kind, f.where, f.stated, f.computed) for f in report.findings}


@pytest.fixture(scope="module")
def long_an() -> AuditReport:
    return audit(load_scenario(LONG_AN))


# --------------------------------------------------------------------------- Long An


def test_long_an_findings_are_exactly_the_known_inconsistencies(long_an: AuditReport) -> None:
    assert pinned(long_an) == LONG_AN_FINDINGS
    assert len(long_an.findings) == len(LONG_AN_FINDINGS)
    assert long_an.checks == 41
    assert not long_an.clean


def test_long_an_severities(long_an: AuditReport) -> None:
    by_kind = {(f.kind, f.where): f.severity for f in long_an.findings}
    assert by_kind[("yearly_average", f"{P1}.people_per_year")] == "note"
    assert by_kind[("whole_people", f"{EARMARK}.vnd")] == "note"
    assert {s for (k, _), s in by_kind.items() if k in TARGET_KINDS} == {"warning"}
    errors = {(k, w) for (k, w), s in by_kind.items() if s == "error"}
    assert len(errors) == 6
    assert (long_an.count("error"), long_an.count("warning"), long_an.count("note")) == (6, 7, 2)


def test_long_an_findings_show_their_arithmetic(long_an: AuditReport) -> None:
    first = next(f for f in long_an.findings if f.kind == "people_x_unit_cost")
    assert first.computed_from == "87.472.000.000 đ ÷ 16.000.000 đ per person = 5.467 people"
    assert first.source == "LA plan §IV.2.b: 87,472,000,000 VND / 5,641 people"
    # the 174 extra people are recognised as phase 1's civil servants counted again
    assert f"{P1}.lines.civil_servants.people" in first.message
    total = next(f for f in long_an.findings if f.kind == "phase_sum")
    assert f"error already found in {P2}.people" in total.message
    group_vnd = next(f for f in long_an.findings if f.where == f"{P2}.vnd")
    assert f"{P2}.lines.public_employees.vnd" in group_vnd.message


def test_long_an_agreements_with_minimum_counts(long_an: AuditReport) -> None:
    agreed = {a.split(" = ")[0] for a in long_an.agreements}
    assert agreed == {
        "stated_budget.people",
        f"{P1}.people",
        f"{P1}.lines.civil_servants.people",
        f"{P1}.lines.public_employees.people",
        f"{P2}.lines.civil_servants.people",
        f"{P2}.lines.public_employees.people",
    }


def test_format_has_one_block_per_finding_and_a_count_line(long_an: AuditReport) -> None:
    text = long_an.format(file="scenarios/long_an.yaml")
    lines = text.splitlines()
    assert lines[0] == "Audit of 'long_an' (scenarios/long_an.yaml)"
    assert lines[-1] == "15 findings (6 errors, 7 warnings, 2 notes) in 41 checks."
    headers = [ln for ln in lines if ln.startswith("[")]
    assert headers == [f"[{f.severity}] {f.kind}: {f.where}" for f in long_an.findings]
    assert "5.641 people" in text and "175" not in lines[-1]


def test_to_dict_round_trips_through_json(long_an: AuditReport) -> None:
    data = long_an.to_dict()
    assert set(data) >= {"scenario", "clean", "checks", "findings"}
    assert (data["scenario"], data["clean"], data["checks"]) == ("long_an", False, 41)
    assert json.loads(json.dumps(data, ensure_ascii=False)) == data
    assert AuditReport.from_dict(json.loads(json.dumps(data))) == long_an
    assert Finding.from_dict(data["findings"][0]) == long_an.findings[0]


# --------------------------------------------------------------------------- consistent plans


def test_consistent_plan_has_no_errors() -> None:
    data = raw_long_an()
    set_field(data, f"{P2}.people", 5467)
    set_field(data, f"{P2}.lines.public_employees.vnd", 86_224_000_000)
    report = audit_data(data)
    assert [f for f in report.findings if f.severity == "error"] == []
    # what remains: the two rounding notes and the targets' bases
    assert {f.kind for f in report.findings} == {"yearly_average", "whole_people", *TARGET_KINDS}


def test_fully_consistent_plan_is_clean() -> None:
    report = audit_data(consistent_data())
    assert report.findings == []
    assert report.clean
    assert report.checks == 41
    assert len(report.agreements) == 7
    assert report.format().endswith("clean: 41 checks, no findings.")


def test_no_stated_budget_audits_only_targets() -> None:
    data = raw_long_an()
    del data["stated_budget"]
    report = audit_data(data)
    assert {f.kind for f in report.findings} <= TARGET_KINDS
    assert report.findings
    clean = consistent_data()
    del clean["stated_budget"]
    report = audit_data(clean)
    assert report.clean and report.checks == 9 and report.agreements == []


def test_zero_unit_cost_skips_per_person_checks() -> None:
    data = consistent_data()
    set_field(data, "stated_budget.unit_cost_vnd", 0)
    assert audit_data(data).clean


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        pytest.param(
            f"{P2}.lines.public_employees.vnd",
            42_372_000_000,
            {
                ("people_x_unit_cost", f"{P2}.lines.public_employees.vnd", 42_372e6, 42_352e6),
                ("group_sum", f"{P2}.vnd", 51_936e6, 51_956e6),
            },
            id="line-vnd",
        ),
        pytest.param(
            f"{P1}.people_per_year",
            3437,
            {("yearly_average", f"{P1}.people_per_year", 3437, 3437.8)},
            id="people-per-year-truncated",
        ),
        pytest.param(
            f"{P2}.vnd_per_year",
            10_388_200_000,
            {("yearly_average", f"{P2}.vnd_per_year", 10_388.2e6, 10_387.2e6)},
            id="vnd-per-year",
        ),
        pytest.param(
            "stated_budget.people",
            20436,
            {
                ("people_x_unit_cost", "stated_budget.people", 20436, 20435),
                ("phase_sum", "stated_budget.people", 20436, 20435),
                ("min_counts", "stated_budget.people", 20436, 20435),
            },
            id="total-people",
        ),
        pytest.param(
            f"{EARMARK}.vnd",
            48_000_001_000,
            {("whole_people", f"{EARMARK}.vnd", 48_000_001_000, 48_000_000_000)},
            id="earmark-not-whole-people",
        ),
        pytest.param(
            # 3 years × 55,004,800,000 = 165,014,400,000 spent in 2021–2023; 10,314 people more
            f"{EARMARK}.vnd",
            165_024_000_000,
            {("earmark", f"{EARMARK}.vnd", 165_024_000_000, 165_014_400_000)},
            id="earmark-above-spending",
        ),
        pytest.param(
            f"{EARMARK}.last_year",
            2031,
            {("period", f"{EARMARK}.last_year", 2031, 2030)},
            id="earmark-outside-period",
        ),
        pytest.param(
            # 18,533 ÷ 50% = 37,066 ≠ 26,476; the 2025 base 15,886 ÷ 60% = 26,476.667 × 50%
            "targets.pe_2030.share",
            0.5,
            {
                ("implied_base", "targets.pe_2030.min_count", 18533, 13238),
                ("implied_base_drift", "targets.pe_2030.min_count", 18533, 13238.333),
            },
            id="target-share",
        ),
        pytest.param(
            f"{P1}.lines.public_employees.people",
            15887,
            {
                ("people_x_unit_cost", f"{P1}.lines.public_employees.people", 15887, 15886),
                ("group_sum", f"{P1}.people", 17189, 17190),
                ("min_counts", f"{P1}.lines.public_employees.people", 15887, 15886),
            },
            id="line-people",
        ),
    ],
)
def test_single_figure_mutation(
    path: str, value: float, expected: set[tuple[str, str, float, float]]
) -> None:
    data = consistent_data()
    set_field(data, path, value)
    assert pinned(audit_data(data)) == expected


def test_overlapping_phases_are_reported() -> None:
    data = consistent_data()
    set_field(data, f"{P2}.first_year", 2025)
    found = pinned(audit_data(data))
    assert ("period", f"{P2}.first_year", 2025, 2026) in found


def test_groups_without_min_counts_skip_the_min_count_check() -> None:
    data = consistent_data()
    del data["targets"]["commune_2025"]["min_count"]
    report = audit_data(data)
    # only figures whose periods need no 2025 commune minimum are still compared: the total
    # (2030 counts alone) and the public-employee lines
    assert report.findings == []
    assert {a.split(" = ")[0] for a in report.agreements} == {
        "stated_budget.people",
        f"{P1}.lines.public_employees.people",
        f"{P2}.lines.public_employees.people",
    }


# --------------------------------------------------------------------------- command line


def test_cli_audit_exits_1_on_long_an(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["audit", "scenarios/long_an.yaml"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("Audit of 'long_an' (scenarios/long_an.yaml)")
    assert out.rstrip().endswith("15 findings (6 errors, 7 warnings, 2 notes) in 41 checks.")


def test_cli_audit_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], long_an: AuditReport
) -> None:
    monkeypatch.chdir(ROOT)
    assert main(["audit", "scenarios/long_an.yaml", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == long_an.to_dict()
    assert {(f["kind"], f["where"], f["stated"], f["computed"]) for f in data["findings"]} == (
        LONG_AN_FINDINGS
    )


def test_cli_audit_exits_0_when_clean(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "clean.yaml"
    path.write_text(yaml.safe_dump(consistent_data(), allow_unicode=True), encoding="utf-8")
    assert main(["audit", str(path)]) == 0
    assert capsys.readouterr().out.rstrip().endswith("clean: 41 checks, no findings.")


def test_cli_audit_set_override_fixes_a_figure(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    code = main(["audit", "scenarios/long_an.yaml", "--json", "--set", f"{P2}.people=5467"])
    assert code == 1
    wheres = {f["where"] for f in json.loads(capsys.readouterr().out)["findings"]}
    assert f"{P2}.people" not in wheres and "stated_budget.people" not in wheres
