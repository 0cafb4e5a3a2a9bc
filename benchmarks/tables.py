"""The results tables of the READMEs, rendered from the results files (``course_utils.results.read_results``).

Each table is written into a README between ``<!-- results:NAME:start -->`` and ``<!-- results:NAME:end -->``;
accuracies are mean ± sd over seeds, compared by the course's one rule (``course_utils.stats``). The
commands (rewrite, ``--check``, ``--print NAME``): benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from strategies import ROOT  # benchmarks/ is on sys.path when a script in it runs

sys.path.insert(0, str(ROOT))  # a checkout without the package installed
from course_utils import files, results, stats  # noqa: E402
from course_utils.strategies import FLOORS, hyperparameter  # noqa: E402

READMES = (ROOT / "benchmarks" / "README.md", ROOT / "README.md", ROOT / "TEACHING.md")
COURSE_RUNS = ROOT / "benchmarks" / "course_runs"  # `make execute RECORD=...`: each notebook's wall time
GRID = "strategies_cpu_minilm"  # the strategies grid (benchmarks/strategies.py); the other files are speed.py's
GRID_KEYS = ("checkpoint", "device", "seeds", "sizes", "tuning_sentences", "majority", "chosen", "runs")
BUDGET_CHECK = "budget_check_cpu_minilm"  # the grid's cells with a longer budget (benchmarks/budget_check.py)
CHECK_KEYS = ("grid", "factor", "checkpoint", "seeds", "cells", "runs")
SPEED_KEYS = ("checkpoint", "device", "versions", "what", "recipe_order", "train_samples", "max_length",
              "accuracy_meaningful", "seeds", "runs")
RANDOM_WEIGHTS = "DistilBERT shapes, random weights"
GENERATED = ("<!-- generated from course_utils/assets/results by benchmarks/tables.py: edit that script, "
             "not this table -->")
#: A table cell that is a number: 0.871 ± 0.001 (0.872 ± 0.005), 26 s (140 s), 5.45×, 42–47, n/a, –, nothing.
NUMBER = re.compile(r"[-+]?[\d,.–]+(e[-+]?\d+)?( s| min|×)?( ± [\d.]+)?( \([^)]*\))?|n/a|–|")
MARKER = re.compile(r"<!-- results:(?P<name>[a-z0-9-]+):start -->\n(?P<body>.*?)<!-- results:(?P=name):end -->",
                    re.DOTALL)


# ----------------------------------------------------------------------------- reading

def record(name: str) -> dict:
    """A results file, checked for the keys its format has (the grid's, or speed.py's)."""
    data = results.read_results(name)
    writers = {GRID: (GRID_KEYS, "benchmarks/strategies.py"), BUDGET_CHECK: (CHECK_KEYS, "benchmarks/budget_check.py")}
    keys, writer = writers.get(name, (SPEED_KEYS, "benchmarks/speed.py"))
    missing = [key for key in keys if key not in data]
    if missing:
        raise KeyError(f"course_utils/assets/results/{name}.json has no {missing[0]!r} (missing: {missing}): it is "
                       f"not in the format {writer} writes. Write it again with {writer}.")
    return data


def runs(*names: str) -> pd.DataFrame:
    """Every run of these speed.py files, one row each; ``config`` is the letter of (a), (b), ..."""
    frame = pd.concat([pd.DataFrame(record(n)["runs"]) for n in names], ignore_index=True)
    return frame.assign(config=frame["name"].str.extract(r"^\((\w)\)", expand=False))


# ----------------------------------------------------------------------------- formatting

def hardware(device) -> str:
    """A record's device in a few words (a grid may hold a display string, or several)."""
    if not isinstance(device, dict):
        return device if isinstance(device, str) else ", ".join(device)
    if device["kind"] == "cuda":
        return f"1× {device['name']} ({device['precision']})"
    threads, processes = device["threads"], device.get("processes", 1)
    return (f"{threads} {device['name']} thread{'s' * (threads > 1)}"
            + (f" per run, measured in {processes} parts that shared the machine" * (processes > 1)))


def about(data: dict) -> str:
    return (f"{hardware(data['device'])}, {data['train_samples']:,} sentences, max length {data['max_length']}; "
            f"torch {data['versions']['torch']}, transformers {data['versions']['transformers']}")


def accuracy(values) -> str:
    mean, sd = stats.mean_sd(list(values))
    return f"{mean:.3f}" if len(values) == 1 else f"{mean:.3f} ± {sd:.3f}"


def seeds_text(seeds) -> str:
    seeds = sorted({int(s) for s in seeds})
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


def interval(difference: stats.Difference) -> str:
    """A paired difference and its 95% interval, each shown with its sign (:func:`course_utils.stats.shown`)."""
    return f"{stats.shown(difference.mean)} ({stats.shown(difference.low)} to {stats.shown(difference.high)})"


def rule(frame: pd.DataFrame, base: pd.DataFrame, a: str, b: str) -> str:
    """``frame``'s accuracy minus ``base``'s, paired by seed, its 95% interval and the rule's words:
    "A beats B" only when the interval excludes zero, else the seeds cannot tell them apart."""
    seeds = lambda runs: dict(zip(runs["seed"], runs["validation"]))  # noqa: E731
    difference = stats.paired(seeds(frame), seeds(base))
    if difference.low > 0 or difference.high < 0:
        return f"{interval(difference)}: {difference.verdict(a, b)}"
    return f"{interval(difference)}: the seeds cannot tell them apart"


def row(label: str, frame: pd.DataFrame, base: pd.DataFrame) -> dict:
    """A configuration's runs: mean time and speed, the speed-up over ``base``'s runs with the same
    seeds, accuracy as mean ± sd and per seed."""
    base = base[base["seed"].isin(frame["seed"])]
    return {"configuration": label, "seeds": seeds_text(frame["seed"]), "train s": f"{frame['seconds'].mean():,.1f}",
            "samples/s": f"{frame['samples_per_second'].mean():,.1f}",
            "speed-up": f"{frame['samples_per_second'].mean() / base['samples_per_second'].mean():.2f}×",
            "val. accuracy": accuracy(frame["validation"]),
            "per seed": ", ".join(f"{a:.3f}" for a in frame.sort_values("seed")["validation"])}


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table; columns of numbers (and n/a, –) are right-aligned."""
    def numbers(column) -> bool:
        return all(NUMBER.fullmatch(str(v)) for v in frame[column])

    rule_ = "|" + "|".join("---:" if numbers(c) else "---" for c in frame.columns) + "|"
    lines = ["| " + " | ".join(map(str, values)) + " |" for values in [frame.columns, *frame.to_numpy()]]
    return "\n".join([lines[0], rule_, *lines[1:]])


def source(*names: str) -> str:
    return "Source: " + ", ".join(f"`course_utils/assets/results/{n}.json`" for n in names) + "."


# ----------------------------------------------------------------------------- the tables

def table_files() -> str:
    """Every speed.py results file: where it ran, what it measured, how its recipe ordered the batches."""
    names = sorted(p.name[:-5] for p in results.results_dir().iterdir() if p.name.endswith(".json"))
    return markdown(pd.DataFrame([
        {"file": f"`{n}.json`", "device": hardware(d["device"]), "checkpoint": d["checkpoint"],
         "sentences": f"{d['train_samples']:,}", "seeds": seeds_text(d["seeds"]), "what": d["what"],
         "recipe's batch order": d["recipe_order"]} for n in names if n not in (GRID, BUDGET_CHECK)
        for d in [record(n)]]))


def single_seed(*names: str) -> str:
    """One row per run of one-seed comparisons: speed, memory, and accuracy without a verdict."""
    rows = []
    for name in names:
        data, frame = record(name), runs(name)
        for i in range(len(frame)):
            r = row(frame["name"][i], frame.iloc[[i]], frame.iloc[[0]])
            rows.append({"model": data["checkpoint"] if data["accuracy_meaningful"] else RANDOM_WEIGHTS, **r,
                         "val. accuracy": r["val. accuracy"] if data["accuracy_meaningful"] else "n/a",
                         "peak MB": f"{frame['peak_memory_mb'][i]:,.0f}"})
    caption = (f"{about(record(names[0]))}; one epoch, one seed, so the accuracies are not compared (the rule needs "
               f"two seeds or more). The recipe's batches: {record(names[0])['recipe_order']}. " + source(*names))
    return caption + "\n\n" + markdown(pd.DataFrame(rows).drop(columns=["seeds", "per seed"]))


def table_cpu_ladder() -> str:
    name = "cpu_minilm_ladder_4000_seeds"
    data, frame = record(name), runs(name)
    rungs = [rung for _, rung in frame.groupby("name", sort=False)]
    rows = [{**row(rung["name"].iloc[0], rung, rungs[0]),
             "minus the rung above (95% interval)": rule(rung, above, "this rung", "the rung above") if i else ""}
            for i, (above, rung) in enumerate(zip([None, *rungs], rungs))]
    caption = (f"{data['checkpoint']}, {about(data)}; every rung trained once per seed on the same sentences; the last "
               "rung is the recipe on a CPU. " + source(name))
    return caption + "\n\n" + markdown(pd.DataFrame(rows))


def budget_frames() -> dict[str, tuple[str, pd.DataFrame]]:
    """The 24,000-sentence runs: the reference and the recipe (random order) over six seeds, and the
    recipe in the Trainer's order at two learning rates over three."""
    old, recipe = runs("cpu_minilm_seeds_24000"), runs("cpu_minilm_recipe_24000")
    more = runs("cpu_minilm_seeds_24000_more")
    pick = lambda frame, letter: frame[frame["config"] == letter]  # noqa: E731
    return {"reference": ("(a) reference settings (batch 8, lr 5e-5, fp32, random order)",
                          pd.concat([pick(old, "a"), pick(more, "a")])),
            "recipe": ("**(b) the recipe** (batch 32, lr 1e-4, random order)",
                       pd.concat([pick(recipe, "b"), pick(more, "b")])),
            "trainer": ("the recipe in the `Trainer`'s order, lr 1e-4", pick(old, "b")),
            "trainer 2e-4": ("the recipe in the `Trainer`'s order, lr 2e-4", pick(old, "c"))}


def table_cpu_budget() -> str:
    f = budget_frames()
    reference = f["reference"][1]
    rows = [row(label, frame, reference) for label, frame in f.values()]
    lines = [f"- {label.replace('**', '')} minus (a), paired by seed ({seeds_text(frame['seed'])}): "
             f"{rule(frame, reference, 'it', '(a)')}." for key, (label, frame) in f.items() if key != "reference"]
    pairs = reference.set_index("seed")["samples_per_second"]
    ratio = f["recipe"][1].set_index("seed")["samples_per_second"] / pairs
    lines.append(f"- Speed-up of single pairs (same seed): {ratio.min():.2f}× to {ratio.max():.2f}×; the reference "
                 f"ran at {pairs.min():,.1f} to {pairs.max():,.1f} samples/s.")
    data = record("cpu_minilm_recipe_24000")
    caption = (f"{data['checkpoint']}, {about(data)} (the `cpu` profile's budget). Each speed-up is against the "
               "reference's runs with the same seeds; each difference is paired by seed, with its 95% interval. "
               + source("cpu_minilm_seeds_24000", "cpu_minilm_recipe_24000", "cpu_minilm_seeds_24000_more"))
    return "\n".join([caption, "", markdown(pd.DataFrame(rows)), "", *lines])


def summary_line(data: dict, settings: str, frame: pd.DataFrame, base: pd.DataFrame, meaningful=True) -> dict:
    """One line of the summary: ``frame`` (the recipe's runs) against ``base`` (the reference's, same seeds)."""
    base = base[base["seed"].isin(frame["seed"])]
    compared = rule(frame, base, "the recipe", "the reference") if len(frame) > 1 else "one seed: not compared"
    return {"hardware": hardware(data["device"]), "checkpoint": data["checkpoint"] if meaningful else RANDOM_WEIGHTS,
            "settings": settings, "sentences": f"{data['train_samples']:,}", "seeds": str(len(frame)),
            "training time (reference)": f"{frame['seconds'].mean():.0f} s ({base['seconds'].mean():.0f} s)",
            "speed-up": row("", frame, base)["speed-up"],
            "val. accuracy (reference)": f"{accuracy(frame['validation'])} ({accuracy(base['validation'])})"
            if meaningful else "n/a", "accuracy by the rule": compared if meaningful else "n/a"}


def table_summary() -> str:
    """One line per measured comparison, for the main README."""
    rows = []
    for name in ("gpu_distilbert_epoch", "gpu_minilm_epoch"):
        data, frame = record(name), runs(name)
        rows += [summary_line(data, recipe["name"].iloc[0][4:] + ", the `Trainer`'s order", recipe,
                              frame[frame["config"] == "a"], data["accuracy_meaningful"])
                 for _, recipe in frame[frame["config"] != "a"].groupby("name", sort=False)]
    data, f = record("cpu_minilm_recipe_24000"), budget_frames()
    rows += [summary_line(data, f"recipe (batch 32, lr 1e-4), {order}", f[key][1], f["reference"][1])
             for key, order in (("recipe", "random order"), ("trainer", "the `Trainer`'s order"))]
    caption = ("The reference settings: batch 8, learning rate 5e-5, fp32, random order. Times are means over the "
               "seeds; accuracies are mean ± sd over the seeds, on the 872 validation sentences; the last column is "
               "the recipe's accuracy minus the reference's, paired by seed, with its 95% interval. " + stats.RULE)
    return caption + "\n\n" + markdown(pd.DataFrame(rows))


def trainable_range(counts: pd.Series) -> str:
    """A strategy's trainable parameters over the sizes: one number, or a range where it varies (the bag
    of words' vocabulary grows with the data).

    >>> trainable_range(pd.Series([385, 385])), trainable_range(pd.Series([1137, 46653]))
    ('385', '1,137–46,653 (grows with the data)')
    """
    low, high = int(counts.min()), int(counts.max())
    return f"{low:,}" if low == high else f"{low:,}–{high:,} (grows with the data)"


def table_strategies() -> str:
    """The strategies grid: accuracy per strategy and size, the rule's verdict at each size, the chosen values."""
    data = record(GRID)
    cells, seeds = results.summary(data), len(data["seeds"])
    counts = results.final_runs(data).groupby(["strategy", "size"]).size()
    order = list(cells.index.get_level_values("strategy").unique())
    accuracy_at, values_at, lines = {}, {}, []
    ready = results.complete(data)["sizes"]
    for n in data["sizes"]:
        here = cells.xs(n, level="size") if n in cells.index.get_level_values("size") else cells.iloc[:0]
        accuracy_at[f"{n:,} sentences"] = {s: f"{c.accuracy:.3f} ± {c.sd:.3f}" + (
            "" if counts[s, n] == seeds else f" ({counts[s, n]} of {seeds} seeds)") for s, c in here.iterrows()}
        values_at[f"{n:,} sentences"] = {s: f"{by[str(n)]:g}" for s, by in data["chosen"].items() if str(n) in by}
        complete = here[[counts[s, n] == seeds for s in here.index]]
        if n not in ready:  # a verdict among the strategies measured so far would crown the wrong one
            lines.append(f"- **{n:,} sentences**: still being measured ({len(complete)} of "
                         f"{len(data['strategies'])} strategies done); no verdict yet.")
            continue
        best = complete["accuracy"].idxmax()
        differences = {other: results.compare_at(data, n, best, other) for other in complete.index.drop(best)}
        ties = [f"{other} {interval(d)}" for other, d in differences.items() if not d.low > 0]
        beaten = [f"{other} {interval(d)}" for other, d in differences.items() if d.low > 0]
        lines.append(f"- **{n:,} sentences**: best {best} ({complete.loc[best, 'accuracy']:.3f})"
                     + (f"; the seeds cannot tell it apart from {', '.join(ties)}" if ties else "")
                     + (f"; it beats {', '.join(beaten)}" if beaten else "") + ".")
    table = pd.DataFrame(accuracy_at).reindex(order).astype(object).fillna("–")
    table["trainable parameters"] = [trainable_range(cells.loc[s, "trainable"]) for s in order]
    table.index = [f"{s} (floor)" if s in FLOORS else s for s in order]
    values = pd.DataFrame(values_at).reindex([s for s in order if s in data["chosen"]]).astype(object).fillna("–")
    values.insert(0, "tuned", [hyperparameter(s) for s in values.index])
    problems = results.check_grid(data)
    caption = (f"{data['checkpoint']}, {hardware(data['device'])}; validation accuracy, mean ± sd over seeds "
               f"{seeds_text(data['seeds'])}, each seed drawing its own labelled sentences; each strategy's value "
               f"(learning rate, or C for the logistic regressions) chosen at each size on a "
               f"{data['tuning_sentences']:,}-sentence tuning slice (the protocol of `course_utils.grid`). The floors: "
               f"tfidf (no pretrained network) and scratch (the same network from random weights). Below the table, "
               f"each size's best strategy against the others, paired by seed (95% interval). {stats.RULE} "
               + source(GRID))
    checks = "Checks (`course_utils.results.check_grid`): " + ("; ".join(problems) or "none failed") + "."
    last = results.at_last_step(data)
    still = ("Final runs whose best checkpoint was their last step, so a longer budget might have raised them: "
             + (", ".join(f"{s} at {n:,} ({k} of {seeds} seeds)" for (s, n), k in last.items()) or "none") + ".")
    return "\n".join([caption, "", markdown(table.rename_axis("strategy").reset_index()), "", *lines, "",
                      "The values chosen:", "", markdown(values.rename_axis("strategy").reset_index()), "", checks,
                      "", still])


def table_budget_check() -> str:
    """The budget check: cells of the grid trained again with a longer budget, against the grid's runs."""
    data, check = record(GRID), record(BUDGET_CHECK)
    cells = results.budget_check(data, check)
    rows = [{"strategy": c["strategy"], "sentences": f"{c['size']:,}", "steps (grid → longer)":
             f"{c['grid steps']:,} → {c['longer steps']:,}", "grid": f"{c.grid:.3f}", "longer": f"{c.longer:.3f}",
             "still improving at the end": f"{c['still improving']} of {c.seeds}",
             "longer minus grid": (f"{interval(c.difference)}: {c.difference.verdict('longer', 'grid')}"
                                   if c.difference is not None else f"{c.seeds} seed: not compared")}
            for _, c in cells.iterrows()]
    caption = (f"Cells whose final runs were still improving at their last step, trained again with {check['factor']}× "
               f"the grid's budget (the same seeds, chosen value and protocol; `benchmarks/budget_check.py`); "
               f"validation accuracy, mean over seeds; the last column pairs the runs by seed (95% interval). "
               f"{stats.RULE} " + source(BUDGET_CHECK))
    return "\n".join([caption, "", markdown(pd.DataFrame(rows))])


def table_course_times() -> str:
    """Wall time of every notebook, per recorded ``make execute`` run (benchmarks/course_runs/*.json)."""
    records = sorted(COURSE_RUNS.glob("*.json"))
    if not records:
        raise FileNotFoundError(f"No recorded course run in {COURSE_RUNS}: "
                                "run `make execute ... RECORD=benchmarks/course_runs/NAME.json` first.")
    columns = {}
    for path in records:
        data = files.read_json(path, "The course run record")
        title = f"{data['profile']}, {data['checkpoint']}, {data['device']}"
        columns[title] = {name.removesuffix(".ipynb"): f"{s / 60:.1f} min" if s >= 90 else f"{s:.0f} s"
                          for name, s in sorted(data["notebook_seconds"].items())}
        columns[title]["all notebooks"] = f"{data['total_seconds'] / 60:.1f} min"
    note = ("Wall time of each notebook run top to bottom by `make execute` (kernel start included), "
            f"from {', '.join(f'`{p.relative_to(ROOT)}`' for p in records)}.")
    return note + "\n\n" + markdown(pd.DataFrame(columns).rename_axis("notebook").reset_index())


TABLES: dict[str, Callable[[], str]] = {
    "course-times": table_course_times,
    "strategies": table_strategies,
    "budget-check": table_budget_check,
    "summary": table_summary,
    "files": table_files,
    "gpu-epoch": lambda: single_seed("gpu_distilbert_epoch", "gpu_minilm_epoch"),
    "cpu-ladder": table_cpu_ladder,
    "cpu-budget": table_cpu_budget,
    "cpu-distilbert": lambda: single_seed("cpu_distilbert_compare"),
}


# ----------------------------------------------------------------------------- the READMEs

def render(text: str, where: str = "README") -> str:
    """``text`` with every marked block replaced by its table."""
    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"{where}: unknown table {name!r} in a results marker; the tables are {sorted(TABLES)}.")
        return f"<!-- results:{name}:start -->\n{GENERATED}\n\n{TABLES[name]()}\n\n<!-- results:{name}:end -->"

    return MARKER.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail if a README is out of date")
    parser.add_argument("--print", metavar="NAME", choices=sorted(TABLES), help="print one table")
    parser.add_argument("files", nargs="*", type=Path, help="READMEs to update (default: all three)")
    args = parser.parse_args(argv)
    if args.print:
        print(TABLES[args.print]())
        return 0
    stale = []
    for path in args.files or READMES:
        text = path.read_text(encoding="utf-8")
        new = render(text, path.name)
        if new != text:
            stale.append(str(path))
            if not args.check:
                files.write_text(path, new)
    if args.check and stale:
        print(f"out of date: {', '.join(stale)}; run python benchmarks/tables.py", file=sys.stderr)
        return 1
    print(("updated: " + ", ".join(stale)) if stale and not args.check else "the results tables are up to date")
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except (KeyError, OSError, ValueError) as err:  # a results file or README to fix: its message, no traceback
        raise SystemExit(f"tables.py: {err.args[0] if isinstance(err, KeyError) else err}") from None
