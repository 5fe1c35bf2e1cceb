"""Spending against the budget's envelopes: ceilings over a span of years (a phase) and the total.

The optimiser enforces them (:func:`simopt.optimize.lp.build_lp`); this reads a plan's costs back
against them for the reports, so that finance sees each phase's money beside its ceiling.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from simopt.dynamics import last_cost_year
from simopt.optimize.plan import Plan
from simopt.scenario import Scenario

ENVELOPE_COLUMNS = [
    "envelope",
    "first_year",
    "last_year",
    "source",
    "ceiling_vnd",
    "spent_vnd",
    "headroom_vnd",
    "within",
]
PUBLIC = "public"
"""The ``source`` of an envelope on all public sources together."""
TOTAL = "total"
"""The ``envelope`` name of ``budget.total_ceiling_vnd``."""


def envelope_table(plan: Plan, scenario: Scenario) -> pd.DataFrame:
    """One row per envelope (and the total ceiling, last): its span, whose money, its ceiling,
    what the plan's schedule spends in it and whether that is within it (to a đồng of solver
    rounding per billion)."""
    b = scenario.budget
    costs = plan.costs
    spans: list[tuple[str, int, int, str | None, float]] = [
        (eid, e.first_year, e.last_year, e.source, e.ceiling_vnd) for eid, e in b.envelopes.items()
    ]
    if b.total_ceiling_vnd is not None:
        last = last_cost_year(scenario)
        spans.append((TOTAL, scenario.horizon.start_year, last, None, b.total_ceiling_vnd))
    rows: list[dict[str, Any]] = []
    for name, first, last, source, ceiling in spans:
        spent = 0.0
        if not costs.empty:
            inside = costs[(costs["year"] >= first) & (costs["year"] <= last)]
            if source is None:
                inside = inside[inside["public"].astype(bool)]
            else:
                inside = inside[inside["funding_source"] == source]
            spent = float(inside["cost_vnd"].sum())
        rows.append(
            {
                "envelope": name,
                "first_year": first,
                "last_year": last,
                "source": source if source is not None else PUBLIC,
                "ceiling_vnd": float(ceiling),
                "spent_vnd": spent,
                "headroom_vnd": float(ceiling) - spent,
                "within": spent <= float(ceiling) * (1 + 1e-9) + 1.0,
            }
        )
    return pd.DataFrame(rows, columns=ENVELOPE_COLUMNS)


def with_total_ceiling(scenario: Scenario, total_vnd: float | None) -> Scenario:
    """The scenario with ``budget.total_ceiling_vnd`` set (``--total-ceiling-vnd``), so that
    everything downstream — the optimiser, the diagnosis, the robust loop, the run's recorded
    scenario — sees it as if the file said it; None leaves the scenario as it is."""
    if total_vnd is None:
        return scenario
    budget = scenario.budget.model_copy(update={"total_ceiling_vnd": float(total_vnd)})
    return scenario.model_copy(update={"budget": budget})
