"""The course's one rule for comparing two ways of training: seeds, a paired difference, its interval.

Every comparison in the course (notebooks 8 and 9, appendix A1, the README tables) reports
accuracy as **mean ± sd over seeds**, where each seed draws its own training sentences and its
own random start, and decides between two configurations A and B by the **paired difference**:
for every seed both were trained with, A's accuracy minus B's. Its mean, its standard error
``sd / √k`` over the ``k`` seeds, and the 95% confidence interval ``mean ± t · se`` with Student's
``t`` for ``k - 1`` degrees of freedom (4.30 for three seeds). "A beats B" only when the whole
interval lies above zero; when it straddles zero the seeds cannot tell A from B.

Pairing removes what both share (the same sentences and head initialisation); notebook 8 explains it.

Example:
    >>> d = paired({42: 0.80, 43: 0.82, 44: 0.81}, {42: 0.75, 43: 0.78, 44: 0.77})
    >>> round(d.mean, 3), round(d.low, 3) > 0, d.verdict("full", "head")
    (0.043, True, 'full beats head')
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: The rule in one sentence, for tables and notebooks.
RULE = ("A beats B when the 95% confidence interval of their paired difference (same seeds, so the same "
        "training sentences) lies above zero; otherwise the seeds cannot tell them apart.")


def mean_sd(scores: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (``n - 1``) of ``scores``; the sd is 0 for one score.

    >>> mean_sd([0.8, 0.82, 0.84])
    (0.82, 0.02)
    """
    values = [float(s) for s in scores]
    if not values:
        raise ValueError("mean_sd() got no scores: pass one accuracy per seed.")
    return round(statistics.fmean(values), 12), round(statistics.stdev(values) if len(values) > 1 else 0.0, 12)


@dataclass(frozen=True)
class Difference:
    """A minus B, paired by seed: mean, standard error, the 95% interval and the seeds used."""

    mean: float
    se: float
    low: float
    high: float
    seeds: tuple

    def verdict(self, a: str = "A", b: str = "B") -> str:
        """``"A beats B"``, ``"B beats A"`` or ``"no difference shown between A and B"``."""
        if self.low > 0:
            return f"{a} beats {b}"
        if self.high < 0:
            return f"{b} beats {a}"
        return f"no difference shown between {a} and {b}"

    def __str__(self) -> str:
        mean, low, high = (shown(v) for v in (self.mean, self.low, self.high))
        return f"{mean} (95% interval {low} to {high}, {len(self.seeds)} seeds)"


def shown(value: float) -> str:
    """Three decimals, or more when three would hide the sign (an interval bound of +0.00009 is a
    win by the rule: it must not read "+0.000").

    >>> shown(0.0213), shown(9.4e-05), shown(-0.0), shown(0.0)
    ('+0.021', '+0.0001', '+0.000', '+0.000')
    """
    digits = next((d for d in range(3, 7) if round(value, d) != 0), 3)
    return f"{round(value, digits) + 0.0:+.{digits}f}"  # + 0.0: no "-0.000"


def t_quantile(degrees_of_freedom: int) -> float:
    """Student's ``t`` for a two-sided 95% interval (scipy).

    >>> round(t_quantile(2), 2)
    4.3
    """
    from scipy.stats import t

    return float(t.ppf(0.975, degrees_of_freedom))


def paired(a: Mapping, b: Mapping) -> Difference:
    """``a`` minus ``b`` over the seeds both have (``{seed: accuracy}``), by the module's rule; at least two
    common seeds (one pair has no spread to judge by)."""
    seeds = tuple(sorted(set(a) & set(b), key=str))
    if len(seeds) < 2:
        raise ValueError(f"paired() needs at least two seeds that both configurations ran with; they share "
                         f"{list(seeds)} (A has {sorted(a, key=str)}, B has {sorted(b, key=str)}). Train both with "
                         f"the same seeds.")
    diffs = [float(a[s]) - float(b[s]) for s in seeds]
    mean, sd = mean_sd(diffs)
    se = sd / math.sqrt(len(diffs))
    half = t_quantile(len(diffs) - 1) * se
    return Difference(mean=mean, se=se, low=mean - half, high=mean + half, seeds=seeds)
