"""When does the plan fail? Scenario discovery: the futures in which a target is missed.

A schedule is simulated many times, each replication drawing every uncertain parameter of the
scenario (a level table counts by its certified share, 1 − the share at level 0). For each target
(and for "all": at least one target missed) PRIM — the patient rule induction method of
Friedman and Fisher, as in ``ema_workbench.analysis.prim`` — looks for a few boxes, ranges of a
few parameters, where misses crowd: "pe_2030 is missed in 83% of the futures where the level4
exam pass probability is below 56% and …".

For readable boxes PRIM is given, for each box, the ``max_dimensions`` parameters whose values
differ most between the futures where the target is missed and where it is met (rank-sum
|AUC − ½|): on all 37 of Long An's, its peeling restricts a dozen parameters by a hair each
before the density rises. The box is the step of the peeling trajectory that covers most misses
among those whose density (the share missed inside it) reaches ``threshold``; a restriction
whose quasi-p-value calls it insignificant is dropped when the box can spare it. When no step
reaches the threshold, the densest is reported as such. The next box is sought among the futures
outside the boxes found. Coverage is the share of all misses inside a box, density the share of
the futures inside it where the target is missed, mass the share of all futures inside it.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from simopt.dynamics import compile_dynamics
from simopt.plan import target_gaps
from simopt.reporting.i18n import check_lang, messages
from simopt.scenario import Scenario
from simopt.simulate import simulate
from simopt.simulate.probability import is_met
from simopt.uncertain.draws import ParameterDraws

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

ALL = "all"
"""The pseudo-target "at least one target missed"."""

DEFAULT_REPS = 2000
"""Futures simulated: a box holding 5% of them (PRIM's least mass) then holds 100, so its density
is known to about ±5 points (one standard error at worst). On Long An's robust plan, samples of
2,000 with other seeds find the same parameters for each target's first box, their limits a few
points apart."""

DEFAULT_THRESHOLD = 0.5
"""Least density of a box worth reporting: inside it the target is missed at least as often as
it is met."""

PEEL_ALPHA = 0.05
"""Share of the futures PRIM peels off a box at each step."""

PASTE_ALPHA = 0.05
MASS_MIN = 0.05
"""Smallest share of the futures a box may hold."""

MAX_DIMENSIONS = 3
"""Most parameters a reported box restricts: more is not a sentence a planner reads."""

BOX_COLUMNS = [
    "target",
    "box",
    "coverage",
    "density",
    "density_se",
    "mass",
    "futures_in_box",
    "meets_threshold",
    "lift",
    "dimension",
    "label",
    "low",
    "high",
    "restricted",
    "quasi_p",
]


# --------------------------------------------------------------------------- planners' words

FIELD_WORDS: dict[str, tuple[str, str]] = {
    "exam_pass_probability": ("exam pass probability", "tỷ lệ đỗ kỳ thi"),
    "completion_rate": ("completion rate", "tỷ lệ hoàn thành khóa học"),
    "tuition_vnd_per_trainee": ("tuition per trainee", "học phí mỗi học viên"),
    "cost_vnd_per_class": ("cost per class", "chi phí mỗi lớp"),
    "attrition_rate_per_year": ("attrition per year", "tỷ lệ nghỉ việc mỗi năm"),
    "hires_per_year": ("hires per year", "số tuyển mới mỗi năm"),
    "headcount": ("headcount", "số người"),
    "excluded": ("people excluded", "số người không tính"),
    "level_shares": ("share certified now", "tỷ lệ đã có chứng chỉ hiện nay"),
    "hire_level_shares": ("new hires' share certified", "tỷ lệ người mới tuyển có chứng chỉ"),
    "fee_vnd": ("exam fee", "lệ phí thi"),
    "retake_pass_factor": ("retake pass factor", "hệ số đỗ khi thi lại"),
}
"""A drawn field in a planner's words (English, Vietnamese)."""

PERCENT_FIELDS = frozenset(
    {
        "exam_pass_probability",
        "completion_rate",
        "attrition_rate_per_year",
        "rate_per_year",
        "level_shares",
        "hire_level_shares",
    }
)
MONEY_FIELDS = frozenset({"tuition_vnd_per_trainee", "cost_vnd_per_class", "fee_vnd"})
PEOPLE_FIELDS = frozenset({"headcount", "excluded", "hires_per_year"})


def _lang_index(lang: str) -> int:
    return 1 if check_lang(lang) == "vi" else 0


def planner_label(scenario: Scenario, path: str, lang: str = "en") -> str:
    """A drawn parameter or level table in a planner's words: "level4 exam pass probability",
    "attrition per year (other public employees)" (Vietnamese: the quantity first)."""
    parts = path.split(".")
    vi = _lang_index(lang) == 1
    name = parts[-1]
    if parts[0] == "promotions" and len(parts) == 3 and parts[1].isdecimal():
        promo = scenario.promotions[int(parts[1])]
        what = "tỷ lệ bổ nhiệm" if vi else "promotion rate"
        return f"{what} {promo.from_pool} → {promo.to_pool}"
    words = FIELD_WORDS.get(name, (name.replace("_", " "),) * 2)[int(vi)]
    if parts[0] == "courses" and len(parts) == 3:
        subject = parts[1]
    elif parts[0] == "groups" and len(parts) == 5:
        pool = scenario.groups[parts[1]].pools[parts[3]]
        subject = _lower_first(pool.name) if pool.name and len(pool.name) <= 40 else parts[3]
        return f"{words} ({subject})"
    else:
        return words
    return f"{words} {subject}" if vi else f"{subject} {words}"


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def planner_value(path: str, value: float, lang: str = "en") -> str:
    """A value of a parameter as a planner reads it: 56%, 700 people, 12,000,000 VND."""
    m = messages(lang)
    name = path.split(".")[-1]
    if name in PERCENT_FIELDS:
        digits = 1 if abs(value) < 0.1 else 0
        return m.share(value, digits)
    if name in MONEY_FIELDS:
        return m.vnd(value)
    if name in PEOPLE_FIELDS:
        return m.number(value, 0)
    return m.number(value, 2)


# --------------------------------------------------------------------------- the futures


def futures_table(scenario: Scenario, draws: ParameterDraws) -> pd.DataFrame:
    """One row per simulated future, one column per parameter that varies: each drawn scalar,
    and each level table's certified share (1 − the share at level 0)."""
    u = scenario.uncertainties
    data: dict[str, FloatArray] = {}
    for path, r in u.ranges.items():
        if r.width > 0:
            data[path] = np.asarray(draws.column(path), dtype=float)
    for path, shares in draws.mixes.items():
        data[path] = 1.0 - np.asarray(shares[:, 0], dtype=float)
    frame = pd.DataFrame(data, index=pd.RangeIndex(draws.reps))
    varying = [c for c in frame.columns if float(frame[c].max() - frame[c].min()) > 0.0]
    return frame[varying].astype(float)


def missed_by_target(scenario: Scenario, gaps: dict[str, FloatArray]) -> dict[str, BoolArray]:
    """Per target, then "all": was it missed in each future?"""
    out = {tid: ~is_met(g) for tid, g in gaps.items()}
    if out:
        out[ALL] = np.any(np.stack(list(out.values())), axis=0)
    return out


# --------------------------------------------------------------------------- PRIM


@dataclass(frozen=True)
class PrimSettings:
    threshold: float = DEFAULT_THRESHOLD
    peel_alpha: float = PEEL_ALPHA
    paste_alpha: float = PASTE_ALPHA
    mass_min: float = MASS_MIN
    max_dimensions: int = MAX_DIMENSIONS
    max_boxes: int = 3

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold_density": self.threshold,
            "peel_alpha": self.peel_alpha,
            "paste_alpha": self.paste_alpha,
            "mass_min": self.mass_min,
            "max_dimensions": self.max_dimensions,
            "max_boxes": self.max_boxes,
        }


def _prim_module() -> Any:
    # ema_workbench warns at import about optional parallel back-ends it does not need here, and
    # logs every box it finds: neither is the planner's business
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench.analysis import prim
    logging.getLogger("EMA").setLevel(logging.WARNING)
    return prim


def association(x: pd.DataFrame, y: BoolArray) -> pd.Series[float]:
    """Per parameter, how far apart its values lie in the futures where the target is missed and
    where it is met: |AUC − ½| of the rank-sum (Mann–Whitney) statistic, 0 to ½."""
    from scipy import stats

    n1, n0 = int(y.sum()), int((~y).sum())
    out = {}
    for c in x.columns:
        if n1 == 0 or n0 == 0:
            out[str(c)] = 0.0
            continue
        ranks = stats.rankdata(x[c].to_numpy())
        auc = (float(ranks[y].sum()) - n1 * (n1 + 1) / 2.0) / (n1 * n0)
        out[str(c)] = abs(auc - 0.5)
    return pd.Series(out, dtype=float)


def prim_boxes(x: pd.DataFrame, y: BoolArray, settings: PrimSettings) -> list[dict[str, Any]]:
    """Up to ``settings.max_boxes`` boxes where ``y`` (missed) crowds, each sought among the
    futures outside the boxes before it; each a dict with its coverage (of all misses),
    density, mass (of all futures), count, whether it meets the density threshold, and its
    restrictions (dimension, low, high, side, quasi-p).

    PRIM is given, for each box, the ``max_dimensions`` parameters most associated with missing
    among the remaining futures (:func:`association`): a box on all of them stays readable. When
    no step of the peeling trajectory reaches the threshold, the densest step is reported as the
    one box, marked as below it."""
    total = int(y.sum())
    if x.shape[1] == 0 or total == 0:
        return []
    prim = _prim_module()
    remaining = np.ones(len(y), dtype=bool)
    found: list[dict[str, Any]] = []
    while len(found) < settings.max_boxes:
        xs = x[remaining].reset_index(drop=True)
        ys = y[remaining]
        if int(ys.sum()) == 0:
            break
        score = association(xs, ys)
        dims = [str(c) for c in score.sort_values(ascending=False, kind="stable").index]
        dims = [c for c in dims if score[c] > 0.0][: settings.max_dimensions]
        if not dims:
            break
        with warnings.catch_warnings():
            # ema_workbench 2.5 calls pandas APIs that pandas now announces it will change
            warnings.simplefilter("ignore")
            finder = prim.Prim(
                xs[dims],
                ys.astype(int),
                # PRIM's own threshold only names the cases of interest (y ≥ it) and discards
                # a final box below it; the density rule is applied to the whole trajectory
                threshold=PRIM_CASE_THRESHOLD,
                peel_alpha=settings.peel_alpha,
                paste_alpha=settings.paste_alpha,
                mass_min=settings.mass_min,
            )
            box = finder.find_box()
        if box is None:
            break
        step, meets = _readable_step(box.peeling_trajectory, settings)
        if step is None or (not meets and found):
            break
        box.select(step)
        kept = _prune(xs, ys, _restrictions(box, finder, step), settings, meets)
        inside = in_box(xs, kept)
        n_box, k_box = int(inside.sum()), int(ys[inside].sum())
        density = k_box / n_box if n_box else math.nan
        found.append(
            {
                "coverage": k_box / total,
                "density": density,
                "density_se": math.sqrt(density * (1.0 - density) / n_box) if n_box else math.nan,
                "mass": n_box / len(y),
                "futures_in_box": n_box,
                "meets_threshold": meets,
                "restrictions": kept,
            }
        )
        if not meets:
            break
        where = np.flatnonzero(remaining)
        remaining[where[inside]] = False
    return found


def in_box(x: pd.DataFrame, restrictions: Sequence[dict[str, Any]]) -> BoolArray:
    """Which rows of ``x`` lie within every restriction (limits included, as PRIM counts)."""
    inside = np.ones(len(x), dtype=bool)
    for r in restrictions:
        v = x[r["dimension"]].to_numpy()
        inside &= (v >= r["low"]) & (v <= r["high"])
    return inside


def _prune(
    x: pd.DataFrame,
    y: BoolArray,
    restrictions: list[dict[str, Any]],
    settings: PrimSettings,
    meets: bool,
) -> list[dict[str, Any]]:
    """Drop restrictions PRIM's quasi-p-value calls insignificant (> ``QUASI_P_MAX``), weakest
    first, as long as a box that met the density threshold still meets it: a limit that does
    not change who misses only lengthens the sentence."""
    kept = list(restrictions)
    for r in sorted(restrictions, key=lambda r: -_finite_or(r["quasi_p"], 0.0)):
        if len(kept) <= 1 or not _finite_or(r["quasi_p"], 0.0) > QUASI_P_MAX:
            continue
        trial = [k for k in kept if k is not r]
        inside = in_box(x, trial)
        density = float(y[inside].mean()) if inside.any() else 0.0
        if not meets or density >= settings.threshold:
            kept = trial
    return kept


def _finite_or(v: float, default: float) -> float:
    return v if math.isfinite(v) else default


QUASI_P_MAX = 0.05
"""A restriction whose quasi-p-value (Bryant and Lempert 2010: a one-sided binomial test of the
box against the box without it) exceeds this is dropped when the box can spare it."""

PRIM_CASE_THRESHOLD = 1e-9
"""Passed to PRIM as its threshold: y ≥ it marks a miss, and every final box but an empty one
passes it."""


def _readable_step(trajectory: pd.DataFrame, settings: PrimSettings) -> tuple[int | None, bool]:
    """The step of the peeling trajectory covering most misses among those with a density of at
    least the threshold, and True; else the densest step and False; None when no step restricts
    anything."""
    t = trajectory.reset_index(drop=True)
    restricted = t[(t["res_dim"] >= 1) & (t["mass"] >= settings.mass_min)]
    if restricted.empty:
        return None, False
    dense = restricted[restricted["density"] >= settings.threshold]
    if not dense.empty:
        best = dense.sort_values(["coverage", "density"], ascending=False, kind="stable")
        return int(best.index[0]), True
    best = restricted.sort_values(["density", "coverage"], ascending=False, kind="stable")
    return int(best.index[0]), False


def _restrictions(box: Any, finder: Any, step: int) -> list[dict[str, Any]]:
    lims: pd.DataFrame = box.box_lims[step]
    init: pd.DataFrame = finder.box_init
    qp: dict[str, list[float]] = box.qp[step]
    out = []
    for dim in x_columns(init):
        lo, hi = float(lims[dim].iloc[0]), float(lims[dim].iloc[1])
        lo0, hi0 = float(init[dim].iloc[0]), float(init[dim].iloc[1])
        if lo == lo0 and hi == hi0:
            continue
        side = "between" if lo > lo0 and hi < hi0 else ("below" if lo == lo0 else "above")
        values = [v for v in qp.get(dim, []) if v is not None and v >= 0]
        out.append(
            {
                "dimension": dim,
                "low": lo,
                "high": hi,
                "restricted": side,
                "quasi_p": max(values) if values else math.nan,
            }
        )
    return out


def x_columns(frame: pd.DataFrame) -> list[str]:
    return [str(c) for c in frame.columns]


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Discovery:
    scenario: str
    reps: int
    seed: int
    settings: PrimSettings
    miss_share: dict[str, float]
    """Per target analysed (then "all"): the share of the futures in which it is missed."""
    boxes: pd.DataFrame
    """Tidy: one row per box and restricted parameter (columns ``BOX_COLUMNS``)."""
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    """Language → parameter path → planner's label."""
    dimensions: tuple[str, ...] = ()
    """The parameters PRIM looked at (those that vary across the futures)."""
    schedule_kind: str = "schedule"

    @property
    def never_missed(self) -> bool:
        return all(share == 0.0 for share in self.miss_share.values())

    def to_dict(self) -> dict[str, Any]:
        records = []
        for r in self.boxes.to_dict("records"):
            records.append({k: _json_number(v) for k, v in r.items()})
        return {
            "scenario": self.scenario,
            "schedule": self.schedule_kind,
            "futures": self.reps,
            "seed": self.seed,
            "prim": self.settings.to_dict(),
            "dimensions": list(self.dimensions),
            "miss_share": {k: float(v) for k, v in self.miss_share.items()},
            "never_missed": self.never_missed,
            "boxes": records,
        }

    def text(self, lang: str = "en") -> str:
        words = _WORDS[check_lang(lang)]
        m = messages(lang)
        s = self.settings
        lines = [
            words["title"].format(scenario=self.scenario, kind=words[self.schedule_kind]),
            words["sample"].format(
                n=m.number(self.reps), dims=len(self.dimensions), seed=self.seed
            ),
        ]
        if not self.dimensions:
            lines.append(words["no_uncertainty"])
        elif self.never_missed:
            lines.append(words["never"].format(n=m.number(self.reps)))
        else:
            for target, share in self.miss_share.items():
                name = words["all"] if target == ALL else target
                if share == 0.0:
                    lines.append(words["target_never"].format(target=name))
                    continue
                lines.append(words["target"].format(target=name, share=m.share(share, 1)))
                rows = self.boxes[self.boxes["target"] == target]
                if rows.empty or not bool(rows["meets_threshold"].iloc[0]):
                    lines.append(
                        "  "
                        + words["no_box"].format(
                            threshold=m.share(s.threshold), dims=s.max_dimensions
                        )
                    )
                for number, box in rows.groupby("box", sort=True):
                    first = box.iloc[0]
                    where = words["and"].join(
                        self._condition(r, lang) for r in box.to_dict("records")
                    )
                    key = "box" if bool(first["meets_threshold"]) else "densest"
                    lines.append(
                        "  "
                        + words[key].format(
                            lift=m.number(float(first["lift"]), 1),
                            box=number,
                            target=name,
                            density=m.share(float(first["density"])),
                            where=where,
                            coverage=m.share(float(first["coverage"])),
                            mass=m.share(float(first["mass"])),
                        )
                    )
        lines.append(
            words["method"].format(
                threshold=m.share(s.threshold),
                peel=m.number(s.peel_alpha, 2),
                paste=m.number(s.paste_alpha, 2),
                mass=m.share(s.mass_min),
                dims=s.max_dimensions,
                boxes=s.max_boxes,
            )
        )
        return "\n".join(lines)

    def _condition(self, row: Mapping[Any, Any], lang: str) -> str:
        words = _WORDS[check_lang(lang)]
        path = str(row["dimension"])
        label = self.labels.get(lang, {}).get(path, path)
        low = planner_value(path, float(row["low"]), lang)
        high = planner_value(path, float(row["high"]), lang)
        side = str(row["restricted"])
        return words[side].format(label=label, low=low, high=high)


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return None if not math.isfinite(float(v)) else float(v)
    return v


_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "When does the plan fail? Scenario discovery for {scenario} ({kind})",
        "robust": "the robust plan",
        "schedule": "the schedule given",
        "sample": "{n} simulated futures (seed {seed}), each drawing all {dims} uncertain "
        "parameters that vary; a level table counts by its certified share.",
        "no_uncertainty": "The scenario declares no uncertain parameter that varies: every "
        "miss is the luck of individuals, and there is no region of the uncertainties to "
        "describe.",
        "never": "No target is missed in any of the {n} futures: there is no failure region "
        "to describe.",
        "all": "at least one target",
        "target_never": "{target} is never missed.",
        "target": "{target} is missed in {share} of the futures.",
        "no_box": "No region of at most {dims} parameters holds futures where it is missed at "
        "least {threshold} of the time: the misses have many causes at once.",
        "box": "Box {box}: {target} is missed in {density} of the futures where {where} "
        "({lift} times its overall rate; the box holds {coverage} of the misses and {mass} of "
        "all futures).",
        "densest": "The densest region: {target} is missed in {density} of the futures where "
        "{where} ({lift} times its overall rate; {coverage} of the misses, {mass} of all "
        "futures).",
        "and": " and ",
        "below": "{label} is below {high}",
        "above": "{label} is above {low}",
        "between": "{label} is between {low} and {high}",
        "method": "Method: PRIM (ema_workbench) on drawn parameters → missed or not, given for "
        "each box the {dims} parameters whose values differ most between futures missed and "
        "met (rank-sum |AUC − ½|); a box is the step of the peeling trajectory covering most "
        "misses with a density of at least {threshold}; peel alpha {peel}, paste alpha "
        "{paste}, least mass {mass}, up to {boxes} boxes per target, each sought outside the "
        "boxes before it. Coverage: share of the misses inside the box; density: share of the "
        "futures inside it where the target is missed; mass: share of all futures.",
    },
    "vi": {
        "title": "Khi nào kế hoạch thất bại? Phát hiện kịch bản cho {scenario} ({kind})",
        "robust": "kế hoạch vững",
        "schedule": "lịch đào tạo đã cho",
        "sample": "{n} tương lai mô phỏng (hạt giống {seed}), mỗi tương lai rút lại cả {dims} "
        "tham số bất định; một bảng trình độ được tính theo tỷ lệ đã có chứng chỉ.",
        "no_uncertainty": "Kịch bản không khai báo tham số bất định nào thay đổi: mọi lần trượt "
        "chỉ do may rủi của từng người, không có vùng bất định nào để mô tả.",
        "never": "Không chỉ tiêu nào bị trượt trong {n} tương lai: không có vùng thất bại để "
        "mô tả.",
        "all": "ít nhất một chỉ tiêu",
        "target_never": "{target} không bao giờ bị trượt.",
        "target": "{target} bị trượt trong {share} số tương lai.",
        "no_box": "Không có vùng nào giới hạn tối đa {dims} tham số mà ở đó chỉ tiêu bị trượt "
        "ít nhất {threshold} số lần: các lần trượt có nhiều nguyên nhân cùng lúc.",
        "box": "Vùng {box}: {target} bị trượt trong {density} số tương lai mà {where} "
        "(gấp {lift} lần tỷ lệ chung; vùng chứa {coverage} số lần trượt và {mass} mọi tương "
        "lai).",
        "densest": "Vùng dày nhất: {target} bị trượt trong {density} số tương lai mà {where} "
        "(gấp {lift} lần tỷ lệ chung; {coverage} số lần trượt, {mass} mọi tương lai).",
        "and": " và ",
        "below": "{label} dưới {high}",
        "above": "{label} trên {low}",
        "between": "{label} trong khoảng {low} đến {high}",
        "method": "Phương pháp: PRIM (ema_workbench) trên tham số rút ngẫu nhiên → trượt hay "
        "không, mỗi vùng xét {dims} tham số khác biệt nhiều nhất giữa tương lai trượt và đạt "
        "(hạng |AUC − ½|); mỗi vùng là bước bóc tách chứa nhiều lần trượt nhất với mật độ ít "
        "nhất {threshold}; peel alpha {peel}, paste alpha {paste}, khối lượng tối thiểu {mass}, "
        "tối đa {boxes} vùng mỗi chỉ tiêu, vùng sau tìm ngoài các vùng trước. Độ phủ: phần lần "
        "trượt nằm trong vùng; mật độ: phần tương lai trong vùng bị trượt; khối lượng: phần mọi "
        "tương lai.",
    },
}


# --------------------------------------------------------------------------- the entry point


def discover(
    scenario: Scenario,
    schedule: pd.DataFrame,
    *,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
    targets: Sequence[str] | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    max_boxes: int = 3,
    peel_alpha: float = PEEL_ALPHA,
    paste_alpha: float = PASTE_ALPHA,
    mass_min: float = MASS_MIN,
    max_dimensions: int = MAX_DIMENSIONS,
    schedule_kind: str = "schedule",
) -> Discovery:
    """The regions of the uncertainties where ``schedule`` misses each target (and "all").

    ``targets`` limits the targets analysed (default every target; "all" is always added when
    more than one is analysed). ``schedule_kind`` ("schedule" or "robust") only names the
    schedule in the text.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold(={threshold}) must lie in (0, 1]: it is a density")
    if max_boxes < 1:
        raise ValueError(f"max_boxes(={max_boxes}) must be ≥ 1")
    chosen = list(scenario.targets) if targets is None else list(targets)
    unknown = [t for t in chosen if t not in scenario.targets]
    if unknown:
        raise ValueError(
            f"target(s) {', '.join(unknown)} not in scenario {scenario.name!r} "
            f"(it has {', '.join(scenario.targets)})"
        )
    d = compile_dynamics(scenario)
    result = simulate(scenario, schedule, reps=reps, seed=seed, engine="fast", dynamics=d)
    gaps = {t: g for t, g in target_gaps(d, result).items() if t in chosen}
    missed = missed_by_target(scenario, gaps)
    if len(chosen) == 1:
        missed.pop(ALL, None)
    x = (
        futures_table(scenario, result.parameters)
        if result.parameters is not None
        else pd.DataFrame(index=pd.RangeIndex(reps))
    )
    settings = PrimSettings(
        threshold=threshold,
        peel_alpha=peel_alpha,
        paste_alpha=paste_alpha,
        mass_min=mass_min,
        max_dimensions=max_dimensions,
        max_boxes=max_boxes,
    )
    rows: list[dict[str, Any]] = []
    for target, y in missed.items():
        for number, box in enumerate(prim_boxes(x, y, settings), start=1):
            for r in box["restrictions"]:
                rows.append(
                    {
                        "target": target,
                        "box": number,
                        "coverage": box["coverage"],
                        "density": box["density"],
                        "density_se": box["density_se"],
                        "mass": box["mass"],
                        "futures_in_box": box["futures_in_box"],
                        "meets_threshold": box["meets_threshold"],
                        "lift": box["density"] / float(np.mean(y)),
                        "dimension": r["dimension"],
                        "label": planner_label(scenario, r["dimension"]),
                        "low": r["low"],
                        "high": r["high"],
                        "restricted": r["restricted"],
                        "quasi_p": r["quasi_p"],
                    }
                )
    dims = tuple(x_columns(x))
    labels = {lang: {p: planner_label(scenario, p, lang) for p in dims} for lang in ("en", "vi")}
    return Discovery(
        scenario=scenario.name,
        reps=reps,
        seed=seed,
        settings=settings,
        miss_share={t: float(np.mean(y)) for t, y in missed.items()},
        boxes=pd.DataFrame(rows, columns=BOX_COLUMNS),
        labels=labels,
        dimensions=dims,
        schedule_kind=schedule_kind,
    )
