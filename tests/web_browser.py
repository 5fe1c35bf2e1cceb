"""The web app in a real browser: a live server and a headless Chromium driven by Selenium.

In a test module: ``pytest_plugins = ["web_browser"]`` (import its names only under
``TYPE_CHECKING``, as for ``web_fixtures``), then e.g.::

    def test_something(live_server, browser):
        live_server.add_user("lan", "planner", provinces=["Long An"])
        browser.login("lan")
        browser.step("home")          # a screenshot, and the page's checks

**The server** (:func:`live_server`, one per test module) is the app of ``create_app`` served by
uvicorn in a background thread on a free port of 127.0.0.1, with its own results folder and
SQLite file under pytest's temporary directory; users are made with ``simopt users add
--password-stdin`` as an administrator would. It stops (and its background runs with it) when
the module's tests are done.

**The browser** (:func:`browser`, one per test) is Debian's ``chromium`` through the system's
``chromedriver`` (package ``chromium-driver``; ``make test`` installs both) named explicitly, so
Selenium Manager never goes to the network; headless, a fixed window of :data:`WINDOW`
pixels, its own profile and download folder, and English as the browser's language (a
Vietnamese page is then the app's default, not the browser's wish). The pages' text is drawn
with the DejaVu fonts (``fonts-dejavu-core``), Vietnamese diacritics included. Missing the
browser or its driver is a failure saying how to install it, never a skip.

**Every step** (:meth:`Browser.step`) takes a full-page screenshot into
``results/e2e-screenshots/<test>/NN-<step>.png`` (``$SIMOPT_E2E_SCREENSHOTS`` names another
folder; kept after the run, emptied at the start of the next, its path printed at the end), and
checks that the browser's console has no error, that no answer of the app was a server error,
and that the page neither asked for nor names anything outside the app's origin. A failing test
leaves a last screenshot, ``99-failure.png``.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from selenium import webdriver
from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    TimeoutException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from simopt.web.app import create_app
from simopt.web.settings import WebSettings

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery staple"
WINDOW = (1280, 900)
"""The browser window, in CSS pixels: a common office laptop screen."""
SCREENSHOTS_ENV = "SIMOPT_E2E_SCREENSHOTS"
DEFAULT_SCREENSHOTS = ROOT / "results" / "e2e-screenshots"
BROWSERS = ("chromium", "chromium-browser")
DRIVERS = ("chromedriver",)
DRIVER_FALLBACK = "/usr/bin/chromedriver"
START_TIMEOUT_S = 30
PAGE_TIMEOUT_S = 30
MAX_SHOT_HEIGHT = 8000
"""A full-page screenshot is cut at this many CSS pixels."""
LOCAL_SCHEMES = ("data", "blob", "about", "javascript")
"""URL schemes that reach nothing outside the page (``javascript:`` is refused by the CSP)."""
TRANSIENT = (NoSuchElementException, StaleElementReferenceException)
"""What a page being swapped or reloaded raises while a wait polls it."""
URL_ATTRIBUTES = ("src", "href", "action", "formaction", "hx-get", "hx-post", "hx-put")


# --------------------------------------------------------------------------------- the server
@dataclass
class LiveServer:
    """The app, served: ``url`` ends without a slash; ``settings`` are the app's."""

    url: str
    app: FastAPI
    settings: WebSettings
    users: dict[str, str] = field(default_factory=dict)

    def add_user(
        self,
        username: str,
        role: str,
        *,
        provinces: Sequence[str] = (),
        language: str | None = None,
        password: str = PASSWORD,
    ) -> str:
        """``simopt users add`` as an administrator types it (the password on standard
        input); the username."""
        cmd = [sys.executable, "-m", "simopt", "users", "add", username, "--role", role]
        for name in provinces:
            cmd += ["--province", name]
        if language is not None:
            cmd += ["--language", language]
        cmd += ["--password-stdin", "--db", self.settings.database_url]
        done = subprocess.run(
            cmd, input=password + "\n", capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, f"{' '.join(cmd)}: {done.stderr.strip()}"
        self.users[username] = password
        return username


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The app served by uvicorn in a thread, on a free port, with a fresh results folder."""
    results = tmp_path_factory.mktemp("e2e") / "results"
    results.mkdir()
    settings = WebSettings(results_dir=results, scenarios_dir=ROOT / "scenarios")
    app = create_app(settings)
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, lifespan="on", server_header=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="e2e-uvicorn", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail(f"the web app did not start on 127.0.0.1:{port} in {START_TIMEOUT_S} s")
        time.sleep(0.05)
    try:
        yield LiveServer(url=f"http://127.0.0.1:{port}", app=app, settings=settings)
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()
        app.state.web.engine.dispose()
        assert not thread.is_alive(), "the web app did not stop within 60 s"


# -------------------------------------------------------------------------------- the browser
def _program(names: Sequence[str], fallback: str | None, package: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    if fallback and os.access(fallback, os.X_OK):
        return fallback
    pytest.fail(
        f"the end-to-end tests drive headless Chromium and did not find {names[0]}: install "
        f"Debian's `{package}` package (`make test` does it through its system-packages step)",
        pytrace=False,
    )


def chromium_binary() -> str:
    return _program(BROWSERS, None, "chromium")


def chromedriver_binary() -> str:
    return _program(DRIVERS, DRIVER_FALLBACK, "chromium-driver")


def screenshots_root() -> Path:
    return Path(os.environ.get(SCREENSHOTS_ENV) or DEFAULT_SCREENSHOTS).resolve()


_shots_cleared = False


def _clear_screenshots(root: Path) -> None:
    """Empty the screenshots of the previous run (PNGs in per-test folders, nothing else)."""
    global _shots_cleared
    if _shots_cleared:
        return
    _shots_cleared = True
    if root.is_dir():
        for png in root.glob("*/*.png"):
            png.unlink()
        for folder in root.iterdir():
            if folder.is_dir() and not any(folder.iterdir()):
                folder.rmdir()


class Browser:
    """One headless Chromium on the live server, with the checks every step runs."""

    def __init__(self, driver: webdriver.Chrome, base: str, shots: Path, downloads: Path) -> None:
        self.driver = driver
        self.base = base
        self.origin = "{0.scheme}://{0.netloc}".format(urlsplit(base))
        self.shots = shots
        self.downloads = downloads
        self.screenshots: list[Path] = []
        self.requests: list[str] = []
        self.responses: list[tuple[int, str]] = []
        self._count = 0

    # ---- navigation
    def open(self, path: str) -> None:
        self.driver.get(urljoin(self.base + "/", path))
        self.wait_loaded()

    def wait_loaded(self) -> None:
        self.wait(
            lambda d: d.execute_script("return document.readyState") == "complete",
            PAGE_TIMEOUT_S,
            "the page to load",
        )

    def wait(self, condition: Callable[[Any], Any], timeout: float, what: str) -> Any:
        try:
            return WebDriverWait(
                self.driver, timeout, poll_frequency=0.5, ignored_exceptions=TRANSIENT
            ).until(condition)
        except TimeoutException:
            self.step(f"timeout-{what}", check=False)
            pytest.fail(f"waited {timeout:.0f} s for {what}; the page is at {self.path}")

    def wait_htmx_idle(self, timeout: float = PAGE_TIMEOUT_S) -> None:
        """Wait until no htmx request is in flight (htmx marks its element ``htmx-request``)."""
        self.wait(
            lambda d: not d.execute_script("return document.querySelector('.htmx-request')"),
            timeout,
            "htmx to finish",
        )

    @property
    def path(self) -> str:
        parts = urlsplit(self.driver.current_url)
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str = "main") -> str:
        """What the browser renders for the element (its visible text)."""
        return self.find(css).text

    def submit(self, button: WebElement) -> None:
        """Click a form's button (or a link) and wait for the next page to load."""
        old = self.driver.find_element(By.TAG_NAME, "html")
        button.click()
        self.wait(_stale(old), PAGE_TIMEOUT_S, "the next page")
        self.wait_loaded()

    follow = submit

    def fill(self, css: str, value: str) -> None:
        box = self.find(css)
        box.clear()
        box.send_keys(value)

    # ---- the app's own moves
    def login(self, username: str, password: str = PASSWORD) -> None:
        if not self.path.startswith("/login"):
            self.open("/login")
        self.fill("#username", username)
        self.fill("#password", password)
        self.submit(self.find("form[action='/login'] button[type=submit]"))

    def logout(self) -> None:
        self.submit(self.find("form[action='/logout'] button[type=submit]"))

    def switch_language(self, code: str) -> None:
        self.submit(self.find(f".lang-switch button[value='{code}']"))

    # ---- the checks and the record
    def step(self, name: str, *, allow_status: Sequence[int] = (), check: bool = True) -> Path:
        """A full-page screenshot named ``NN-name.png``; then (unless ``check=False``) no console
        error, no server error, nothing outside the app's origin. ``allow_status``: the HTTP
        statuses the page itself is expected to answer with (e.g. 403 for a refusal), whose
        "Failed to load resource" line the browser logs as an error."""
        self._count += 1
        slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "step"
        out = self.shots / f"{self._count:02d}-{slug}.png"
        self.screenshot(out)
        if check:
            self.check_console(allow_status)
            self.check_network()
            self.check_page_urls()
        return out

    def screenshot(self, out: Path) -> None:
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        width = max(int(size["width"]), 1)
        height = min(max(int(size["height"]), 1), MAX_SHOT_HEIGHT)
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
            },
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        self.screenshots.append(out)

    def console_errors(self, allow_status: Sequence[int] = ()) -> list[str]:
        errors = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            message = str(entry["message"])
            expected = any(
                f"status of {status} " in message for status in allow_status
            ) and message.startswith(self.origin)
            if not expected:
                errors.append(message)
        return errors

    def check_console(self, allow_status: Sequence[int] = ()) -> None:
        errors = self.console_errors(allow_status)
        assert not errors, f"{self.path}: the browser's console has errors:\n" + "\n".join(errors)

    def _read_network(self) -> None:
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            params = message.get("params", {})
            if message.get("method") == "Network.requestWillBeSent":
                # the app's pages' requests and redirects (not those of the browser's own
                # new-tab page, before the first navigation)
                came_from = params.get("redirectResponse", {}).get("url", "")
                if self._local(params.get("documentURL", "")) or self._local(came_from):
                    self.requests.append(params["request"]["url"])
            elif message.get("method") == "Network.responseReceived":
                response = params["response"]
                self.responses.append((int(response["status"]), response["url"]))

    def check_network(self) -> None:
        """Every request the browser made went to the app; no answer was a server error."""
        self._read_network()
        outside = [u for u in self.requests if not self._local(u)]
        assert not outside, f"requests outside {self.origin}: {outside}"
        failed = [(s, u) for s, u in self.responses if s >= 500]
        assert not failed, f"server errors: {failed}"

    def check_page_urls(self) -> None:
        """Every URL the page names (src, href, form actions, htmx targets) is the app's."""
        found = self.driver.execute_script(
            """
            const names = arguments[0];
            const urls = [];
            for (const el of document.querySelectorAll('*')) {
              for (const name of names) {
                const value = el.getAttribute(name);
                if (value !== null) urls.push([el.tagName.toLowerCase(), name, value]);
              }
            }
            return urls;
            """,
            list(URL_ATTRIBUTES),
        )
        outside = [
            f"<{tag} {name}={value!r}>"
            for tag, name, value in found
            if not self._local(urljoin(self.driver.current_url, value))
        ]
        assert not outside, f"{self.path} names URLs outside {self.origin}: {outside}"

    def _local(self, url: str) -> bool:
        if not url:
            return False
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            return True
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def image_loaded(self, element: WebElement) -> bool:
        return bool(
            self.driver.execute_script(
                "const i = arguments[0]; return i.complete && i.naturalWidth > 0;", element
            )
        )


def _stale(element: WebElement) -> Callable[[Any], bool]:
    def gone(_driver: Any) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        return False

    return gone


def chrome_options(profile: Path, downloads: Path) -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = chromium_binary()
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={WINDOW[0]},{WINDOW[1]}",
        "--force-device-scale-factor=1",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--metrics-recording-only",
        # an English browser: the pages are Vietnamese because the app says so, not the browser
        "--lang=en-US",
        "--font-render-hinting=none",
    ):
        options.add_argument(flag)
    options.add_experimental_option(
        "prefs",
        {
            "download.default_directory": str(downloads),
            "download.prompt_for_download": False,
            "download.directory_upgrade": True,
            "safebrowsing.enabled": False,
            "intl.accept_languages": "en-US,en",
        },
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return options


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"e2e_report_{report.when}", report)


@pytest.fixture
def browser(
    live_server: LiveServer, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[Browser]:
    """A fresh headless Chromium on the live server (no cookies), for one test."""
    root = screenshots_root()
    _clear_screenshots(root)
    shots = root / re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    service = Service(executable_path=chromedriver_binary(), log_output=subprocess.DEVNULL)
    driver = webdriver.Chrome(
        service=service, options=chrome_options(tmp_path / "profile", downloads)
    )
    driver.set_page_load_timeout(PAGE_TIMEOUT_S)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior",
        {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
    )
    page = Browser(driver, live_server.url, shots, downloads)
    try:
        yield page
    finally:
        report = getattr(request.node, "e2e_report_call", None)
        if report is not None and report.failed:
            # a dead browser cannot: the test's own failure says why
            with contextlib.suppress(Exception):
                page.screenshot(shots / "99-failure.png")
        driver.quit()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    root = screenshots_root()
    if _shots_cleared and root.is_dir():
        count = len(list(root.glob("*/*.png")))
        terminalreporter.write_line(f"end-to-end screenshots ({count}): {root}")
