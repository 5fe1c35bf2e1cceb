"""The main job: a schedule that meets every target with a stated probability.

An expected-value schedule meets a target about half the time. The loop: optimise → simulate the
schedule → for each target held with less than the asked probability, add to its requirement the
margin the simulation shows is missing (the lower quantile of attained − required) → optimise
again, until every target holds or the optimiser says why it cannot. Margins only grow, so the
loop ends; the same seed is used in every round (common random numbers) so that rounds differ by
the schedule, not by luck.

The plan is whole people (unless ``continuous``): the expected-value plan is solved whole, the
tuning rounds continuous (each a fraction of the time of a whole-people solve, and the margins
they learn are about expectations, which rounding barely moves), and once a tuning schedule holds,
its margins are solved whole and *that* schedule is simulated again on the tuning sample before
the fresh-sample check: every probability reported is of the whole-people schedule reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.optimize import Plan, Status
from simopt.optimize.margins import MarginModel
from simopt.scenario import Scenario
from simopt.simulate import SimulationResult, simulate
from simopt.simulate.probability import is_met
from simopt.simulate.run import draw_sample
from simopt.uncertain.draws import ParameterDraws

FloatArray = npt.NDArray[np.float64]
MIN_STEP_PEOPLE = 1.0
"""Smallest margin increase a round makes, so that each round changes the schedule."""

AIM_SE = 1.5
"""Margins aim this many Monte Carlo standard errors above the asked confidence: a plan tuned
to sit exactly on the threshold of one sample is below it on the next about half the time."""

HOLD_SE = 0.5
"""The tuning sample must show the confidence plus this many standard errors."""

FAMILY_ERROR = 0.05
"""The fresh-sample check asks each estimate to be consistent with the confidence at a one-sided
family-wise 5% level (Bonferroni over the targets): with many targets, some would fall below
their own one-sided bound by chance alone."""

FRESH_STREAM = 0xF2E5
"""Entropy word of the fresh samples' seeds: each look at a plan gets a sample of its own."""


class PlanError(ValueError):
    """The planning loop was asked for something it cannot answer honestly."""


def min_replications(confidence: float) -> int:
    """Replications needed before "holds with probability ≥ confidence" means anything: about
    ten expected failures at that confidence."""
    return math.ceil(10.0 / (1.0 - confidence) - 1e-9)


@dataclass(frozen=True)
class RobustPlan:
    scenario: str
    confidence: float
    status: str
    """"met": every target holds with the asked probability; "not_met": the loop stopped short
    (see ``message``); "infeasible": not even the expected-value plan exists; "not_solved": the
    solver could not solve a model at all (``message`` says what it reported and why)."""
    message: str
    expected: Plan
    robust: Plan | None
    before: SimulationResult | None
    after: SimulationResult | None
    buffers: dict[str, float] = field(default_factory=dict)
    rounds: int = 0
    confirmed: SimulationResult | None = None
    """The final schedule simulated again on a fresh random stream (the margins were learnt on
    ``after``'s stream, so this is the out-of-sample check)."""
    joint: bool = False
    """Whether the confidence is asked of all targets together rather than of each."""
    uncertainty: str = "none"
    """"ranges" when the simulations drew the scenario's uncertain parameters."""

    @property
    def is_met(self) -> bool:
        return self.status == "met"

    def comparison(self) -> pd.DataFrame:
        """Per target at its year: expected attainment and probability, before and after."""
        rows: list[dict[str, Any]] = []
        if self.before is None:
            return pd.DataFrame()
        ev = _at_target_year(self.expected.attainment)
        b = _at_target_year(self.before.summary)
        robust = _at_target_year(self.robust.attainment) if self.robust is not None else None
        a = _at_target_year(self.after.summary) if self.after is not None else None
        for tid in ev.index:
            row: dict[str, Any] = {
                "target": tid,
                "year": int(ev.loc[tid, "year"]),
                "expected_attained_people": float(ev.loc[tid, "attained_people"]),
                "expected_share": float(ev.loc[tid, "attained_share"]),
                "probability_met_before": float(b.loc[tid, "probability_met"]),
                "buffer_people": self.buffers.get(tid, 0.0),
            }
            if robust is not None and a is not None:
                row["robust_expected_attained_people"] = float(robust.loc[tid, "attained_people"])
                row["robust_expected_share"] = float(robust.loc[tid, "attained_share"])
                row["probability_met"] = float(a.loc[tid, "probability_met"])
                row["probability_met_se"] = float(a.loc[tid, "probability_met_se"])
            if self.confirmed is not None:
                fresh = _at_target_year(self.confirmed.summary)
                row["probability_met_fresh_seed"] = float(fresh.loc[tid, "probability_met"])
                row["probability_met_fresh_low95"] = float(fresh.loc[tid, "probability_met_low95"])
                row["probability_met_fresh_high95"] = float(
                    fresh.loc[tid, "probability_met_high95"]
                )
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def extra_people(self) -> float | None:
        if self.robust is None or not self.robust.is_ok:
            return None
        return float(
            self.robust.schedule["enrolments"].sum() - self.expected.schedule["enrolments"].sum()
        )

    @property
    def extra_cost_vnd(self) -> float | None:
        if self.robust is None or self.robust.total_cost_vnd is None:
            return None
        return float(self.robust.total_cost_vnd - (self.expected.total_cost_vnd or 0.0))


def _at_target_year(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["year"] == frame["target_year"]].set_index("target")


def target_gaps(d: Dynamics, result: SimulationResult) -> dict[str, FloatArray]:
    """Per target, attained − required at the target's year in every replication (people)."""
    s = d.scenario
    gaps = {}
    for i, (tid, t) in enumerate(s.targets.items()):
        y = d.years.index(t.year)
        a = result.attained[:, i, y]
        b = result.base[:, i, y]
        need = t.required(b)
        gaps[tid] = a - need
    return gaps


def fresh_seed(seed: int, look: int) -> int:
    """The seed of the ``look``-th fresh sample of a run with ``seed``: its parameter draws and
    events share nothing with the tuning sample nor with an earlier look (a seed + 1 would, since
    row i of the draws does not depend on how many rows follow it)."""
    state = np.random.SeedSequence([seed, FRESH_STREAM, look]).generate_state(1, np.uint32)
    return int(state[0])


def fresh_tolerance(confidence: float, reps: int, tests: int) -> float:
    """How far below ``confidence`` an estimate from ``reps`` replications may fall and still be
    consistent with it, for ``tests`` estimates checked at once (simultaneous 95% intervals)."""
    z = float(stats.norm.isf(FAMILY_ERROR / max(tests, 1)))
    return z * math.sqrt(confidence * (1.0 - confidence) / reps)


def _fresh_ok(result: SimulationResult, d: Dynamics, confidence: float, joint: bool) -> bool:
    """Does a simulation on a fresh seed meet the confidence within its Monte Carlo error?"""
    if joint:
        assert result.joint is not None
        overall = result.joint[result.joint["scope"] == "all"]
        tolerance = fresh_tolerance(confidence, result.reps, 1)
        return float(overall["probability_all_met"].iloc[0]) >= confidence - tolerance
    gaps = target_gaps(d, result)
    tolerance = fresh_tolerance(confidence, result.reps, len(gaps))
    return all(float(np.mean(is_met(g))) >= confidence - tolerance for g in gaps.values())


def expected_slack(plan: Plan, scenario: Scenario) -> dict[str, float]:
    """Per target at its year: the plan's expected people above what the target requires."""
    at = plan.attainment
    if at is None or at.empty:
        return {}
    rows = at[at["year"] == at["target_year"]]
    out = {}
    for r in rows.to_dict("records"):
        tid = str(r["target"])
        need = float(scenario.targets[tid].required(float(r["base_people"])))
        out[tid] = max(float(r["attained_people"]) - need, 0.0)
    return out


def joint_level(gaps: dict[str, FloatArray], aim: float) -> float:
    """The per-target quantile whose margins would make all targets hold together with ``aim``
    in this sample: each target's gap shifted up by its margin at that quantile, the share of
    replications where every shifted gap is ≥ 0 found by bisection (it rises with the quantile).
    """
    g = np.stack(list(gaps.values()))  # (targets, reps)
    n = g.shape[1]

    def together(q: float) -> float:
        shift = np.maximum(0.0, -np.quantile(g, 1.0 - q, axis=1))
        return float(np.mean(np.all(is_met(g + shift[:, None]), axis=0)))

    lo, hi = aim, 1.0 - 0.5 / n
    if together(lo) >= aim:
        return lo
    for _ in range(30):
        mid = 0.5 * (lo + hi)
        if together(mid) >= aim:
            hi = mid
        else:
            lo = mid
    return float(hi)


def _weakest(result: SimulationResult, d: Dynamics, joint: bool) -> str:
    if joint and result.joint is not None:
        row = result.joint[result.joint["scope"] == "all"].iloc[0]
        return (
            f"all targets together at {row['probability_all_met']:.1%} "
            f"[{row['probability_all_met_low95']:.1%}–{row['probability_all_met_high95']:.1%}]"
        )
    probs = {t: float(np.mean(is_met(g))) for t, g in target_gaps(d, result).items()}
    tid = min(probs, key=lambda t: probs[t])
    return f"the weakest target, {tid}, at {probs[tid]:.1%}"


def robust_plan(
    scenario: Scenario,
    *,
    confidence: float = 0.9,
    reps: int = 1000,
    seed: int = 0,
    ceiling_vnd: float | None = None,
    engine: str = "fast",
    workers: int = 1,
    solver: str = "highs",
    max_rounds: int = 12,
    progress: Callable[[str], None] | None = None,
    start_buffers: dict[str, float] | None = None,
    uncertainty: str = "ranges",
    joint: bool = False,
    max_reps: int | None = None,
    continuous: bool = False,
    known_expected: Plan | None = None,
) -> RobustPlan:
    """Optimise, simulate, and add margins until every target holds with ``confidence`` (each
    on its own, or all together with ``joint``) over both the drawn parameters and luck.

    The margins are learnt on one sample (the same parameter draws and event streams in every
    round) and aimed ``AIM_SE`` Monte Carlo standard errors above the confidence, so that the
    plan does not sit on the threshold by luck. The plan is "met" only when a fresh sample (a
    seed of its own, :func:`fresh_seed`) is consistent with the confidence within its Monte Carlo
    error (one-sided, all targets at once); otherwise the replications are doubled (up to
    ``max_reps``, default 4 × ``reps``), the margins re-aimed and the next look takes another
    fresh sample.

    ``continuous``: plan in fractions of people throughout (faster; not a schedule anyone can
    enrol). ``known_expected``: the expected-value plan when the caller has it already (it must be
    this scenario's, with this ceiling, solver and ``continuous``), e.g. for a ladder of
    confidence levels.
    """
    if not 0.0 < confidence < 1.0:
        raise PlanError(f"confidence(={confidence}) must lie strictly between 0 and 1")
    if reps < min_replications(confidence):
        raise PlanError(
            f"--reps {reps} is too few to show a probability of {confidence:.0%}: use at least "
            f"{min_replications(confidence)} (about ten expected misses)"
        )
    d = compile_dynamics(scenario)
    say = progress or (lambda _msg: None)
    cap = max_reps if max_reps is not None else 4 * reps
    n = reps

    # every round simulates on the same sample: its parameters are drawn once for each size
    samples: dict[int, ParameterDraws | None] = {}

    def sim(plan: Plan) -> SimulationResult:
        if n not in samples:
            samples[n] = draw_sample(d, uncertainty, n, seed)
        return simulate(
            scenario,
            plan.schedule,
            reps=n,
            seed=seed,
            engine=engine,
            workers=workers,
            dynamics=d,
            uncertainty=uncertainty,
            parameters=samples[n],
        )

    # only the margins change between rounds: the model is built once (see MarginModel)
    model = MarginModel(scenario, ceiling_vnd=ceiling_vnd, solver=solver, dynamics=d)

    def solve(buffers: dict[str, float], *, whole: bool = False) -> Plan:
        # tuning rounds are continuous; ``whole`` asks for the schedule to report
        return model.optimize(buffers, continuous=continuous or not whole)

    def stop(
        status: str,
        message: str,
        plan: Plan,
        result: SimulationResult,
        round_: int,
        fresh: SimulationResult | None = None,
    ) -> RobustPlan:
        return RobustPlan(
            scenario.name,
            confidence,
            status,
            message,
            expected,
            plan,
            before,
            result,
            dict(buffers),
            round_,
            fresh,
            joint=joint,
            uncertainty=result.uncertainty,
        )

    expected = known_expected if known_expected is not None else solve({}, whole=True)
    if not expected.is_ok:
        return RobustPlan(
            scenario.name,
            confidence,
            "infeasible" if expected.status is Status.INFEASIBLE else "not_solved",
            expected.message,
            expected,
            None,
            None,
            None,
            joint=joint,
        )
    before = sim(expected)
    buffers = dict.fromkeys(scenario.targets, 0.0)
    plan, result = expected, before
    if start_buffers:
        # resume from margins learnt elsewhere (e.g. at a lower confidence, or without a ceiling)
        buffers.update(start_buffers)
        candidate = solve(buffers)
        if not candidate.is_ok:
            return stop(
                _failed(candidate),
                f"the margins the targets need do not fit: {candidate.message}",
                plan,
                result,
                0,
            )
        plan, result = candidate, sim(candidate)
    round_ = 0
    looks = 0
    while True:
        gaps = target_gaps(d, result)
        probs = {t: float(np.mean(is_met(g))) for t, g in gaps.items()}
        together = float(np.mean(np.all([is_met(g) for g in gaps.values()], axis=0)))
        # held on the tuning sample only with room for its own Monte Carlo error: a plan that
        # scrapes past the threshold there falls below it on the next sample
        bar = confidence + HOLD_SE * math.sqrt(confidence * (1.0 - confidence) / n)
        held = together >= bar if joint else min(probs.values()) >= bar
        short_count = sum(p < confidence for p in probs.values())
        say(
            f"round {round_}: {n} replications, "
            + (f"all together {together:.1%}" if joint else f"{short_count} target(s) below")
            + f" {confidence:.0%}"
        )
        if held and not continuous and not plan.integer:
            # the tuning schedule holds: solve its margins in whole people, and judge that
            whole = solve(buffers, whole=True)
            if not whole.is_ok:
                return stop(
                    _failed(whole),
                    f"the margins hold in fractions of people but not in whole people: "
                    f"{whole.message}",
                    plan,
                    result,
                    round_,
                )
            plan, result = whole, sim(whole)
            say(f"round {round_}: the schedule in whole people")
            continue
        if held:
            fresh = simulate(
                scenario,
                plan.schedule,
                reps=n,
                seed=fresh_seed(seed, looks),
                engine=engine,
                workers=workers,
                dynamics=d,
                uncertainty=uncertainty,
                split_variance=True,
            )
            looks += 1
            if _fresh_ok(fresh, d, confidence, joint):
                what = "all targets together hold" if joint else "every target holds"
                return stop(
                    "met",
                    f"{what} with probability ≥ {confidence:.0%} (checked on a fresh sample)",
                    plan,
                    result,
                    round_,
                    fresh,
                )
            if n * 2 > cap:
                return stop(
                    "not_met",
                    f"the plan meets {confidence:.0%} on its tuning sample but not on a fresh one "
                    f"({_weakest(fresh, d, joint)} with {n} replications); run with more "
                    "--reps",
                    plan,
                    result,
                    round_,
                    fresh,
                )
            n *= 2  # the estimate is too rough near the threshold: look closer
            say(f"fresh sample short ({_weakest(fresh, d, joint)}): {n} replications")
            result = sim(plan)
            continue
        if round_ >= max_rounds:
            return stop(
                "not_met",
                f"no schedule found in {max_rounds} rounds ({_weakest(result, d, joint)})",
                plan,
                result,
                round_,
            )
        round_ += 1
        se = math.sqrt(confidence * (1.0 - confidence) / n)
        aim = min(confidence + AIM_SE * se, 1.0 - 0.5 / n)
        if joint:
            # the per-target quantile at which, in this sample, all hold together often enough
            aim = joint_level(gaps, aim)
        short = {t: g for t, g in gaps.items() if probs[t] < aim}
        slack = expected_slack(plan, scenario)
        for tid, g in short.items():
            missing = -float(np.quantile(g, 1.0 - aim))
            # a margin below the plan's own expected surplus binds nothing: start from the
            # surplus, or a target held by drift alone would never move
            buffers[tid] = max(buffers[tid], slack.get(tid, 0.0)) + max(missing, MIN_STEP_PEOPLE)
        candidate = solve(buffers)
        if not candidate.is_ok:
            names = ", ".join(sorted(t for t in short if probs[t] < confidence) or sorted(short))
            why = candidate.message  # the optimiser names the cause: seats, ceiling, people
            return stop(
                _failed(candidate),
                f"{names} cannot be made to hold with probability {confidence:.0%}: {why}",
                plan,
                result,
                round_,
            )
        plan, result = candidate, sim(candidate)


def _failed(plan: Plan) -> str:
    """The loop's status when a margin's re-solve fails: short of the confidence, or a model the
    solver could not solve (which no margin explains)."""
    return "not_met" if plan.status is Status.INFEASIBLE else "not_solved"


@dataclass(frozen=True)
class RobustCeiling:
    ceiling_vnd: float | None
    """Smallest uniform yearly public ceiling found with every target held at the confidence."""
    plan: RobustPlan | None
    message: str


def robust_ceiling(
    scenario: Scenario,
    *,
    confidence: float = 0.9,
    reps: int = 1000,
    seed: int = 0,
    engine: str = "fast",
    max_rounds: int = 8,
    uncertainty: str = "ranges",
    joint: bool = False,
    continuous: bool = False,
) -> RobustCeiling:
    """The smallest yearly ceiling under which the robust loop still meets every target.

    Margins learnt without a ceiling give, by LP, the smallest ceiling that can carry them; the
    schedule under that ceiling has another shape, so it is simulated again and the margins and
    the ceiling are raised until the plan holds.
    """
    d = compile_dynamics(scenario)
    free = robust_plan(
        scenario,
        confidence=confidence,
        reps=reps,
        seed=seed,
        engine=engine,
        uncertainty=uncertainty,
        joint=joint,
        continuous=continuous,
    )
    if not free.is_met:
        return RobustCeiling(None, None, f"even without a ceiling: {free.message}")
    from simopt.optimize.solve import smallest_ceiling

    buffers = dict(free.buffers)
    for _ in range(max_rounds):
        # whole people need a little more than fractions: ask for the ceiling they need
        ceiling = smallest_ceiling(d, solver="highs", buffers=buffers, integer=not continuous)
        if ceiling is None:
            return RobustCeiling(None, None, "no ceiling carries the margins the targets need")
        ceiling *= 1.0 + 1e-6  # solver tolerance
        held = robust_plan(
            scenario,
            confidence=confidence,
            reps=reps,
            seed=seed,
            engine=engine,
            ceiling_vnd=ceiling,
            start_buffers=buffers,
            uncertainty=uncertainty,
            joint=joint,
            continuous=continuous,
        )
        if held.is_met:
            return RobustCeiling(
                ceiling,
                held,
                ("all targets together hold" if joint else "every target holds")
                + f" with probability ≥ {confidence:.0%} under this ceiling",
            )
        buffers = dict(held.buffers)
    return RobustCeiling(None, None, f"no stable ceiling found in {max_rounds} rounds")
