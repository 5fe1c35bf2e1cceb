"""Recalculate a workbook's formulas with headless LibreOffice, for tests.

openpyxl writes formulas without their values, so a test can only check a formula's result after
a spreadsheet program has computed it. LibreOffice converts the workbook to .xlsx again and stores
each formula's value in the copy, which ``openpyxl.load_workbook(data_only=True)`` then reads.

By default LibreOffice does *not* recalculate an .xlsx on loading: it keeps whatever values the
file holds (setting "Recalculation on File Load" for Excel 2007 and newer: "Never recalculate").
A stale value would then pass for a right one. So every conversion runs in a profile of its own
whose registrymodifications.xcu sets ``/org.openoffice.Office.Calc/Formula/Load/OOXMLRecalcMode``
to 0, "Always recalculate" (1 is never, 2 is ask), and a private profile also keeps the tests
away from the user's LibreOffice and from another LibreOffice already running.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

TIMEOUT_S = 120.0
"""A conversion takes about a second; the first one in a fresh profile a little longer."""

ALWAYS_RECALCULATE = 0

_REGISTRY = f"""<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
           xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" \
oor:op="fuse"><value>{ALWAYS_RECALCULATE}</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" \
oor:op="fuse"><value>{ALWAYS_RECALCULATE}</value></prop></item>
</oor:items>
"""

FILTER = "xlsx:Calc MS Excel 2007 XML"


def soffice() -> str:
    """The soffice program; a test that needs it fails (never skips) when it is missing."""
    found = shutil.which("soffice") or shutil.which("libreoffice")
    if found is None:
        pytest.fail(
            "LibreOffice's soffice is not on PATH: the workbook's formulas cannot be checked. "
            "Install it with `make system-packages` (Debian package libreoffice-calc-nogui).",
            pytrace=False,
        )
    return found


class LibreOffice:
    """Headless LibreOffice with a profile of its own (one per test session: the profile is
    created on first use, which costs a second, and reused after)."""

    def __init__(self, profile: Path, timeout_s: float = TIMEOUT_S) -> None:
        self.program = soffice()
        self.profile = profile
        self.timeout_s = timeout_s
        user = profile / "user"
        user.mkdir(parents=True, exist_ok=True)
        (user / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")

    def recalculate(self, workbook: Path, out_dir: Path) -> Path:
        """A copy of ``workbook`` in ``out_dir`` (same name) with every formula's value
        computed by LibreOffice. ``out_dir`` must not be the workbook's own folder."""
        out_dir.mkdir(parents=True, exist_ok=True)
        if out_dir.resolve() == workbook.parent.resolve():
            raise ValueError(f"{out_dir}: LibreOffice would overwrite the workbook it reads")
        out = out_dir / workbook.name
        out.unlink(missing_ok=True)
        command = [
            self.program,
            f"-env:UserInstallation={self.profile.resolve().as_uri()}",
            "--headless",
            "--norestore",
            "--nologo",
            "--convert-to",
            FILTER,
            "--outdir",
            str(out_dir),
            str(workbook),
        ]
        # soffice starts soffice.bin as a child: a session of its own lets a timeout stop both
        proc = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = proc.communicate(timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(
                f"LibreOffice did not convert {workbook.name} within {self.timeout_s:g} s",
                pytrace=False,
            )
        if proc.returncode != 0 or not out.exists():
            pytest.fail(
                f"LibreOffice could not recalculate {workbook.name} (exit {proc.returncode}): "
                f"{stdout.strip()} {stderr.strip()}",
                pytrace=False,
            )
        return out
