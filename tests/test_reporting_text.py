"""The short answer the CLI prints with --lang, in both languages."""

from __future__ import annotations

import pytest

from simopt.optimize import optimize
from simopt.reporting.data import ReportData, from_optimize
from simopt.reporting.i18n import LANGS, messages
from simopt.reporting.text import answer_text
from simopt.scenario import load_scenario

LONG_AN = "scenarios/long_an.yaml"


@pytest.fixture(scope="module")
def runs() -> dict[str, ReportData]:
    s = load_scenario(LONG_AN)
    return {
        "optimal": from_optimize(optimize(s), s),
        "best_effort": from_optimize(optimize(s, ceiling_vnd=4e10), s),
    }


@pytest.mark.parametrize("lang", LANGS)
def test_an_optimal_answer_names_its_cost_in_ty_and_every_target(
    runs: dict[str, ReportData], lang: str
) -> None:
    data, m = runs["optimal"], messages(lang)
    text = answer_text(data, lang)
    assert "{" not in text
    assert m("cli.status.optimize.optimal") in text
    assert m.ty(data.total_cost_vnd, 1) in text
    assert m.vnd(data.total_cost_vnd) not in text  # headlines are not given to the đồng
    for target in data.targets["target"]:
        assert f"{target} (" in text
    assert m("cli.target_short") not in text


@pytest.mark.parametrize("lang", LANGS)
def test_a_best_effort_answer_says_what_is_short_why_and_what_would_do(
    runs: dict[str, ReportData], lang: str
) -> None:
    data, m = runs["best_effort"], messages(lang)
    assert data.best_effort and data.smallest_ceiling_vnd is not None
    text = answer_text(data, lang)
    assert m("cli.status.optimize.infeasible") in text
    short = data.targets[~data.targets["met"]]["target"].tolist()
    assert short, "4e10 a year cannot meet every Long An target"
    for line in text.splitlines():
        marked = m("cli.target_short") in line
        assert marked == any(line.strip().startswith(f"{t} (") for t in short)
    assert m.ty(data.smallest_ceiling_vnd, 1) in text
    assert data.message in text
