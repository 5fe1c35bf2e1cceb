"""The re-plan's own block of text: planned against actual, past targets, the start state."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from simopt.reporting.i18n import messages

if TYPE_CHECKING:
    from simopt.replan import Replan
    from simopt.scenario import Scenario


def replan_text(
    rp: Replan,
    original: Scenario,
    lang: str,
    estimate_lines: list[str] | None = None,
    *,
    rates_used: bool = False,
) -> str:
    m = messages(lang)
    past = rp.past_years
    lines = [m("replan.title", year=rp.from_year, first=past[0], last=past[-1])]
    if original.actuals is not None and original.actuals.illustrative:
        lines.append(m("replan.illustrative"))
    lines += ["", m("replan.variance", plan=m("replan.plan_basis")), m("replan.variance_header")]
    v = rp.variance

    def pair(year: int, measure: str, money: bool) -> str:
        row = v[(v["year"] == year) & (v["measure"] == measure)].iloc[0]
        fmt = m.ty if money else m.people
        actual = row["actual"]
        shown = m("replan.not_recorded") if math.isnan(actual) else fmt(actual)
        return m("replan.pair", planned=fmt(row["planned"]), actual=shown)

    for year in past:
        lines.append(
            m(
                "replan.variance_row",
                year=year,
                enrolments=pair(year, "enrolments", False),
                passes=pair(year, "exam_passes", False),
                spending=pair(year, "spending_vnd", True),
            )
        )
    if len(rp.past_targets):
        lines += ["", m("replan.past_targets")]
        for t in rp.past_targets.to_dict("records"):
            gap = float(t["gap_points"])
            lines.append(
                m(
                    "replan.past_target",
                    target=t["target"],
                    year=t["year"],
                    planned=m.share(t["planned_share"], 1),
                    actual=m.share(t["actual_share"], 1),
                    gap=("+" if gap >= 0 else "−") + m.number(abs(gap), 1),
                    required=m.share(t["required_share"], 0)
                    if t["required_share"] is not None
                    else "—",
                    verdict=m("replan.met") if t["met"] else m("replan.missed"),
                    basis=t["basis"],
                )
            )
    c = rp.carried
    in_course = float(c.loc[c["stage"] == "in_course", "people"].sum())
    waiting = float(c.loc[c["stage"] == "waiting", "people"].sum())
    surveyed = rp.start_levels.loc[rp.start_levels["basis"] == "survey", "pool"].nunique()
    lines += [
        "",
        m(
            "replan.start",
            year=rp.from_year,
            training=m.people(in_course + waiting),
            in_course=m.people(in_course),
            waiting=m.people(waiting),
            surveyed=surveyed,
            pools=rp.start_levels["pool"].nunique(),
        ),
    ]
    if estimate_lines:
        lines += ["", m("replan.estimates")] + [f"  {line}" for line in estimate_lines]
        if rates_used:
            lines.append(m("replan.estimates_used"))
    lines += ["", m("replan.notes")] + [f"  - {n}" for n in rp.notes]
    end = rp.scenario.horizon.end_year
    lines += ["", m("replan.remaining", first=rp.from_year, last=end), ""]
    return "\n".join(lines)
