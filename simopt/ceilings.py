"""The finance frontier as a sweep over yearly public ceilings: feasibility, minimum cost and
shortfall at each, optionally the probability each target is met there, and the smallest ceiling
meeting every target with a stated confidence. One function for the CLI and notebooks alike."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from simopt.format import people, vnd
from simopt.plan import RobustCeiling
from simopt.scenario import Scenario


@dataclass(frozen=True)
class CeilingSweep:
    scenario: str
    title: str
    table: pd.DataFrame
    """One row per ceiling: ceiling_vnd, status, feasible, min_cost_vnd, shortfalls per target
    and, when simulated, probability_met:<target>, min_probability_met, probability_all_met,
    probability_within_ceiling."""
    smallest_ceiling_vnd: float | None
    """Smallest yearly ceiling meeting every target in expectation (None: none does)."""
    confidence: float | None
    """The confidence the robust ceiling was sought at (None: not simulated)."""
    robust: RobustCeiling | None

    def records(self) -> list[dict[str, Any]]:
        """The table as JSON-ready rows: NaN (no value at that ceiling) becomes None."""
        return [
            {str(k): (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in self.table.to_dict(orient="records")
        ]

    def to_dict(self) -> dict[str, Any]:
        robust: dict[str, Any] = {}
        if self.robust is not None:
            robust = {
                "confidence": self.confidence,
                "smallest_ceiling_vnd_per_year_at_confidence": self.robust.ceiling_vnd,
                "at_confidence_message": self.robust.message,
            }
        return {
            "scenario": self.scenario,
            "smallest_feasible_ceiling_vnd_per_year": self.smallest_ceiling_vnd,
            **robust,
            "ceilings": self.records(),
        }

    def text(self) -> str:
        lines = [f"{self.title}: public budget ceiling per year → outcome"]
        for r in self.records():
            lines.append("  " + _row_text(r))
        if self.smallest_ceiling_vnd is None:
            lines.append(
                "No ceiling meets every target: seats, time or people available limit them."
            )
        else:
            lines.append(
                "Smallest yearly ceiling meeting every target in expectation: "
                f"{vnd(self.smallest_ceiling_vnd)}"
            )
        if self.robust is not None and self.confidence is not None:
            if self.robust.ceiling_vnd is None:
                lines.append(f"At {self.confidence:.0%} confidence: {self.robust.message}")
            else:
                lines.append(
                    f"Smallest yearly ceiling meeting every target with probability ≥ "
                    f"{self.confidence:.0%}: {vnd(self.robust.ceiling_vnd)}"
                )
        return "\n".join(lines)


def _row_text(r: dict[str, Any]) -> str:
    at = vnd(r["ceiling_vnd"])
    if r.get("status") == "not_solved":
        return f"{at}: the solver did not finish"
    simulated = not _missing(r.get("min_probability_met"))
    if r["feasible"] and simulated:
        return (
            f"{at}: every target met in expectation, minimum cost {vnd(r['min_cost_vnd'])};"
            f" lowest probability of a target being met {r['min_probability_met']:.0%}, "
            f"all together {r['probability_all_met']:.0%}; spending within the ceiling "
            f"every year {r['probability_within_ceiling']:.0%}"
        )
    if r["feasible"]:
        return f"{at}: every target met, minimum cost {vnd(r['min_cost_vnd'])}"
    short = [
        k.split(":", 1)[1]
        for k, v in r.items()
        if k.startswith("shortfall_people:") and not _missing(v) and v > 0
    ]
    return f"{at}: NOT feasible — short {people(r['shortfall_people'])} people ({', '.join(short)})"


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def sweep_ceilings(
    scenario: Scenario,
    *,
    from_vnd: float,
    to_vnd: float,
    steps: int = 10,
    simulate: bool = False,
    confidence: float = 0.9,
    reps: int = 500,
    seed: int = 0,
    engine: str = "fast",
    workers: int = 1,
    uncertainty: str = "ranges",
    joint: bool = False,
) -> CeilingSweep:
    """Solve at ``steps`` ceilings evenly from ``from_vnd`` to ``to_vnd`` (one model, re-solved
    warm); with ``simulate``, judge each ceiling's best schedule by simulation and search the
    smallest ceiling under which the robust plan holds at ``confidence``."""
    if not 0 <= from_vnd <= to_vnd:
        raise ValueError(f"need 0 ≤ from_vnd ≤ to_vnd, got {from_vnd} and {to_vnd}")
    if steps < 1:
        raise ValueError(f"steps must be ≥ 1, got {steps}")
    from simopt.dynamics import compile_dynamics
    from simopt.optimize.frontier import Frontier

    d = compile_dynamics(scenario)
    frontier = Frontier(d)
    rows = []
    for ceiling in np.linspace(from_vnd, to_vnd, steps):
        row = frontier.solve_at(float(ceiling))
        if simulate and row.get("status") != "not_solved":
            row.update(
                _simulated(
                    scenario, d, frontier, float(ceiling), reps, seed, engine, workers, uncertainty
                )
            )
        rows.append(row)
    robust = None
    if simulate:
        from simopt.plan import robust_ceiling

        robust = robust_ceiling(
            scenario,
            confidence=confidence,
            reps=reps,
            seed=seed,
            engine=engine,
            uncertainty=uncertainty,
            joint=joint,
        )
    return CeilingSweep(
        scenario=scenario.name,
        title=scenario.title or scenario.name,
        table=pd.DataFrame(rows),
        smallest_ceiling_vnd=frontier.smallest_ceiling_vnd,
        confidence=confidence if simulate else None,
        robust=robust,
    )


def _simulated(
    scenario: Scenario,
    d: Any,
    frontier: Any,
    ceiling: float,
    reps: int,
    seed: int,
    engine: str,
    workers: int,
    uncertainty: str,
) -> dict[str, float]:
    """The best schedule this ceiling allows, met or not, judged by simulation."""
    from simopt.simulate import schedule_frame
    from simopt.simulate import simulate as run_simulation

    sim = run_simulation(
        scenario,
        schedule_frame(d, frontier.last_schedule()),
        reps=reps,
        seed=seed,
        engine=engine,
        workers=workers,
        dynamics=d,
        uncertainty=uncertainty,
    )
    at = sim.summary[sim.summary["year"] == sim.summary["target_year"]]
    row: dict[str, float] = {
        f"probability_met:{rec['target']}": rec["probability_met"] for rec in at.to_dict("records")
    }
    row["min_probability_met"] = float(at["probability_met"].min())
    assert sim.joint is not None, "simulate always returns the joint table"
    overall = sim.joint[sim.joint["scope"] == "all"].iloc[0]
    row["probability_all_met"] = float(overall["probability_all_met"])
    within = sim.ceiling_table(ceiling)
    row["probability_within_ceiling"] = float(within["probability_within"].iloc[-1])
    return row
