"""The uncertainty a scenario file declares, checked and turned into :class:`Uncertainties`.

:func:`simopt.yamlio.strip_sources` collects the ``range``, ``distribution``, ``sd`` and
``concentration`` keys of each note as written; this module checks them once the scenario itself
is valid, so that each end of a range can be held to the field's own rule (a probability stays in
[0, 1], a headcount is a whole number, …) and compared with the value the optimiser plans with.
Every failure is one :class:`ScenarioError` naming the path of the offending key; the loader then
adds the line.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Mapping
from typing import Any, NoReturn, cast

import numpy as np
from pydantic import BaseModel, TypeAdapter, ValidationError

from simopt.errors import ScenarioError, yaml_kind
from simopt.overrides import OVERRIDE_SOURCE
from simopt.scenario import SUM_TOLERANCE, Scenario, model_at
from simopt.uncertain.spec import (
    DISTRIBUTIONS,
    Correlation,
    Distribution,
    LevelMix,
    Range,
    Uncertainties,
    is_drawn_mix,
    is_drawn_scalar,
    path_matches,
)
from simopt.yamlio import ASSUMPTION, DeclaredUncertainty, Provenance

MAX_CONCENTRATION = 1e6
"""Above this a level table hardly varies at all (sd < 0.05 points); leave the key out instead."""

PSD_TOLERANCE = 1e-9

NOT_DRAWN_RANGE = (
    "a range is allowed only on an assumption the simulator draws (pass and completion rates, "
    "attrition, hires, promotions, headcounts, tuition, class costs and exam fees); this is a "
    "fact or a lever the province sets — try other values with --set"
)
NOT_DRAWN_MIX = (
    "a concentration is allowed only on a pool's level_shares or hire_level_shares, the level "
    "tables the simulator draws; this is a fact or a lever the province sets — try other values "
    "with --set"
)

_NO_VALUE: Any = object()


class _Fail:
    """Raises the one-line error for a path; the loader looks its line up afterwards."""

    def __init__(self, file: str) -> None:
        self.file = file

    def __call__(self, path: str, value: Any, rule: str) -> NoReturn:
        raise ScenarioError(
            rule, file=self.file, path=path, value=value, show_value=value is not _NO_VALUE
        )


def parse_uncertainties(
    scenario: Scenario, declared: Mapping[str, DeclaredUncertainty], *, file: str = "<scenario>"
) -> Uncertainties:
    """Check every declared range, concentration and correlation against the (valid) scenario.

    ``declared`` maps dotted paths to the uncertainty keys of the note there, in file order.
    """
    fail = _Fail(file)
    ranges: dict[str, Range] = {}
    mixes: dict[str, LevelMix] = {}
    for path, note in declared.items():
        if is_drawn_mix(path):
            mixes[path] = _level_mix(scenario, path, note, fail)
        elif is_drawn_scalar(path):
            ranges[path] = _range(scenario, path, note, fail)
        else:
            key = next(iter(note.keys))
            rule = NOT_DRAWN_MIX if key == "concentration" else NOT_DRAWN_RANGE
            fail(f"{path}.{key}", note.keys[key], rule)
    _check_pools(scenario, ranges, fail)
    _check_outflows(scenario, ranges, fail)
    correlations = _correlations(scenario, ranges, mixes, fail)
    return Uncertainties(ranges=ranges, level_mixes=mixes, correlations=correlations)


# --------------------------------------------------------------------------- one note


def _range(scenario: Scenario, path: str, note: DeclaredUncertainty, fail: _Fail) -> Range:
    keys = note.keys
    if "concentration" in keys:
        fail(
            f"{path}.concentration",
            keys["concentration"],
            "a concentration applies to a level table (level_shares, hire_level_shares); "
            "give a single number a range: [low, high]",
        )
    if "range" not in keys:
        key = next(iter(keys))
        article = "an" if key == "sd" else "a"
        fail(f"{path}.{key}", keys[key], f"{article} {key} needs a range: [low, high] to apply to")
    raw = keys["range"]
    if not isinstance(raw, list | tuple):
        fail(
            f"{path}.range", raw, f"must be a list of two numbers [low, high], not {yaml_kind(raw)}"
        )
    if len(raw) != 2:
        fail(
            f"{path}.range",
            raw,
            f"must be a list of two numbers [low, high], not of {len(raw)} values",
        )
    adapter = _field_adapter(path)
    ends: list[float] = []
    for i, end in enumerate(raw):
        try:
            ends.append(float(adapter.validate_python(end)))
        except ValidationError as exc:
            # the field's own rule, word for word: a range end obeys what the value obeys
            fail(f"{path}.range.{i}", end, _rule_of(exc))
    low, high = ends
    value = float(_value_at(scenario, path))
    if low > high:
        fail(f"{path}.range", raw, "the low end must not be above the high end")
    if not low <= value <= high:
        fail(f"{path}.range", raw, f"must contain the value {value:g} (low ≤ value ≤ high)")
    distribution = keys.get("distribution", "uniform")
    if distribution not in DISTRIBUTIONS:
        close = (
            difflib.get_close_matches(distribution.lower(), DISTRIBUTIONS, n=1, cutoff=0.6)
            if isinstance(distribution, str)
            else []
        )
        known = ", ".join(DISTRIBUTIONS)
        fail(
            f"{path}.distribution",
            distribution,
            f"unknown distribution; did you mean '{close[0]}'?"
            if close
            else f"must be one of {known}"
            + ("" if isinstance(distribution, str) else f", not {yaml_kind(distribution)}"),
        )
    sd: float | None = None
    if "sd" in keys:
        if distribution != "normal":
            fail(f"{path}.sd", keys["sd"], "an sd applies only to distribution: normal")
        sd = _positive(f"{path}.sd", keys["sd"], math.inf, fail)
    return Range(
        path=path,
        value=value,
        low=low,
        high=high,
        distribution=cast(Distribution, distribution),
        sd=sd,
        source=note.source,
    )


def _level_mix(scenario: Scenario, path: str, note: DeclaredUncertainty, fail: _Fail) -> LevelMix:
    keys = note.keys
    for key in ("range", "distribution", "sd"):
        if key in keys:
            fail(
                f"{path}.{key}",
                keys[key],
                "a level table varies as a whole with a concentration (e.g. concentration: 80), "
                f"not a {key}",
            )
    raw = keys["concentration"]
    concentration = _positive(f"{path}.concentration", raw, MAX_CONCENTRATION, fail)
    shares = _value_at(scenario, path)
    if not isinstance(shares, Mapping):
        fail(f"{path}.concentration", raw, "needs the table of shares it varies around")
    return LevelMix(
        path=path,
        shares={int(level): float(s) for level, s in shares.items()},
        concentration=concentration,
        source=note.source,
    )


def _positive(path: str, raw: Any, upper: float, fail: _Fail) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        fail(path, raw, f"must be a number, not {yaml_kind(raw)}")
    try:
        number = float(raw)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        fail(path, raw, "must be a finite number, not NaN or infinity")
    if number <= 0:
        fail(path, raw, "must be above 0")
    if number > upper:
        fail(
            path,
            raw,
            f"must be at most {upper:,.0f} (a larger concentration hardly varies the table; "
            "leave the key out to fix the shares)",
        )
    return number


@functools.cache
def _adapter_for(model: type[BaseModel], name: str) -> TypeAdapter[Any]:
    # rebuild_annotation keeps the field's Annotated validators, which hold its rule
    return TypeAdapter(model.model_fields[name].rebuild_annotation())


def _field_adapter(path: str) -> TypeAdapter[Any]:
    *parents, name = path.split(".")
    model = model_at(parents)
    if model is None or name not in model.model_fields:  # the drawn patterns name model fields
        raise AssertionError(f"no scenario field at {path}")
    return _adapter_for(model, name)


def _rule_of(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    return str(err["msg"]).removeprefix("Value error, ")


def _value_at(scenario: Scenario, path: str) -> Any:
    """The validated value at a dotted path of the scenario."""
    node: Any = scenario
    for part in path.split("."):
        if isinstance(node, BaseModel):
            node = getattr(node, part)
        elif isinstance(node, Mapping):
            node = node[part] if part in node else node[int(part)]
        else:
            node = node[int(part)]
    return node


# --------------------------------------------------------------------------- across notes


def _check_pools(scenario: Scenario, ranges: Mapping[str, Range], fail: _Fail) -> None:
    for gid, group in scenario.groups.items():
        for pid, pool in group.pools.items():
            here = f"groups.{gid}.pools.{pid}"
            head, excl = ranges.get(f"{here}.headcount"), ranges.get(f"{here}.excluded")
            if pool.level_counts is not None:
                for r in (head, excl):
                    if r is not None and r.width > 0:
                        fail(
                            f"{r.path}.range",
                            [r.low, r.high],
                            "a pool that gives level_counts cannot vary its headcount or "
                            "excluded (the counts must sum to the eligible headcount); "
                            "give level_shares instead",
                        )
            excluded_high = excl.high if excl is not None else float(pool.excluded)
            headcount_low = head.low if head is not None else float(pool.headcount)
            if excluded_high > headcount_low:
                if excl is not None:
                    fail(
                        f"{excl.path}.range",
                        [excl.low, excl.high],
                        f"the high end must not exceed headcount's lowest value "
                        f"({headcount_low:g})",
                    )
                assert head is not None  # without ranges the loader's own rule held
                fail(
                    f"{head.path}.range",
                    [head.low, head.high],
                    f"the low end must not be below excluded ({excluded_high:g})",
                )


def _check_outflows(scenario: Scenario, ranges: Mapping[str, Range], fail: _Fail) -> None:
    """Attrition and promotions out of a pool must stay ≤ 1 in every draw, i.e. at their highs."""

    def high(path: str, value: float) -> float:
        r = ranges.get(path)
        return r.high if r is not None else value

    outflow = {
        pid: high(f"groups.{gid}.pools.{pid}.attrition_rate_per_year", pool.attrition_rate_per_year)
        for pid, (gid, pool) in scenario.pools().items()
    }
    for i, promo in enumerate(scenario.promotions):
        path = f"promotions.{i}.rate_per_year"
        outflow[promo.from_pool] += high(path, promo.rate_per_year)
        if outflow[promo.from_pool] > 1 + SUM_TOLERANCE:
            r = ranges.get(path)
            fail(
                f"{path}.range" if r is not None else path,
                [r.low, r.high] if r is not None else promo.rate_per_year,
                f"at the high ends of their ranges, attrition and promotions out of pool "
                f"'{promo.from_pool}' add up to more than everyone each year "
                f"({outflow[promo.from_pool]:.6g})",
            )


def _correlations(
    scenario: Scenario,
    ranges: Mapping[str, Range],
    mixes: Mapping[str, LevelMix],
    fail: _Fail,
) -> tuple[Correlation, ...]:
    provenance = scenario.provenance
    fixed = [p for p, source in provenance.sources.items() if source == OVERRIDE_SOURCE]
    out: list[Correlation] = []
    named: list[tuple[str, set[str]]] = []
    labels: dict[str, int] = {}
    for i, entry in enumerate(scenario.correlations):
        here = f"correlations.{i}"
        if entry.label in labels:
            fail(
                f"{here}.label",
                entry.label,
                f"is used twice (also correlations.{labels[entry.label]})",
            )
        labels[entry.label] = i
        if not entry.parameters:
            fail(
                f"{here}.parameters",
                [],
                "must list at least one pattern, e.g. courses.*.exam_pass_probability",
            )
        matched: set[str] = set()
        fixed_by_set = False
        for j, pattern in enumerate(entry.parameters):
            tables = [m for m in mixes if path_matches(pattern, m)]
            if tables:
                fail(
                    f"{here}.parameters.{j}",
                    pattern,
                    f"matches the level table {tables[0]}; level tables (concentration) cannot "
                    "be correlated, only numbers with a range",
                )
            pattern_fixed = any(path_matches(pattern, p) for p in fixed)
            fixed_by_set = fixed_by_set or pattern_fixed
            hits = [p for p in ranges if path_matches(pattern, p)]
            if not hits and not pattern_fixed:
                fail(f"{here}.parameters.{j}", pattern, _no_match(pattern, ranges, provenance))
            matched.update(hits)
        paths = tuple(p for p in ranges if p in matched)  # the scenario's order
        if len(paths) < 2:
            if fixed_by_set:
                # A what-if fixed the numbers this entry would correlate: the entry lapses rather
                # than turning a valid file into an error.
                continue
            fail(
                f"{here}.parameters",
                list(entry.parameters),
                f"matches only one number with a range ({paths[0]}); a correlation needs two",
            )
        # Two entries name a common pair exactly when they share two numbers: comparing the sets
        # is linear in the paths, where listing every pair was quadratic (minutes for a
        # national scenario whose patterns match thousands of numbers).
        mine = set(paths)
        for other_label, other in named:
            common = [p for p in paths if p in other]
            if len(common) >= 2:
                fail(
                    f"{here}.parameters",
                    list(entry.parameters),
                    f"{common[0]} and {common[1]} are already correlated by '{other_label}'; "
                    "name a pair in one entry only",
                )
        named.append((entry.label, mine))
        out.append(
            Correlation(
                label=entry.label,
                paths=paths,
                rank_correlation=float(entry.rank_correlation),
                source=_correlation_source(provenance, f"{here}.rank_correlation", entry.source),
            )
        )
    _check_psd(out, fail)
    return tuple(out)


def _no_match(pattern: str, ranges: Mapping[str, Range], provenance: Provenance) -> str:
    unranged = [p for p in provenance.sources if path_matches(pattern, p)]
    if unranged:
        return f"matches {unranged[0]}, which carries no range; give it one first"
    close = difflib.get_close_matches(pattern, list(ranges), n=1, cutoff=0.6)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return "matches no number that carries a range (* stands for one id)" + hint


def _correlation_source(provenance: Provenance, path: str, entry_source: str) -> str:
    if path in provenance.sources and path not in provenance.unsourced:
        return provenance.sources[path]  # a {value, source} note on the correlation itself
    if entry_source.strip():
        # A bare number with the entry's own source is sourced after all: count it so.
        provenance.sources[path] = entry_source
        if path in provenance.unsourced:
            provenance.unsourced.remove(path)
        return entry_source
    return ASSUMPTION


def _check_psd(correlations: list[Correlation], fail: _Fail) -> None:
    """The simulator's Gaussian copula needs the implied normal correlation matrix to be a
    correlation matrix at all: positive semi-definite."""
    from simopt.uncertain.draws import normal_correlation

    paths = list(dict.fromkeys(p for c in correlations for p in c.paths))
    if len(paths) < 3:  # one pair of numbers: any rank correlation in [−1, 1] is possible
        return
    matrix = normal_correlation(correlations, paths)
    smallest = float(np.linalg.eigvalsh(matrix).min())
    if smallest < -PSD_TOLERANCE:
        fail(
            "correlations",
            _NO_VALUE,
            "these rank correlations cannot hold together (the normal correlation matrix they "
            f"imply is not positive semi-definite: smallest eigenvalue {smallest:.3g}); "
            "weaken or drop some of them",
        )
