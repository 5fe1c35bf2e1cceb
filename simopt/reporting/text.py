"""The answer in a few lines of plain text, in Vietnamese or English, from the catalogue: what
the CLI prints with ``--lang`` and what heads the HTML report's answer."""

from __future__ import annotations

from simopt.reporting.data import ReportData
from simopt.reporting.i18n import Messages, messages
from simopt.reporting.tables import missing

HEADLINE_DIGITS = 1
"""Costs in tỷ đồng to one decimal (100 million đồng): the unit costs behind them are assumptions
known to a few per cent, so more digits would claim a precision nobody has. The workbook keeps
every đồng, for the sums a finance officer checks."""

STATUSES = ("met", "not_met", "optimal", "infeasible", "unbounded", "not_solved")


def status_text(data: ReportData, m: Messages) -> str:
    """The status in words; a status the catalogue does not know is shown as the library's
    own English sentence rather than hidden."""
    if data.status in STATUSES:
        key = f"cli.status.{data.kind}.{data.status}"
        if m.has(key):
            return m(key, confidence=m.share(data.question.get("confidence")))
    return data.message


def answer_lines(data: ReportData, lang: str) -> list[str]:
    m = messages(lang)
    lines = [data.title, m("cli.answer", status=status_text(data, m))]
    if data.total_cost_vnd is not None and not data.schedule.empty:
        lines.append(
            m(
                "cli.total_cost",
                ty=m.ty(data.total_cost_vnd, HEADLINE_DIGITS),
                public=m.ty(data.public_cost_vnd, HEADLINE_DIGITS),
            )
        )
        lines.append(m("cli.people", people=m.people(float(data.schedule["enrolments"].sum()))))
    if data.expected_cost_vnd is not None and data.kind == "plan":
        lines.append(m("cli.expected_cost", ty=m.ty(data.expected_cost_vnd, HEADLINE_DIGITS)))
    premium = data.rounding_premium_vnd
    if premium is not None:
        lines.append(m("cli.rounding_premium", premium=m.vnd(premium), lp=m.ty(data.lp_cost_vnd)))
    if not data.targets.empty:
        lines.append(m("cli.targets_heading"))
        for r in data.targets.to_dict("records"):
            need = m.share(r["required_share"]) if not missing(r["required_share"]) else "—"
            line = m(
                "cli.target_line",
                target=r["target"],
                year=r["year"],
                expected=m.share(r["expected_share"], 1),
                required=need,
            )
            if not r["met"] and missing(r["probability_met"]):
                line += m("cli.target_short")
            if not missing(r["probability_met"]):
                line += m(
                    "cli.target_probability",
                    probability=m.share(r["probability_met"]),
                    interval=m.interval(r["probability_low95"], r["probability_high95"]),
                )
            lines.append("  " + line)
    if not data.joint.empty:
        overall = data.joint[data.joint["scope"] == "all"]
        if not overall.empty:
            o = overall.iloc[0]
            lines.append(
                m(
                    "cli.all_together",
                    probability=m.share(float(o["probability_all_met"])),
                    interval=m.interval(
                        float(o["probability_all_met_low95"]),
                        float(o["probability_all_met_high95"]),
                    ),
                )
            )
    if data.status not in ("met", "optimal"):
        # the library's reason names what binds (a ceiling, a source, seats, people)
        lines.append(m("cli.reason", reason=data.message))
        if data.smallest_ceiling_vnd is not None:
            lines.append(
                m("cli.smallest_ceiling", ty=m.ty(data.smallest_ceiling_vnd, HEADLINE_DIGITS))
            )
    if not data.budget.empty:
        by_year = data.budget_by_year()
        parts = []
        for phase in data.phases:
            inside = by_year[
                (by_year["year"] >= phase.first_year) & (by_year["year"] <= phase.last_year)
            ]
            public = float(inside["public_cost_vnd"].sum())
            parts.append(f"{phase.label}: {m.ty(public, HEADLINE_DIGITS)}")
        lines.append(m("cli.public_by_phase", phases="; ".join(parts)))
    return lines


def answer_text(data: ReportData, lang: str) -> str:
    return "\n".join(answer_lines(data, lang))
