"""Everything simopt hands on to people, behind one small interface that the CLI, notebooks and a
web app all call:

- ``from_optimize(plan, scenario)`` / ``from_robust(result, scenario, evidence)`` gather a run's
  answer into a :class:`ReportData` of plain tables, once;
- ``report_files(data, lang)`` renders it as ``workbook.xlsx``, ``report.html`` and the charts;
  ``answer_text(data, lang)`` as a few lines of text; ``figures(data, lang)`` as matplotlib
  figures for a notebook;
- ``plan_summary``/``plan_table`` (an optimiser's plan), ``robust_summary``/``robust_table``
  (a robust plan) and ``simulation_summary``/``simulation_table`` give the JSON and the detailed
  English text the CLI prints;
- ``records(frame)`` makes any table JSON-ready; ``messages(lang)`` is the catalogue.

Names are imported on first use, so that reading a catalogue does not load pandas or matplotlib.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "ReportData": "simopt.reporting.data",
    "from_optimize": "simopt.reporting.data",
    "from_robust": "simopt.reporting.data",
    "report_files": "simopt.reporting.outputs",
    "answer_text": "simopt.reporting.text",
    "figures": "simopt.reporting.charts",
    "charts": "simopt.reporting.charts",
    "render_report": "simopt.reporting.html",
    "write_workbook": "simopt.reporting.workbook",
    "plan_summary": "simopt.reporting.optimize",
    "plan_table": "simopt.reporting.optimize",
    "robust_summary": "simopt.reporting.plan",
    "robust_table": "simopt.reporting.plan",
    "plan_tables": "simopt.reporting.plan",
    "simulation_summary": "simopt.reporting.simulation",
    "simulation_table": "simopt.reporting.simulation",
    "records": "simopt.reporting.tables",
    "messages": "simopt.reporting.i18n",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'simopt.reporting' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
