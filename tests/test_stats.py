"""course_utils.stats: mean ± sd over seeds and the paired rule that decides between two configurations."""

from __future__ import annotations

import math

import pytest

from course_utils.stats import mean_sd, paired, t_quantile


def test_mean_sd_of_one_score_and_of_none():
    assert mean_sd([0.75]) == (0.75, 0.0)  # the sample sd of several: the module's doctest
    with pytest.raises(ValueError, match="no scores"):
        mean_sd([])


def test_paired_pairs_by_seed_and_its_interval_is_students_t_times_the_standard_error():
    d = paired({1: 0.81, 2: 0.79, 3: 0.71, 9: 0.1}, {3: 0.70, 1: 0.80, 2: 0.75})  # seed 9: only A ran it, left out
    se = math.sqrt(((0.01 - 0.02) ** 2 * 2 + 0.02 ** 2) / 2) / math.sqrt(3)  # differences 0.01, 0.04, 0.01
    assert d.seeds == (1, 2, 3) and d.mean == pytest.approx(0.02) and d.se == pytest.approx(se)
    assert (d.low, d.high) == pytest.approx((0.02 - 4.3027 * se, 0.02 + 4.3027 * se), abs=1e-5)
    assert t_quantile(2) == pytest.approx(4.3027, abs=1e-4) and t_quantile(1000) == pytest.approx(1.96, abs=0.01)


def test_the_verdict_goes_both_ways_and_straddling_zero_shows_nothing():
    better, worse = {1: 0.80, 2: 0.82, 3: 0.81}, {1: 0.75, 2: 0.78, 3: 0.77}
    assert paired(better, worse).verdict("full", "head") == "full beats head"
    assert paired(worse, better).verdict("head", "full") == "full beats head"
    noisy = paired({1: 0.80, 2: 0.76, 3: 0.83}, {1: 0.78, 2: 0.79, 3: 0.80})
    assert noisy.low < 0 < noisy.high and noisy.verdict("full", "head").startswith("no difference shown")
    assert "3 seeds" in str(noisy)


@pytest.mark.parametrize("a, b, words", [({1: 0.8, 2: 0.8}, {2: 0.7, 3: 0.7}, r"share \[2\].*A has \[1, 2\]"),
                                          ({1: 0.8}, {1: 0.7}, r"at least two seeds.*share \[1\]"),
                                          ({}, {}, r"share \[\]")])
def test_fewer_than_two_common_seeds_are_refused(a, b, words):
    with pytest.raises(ValueError, match=words):
        paired(a, b)
