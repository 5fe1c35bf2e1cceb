"""Headless Chromium for tests: a page rendered to a screenshot, a PDF or its DOM.

The report is judged by a real browser, not by string matching alone. Each call gets a profile
directory of its own under the test's tmp_path, so that tests running side by side never share
(or lock) one. Chromium missing is a failure with the way to install it, never a silent skip:
``make test`` installs it through its system-packages step.
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
import time
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from matplotlib.image import imread

NAMES = ("chromium", "chromium-browser", "google-chrome")
TIMEOUT_S = 120
"""A cold start on a loaded machine takes a few seconds; two minutes means it hangs."""
A4_POINTS = (595.28, 841.89)
"""210 × 297 mm in PostScript points."""

_profiles = itertools.count()


def executable() -> str:
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.fail(
        "headless Chromium is needed to render the HTML report and was not found "
        f"(looked for {', '.join(NAMES)} on PATH): install Debian's `chromium` package — "
        "`make test` does it through its system-packages step",
        pytrace=False,
    )


def run(page: Path, tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], float]:
    """Chromium on ``page`` with ``flags``; the finished process and its wall time in seconds."""
    profile = tmp_path / f"chromium-profile-{next(_profiles)}"
    cmd = [
        executable(),
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--hide-scrollbars",
        *flags,
        page.resolve().as_uri(),
    ]
    start = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"chromium did not finish within {TIMEOUT_S} s: {' '.join(cmd)}")
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-15:])
        pytest.fail(f"chromium exited with {proc.returncode}: {' '.join(cmd)}\n{tail}")
    return proc, elapsed


def screenshot(page: Path, out: Path, tmp_path: Path, size: tuple[int, int]) -> float:
    """A PNG of the page's first ``size`` (width, height) pixels; the seconds it took."""
    _, elapsed = run(page, tmp_path, f"--screenshot={out}", f"--window-size={size[0]},{size[1]}")
    return elapsed


def print_pdf(page: Path, out: Path, tmp_path: Path) -> float:
    """The page printed to PDF as its @page rules ask (no browser header or footer)."""
    _, elapsed = run(page, tmp_path, f"--print-to-pdf={out}", "--no-pdf-header-footer")
    return elapsed


def dump_dom(page: Path, tmp_path: Path) -> str:
    """The DOM as the browser parsed it, serialised."""
    proc, _ = run(page, tmp_path, "--dump-dom")
    return proc.stdout


class _Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.sources += [v or "" for k, v in attrs if k == "src"]


def image_sources(html: str) -> list[str]:
    """The ``src`` of every ``<img>`` of a document."""
    parser = _Images()
    parser.feed(html)
    return parser.sources


def pdf_pages(pdf: bytes) -> list[tuple[float, float]]:
    """Each page's size in points, read from its MediaBox (Chromium writes page objects
    uncompressed)."""
    number = rb"\s*([-\d.]+)"
    boxes = re.findall(
        # a page object, then its MediaBox before the object ends
        rb"/Type\s*/Page\b(?!s)(?:(?!endobj).)*?/MediaBox\s*\[" + number * 4,
        pdf,
        flags=re.S,
    )
    return [(float(x1) - float(x0), float(y1) - float(y0)) for x0, y0, x1, y1 in boxes]


def decode_png(png: bytes) -> npt.NDArray[np.float32]:
    """A PNG as an array of floats in [0, 1] (height × width × channels)."""
    return np.asarray(imread(io.BytesIO(png), format="png"), dtype=np.float32)


def luminance(image: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    rgb = image[..., :3] if image.ndim == 3 else image
    return rgb.mean(axis=-1) if rgb.ndim == 3 else rgb


def assert_not_blank(image: npt.NDArray[np.float32], what: str) -> None:
    """Something is drawn: dark ink on a light page, not one flat colour."""
    lum = luminance(image)
    dark = float((lum < 0.5).mean())
    assert lum.std() > 0.02, f"{what}: the image is one flat colour (std {lum.std():.4f})"
    assert dark > 0.002, f"{what}: almost no dark pixels ({dark:.4%})"
    assert float((lum > 0.9).mean()) > 0.3, f"{what}: no light background"
