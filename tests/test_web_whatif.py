"""The what-if panel: its logic without HTTP (the inputs, the overrides that keep each number's
uncertainty, the answer beside the scenario as saved, the cache), then its page and its htmx
fragment in Vietnamese and English."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from simopt.web import jobs
from simopt.web.accounts import get_or_create_province
from simopt.web.models import Scenario, ScenarioVersion, User
from simopt.web.whatif import REPS, ModelCache, WhatIfError, WhatIfModel, answer

if TYPE_CHECKING:
    from web_fixtures import WebClient

pytest_plugins = ["web_fixtures"]

LONG_AN = (Path(__file__).resolve().parents[1] / "scenarios" / "long_an.yaml").read_text(
    encoding="utf-8"
)


@pytest.fixture(scope="module")
def model() -> WhatIfModel:
    return WhatIfModel(LONG_AN, "long_an.yaml")


@pytest.fixture(autouse=True)
def _stop_threads(request: pytest.FixtureRequest) -> Iterator[None]:
    app = request.getfixturevalue("web_app") if "web_app" in request.fixturenames else None
    yield
    if app is not None:
        jobs.stop(app)


# ------------------------------------------------------------------------------- the logic
def test_the_fields_are_the_scenarios_courses_groups_and_ceiling(model: WhatIfModel) -> None:
    names = [f.name for f in model.fields]
    assert names == [
        "confidence",
        "pass-level3",
        "pass-level4",
        "tuition-level3",
        "tuition-level4",
        "attrition",
        "attrition-provincial_district_civil_servants",
        "attrition-public_employees",
        "attrition-commune_civil_servants",
        "ceiling",
    ]
    saved = model.saved_inputs()
    assert saved["pass-level4"] == 60 and saved["tuition-level3"] == 12
    assert saved["ceiling"] is None and saved["attrition"] == 1
    assert model.changes(saved) == [] and model.overrides(saved) == {}
    assert model.scenario_for(saved) is model.scenario


def test_inputs_are_checked_and_empty_ones_keep_the_saved_value(model: WhatIfModel) -> None:
    inputs = model.parse({"pass-level4": "55", "tuition-level3": "10,5", "ceiling": " "})
    assert inputs["pass-level4"] == 55 and inputs["tuition-level3"] == 10.5
    assert inputs["pass-level3"] == 75 and inputs["ceiling"] is None
    with pytest.raises(WhatIfError) as caught:
        model.parse({"pass-level4": "abc", "attrition": "9", "confidence": "99", "ceiling": "-1"})
    assert caught.value.errors == {
        "pass-level4": ("web.runs.whatif.error.number", {}),
        "attrition": ("web.runs.whatif.error.range", {"low": 0.25, "high": 4.0}),
        "confidence": ("web.runs.whatif.error.range", {"low": 50.0, "high": 95.0}),
        "ceiling": ("web.runs.whatif.error.range", {"low": 0.0, "high": 1e6}),
    }


def test_a_moved_number_keeps_its_uncertainty(model: WhatIfModel) -> None:
    inputs = model.parse(
        {"pass-level4": "55", "tuition-level4": "18", "attrition": "1.5", "ceiling": "90"}
    )
    row = model.overrides(inputs)
    # the pass rate's range moves with it: [0.45, 0.80] by -0.05
    assert row["courses.level4.exam_pass_probability.value"] == pytest.approx(0.55)
    assert row["courses.level4.exam_pass_probability.range"] == pytest.approx([0.40, 0.75])
    # level-4 tuition has no range: it is set as typed
    assert row["courses.level4.tuition_vnd_per_trainee.value"] == pytest.approx(18e6)
    assert "courses.level4.tuition_vnd_per_trainee.range" not in row
    # attrition: every pool's rate and its range, times 1.5
    pool = "groups.public_employees.pools.pe_staff.attrition_rate_per_year"
    assert row[f"{pool}.value"] == pytest.approx(0.0525)
    assert row[f"{pool}.range"] == pytest.approx([0.03, 0.09])
    assert row["ceiling_vnd_per_year"] == pytest.approx(90e9)
    scenario = model.scenario_for(inputs)
    assert scenario.courses["level4"].exam_pass_probability == pytest.approx(0.55)
    assert scenario.budget.ceiling_vnd_per_year == pytest.approx(90e9)
    names = {u.name for u in model.model.uncertainties}
    from simopt.experiments.factors import scenario_uncertainties

    still = {u.name: u for u in scenario_uncertainties(scenario)}
    assert set(still) == names  # nothing lost its range
    u = still["courses.level4.exam_pass_probability"]
    assert (u.low, u.high) == pytest.approx((0.40, 0.75))
    # a range never leaves what the number may be: a pass rate of 95% keeps it within [0, 1]
    high = model.overrides(model.parse({"pass-level4": "95"}))
    assert high["courses.level4.exam_pass_probability.range"] == pytest.approx([0.80, 1.0])
    # the saved model is untouched
    assert model.scenario.courses["level4"].exam_pass_probability == pytest.approx(0.60)


def test_the_answer_beside_the_scenario_as_saved(model: WhatIfModel) -> None:
    saved, same = answer(model, model.saved_inputs())
    assert saved is same and saved.status == "met" and saved.reps == REPS
    assert saved.changes == [] and saved.schedule is not None
    assert saved.min_cost_vnd is not None and saved.robust_cost_vnd is not None
    assert saved.robust_cost_vnd > saved.min_cost_vnd
    for t in saved.targets:
        assert t.robust is not None and t.robust.low <= t.robust.p <= t.robust.high
        assert t.saved_plan == t.robust  # the saved plan, in the saved world
        assert t.min_cost_plan is not None
    assert min(t.min_cost_plan.p for t in saved.targets if t.min_cost_plan) < 0.6  # a coin toss
    worse, base = answer(model, model.parse({"pass-level4": "50"}))
    assert base is saved
    assert [c.field.name for c in worse.changes] == ["pass-level4"]
    assert worse.changes[0].saved == 60 and worse.changes[0].value == 50
    # a lower pass rate: dearer to plan for, and the plan in hand holds less often
    assert worse.min_cost_vnd is not None and worse.min_cost_vnd > saved.min_cost_vnd
    held = [t.saved_plan.p for t in worse.targets if t.saved_plan is not None]
    before = [t.saved_plan.p for t in saved.targets if t.saved_plan is not None]
    assert sum(held) < sum(before)
    # a ceiling far too low: no plan, and the library says why
    poor, _ = answer(model, model.parse({"ceiling": "20"}))
    assert poor.status == "infeasible" and poor.robust_cost_vnd is None
    assert "ceiling" in poor.message
    assert all(t.robust is None for t in poor.targets)
    # the same question twice gives the same answer (one seed)
    again, _ = answer(model, model.parse({"pass-level4": "50"}))
    assert again.robust_cost_vnd == worse.robust_cost_vnd
    # the confidence alone changes nothing in the scenario: the baseline at that confidence
    looser, base75 = answer(model, model.parse({"confidence": "75"}))
    assert looser is base75 and looser.confidence == 0.75
    assert looser.robust_cost_vnd is not None and saved.robust_cost_vnd is not None
    assert looser.robust_cost_vnd < saved.robust_cost_vnd


def test_models_are_cached_per_version_and_text() -> None:
    cache = ModelCache(size=2)
    a = cache.get(1, "a", LONG_AN, "x")
    assert cache.get(1, "a", LONG_AN, "x") is a
    b = cache.get(2, "b", LONG_AN, "x")
    assert b is not a
    cache.get(3, "c", LONG_AN, "x")
    assert cache.get(1, "a", LONG_AN, "x") is not a  # the least recently used went


# ---------------------------------------------------------------------------------- the page
def _version(app: FastAPI, author: str, text: str = LONG_AN) -> int:
    with app.state.web.sessions() as db:
        p = get_or_create_province(db, "Long An")
        s = Scenario(province_id=p.id, name="long_an")
        db.add(s)
        db.flush()
        user = db.scalar(select(User).where(User.username == author))
        assert user is not None
        v = ScenarioVersion(
            scenario_id=s.id,
            number=1,
            yaml_text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            author_id=user.id,
        )
        db.add(v)
        db.commit()
        return v.id


def test_the_panel_and_its_fragment_in_vietnamese(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    viewer = logged_in("viewer", provinces=["Long An"])
    version = _version(web_app, "viewer1")
    page = viewer.get(f"/versions/{version}/whatif")
    assert page.status_code == 200
    text = page.text
    assert "Thử nhanh (what-if)" in text and "200 lần lặp" in text
    assert 'hx-post="/versions/1/whatif"' in text
    assert 'name="pass-level4"' in text and 'value="60"' in text
    assert "Tỷ lệ đỗ sau khóa Language course from level 3 to level 4 (B2) (bậc 4)" in text
    assert "Theo kịch bản đã lưu: 60%" in text
    assert "Không đổi gì: đây là kịch bản đã lưu." in text  # the answer as saved, at once
    assert re.search(r'id="whatif-min-cost">.*?[0-9]+,[0-9]{2} tỷ đồng', text, flags=re.S)
    assert "http" not in text.replace("http://testserver/", "")

    token = viewer.csrf_token()
    hx = {"HX-Request": "true", "X-CSRF-Token": token}
    fragment = viewer.post(
        f"/versions/{version}/whatif",
        data={"pass-level4": "55", "attrition": "1,2", "ceiling": ""},
        headers=hx,
    )
    assert fragment.status_code == 200
    body = fragment.text
    assert "<html" not in body and 'id="whatif-result"' in body
    assert "60% → <strong>55%</strong>" in body
    assert "×1,00 → <strong>×1,20</strong>" in body
    assert "Chi phí đạt từng chỉ tiêu với xác suất 90%" in body
    assert re.search(r"\+[0-9]+,[0-9]{2} tỷ đồng", body), "the difference, signed"
    rows = re.findall(r'<tr id="whatif-target-([a-z0-9_]+)">', body)
    assert len(rows) == 10
    probabilities = re.findall(r"([0-9]+,[0-9])% <span class=\"muted\">\[[0-9,]+–[0-9,]+%\]", body)
    assert len(probabilities) >= 20  # each target, twice, with its interval
    assert "Tính trong" in body and "200 lần lặp" in body

    bad = viewer.post(
        f"/versions/{version}/whatif", data={"pass-level4": "abc", "attrition": "9"}, headers=hx
    )
    assert bad.status_code == 200 and 'id="whatif-errors"' in bad.text
    assert "hãy nhập một số" in bad.text and "phải nằm trong khoảng 0,25 đến 4" in bad.text
    # without htmx: the whole page, its fields as sent, errors beside them
    plain = viewer.post_form(f"/versions/{version}/whatif", {"pass-level4": "abc"})
    assert plain.status_code == 400 and "<html" in plain.text
    assert '<span class="field-error" id="pass-level4-error">' in plain.text
    assert 'value="abc"' in plain.text
    # without the token: refused
    refused = viewer.post(f"/versions/{version}/whatif", data={}, headers={"HX-Request": "true"})
    assert refused.status_code == 403


def test_the_fragment_in_english_and_a_version_that_cannot_be_read(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    viewer = logged_in("viewer", provinces=["Long An"], language="en")
    version = _version(web_app, "viewer1")
    token = viewer.csrf_token()
    answer_ = viewer.post(
        f"/versions/{version}/whatif",
        data={"ceiling": "20"},
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert answer_.status_code == 200
    assert "Not reachable: the limits do not allow the targets" in answer_.text
    assert "none → <strong>20.00 bn VND</strong>" in answer_.text
    with web_app.state.web.sessions() as db:
        broken = ScenarioVersion(
            scenario_id=1,
            number=2,
            yaml_text="name: broken\nhorizon: 3\n",
            sha256="0" * 64,
            author_id=viewer.user.id,  # type: ignore[union-attr]
        )
        db.add(broken)
        db.commit()
        broken_id = broken.id
    page = viewer.get(f"/versions/{broken_id}/whatif")
    assert page.status_code == 200
    assert "This scenario version cannot be computed:" in page.text
    assert 'id="whatif-form"' not in page.text
