"""The questions that run in the background (plan, budget ceilings, the plan as written judged):
who may see and queue what, a plan from its form to its files, a frontier and a judgement, three
plans of three users beside twenty what-ifs at once, and a server restart with a run left
running.

Runs are computed by the app's real worker processes (spawned), kept small: 200 replications,
no price ladder. The scenario versions are made directly with the models, from
scenarios/long_an.yaml's text.
"""

from __future__ import annotations

import hashlib
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from simopt.cli import build_parser, main
from simopt.runs import read_manifest
from simopt.web import jobs, sessions
from simopt.web.accounts import get_or_create_province
from simopt.web.app import create_app
from simopt.web.models import Run, Scenario, ScenarioVersion, User
from simopt.web.settings import WebSettings

if TYPE_CHECKING:
    from web_fixtures import WebClient

pytest_plugins = ["web_fixtures"]

LONG_AN = (Path(__file__).resolve().parents[1] / "scenarios" / "long_an.yaml").read_text(
    encoding="utf-8"
)
QUICK_PLAN = {"confidence": "90", "reps": "200", "ceiling": ""}
"""A plan form: 90%, 200 replications, no price ladder (its checkbox left out)."""
WAIT = 240.0


@pytest.fixture(autouse=True)
def _stop_workers(web_app: FastAPI) -> Iterator[None]:
    yield
    jobs.stop(web_app)


def variant(tag: str) -> str:
    """Long An's text with its title marked: another version, another SHA-256."""
    return LONG_AN.replace("title: Long An — ", f"title: Long An ({tag}) — ", 1)


def add_version(
    app: FastAPI, province: str, author: str, text: str = LONG_AN, scenario: str = "long_an"
) -> int:
    with app.state.web.sessions() as db:
        p = get_or_create_province(db, province)
        s = db.scalar(
            select(Scenario).where(Scenario.province_id == p.id, Scenario.name == scenario)
        )
        if s is None:
            s = Scenario(province_id=p.id, name=scenario)
            db.add(s)
            db.flush()
        user = db.scalar(select(User).where(User.username == author))
        assert user is not None
        number = 1 + len(s.versions)
        v = ScenarioVersion(
            scenario_id=s.id,
            number=number,
            yaml_text=text,
            sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
            author_id=user.id,
        )
        db.add(v)
        db.commit()
        return v.id


def run_id_of(answer: Any) -> int:
    assert answer.status_code == 303, answer.text[:800]
    found = re.fullmatch(r"/runs/([0-9]+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def wait_settled(app: FastAPI, ids: list[int], timeout: float = WAIT) -> dict[int, Run]:
    deadline = time.monotonic() + timeout
    while True:
        with app.state.web.sessions() as db:
            rows = {r.id: r for r in db.scalars(select(Run).where(Run.id.in_(ids)))}
        if len(rows) == len(ids) and all(r.status in ("done", "failed") for r in rows.values()):
            return rows
        if time.monotonic() > deadline:
            pytest.fail(f"runs not settled: {[(r.id, r.status, r.message) for r in rows.values()]}")
        time.sleep(0.25)


def version_sha(app: FastAPI, version_id: int) -> str:
    with app.state.web.sessions() as db:
        v = db.get(ScenarioVersion, version_id)
        assert v is not None
        return v.sha256


# --------------------------------------------------------------------------- who may do what
def test_every_route_for_each_role(
    web_app: FastAPI, client: WebClient, logged_in: Callable[..., WebClient]
) -> None:
    """Viewers read and run what-ifs; planners (and administrators) also queue; a user of
    another province is refused with 403; nobody logged out gets further than the login."""
    admin = logged_in("admin")
    planner = logged_in("planner", provinces=["Long An"])
    stranger = logged_in("planner", provinces=["Tây Ninh"])
    viewer = logged_in("viewer", provinces=["Long An"])
    version = add_version(web_app, "Long An", "planner2")
    with web_app.state.web.sessions() as db:  # a run to read, settled without a worker
        run = Run(
            scenario_version_id=version,
            kind="plan",
            parameters={"confidence": 0.9, "reps": 200},
            status="failed",
            message=jobs.join_message(jobs.FAILED_INPUT, "a reason"),
            user_id=planner.user.id,  # type: ignore[union-attr]
        )
        db.add(run)
        db.commit()
        run_id = run.id
    pages = [
        "/runs",
        f"/versions/{version}/plan",
        f"/versions/{version}/ceilings",
        f"/versions/{version}/judge",
        f"/versions/{version}/whatif",
        f"/runs/{run_id}",
        f"/runs/{run_id}/progress",
        f"/runs/compare?run={run_id}",
    ]
    for who in (admin, planner, viewer):
        for url in pages:
            page = who.get(url)
            assert page.status_code == 200, (who.user, url, page.text[:300])
            assert "Traceback" not in page.text
            assert "http" not in page.text.replace("http://testserver/", ""), url
        # the failed run says why; a run that never finished has no files
        assert "Không tính được với dữ liệu này:" in who.get(f"/runs/{run_id}").text
        assert who.get(f"/runs/{run_id}/files/schedule.csv").status_code == 404
    for url in pages[1:7]:
        refused = stranger.get(url)
        assert refused.status_code == 403, url
        assert "Bạn không được giao tỉnh này." in refused.text
    assert stranger.get(f"/runs/{run_id}/files/schedule.csv").status_code == 403
    assert stranger.get("/runs").status_code == 200
    assert f"/versions/{version}/plan" not in stranger.get("/runs").text
    for url in pages:
        assert client.get(url, follow_redirects=False).status_code == 303
    assert planner.get("/versions/999/plan").status_code == 404
    assert planner.get("/runs/999").status_code == 404
    assert planner.get("/runs/abc").status_code == 400

    # the forms: only planners and administrators queue, and only for their provinces
    plan = f"/versions/{version}/plan"
    assert 'id="plan-form"' in planner.get(plan).text
    assert 'id="plan-form"' not in viewer.get(plan).text
    assert "chỉ người lập kế hoạch mới xếp hàng" in viewer.get(plan).text
    for who, status in ((viewer, 403), (stranger, 403)):
        for kind in ("plan", "ceilings", "judge"):
            answer = who.post_form(f"/versions/{version}/{kind}", QUICK_PLAN)
            assert answer.status_code == status, (who.user, kind)
    # the what-if is for viewers too; another province's is refused
    assert viewer.post_form(f"/versions/{version}/whatif", {}).status_code == 200
    assert stranger.post_form(f"/versions/{version}/whatif", {}).status_code == 403
    with web_app.state.web.sessions() as db:
        assert db.scalar(select(Run).where(Run.id != run_id)) is None  # nothing was queued


def test_the_plan_form_shows_each_error_beside_its_field(
    web_app: FastAPI, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    version = add_version(web_app, "Long An", "planner1")
    url = f"/versions/{version}/plan"
    cases = [
        ({"confidence": "40"}, "confidence", "Phải nằm trong khoảng 50 đến 99."),
        ({"confidence": "abc"}, "confidence", "Hãy nhập một số."),
        ({"confidence": "99", "reps": "500"}, "reps", "cần ít nhất 1.000"),
        ({"reps": "200.5"}, "reps", "Hãy nhập một số nguyên."),
        ({"reps": "100", "price": "1"}, "reps", "cần ít nhất 200"),
        ({"ceiling": "-3"}, "ceiling", "Phải nằm trong khoảng"),
    ]
    for change, field, words in cases:
        answer = planner.post_form(url, {**QUICK_PLAN, **change})
        assert answer.status_code == 400, change
        assert f'<span class="field-error" id="{field}-error">' in answer.text, change
        assert words in answer.text, (change, answer.text[-2000:])
    ceilings = planner.post_form(
        f"/versions/{version}/ceilings",
        {"confidence": "90", "reps": "200", "low": "90", "high": "60", "steps": "3"},
    )
    assert ceilings.status_code == 400
    assert "Trần cao nhất không được thấp hơn trần thấp nhất." in ceilings.text
    with web_app.state.web.sessions() as db:
        assert db.scalar(select(Run)) is None


# ------------------------------------------------------------------------------ a plan, whole
def test_a_plan_from_its_form_to_its_files(
    web_app: FastAPI,
    web_settings: WebSettings,
    logged_in: Callable[..., WebClient],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    viewer = logged_in("viewer", provinces=["Long An"], language="en")
    stranger = logged_in("viewer", provinces=["Tây Ninh"])
    version = add_version(web_app, "Long An", "planner1")
    run_id = run_id_of(
        planner.post_form(f"/versions/{version}/plan", QUICK_PLAN, follow_redirects=False)
    )
    page = planner.get(f"/runs/{run_id}")
    assert page.status_code == 200
    assert "Đã xếp hàng lần chạy số" in page.text  # the flash
    assert '<progress id="run-progress-bar"' in page.text
    assert f'hx-get="/runs/{run_id}/progress" hx-trigger="every 1s"' in page.text
    # the bar moves; a reload (or another browser) sees the same run
    seen: set[str] = set()
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        bar = planner.get(f"/runs/{run_id}/progress", headers={"HX-Request": "true"})
        assert bar.status_code == 200
        if "HX-Refresh" in bar.headers:
            break
        seen.add(re.search(r"<strong>([^<]+)</strong>", bar.text).group(1))  # type: ignore[union-attr]
        time.sleep(0.3)
    else:
        pytest.fail("the run never finished")
    assert seen & {"Đang chờ", "Đang chạy"}, seen
    row = wait_settled(web_app, [run_id])[run_id]
    assert row.status == "done", row.message
    assert row.progress == 1.0 and row.message == "web.runs.outcome.met"
    assert row.folder is not None and row.folder.startswith("long_an/")
    assert row.parameters["lang"] == "vi" and row.parameters["price"] is False

    # the folder is a real run folder, with its manifest; the version as run is recorded
    folder = web_settings.results_dir / row.folder
    manifest = read_manifest(folder)
    assert manifest == row.manifest
    assert manifest["command"] == "plan" and manifest["status"] == "met"
    record = manifest["scenarios"][0]
    assert record["file_sha256"] == version_sha(web_app, version)
    assert record["file"] == "web:long_an/long_an/v1"
    assert manifest["options"]["reps"] == 200 and manifest["options"]["no_price"] is True
    build_parser().parse_args(manifest["argv"])
    expected = {"schedule.csv", "classes.csv", "costs.csv", "targets.csv", "plan.json"}
    expected |= {"workbook.xlsx", "report.html", "chart_attainment.png"}
    assert expected <= set(manifest["files"])
    assert not (folder.parent / "latest").exists()  # web runs are found by id, not by latest

    # the answer: schedule in whole people and classes, budget by year and source, chart
    done = planner.get(f"/runs/{run_id}")
    text = done.text
    assert "Đạt: mọi chỉ tiêu đạt với xác suất yêu cầu" in text
    assert "Lịch đào tạo: số người nhập học theo năm, nhóm và khóa" in text
    assert "Số lớp" in text and "Ngân sách theo năm và nguồn" in text
    assert "State budget by the budget hierarchy" in text  # the sources' own names
    assert re.search(r'id="robust-cost">[0-9.]+ đ<', text), "money to the đồng, vi style"
    assert re.search(r"[0-9]+,[0-9]{2} tỷ đồng", text)
    assert f'src="/runs/{run_id}/files/chart_attainment.png"' in text
    assert "Lần chạy này không tính giá của độ tin cậy." in text
    assert "http" not in text.replace("http://testserver/", "")
    english = viewer.get(f"/runs/{run_id}")
    assert english.status_code == 200 and "Budget by year and funding source" in english.text
    assert re.search(r'id="robust-cost">[0-9,]+ VND<', english.text)

    # the files: each through the checked route, the same bytes as the folder's
    for name in ("workbook.xlsx", "report.html", "schedule.csv", "costs.csv", "targets.csv"):
        answer = viewer.get(f"/runs/{run_id}/files/{name}")
        assert answer.status_code == 200, name
        assert answer.content == (folder / name).read_bytes(), name
        assert answer.headers["content-disposition"].startswith("attachment"), name
    chart = viewer.get(f"/runs/{run_id}/files/chart_attainment.png")
    assert chart.headers["content-type"] == "image/png"
    assert chart.headers["content-disposition"].startswith("inline")
    assert chart.content == (folder / "chart_attainment.png").read_bytes()
    assert (
        "spreadsheetml" in viewer.get(f"/runs/{run_id}/files/workbook.xlsx").headers["content-type"]
    )
    for name in ("manifest.json", "nothing.csv", "..%2Fsimopt.db", ".hidden.csv", "plan"):
        assert viewer.get(f"/runs/{run_id}/files/{name}").status_code == 404, name
    assert stranger.get(f"/runs/{run_id}/files/workbook.xlsx").status_code == 403
    assert stranger.get(f"/runs/{run_id}").status_code == 403

    # and the command line redoes it: every table the same bytes
    assert main(["rerun", str(folder), "--out", str(tmp_path / "again")]) == 0
    assert "identical" in capsys.readouterr().out


def test_a_frontier_and_a_judgement(
    web_app: FastAPI, web_settings: WebSettings, logged_in: Callable[..., WebClient]
) -> None:
    admin = logged_in("admin")
    viewer = logged_in("viewer", provinces=["Long An"])
    version = add_version(web_app, "Long An", "admin1")
    ceilings_page = viewer.get(f"/versions/{version}/ceilings")
    assert "Trần hằng năm nhỏ nhất đạt mọi chỉ tiêu theo kỳ vọng:" in ceilings_page.text
    ceilings = run_id_of(
        admin.post_form(
            f"/versions/{version}/ceilings",
            {"confidence": "90", "reps": "200", "low": "100", "high": "100", "steps": "1"},
            follow_redirects=False,
        )
    )
    judged = run_id_of(
        admin.post_form(
            f"/versions/{version}/judge",
            {"confidence": "90", "reps": "200"},
            follow_redirects=False,
        )
    )
    rows = wait_settled(web_app, [ceilings, judged])
    assert {r.status for r in rows.values()} == {"done"}, [r.message for r in rows.values()]

    frontier = viewer.get(f"/runs/{ceilings}").text
    assert "Trần hằng năm nhỏ nhất đạt mọi chỉ tiêu với độ tin cậy 90%:" in frontier
    assert "100,00 tỷ đồng" in frontier and "(tìm được)" in frontier
    assert f'src="/runs/{ceilings}/files/chart_frontier.png"' in frontier
    assert viewer.get(f"/runs/{ceilings}/files/ceilings.csv").status_code == 200
    manifest = rows[ceilings].manifest
    assert manifest is not None and "--simulate" in manifest["argv"]

    judgement = viewer.get(f"/runs/{judged}").text
    assert "lượt đào tạo của kế hoạch như đã viết đạt mọi chỉ tiêu cùng lúc" in judgement
    assert "Xác suất đạt: kế hoạch vững" in judgement
    folder = web_settings.results_dir / str(rows[judged].folder)
    answer = viewer.get(f"/runs/{judged}/files/judge_targets.csv")
    assert answer.content == (folder / "judge_targets.csv").read_bytes()
    # both listed on their pages and in the runs list
    assert f'id="run-{judged}"' in viewer.get(f"/versions/{version}/judge").text
    listing = viewer.get("/runs").text
    assert f'id="run-{ceilings}"' in listing and f'id="run-{judged}"' in listing


# ---------------------------------------------------------------------- many users at once
def test_three_plans_of_three_users_beside_twenty_what_ifs(
    web_app: FastAPI, web_settings: WebSettings, logged_in: Callable[..., WebClient]
) -> None:
    """Everything at once on two cores: three planners (two provinces) queue a plan each on
    their own version while twenty viewers, each on a session of their own, ask what-ifs.
    Every request is answered; each run's folder holds its own user's version; each what-if
    answers its own inputs."""
    planners = [
        logged_in("planner", provinces=["Long An"]),
        logged_in("planner", provinces=["Long An"]),
        logged_in("planner", provinces=["Tây Ninh"]),
    ]
    provinces = ["Long An", "Long An", "Tây Ninh"]
    versions = [
        add_version(web_app, p, who.user.username, variant(f"user {i}"))  # type: ignore[union-attr]
        for i, (p, who) in enumerate(zip(provinces, planners, strict=True))
    ]
    viewers = [logged_in("viewer", provinces=["Long An"]) for _ in range(4)]
    what_if_version = versions[0]
    clients: list[WebClient] = []
    for i in range(20):  # a login session each (made directly: twenty password checks cost 4 s)
        who = viewers[i % 4]
        c = who.fresh()
        with web_app.state.web.sessions() as db:
            token = sessions.start(db, db.merge(who.user), web_settings)
        c.cookies.set(sessions.COOKIE, token)
        c.user = who.user
        clients.append(c)
    assert len({c.cookies.get("simopt_session") for c in clients}) == 20

    queued: dict[int, int] = {}
    answers: dict[int, Any] = {}
    failures: list[str] = []
    start = threading.Barrier(23)

    def queue_plan(i: int) -> None:
        try:
            token = planners[i].csrf_token()
            start.wait(timeout=120)
            answer = planners[i].post(
                f"/versions/{versions[i]}/plan",
                data={**QUICK_PLAN, "csrf_token": token},
                follow_redirects=False,
            )
            queued[i] = run_id_of(answer)
        except Exception as exc:  # every failure is reported below
            failures.append(f"plan {i}: {exc!r}")

    def ask(i: int) -> None:
        try:
            token = clients[i].csrf_token()
            start.wait(timeout=120)
            answers[i] = clients[i].post(
                f"/versions/{what_if_version}/whatif",
                data={"pass-level4": str(40 + i), "confidence": "90"},
                headers={"HX-Request": "true", "X-CSRF-Token": token},
            )
        except Exception as exc:  # every failure is reported below
            failures.append(f"what-if {i}: {exc!r}")

    threads = [threading.Thread(target=queue_plan, args=(i,)) for i in range(3)]
    threads += [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=WAIT)
    assert not failures, failures
    assert sorted(answers) == list(range(20)) and sorted(queued) == [0, 1, 2]
    for i, answer in answers.items():
        assert answer.status_code == 200, answer.text[:300]
        assert 'id="whatif-result"' in answer.text and "<html" not in answer.text
        assert "Chi phí tối thiểu đạt mọi chỉ tiêu theo kỳ vọng" in answer.text
        assert f"60% → <strong>{40 + i}%</strong>" in answer.text, i  # its own input
        assert "whatif-errors" not in answer.text and "whatif-problem" not in answer.text

    rows = wait_settled(web_app, list(queued.values()))
    folders = set()
    for i, run_id in queued.items():
        row = rows[run_id]
        assert row.status == "done", row.message
        assert row.user_id == planners[i].user.id  # type: ignore[union-attr]
        assert row.scenario_version_id == versions[i]
        manifest = read_manifest(web_settings.results_dir / str(row.folder))
        assert manifest["run_id"] == Path(str(row.folder)).name
        assert manifest["scenarios"][0]["file_sha256"] == version_sha(web_app, versions[i])
        assert f"(user {i})" in manifest["scenarios"][0]["resolved_yaml"]
        folders.add(row.folder)
    assert len(folders) == 3
    # nothing half-written left behind
    assert not list(web_settings.results_dir.glob("long_an/.tmp-*"))
    # side by side: the two Long An plans for a Long An planner; the third is not theirs
    first, second, third = (queued[i] for i in range(3))
    compare = planners[0].get(f"/runs/compare?run={first}&run={second}")
    assert compare.status_code == 200
    assert "Chi phí kế hoạch vững" in compare.text
    assert f"Lần chạy số {first}" in compare.text and f"Lần chạy số {second}" in compare.text
    assert planners[0].get(f"/runs/compare?run={first}&run={third}").status_code == 403
    alone = planners[0].get(f"/runs/compare?run={first}")
    assert "Hãy chọn ít nhất hai kế hoạch đã xong để so sánh." in alone.text


# -------------------------------------------------------------------------- a server restart
def test_a_restart_fails_the_run_left_running_and_requeues_the_queued(
    web_app: FastAPI, web_settings: WebSettings, logged_in: Callable[..., WebClient]
) -> None:
    planner = logged_in("planner", provinces=["Long An"])
    version = add_version(web_app, "Long An", "planner1")
    with web_app.state.web.sessions() as db:  # as a server killed mid-run leaves them
        left = Run(
            scenario_version_id=version,
            kind="plan",
            parameters={"confidence": 0.9, "reps": 200, "price": False, "lang": "vi"},
            status="running",
            progress=0.4,
            message="web.runs.stage.robust",
            user_id=planner.user.id,  # type: ignore[union-attr]
        )
        waiting = Run(
            scenario_version_id=version,
            kind="judge",
            parameters={"confidence": 0.9, "reps": 200, "lang": "vi"},
            status="queued",
            message=jobs.STAGE_QUEUED,
            user_id=planner.user.id,  # type: ignore[union-attr]
        )
        db.add_all([left, waiting])
        db.commit()
        left_id, waiting_id = left.id, waiting.id
    restarted = create_app(web_settings)  # the same database and results, a new server
    try:
        with type(planner)(restarted) as c:  # `with` runs the app's startup
            c.cookies.set("simopt_session", planner.cookies.get("simopt_session") or "")
            rows = wait_settled(restarted, [left_id, waiting_id])
            assert rows[left_id].status == "failed"
            assert rows[left_id].message == jobs.FAILED_RESTART
            assert rows[waiting_id].status == "done", rows[waiting_id].message
            page = c.get(f"/runs/{left_id}")
            assert "Máy chủ đã dừng khi lần chạy này đang chạy" in page.text
            assert "Đã có kết quả" in c.get(f"/versions/{version}/judge").text
    finally:
        jobs.stop(restarted)
        restarted.state.web.engine.dispose()


def test_a_worker_that_dies_fails_its_run_and_the_queue_goes_on(
    web_app: FastAPI, web_settings: WebSettings, logged_in: Callable[..., WebClient]
) -> None:
    """A worker process killed mid-run (out of memory, a kill -9): its run fails with a clear
    line, the pool is rebuilt, and the run queued behind it is computed."""
    web_settings.worker_threads = 1  # one worker: the second run waits behind the first
    planner = logged_in("planner", provinces=["Long An"])
    version = add_version(web_app, "Long An", "planner1")
    long_plan = {"confidence": "90", "reps": "2000", "price": "1", "ceiling": ""}
    doomed = run_id_of(
        planner.post_form(f"/versions/{version}/plan", long_plan, follow_redirects=False)
    )
    deadline = time.monotonic() + WAIT
    while True:
        with web_app.state.web.sessions() as db:
            status = db.scalar(select(Run.status).where(Run.id == doomed))
        if status == "running":
            break
        assert status == "queued" and time.monotonic() < deadline, status
        time.sleep(0.1)
    behind = run_id_of(
        planner.post_form(
            f"/versions/{version}/judge",
            {"confidence": "90", "reps": "200"},
            follow_redirects=False,
        )
    )
    pool = jobs.job_queue(web_app)._pool
    assert pool is not None
    for pid in list(pool._processes):  # type: ignore[attr-defined]
        os.kill(pid, signal.SIGKILL)
    rows = wait_settled(web_app, [doomed, behind])
    assert rows[doomed].status == "failed" and rows[doomed].message == jobs.FAILED_WORKER
    assert rows[behind].status == "done", rows[behind].message
    assert "Tiến trình tính toán đã dừng đột ngột" in planner.get(f"/runs/{doomed}").text
    assert not list(web_settings.results_dir.glob("long_an/2*-plan-*"))  # no half a run
