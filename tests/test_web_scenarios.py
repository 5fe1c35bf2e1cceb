"""Scenarios in forms and the merge of two provinces, through the HTTP interface: every route for
every role, uploads (good and malformed), edits that keep each number's source and range, errors
beside their fields, versions downloaded and compared, and Long An merged with the old Tây Ninh."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy import func, select

from simopt.scenario import parse_scenario
from simopt.web import routes_merge, routes_scenarios
from simopt.web.models import Province, Scenario, ScenarioVersion
from simopt.web.scenario_forms import SECTIONS, diff, load_data

if TYPE_CHECKING:
    from web_fixtures import WebClient

pytest_plugins = ["web_fixtures"]

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
LONG_AN_TEXT = (SCENARIOS / "long_an.yaml").read_text(encoding="utf-8")
PASS4 = "courses.level4.exam_pass_probability"


# ----------------------------------------------------------------------------------- helpers
class _FormReader(HTMLParser):
    """The fields of one form of a page, as a browser would send them."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, list[str]] = {}
        self.select: str | None = None
        self.select_value: str | None = None
        self.first_option: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            if kind not in ("submit", "button", "file"):
                self.fields.setdefault(a["name"], []).append(a.get("value", ""))
        elif tag == "select":
            self.select, self.select_value, self.first_option = a.get("name"), None, None
        elif tag == "option" and self.select is not None:
            if self.first_option is None:
                self.first_option = a.get("value", "")
            if "selected" in a:
                self.select_value = a.get("value", "")
        elif tag == "textarea":
            self.textarea = a.get("name")
            self.fields.setdefault(self.textarea or "", []).append("")

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.fields[self.textarea][-1] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select" and self.select is not None:
            value = self.select_value if self.select_value is not None else self.first_option
            self.fields.setdefault(self.select, []).append(value or "")
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def form_fields(page: str, form_id: str = "scenario-form") -> dict[str, list[str]]:
    reader = _FormReader(form_id)
    reader.feed(page)
    assert reader.fields, f"no form {form_id!r} on the page"
    return reader.fields


def count(app: FastAPI, model: Any) -> int:
    with app.state.web.sessions() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def versions(app: FastAPI, scenario_id: int) -> list[ScenarioVersion]:
    with app.state.web.sessions() as db:
        return list(
            db.scalars(
                select(ScenarioVersion)
                .where(ScenarioVersion.scenario_id == scenario_id)
                .order_by(ScenarioVersion.number)
            )
        )


def new_scenario(
    c: WebClient, bundled: str = "long_an", province: str = "long_an", **extra: str
) -> int:
    """A scenario started from a bundled file by ``c``; its id."""
    answer = c.post_form(
        "/scenarios/new",
        {"bundled": bundled, "province": province, **extra},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text[:2000]
    found = re.fullmatch(r"/scenarios/([0-9]+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def upload(c: WebClient, content: bytes, filename: str = "long_an.yaml", **fields: str) -> Any:
    return c.post(
        "/scenarios/upload",
        data={"csrf_token": c.csrf_token(), "province": "long_an", **fields},
        files={"file": (filename, content, "application/yaml")},
        follow_redirects=False,
    )


def error_texts(page: str) -> list[str]:
    """The non-empty error messages of a page (beside fields, or as lines)."""
    found = re.findall(r'class="(?:field-error|error-line)"[^>]*>([^<]+)<', page)
    return [html.unescape(t.strip()) for t in found if t.strip()]


def field_error(page: str, key: str) -> str:
    found = re.search(rf'id="e-{re.escape(key)}"[^>]*>([^<]*)<', page)
    assert found, key
    return html.unescape(found.group(1).strip())


def edit(c: WebClient, scenario_id: int, section: str, changes: dict[str, str], **kw: Any) -> Any:
    """Send the section's form as the page shows it, with ``changes`` typed in."""
    page = c.get(f"/scenarios/{scenario_id}/edit/{section}")
    assert page.status_code == 200
    fields = form_fields(page.text)
    for name, value in changes.items():
        fields[name] = [value]
    return c.post(f"/scenarios/{scenario_id}/edit/{section}", data=fields, **kw)


# -------------------------------------------------------------------------- permission matrix
@pytest.fixture
def world(logged_in: Callable[..., WebClient]) -> dict[str, Any]:
    """Long An's scenario (id 1) and a second one in Long An (id 2, the old Tây Ninh's file), and
    a client for each role: admin, Long An's planner, Tây Ninh's planner, Long An's viewer."""
    clients = {
        "admin": logged_in("admin"),
        "planner": logged_in("planner", provinces=["Long An"]),
        "other_planner": logged_in("planner", provinces=["Tây Ninh"]),
        "viewer": logged_in("viewer", provinces=["Long An"]),
    }
    first = new_scenario(clients["admin"])
    second = new_scenario(clients["admin"], "tay_ninh")
    assert (first, second) == (1, 2)
    return {"clients": clients, "ids": (first, second)}


def _requests(role: str) -> list[tuple[str, str, str, dict[str, Any], int | None]]:
    """(route name, method, url, form, expected status) for one role; None: the form's own
    answer (a redirect after a change)."""
    admin, planner = role == "admin", role == "planner"
    sees = admin or planner or role == "viewer"
    edits = admin or planner
    see, edit_ = (200 if sees else 403), (303 if edits else 403)
    merge_page = 200 if role != "viewer" else 403
    merge_run = 200 if edits else 403
    return [
        ("scenarios", "GET", "/scenarios", {}, 200),
        ("province_scenarios", "GET", "/p/long_an/scenarios", {}, see),
        (
            "scenario_new",
            "POST",
            "/scenarios/new",
            {"bundled": "long_an", "province": "long_an", "name": f"by {role}"},
            edit_,
        ),
        ("scenario_upload", "POST", "/scenarios/upload", {"name": f"up {role}"}, edit_),
        ("scenario", "GET", "/scenarios/1", {}, see),
        ("scenario_edit", "GET", "/scenarios/1/edit/courses", {}, see),
        ("scenario_save", "POST", "/scenarios/1/edit/courses", {"base": "1"}, edit_),
        (
            "scenario_check",
            "POST",
            "/scenarios/1/edit/courses/check",
            {"base": "1"},
            200 if edits else 403,
        ),
        ("scenario_version_yaml", "GET", "/scenarios/1/versions/1/yaml", {}, see),
        ("scenario_compare", "GET", "/scenarios/1/compare?a=1&b=1", {}, see),
        ("merge", "GET", "/merge?a=1&b=2", {}, merge_page if role != "other_planner" else 403),
        (
            "merge_run",
            "POST",
            "/merge",
            {"a": "1", "b": "2", "name": "merged", "action": "preview"},
            merge_run,
        ),
    ]


@pytest.mark.parametrize("role", ["admin", "planner", "other_planner", "viewer"])
def test_every_route_for_every_role(role: str, world: dict[str, Any]) -> None:
    c = world["clients"][role]
    requests = _requests(role)
    ours = {r.name for g in (routes_scenarios.router, routes_merge.router) for r in g.routes}
    assert {name for name, *_ in requests} == ours, "a route without a row in the matrix"
    for name, method, url, form, expected in requests:
        if name == "scenario_upload":
            answer = upload(c, LONG_AN_TEXT.encode(), **form)
        elif method == "POST":
            answer = c.post_form(url, form, follow_redirects=False)
        else:
            answer = c.get(url, follow_redirects=False)
        assert answer.status_code == expected, (role, name, answer.text[:800])
        assert "Traceback" not in answer.text
        if expected == 403:
            assert "không" in answer.text.lower() or "Không" in answer.text, (role, name)


def test_a_viewer_reads_the_forms_but_cannot_send_them(world: dict[str, Any]) -> None:
    viewer, planner = world["clients"]["viewer"], world["clients"]["planner"]
    page = viewer.get("/scenarios/1/edit/courses").text
    assert "Bạn chỉ được xem" in page
    assert (
        'id="scenario-form"' in page and '<form method="post" action="/scenarios/1/edit' not in page
    )
    assert 'value="0.6"' in page and " disabled" in page
    assert "Lưu thành phiên bản mới" not in page
    listing = viewer.get("/scenarios").text
    assert "/scenarios/upload" not in listing and "Long An" in listing
    # the planner sees the forms; the other province's planner not even the list entry
    assert "Lưu thành phiên bản mới" in planner.get("/scenarios/1/edit/courses").text
    other = world["clients"]["other_planner"].get("/scenarios").text
    assert 'href="/scenarios/1"' not in other and "Tây Ninh" in other


def test_anonymous_visitors_are_sent_to_the_login_page(client: WebClient) -> None:
    for url in ("/scenarios", "/scenarios/1", "/scenarios/1/edit/groups", "/merge"):
        answer = client.get(url, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


# ------------------------------------------------------------------------------------ uploads
def test_uploading_long_an_stores_it_as_version_1(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    answer = upload(planner, LONG_AN_TEXT.encode("utf-8"))
    assert answer.status_code == 303
    page = planner.get(answer.headers["location"])
    assert "Đã thêm kịch bản long_an (phiên bản 1)." in page.text
    assert "7 nhóm con (32.458 người thuộc diện)" in page.text
    with web_app.state.web.sessions() as db:
        scenario = db.scalars(select(Scenario)).one()
        assert (scenario.name, scenario.province.name) == ("long_an", "Long An")
        (version,) = scenario.versions
        assert version.number == 1 and version.yaml_text == LONG_AN_TEXT
        assert version.author.username == planner.user.username  # type: ignore[union-attr]
        assert version.sha256 == hashlib.sha256(LONG_AN_TEXT.encode()).hexdigest()
    # the same name again in the same province is refused beside the name field
    again = upload(planner, LONG_AN_TEXT.encode("utf-8"))
    assert again.status_code == 400
    assert error_texts(again.text) == ["Tỉnh này đã có kịch bản tên long_an."]
    assert count(web_app, Scenario) == 1


def _broken_rule() -> bytes:
    text = LONG_AN_TEXT.replace(
        "exam_pass_probability: {value: 0.60, range: [0.45, 0.80]",
        "exam_pass_probability: {value: 1.5, range: [0.45, 0.80]",
    )
    assert text != LONG_AN_TEXT
    return text.encode()


MALFORMED = {
    "bad YAML": (b"name: long_an\ngroups: [unclosed\n", "YAML syntax error"),
    "a rule broken": (
        _broken_rule(),
        "courses.level4.exam_pass_probability = 1.5: must be a probability between 0 and 1",
    ),
    "not UTF-8": (LONG_AN_TEXT.encode("utf-16"), "not UTF-8 text"),
    "not a mapping": (b"- just\n- a list\n", "a scenario must be a YAML mapping"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_a_malformed_upload_is_one_clear_error_and_nothing_stored(
    case: str, web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    content, words = MALFORMED[case]
    admin = logged_in("admin")
    provinces = count(web_app, Province)
    answer = upload(admin, content, "bad.yaml", new_province="Bình Phước")
    assert answer.status_code == 400
    errors = error_texts(answer.text)
    assert len(errors) == 1, errors
    (line,) = errors
    assert line.startswith("Kịch bản không hợp lệ: bad.yaml")
    assert words in line and "\n" not in line
    assert count(web_app, Scenario) == 0 and count(web_app, ScenarioVersion) == 0
    assert count(web_app, Province) == provinces  # not even the new province


def test_an_upload_over_the_limit_is_refused_before_it_is_read(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    limit = web_app.state.web.settings.upload_limit_bytes
    padded = LONG_AN_TEXT.encode() + b"#" * (limit + 1 - len(LONG_AN_TEXT.encode())) + b"\n"
    answer = upload(planner, padded)
    assert answer.status_code == 413
    assert "Dữ liệu gửi lên quá lớn (tối đa 2 MiB)." in answer.text
    assert count(web_app, Scenario) == 0 and count(web_app, ScenarioVersion) == 0
    # and an empty file, or none, is one line too
    empty = upload(planner, b"  \n")
    assert empty.status_code == 400 and error_texts(empty.text) == [
        "Tệp rỗng; không có gì được lưu."
    ]


def test_only_an_administrator_names_a_new_province(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    refused = upload(planner, LONG_AN_TEXT.encode(), new_province="Bình Phước")
    assert refused.status_code == 400
    assert error_texts(refused.text) == ["Chỉ quản trị viên được tạo tỉnh mới."]
    admin = logged_in("admin")
    done = upload(admin, LONG_AN_TEXT.encode(), province="", new_province="Bình Phước")
    assert done.status_code == 303
    with web_app.state.web.sessions() as db:
        scenario = db.scalars(select(Scenario)).one()
        assert scenario.province.slug == "binh_phuoc"
    # a bundled id is never a path
    tricky = admin.post_form("/scenarios/new", {"bundled": "../pyproject", "province": "long_an"})
    assert tricky.status_code == 400 and "Hãy chọn một kịch bản có sẵn." in tricky.text


# -------------------------------------------------------------------------------------- edits
def test_every_section_sent_back_unchanged_changes_nothing(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    for section in SECTIONS:
        answer = edit(planner, scenario_id, section, {})
        assert answer.status_code == 200, (section, error_texts(answer.text))
        assert "Không có thay đổi nào; không tạo phiên bản mới." in answer.text, section
    assert [v.number for v in versions(web_app, scenario_id)] == [1]


def test_editing_the_level_4_pass_probability_makes_version_2_keeping_source_and_range(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    page = planner.get(f"/scenarios/{scenario_id}/edit/courses").text
    # value, source and range side by side, the value also in the reader's format
    row = page.split(f'id="row-{PASS4}"', 1)[1].split("</tr>", 1)[0]
    assert 'value="0.6"' in row and "60,0%" in row
    assert 'value="assumption (DOMAIN: VSTEP pass rates not published); range 0.45–0.8"' in row
    assert 'value="0.45"' in row and 'value="0.8"' in row
    answer = edit(
        planner, scenario_id, "courses", {PASS4: "0,65", "note": "khảo sát 2026"}
    )  # a Vietnamese decimal comma
    assert answer.status_code == 200 and "Đã lưu phiên bản 2." in answer.text
    v1, v2 = versions(web_app, scenario_id)
    assert (v2.number, v2.note, v2.author_id) == (2, "khảo sát 2026", planner.user.id)  # type: ignore[union-attr]
    data = yaml.safe_load(v2.yaml_text)
    assert data["courses"]["level4"]["exam_pass_probability"] == {
        "value": 0.65,
        "range": [0.45, 0.8],
        "distribution": "triangular",
        "source": "assumption (DOMAIN: VSTEP pass rates not published); range 0.45–0.8",
    }
    changes = diff(load_data(v1.yaml_text), load_data(v2.yaml_text))
    assert [(c.path, c.old, c.new) for c in changes] == [(PASS4, 0.60, 0.65)]
    assert parse_scenario(v2.yaml_text).courses["level4"].exam_pass_probability == 0.65
    assert "\\u" not in v2.yaml_text and "Tết" in v2.yaml_text  # allow_unicode
    assert v2.sha256 == hashlib.sha256(v2.yaml_text.encode()).hexdigest()


def test_an_invalid_edit_is_shown_beside_its_field_and_saves_nothing(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    answer = edit(planner, scenario_id, "courses", {PASS4: "1.5"})
    assert answer.status_code == 400
    assert field_error(answer.text, PASS4) == "Phải là một xác suất từ 0 đến 1."
    assert error_texts(answer.text) == ["Phải là một xác suất từ 0 đến 1."]
    assert re.search(
        rf'id="f-{PASS4}" name="{PASS4}" value="1.5"[^>]*aria-invalid="true"', answer.text
    )
    # a value outside its range, a range with one end, text for a number: each beside its field
    cases = {
        PASS4: ("0.9", "range", "Khoảng phải chứa giá trị 0.9 (thấp ≤ giá trị ≤ cao)."),
        f"{PASS4}@high": ("", "range", "Hãy nhập cả hai đầu của khoảng, hoặc để trống cả hai."),
        "courses.level3.tuition_vnd_per_trainee": (
            "12.000.000",
            "value",
            "“12.000.000” không phải là một số: hãy viết chữ số với nhiều nhất một dấu thập "
            "phân, ví dụ 16000000 hoặc 0,6.",
        ),
    }
    for name, (typed, _part, words) in cases.items():
        bad = edit(planner, scenario_id, "courses", {name: typed})
        assert bad.status_code == 400
        assert field_error(bad.text, name.split("@")[0]) == words, name
    # a rule across fields: the error goes to the field its path names
    counts = edit(
        planner, scenario_id, "groups", {"groups.public_employees.pools.pe_staff.excluded": "30000"}
    )
    assert field_error(counts.text, "groups.public_employees.pools.pe_staff.excluded") == (
        "Không được vượt quá số người (25423)."
    )
    assert [v.number for v in versions(web_app, scenario_id)] == [1]


def test_errors_speak_english_to_an_english_reader(logged_in: Callable[..., WebClient]) -> None:
    planner = logged_in("planner", provinces=["Long An"], language="en")
    scenario_id = new_scenario(planner)
    page = planner.get(f"/scenarios/{scenario_id}/edit/courses").text
    assert "Exam pass probability" in page and "60.0%" in page
    answer = edit(planner, scenario_id, "courses", {PASS4: "1.5"})
    assert field_error(answer.text, PASS4) == "Must be a probability from 0 to 1."


def test_htmx_checks_a_change_without_saving(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    page = planner.get(f"/scenarios/{scenario_id}/edit/courses").text
    assert f'hx-post="/scenarios/{scenario_id}/edit/courses/check" hx-trigger="change"' in page
    fields = form_fields(page)
    fields[PASS4] = ["1.5"]
    token = planner.csrf_token()
    fragment = planner.post(
        f"/scenarios/{scenario_id}/edit/courses/check",
        data=fields,
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert re.search(
        rf'id="e-{PASS4}" role="alert" hx-swap-oob="true">Phải là một xác suất từ 0 đến 1.<',
        fragment.text,
    )
    fields[PASS4] = ["0.7"]
    good = planner.post(
        f"/scenarios/{scenario_id}/edit/courses/check",
        data=fields,
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert "Hợp lệ; bấm Lưu để tạo phiên bản mới." in good.text
    # the plain button does the same as a whole page
    plain = planner.post(f"/scenarios/{scenario_id}/edit/courses/check", data=fields)
    assert plain.status_code == 200 and "Kịch bản hợp lệ với các thay đổi này" in plain.text
    assert [v.number for v in versions(web_app, scenario_id)] == [1]


def test_budget_ceilings_and_a_new_envelope_are_edited_in_forms(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    missing_id = edit(planner, scenario_id, "budget", {"new_envelope.ceiling_vnd": "3e11"})
    assert (
        field_error(missing_id.text, "new_envelope.id") == "Hãy đặt mã cho hạn mức giai đoạn mới."
    )
    answer = edit(
        planner,
        scenario_id,
        "budget",
        {
            "budget.ceiling_vnd_per_year": "65000000000",
            "budget.ceiling_vnd_per_year@source": "Sở Tài chính, 2026",
            "budget.ceiling_vnd_by_year.2025": "7e10",
            "budget.source_ceilings_vnd_per_year.unit_funds": "40000000000",
            "new_envelope.id": "p1",
            "new_envelope.label": "Giai đoạn 2021–2025",
            "new_envelope.first_year": "2021",
            "new_envelope.last_year": "2025",
            "new_envelope.ceiling_vnd": "3e11",
        },
    )
    assert "Đã lưu phiên bản 2." in answer.text, error_texts(answer.text)
    budget = yaml.safe_load(versions(web_app, scenario_id)[-1].yaml_text)["budget"]
    assert budget["ceiling_vnd_per_year"] == {"value": 65000000000, "source": "Sở Tài chính, 2026"}
    assert budget["ceiling_vnd_by_year"] == {2025: 7e10}
    assert budget["source_ceilings_vnd_per_year"] == {"unit_funds": 40000000000}
    assert budget["envelopes"] == {
        "p1": {
            "label": "Giai đoạn 2021–2025",
            "first_year": 2021,
            "last_year": 2025,
            "ceiling_vnd": 3e11,
        }
    }
    page = planner.get(f"/scenarios/{scenario_id}/edit/budget").text
    assert (
        "65.000.000.000 đ (65,00 tỷ đồng)" in page
        and "Hạn mức giai đoạn Giai đoạn 2021–2025 (p1)" in page
    )
    # emptying an optional field removes it (no ceiling), and the envelope's year is checked
    again = edit(
        planner,
        scenario_id,
        "budget",
        {"budget.ceiling_vnd_per_year": "", "budget.envelopes.p1.last_year": "2040"},
    )
    assert field_error(again.text, "budget.envelopes.p1.last_year").startswith("Không hợp lệ: ")
    cleared = edit(planner, scenario_id, "budget", {"budget.ceiling_vnd_per_year": ""})
    assert "Đã lưu phiên bản 3." in cleared.text
    budget = yaml.safe_load(versions(web_app, scenario_id)[-1].yaml_text)["budget"]
    assert "ceiling_vnd_per_year" not in budget and "p1" in budget["envelopes"]


def test_targets_groups_and_funding_are_edited_in_forms(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    shares = edit(
        planner,
        scenario_id,
        "funding",
        {"groups.public_employees.funding.unit_funds": "0.9"},
    )
    assert field_error(shares.text, "groups.public_employees.funding.unit_funds") == (
        "Các tỷ lệ phải có tổng bằng 1 (hiện tổng là 1.05)."
    )
    done = edit(
        planner,
        scenario_id,
        "targets",
        {
            "targets.pe_leaders_2030.share": "0.65",
            "targets.pe_leaders_2030.where": "leader=true",
            "targets.commune_2030.min_count": "",
        },
    )
    assert "Đã lưu phiên bản 2." in done.text, error_texts(done.text)
    none = edit(planner, scenario_id, "targets", {"targets.pe_leaders_2030.share": ""})
    assert field_error(none.text, "targets.pe_leaders_2030.share") == (
        "Mục tiêu cần một tỷ lệ, một số người tối thiểu, hoặc cả hai."
    )
    pools = edit(
        planner,
        scenario_id,
        "groups",
        {
            "groups.public_employees.pools.pe_staff.level_shares@L0": "0.40",
            "groups.public_employees.pools.pe_staff.level_shares@L3": "0.35",
            "groups.public_employees.pools.pe_staff.hires_per_year@low": "400",
        },
    )
    assert "Đã lưu phiên bản 3." in pools.text, error_texts(pools.text)
    v2, v3 = versions(web_app, scenario_id)[1:]
    changes = {
        c.path: (c.old, c.new) for c in diff(load_data(v2.yaml_text), load_data(v3.yaml_text))
    }
    assert changes == {
        "groups.public_employees.pools.pe_staff.level_shares.0": (0.45, 0.40),
        "groups.public_employees.pools.pe_staff.level_shares.3": (0.30, 0.35),
        "groups.public_employees.pools.pe_staff.hires_per_year.range": ([490, 910], [400, 910]),
    }


def test_a_form_from_an_older_version_is_refused(logged_in: Callable[..., WebClient]) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    stale = form_fields(planner.get(f"/scenarios/{scenario_id}/edit/courses").text)
    assert "Đã lưu phiên bản 2." in edit(planner, scenario_id, "courses", {PASS4: "0.62"}).text
    stale[PASS4] = ["0.7"]
    answer = planner.post(f"/scenarios/{scenario_id}/edit/courses", data=stale)
    assert answer.status_code == 409
    assert "Biểu mẫu dựa trên phiên bản 1 nhưng đã có phiên bản 2." in answer.text


# ----------------------------------------------------------------------- versions and compare
def test_a_downloaded_version_loads_and_equals_the_stored_one(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    edit(planner, scenario_id, "courses", {PASS4: "0.65"})
    for version in versions(web_app, scenario_id):
        answer = planner.get(f"/scenarios/{scenario_id}/versions/{version.number}/yaml")
        assert answer.status_code == 200
        assert answer.headers["content-disposition"] == (
            f'attachment; filename="long_an-v{version.number}.yaml"'
        )
        assert answer.headers["content-type"].startswith("application/yaml")
        assert answer.content.decode("utf-8") == version.yaml_text
        assert load_data(answer.text) == load_data(version.yaml_text)
        parse_scenario(answer.text)
    assert planner.get(f"/scenarios/{scenario_id}/versions/9/yaml").status_code == 404


def test_compare_shows_the_changed_path(logged_in: Callable[..., WebClient]) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    scenario_id = new_scenario(planner)
    edit(
        planner,
        scenario_id,
        "courses",
        {PASS4: "0.65", f"{PASS4}@source": "Khảo sát năm 2026 của Sở Nội vụ"},
    )
    detail = planner.get(f"/scenarios/{scenario_id}").text
    assert f'action="/scenarios/{scenario_id}/compare"' in detail
    page = planner.get(f"/scenarios/{scenario_id}/compare?a=1&b=2").text
    assert "So sánh phiên bản 1 và 2" in page and "1 thay đổi." in page
    row = page.split(f"<code>{PASS4}</code>", 1)[1].split("</tr>", 1)[0]
    assert ">0,6<" in row and ">0,65<" in row
    assert "assumption (DOMAIN: VSTEP pass rates not published)" in row
    assert "Khảo sát năm 2026 của Sở Nội vụ" in row
    assert "courses.level3.exam_pass_probability" not in page
    same = planner.get(f"/scenarios/{scenario_id}/compare?a=2&b=2").text
    assert "Hai phiên bản giống nhau" in same


# -------------------------------------------------------------------------------------- merge
def test_long_an_merged_with_the_old_tay_ninh_is_a_new_valid_scenario(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    admin = logged_in("admin")
    long_an = new_scenario(admin, province="", new_province="Long An")
    tay_ninh = new_scenario(admin, "tay_ninh", province="", new_province="Tây Ninh")
    a, b = (versions(web_app, i)[0].id for i in (long_an, tay_ninh))
    page = admin.get(f"/merge?a={a}&b={b}").text
    assert 'name="map.provincial_district_civil_servants"' in page
    assert "Long An / long_an — phiên bản 1 (mới nhất)" in page
    form = form_fields(page, "merge-form")
    form.update(
        {
            "name": ["tay_ninh_2025"],
            "map_new.provincial_district_civil_servants": ["provincial_civil_servants"],
            "province": ["tay_ninh"],
            "action": ["preview"],
        }
    )
    preview = admin.post("/merge", data=form)
    assert preview.status_code == 200
    assert "Báo cáo xung đột và cách giải quyết" in preview.text
    assert "targets.pd_2025.min_count: long_an 55, tay_ninh 38 → 93 (summed)" in preview.text
    assert count(web_app, Scenario) == 2  # a preview stores nothing
    form["action"] = ["save"]
    saved = admin.post("/merge", data=form)
    assert saved.status_code == 200, error_texts(saved.text)
    assert "Đã lưu kịch bản tay_ninh_2025 vào tỉnh Tây Ninh (phiên bản 1)." in saved.text
    with web_app.state.web.sessions() as db:
        merged = db.scalars(select(Scenario).where(Scenario.name == "tay_ninh_2025")).one()
        assert merged.province.name == "Tây Ninh"
        text = merged.versions[0].yaml_text
        assert merged.versions[0].note == "Sáp nhập từ long_an v1 và tay_ninh v1"
    scenario = parse_scenario(text)
    assert len(scenario.pools()) == 14 and "provincial_civil_servants" in scenario.groups
    assert scenario.targets["pd_2025"].min_count == 93
    assert text.startswith("# Built by `simopt merge`")
    reference = load_data((SCENARIOS / "tay_ninh_2025.yaml").read_text(encoding="utf-8"))
    mine = load_data(text)
    for key in ("horizon", "courses", "exams", "budget", "targets", "funding_sources"):
        assert mine.get(key) == reference.get(key), key
    # saving it twice under one name is refused beside the name
    twice = admin.post("/merge", data=form)
    assert twice.status_code == 400 and "Tỉnh này đã có kịch bản tên tay_ninh_2025." in twice.text


def test_a_merge_that_cannot_be_done_says_why_in_one_line(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    first = new_scenario(planner)
    (version,) = versions(web_app, first)
    same = planner.post_form(
        "/merge", {"a": str(version.id), "b": str(version.id), "name": "x", "action": "save"}
    )
    assert same.status_code == 400
    assert error_texts(same.text) == [
        "Không sáp nhập được: two inputs are both named 'long_an': each province needs its own name"
    ]
    bad_name = planner.post_form("/merge", {"a": str(version.id), "b": "", "name": "x"})
    assert bad_name.status_code == 400 and "Hãy chọn hai phiên bản kịch bản." in bad_name.text
    assert count(web_app, Scenario) == 1
