"""What to measure first: the value of knowing an uncertainty before committing to a plan.

For each uncertainty (or set of uncertainties one study would measure), the expected value of
partial perfect information (EVPPI, in VND): how much the robust plan's expected cost would fall
if the province learnt it before committing.

The robust plan holds every target with a stated confidence, so the naive "cost now − mean cost
of the robust plans made knowing the value" can be negative: knowing a bad value forces the
confidence to be met in that world too. The adaptive-policy formulation avoids that. The
uncertainty's distribution is cut into K equal-probability strata, each represented by the value
at its median quantile. In stratum k the province may keep the plan made without the information,
d0, or adopt d_k, the robust plan made knowing the value (:func:`simopt.plan.robust_plan` on the
scenario with the value fixed, same seed: the other parameters draw the same numbers). Both are
simulated in stratum k on one evaluation sample (common random numbers): their expected cost
c[k] and each target's probability p[t, k]. A policy picks one option per stratum (all 2^K are
tried); it must keep, for every target, the mean probability over the strata at least
min(confidence, the mean that d0 reaches). Keeping d0 everywhere is such a policy, so

    EVPPI = mean_k c_d0[k] − the cheapest admissible policy's mean cost ≥ 0,

and an uncertainty nothing depends on gives d_k = d0 in every stratum, hence exactly 0.

Costs are expected money spent on the plan (mean over the stratum's simulated futures, every
source, discounted at the scenario's rate if it sets one): every option in every stratum is priced
by the same rule, so that a drawn tuition's mean differing from its mode is not mistaken for
information.

Numbers that the scenario correlates (``correlations:``) are valued together, as one item (a
study that measures them all): knowing one would tell about the others, so valuing them apart as
if independent would be wrong. The strata of such a group run along its principal direction in
the Gaussian copula: with R the normal correlation matrix of its members, v its leading
eigenvector and λ its eigenvalue, stratum k puts the members at z = √λ · v · Φ⁻¹(q_k), their
expected position given the group's principal component at quantile q_k. A level table is valued
as one item, a survey of that pool's levels: its certified share (1 − the share at level 0, a
Beta marginal of the Dirichlet) at the stratum's quantile, the certified levels scaled in
proportion.

An uncertainty that reaches no target — a pool no target counts and no promotion leads from into
one, a course no such pool may take — is worth exactly 0 and is not simulated: its Monte Carlo
estimate would only be luck. To keep the run short the rest are screened first: only the ``top``
uncertainties by their one-at-a-time swing (:func:`simopt.uncertain.drivers.oat_drivers`, each
target's swing as a share of the people it requires, the largest over the targets, a group's
members added up) get the full computation; the others are listed as screened out, but for the
one with the smallest swing, valued beside them for scale: what the method reads for something
that barely matters is its noise floor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel

from simopt.dynamics import Dynamics, compile_dynamics
from simopt.experiments.discovery import FIELD_WORDS, planner_label, planner_value
from simopt.plan import PlanError, RobustPlan, robust_plan, target_gaps
from simopt.reporting.i18n import TY, check_lang, messages
from simopt.scenario import Scenario
from simopt.simulate import SimulationResult, schedule_array, simulate
from simopt.simulate.probability import is_met
from simopt.uncertain.draws import mix_share_quantile, normal_correlation, quantile, shifted_mix
from simopt.uncertain.spec import LevelMix, Range, Uncertainties

FloatArray = npt.NDArray[np.float64]

DEFAULT_STRATA = 4
DEFAULT_TOP = 6
DEFAULT_REPS = 1000
MAX_STRATA = 10
"""2^K policies are tried: K = 10 is 1,024, more would be slow and no more informative."""

FIXED_CONCENTRATION = 1e12
"""A level table known exactly is still drawn (its random stream must stay in place so that the
other tables draw the same numbers), with this concentration: within a millionth of its shares."""

EVALUATION_STREAM = 0x7015
"""Entropy word of the evaluation sample's seed: the options are compared on futures neither
plan was tuned on."""

PROBABILITY_TOLERANCE = 1e-12

VALUED = "valued"
SCALE = "valued for scale"
"""The reaching uncertainty with the smallest swing, valued beside the top ones: what the method
reads for something that barely matters is its noise floor (the robust loop's margins differ a
little from world to world, and the cheapest of 2^K choices picks the lucky ones)."""
NO_TARGET = "reaches no target"
SCREENED = "screened out"

TABLE_COLUMNS = [
    "rank",
    "uncertainty",
    "label",
    "kind",
    "parameters",
    "evppi_vnd",
    "standard_error_vnd",
    "replication_se_vnd",
    "strata",
    "strata_adapted",
    "conditional_plans_met",
    "swing",
    "status",
]
STRATA_COLUMNS = [
    "uncertainty",
    "stratum",
    "quantile",
    "setting",
    "keep_cost_vnd",
    "adapt_cost_vnd",
    "adapt_status",
    "adapted",
    "saving_vnd",
    "keep_lowest_probability",
    "adapt_lowest_probability",
]


class InformationError(PlanError):
    """The value of information was asked for something it cannot answer."""


# --------------------------------------------------------------------------- what can be learnt


@dataclass(frozen=True)
class Item:
    """What one study would measure: one range, one level table, or a correlated group."""

    name: str
    """The path, or ``correlation:<label>`` for a group."""
    kind: str
    """"range", "level table" or "correlation group"."""
    paths: tuple[str, ...]


def information_items(scenario: Scenario) -> list[Item]:
    """Everything the scenario leaves uncertain, as items one study would measure: each range
    not correlated with another, each correlated group (connected through ``correlations:``),
    each level table; nothing that cannot vary."""
    u = scenario.uncertainties
    varying = [p for p, r in u.ranges.items() if r.width > 0]
    parent = {p: p for p in varying}

    def root(p: str) -> str:
        while parent[p] != p:
            p = parent[p]
        return p

    labels: dict[str, list[str]] = {}
    for corr in u.correlations:
        members = [p for p in corr.paths if p in parent]
        for other in members[1:]:
            parent[root(other)] = root(members[0])
        for p in members:
            labels.setdefault(p, []).append(corr.label)
    groups: dict[str, list[str]] = {}
    for p in varying:
        groups.setdefault(root(p), []).append(p)
    items: list[Item] = []
    seen: set[str] = set()
    for p in varying:
        members = groups[root(p)]
        if root(p) in seen:
            continue
        seen.add(root(p))
        if len(members) == 1:
            items.append(Item(p, "range", (p,)))
            continue
        names = sorted({label for m in members for label in labels.get(m, [])})
        items.append(Item("correlation:" + "+".join(names), "correlation group", tuple(members)))
    for path, mix in u.level_mixes.items():
        certified = 1.0 - mix.shares.get(0, 0.0)
        if 0.0 < certified < 1.0:
            items.append(Item(path, "level table", (path,)))
    return items


def reaching_pools(scenario: Scenario) -> set[str]:
    """Pools whose people can count for a target: the targets' pools, and every pool promotions
    lead from into one of those."""
    pools = {pid for t in scenario.targets.values() for pid in scenario.target_pools(t)}
    grew = True
    while grew:
        grew = False
        for promo in scenario.promotions:
            if promo.to_pool in pools and promo.from_pool not in pools:
                pools.add(promo.from_pool)
                grew = True
    return pools


def reaches_targets(scenario: Scenario, d: Dynamics, path: str) -> bool:
    """Whether a parameter can change any target's attainment or the cost of any enrolment the
    plan could make: a pool's, if the pool reaches a target; a promotion's, if either end does;
    a course's, if a reaching pool may take it; the exams', if any such course exists."""
    pools = reaching_pools(scenario)
    parts = path.split(".")
    if parts[0] == "groups":
        return parts[3] in pools
    if parts[0] == "promotions":
        promo = scenario.promotions[int(parts[1])]
        return promo.from_pool in pools or promo.to_pool in pools
    open_to = [d.pool_index(p) for p in pools if p in d.pool_ids]
    if parts[0] == "courses":
        return bool(d.allowed[open_to, d.course_ids.index(parts[1])].any()) if open_to else False
    return bool(d.allowed[open_to, :].any()) if open_to else False


# --------------------------------------------------------------------------- a stratum's world


def stratum_quantiles(strata: int) -> FloatArray:
    """The median quantile of each of ``strata`` equal-probability strata."""
    return (np.arange(strata, dtype=float) + 0.5) / strata


def stratum_setting(scenario: Scenario, item: Item, q: float) -> dict[str, float]:
    """The item's value(s) at its stratum with median quantile ``q``: each path's value (a level
    table's certified share)."""
    from scipy import special

    u = scenario.uncertainties
    if item.kind == "level table":
        mix = u.level_mixes[item.paths[0]]
        return {item.paths[0]: mix_share_quantile(mix.shares, mix.concentration, q)}
    if item.kind == "range":
        r = u.ranges[item.paths[0]]
        return {r.path: float(quantile(r, np.array([q]))[0])}
    matrix = normal_correlation(u.correlations, item.paths)
    values, vectors = np.linalg.eigh(matrix)
    lead = vectors[:, -1] * (1.0 if vectors[:, -1].sum() >= 0 else -1.0)
    z = math.sqrt(max(float(values[-1]), 0.0)) * lead * float(special.ndtri(q))
    uniforms = np.asarray(special.ndtr(z), dtype=float)
    return {
        p: float(quantile(u.ranges[p], np.array([uniforms[j]]))[0])
        for j, p in enumerate(item.paths)
    }


def fixed_scenario(scenario: Scenario, setting: Mapping[str, float]) -> Scenario:
    """The scenario with each path of ``setting`` known: a range's field set to the value and
    its range made zero-width (it stays in place, so every other range draws the same numbers);
    a level table moved to the certified share (:func:`shifted_mix`) and drawn with a
    concentration so high that it no longer varies."""
    u = scenario.uncertainties
    ranges = dict(u.ranges)
    mixes = dict(u.level_mixes)
    out = scenario.model_copy()  # a copy even when nothing is set: its uncertainties change
    for path, value in setting.items():
        if path in u.level_mixes:
            mix = u.level_mixes[path]
            row = shifted_mix(mix.shares, value)
            shares = {lvl: float(row[lvl]) for lvl in sorted(mix.shares)}
            out = _replaced(out, path.split("."), shares)
            mixes[path] = LevelMix(path, shares, FIXED_CONCENTRATION, mix.source)
        else:
            r = u.ranges[path]
            out = _replaced(out, path.split("."), value)
            known = _current(out, path.split("."))
            ranges[path] = Range(
                path, float(known), float(known), float(known), r.distribution, r.sd, r.source
            )
    out._uncertainties = Uncertainties(ranges, mixes, u.correlations)
    return out


def _current(node: Any, parts: Sequence[str]) -> Any:
    for part in parts:
        if isinstance(node, BaseModel):
            node = getattr(node, part)
        elif isinstance(node, dict):
            node = node[part]
        else:
            node = node[int(part)]
    return node


def _replaced(node: Any, parts: Sequence[str], value: Any) -> Any:
    """A copy of ``node`` with the value at ``parts`` replaced (whole numbers stay whole)."""
    head, rest = parts[0], parts[1:]
    if isinstance(node, BaseModel):
        now = getattr(node, head)
        new = _replaced(now, rest, value) if rest else _same_kind(now, value)
        return node.model_copy(update={head: new})
    if isinstance(node, dict):
        now = node[head]
        new = _replaced(now, rest, value) if rest else _same_kind(now, value)
        return {**node, head: new}
    index = int(head)
    items = list(node)
    items[index] = _replaced(items[index], rest, value) if rest else _same_kind(items[index], value)
    return type(node)(items)


def _same_kind(now: Any, value: Any) -> Any:
    if isinstance(now, int) and not isinstance(now, bool) and isinstance(value, float):
        return round(value)
    return value


# --------------------------------------------------------------------------- an option's outcome


@dataclass(frozen=True)
class Outcome:
    """A schedule simulated in one stratum's world."""

    probability: FloatArray
    """(targets,) probability each target is met at its year."""
    cost: FloatArray
    """(reps,) money spent in each future (discounted at the scenario's rate)."""

    @property
    def mean_cost(self) -> float:
        return float(self.cost.mean())


def outcome(d: Dynamics, result: SimulationResult) -> Outcome:
    s = d.scenario
    gaps = target_gaps(d, result)
    probability = np.array([float(np.mean(is_met(g))) for g in gaps.values()])
    rate = s.budget.discount_rate_per_year
    start = s.horizon.start_year
    factor = np.array([(1.0 + rate) ** -(year - start) for year in result.cost_years])
    return Outcome(probability, np.asarray(result.cost_vnd @ factor, dtype=float))


def best_policy(
    keep_cost: FloatArray,
    adapt_cost: FloatArray,
    keep_probability: FloatArray,
    adapt_probability: FloatArray,
    confidence: float,
) -> tuple[npt.NDArray[np.bool_], float]:
    """Which strata adopt their conditional plan, and the policy's mean cost: the cheapest of
    the 2^K choices that keeps every target's mean probability over the strata at least
    min(confidence, keeping d0's mean). ``adapt_cost`` is NaN where no conditional plan exists.

    Probabilities are (targets, strata). Keeping d0 everywhere always qualifies; a tie keeps it.
    """
    strata = len(keep_cost)
    need = np.minimum(confidence, keep_probability.mean(axis=1)) - PROBABILITY_TOLERANCE
    available = np.isfinite(adapt_cost)
    best = np.zeros(strata, dtype=bool)
    best_cost = float(keep_cost.mean())
    for mask in range(1, 2**strata):
        adopt = np.array([(mask >> k) & 1 == 1 for k in range(strata)])
        if (adopt & ~available).any():
            continue
        cost = float(np.where(adopt, adapt_cost, keep_cost).mean())
        if cost >= best_cost:
            continue
        probability = np.where(adopt[None, :], adapt_probability, keep_probability).mean(axis=1)
        if (probability >= need).all():
            best, best_cost = adopt, cost
    return best, best_cost


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class ValueOfInformation:
    scenario: str
    confidence: float
    reps: int
    seed: int
    strata: int
    top: int
    status: str
    """"done", or "no_plan" when the robust plan itself does not hold (``message`` says why)."""
    message: str
    table: pd.DataFrame
    """Ranked, one row per item (``TABLE_COLUMNS``)."""
    strata_table: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=STRATA_COLUMNS))
    plan_cost_vnd: float | None = None
    """The robust plan's cost as the optimiser counts it (at the stated values)."""
    expected_cost_vnd: float | None = None
    """The robust plan's expected cost: the mean money spent over the evaluation futures."""
    labels_vi: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "status": self.status,
            "message": self.message,
            "confidence": self.confidence,
            "reps": self.reps,
            "seed": self.seed,
            "strata": self.strata,
            "top": self.top,
            "method": METHOD["en"],
            "correlations": CORRELATIONS["en"],
            "plan_cost_vnd": self.plan_cost_vnd,
            "expected_cost_vnd": self.expected_cost_vnd,
            "items": [_clean(r) for r in self.table.to_dict("records")],
            "strata_detail": [_clean(r) for r in self.strata_table.to_dict("records")],
            "seconds": self.seconds,
        }

    def digits(self, row: Mapping[Any, Any]) -> int:
        """Decimals in tỷ đồng a row's figures are rounded to: those its Monte Carlo error
        allows (the power of ten of the larger of its two errors), between 0 and 2."""
        errors = [float(row.get(k) or 0.0) for k in ("standard_error_vnd", "replication_se_vnd")]
        error = max((e for e in errors if math.isfinite(e)), default=0.0)
        if error <= 0.0:
            return 1
        return int(min(2, max(0, -math.floor(math.log10(error / TY)))))

    def text(self, lang: str = "en") -> str:
        lang = check_lang(lang)
        m = messages(lang)
        w = _WORDS[lang]
        lines = [w["title"].format(scenario=self.scenario, confidence=m.share(self.confidence))]
        if self.status != "done":
            lines.append(w["no_plan"].format(message=self.message))
            return "\n".join(lines)
        if self.plan_cost_vnd is not None:
            lines.append(
                w["plan"].format(
                    cost=m.ty(self.plan_cost_vnd, 1), expected=m.ty(self.expected_cost_vnd, 1)
                )
            )
        rank = 0
        for r in self.table.to_dict("records"):
            label = self._label(r, lang)
            if r["status"] != VALUED:
                continue
            rank += 1
            digits = self.digits(r)
            lines.append(
                w["row"].format(
                    rank=rank,
                    study=_study(str(r["uncertainty"]), str(r["kind"]), lang),
                    label=label,
                    value=m.ty(float(r["evppi_vnd"]), digits),
                    se=m.ty(float(r["standard_error_vnd"]), digits),
                    adapted=int(r["strata_adapted"]),
                    strata=int(r["strata"]),
                )
            )
        for r in self.table.to_dict("records"):
            if r["status"] == SCALE:
                lines.append(
                    w["scale"].format(
                        label=self._label(r, lang),
                        value=m.ty(float(r["evppi_vnd"]), self.digits(r)),
                    )
                )
        nothing = [
            self._label(r, lang) for r in self.table.to_dict("records") if r["status"] == NO_TARGET
        ]
        if nothing:
            lines.append(w["no_target"].format(items="; ".join(nothing)))
        screened = [
            self._label(r, lang) for r in self.table.to_dict("records") if r["status"] == SCREENED
        ]
        if screened:
            lines.append(w["screened"].format(top=self.top, items="; ".join(screened)))
        lines.append(
            METHOD[lang].format(strata=self.strata, reps=m.number(self.reps), seed=self.seed)
        )
        lines.append(CORRELATIONS[lang])
        lines.append(w["error"].format(reps=m.number(self.reps), strata=self.strata))
        return "\n".join(lines)

    def _label(self, row: Mapping[Any, Any], lang: str) -> str:
        if lang == "vi":
            return self.labels_vi.get(str(row["uncertainty"]), str(row["label"]))
        return str(row["label"])


def _clean(record: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in record.items():
        if isinstance(v, np.integer):
            v = int(v)
        elif isinstance(v, np.floating | float):
            v = float(v) if math.isfinite(float(v)) else None
        elif isinstance(v, np.bool_):
            v = bool(v)
        out[str(k)] = v
    return out


STUDIES: dict[str, tuple[str, str]] = {
    "exam_pass_probability": ("A pilot course and exam", "Một khóa học và kỳ thi thí điểm"),
    "completion_rate": ("A pilot course", "Một khóa học thí điểm"),
    "retake_pass_factor": ("A pilot exam with retakes", "Một kỳ thi thử có thi lại"),
    "level_shares": ("A survey of current levels", "Khảo sát trình độ hiện nay"),
    "hire_level_shares": ("A test of new hires' levels", "Kiểm tra trình độ người mới tuyển"),
    "attrition_rate_per_year": ("A staffing study", "Nghiên cứu biến động biên chế"),
    "hires_per_year": ("A recruitment plan", "Kế hoạch tuyển dụng"),
    "rate_per_year": ("An appointments plan", "Kế hoạch bổ nhiệm"),
    "headcount": ("A staff count", "Thống kê biên chế"),
    "excluded": ("A staff count", "Thống kê biên chế"),
    "tuition_vnd_per_trainee": ("Price quotes", "Báo giá"),
    "cost_vnd_per_class": ("Price quotes", "Báo giá"),
    "fee_vnd": ("Price quotes", "Báo giá"),
}


def _study(name: str, kind: str, lang: str) -> str:
    i = 1 if lang == "vi" else 0
    if kind == "correlation group":
        return ("A joint study", "Một nghiên cứu chung")[i]
    return STUDIES.get(name.split(".")[-1], ("A study", "Một nghiên cứu"))[i]


def item_label(scenario: Scenario, item: Item, lang: str = "en") -> str:
    """An item in a planner's words; a group names its common quantity and its members."""
    if item.kind != "correlation group":
        return planner_label(scenario, item.paths[0], lang)
    fields = {p.split(".")[-1] for p in item.paths}
    vi = lang == "vi"
    if len(fields) == 1:
        name = next(iter(fields))
        words = FIELD_WORDS.get(name, (name.replace("_", " "),) * 2)[int(vi)]
        subjects = [
            p.split(".")[1] if p.startswith("courses.") else p.split(".")[-2] for p in item.paths
        ]
        if len(subjects) > 3:
            together = (
                f"{len(subjects)} nhóm, cùng biến động"
                if vi
                else f"all {len(subjects)} pools, moving together"
            )
        else:
            joined = ", ".join(subjects)
            together = f"{joined}, cùng biến động" if vi else f"{joined}, moving together"
        return f"{words} ({together})"
    joiner = "; "
    return joiner.join(planner_label(scenario, p, lang) for p in item.paths)


def _setting_text(setting: Mapping[str, float], lang: str) -> str:
    """ "pe_staff.attrition_rate_per_year=3.2%, …": each path short of its group prefix."""

    def short(path: str) -> str:
        parts = path.split(".")
        return ".".join(parts[3:] if parts[0] == "groups" else parts[1:])

    return ", ".join(f"{short(p)}={planner_value(p, v, lang)}" for p, v in setting.items())


METHOD = {
    "en": "Method: the expected value of partial perfect information under an adaptive policy. "
    "Each uncertainty's distribution is cut into {strata} equal-probability strata, each "
    "represented by its median quantile; in each, the province keeps the robust plan made "
    "without the information or adopts the robust plan made knowing the value, whichever of "
    "the 2^{strata} choices is cheapest while every target's probability, averaged over the "
    "strata, stays at least the confidence (or what the plan without information reaches, if "
    "less). Both options are simulated in each stratum on the same {reps} futures (seed {seed}); "
    "costs are the expected money spent. The value is never negative, and exactly 0 for an "
    "uncertainty the plan does not depend on.",
    "vi": "Phương pháp: giá trị kỳ vọng của thông tin hoàn hảo từng phần theo chính sách thích "
    "ứng. Phân phối của mỗi yếu tố bất định được chia thành {strata} tầng đồng xác suất, mỗi tầng "
    "lấy giá trị tại phân vị giữa; trong mỗi tầng, tỉnh giữ kế hoạch vững lập khi chưa biết hoặc "
    "chuyển sang kế hoạch vững lập khi đã biết giá trị, chọn phương án rẻ nhất trong 2^{strata} "
    "cách mà xác suất đạt của mỗi chỉ tiêu, tính trung bình qua các tầng, vẫn không thấp hơn mức "
    "tin cậy (hoặc mức kế hoạch khi chưa biết đạt được, nếu thấp hơn). Cả hai phương án được mô "
    "phỏng trong mỗi tầng trên cùng {reps} tương lai (hạt giống {seed}); chi phí là số tiền chi "
    "kỳ vọng. Giá trị không bao giờ âm, và bằng đúng 0 với yếu tố kế hoạch không phụ thuộc.",
}

CORRELATIONS = {
    "en": "Correlated numbers (the scenario's correlations) are valued together as one study: "
    "knowing one tells about the others. Their strata run along the group's principal "
    "direction in the Gaussian copula. A level table is valued as one survey, by its certified "
    "share.",
    "vi": "Các số có tương quan (correlations của kịch bản) được định giá chung như một nghiên "
    "cứu: biết một số thì biết thêm về các số kia. Các tầng của nhóm chạy theo hướng chính của "
    "copula Gauss. Mỗi bảng trình độ được định giá như một cuộc khảo sát, theo tỷ lệ đã có "
    "chứng chỉ.",
}

_WORDS = {
    "en": {
        "title": "What to measure first: the value of knowing each uncertainty before "
        "committing ({scenario}, robust plan at {confidence})",
        "no_plan": "Cannot value information: {message}",
        "plan": "The robust plan costs {cost} as planned, {expected} expected over the "
        "simulated futures.",
        "row": "{rank}. {study} — {label}: worth about {value} (± {se}; the plan changes in "
        "{adapted} of {strata} strata)",
        "scale": "For scale: the uncertainty that moves the targets least, {label}, reads "
        "{value}; values near that are within the method's noise (the robust plans differ a "
        "little from world to world, and the cheapest choice favours the lucky ones).",
        "no_target": "Worth nothing (no target depends on it): {items}.",
        "screened": "Screened out (a smaller one-at-a-time swing than the top {top}; not "
        "valued): {items}.",
        "error": "Errors: ± is how much the saving differs between the {strata} strata (their "
        "standard deviation over the square root of {strata}) — a rough measure of how far a "
        "finer cut of the distribution could move the figure, not of luck; when the plan "
        "changes in one stratum only, it equals the value. Luck's own error, from the {reps} "
        "futures of each simulation (common random numbers), is replication_se_vnd in the "
        "table. Each figure is rounded to what the larger of the two allows (to 1, 0.1 or 0.01 "
        "tỷ đồng).",
    },
    "vi": {
        "title": "Nên đo gì trước: giá trị của việc biết trước từng yếu tố bất định trước khi "
        "cam kết ({scenario}, kế hoạch vững ở mức {confidence})",
        "no_plan": "Không định giá được thông tin: {message}",
        "plan": "Kế hoạch vững tốn {cost} theo kế hoạch, kỳ vọng {expected} qua các tương lai "
        "mô phỏng.",
        "row": "{rank}. {study} — {label}: đáng khoảng {value} (± {se}; kế hoạch thay đổi ở "
        "{adapted} trong {strata} tầng)",
        "scale": "Để so sánh: yếu tố ít ảnh hưởng nhất đến các chỉ tiêu, {label}, cho {value}; "
        "các giá trị gần mức đó nằm trong nhiễu của phương pháp (các kế hoạch vững khác nhau "
        "đôi chút giữa các thế giới, và lựa chọn rẻ nhất ưu tiên các trường hợp may mắn).",
        "no_target": "Không có giá trị (không chỉ tiêu nào phụ thuộc): {items}.",
        "screened": "Bị loại khi sàng lọc (biên độ một-lúc-một-yếu-tố nhỏ hơn {top} yếu tố đầu; "
        "không định giá): {items}.",
        "error": "Sai số: ± là mức chênh của khoản tiết kiệm giữa {strata} tầng (độ lệch chuẩn "
        "của chúng chia cho căn bậc hai của {strata}) — thước đo thô cho việc chia phân phối "
        "mịn hơn có thể làm con số dịch chuyển bao nhiêu, không phải sai số do may rủi; khi kế "
        "hoạch chỉ thay đổi ở một tầng, nó bằng chính giá trị. Sai số do may rủi, từ {reps} "
        "tương lai của mỗi lần mô phỏng (cùng số ngẫu nhiên), là replication_se_vnd trong bảng. "
        "Mỗi số được làm tròn theo sai số lớn hơn trong hai sai số đó (đến 1, 0,1 hoặc 0,01 tỷ "
        "đồng).",
    },
}


# --------------------------------------------------------------------------- the computation


def screening_scores(
    scenario: Scenario, schedule: pd.DataFrame, items: Sequence[Item], *, seed: int, d: Dynamics
) -> dict[str, float]:
    """Per item: the largest over the targets of its one-at-a-time swing as a share of the people
    the target requires (a group's members added up)."""
    from simopt.uncertain.drivers import oat_drivers

    drivers = oat_drivers(scenario, schedule, seed=seed, dynamics=d)
    if drivers.empty:
        return {item.name: 0.0 for item in items}
    share = drivers["swing_people"] / drivers["required_people"].clip(lower=1.0)
    table = drivers.assign(share=share).pivot_table(
        index="path", columns="target", values="share", aggfunc="max"
    )
    scores = {}
    for item in items:
        rows = table.reindex([p for p in item.paths if p in table.index])
        scores[item.name] = float(rows.sum(axis=0).max()) if not rows.empty else 0.0
    return scores


def _simulate(
    s: Scenario, d: Dynamics, schedule: pd.DataFrame, *, reps: int, seed: int, engine: str
) -> Outcome:
    return outcome(d, simulate(s, schedule, reps=reps, seed=seed, engine=engine, dynamics=d))


def evaluation_seed(seed: int) -> int:
    state = np.random.SeedSequence([seed, EVALUATION_STREAM]).generate_state(1, np.uint32)
    return int(state[0])


def value_item(
    scenario: Scenario,
    item: Item,
    keep: RobustPlan,
    *,
    confidence: float,
    reps: int,
    seed: int,
    strata: int,
    engine: str = "fast",
    say: Callable[[str], None] = lambda _m: None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The item's EVPPI (a table row without rank, label or swing) and its per-stratum detail."""
    assert keep.robust is not None
    d0_schedule = keep.robust.schedule
    n_targets = len(scenario.targets)
    keep_cost = np.zeros(strata)
    adapt_cost = np.full(strata, np.nan)
    keep_p = np.zeros((n_targets, strata))
    adapt_p = np.full((n_targets, strata), np.nan)
    keep_runs: list[FloatArray] = []
    adapt_runs: list[FloatArray | None] = []
    statuses: list[str] = []
    settings: list[dict[str, float]] = []
    at = evaluation_seed(seed)
    met = 0
    for k, q in enumerate(stratum_quantiles(strata)):
        say(f"{item.name}: stratum {k + 1}/{strata}")
        setting = stratum_setting(scenario, item, float(q))
        settings.append(setting)
        world = fixed_scenario(scenario, setting)
        d = compile_dynamics(world)
        kept = _simulate(world, d, d0_schedule, reps=reps, seed=at, engine=engine)
        keep_cost[k], keep_p[:, k] = kept.mean_cost, kept.probability
        keep_runs.append(kept.cost)
        known = robust_plan(world, confidence=confidence, reps=reps, seed=seed, engine=engine)
        statuses.append(known.status)
        if not known.is_met or known.robust is None:
            adapt_runs.append(None)
            continue
        met += 1
        same = np.array_equal(
            schedule_array(d, known.robust.schedule), schedule_array(d, d0_schedule)
        )
        adapted = (
            kept
            if same
            else _simulate(world, d, known.robust.schedule, reps=reps, seed=at, engine=engine)
        )
        adapt_cost[k], adapt_p[:, k] = adapted.mean_cost, adapted.probability
        adapt_runs.append(adapted.cost)
    adopt, best = best_policy(keep_cost, adapt_cost, keep_p, adapt_p, confidence)
    evppi = float(keep_cost.mean()) - best
    savings = np.where(adopt, keep_cost - np.nan_to_num(adapt_cost), 0.0)
    se = float(savings.std(ddof=1) / math.sqrt(strata)) if strata > 1 else math.nan
    per_rep_var = []
    for k in range(strata):
        run = adapt_runs[k]
        if adopt[k] and run is not None:
            per_rep_var.append(float(np.var(keep_runs[k] - run, ddof=1)))
        else:
            per_rep_var.append(0.0)
    replication_se = math.sqrt(sum(per_rep_var) / reps) / strata
    detail = [
        {
            "uncertainty": item.name,
            "stratum": k + 1,
            "quantile": float(q),
            "setting": _setting_text(settings[k], "en"),
            "keep_cost_vnd": float(keep_cost[k]),
            "adapt_cost_vnd": float(adapt_cost[k]),
            "adapt_status": statuses[k],
            "adapted": bool(adopt[k]),
            "saving_vnd": float(savings[k]),
            "keep_lowest_probability": float(keep_p[:, k].min()) if n_targets else math.nan,
            "adapt_lowest_probability": (
                float(adapt_p[:, k].min()) if n_targets and np.isfinite(adapt_cost[k]) else math.nan
            ),
        }
        for k, q in enumerate(stratum_quantiles(strata))
    ]
    row = {
        "uncertainty": item.name,
        "kind": item.kind,
        "parameters": ", ".join(item.paths),
        "evppi_vnd": evppi,
        "standard_error_vnd": se,
        "replication_se_vnd": replication_se,
        "strata": strata,
        "strata_adapted": int(adopt.sum()),
        "conditional_plans_met": met,
        "status": VALUED,
    }
    return row, detail


def value_of_information(
    scenario: Scenario,
    *,
    confidence: float = 0.9,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
    strata: int = DEFAULT_STRATA,
    top: int = DEFAULT_TOP,
    progress: Callable[[str], None] | None = None,
    engine: str = "fast",
) -> ValueOfInformation:
    """Rank the scenario's uncertainties by what knowing each before committing is worth to the
    robust plan at ``confidence`` (EVPPI in VND; see the module's description)."""
    if not 2 <= strata <= MAX_STRATA:
        raise InformationError(
            f"strata(={strata}) must lie between 2 and {MAX_STRATA}: one stratum learns nothing, "
            f"and 2^strata policies are tried"
        )
    if top < 0:
        raise InformationError(f"top(={top}) must be ≥ 0")
    started = time.perf_counter()
    say = progress or (lambda _m: None)
    say("the robust plan without information")
    keep = robust_plan(scenario, confidence=confidence, reps=reps, seed=seed, engine=engine)

    def result(status: str, message: str, table: pd.DataFrame, **more: Any) -> ValueOfInformation:
        return ValueOfInformation(
            scenario=scenario.name,
            confidence=confidence,
            reps=reps,
            seed=seed,
            strata=strata,
            top=top,
            status=status,
            message=message,
            table=table,
            seconds=time.perf_counter() - started,
            **more,
        )

    if not keep.is_met or keep.robust is None:
        return result(
            "no_plan",
            f"the robust plan does not hold ({keep.message}); information is valued against a "
            "plan that does",
            pd.DataFrame(columns=TABLE_COLUMNS),
        )
    d = compile_dynamics(scenario)
    expected = _simulate(
        scenario, d, keep.robust.schedule, reps=reps, seed=evaluation_seed(seed), engine=engine
    ).mean_cost
    items = information_items(scenario)
    reaching = {
        item.name: any(reaches_targets(scenario, d, p) for p in item.paths) for item in items
    }
    say("screening: one uncertainty at a time")
    scores = screening_scores(scenario, keep.robust.schedule, items, seed=seed, d=d)
    candidates = [item for item in items if reaching[item.name]]
    candidates.sort(key=lambda item: -scores[item.name])
    chosen = {item.name for item in candidates[:top]}
    rest = candidates[top:] if top > 0 else []
    for_scale = rest[-1].name if rest else None
    rows: list[dict[str, Any]] = []
    details: list[dict[str, Any]] = []
    for item in items:
        common = {
            "label": item_label(scenario, item),
            "swing": scores[item.name],
            "uncertainty": item.name,
            "kind": item.kind,
            "parameters": ", ".join(item.paths),
            "strata": strata,
        }
        if not reaching[item.name]:
            rows.append(
                {
                    **common,
                    "evppi_vnd": 0.0,
                    "standard_error_vnd": 0.0,
                    "replication_se_vnd": 0.0,
                    "strata_adapted": 0,
                    "conditional_plans_met": 0,
                    "status": NO_TARGET,
                }
            )
            continue
        if item.name not in chosen and item.name != for_scale:
            rows.append({**common, "status": SCREENED})
            continue
        row, detail = value_item(
            scenario,
            item,
            keep,
            confidence=confidence,
            reps=reps,
            seed=seed,
            strata=strata,
            engine=engine,
            say=say,
        )
        if item.name == for_scale:
            row["status"] = SCALE
        rows.append({**common, **row})
        details += detail
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    order = {VALUED: 0, SCALE: 1, NO_TARGET: 2, SCREENED: 3}
    table = (
        table.assign(_order=table["status"].map(order), _value=-table["evppi_vnd"].fillna(0.0))
        .sort_values(["_order", "_value", "swing"], ascending=[True, True, False], kind="stable")
        .drop(columns=["_order", "_value"])
        .reset_index(drop=True)
    )
    valued = table["status"] == VALUED
    table["rank"] = pd.array([i + 1 if v else None for i, v in enumerate(valued)], dtype="Int64")
    return result(
        "done",
        "",
        table,
        strata_table=pd.DataFrame(details, columns=STRATA_COLUMNS),
        plan_cost_vnd=keep.robust.total_cost_vnd,
        expected_cost_vnd=expected,
        labels_vi={item.name: item_label(scenario, item, "vi") for item in items},
    )


__all__ = [
    "SCALE",
    "InformationError",
    "Item",
    "ValueOfInformation",
    "best_policy",
    "fixed_scenario",
    "information_items",
    "reaches_targets",
    "stratum_setting",
    "value_of_information",
]
