"""Global sensitivity of one outcome to a scenario's uncertainties: which assumption, if better
known, would narrow the answer most.

Three methods, from cheap to thorough:

* ``oat`` (a tornado): each uncertainty alone at the 5% and the 95% quantile of its own
  distribution (:data:`END_QUANTILES`, as :mod:`simopt.uncertain.drivers`; a level table: of its
  certified share), the others at their stated values. 1 + 2k runs; blind to interactions and to
  correlations.
* ``morris`` (screening): SALib's elementary effects along N random trajectories. N (k + 1) runs.
* ``sobol`` (variance shares): SALib's Saltelli scheme, first-order and total indices with
  bootstrap intervals. N (k + 2) runs.

SALib samples the unit hypercube of *independent* quantiles; the model maps each row to values
through each uncertainty's inverse CDF (:meth:`ExperimentModel.to_values`). Sobol indices do not
change under such monotone maps of independent inputs. Correlated uncertainties are not
independent, so each correlation group is one SALib group: its columns move together in the
designs, the scenario's Gaussian copula joins them inside the group, and groups (and lone
uncertainties) stay mutually independent — the condition the indices need. A group is reported
as one factor; asking for part of a group is refused.

The pure layer (:func:`sobol_indices`, :func:`morris_indices`, :func:`oat_swings`) takes a
function of a matrix and knows nothing of scenarios; :func:`sensitivity` wires it to a scenario
through :func:`simopt.experiments.run_sweep`.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from simopt.errors import ScenarioError

if TYPE_CHECKING:
    from simopt.experiments import ExperimentModel, Settings, SweepResult

FloatArray = npt.NDArray[np.float64]
Evaluate = Callable[[FloatArray], FloatArray]
"""A model as the pure layer sees it: an (n, k) matrix (one row per run) → n outputs."""

METHODS = ("oat", "morris", "sobol")
END_QUANTILES = (0.05, 0.95)
"""The ends an uncertainty is moved to: the same quantiles as the one-at-a-time drivers, so that
a triangular range and a level table are compared on equal terms (a normal has no ends)."""
MORRIS_LEVELS = 4
"""Morris's grid: 4 levels, a step of 2/3 of the span (SALib's default, Morris's advice)."""
CONF_LEVEL = 0.95
RESAMPLES = 1000
"""Bootstrap resamples for the intervals: the analysis costs milliseconds, the runs hours."""
DEFAULT_N = {"morris": 20, "sobol": 512}
MAIN_INDEX = {"oat": "swing", "morris": "mu_star", "sobol": "ST"}
"""The index factors are ranked by."""
INDEX_COLUMNS = {
    "oat": [
        "value_low",
        "value_stated",
        "value_high",
        "outcome_low",
        "outcome_stated",
        "outcome_high",
        "swing",
    ],
    "morris": ["mu", "mu_star", "mu_star_conf", "sigma"],
    "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
}
STATUS_OUTCOMES = ("optimizer_status", "robust_status")


class SensitivityError(ValueError):
    """The analysis cannot be done as asked (a user error, shown on one line)."""


class MissingOutcomeError(SensitivityError):
    """Some runs have no value of the outcome (an infeasible plan has no cost); the runs are
    kept so that a caller can still write them."""

    def __init__(self, message: str, sweep: SweepResult | None = None) -> None:
        super().__init__(message)
        self.sweep = sweep


# ============================================================================ the pure layer


def _problem(names: Sequence[str], groups: Sequence[str] | None) -> Any:
    """SALib's problem on the unit hypercube; ``groups`` names each column's group."""
    from SALib import ProblemSpec

    if len(set(names)) != len(names):
        raise SensitivityError(f"factor names must be distinct: {list(names)}")
    spec: dict[str, Any] = {"names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    if groups is not None:
        if len(groups) != len(names):
            raise SensitivityError(f"{len(groups)} group names for {len(names)} factors")
        spec["groups"] = list(groups)
    if len(dict.fromkeys(groups if groups is not None else names)) < 2:
        raise SensitivityError(
            "a sensitivity analysis needs at least two independent factors (a correlation group "
            "counts as one): with one, it has all of the variance by definition"
        )
    return ProblemSpec(spec)


def _units(names: Sequence[str], groups: Sequence[str] | None) -> list[str]:
    """The factors SALib reports on: the groups in first-seen order, or the names."""
    return list(dict.fromkeys(groups if groups is not None else names))


def _bootstrap_seed(seed: int) -> int:
    """A second stream for the bootstrap. Never 0: SALib's Sobol analysis leaves the global
    numpy generator unseeded when given 0."""
    state = np.random.SeedSequence([seed, 1]).generate_state(1)[0]
    return int(state) or 1


def _outputs(evaluate: Evaluate, x: FloatArray) -> FloatArray:
    y = np.asarray(evaluate(x), dtype=float).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"evaluate returned {y.shape[0]} outputs for {x.shape[0]} rows")
    missing = int((~np.isfinite(y)).sum())
    if missing:
        raise MissingOutcomeError(
            f"{missing:,} of {len(y):,} runs gave no value; the indices need every one"
        )
    return y


def _constant(y: FloatArray) -> bool:
    """No spread worth analysing: rounding noise of a solver is not sensitivity."""
    scale = max(float(np.abs(y).max()), 1.0)
    return float(np.ptp(y)) <= 1e-12 * scale


def sobol_indices(
    names: Sequence[str],
    evaluate: Evaluate,
    n: int,
    seed: int,
    groups: Sequence[str] | None = None,
    *,
    second_order: bool = False,
    conf_level: float = CONF_LEVEL,
    resamples: int = RESAMPLES,
) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Sobol first-order (``S1``) and total (``ST``) indices with bootstrap half-widths
    (``S1_conf``, ``ST_conf``, at ``conf_level``), one row per factor (or group), in order.

    ``evaluate`` maps an (N (k + 2), k) — with ``second_order`` N (2k + 2) — matrix of unit
    quantiles in (0, 1) to outputs; ``n`` base samples, a power of 2. The second frame holds the
    second-order indices of each pair (``S2``, ``S2_conf``) when asked, else None.
    """
    if n < 4 or n & (n - 1):
        raise SensitivityError(f"Sobol needs a power of 2 of at least 4 base samples, not {n}")
    sp = _problem(names, groups)
    sp.sample_sobol(n, calc_second_order=second_order, scramble=True, seed=seed)
    y = _outputs(evaluate, np.asarray(sp.samples, dtype=float))
    units = _units(names, groups)
    if _constant(y):
        zeros = np.zeros(len(units))
        first = pd.DataFrame(
            {"factor": units, "S1": zeros, "S1_conf": zeros, "ST": zeros, "ST_conf": zeros}
        )
        return first, _pairs(units, None) if second_order else None
    sp.set_results(y)
    sp.analyze_sobol(
        calc_second_order=second_order,
        num_resamples=resamples,
        conf_level=conf_level,
        seed=_bootstrap_seed(seed),
        print_to_console=False,
    )
    s = sp.analysis
    first = pd.DataFrame(
        {
            "factor": units,
            "S1": np.asarray(s["S1"], dtype=float),
            "S1_conf": np.asarray(s["S1_conf"], dtype=float),
            "ST": np.asarray(s["ST"], dtype=float),
            "ST_conf": np.asarray(s["ST_conf"], dtype=float),
        }
    )
    return first, _pairs(units, s) if second_order else None


def _pairs(units: Sequence[str], s: Any) -> pd.DataFrame:
    rows = []
    for i, a in enumerate(units):
        for j in range(i + 1, len(units)):
            s2 = 0.0 if s is None else float(s["S2"][i, j])
            conf = 0.0 if s is None else float(s["S2_conf"][i, j])
            rows.append({"factor": a, "other": units[j], "S2": s2, "S2_conf": conf})
    return pd.DataFrame(rows, columns=["factor", "other", "S2", "S2_conf"])


def morris_indices(
    names: Sequence[str],
    evaluate: Evaluate,
    n: int,
    seed: int,
    groups: Sequence[str] | None = None,
    *,
    span: tuple[float, float] = (0.0, 1.0),
    levels: int = MORRIS_LEVELS,
    conf_level: float = CONF_LEVEL,
    resamples: int = RESAMPLES,
) -> pd.DataFrame:
    """Morris screening: ``mu`` (mean elementary effect), ``mu_star`` (mean absolute effect),
    its bootstrap half-width ``mu_star_conf`` and ``sigma`` (spread: interactions or curvature;
    NaN for a group of several, whose members move in mixed directions), one row per factor.

    ``n`` trajectories on a ``levels``-level grid; the grid's 0 and 1 are mapped to the quantiles
    ``span`` before ``evaluate`` sees them, and an effect is the change of the output per whole
    span (so with a linear output, mu_star is the swing from one end of the span to the other).
    """
    if n < 2:
        raise SensitivityError(f"Morris needs at least 2 trajectories, not {n}")
    lo, hi = span
    if not 0.0 <= lo < hi <= 1.0:
        raise ValueError(f"span must be quantiles 0 ≤ low < high ≤ 1, not {span}")
    sp = _problem(names, groups)
    sp.sample_morris(n, num_levels=levels, seed=seed)
    grid = np.asarray(sp.samples, dtype=float)
    y = _outputs(evaluate, lo + (hi - lo) * grid)
    units = _units(names, groups)
    if _constant(y):
        zeros = np.zeros(len(units))
        return pd.DataFrame(
            {"factor": units, "mu": zeros, "mu_star": zeros, "mu_star_conf": zeros, "sigma": zeros}
        )
    sp.set_results(y)
    sp.analyze_morris(
        num_levels=levels,
        num_resamples=resamples,
        conf_level=conf_level,
        seed=_bootstrap_seed(seed),
        print_to_console=False,
    )
    s = sp.analysis
    return pd.DataFrame(
        {
            "factor": units,
            "mu": np.asarray(s["mu"], dtype=float),
            "mu_star": np.asarray(s["mu_star"], dtype=float),
            "mu_star_conf": np.asarray(s["mu_star_conf"], dtype=float),
            "sigma": np.asarray(s["sigma"], dtype=float),
        }
    )


def oat_swings(
    names: Sequence[str],
    evaluate: Evaluate,
    stated: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
) -> pd.DataFrame:
    """One at a time: every factor at its stated value, then each alone at ``low`` and at
    ``high``. ``evaluate`` maps a (1 + 2k, k) matrix of *values* to outputs (NaN allowed: an
    end with no plan has no outcome). ``swing`` is |outcome_high − outcome_low|."""
    k = len(names)
    base = np.asarray(stated, dtype=float)
    if not (len(base) == len(low) == len(high) == k):
        raise ValueError("stated, low and high need one value per factor")
    x = np.tile(base, (1 + 2 * k, 1))
    for j in range(k):
        x[1 + 2 * j, j] = low[j]
        x[2 + 2 * j, j] = high[j]
    y = np.asarray(evaluate(x), dtype=float).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"evaluate returned {y.shape[0]} outputs for {x.shape[0]} rows")
    at_low, at_high = y[1::2], y[2::2]
    return pd.DataFrame(
        {
            "factor": list(names),
            "value_low": np.asarray(low, dtype=float),
            "value_stated": base,
            "value_high": np.asarray(high, dtype=float),
            "outcome_low": at_low,
            "outcome_stated": np.full(k, y[0]),
            "outcome_high": at_high,
            "swing": np.abs(at_high - at_low),
        }
    )


# ============================================================================ factors


@dataclass(frozen=True)
class Factor:
    """What the analysis reports on: one uncertainty, or a correlation group moved as one."""

    name: str
    """The uncertainty's path, or the group's ``correlations:`` label."""
    label: str
    members: tuple[str, ...]

    @property
    def is_group(self) -> bool:
        return len(self.members) > 1 or self.members != (self.name,)


def _plural(words: str) -> str:
    """'exam pass probability' → 'exam pass probabilities'; the noun is the word before a
    qualifier ('attrition rate per year' → 'attrition rates per year')."""
    parts = words.split(" ")
    at = len(parts) - 1
    for i, part in enumerate(parts):
        if part in ("per", "of") or part.startswith("("):
            at = max(i - 1, 0)
            break
    noun = parts[at]
    if noun.endswith("s"):
        return words
    if noun.endswith("y") and len(noun) > 1 and noun[-2] not in "aeiou":
        parts[at] = noun[:-1] + "ies"
    else:
        parts[at] = noun + "s"
    return " ".join(parts)


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def group_label(group: str, labels: Sequence[str]) -> str:
    """A correlation group in planners' words: ``provider_quality: level3 and level4 exam pass
    probabilities, together``."""
    heads = [label.split(" ", 1) for label in labels]
    tails = {h[1] for h in heads if len(h) == 2}
    if len(heads) > 1 and all(len(h) == 2 for h in heads) and len(tails) == 1:
        said = f"{_and([h[0] for h in heads])} {_plural(tails.pop())}"
    else:
        said = _and(list(labels))
    return f"{group}: {said}, together"


def select_factors(model: ExperimentModel, only: Sequence[str] | None = None) -> list[Factor]:
    """The factors to analyse: every uncertainty with a spread (``only``: those named — paths,
    shell patterns such as ``courses.*.tuition_vnd_per_trainee``, or correlation labels), each
    correlation group as one factor. Refuses a name matching nothing and part of a group."""
    groups = model.correlated_groups()
    if only:
        chosen: list[str] = []
        for raw in only:
            name = raw.strip()
            if name in groups:
                hits = list(groups[name])
            elif any(c in name for c in "*?["):
                hits = [u.name for u in model.uncertainties if fnmatch.fnmatchcase(u.name, name)]
                if not hits:
                    raise ScenarioError(
                        "matches no uncertainty of the scenario (see `simopt show`)",
                        file=model.file,
                        path=name,
                        show_value=False,
                    )
            else:
                hits = [model.uncertainty(name).name]  # its own error names near misses
            chosen += [h for h in hits if h not in chosen]
        for label, members in groups.items():
            inside = [m for m in members if m in chosen]
            outside = [m for m in members if m not in chosen]
            if inside and outside:
                raise ScenarioError(
                    f"is correlated with {_and(outside)} (correlations: {label}); SALib treats "
                    "factors as independent, so a correlation group is analysed whole — add "
                    f"--only {label}, or the rest of the group",
                    file=model.file,
                    path=_and(inside),
                    show_value=False,
                )
    else:
        chosen = [u.name for u in model.uncertainties if u.group is not None or _spread(model, u)]
    order = {u.name: i for i, u in enumerate(model.uncertainties)}
    chosen.sort(key=order.__getitem__)
    factors: list[Factor] = []
    seen: set[str] = set()
    for name in chosen:
        u = model.uncertainty(name)
        if u.group is None:
            factors.append(Factor(name, u.label, (name,)))
        elif u.group not in seen:
            seen.add(u.group)
            together = tuple(m for m in groups[u.group] if m in chosen)
            labels = [model.uncertainty(m).label for m in together]
            factors.append(Factor(u.group, group_label(u.group, labels), together))
    return factors


def _spread(model: ExperimentModel, u: Any) -> bool:
    low, high = (float(v) for v in u.at(np.array(END_QUANTILES)))
    return bool(high > low)


# ============================================================================ outcomes


def outcome_words(outcome: str) -> tuple[str, str]:
    """The outcome in planners' words and its kind (``vnd``, ``share`` or ``number``)."""
    family, _, target = outcome.partition(":")
    words = {
        "minimum_cost_vnd": ("the minimum cost of meeting every target in expectation", "vnd"),
        "robust_cost_vnd": ("the robust plan's cost", "vnd"),
        "cost_per_certified_vnd": ("the robust plan's cost per person certified", "vnd"),
        "probability_all_met": ("the probability every target is met", "share"),
        "attainment": (f"target {target}'s expected attainment in its year", "number"),
        "probability_met": (f"the probability target {target} is met", "share"),
    }
    return words.get(family, (outcome, "number"))


def check_outcome(model: ExperimentModel, outcome: str) -> str:
    """The one numeric outcome the analysis is about, validated by the core's rules."""
    from simopt.experiments.outcomes import PER_TARGET, expand_outcomes

    names = expand_outcomes(model, [outcome])  # refuses an unknown one, listing the known ones
    family = names[0].partition(":")[0]
    if family in STATUS_OUTCOMES:
        raise SensitivityError(
            f"--outcome {outcome}: a status (words, not a number) has no sensitivity; choose "
            "a numeric outcome such as minimum_cost_vnd"
        )
    if len(names) > 1:
        assert family in PER_TARGET
        raise SensitivityError(
            f"--outcome {outcome}: name one target, e.g. {names[0]} "
            f"(targets: {', '.join(n.partition(':')[2] for n in names)})"
        )
    return names[0]


# ============================================================================ the result


@dataclass(frozen=True)
class SensitivityResult:
    """A ranked table of factors and what it rests on."""

    method: str
    outcome: str
    table: pd.DataFrame
    """Tidy, one row per factor ranked by :data:`MAIN_INDEX`: method, outcome, rank, factor,
    label, members, then the method's index columns (:data:`INDEX_COLUMNS`)."""
    runs: int
    settings: dict[str, Any]
    assumptions: tuple[str, ...]
    notes: tuple[str, ...] = ()
    pairs: pd.DataFrame | None = None
    """Sobol second-order indices per pair, when asked."""
    sweep: SweepResult | None = field(default=None, compare=False)

    def to_dict(self) -> dict[str, Any]:
        from simopt.reporting.tables import records

        return {
            "method": self.method,
            "outcome": self.outcome,
            "runs": self.runs,
            "settings": dict(self.settings),
            "assumptions": list(self.assumptions),
            "notes": list(self.notes),
            "factors": records(self.table),
            "pairs": records(self.pairs) if self.pairs is not None else None,
        }

    def text(self) -> str:
        return result_text(self)


def ranked_table(
    method: str, outcome: str, indices: pd.DataFrame, factors: Sequence[Factor]
) -> pd.DataFrame:
    """The tidy table: the pure layer's indices with labels, ranked (ties keep factor order)."""
    by_name = {f.name: f for f in factors}
    main = MAIN_INDEX[method]
    frame = indices.copy()
    frame.insert(0, "method", method)
    frame.insert(1, "outcome", outcome)
    frame.insert(3, "label", [by_name[str(n)].label for n in frame["factor"]])
    frame.insert(4, "members", ["; ".join(by_name[str(n)].members) for n in frame["factor"]])
    # NaN last: an end with no plan cannot be ranked
    key = frame[main].fillna(-np.inf)
    frame = frame.iloc[np.argsort(-key.to_numpy(), kind="stable")].reset_index(drop=True)
    frame.insert(2, "rank", np.arange(1, len(frame) + 1, dtype=np.int64))
    columns = ["method", "outcome", "rank", "factor", "label", "members", *INDEX_COLUMNS[method]]
    return frame[columns]


def assumptions(method: str, *, grouped: bool, partial: bool) -> tuple[str, ...]:
    """What the method's numbers rest on, in planners' words."""
    ends = f"{END_QUANTILES[0]:.0%} and {END_QUANTILES[1]:.0%}"
    said: list[str] = []
    if method == "oat":
        said += [
            f"Each uncertainty is moved alone to the {ends} quantiles of its own distribution "
            "(a level table: of its certified share) — not to its range's low and high — with "
            "every other analysed uncertainty at its stated value.",
            "One at a time: correlations between uncertainties are ignored and effects that "
            "appear only when several move together are not seen.",
        ]
    elif method == "morris":
        said += [
            f"Screening: each trajectory moves every factor once, in steps of 2/3 of the span "
            f"between its {ends} quantiles, on a {MORRIS_LEVELS}-level grid.",
            f"mu* is the mean absolute change of the outcome per move from the "
            f"{END_QUANTILES[0]:.0%} to the {END_QUANTILES[1]:.0%} quantile (each step "
            "extrapolated along a straight line); "
            "sigma large beside mu* means interactions or a curved effect.",
            "mu* ranks factors; it is not a share of the variance.",
        ]
    else:
        said += [
            "Shares of the outcome's variance under the stated distributions: 'alone' "
            "(first-order) is what the uncertainty explains by itself, 'with interactions' "
            "(total) adds what it explains together with others.",
            f"Intervals are {CONF_LEVEL:.0%} bootstrap intervals of Saltelli's estimators; a "
            "slightly negative estimate is sampling noise around zero.",
        ]
    if method != "oat":
        said.append(
            "Factors are independent of one another"
            + (
                "; each correlation group moves as one factor, its members joined by the "
                "scenario's rank correlation."
                if grouped
                else "."
            )
        )
    if partial:
        said.append(
            "Uncertainties not analysed keep their ranges: the robust plan still draws them; "
            "the optimiser plans with their stated values."
        )
    return tuple(said)


# ============================================================================ the scenario


@dataclass(frozen=True)
class SweepSettings:
    """How the runs are executed (none of it changes a number)."""

    executor: str = "sequential"
    workers: int | None = None
    scheduler: str | None = None
    progress: bool = False


def sensitivity(
    model: ExperimentModel,
    outcome: str,
    method: str,
    *,
    n: int | None = None,
    seed: int = 0,
    only: Sequence[str] | None = None,
    second_order: bool = False,
    run: SweepSettings | None = None,
    outcome_settings: Settings | None = None,
) -> SensitivityResult:
    """The sensitivity of ``outcome`` to the scenario's uncertainties by ``method``;
    ``outcome_settings``: how the robust tier runs (confidence, replications).

    Raises ScenarioError / :class:`SensitivityError` for bad input, and
    :class:`MissingOutcomeError` (holding the runs) when some run has no value of the outcome.
    """
    if method not in METHODS:
        raise SensitivityError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    outcome = check_outcome(model, outcome)
    factors = select_factors(model, only)
    if not factors:
        raise SensitivityError(f"{model.file}: the scenario has no uncertainty with a spread")
    run = run or SweepSettings()
    names = [m for f in factors for m in f.members]
    groups = [f.name for f in factors for _ in f.members]
    grouped = any(f.is_group for f in factors)
    partial = len(names) < len(model.uncertainties)
    sweeps: list[SweepResult] = []

    def through_sweep(design: Any) -> FloatArray:
        from simopt.experiments import run_sweep

        res = run_sweep(
            model,
            design,
            outcomes=[outcome],
            seed=seed,
            executor=run.executor,
            workers=run.workers,
            scheduler=run.scheduler,
            progress=run.progress,
            settings=outcome_settings,
            common_seed=True,
        )
        sweeps.append(res)
        return np.asarray(res.values(outcome), dtype=float)

    def at_quantiles(u: FloatArray) -> FloatArray:
        from simopt.experiments import unit_design

        return through_sweep(unit_design(model, names, u))

    def at_values(x: FloatArray) -> FloatArray:
        from simopt.experiments import list_design

        rows = [dict(zip(names, map(float, r), strict=True)) for r in x]
        return through_sweep(list_design(rows))

    settings: dict[str, Any] = {
        "scenario": model.scenario.name,
        "seed": seed,
        "factors": [f.name for f in factors],
        "uncertainties": names,
    }
    notes: list[str] = []
    pairs = None
    try:
        if method == "oat":
            if grouped:
                notes.append(
                    "Correlated uncertainties are moved one at a time here, as if independent; "
                    "morris and sobol move each correlation group as one factor."
                )
            us = [model.uncertainty(m) for m in names]
            ends = [u.at(np.array(END_QUANTILES)) for u in us]
            indices = oat_swings(
                names,
                at_values,
                [u.value for u in us],
                [float(e[0]) for e in ends],
                [float(e[1]) for e in ends],
            )
            table_factors = [Factor(u.name, u.label, (u.name,)) for u in us]
            settings["quantiles"] = list(END_QUANTILES)
        elif method == "morris":
            n = DEFAULT_N["morris"] if n is None else n
            indices = morris_indices(
                names, at_quantiles, n, seed, groups if grouped else None, span=END_QUANTILES
            )
            table_factors = factors
            settings |= {"n": n, "levels": MORRIS_LEVELS, "span": list(END_QUANTILES)}
        else:
            n = DEFAULT_N["sobol"] if n is None else n
            indices, pairs = sobol_indices(
                names,
                at_quantiles,
                n,
                seed,
                groups if grouped else None,
                second_order=second_order,
            )
            table_factors = factors
            settings |= {"n": n, "second_order": second_order}
    except MissingOutcomeError as err:
        raise MissingOutcomeError(_missing_message(outcome, sweeps), sweeps[-1]) from err
    sweep = sweeps[-1] if sweeps else None
    table = ranked_table(method, outcome, indices, table_factors)
    if method != "oat" and sweep is not None and _constant(sweep.values(outcome)):
        notes.append(f"{outcome} was the same in every run: no factor moves it.")
    if method == "oat" and table["swing"].isna().any():
        notes.append("An end with no value of the outcome (no plan there) has no swing.")
    return SensitivityResult(
        method=method,
        outcome=outcome,
        table=table,
        runs=0 if sweep is None else len(sweep.experiments),
        settings=settings,
        assumptions=assumptions(method, grouped=grouped, partial=partial),
        notes=tuple(notes),
        pairs=_labelled_pairs(pairs, factors),
        sweep=sweep,
    )


def _labelled_pairs(pairs: pd.DataFrame | None, factors: Sequence[Factor]) -> pd.DataFrame | None:
    if pairs is None:
        return None
    labels = {f.name: f.label for f in factors}
    out = pairs.copy()
    out.insert(1, "label", [labels[str(a)] for a in out["factor"]])
    out.insert(3, "other_label", [labels[str(b)] for b in out["other"]])
    return out


def _missing_message(outcome: str, sweeps: Sequence[SweepResult]) -> str:
    if not sweeps:
        return f"no value of {outcome}"
    res = sweeps[-1]
    values = np.asarray(res.values(outcome), dtype=float)
    bad = ~np.isfinite(values)
    rows = res.outcomes[res.outcomes["outcome"] == outcome]
    statuses = rows["status"].astype(str).to_numpy()
    found = pd.Series(statuses[bad] if len(statuses) == len(bad) else [], dtype=str)
    counts: Mapping[str, int] = {str(k): int(v) for k, v in found.value_counts().items()}
    why = ", ".join(f"{k}: {v:,}" for k, v in counts.items()) or "no status"
    return (
        f"{int(bad.sum()):,} of {len(values):,} runs have no {outcome} ({why}){_where(res, bad)}; "
        "the indices need every run — narrow that range, leave it out (--only) or choose an "
        "outcome every run has"
    )


def _where(res: SweepResult, bad: npt.NDArray[np.bool_]) -> str:
    """Where the failing runs lie: the factor whose values there are furthest, on average, from
    the middle of the values it took (its empirical quantile)."""
    if not bad.any() or bad.all():
        return ""
    x = res.experiments
    found: tuple[float, str] | None = None
    for name in x.columns[2:]:  # experiment, seed, then the factors
        column = x[name].to_numpy(dtype=float)
        q = float(np.mean([(column <= v).mean() for v in column[bad]]))
        if found is None or abs(q - 0.5) > abs(found[0] - 0.5):
            found = (q, str(name))
    assert found is not None
    q, name = found
    side = "low" if q < 0.5 else "high"
    return f", where {name} is {side} (on average at its {q:.0%} quantile among the runs)"


# ============================================================================ text


METHOD_TITLES = {
    "oat": "One-at-a-time sensitivity (tornado)",
    "morris": "Morris screening",
    "sobol": "Sobol sensitivity (variance shares)",
}


def format_outcome(x: float, kind: str) -> str:
    """An outcome's value (or a change of it) as a planner reads it."""
    from simopt.reporting.i18n import messages

    m = messages("en")
    if not math.isfinite(x):
        return "no value"
    if kind == "vnd":
        return m.ty(x)
    if kind == "share":
        return m.share(x, 1)
    return format_number(x)


def format_number(x: float) -> str:
    """A factor's value: whole numbers for amounts, three decimals for rates and shares."""
    from simopt.reporting.i18n import messages

    m = messages("en")
    if not math.isfinite(x):
        return "—"
    digits = 0 if abs(x) >= 1000 else (2 if abs(x) >= 1 else 3)
    return m.number(x, digits)


def _share_with_interval(s: float, conf: float) -> str:
    from simopt.reporting.i18n import messages

    m = messages("en")
    return f"{m.share(s, 1)} [{m.share(s - conf, 1)} to {m.share(s + conf, 1)}]"


def result_text(result: SensitivityResult) -> str:
    """The ranked factors in planners' words, with intervals, and what the numbers rest on."""
    words, kind = outcome_words(result.outcome)
    s = result.settings
    head = [
        f"{METHOD_TITLES[result.method]} of {words} ({result.outcome})",
        f"{len(result.table)} factor{'s' if len(result.table) != 1 else ''}"
        + (f", N = {s['n']:,}" if "n" in s else "")
        + f", {result.runs:,} runs, seed {s.get('seed', 0)}",
        "",
    ]
    lines: list[str] = []
    for row in result.table.to_dict("records"):
        lines.append(f"{int(row['rank']):>3}. {row['label']}")
        if result.method == "sobol":
            lines.append(
                f"     alone {_share_with_interval(row['S1'], row['S1_conf'])}; "
                f"with interactions {_share_with_interval(row['ST'], row['ST_conf'])}"
            )
        elif result.method == "morris":
            sigma = float(row["sigma"])
            lines.append(
                f"     mu* {format_outcome(row['mu_star'], kind)} "
                f"± {format_outcome(row['mu_star_conf'], kind)}; mean effect "
                f"{format_outcome(row['mu'], kind)}; sigma "
                + (format_outcome(sigma, kind) if math.isfinite(sigma) else "— (a group)")
            )
        else:
            q0, q1 = (f"{q:.0%}" for q in END_QUANTILES)
            lines.append(
                f"     swing {format_outcome(row['swing'], kind)}: at {q0} "
                f"({format_number(row['value_low'])}) {format_outcome(row['outcome_low'], kind)}"
                f", stated ({format_number(row['value_stated'])}) "
                f"{format_outcome(row['outcome_stated'], kind)}, at {q1} "
                f"({format_number(row['value_high'])}) {format_outcome(row['outcome_high'], kind)}"
            )
    if result.pairs is not None and len(result.pairs):
        lines += ["", "Pairs (second-order shares):"]
        for row in result.pairs.to_dict("records"):
            lines.append(
                f"     {row['factor']} × {row['other']}: "
                f"{_share_with_interval(row['S2'], row['S2_conf'])}"
            )
    tail = ["", "What the numbers rest on:"] + [f"  - {a}" for a in result.assumptions]
    if result.notes:
        tail += ["", "Notes:"] + [f"  - {n}" for n in result.notes]
    return "\n".join(head + lines + tail)
