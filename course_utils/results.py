"""The measured results the notebooks and READMEs read, shipped with the course, and how to read a grid.

The benchmarks write them to ``course_utils/assets/results/``, installed with the package, so Colab reads
the same numbers as a clone; ``benchmarks/tables.py`` renders the READMEs' tables from them.

Example:
    >>> read_results("gpu_minilm_epoch")["checkpoint"]
    'all-MiniLM-L6-v2'
"""

from __future__ import annotations

import json
import re
from importlib import resources

import pandas as pd

from .stats import mean_sd, paired
from .strategies import PRETRAINED, STRATEGIES, hyperparameter

NAME = re.compile(r"[A-Za-z0-9_.-]+")


def results_dir():
    """The folder of the shipped results (a ``Traversable``; a real folder in a clone)."""
    return resources.files("course_utils") / "assets" / "results"


def read_results(name: str) -> dict:
    """The results file ``<name>.json`` shipped with the course."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not the name of a results file; give its name without .json, "
                         f"e.g. 'strategies_cpu_minilm'.")
    path = results_dir() / f"{name}.json"
    if not path.is_file():
        known = sorted(p.name[:-5] for p in results_dir().iterdir() if p.name.endswith(".json"))
        raise FileNotFoundError(f"No results file {name!r}; the course ships {', '.join(known)}.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise ValueError(f"The results file {path} is not readable JSON ({err}): restore it with "
                         f"git checkout -- {path.name}, or install the course again.") from None


# ---------------------------------------------------------------------------------------
# A strategies grid (course_utils.grid)

def final_runs(record: dict) -> pd.DataFrame:
    """The runs at each strategy's chosen value, one per seed of the grid, as a table."""
    chosen, seeds = record["chosen"], set(record["seeds"])
    rows = [r for r in record["runs"] if r["seed"] in seeds
            and chosen.get(r["strategy"], {}).get(str(r["size"])) == r["value"]]
    return pd.DataFrame(rows)


def complete(record: dict) -> dict:
    """The grid restricted to the sizes where every strategy has all its final runs (a grid still being
    measured has others); ``pending`` lists the sizes left out.

    >>> complete({"sizes": [100], "strategies": ["tfidf"], "seeds": [1], "chosen": {}, "runs": []})["pending"]
    [100]
    """
    runs = final_runs(record)
    done = runs.groupby("size")["strategy"].value_counts() if len(runs) else pd.Series(dtype=int)
    ready = [n for n in record["sizes"]
             if all(done.get((n, s), 0) == len(record["seeds"]) for s in record["strategies"])]
    return {**record, "sizes": ready, "pending": [n for n in record["sizes"] if n not in ready],
            "chosen": {s: {k: v for k, v in by.items() if int(k) in ready} for s, by in record["chosen"].items()},
            "runs": [r for r in record["runs"] if r["size"] in ready]}


def summary(record: dict) -> pd.DataFrame:
    """Per strategy and size: validation accuracy (mean, sd over seeds), the chosen value, steps and seconds."""
    runs = final_runs(record)
    rows = []
    for (strategy, size), cell in runs.groupby(["strategy", "size"]):
        mean, sd = mean_sd(cell["validation"])
        rows.append({"strategy": strategy, "size": size, "accuracy": mean, "sd": sd, "value": cell["value"].iloc[0],
                     "steps": cell["steps"].mean() if "steps" in cell else float("nan"),
                     "seconds": cell["seconds"].mean(), "trainable": int(cell["trainable"].iloc[0])})
    table = pd.DataFrame(rows).set_index(["strategy", "size"])
    order = [s for s in STRATEGIES if s in table.index.get_level_values(0)]
    return table.loc[order]


def at_last_step(record: dict) -> pd.Series:
    """How many final runs per (strategy, size) had their best checkpoint at their last step: still
    improving when the budget ran out, so a longer budget might have raised them (the networks only).

    >>> at_last_step({"seeds": [1, 2], "chosen": {"full": {"100": 0.1}}, "runs": [
    ...     {"strategy": "full", "size": 100, "value": 0.1, "seed": s, "best_step": b, "max_steps": 250}
    ...     for s, b in ((1, 250), (2, 200))]}).to_dict()
    {('full', 100): 1}
    """
    runs = final_runs(record)
    if "best_step" not in runs:
        return pd.Series(dtype=int)
    runs = runs.dropna(subset=["best_step"])
    return runs[ended_improving(runs)].groupby(["strategy", "size"]).size()


def ended_improving(runs: pd.DataFrame) -> pd.Series:
    """Per run: whether its best checkpoint was its last step (still improving when the budget ran out)."""
    return runs["best_step"] >= runs["max_steps"]


def budget_check(record: dict, check: dict) -> pd.DataFrame:
    """Per cell of a budget check (``benchmarks/budget_check.py``): both budgets in steps, the validation
    accuracy of the grid's final runs and of the longer runs (mean over seeds), how many longer runs were
    still improving at their last step, and longer minus grid paired by seed (``stats.paired``)."""
    rows, ran = [], final_runs(record)
    longer_runs = pd.DataFrame(check["runs"])
    for (strategy, size), cell in longer_runs.groupby(["strategy", "size"], sort=False):
        longer, grid = dict(zip(cell["seed"], cell["validation"])), by_seed(record, strategy, size)
        steps = ran[(ran["strategy"] == strategy) & (ran["size"] == size)]["max_steps"]
        rows.append({"strategy": strategy, "size": int(size), "grid steps": int(steps.iloc[0]),
                     "longer steps": int(cell["max_steps"].iloc[0]), "grid": mean_sd(list(grid.values()))[0],
                     "longer": mean_sd(list(longer.values()))[0], "seeds": len(longer),
                     "still improving": int(ended_improving(cell).sum()),
                     "difference": paired(longer, grid) if len(set(longer) & set(grid)) > 1 else None})
    return pd.DataFrame(rows)


def by_seed(record: dict, strategy: str, size: int) -> dict[int, float]:
    """``{seed: validation accuracy}`` of one strategy's final runs at one size (for ``stats.paired``)."""
    runs = final_runs(record)
    cell = runs[(runs["strategy"] == strategy) & (runs["size"] == size)]
    return dict(zip(cell["seed"], cell["validation"]))


def compare_at(record: dict, size: int, a: str, b: str):
    """``stats.paired`` of strategy ``a`` minus strategy ``b`` at ``size``, paired by seed."""
    return paired(by_seed(record, a, size), by_seed(record, b, size))


def loss_fell(run: dict) -> bool:
    """Whether a run's logged training loss fell (to under 90% of its first reading); True for the
    logistic regressions, which log none. :func:`check_grid` flags a from-scratch run that did not learn,
    and the grid's sweep never chooses such a value: with few labels its tuning score is noise around
    the majority share and can win by luck.

    >>> loss_fell({"losses": [[25, 0.69], [250, 0.01]]}), loss_fell({"losses": [[25, 0.57], [250, 0.65]]})
    (True, False)
    """
    losses = run.get("losses")
    return not losses or losses[-1][1] < 0.9 * losses[0][1]


def check_grid(record: dict) -> list[str]:
    """What would make a grid's conclusions wrong, one sentence each (empty: none found): a pretrained
    strategy at the majority share (a collapse), a chosen value at the edge of the values tried, a run
    that stopped below its floor, a final cell without every seed, a from-scratch model whose training
    loss did not fall."""
    problems, majority, runs = [], record["majority"], final_runs(record)
    for strategy, by_size in record["chosen"].items():
        for size, value in by_size.items():
            tried = sorted({r["value"] for r in record["runs"] if r["strategy"] == strategy and str(r["size"]) == size})
            if value in (tried[0], tried[-1]):
                problems.append(f"{strategy} at n={size}: the chosen {hyperparameter(strategy)} {value:g} is at the "
                                f"edge of the values tried ({', '.join(f'{v:g}' for v in tried)})")
            cell = runs[(runs["strategy"] == strategy) & (runs["size"] == int(size))]
            if len(cell) != len(record["seeds"]):
                problems.append(f"{strategy} at n={size}: {len(cell)} final runs for {len(record['seeds'])} seeds")
    for r in runs.to_dict("records"):
        where = f"{r['strategy']} at n={r['size']}, seed {r['seed']}"
        collapsed = r["validation"] <= majority + 0.02 or not 0.05 < r["positive_share"] < 0.95
        if r["strategy"] in PRETRAINED and collapsed:
            problems.append(f"{where}: validation accuracy {r['validation']:.3f} with {r['positive_share']:.0%} "
                            f"called positive, at the majority share ({majority:.3f}): a collapse")
        if r["strategy"] == "scratch" and not loss_fell(r):
            problems.append(f"{where}: the training loss did not fall ({r['losses'][0][1]} -> {r['losses'][-1][1]})")
    for r in record["runs"]:
        if "steps" in r and r["steps"] < r["floor"]:
            problems.append(f"{r['strategy']} at n={r['size']}, {r['value']:g}, seed {r['seed']}: "
                            f"{r['steps']} steps, below the floor of {r['floor']}")
    return problems
