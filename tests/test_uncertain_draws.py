"""Drawing uncertain parameters: each range follows its stated distribution, correlations reach
their stated rank correlation, level tables are Dirichlet, and the draws are reproducible.

The reference distributions are built here from scipy.stats, independently of
:func:`simopt.uncertain.draws.quantile`. Every test uses a fixed seed, so a statistical bound is
a deterministic check; the bounds are chosen so that a correct implementation fails them with a
probability far below 1e-3 for a random seed (KS p-value > 1e-3; 4 standard errors elsewhere).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

from simopt.scenario import build_scenario
from simopt.uncertain.draws import ParameterDraws, draw_parameters, quantile
from simopt.uncertain.spec import Correlation, LevelMix, Range, Uncertainties

N = 20_000
SEED = 20240611
PASS = "courses.c.exam_pass_probability"
COMPLETION = "courses.c.completion_rate"
ATTRITION = "groups.g.pools.p.attrition_rate_per_year"
SHARES = "groups.g.pools.p.level_shares"


def scenario_with(pass_note: Any, **pool: Any) -> Any:
    """A one-pool, one-course scenario whose pass probability is written as ``pass_note``."""
    return build_scenario(
        {
            "name": "draws",
            "horizon": {"start_year": 2021, "end_year": 2022, "milestones": [2022]},
            "groups": {"g": {"pools": {"p": {"headcount": 100, **pool}}}},
            "courses": {
                "c": {
                    "entry_level": 0,
                    "target_level": 3,
                    "duration_months": 3,
                    "tuition_vnd_per_trainee": 1_000_000,
                    "exam_pass_probability": pass_note,
                }
            },
            "exams": {"session_months": [6]},
            "targets": {"t": {"groups": ["g"], "min_level": 3, "share": 0.3, "year": 2022}},
        }
    )


def only_range(**kwargs: Any) -> Uncertainties:
    r = Range(path=PASS, **kwargs)
    return Uncertainties(ranges={PASS: r})


# --------------------------------------------------------------------------- marginals


def pert(mode: float, lo: float, hi: float) -> Any:
    a = 1 + 4 * (mode - lo) / (hi - lo)
    b = 1 + 4 * (hi - mode) / (hi - lo)
    return stats.beta(a, b, loc=lo, scale=hi - lo)


def truncated_normal(mean: float, lo: float, hi: float, sd: float) -> Any:
    return stats.truncnorm((lo - mean) / sd, (hi - mean) / sd, loc=mean, scale=sd)


# (note as a planner writes it, the exact distribution it stands for)
MARGINALS: dict[str, tuple[dict[str, Any], Any]] = {
    "uniform by default": (
        {"value": 0.6, "range": [0.45, 0.8]},
        stats.uniform(loc=0.45, scale=0.35),
    ),
    "uniform": (
        {"value": 0.5, "range": [0.2, 0.9], "distribution": "uniform"},
        stats.uniform(loc=0.2, scale=0.7),
    ),
    "triangular": (
        {"value": 0.6, "range": [0.45, 0.8], "distribution": "triangular"},
        stats.triang((0.6 - 0.45) / 0.35, loc=0.45, scale=0.35),
    ),
    "triangular, mode at the low end": (
        {"value": 0.3, "range": [0.3, 0.7], "distribution": "triangular"},
        stats.triang(0.0, loc=0.3, scale=0.4),
    ),
    "pert": (
        {"value": 0.6, "range": [0.45, 0.8], "distribution": "pert"},
        pert(0.6, 0.45, 0.8),
    ),
    "pert, mode at the high end": (
        {"value": 0.9, "range": [0.5, 0.9], "distribution": "pert"},
        pert(0.9, 0.5, 0.9),
    ),
    "normal, default sd": (
        # sd = (high − low) / 4 = 0.0875, mean off centre so the truncation is asymmetric
        {"value": 0.6, "range": [0.45, 0.8], "distribution": "normal"},
        truncated_normal(0.6, 0.45, 0.8, 0.35 / 4),
    ),
    "normal, narrow sd": (
        {"value": 0.6, "range": [0.45, 0.8], "distribution": "normal", "sd": 0.04},
        truncated_normal(0.6, 0.45, 0.8, 0.04),
    ),
    "normal, wide sd (heavily truncated)": (
        {"value": 0.7, "range": [0.45, 0.8], "distribution": "normal", "sd": 0.3},
        truncated_normal(0.7, 0.45, 0.8, 0.3),
    ),
}


@pytest.mark.parametrize("case", list(MARGINALS))
def test_a_range_draws_from_its_stated_distribution(case: str) -> None:
    note, exact = MARGINALS[case]
    s = scenario_with({**note, "source": "test"})
    r = s.uncertainties.ranges[PASS]
    draws = draw_parameters(s.uncertainties, N, SEED).column(PASS)
    assert draws.shape == (N,)
    assert np.all((draws >= r.low) & (draws <= r.high))
    result = stats.kstest(draws, exact.cdf)
    assert result.pvalue > 1e-3, f"{case}: KS D = {result.statistic:.4f}, p = {result.pvalue:.2g}"
    # the KS test is weak in the tails: the mean must match too (z ≤ 4)
    se = exact.std() / math.sqrt(N)
    assert abs(draws.mean() - exact.mean()) < 4 * se, case


@pytest.mark.parametrize("case", list(MARGINALS))
def test_quantile_is_the_inverse_of_the_exact_cdf(case: str) -> None:
    note, exact = MARGINALS[case]
    r = scenario_with({**note, "source": "test"}).uncertainties.ranges[PASS]
    u = np.linspace(0.0, 1.0, 201)
    np.testing.assert_allclose(quantile(r, u), exact.ppf(u), atol=1e-9)


def test_the_parser_keeps_value_ends_distribution_and_sd() -> None:
    note = {"value": 0.6, "range": [0.45, 0.8], "distribution": "normal", "sd": 0.05}
    r = scenario_with({**note, "source": "survey"}).uncertainties.ranges[PASS]
    assert (r.value, r.low, r.high, r.distribution, r.sd) == (0.6, 0.45, 0.8, "normal", 0.05)
    assert r.normal_sd == 0.05
    bare = scenario_with({"value": 0.6, "range": [0.45, 0.8]}).uncertainties.ranges[PASS]
    assert (bare.distribution, bare.sd, bare.normal_sd) == ("uniform", None, pytest.approx(0.0875))


@pytest.mark.parametrize("distribution", ["uniform", "triangular", "pert", "normal"])
def test_a_zero_width_range_draws_its_value_exactly(distribution: str) -> None:
    s = scenario_with(
        {"value": 0.37, "range": [0.37, 0.37], "distribution": distribution, "source": "test"}
    )
    draws = draw_parameters(s.uncertainties, 1000, SEED).column(PASS)
    assert np.all(draws == 0.37)
    r = s.uncertainties.ranges[PASS]
    assert np.all(quantile(r, np.array([0.0, 0.3, 1.0])) == 0.37)


# --------------------------------------------------------------------------- correlations


def correlated(rho: float) -> Uncertainties:
    """A triangular and a uniform tied by ``rho``, and a third parameter left alone."""
    tri = Range(PASS, 0.6, 0.45, 0.8, "triangular")
    uni = Range(COMPLETION, 0.9, 0.8, 1.0, "uniform")
    free = Range(ATTRITION, 0.04, 0.02, 0.06, "pert")
    return Uncertainties(
        ranges={PASS: tri, COMPLETION: uni, ATTRITION: free},
        correlations=(Correlation("tied", (PASS, COMPLETION), rho),),
    )


@pytest.mark.parametrize("rho", [0.3, 0.7, -0.5])
def test_correlated_draws_reach_the_stated_rank_correlation(rho: float) -> None:
    u = correlated(rho)
    d = draw_parameters(u, N, SEED)
    tied = stats.spearmanr(d.column(PASS), d.column(COMPLETION)).statistic
    assert tied == pytest.approx(rho, abs=0.03)
    # the third parameter is independent of both (|ρ| < 0.03 is over 4 sd at n = 20,000)
    for other in (PASS, COMPLETION):
        assert abs(stats.spearmanr(d.column(ATTRITION), d.column(other)).statistic) < 0.03
    # each keeps its own marginal
    assert stats.kstest(d.column(PASS), stats.triang(3 / 7, loc=0.45, scale=0.35).cdf).pvalue > 1e-3
    assert stats.kstest(d.column(COMPLETION), stats.uniform(0.8, 0.2).cdf).pvalue > 1e-3


def test_a_correlation_of_three_parameters_ties_every_pair() -> None:
    u = correlated(0.0)
    u = Uncertainties(
        ranges=u.ranges, correlations=(Correlation("all", (PASS, COMPLETION, ATTRITION), 0.6),)
    )
    d = draw_parameters(u, N, SEED)
    matrix = stats.spearmanr(d.values).statistic
    off = matrix[~np.eye(3, dtype=bool)]
    np.testing.assert_allclose(off, 0.6, atol=0.03)


def test_uncorrelated_parameters_stay_near_zero_rank_correlation() -> None:
    u = Uncertainties(ranges=correlated(0.5).ranges)  # the same ranges, no correlation
    d = draw_parameters(u, N, SEED)
    matrix = stats.spearmanr(d.values).statistic
    assert np.all(np.abs(matrix[~np.eye(3, dtype=bool)]) < 0.03)


# --------------------------------------------------------------------------- level tables

TABLE = {0: 0.55, 3: 0.30, 4: 0.13, 5: 0.02}
K = 80.0


def test_a_level_table_is_dirichlet_around_its_shares() -> None:
    u = Uncertainties(level_mixes={SHARES: LevelMix(SHARES, TABLE, K)})
    mix = draw_parameters(u, N, SEED).mixes[SHARES]
    assert mix.shape == (N, 7)
    np.testing.assert_allclose(mix.sum(axis=1), 1.0, atol=1e-12)
    assert np.all(mix >= 0)
    for level in range(7):
        s = TABLE.get(level, 0.0)
        col = mix[:, level]
        if s == 0:
            assert np.all(col == 0), f"level {level} has no share and must stay empty"
            continue
        var = s * (1 - s) / (K + 1)
        assert abs(col.mean() - s) < 4 * math.sqrt(var / N), level
        assert col.var(ddof=1) == pytest.approx(var, rel=0.10), level
        assert LevelMix(SHARES, TABLE, K).share_sd(level) == pytest.approx(math.sqrt(var))


def test_a_level_table_written_in_a_scenario_is_drawn_with_its_concentration() -> None:
    note = {"value": {0: 0.7, 3: 0.3}, "concentration": 20, "source": "test"}
    s = scenario_with(0.5, level_shares=note)
    mix = s.uncertainties.level_mixes[SHARES]
    assert (mix.shares, mix.concentration) == ({0: 0.7, 3: 0.3}, 20.0)
    share = draw_parameters(s.uncertainties, N, SEED).mixes[SHARES][:, 3]
    # a two-level Dirichlet is a Beta: the share at level 3 is Beta(20 × 0.3, 20 × 0.7)
    assert stats.kstest(share, stats.beta(6.0, 14.0).cdf).pvalue > 1e-3


def test_a_one_level_table_draws_its_one_share_exactly() -> None:
    u = Uncertainties(level_mixes={SHARES: LevelMix(SHARES, {0: 1.0}, 50.0)})
    mix = draw_parameters(u, 100, SEED).mixes[SHARES]
    expected = np.zeros((100, 7))
    expected[:, 0] = 1.0
    assert np.array_equal(mix, expected)


# --------------------------------------------------------------------------- reproducibility


def everything() -> Uncertainties:
    u = correlated(0.7)
    return Uncertainties(
        ranges=u.ranges,
        correlations=u.correlations,
        level_mixes={
            SHARES: LevelMix(SHARES, TABLE, K),
            "groups.g.pools.p.hire_level_shares": LevelMix(
                "groups.g.pools.p.hire_level_shares", {0: 0.5, 3: 0.5}, 50.0
            ),
        },
    )


def same_bytes(a: ParameterDraws, b: ParameterDraws) -> bool:
    return (
        a.paths == b.paths
        and a.values.tobytes() == b.values.tobytes()
        and list(a.mixes) == list(b.mixes)
        and all(a.mixes[k].tobytes() == b.mixes[k].tobytes() for k in a.mixes)
    )


def test_the_same_seed_draws_the_same_bytes() -> None:
    assert same_bytes(draw_parameters(everything(), 500, 7), draw_parameters(everything(), 500, 7))


def test_a_replication_does_not_depend_on_how_many_follow_it() -> None:
    short = draw_parameters(everything(), 40, 7)
    long = draw_parameters(everything(), 1000, 7)
    assert same_bytes(short, long.rows(slice(0, 40)))


def test_different_seeds_draw_different_values() -> None:
    a, b = draw_parameters(everything(), 200, 7), draw_parameters(everything(), 200, 8)
    # every column and every level table differs in (almost) every row
    assert np.mean(a.values != b.values) > 0.99
    for k in a.mixes:
        assert np.mean(np.any(a.mixes[k] != b.mixes[k], axis=1)) > 0.99


def test_the_copula_uses_the_exact_map_from_rank_to_normal_correlation() -> None:
    # Using ρ itself as the normal correlation would give a Spearman of (6/π) asin(ρ/2) = 0.483
    # at ρ = 0.5: too close to 0.5 for the ±0.03 above, ten standard errors off here. With
    # Fisher's transform the Spearman's standard error is about sqrt(1.06 / (n − 3)).
    n = 200_000
    d = draw_parameters(correlated(0.5), n, SEED)
    rho = stats.spearmanr(d.column(PASS), d.column(COMPLETION)).statistic
    assert abs(math.atanh(rho) - math.atanh(0.5)) < 4 * math.sqrt(1.06 / (n - 3))


def test_the_parameter_table_holds_every_level_of_a_level_table() -> None:
    from simopt.scenario import load_scenario
    from simopt.uncertain.draws import draw_parameters

    s = load_scenario("scenarios/long_an.yaml")
    table = draw_parameters(s.uncertainties, 50, 3).table()
    path = "groups.public_employees.pools.pe_staff.level_shares"
    levels = [c for c in table.columns if c.startswith(path + ".")]
    assert levels == [f"{path}.{lvl}" for lvl in (0, 3, 4, 5)]
    np.testing.assert_allclose(table[levels].sum(axis=1), 1.0)
    assert table["replication"].tolist() == list(range(50))


def test_each_fresh_look_has_a_sample_of_its_own() -> None:
    from simopt.plan import fresh_seed

    seeds = {fresh_seed(0, k) for k in range(5)} | {fresh_seed(1, k) for k in range(5)}
    assert len(seeds) == 10
    assert fresh_seed(0, 0) == fresh_seed(0, 0)
    assert not seeds & {0, 1, 2}
