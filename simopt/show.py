"""A readable summary of a scenario: groups, pools, eligible base, targets as people needed, and
the uncertain assumptions the simulator draws."""

from __future__ import annotations

import math

from simopt.errors import printable
from simopt.format import people, vnd
from simopt.scenario import Scenario
from simopt.uncertain.spec import Range, is_drawn_mix, is_drawn_scalar
from simopt.yamlio import ASSUMPTION

SOURCE_CHARS = 60


def people_needed(scenario: Scenario, target_id: str) -> int:
    """People at or above the target level the target asks for, against the starting base."""
    target = scenario.targets[target_id]
    need = 0
    if target.share is not None:
        need = math.ceil(target.share * scenario.eligible_base(target) - 1e-9)
    if target.min_count is not None:
        need = max(need, target.min_count)
    return need


def holding_at_start(scenario: Scenario, target_id: str) -> float:
    """Eligible people already at or above the target's level at the start of the horizon."""
    target = scenario.targets[target_id]
    pools = scenario.pools()
    return sum(
        n
        for pid in scenario.target_pools(target)
        for lvl, n in pools[pid][1].start_levels().items()
        if lvl >= target.min_level
    )


def summary(scenario: Scenario) -> str:
    s = scenario
    h = s.horizon
    lines = [
        f"{s.title or s.name}",
        f"  horizon {h.start_year}–{h.end_year}, milestones {', '.join(map(str, h.milestones))}",
        "",
        "Groups and pools (headcount / excluded / eligible):",
    ]
    for gid, g in s.groups.items():
        lines.append(
            f"  {gid}: {people(g.headcount)} / {people(g.headcount - g.eligible)} / "
            f"{people(g.eligible)}  {g.name}"
        )
        for pid, p in g.pools.items():
            attrs = ", ".join(f"{k}={v}" for k, v in p.attributes.items())
            lines.append(
                f"    {pid}: {people(p.headcount)} / {people(p.excluded)} / {people(p.eligible)}"
                + (f"  [{attrs}]" if attrs else "")
                + f"  attrition {p.attrition_rate_per_year:.1%}/yr, hires {p.hires_per_year:g}/yr"
            )
    lines += ["", "Courses:"]
    for cid, c in s.courses.items():
        cap = c.capacity_per_year
        lines.append(
            f"  {cid}: level {c.entry_level}→{c.target_level}, {c.duration_months} months, "
            f"{vnd(c.tuition_vnd_per_trainee)} per trainee, completion {c.completion_rate:.0%}, "
            f"pass {c.exam_pass_probability:.0%}, "
            + ("unlimited seats" if cap is None else f"{people(cap)} seats/yr")
        )
    ex = s.exams
    lines.append(
        f"  exams: months {', '.join(map(str, ex.session_months))}, fee {vnd(ex.fee_vnd)}, "
        f"up to {ex.max_attempts} attempt(s)"
    )
    lines += ["", "Targets (eligible base at the start; people at the level now → needed):"]
    for tid, t in s.targets.items():
        parts = []
        if t.share is not None:
            parts.append(f"{t.share:.0%}")
        if t.min_count is not None:
            parts.append(f"≥ {people(t.min_count)} people")
        where = "".join(f", {k}={v}" for k, v in t.where.items())
        lines.append(
            f"  {tid} ({t.year}): {' and '.join(parts)} at level ≥ {t.min_level} of "
            f"{'+'.join(t.groups)}{where}; base {people(s.eligible_base(t))}; "
            f"now {people(holding_at_start(s, tid))} → needed {people(people_needed(s, tid))}"
        )
    lines += _start_lines(s)
    budget = s.budget
    if budget.ceiling_vnd_per_year is not None or budget.ceiling_vnd_by_year:
        lines += ["", f"Budget ceiling (public sources): {vnd(budget.ceiling_vnd_per_year)} a year"]
    n_assumed = sum(1 for v in s.provenance.sources.values() if v.startswith("assumption"))
    lines += [
        "",
        f"Numbers: {len(s.provenance.sources)} in all, {n_assumed} marked assumption "
        f"({len(s.provenance.unsourced)} written without a source).",
    ]
    lines += ["", *uncertainty_lines(s)]
    # Titles, names, attribute values and sources are the file's text: a control character in
    # one (ESC, CR, a bidi override) would act on the terminal instead of being shown. Each line
    # is escaped as a whole, so that nothing added later to the summary can slip through.
    return "\n".join(printable(line) for line in lines)


def _start_lines(s: Scenario) -> list[str]:
    """Who is in training on 1 January, and what the record holds."""
    lines: list[str] = []
    st = s.start
    if not st.empty:
        lines += ["", f"In training on 1 January {s.horizon.start_year}:"]
        for e in st.in_course:
            lines.append(
                f"  {people(e.people)} of {e.pool} in course {e.course} (intake {e.intake_year})"
            )
        for w in st.waiting:
            lines.append(
                f"  {people(w.people)} of {w.pool} waiting to sit {w.course} "
                f"({w.attempts_used} attempt(s) used)"
            )
        for q in st.queued:
            lines.append(f"  {people(q.people)} of {q.pool} queued for {q.course}")
    if s.actuals is not None and s.actuals.years:
        years = sorted(s.actuals.years)
        kinds = sorted(
            {name for rec in s.actuals.years.values() for name, part in rec if part is not None}
        )
        lines += [
            "",
            f"Record (actuals) of {years[0]}–{years[-1]}: {', '.join(kinds)}"
            + (" — ILLUSTRATIVE, not the province's results" if s.actuals.illustrative else ""),
            f"  re-plan from {years[-1] + 1} with: simopt plan FILE --from-year {years[-1] + 1}",
        ]
    return lines


def unranged_assumptions(scenario: Scenario) -> list[str]:
    """Paths of assumptions of a kind the simulator draws that carry no range or concentration
    (they are used as stated in every replication) and whose source does not say why (the words
    "not drawn" and a reason)."""
    u = scenario.uncertainties
    out: dict[str, None] = {}
    for path, source in scenario.provenance.sources.items():
        if not source.startswith(ASSUMPTION) or "not drawn" in source:
            continue
        table = path.rpartition(".")[0]
        if is_drawn_scalar(path):
            key = path
        elif is_drawn_mix(table):  # a level table's source is recorded per level
            key = table
        else:
            continue
        if key not in u.ranges and key not in u.level_mixes:
            out[key] = None
    return list(out)


def uncertainty_lines(scenario: Scenario) -> list[str]:
    """The uncertain assumptions, level mixes and correlations, and how many assumptions have
    no range."""
    u = scenario.uncertainties
    lines: list[str] = []
    if u.any:
        lines.append("Uncertain assumptions (drawn in every replication):")
        lines += [f"  {_range_line(r)}" for r in u.ranges.values()]
    else:
        lines.append("Uncertain assumptions: none (every replication uses the stated values).")
    if u.level_mixes:
        lines.append("Level mixes (Dirichlet around the stated shares):")
        for m in u.level_mixes.values():
            level = 0 if 0 in m.shares else min(m.shares)
            lines.append(
                f"  {m.path}: concentration {m.concentration:g} (level-{level} share "
                f"{m.shares[level]:.2f}, sd ≈ {m.share_sd(level):.3f}) — {_short(m.source)}"
            )
    if u.correlations:
        lines.append("Correlations (Spearman rank, in every replication):")
        for c in u.correlations:
            lines.append(f"  {printable(c.label)}: {c.rank_correlation:g} — {_short(c.source)}")
            lines.append(f"    between {', '.join(c.paths)}")
    none = unranged_assumptions(scenario)
    explained = sum(
        1
        for path, source in scenario.provenance.sources.items()
        if is_drawn_scalar(path) and source.startswith(ASSUMPTION) and "not drawn" in source
    )
    lines.append(
        f"{len(u.ranges)} numbers carry a range, {len(u.level_mixes)} level tables a "
        f"concentration; {len(none)} assumptions of a kind the simulator draws have none"
        + (f" ({', '.join(none)})" if none else "")
        + (f" ({explained} say why they are not drawn)" if explained else "")
        + "."
    )
    return lines


def _range_line(r: Range) -> str:
    spread = f"[{_number(r.low)}–{_number(r.high)}] {r.distribution}"
    if r.distribution == "normal":
        spread += f" sd {_number(r.normal_sd)}"
    return f"{r.path}: {_number(r.value)} {spread} — {_short(r.source)}"


def _number(x: float) -> str:
    if float(x).is_integer() and abs(x) >= 10_000:
        return people(x)
    return f"{x:g}"


def _short(text: str) -> str:
    text = " ".join(text.split())
    shown = printable(text, SOURCE_CHARS)
    if shown != text and shown.endswith("…"):  # cut: no space before the ellipsis
        shown = shown[:-1].rstrip() + "…"
    return shown
