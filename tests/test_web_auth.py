"""The web app's accounts and access: login, sessions that expire, CSRF on every form, roles,
provinces, the users command, and pages that never reach outside the app."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import select

from simopt.cli import main
from simopt.reporting.i18n import LANGS, catalogue
from simopt.web import paths
from simopt.web.app import page_routes
from simopt.web.auth import require_province, safe_next
from simopt.web.models import ROLES, LoginSession, Province, Scenario, ScenarioVersion, User
from simopt.web.settings import WebSettings

if TYPE_CHECKING:
    from web_fixtures import Clock, WebClient

pytest_plugins = ["web_fixtures"]

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
WEB = Path(__file__).resolve().parents[1] / "simopt" / "web"

SCENARIO_PATH_SAMPLES: dict[str, str] = {"scenario_id": "1", "number": "1", "section": "courses"}
"""PATH_SAMPLES entries for the scenario pages (``routes_scenarios.py``), added to
``web_fixtures.PATH_SAMPLES`` by the ``path_samples`` fixture below."""
RUNS_PATH_SAMPLES: dict[str, str] = {"version_id": "1", "run_id": "1", "filename": "schedule.csv"}
"""PATH_SAMPLES entries for the run and what-if pages (``routes_runs.py``, ``routes_whatif.py``)."""


@pytest.fixture
def path_samples(path_samples: dict[str, str]) -> dict[str, str]:
    return {**path_samples, **SCENARIO_PATH_SAMPLES, **RUNS_PATH_SAMPLES}


def _fill(path_format: str, params: Any, samples: dict[str, str]) -> str:
    missing = [p for p in params if p not in samples]
    if missing:
        pytest.fail(f"{path_format}: add a sample value for {missing} to web_fixtures.PATH_SAMPLES")
    return path_format.format(**{p: samples[p] for p in params})


def _routes(
    app: FastAPI, methods: tuple[str, ...], samples: dict[str, str]
) -> list[tuple[str, str, str]]:
    """(method, url, route name) of every route of the app's page groups answering one of
    ``methods`` — and the app has no route outside them (its OpenAPI description lists all)."""
    found = []
    for route in page_routes():
        for method in sorted(route.methods & set(methods)):
            found.append(
                (method, _fill(route.path_format, route.param_convertors, samples), route.name)
            )
    listed = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    }
    known = {(method, route.path_format) for route in page_routes() for method in route.methods}
    assert listed <= known, listed - known
    return found


def _sessions(app: FastAPI) -> list[LoginSession]:
    with app.state.web.sessions() as db:
        return list(db.scalars(select(LoginSession)))


# ---------------------------------------------------------------------------------------- login
def test_login_with_the_right_password_opens_the_home_page(client: WebClient, make_user) -> None:
    make_user("lan", "planner", provinces=["Long An"])
    first = client.get("/", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2F"
    page = client.get(first.headers["location"])
    assert "Đăng nhập" in page.text and 'lang="vi"' in page.text

    answer = client.login("lan")
    assert answer.status_code == 200
    assert answer.url.path == "/"
    assert "Long An" in answer.text
    assert "Đã đăng nhập: lan (Người lập kế hoạch)" in answer.text
    cookie = client.cookies.get("simopt_session")
    assert cookie and len(cookie) >= 40
    assert len(_sessions(client.app)) == 1  # type: ignore[arg-type]


def test_a_wrong_password_or_unknown_user_is_refused_alike(
    client: WebClient, make_user, password: str
) -> None:
    make_user("lan", "planner")
    wrong = client.login("lan", "not the password")
    unknown = client.login("nobody", password)
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "Tên đăng nhập hoặc mật khẩu không đúng." in answer.text
    assert client.cookies.get("simopt_session") is None
    assert _sessions(client.app) == []  # type: ignore[arg-type]


def test_login_goes_back_to_the_page_asked_for_never_elsewhere(
    client: WebClient, make_user, password: str
) -> None:
    make_user("boss", "admin")
    token = client.csrf_token()
    answer = client.post(
        "/login",
        data={
            "username": "BOSS",
            "password": password,
            "next": "/admin/users",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/admin/users"
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil", "javascript:alert(1)"):
        assert safe_next(target) == "/"
    assert safe_next("/p/long_an?x=1") == "/p/long_an?x=1"


def test_the_password_is_stored_hashed_with_argon2(
    web_app: FastAPI, make_user, password: str
) -> None:
    make_user("lan", "viewer")
    with web_app.state.web.sessions() as db:
        user = db.scalar(select(User).where(User.username == "lan"))
        assert user is not None
        assert user.password_hash.startswith("$argon2id$")
        assert password not in user.password_hash


def test_logout_ends_the_session_for_good(logged_in: Callable[..., WebClient]) -> None:
    viewer = logged_in("viewer", provinces=["Long An"])
    stolen = viewer.cookies.get("simopt_session")
    out = viewer.post_form("/logout")
    assert out.status_code == 200 and out.url.path == "/login"
    assert "Bạn đã đăng xuất." in out.text
    again = viewer.fresh()
    again.cookies.set("simopt_session", stolen or "")
    assert again.get("/", follow_redirects=False).status_code == 303


# -------------------------------------------------------------------------------------- sessions
def test_a_session_expires_after_idle_hours(
    logged_in: Callable[..., WebClient], clock: Clock, web_settings: WebSettings
) -> None:
    viewer = logged_in("viewer")
    clock.advance(hours=7, minutes=59)
    assert viewer.get("/", follow_redirects=False).status_code == 200  # and the session moves on
    clock.advance(hours=7, minutes=59)
    assert viewer.get("/", follow_redirects=False).status_code == 200
    clock.advance(seconds=web_settings.session_idle.total_seconds())
    expired = viewer.get("/", follow_redirects=False)
    assert expired.status_code == 303 and expired.headers["location"].startswith("/login")
    page = viewer.get(expired.headers["location"])
    assert "Phiên làm việc đã hết hạn" in page.text
    assert _sessions(viewer.app) == []  # type: ignore[arg-type]


def test_a_busy_session_still_ends_after_its_maximum(
    logged_in: Callable[..., WebClient], clock: Clock, web_settings: WebSettings
) -> None:
    viewer = logged_in("viewer")
    login_time = clock.now
    step = web_settings.session_idle / 2
    while viewer.get("/", follow_redirects=False).status_code == 200:
        assert clock.now - login_time < web_settings.session_max, "the session never ended"
        clock.advance(seconds=step.total_seconds())
    assert clock.now - login_time >= web_settings.session_max


def test_deactivating_a_user_ends_their_sessions_and_their_logins(
    logged_in: Callable[..., WebClient],
) -> None:
    admin = logged_in("admin")
    viewer = logged_in("viewer")
    assert viewer.user is not None
    done = admin.post_form(f"/admin/users/{viewer.user.id}/active", {"active": "0"})
    assert done.status_code == 200 and "Đã khóa tài khoản viewer2" in done.text
    assert viewer.get("/", follow_redirects=False).status_code == 303
    assert viewer.fresh().login("viewer2").status_code == 401  # type: ignore[arg-type]
    own = admin.post_form(f"/admin/users/{admin.user.id}/active", {"active": "0"})  # type: ignore[union-attr]
    assert "Bạn không thể tự khóa tài khoản của chính mình." in own.text
    admin.post_form(f"/admin/users/{viewer.user.id}/active", {"active": "1"})
    assert viewer.fresh().login("viewer2").status_code == 200  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------ CSRF
def test_every_unsafe_route_refuses_a_request_without_its_csrf_token(
    web_app: FastAPI,
    client: WebClient,
    logged_in: Callable[..., WebClient],
    path_samples: dict[str, str],
) -> None:
    routes = _routes(web_app, UNSAFE, path_samples)
    names = {name for _, _, name in routes}
    assert {"login_submit", "logout", "set_language", "admin_add_user"} <= names
    admin = logged_in("admin")
    admin_token = admin.csrf_token()
    anonymous_token = client.csrf_token()
    users_before = len(_users(web_app))
    for who, c, good in (("anonymous", client, anonymous_token), ("admin", admin, admin_token)):
        for method, url, name in routes:
            for extra in ({}, {"csrf_token": "forged"}, {"csrf_token": good[:-1]}):
                answer = c.request(
                    method, url, data={"lang": "en", **extra}, follow_redirects=False
                )
                assert answer.status_code == 403, (who, method, url, extra)
                assert "mã bảo vệ biểu mẫu (CSRF)" in answer.text, (who, name)
            # htmx: the one line as text
            hx = c.request(method, url, headers={"HX-Request": "true", "X-CSRF-Token": "forged"})
            assert hx.status_code == 403
            assert hx.text.count("\n") == 1 and "CSRF" in hx.text
        # the other user's token is no good either
        other = admin_token if c is client else anonymous_token
        assert c.post("/lang", data={"lang": "en", "csrf_token": other}).status_code == 403
    assert len(_users(web_app)) == users_before
    # and the right token, in the form or the htmx header, passes
    assert admin.post("/lang", data={"lang": "en", "csrf_token": admin_token}).status_code == 200
    answer = admin.post(
        "/lang", data={"lang": "vi"}, headers={"X-CSRF-Token": admin_token}, follow_redirects=False
    )
    assert answer.status_code == 303


def _users(app: FastAPI) -> list[User]:
    with app.state.web.sessions() as db:
        return list(db.scalars(select(User)))


def test_pages_carry_the_token_in_every_form_and_in_the_htmx_header(
    logged_in: Callable[..., WebClient],
) -> None:
    admin = logged_in("admin")
    page = admin.get("/admin/users").text
    token = admin.csrf_token()
    forms = re.findall(r"<form[^>]*method=\"post\".*?</form>", page, flags=re.S)
    assert len(forms) >= 4
    for form in forms:
        assert f'name="csrf_token" value="{token}"' in form
    assert f'hx-headers=\'{{"X-CSRF-Token": "{token}"}}\'' in page


# ----------------------------------------------------------------------------------------- roles
def test_only_an_administrator_manages_users(
    web_app: FastAPI, client: WebClient, logged_in: Callable[..., WebClient], password: str
) -> None:
    viewer = logged_in("viewer", provinces=["Long An"])
    planner = logged_in("planner", provinces=["Long An"])
    admin = logged_in("admin")
    assert client.get("/admin/users", follow_redirects=False).status_code == 303
    new = {
        "username": "mallory",
        "password": password,
        "password_again": password,
        "role": "admin",
        "language": "vi",
    }
    for who in (viewer, planner):
        page = who.get("/admin/users")
        assert page.status_code == 403
        assert "Vai trò của bạn không được phép vào trang này." in page.text
        assert "Traceback" not in page.text
        assert who.post_form("/admin/users", new).status_code == 403
        assert who.post_form("/admin/users/1/active", {"active": "0"}).status_code == 403
        assert "/admin/users" not in who.get("/").text  # not in their navigation
    assert "mallory" not in {u.username for u in _users(web_app)}

    page = admin.get("/admin/users")
    assert page.status_code == 200 and "Quản lý người dùng" in page.text
    added = admin.post_form(
        "/admin/users",
        {
            **new,
            "role": "planner",
            "provinces": ["long_an"],
            "new_provinces": "Tây Ninh, Quảng Trị",
        },
    )
    assert added.status_code == 200 and "Đã thêm người dùng mallory." in added.text
    mallory = {u.username: u for u in _users(web_app)}["mallory"]
    assert mallory.role == "planner"
    with web_app.state.web.sessions() as db:
        provinces = {p.slug for p in db.get(User, mallory.id).provinces}  # type: ignore[union-attr]
    assert provinces == {"long_an", "tay_ninh", "quang_tri"}


def test_the_add_user_form_shows_each_error_beside_its_field(
    web_app: FastAPI, logged_in: Callable[..., WebClient], password: str
) -> None:
    admin = logged_in("admin")
    base = {"username": "ana", "password": password, "password_again": password, "role": "viewer"}
    cases = [
        ({"username": "A B"}, "username", "Tên đăng nhập gồm 2–64 ký tự"),
        ({"password": "short", "password_again": "short"}, "password", "ít nhất 10 ký tự"),
        ({"password_again": "different one"}, "password_again", "không khớp"),
        ({"role": "root"}, "role", "Vai trò phải là một trong"),
        ({"provinces": ["atlantis"]}, "provinces", "Tên tỉnh không hợp lệ: atlantis"),
        ({"username": "admin1"}, "username", "đã có người dùng"),
    ]
    for change, field, words in cases:
        answer = admin.post_form("/admin/users", {**base, **change})
        assert answer.status_code == 400, change
        assert f'<span class="field-error" id="{field}-error">' in answer.text, change
        assert words in answer.text, change
    assert "ana" not in {u.username for u in _users(web_app)}


def test_roles_are_ordered_viewer_planner_admin() -> None:
    assert ROLES == ("viewer", "planner", "admin")


# ------------------------------------------------------------------------------------- provinces
def _add_scenario(app: FastAPI, province: str, name: str, author: str) -> None:
    from simopt.web.accounts import get_or_create_province

    with app.state.web.sessions() as db:
        p = get_or_create_province(db, province)
        s = Scenario(province_id=p.id, name=name)
        db.add(s)
        db.flush()
        user = db.scalar(select(User).where(User.username == author))
        assert user is not None
        db.add(
            ScenarioVersion(
                scenario_id=s.id,
                number=1,
                yaml_text="name: x\n",
                sha256="0" * 64,
                author_id=user.id,
            )
        )
        db.commit()


def test_a_user_sees_only_their_provinces(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    viewer = logged_in("viewer", provinces=["Tây Ninh"])
    admin = logged_in("admin")
    _add_scenario(web_app, "Long An", "long_an_plan_2026", "planner1")
    _add_scenario(web_app, "Tây Ninh", "tay_ninh_merged", "planner1")
    mine = planner.get("/").text
    assert "long_an_plan_2026" in mine and "Phiên bản 1" in mine
    assert "tay_ninh_merged" not in mine and "Tây Ninh" not in mine
    theirs = viewer.get("/").text
    assert "tay_ninh_merged" in theirs and "long_an_plan_2026" not in theirs
    everything = admin.get("/").text
    assert "long_an_plan_2026" in everything and "tay_ninh_merged" in everything
    nobody = logged_in("viewer")
    assert "Bạn chưa được giao tỉnh nào" in nobody.get("/").text


def test_require_province_guards_a_province_page(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    router = APIRouter()

    @router.get("/p/{province}/probe")
    def probe(province: Province = Depends(require_province)) -> dict[str, str]:  # noqa: B008
        return {"name": province.name}

    web_app.include_router(router)
    planner = logged_in("planner", provinces=["Long An"])
    logged_in("viewer", provinces=["Tây Ninh"])
    admin = logged_in("admin")
    assert planner.get("/p/long_an/probe").json() == {"name": "Long An"}
    refused = planner.get("/p/tay_ninh/probe")
    assert refused.status_code == 403 and "Bạn không được giao tỉnh này." in refused.text
    assert planner.get("/p/atlantis/probe").status_code == 404
    assert planner.get("/p/..%2F..%2Fetc/probe").status_code == 404
    assert admin.get("/p/tay_ninh/probe").json() == {"name": "Tây Ninh"}


# ------------------------------------------------------------------------------------ users CLI
def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_users_add_through_the_cli_then_login(
    web_settings: WebSettings,
    client: WebClient,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = ["--db", web_settings.database_url]
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    code, out, err = _cli(
        [
            "users",
            "add",
            "Chief",
            "--role",
            "admin",
            "--province",
            "Long An",
            "--password-stdin",
            *db,
        ],
        capsys,
    )
    assert code == 0, err
    assert out.strip() == "simopt: user chief added (admin; provinces: all)"

    answers = iter(["another good password", "another good password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, out, err = _cli(
        [
            "users",
            "add",
            "hoa",
            "--role",
            "viewer",
            "--province",
            "Tây Ninh",
            "--language",
            "en",
            *db,
        ],
        capsys,
    )
    assert code == 0, err
    assert "provinces: Tây Ninh" in out

    code, out, _ = _cli(["users", "list", *db], capsys)
    assert code == 0
    assert re.search(r"^chief\s+admin\s+vi\s+active\s+all$", out, flags=re.M), out
    assert re.search(r"^hoa\s+viewer\s+en\s+active\s+Tây Ninh$", out, flags=re.M), out

    home = client.login("chief")  # the app on the same database
    assert home.status_code == 200 and "Long An" in home.text
    english = client.fresh().login("hoa", "another good password")
    assert "Your provinces and scenarios" in english.text and 'lang="en"' in english.text


@pytest.mark.parametrize(
    ("argv", "stdin", "words"),
    [
        (["users", "add", "x y", "--role", "admin", "--password-stdin"], "p" * 12, "username"),
        (["users", "add", "ok", "--role", "root"], "", "invalid choice"),
        (["users", "add", "ok", "--role", "admin", "--password-stdin"], "short\n", "at least 10"),
        (["users", "add", "ok", "--role", "admin", "--password-stdin"], "", "no password"),
        (
            ["users", "add", "ok", "--role", "admin", "--province", "!!", "--password-stdin"],
            "",
            "province",
        ),
        (["users"], "", "required"),
        (["serve", "--port", "99999"], "", "port"),
        (["users", "list", "--db", "nosuchdriver://x"], "", "database"),
    ],
)
def test_users_and_serve_refuse_bad_input_on_one_line(
    argv: list[str],
    stdin: str,
    words: str,
    web_settings: WebSettings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    if "--db" not in argv and argv[0] == "users" and len(argv) > 1:
        argv = [*argv, "--db", web_settings.database_url]
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    _out, err = capsys.readouterr()
    assert code == 2
    assert err.count("\n") == 1 and words in err, err
    assert "Traceback" not in err


def test_users_add_refuses_a_taken_name_and_differing_passwords(
    web_settings: WebSettings,
    password: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = ["--db", web_settings.database_url]
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    assert main(["users", "add", "an", "--role", "viewer", "--password-stdin", *db]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
    code, _, err = _cli(["users", "add", "AN", "--role", "viewer", "--password-stdin", *db], capsys)
    assert code == 2 and err.strip() == "simopt: The username an is taken."
    answers = iter(["first password!", "second password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    code, _, err = _cli(["users", "add", "binh", "--role", "viewer", *db], capsys)
    assert code == 2 and err.strip() == "simopt: The two passwords differ."


# -------------------------------------------------------------------------- language and words
def test_the_language_is_the_users_and_switchable(logged_in: Callable[..., WebClient]) -> None:
    viewer = logged_in("viewer", provinces=["Long An"])
    assert "Tỉnh và kịch bản của bạn" in viewer.get("/").text
    english = viewer.post_form("/lang", {"lang": "en", "next": "/"})
    assert english.url.path == "/" and "Your provinces and scenarios" in english.text
    # kept in the profile: a new login is in English too
    fresh = viewer.fresh()
    assert "Your provinces and scenarios" in fresh.login("viewer1").text
    assert fresh.post_form("/lang", {"lang": "xx"}).status_code == 400


def test_every_web_key_used_exists_in_both_languages() -> None:
    text = "\n".join(
        p.read_text(encoding="utf-8")
        for p in sorted(WEB.rglob("*"))
        if p.suffix in (".py", ".html")
    )
    used = set(re.findall(r"[\"'](web\.[a-z0-9_.]+[a-z0-9_])[\"']", text))
    used |= {f"web.role.{r}" for r in ROLES} | {f"web.lang.{lang}" for lang in LANGS}
    assert len(used) > 50
    for lang in LANGS:
        missing = sorted(k for k in used if k not in catalogue(lang))
        assert not missing, (lang, missing)
    vi = catalogue("vi")
    assert all(vi[k] != catalogue("en")[k] for k in ("web.login.title", "web.home.title"))


# ------------------------------------------------------------------------- pages stay in the app
EXTERNAL = re.compile(r"(?:https?:)?//[^\s\"'<>)]+", re.I)


def _external_refs(text: str) -> list[str]:
    own = ("http://testserver/", "//testserver/")
    return [u for u in EXTERNAL.findall(text) if not u.lower().startswith(own)]


def test_no_page_refers_to_an_external_url(
    web_app: FastAPI,
    client: WebClient,
    logged_in: Callable[..., WebClient],
    path_samples: dict[str, str],
) -> None:
    admin = logged_in("admin", provinces=["Long An"])
    planner = logged_in("planner", provinces=["Long An"])
    gets = _routes(web_app, ("GET",), path_samples)
    assert {"login", "home", "admin_users"} <= {name for _, _, name in gets}
    pages = 0
    for c in (client, planner, admin):
        for _, url, _name in gets:
            answer = c.get(url)
            if "text/html" in answer.headers.get("content-type", ""):
                pages += 1
                assert _external_refs(answer.text) == [], (url, _external_refs(answer.text))
                assert "http" not in answer.text.replace("http://testserver/", ""), url
                assert "Traceback" not in answer.text
        missing = c.get("/no/such/page")
        assert missing.status_code == 404 and _external_refs(missing.text) == []
    assert pages >= 6
    css = client.get("/static/simopt.css")
    assert css.status_code == 200 and "http" not in css.text and "@import" not in css.text


def test_htmx_is_served_locally(client: WebClient) -> None:
    page = client.get("/login").text
    assert '<script src="/static/htmx.min.js" defer></script>' in page
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200
    assert "javascript" in js.headers["content-type"]
    assert js.content == (WEB / "static" / "htmx.min.js").read_bytes()
    assert 'version:"2.' in js.text
    assert (WEB / "static" / "htmx.LICENSE").read_text().startswith("Zero-Clause BSD")


def test_every_answer_carries_the_security_headers(
    client: WebClient, logged_in: Callable[..., WebClient], password: str
) -> None:
    admin = logged_in("admin")
    for answer in (
        client.get("/login"),
        admin.get("/"),
        client.get("/static/simopt.css"),
        client.get("/nowhere"),
    ):
        csp = answer.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "script-src 'self'" in csp
        assert "http" not in csp and "unsafe" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
    assert admin.get("/").headers["cache-control"] == "no-store"
    login = client.post(
        "/login",
        data={"username": "admin1", "password": password, "csrf_token": client.csrf_token()},
        follow_redirects=False,
    )
    cookie = next(c for c in login.headers.get_list("set-cookie") if "simopt_session=" in c)
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie


# ---------------------------------------------------------------------------------------- errors
def test_errors_are_pages_in_the_users_language_never_a_traceback(
    web_app: FastAPI, web_settings: WebSettings, logged_in: Callable[..., WebClient]
) -> None:
    router = APIRouter()

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    web_app.include_router(router)
    viewer = logged_in("viewer", language="en")
    c = viewer.fresh(raise_server_exceptions=False)
    c.cookies = viewer.cookies
    crashed = c.get("/boom")
    assert crashed.status_code == 500
    assert "An internal error occurred" in crashed.text
    assert "secret internals" not in crashed.text and "Traceback" not in crashed.text
    assert viewer.get("/nowhere").status_code == 404
    assert "Page not found." in viewer.get("/nowhere").text
    wrong_method = viewer.put("/", headers={"X-CSRF-Token": viewer.csrf_token()})
    assert wrong_method.status_code == 405
    anonymous = viewer.fresh()
    assert "Không tìm thấy trang." in anonymous.get("/nowhere").text
    big = b"x" * (web_settings.upload_limit_bytes + 1)
    too_large = anonymous.post("/login", content=big, headers={"content-type": "text/plain"})
    assert too_large.status_code == 413
    assert "Dữ liệu gửi lên quá lớn (tối đa 2 MiB)." in too_large.text


# ----------------------------------------------------------------------------------------- paths
def test_a_request_value_becomes_a_path_only_as_a_checked_id(tmp_path: Path) -> None:
    root = tmp_path / "results"
    run_id = "20261123T235959.123456Z-plan-ab12cd"
    (root / "long_an" / run_id).mkdir(parents=True)
    (root / "long_an" / run_id / "schedule.csv").write_text("a\n")
    (tmp_path / "outside").mkdir()  # beside the root, not in it
    (root / "long_an" / "20261123T235959.123456Z-plan-000000").symlink_to(tmp_path / "outside")
    assert paths.run_folder(root, "long_an", run_id) == root / "long_an" / run_id
    assert paths.run_file(root, "long_an", run_id, "schedule.csv").read_text() == "a\n"
    assert paths.run_folder_of(root, f"long_an/{run_id}").name == run_id
    assert paths.latest_run(root, "long_an") is None
    (root / "long_an" / "latest").symlink_to(run_id)
    assert paths.latest_run(root, "long_an") == root / "long_an" / run_id
    refused = [
        lambda: paths.run_folder(root, "..", run_id),
        lambda: paths.run_folder(root, "long_an", "../../etc"),
        lambda: paths.run_folder(root, "/etc", run_id),
        lambda: paths.run_folder(root, "long_an", "20261123T235959.123456Z-plan-000000"),
        lambda: paths.run_file(root, "long_an", run_id, "../manifest.json"),
        lambda: paths.run_file(root, "long_an", run_id, ".hidden.csv"),
        lambda: paths.run_file(root, "long_an", run_id, "missing.csv"),
        lambda: paths.run_folder_of(root, f"long_an/{run_id}/.."),
        lambda: paths.inside(root, "a\0b"),
        lambda: paths.bundled_scenario(Path("scenarios"), "../pyproject"),
    ]
    for attempt in refused:
        with pytest.raises(paths.UnsafePath):
            attempt()
    assert "long_an" in paths.bundled_scenarios(Path("scenarios"))
    assert paths.bundled_scenario(Path("scenarios"), "long_an").name == "long_an.yaml"


def test_an_id_too_large_for_the_database_is_a_page_that_does_not_exist(
    logged_in: Any,
) -> None:
    client = logged_in("planner", provinces=["Long An"])
    for url in ("/runs/99999999999999999999999", "/scenarios/99999999999999999999999"):
        answer = client.get(url)
        assert answer.status_code == 404, (url, answer.status_code)
        assert "Traceback" not in answer.text
