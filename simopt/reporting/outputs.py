"""The files a run hands on — workbook.xlsx, report.html and the charts — as bytes for the run
folder, which writes them atomically with the tables."""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

from simopt.reporting.data import ReportData

ZIP_TIME = (2020, 1, 1, 0, 0, 0)
"""Every member of the workbook's zip is dated this: the same plan gives the same bytes, so
that ``simopt rerun`` can check a workbook like any other table."""


_STAMP = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def stable_zip(data: bytes) -> bytes:
    """The same zip with fixed member dates, and the document's created and modified stamps
    fixed too (openpyxl stamps both with the clock)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            member = zipfile.ZipInfo(info.filename, date_time=ZIP_TIME)
            member.compress_type = zipfile.ZIP_DEFLATED
            member.external_attr = 0o644 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _STAMP.sub(rb"\g<1>2020-01-01T00:00:00Z\g<2>", content)
            dst.writestr(member, content)
    return out.getvalue()


def workbook_bytes(data: ReportData, lang: str) -> bytes:
    from simopt.reporting.workbook import write_workbook

    with tempfile.TemporaryDirectory(prefix="simopt-workbook-") as tmp:
        path = Path(tmp) / "workbook.xlsx"
        write_workbook(data, path, lang)
        return stable_zip(path.read_bytes())


def report_files(data: ReportData, lang: str) -> dict[str, bytes]:
    """Every hand-on file of a run: name → bytes."""
    from simopt.reporting.charts import charts
    from simopt.reporting.html import render_report

    # drawn once: the same PNGs are embedded in the report and written beside it
    images = charts(data, lang)
    files = {
        "workbook.xlsx": workbook_bytes(data, lang),
        "report.html": render_report(data, lang, images=images).encode("utf-8"),
    }
    for name, png in images.items():
        files[f"chart_{name}.png"] = png
    return files
