"""The web app end to end, in a real headless Chromium, as a planner, a viewer and an
administrator use it: log in (in Vietnamese by default), switch the language, manage users;
upload Long An, change the level-4 pass rate in the form and save it as a new version, run a
plan and watch its progress bar, read the chart and the schedule, download the workbook; a
what-if; and be refused what is not theirs — every step screenshotted
(``results/e2e-screenshots/``) and checked for console errors and for anything outside the app's
origin (see ``web_browser``)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import openpyxl
import pytest
import yaml
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from simopt.reporting.i18n import messages

if TYPE_CHECKING:
    from web_browser import Browser, LiveServer

pytest_plugins = ["web_browser"]

ROOT = Path(__file__).resolve().parents[1]
LONG_AN = ROOT / "scenarios" / "long_an.yaml"
BODY_FONT = "DejaVu Sans"
PASS_RATE = "courses.level4.exam_pass_probability"
PLAN_TIMEOUT_S = 180
"""A plan of Long An at 200 replications takes a few seconds alone; the machine is shared."""
DOWNLOAD_TIMEOUT_S = 30
vi = messages("vi")


def _downloaded(browser: Browser, suffix: str, timeout: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """The file the browser has finished downloading (Chromium writes ``….crdownload`` first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [p for p in browser.downloads.iterdir() if p.name.endswith(suffix)]
        partial = [p for p in browser.downloads.iterdir() if p.name.endswith(".crdownload")]
        if done and not partial:
            return done[0]
        time.sleep(0.2)
    pytest.fail(f"no {suffix} downloaded in {timeout:.0f} s: {list(browser.downloads.iterdir())}")


def _fonts(browser: Browser, css: str) -> dict[str, int]:
    """The fonts Chromium drew an element's text with: family → glyphs."""
    send = browser.driver.execute_cdp_cmd
    send("DOM.enable", {})
    send("CSS.enable", {})
    root = send("DOM.getDocument", {"depth": 0})["root"]["nodeId"]
    node = send("DOM.querySelector", {"nodeId": root, "selector": css})["nodeId"]
    assert node, f"no element {css}"
    fonts: dict[str, int] = {}
    for font in send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]:
        fonts[font["familyName"]] = fonts.get(font["familyName"], 0) + int(font["glyphCount"])
    return fonts


def _assert_vietnamese_drawn(browser: Browser, css: str, words: str) -> None:
    """The element reads ``words`` (diacritics and all) and every glyph of it was drawn with the
    app's font — no fallback font, no missing-glyph box."""
    assert browser.text(css) == words
    fonts = _fonts(browser, css)
    assert set(fonts) == {BODY_FONT}, f"{css} drawn with {fonts}"


def _lang(browser: Browser) -> Any:
    return browser.find("html").get_attribute("lang")


# ---------------------------------------------------------------------------- log in and out
def test_log_in_in_vietnamese_switch_to_english_and_log_out(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.add_user("lan", "planner", provinces=["Long An"])
    browser.open("/")
    assert browser.path == "/login?next=%2F"
    assert _lang(browser) == "vi"
    _assert_vietnamese_drawn(browser, "h1", "Đăng nhập")
    assert browser.find("label[for=username]").text == "Tên đăng nhập"
    browser.step("login page in Vietnamese")

    browser.login("lan")
    assert browser.path == "/"
    _assert_vietnamese_drawn(browser, "h1", "Tỉnh và kịch bản của bạn")
    assert "Đã đăng nhập: lan (Người lập kế hoạch)" in browser.text("header")
    assert browser.find("#province-long_an h2").text == "Long An"
    browser.step("home after login")

    browser.switch_language("en")
    assert browser.path == "/" and _lang(browser) == "en"
    assert browser.text("h1") == "Your provinces and scenarios"
    assert "Signed in: lan (Planner)" in browser.text("header")
    browser.step("home in English")

    # the choice is the user's: it holds in a new session
    browser.logout()
    assert browser.path == "/login" and _lang(browser) == "en"
    assert "You have logged out." in browser.text()
    browser.step("logged out in English")
    browser.login("lan")
    assert _lang(browser) == "en"
    browser.switch_language("vi")
    assert _lang(browser) == "vi"
    _assert_vietnamese_drawn(browser, "h1", "Tỉnh và kịch bản của bạn")
    browser.step("back to Vietnamese")

    browser.logout()
    _assert_vietnamese_drawn(browser, "p.flash", "Bạn đã đăng xuất.")
    browser.step("logged out")
    browser.open("/")
    assert browser.path == "/login?next=%2F", "the session outlived the logout"


def test_a_wrong_password_is_refused_in_vietnamese(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.add_user("minh", "viewer", provinces=["Long An"])
    browser.login("minh", "not the password")
    assert browser.path == "/login"
    _assert_vietnamese_drawn(browser, "p.flash", "Tên đăng nhập hoặc mật khẩu không đúng.")
    assert browser.find("#username").get_attribute("value") == "minh"
    browser.step("wrong password", allow_status=[401])


# ------------------------------------------------------------------------------ administrator
def test_an_administrator_adds_a_viewer_who_then_logs_in(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.add_user("boss", "admin")
    browser.login("boss")
    browser.follow(browser.find("header nav a[href='/admin/users']"))
    assert browser.path == "/admin/users"
    _assert_vietnamese_drawn(browser, "h1", "Quản lý người dùng")
    browser.step("users page")

    browser.fill("#username", "thu")
    browser.fill("#password", "a long enough password")
    browser.fill("#password_again", "a long enough password")
    browser.find("#role option[value=viewer]").click()
    browser.fill("#new_provinces", "Hà Nội")
    browser.step("new viewer filled in")
    browser.submit(browser.find("form[action='/admin/users'] button[type=submit]"))
    assert browser.path == "/admin/users"
    assert "Đã thêm người dùng thu." in browser.text("p.flash")
    row = next(r for r in browser.find_all("table.users tbody tr") if r.text.startswith("thu"))
    assert "Hà Nội" in row.text and "Người xem" in row.text
    browser.step("viewer added")
    browser.logout()

    browser.login("thu", "a long enough password")
    assert browser.find("#province-ha_noi h2").text == "Hà Nội"
    assert "Long An" not in browser.text()
    browser.step("the new viewer's home")


# ------------------------------------------------------------------------------------ refusals
def test_a_viewer_is_refused_the_administrators_page_in_vietnamese(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.add_user("hoa", "viewer", provinces=["Cần Thơ"])
    browser.login("hoa")
    assert not browser.find_all("header nav a[href='/admin/users']"), "a link it may not follow"
    browser.open("/admin/users")
    assert browser.path == "/admin/users"
    _assert_vietnamese_drawn(browser, "h1", "Lỗi 403")
    assert browser.text("p.error-line") == "Vai trò của bạn không được phép vào trang này."
    assert browser.find("main a").get_attribute("href").endswith("/")
    browser.step("refused the users page", allow_status=[403])
    assert "Quản lý người dùng" not in browser.driver.page_source
    # the way back works
    browser.follow(browser.find("main a"))
    assert browser.path == "/" and browser.find("#province-can_tho h2").text == "Cần Thơ"
    browser.step("back home")


def test_an_unknown_page_is_a_vietnamese_404(live_server: LiveServer, browser: Browser) -> None:
    live_server.add_user("tam", "viewer", provinces=["Long An"])
    browser.login("tam")
    browser.open("/no/such/page")
    _assert_vietnamese_drawn(browser, "h1", "Lỗi 404")
    assert browser.text("p.error-line") == "Không tìm thấy trang."
    browser.step("unknown page", allow_status=[404])


def test_pages_look_right_at_a_narrow_width(live_server: LiveServer, browser: Browser) -> None:
    """The header wraps rather than overflowing on a small screen."""
    live_server.add_user("vy", "admin")
    browser.driver.set_window_size(480, 900)
    browser.login("vy")
    overflow = browser.driver.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page is {overflow} px wider than the window"
    assert browser.find_all("header nav a")
    browser.step("narrow home")


# ------------------------------------------------------------------------- the planner's day
def _version_id(live_server: LiveServer, scenario_id: int, number: int) -> int:
    from simopt.web.models import ScenarioVersion

    with live_server.app.state.web.sessions() as db:
        version = db.query(ScenarioVersion).filter_by(scenario_id=scenario_id, number=number).one()
        return int(version.id)


def _wait_for_plan(browser: Browser, timeout: float) -> None:
    """Wait for the run's answer (the page reloads itself when the run is done), taking one
    screenshot of the progress bar on the way."""
    deadline = time.monotonic() + timeout
    shot = False
    while time.monotonic() < deadline:
        try:
            if browser.find_all("#chart-attainment, #run-failure, #plan-outcome"):
                browser.wait_loaded()
                return
            bars = browser.find_all("#run-progress-bar")
            if bars and not shot and float(bars[0].get_attribute("value") or 0) > 0:
                browser.step("plan running, its progress bar")
                shot = True
        except StaleElementReferenceException:  # the page reloading under us
            pass
        time.sleep(0.5)
    browser.step("plan timed out", check=False)
    pytest.fail(f"the plan did not finish in {timeout:.0f} s: {browser.text()[:500]}")


def test_a_planner_uploads_long_an_changes_a_pass_rate_plans_and_downloads_the_workbook(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.add_user("hung", "planner", provinces=["Long An"])
    live_server.add_user("khoa", "viewer", provinces=["Tây Ninh"])
    browser.login("hung")

    # -- upload Long An
    browser.follow(browser.find("header nav a[href='/scenarios']"))
    assert browser.text("h1") == vi("web.scenarios.list.title")
    browser.find("#upload-file").send_keys(str(LONG_AN))
    Select(browser.find("#upload-province")).select_by_value("long_an")
    browser.step("upload form filled in")
    browser.submit(browser.find("form[action='/scenarios/upload'] button[type=submit]"))
    found = re.fullmatch(r"/scenarios/(\d+)", browser.path)
    assert found, f"{browser.path}: {browser.text()[:300]}"
    scenario_id = int(found.group(1))
    assert vi("web.scenarios.added", name="long_an") in browser.text("main")
    assert browser.text("h1") == vi("web.scenarios.detail.title", name="long_an")
    assert len(browser.find_all("main table tbody tr")) == 1
    browser.step("Long An uploaded, version 1")

    # -- the level-4 pass rate, in the courses form: 0,6 → 0,55 (typed with a decimal comma)
    browser.follow(browser.find(f"a[href='/scenarios/{scenario_id}/edit/courses']"))
    box = browser.find(f"input[name='{PASS_RATE}']")
    source = browser.find(f"input[name='{PASS_RATE}@source']").get_attribute("value")
    assert box.get_attribute("value") == "0.6"
    assert source and "VSTEP" in source
    assert browser.find(f"input[name='{PASS_RATE}@low']").get_attribute("value") == "0.45"
    assert browser.find(f"input[name='{PASS_RATE}@high']").get_attribute("value") == "0.8"
    browser.step("courses form")
    browser.fill("#version-note", "Tỷ lệ đỗ B2 thấp hơn: 55%")
    box.clear()
    box.send_keys("0,55", Keys.TAB)  # the change checks the form (htmx) without saving
    browser.wait(
        lambda _d: vi("web.scenarios.edit.valid_unsaved") in browser.text("#check-result"),
        30,
        "the form's check",
    )
    browser.wait_htmx_idle()
    browser.step("pass rate changed and checked")
    browser.submit(browser.find("#scenario-form button[type=submit]:not([formaction])"))
    assert browser.path == f"/scenarios/{scenario_id}/edit/courses"
    assert vi("web.scenarios.edit.saved", number=2) in browser.text("main")
    assert browser.find(f"input[name='{PASS_RATE}']").get_attribute("value") == "0.55"
    assert browser.find(f"input[name='{PASS_RATE}@source']").get_attribute("value") == source
    assert browser.find(f"input[name='{PASS_RATE}@low']").get_attribute("value") == "0.45"
    browser.step("saved as version 2")

    # -- the versions: two, compared; version 2's YAML downloaded
    browser.follow(browser.find(f"main a[href='/scenarios/{scenario_id}']"))
    rows = browser.find_all("main table tbody tr")
    assert len(rows) == 2 and "Tỷ lệ đỗ B2 thấp hơn: 55%" in rows[0].text
    browser.step("two versions")
    browser.submit(browser.find("form[action$='/compare'] button[type=submit]"))
    changed = [r.text for r in browser.find_all("table.compare tbody tr") if PASS_RATE in r.text]
    assert changed and "0,6" in changed[0] and "0,55" in changed[0], changed
    browser.step("versions 1 and 2 compared")
    browser.driver.back()
    browser.wait_loaded()
    browser.find(f"a[href='/scenarios/{scenario_id}/versions/2/yaml']").click()
    saved = yaml.safe_load(_downloaded(browser, ".yaml").read_text(encoding="utf-8"))
    rate = saved["courses"]["level4"]["exam_pass_probability"]
    assert rate["value"] == 0.55 and rate["range"] == [0.45, 0.8] and rate["source"] == source

    # -- a plan of version 2, small: 200 replications, no price of confidence
    version_id = _version_id(live_server, scenario_id, 2)
    browser.follow(browser.find("header nav a[href='/runs']"))
    browser.follow(browser.find(f"#version-{version_id} a[href='/versions/{version_id}/plan']"))
    browser.fill("#reps", "200")
    price = browser.find("#plan-form input[name=price]")
    if price.is_selected():
        price.click()
    browser.step("plan form")
    browser.submit(browser.find("#plan-form button[type=submit]"))
    found = re.fullmatch(r"/runs/(\d+)", browser.path)
    assert found, f"{browser.path}: {browser.text()[:300]}"
    run_id = int(found.group(1))
    browser.step("plan queued")
    _wait_for_plan(browser, PLAN_TIMEOUT_S)
    failure = browser.find_all("#run-failure")
    assert not failure, failure[0].text
    assert browser.path == f"/runs/{run_id}"

    # -- the answer: the attainment chart (an image that has loaded) and the schedule
    chart = browser.find("#chart-attainment")
    browser.driver.execute_script("arguments[0].scrollIntoView()", chart)
    browser.wait(lambda _d: browser.image_loaded(chart), 30, "the attainment chart")
    assert browser.driver.execute_script("return arguments[0].naturalWidth", chart) > 300
    schedule = browser.find_all("table.schedule tbody tr")
    assert schedule, "no schedule rows"
    heads = [h.text for h in browser.find_all("table.schedule thead th")]
    assert "level4" in " ".join(heads) or any("B2" in h for h in heads), heads
    assert any(
        re.fullmatch(r"20[23]\d", r.find_element("css selector", "td").text) for r in schedule
    )
    browser.step("plan done: chart and schedule")

    # -- the workbook
    browser.find("ul.downloads a[href$='/files/workbook.xlsx']").click()
    workbook = openpyxl.load_workbook(_downloaded(browser, ".xlsx"), read_only=True)
    try:
        assert len(workbook.sheetnames) >= 3, workbook.sheetnames
        assumed = [
            row
            for sheet in workbook.worksheets
            for row in sheet.iter_rows(values_only=True)
            if row and row[0] == PASS_RATE
        ]
        assert assumed and assumed[0][1] == 0.55, assumed  # the plan is of version 2
    finally:
        workbook.close()
    browser.step("workbook downloaded")
    browser.logout()

    # -- a viewer of another province: refused, in Vietnamese, wherever they try
    browser.login("khoa")
    for path in (
        "/p/long_an/scenarios",
        f"/scenarios/{scenario_id}",
        f"/runs/{run_id}",
        f"/runs/{run_id}/files/workbook.xlsx",
    ):
        browser.open(path)
        assert browser.path == path
        _assert_vietnamese_drawn(browser, "h1", "Lỗi 403")
        assert browser.text("p.error-line") == "Bạn không được giao tỉnh này.", path
        browser.step(f"viewer refused {path}", allow_status=[403])
    assert len(list(browser.downloads.glob("*.xlsx"))) == 1, "the refused viewer got a workbook"


# ------------------------------------------------------------------------------ the what-if
def _store_long_an(live_server: LiveServer, author: str) -> int:
    """Long An as a scenario of its province, stored as an upload would (version 1); the
    version's id."""
    from sqlalchemy import select

    from simopt.web.models import Province, User
    from simopt.web.routes_scenarios import add_scenario

    with live_server.app.state.web.sessions() as db:
        user = db.scalar(select(User).where(User.username == author))
        province = db.scalar(select(Province).where(Province.slug == "long_an"))
        assert user is not None and province is not None
        text = LONG_AN.read_text(encoding="utf-8")
        scenario = add_scenario(db, province, f"long_an_{author}", text, user, "e2e")
        db.commit()
        return int(scenario.versions[-1].id)


def test_a_viewer_tries_a_lower_pass_rate_in_the_what_if_panel(
    live_server: LiveServer, browser: Browser
) -> None:
    live_server.add_user("mai", "viewer", provinces=["Long An"])
    version_id = _store_long_an(live_server, "mai")
    browser.login("mai")
    browser.follow(browser.find("header nav a[href='/runs']"))
    browser.follow(browser.find(f"#version-{version_id} a[href='/versions/{version_id}/whatif']"))
    assert "200" in browser.text("#whatif-basis"), "the page states its replications"
    box = browser.find("#f-pass-level4")
    assert box.get_attribute("value") == "60"
    browser.step("what-if panel as saved")
    box.clear()
    box.send_keys("50", Keys.TAB)
    browser.wait(
        lambda _d: browser.find_all("#whatif-changes li"), PLAN_TIMEOUT_S, "the what-if's answer"
    )
    browser.wait_htmx_idle()
    change = browser.text("#whatif-changes")
    assert "60%" in change and "50%" in change, change
    assert browser.find_all("#whatif-targets tbody tr"), "no targets in the answer"
    assert not browser.find_all("#whatif-errors, #whatif-problem")
    browser.step("what-if answered: pass rate 50%")
