"""`simopt show` and `simopt validate` on the bundled scenarios, and the people-needed rule."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest

from simopt.cli import main
from simopt.scenario import load_scenario
from simopt.show import people_needed

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
FILES = sorted(SCENARIOS.glob("*.yaml"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_show_prints_every_target(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", str(path)]) == 0
    out = capsys.readouterr().out
    for tid in load_scenario(path).targets:
        assert f"  {tid} (" in out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_validate_accepts_every_scenario(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(path)]) == 0
    assert "valid scenario" in capsys.readouterr().out


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_people_needed_is_the_larger_of_share_and_min_count(path: Path) -> None:
    s = load_scenario(path)
    for tid, t in s.targets.items():
        # exact arithmetic: 0.35 × 2,130 must give 746, and 0.25 × 2,000 exactly 500
        by_share = (
            math.ceil(Fraction(str(t.share)) * s.eligible_base(t)) if t.share is not None else 0
        )
        assert people_needed(s, tid) == max(by_share, t.min_count or 0), tid


def test_people_needed_on_long_an() -> None:
    s = load_scenario(SCENARIOS / "long_an.yaml")
    assert s.eligible_base(s.targets["pe_2025"]) == 26476
    assert people_needed(s, "pe_2025") == 15886  # 60% of 26,476 = 15,885.6 > 5,344
    assert people_needed(s, "pd_2025") == 533  # 25% of 2,130 = 532.5 > 55


def test_people_needed_on_the_plan_as_written() -> None:
    s = load_scenario(SCENARIOS / "long_an_as_written.yaml")
    assert people_needed(s, "pe_2025") == 5344
    assert people_needed(s, "pe_2030") == 10733
    assert sum(people_needed(s, tid) for tid in s.targets if tid.endswith("2030")) == 10985
