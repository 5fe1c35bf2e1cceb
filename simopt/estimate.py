"""Pass and completion rates learnt from the record: the scenario's assumption updated by what
actually happened (:mod:`simopt.actuals`).

For each course whose record holds exam results (``actuals.years.Y.exams``) or course ends
(``…completions``), and whose rate carries a range in the scenario, :func:`estimate_rates` gives
the posterior of that rate and offers an updated assumption (value, range, distribution, source)
that :func:`rate_overrides` turns into ``--set``-style overrides.

**Prior.** The scenario's own range and distribution for the number (``value`` the mode; e.g.
triangular on [0.45, 0.80], mode 0.60): what the province believed before the record.

**What the record counts.** ``completions`` counts the trainees whose course ended in a year and
those who completed it: a binomial in the completion rate c itself. ``exams`` counts *sittings*,
first attempts and retakes together, and a retake passes with p × f (f =
``exams.retake_pass_factor``, :func:`simopt.dynamics.sitting_pass_probability`). So the share of
a year's sittings that pass is q(p) = p × (w1 + (1 − w1) f'), with w1 the share of first attempts
among them and f' = min(1, p f)/p. w1 depends on p itself (the more fail, the more retakes) and
on the intakes behind the year, so it is computed for every candidate p
(:func:`sitting_pass_share`) from the course's sittings (:func:`simopt.dynamics.exam_sittings`:
``max_attempts`` of them, attempt a falling ``year_offset`` years after the intake): of each
intake's completers, attempt a is sat by a share Π_{j<a} (1 − p_j), and a year's sittings are the
attempts that fall in it of the intakes the record gives (:func:`intakes_behind`; on Long An's
timing the first attempts of the year's intake and the retakes of the year before's). With
rising intakes first attempts weigh more than in one cohort (ignoring that moves Long An's
illustrative estimates up by about half a point). A year whose intakes are not recorded is
counted as one cohort's own mix. Attrition between a fail and the retake (three months, under 1%
of people) is left out, and so is the completion rate, which every attempt of an intake shares.
f is itself uncertain: the likelihood is averaged over f's own prior (:data:`RETAKE_POINTS`
equal-probability quantiles), so that its uncertainty widens p's posterior rather than being
assumed away.

**Tempering.** A year's results are not independent draws of one fixed rate: cohorts, test forms
and centres move the pass rate from year to year. Each year's result is therefore taken to tell
the long-run rate up to a year-to-year spread τ as well as binomial noise: a year of n trials
counts as n·m/(n + m) trials, with m = :data:`EFFECTIVE_TRIALS_PER_YEAR` = 200, i.e. τ ≈ 3.5
points at a rate of 0.6 (√(0.6·0.4/200)); the year's log-likelihood is scaled by m/(n + m). A
year of 2,000 sittings then counts as 182, five such years as about 900: more years narrow the
posterior, more sittings within a year soon stop doing so. (A beta-binomial with the spread
estimated from the years themselves was the alternative; with five years that estimate would be
noisier than the rate. The table reports the years' own spread beside it, to check τ.)

**Posterior.** Prior × tempered likelihood on a fine grid (:data:`GRID_POINTS`) over the prior's
range: no MCMC needed for one number. The posterior lies inside the prior's range by
construction; when the record alone (a flat prior on [0, 1]) puts its 98% interval (1%–99%)
wholly outside that range, the row says the record contradicts the assumed range.

**Offered assumption.** value = the posterior mode rounded to 0.01; range = the posterior's 1% and
99% quantiles rounded outward to 0.01; distribution triangular: on a range spanning the 1–99%
quantiles a triangular has about the posterior's own spread (sd ≈ width/4.9 against a normal's
width/4.65), where a PERT would be narrower (width/5.3) than the evidence allows. A prior given as
a normal stays normal, with the posterior's sd.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

from simopt.actuals import counts_by_year, recorded_enrolments
from simopt.dynamics import exam_sittings, sitting_pass_probability
from simopt.scenario import Scenario
from simopt.uncertain.draws import PERT_SHAPE, quantile
from simopt.uncertain.spec import Range

FloatArray = npt.NDArray[np.float64]

EFFECTIVE_TRIALS_PER_YEAR = 200.0
"""m: a year of n trials counts as n·m/(n + m). 200 trials is a year-to-year spread of the rate of
about 3.5 points (√(0.6·0.4/200)): VSTEP pass rates differ between cohorts, forms and centres by
a few points, and that spread, not the binomial noise of thousands of sittings, is what limits
what one year says about the years to come."""

GRID_POINTS = 4001
"""Grid points over the prior's range: 0.0001 apart on a range of 0.4."""

RETAKE_POINTS = 41
"""Equal-probability points of the retake factor's prior the likelihood is averaged over."""

INTERVAL = (0.05, 0.95)
"""The posterior interval reported (90%)."""

OFFERED_QUANTILES = (0.01, 0.99)
"""The offered range: the posterior's 1% and 99% quantiles, rounded outward to 0.01."""

CONTRADICTION = (0.01, 0.99)
"""The record contradicts the assumed range when its own 98% interval (flat prior) misses it."""

COLUMNS: tuple[str, ...] = (
    "path",
    "course",
    "parameter",
    "prior_value",
    "prior_low",
    "prior_high",
    "prior_distribution",
    "years",
    "trials",
    "successes",
    "observed_share",
    "first_attempt_share",
    "implied_value",
    "effective_trials",
    "yearly_share_sd",
    "posterior_mean",
    "posterior_sd",
    "posterior_low",
    "posterior_high",
    "offered_value",
    "offered_low",
    "offered_high",
    "offered_distribution",
    "offered_sd",
    "contradicts",
    "source",
)


@dataclass(frozen=True)
class Kind:
    """One rate the record speaks to: where its counts are and how they are worded."""

    parameter: str
    part: str
    fields: tuple[str, str]
    trials: str
    verb: str
    what: str


PASS = Kind("exam_pass_probability", "exams", ("sat", "passed"), "sittings", "passed", "exam")
COMPLETION = Kind(
    "completion_rate",
    "completions",
    ("finished", "completed"),
    "trainees whose course ended",
    "completed",
    "course",
)


@dataclass(frozen=True)
class Evidence:
    """A course's recorded counts for one rate, year by year."""

    years: tuple[int, ...]
    trials: FloatArray
    successes: FloatArray

    @property
    def weights(self) -> FloatArray:
        """Each year's tempering factor m/(n + m): its log-likelihood counts n·m/(n + m) trials."""
        m = EFFECTIVE_TRIALS_PER_YEAR
        w: FloatArray = m / (self.trials + m)
        return w

    @property
    def effective_trials(self) -> float:
        return float(np.sum(self.trials * self.weights))


@dataclass(frozen=True)
class Posterior:
    """A distribution on a grid: the points and their probabilities (summing to 1)."""

    grid: FloatArray
    weights: FloatArray

    @property
    def mean(self) -> float:
        return float(self.grid @ self.weights)

    @property
    def sd(self) -> float:
        return math.sqrt(max(float(((self.grid - self.mean) ** 2) @ self.weights), 0.0))

    @property
    def mode(self) -> float:
        return float(self.grid[int(np.argmax(self.weights))])

    def quantile(self, q: float) -> float:
        cdf = np.cumsum(self.weights)
        return float(self.grid[min(int(np.searchsorted(cdf, q)), len(self.grid) - 1)])


# --------------------------------------------------------------------------- the model of a record


def sitting_pass_share(
    p: Any, retake_factor: float, attempts: int, intakes: FloatArray | None = None
) -> FloatArray:
    """Expected share of exam sittings that pass, at first-attempt probability ``p`` (a number or
    an array): attempt a is sat by those who failed the a − 1 before it.

    ``intakes[a − 1]`` is the size of the intake whose attempt a falls in the year counted
    (recorded enrolments); None counts one cohort's own sittings (every attempt from one intake).
    """
    first = np.asarray(p, dtype=float)
    sizes = np.ones(attempts) if intakes is None else intakes
    reach = np.ones_like(first)  # the share of a cohort's completers that sits attempt a
    sat = np.zeros_like(first)
    passed = np.zeros_like(first)
    for attempt in range(1, attempts + 1):
        pa = np.asarray(sitting_pass_probability(first, retake_factor, attempt), dtype=float)
        sat += sizes[attempt - 1] * reach
        passed += sizes[attempt - 1] * reach * pa
        reach = reach * (1.0 - pa)
    share: FloatArray = passed / sat
    return share


def first_attempt_share(
    p: float, retake_factor: float, attempts: int, intakes: FloatArray | None = None
) -> float:
    """w1: the share of sittings that are first attempts, at first-attempt probability ``p``
    (``intakes`` as in :func:`sitting_pass_share`)."""
    sizes = np.ones(attempts) if intakes is None else intakes
    reach, sat = 1.0, 0.0
    for attempt in range(1, attempts + 1):
        sat += float(sizes[attempt - 1]) * reach
        reach *= 1.0 - float(sitting_pass_probability(p, retake_factor, attempt))
    return float(sizes[0]) / sat


def intakes_behind(s: Scenario, course: str, years: tuple[int, ...]) -> FloatArray:
    """(years, attempts): the recorded intake of ``course`` whose attempt a falls in each year.

    Attempt a of an intake falls ``year_offset`` years after it (:func:`exam_sittings`), so a
    year's sittings mix first attempts of one intake with retakes of earlier ones, in
    proportion to their sizes: with rising intakes first attempts weigh more than in one
    cohort. Intakes before the horizon are none (nobody was in training at its start). A year
    fed by an intake the record does not give is counted as one cohort (a row of ones).
    """
    offsets = [sp.year_offset for sp in exam_sittings(s, course)]
    out = np.ones((len(years), len(offsets)))
    for i, year in enumerate(years):
        sizes = [_intake(s, course, year - off) for off in offsets]
        if all(n is not None for n in sizes) and any(sizes):
            out[i] = [float(n or 0) for n in sizes]
    return out


def _intake(s: Scenario, course: str, year: int) -> int | None:
    if year < s.horizon.start_year:
        return 0
    recorded = recorded_enrolments(s, year)
    if recorded is None:
        return None
    return sum(n for (_, c), n in recorded.items() if c == course)


def retake_factors(s: Scenario) -> FloatArray:
    """Equal-probability points of the retake factor's prior (its stated value when it has none)."""
    r = s.uncertainties.ranges.get("exams.retake_pass_factor")
    if r is None:
        return np.array([s.exams.retake_pass_factor])
    u = (np.arange(RETAKE_POINTS) + 0.5) / RETAKE_POINTS
    return quantile(r, u)


def success_probability(
    s: Scenario, kind: Kind, course: str, years: tuple[int, ...], grid: FloatArray
) -> FloatArray:
    """(retake factors, years, grid): the probability that one trial recorded in each year
    succeeds, for each value of the rate on the grid (completions: the rate itself; sittings:
    the year's q(p) for each retake factor)."""
    if kind is COMPLETION:
        return np.broadcast_to(grid, (1, len(years), len(grid)))
    intakes = intakes_behind(s, course, years)
    attempts = intakes.shape[1]
    return np.stack(
        [
            np.stack([sitting_pass_share(grid, f, attempts, row) for row in intakes])
            for f in retake_factors(s)
        ]
    )


def log_likelihood(evidence: Evidence, q: FloatArray) -> FloatArray:
    """Tempered binomial log-likelihood on the grid, averaged over the first axis of ``q`` (the
    retake factor's prior), up to a constant; ``q`` is (factors, years, grid)."""
    q = np.clip(q, 1e-12, 1.0 - 1e-12)
    n, k, w = evidence.trials, evidence.successes, evidence.weights
    wk, wf = (w * k)[None, :, None], (w * (n - k))[None, :, None]
    per_row = np.sum(np.log(q) * wk + np.log1p(-q) * wf, axis=1)
    averaged: FloatArray = special.logsumexp(per_row, axis=0) - math.log(q.shape[0])
    return averaged


def prior_density(r: Range, grid: FloatArray) -> FloatArray:
    """The prior's density on the grid (inside [low, high])."""
    lo, hi, mode = r.low, r.high, r.value
    width = hi - lo
    if r.distribution == "triangular":
        c = (mode - lo) / width
        return np.asarray(stats.triang.pdf(grid, c, loc=lo, scale=width), dtype=float)
    if r.distribution == "pert":
        a = 1.0 + PERT_SHAPE * (mode - lo) / width
        b = 1.0 + PERT_SHAPE * (hi - mode) / width
        return np.asarray(stats.beta.pdf((grid - lo) / width, a, b) / width, dtype=float)
    if r.distribution == "normal":
        sd = r.normal_sd
        return np.asarray(stats.norm.pdf(grid, loc=mode, scale=sd), dtype=float)
    return np.full(grid.shape, 1.0 / width)


def posterior_on(grid: FloatArray, log_prior: FloatArray, log_lik: FloatArray) -> Posterior:
    with np.errstate(divide="ignore"):
        log_post = log_prior + log_lik
    weights = np.exp(log_post - np.max(log_post))
    return Posterior(grid, weights / weights.sum())


# --------------------------------------------------------------------------- the estimate


def evidence_of(
    s: Scenario, kind: Kind, course: str, before_year: int | None = None
) -> Evidence | None:
    counts = counts_by_year(s, kind.part, course, kind.fields, before_year)
    counts = {y: c for y, c in counts.items() if c[0] > 0}
    if not counts:
        return None
    years = tuple(counts)
    return Evidence(
        years,
        np.array([counts[y][0] for y in years], dtype=float),
        np.array([counts[y][1] for y in years], dtype=float),
    )


def estimate_rates(s: Scenario, *, before_year: int | None = None) -> pd.DataFrame:
    """One row per rate the record speaks to (:data:`COLUMNS`): every course's
    ``exam_pass_probability`` and ``completion_rate`` with recorded counts in the years before
    ``before_year`` (all years when None). A rate stated without a range (or with a range of zero
    width) has nothing to update: its row gives the evidence and leaves the offer empty (NaN)."""
    rows: list[dict[str, Any]] = []
    for course in s.courses:
        for kind in (PASS, COMPLETION):
            evidence = evidence_of(s, kind, course, before_year)
            if evidence is not None:
                rows.append(_row(s, kind, course, evidence))
    return pd.DataFrame(rows, columns=list(COLUMNS))


def _row(s: Scenario, kind: Kind, course: str, ev: Evidence) -> dict[str, Any]:
    path = f"courses.{course}.{kind.parameter}"
    stated = float(getattr(s.courses[course], kind.parameter))
    r = s.uncertainties.ranges.get(path)
    trials, successes = int(ev.trials.sum()), int(ev.successes.sum())
    row: dict[str, Any] = dict.fromkeys(COLUMNS, math.nan)
    row |= {
        "path": path,
        "course": course,
        "parameter": kind.parameter,
        "prior_value": stated,
        "years": _years_text(ev.years),
        "trials": trials,
        "successes": successes,
        "observed_share": successes / trials,
        "effective_trials": ev.effective_trials,
        "yearly_share_sd": _yearly_sd(ev),
        "contradicts": False,
    }
    record = _record_alone(s, kind, course, ev)
    row["implied_value"] = record.mode
    if kind is PASS:
        row["first_attempt_share"] = _record_first_share(s, course, ev, record.mode)
    if r is None or r.width <= 0:
        row["source"] = (
            f"not updated: {path} is stated as {stated:g} without a range, so the record "
            f"({_evidence_text(kind, ev)}) has no assumption to move; give it a range first"
        )
        return row
    post = _posterior(s, kind, course, ev, r)
    row |= _posterior_columns(r, post)
    row["contradicts"] = _contradicts(r, record)
    row["source"] = _source_text(s, kind, ev, r, post, record, bool(row["contradicts"]))
    return row


def _posterior(s: Scenario, kind: Kind, course: str, ev: Evidence, r: Range) -> Posterior:
    grid = np.linspace(r.low, r.high, GRID_POINTS)
    with np.errstate(divide="ignore"):
        log_prior = np.log(prior_density(r, grid))
    log_lik = log_likelihood(ev, success_probability(s, kind, course, ev.years, grid))
    return posterior_on(grid, log_prior, log_lik)


def _record_alone(s: Scenario, kind: Kind, course: str, ev: Evidence) -> Posterior:
    """The record's own say: the same tempered likelihood under a flat prior on [0, 1]."""
    grid = np.linspace(0.0, 1.0, GRID_POINTS)
    log_lik = log_likelihood(ev, success_probability(s, kind, course, ev.years, grid))
    return posterior_on(grid, np.zeros_like(grid), log_lik)


def _record_first_share(s: Scenario, course: str, ev: Evidence, p: float) -> float:
    """w1 over the whole record at first-attempt ``p``: first attempts among all its sittings."""
    intakes = intakes_behind(s, course, ev.years)
    f = s.exams.retake_pass_factor
    shares = [first_attempt_share(p, f, intakes.shape[1], row) for row in intakes]
    return float(np.average(shares, weights=ev.trials))


def _contradicts(r: Range, record: Posterior) -> bool:
    low, high = (record.quantile(q) for q in CONTRADICTION)
    return high < r.low or low > r.high


def _posterior_columns(r: Range, post: Posterior) -> dict[str, Any]:
    low = math.floor(post.quantile(OFFERED_QUANTILES[0]) * 100 + 1e-9) / 100
    high = math.ceil(post.quantile(OFFERED_QUANTILES[1]) * 100 - 1e-9) / 100
    low, high = max(low, 0.0), min(high, 1.0)
    normal = r.distribution == "normal"
    return {
        "prior_low": r.low,
        "prior_high": r.high,
        "prior_distribution": r.distribution,
        "posterior_mean": post.mean,
        "posterior_sd": post.sd,
        "posterior_low": post.quantile(INTERVAL[0]),
        "posterior_high": post.quantile(INTERVAL[1]),
        "offered_value": min(max(round(post.mode, 2), low), high),
        "offered_low": low,
        "offered_high": high,
        "offered_distribution": "normal" if normal else "triangular",
        "offered_sd": post.sd if normal else math.nan,
    }


def _yearly_sd(ev: Evidence) -> float:
    shares = ev.successes / ev.trials
    return float(np.std(shares, ddof=1)) if len(shares) > 1 else math.nan


# --------------------------------------------------------------------------- words


def _years_text(years: tuple[int, ...]) -> str:
    if len(years) > 1 and years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}–{years[-1]}"
    return ", ".join(str(y) for y in years)


def _evidence_text(kind: Kind, ev: Evidence) -> str:
    n, k = int(ev.trials.sum()), int(ev.successes.sum())
    return f"{k:,} of {n:,} {kind.trials} {kind.verb}"


def _source_text(
    s: Scenario,
    kind: Kind,
    ev: Evidence,
    r: Range,
    post: Posterior,
    record: Posterior,
    contradicts: bool,
) -> str:
    label = " (illustrative)" if s.actuals is not None and s.actuals.illustrative else ""
    parts = [
        f"estimated from {_years_text(ev.years)} {kind.what} results{label}: "
        + _evidence_text(kind, ev),
    ]
    if kind is PASS:
        parts.append(
            f"first attempts and retakes together, a retake passing at p × "
            f"{s.exams.retake_pass_factor:g} (averaged over its range)"
        )
    parts += [
        f"prior {r.distribution} [{r.low:.2f}, {r.high:.2f}] mode {r.value:.2f}",
        f"posterior 90% interval {post.quantile(INTERVAL[0]):.2f}–{post.quantile(INTERVAL[1]):.2f}",
        f"evidence tempered to an effective {ev.effective_trials:,.0f} {kind.trials} (a year of "
        f"n counts as n·{EFFECTIVE_TRIALS_PER_YEAR:.0f}/(n + {EFFECTIVE_TRIALS_PER_YEAR:.0f}): the "
        "rate moves from year to year)",
    ]
    if contradicts:
        low, high = (record.quantile(q) for q in CONTRADICTION)
        parts.append(
            f"WARNING: the record contradicts the assumed range {r.low:.2f}–{r.high:.2f} (on its "
            f"own it puts the rate at {record.mode:.2f}, 98% interval {low:.2f}–{high:.2f}); the "
            "posterior is held at the range's edge: check the record or widen the range"
        )
    return "; ".join(parts)


def describe_estimates(table: pd.DataFrame) -> list[str]:
    """One line per rate, for a report or the terminal: prior, evidence, posterior, offer."""
    lines: list[str] = []
    for row in table.to_dict("records"):
        if pd.isna(row["offered_value"]):
            lines.append(f"{row['path']}: {row['source']}")
            continue
        lines.append(
            f"{row['path']}: prior {row['prior_distribution']} [{row['prior_low']:.2f}, "
            f"{row['prior_high']:.2f}] mode {row['prior_value']:.2f}; record {row['years']}: "
            f"{row['successes']:,} of {row['trials']:,} ({row['observed_share']:.3f}); "
            f"posterior mean {row['posterior_mean']:.3f}, 90% {row['posterior_low']:.3f}–"
            f"{row['posterior_high']:.3f}; offered {row['offered_value']:.2f} "
            f"[{row['offered_low']:.2f}, {row['offered_high']:.2f}] {row['offered_distribution']}"
            + (" — the record contradicts the assumed range" if row["contradicts"] else "")
        )
    return lines


# --------------------------------------------------------------------------- applying the update


def rate_notes(table: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Path → the updated ``{value, range, distribution[, sd], source}`` note of every rate with
    an offer: what a scenario file would say after the update (to write into raw data in place of
    the old note)."""
    notes: dict[str, dict[str, Any]] = {}
    for row in table.to_dict("records"):
        if pd.isna(row["offered_value"]):
            continue
        note: dict[str, Any] = {
            "value": float(row["offered_value"]),
            "range": [float(row["offered_low"]), float(row["offered_high"])],
            "distribution": str(row["offered_distribution"]),
        }
        if not pd.isna(row["offered_sd"]):
            note["sd"] = float(row["offered_sd"])
        note["source"] = str(row["source"])
        notes[str(row["path"])] = note
    return notes


def rate_overrides(table: pd.DataFrame) -> dict[str, str]:
    """The update as overrides for :func:`simopt.scenario.parse_scenario` /
    :func:`~simopt.scenario.load_scenario` (``overrides=``) or ``--set``: for each path
    ``PATH.range``, ``PATH.distribution`` (and ``PATH.sd``), ``PATH.value`` and ``PATH.source``,
    as YAML text, in that order: the range first so that a bare number becomes a note, the source
    last because setting ``.value`` marks the note ``override (--set)``."""
    out: dict[str, str] = {}
    for path, note in rate_notes(table).items():
        low, high = note["range"]
        out[f"{path}.range"] = f"[{low:.2f}, {high:.2f}]"
        out[f"{path}.distribution"] = note["distribution"]
        if "sd" in note:
            out[f"{path}.sd"] = f"{note['sd']:.6g}"
        out[f"{path}.value"] = f"{note['value']:.2f}"
        # JSON text is a YAML double-quoted string: the colons and semicolons stay text
        out[f"{path}.source"] = json.dumps(note["source"], ensure_ascii=False)
    return out
