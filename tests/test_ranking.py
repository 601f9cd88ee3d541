"""Rank agreement statistics (compare/ranking.py): hand-checked examples and properties."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearer.compare.ranking import bootstrap_interval, kendall_tau, ranks, spearman_rho, top_k_hit


def test_kendall_and_spearman_on_a_hand_checked_example():
    # pairs of x = 1..5 against y = 3 1 2 5 4: concordant 7, discordant 3 -> τ = 4/10;
    # rank differences -2 1 1 -1 1 -> Σd² = 8 -> ρ = 1 - 6·8/(5·24) = 0.6
    x, y = [1, 2, 3, 4, 5], [3, 1, 2, 5, 4]
    assert kendall_tau(x, y) == pytest.approx(0.4)
    assert spearman_rho(x, y) == pytest.approx(0.6)


def test_kendall_tau_b_counts_ties():
    # (1,1,2) vs (1,2,3): one pair tied in x only, two concordant -> 2 / sqrt(3·2)
    assert kendall_tau([1, 1, 2], [1, 2, 3]) == pytest.approx(2 / math.sqrt(6))
    assert ranks([10, 20, 10, 30]) == [1.5, 3.0, 1.5, 4.0]
    assert math.isnan(kendall_tau([1, 1, 1], [1, 2, 3]))  # a constant ranking says nothing


def test_top_k_hit():
    truth = [28.0, 28.3, 28.1, 27.9]
    assert top_k_hit([0.9, 1.0, 0.1, 0.0], truth, 1)  # picks index 1, the true best
    assert not top_k_hit([1.0, 0.0, 0.0, 0.0], truth, 2) and top_k_hit([1.0, 0.0, 0.0, 0.0], truth, 3)


distinct = st.lists(st.integers(-1000, 1000), min_size=2, max_size=12, unique=True)


@given(distinct)
def test_a_ranking_agrees_with_itself_and_disagrees_with_its_reverse(x):
    assert kendall_tau(x, x) == pytest.approx(1) and spearman_rho(x, x) == pytest.approx(1)
    assert kendall_tau(x, [-v for v in x]) == pytest.approx(-1)


@settings(deadline=None)  # the first example imports scipy
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=3, max_size=15))
def test_tau_and_rho_are_symmetric_bounded_and_match_scipy(pairs):
    x, y = [a for a, _ in pairs], [b for _, b in pairs]
    tau, rho = kendall_tau(x, y), spearman_rho(x, y)
    if math.isnan(tau):
        assert len(set(x)) == 1 or len(set(y)) == 1
        return
    assert tau == pytest.approx(kendall_tau(y, x)) and -1 - 1e-12 <= tau <= 1 + 1e-12
    assert -1 - 1e-12 <= rho <= 1 + 1e-12
    stats = pytest.importorskip("scipy.stats")
    assert tau == pytest.approx(stats.kendalltau(x, y).statistic)
    assert rho == pytest.approx(stats.spearmanr(x, y).statistic)


def test_bootstrap_interval_brackets_the_statistic_and_is_seeded():
    truth = [0, 1, 2, 3, 4, 5, 6, 7]
    estimate = [0, 2, 1, 3, 5, 4, 6, 7]
    stat = lambda idx: kendall_tau([estimate[i] for i in idx], [truth[i] for i in idx])  # noqa: E731
    low, high = bootstrap_interval(stat, len(truth), resamples=300)
    assert -1 <= low <= kendall_tau(estimate, truth) <= high <= 1
    assert (low, high) == bootstrap_interval(stat, len(truth), resamples=300)
    assert bootstrap_interval(lambda idx: kendall_tau(truth, truth), 8, resamples=50) == (1.0, 1.0)
