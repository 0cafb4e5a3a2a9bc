"""The results tables of the READMEs, rendered from the measured files in benchmarks/results/.

No figure in a results table is typed by hand: each table below is computed from the JSON that
``speed.py`` wrote, and written into a README between two markers::

    <!-- results:NAME:start -->
    (generated: do not edit; run python benchmarks/tables.py)
    <!-- results:NAME:end -->

``python benchmarks/tables.py`` rewrites every marked block in benchmarks/README.md and README.md;
``python benchmarks/tables.py --check`` changes nothing and fails when a block is out of date (the
test suite runs it). ``--print NAME`` shows one table. A new results file must be described in
:data:`FILES` (what its recipe's batch order was) before the tables can be made.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
READMES = (ROOT / "benchmarks" / "README.md", ROOT / "README.md", ROOT / "TEACHING.md")
COURSE_RUNS = ROOT / "benchmarks" / "course_runs"  # `make execute RECORD=...`: each notebook's wall time
RANDOM_WEIGHTS = "DistilBERT shapes, random weights"
GENERATED = "<!-- generated from benchmarks/results by benchmarks/tables.py: edit that script, not this table -->"
MARKER = re.compile(r"<!-- results:(?P<name>[a-z0-9-]+):start -->\n(?P<body>.*?)<!-- results:(?P=name):end -->",
                    re.DOTALL)

# What each results file measured, in the order it was made. `order` is how the fast recipe's
# length-grouped batches were served; the course changed it from the Trainer's order to random order.
TRAINER_ORDER = "the `Trainer`'s order (long to short in each group): predates the random order"
EXPERIMENT = "random order, by a patched `Trainer` sampler (the experiment that found it)"
RANDOM_ORDER = "random order (`course_utils.batching`, then still a `Trainer` subclass)"
FILES: dict[str, dict[str, str]] = {
    "gpu_distilbert_epoch": dict(what="speed, DistilBERT shapes (random weights), full epoch", order=TRAINER_ORDER),
    "gpu_minilm_epoch": dict(what="speed and accuracy, full epoch, one seed", order=TRAINER_ORDER),
    "cpu_distilbert_compare": dict(what="speed, DistilBERT shapes (random weights)", order=TRAINER_ORDER),
    "cpu_minilm_ladder": dict(what="one setting at a time, one seed (superseded by the three-seed ladder)",
                              order=TRAINER_ORDER),
    "cpu_minilm_seeds_4000": dict(what="reference vs recipe at learning rates 1e-4 and 2e-4, three seeds",
                                  order=TRAINER_ORDER),
    "cpu_minilm_seeds_24000": dict(what="reference vs recipe at learning rates 1e-4 and 2e-4, three seeds",
                                   order=TRAINER_ORDER),
    "cpu_minilm_ladder_shuffled_groups_4000": dict(what="one setting at a time, three seeds", order=EXPERIMENT),
    "cpu_minilm_shuffled_groups_24000": dict(
        what="the recipe alone, three seeds (two runs shared the CPU: their times are not speed results)",
        order=EXPERIMENT),
    "cpu_minilm_ladder_4000_seeds": dict(what="one setting at a time, both orders, three seeds",
                                         order="both: the `Trainer`'s order, then " + RANDOM_ORDER),
    "cpu_minilm_recipe_24000": dict(what="the recipe alone (`--skip-old`), seeds 42-44", order=RANDOM_ORDER),
    "cpu_minilm_seeds_24000_more": dict(what="reference vs recipe, seeds 45-47", order=RANDOM_ORDER),
    "strategies_cpu_minilm": dict(what="notebook 9's grid: seven strategies × labelled-data sizes, each with its own "
                                       "tuned learning rate (benchmarks/strategies.py)",
                                  order="random order (`length_grouped_order`, sequential sampling)"),
}


# ----------------------------------------------------------------------------- reading

def report(stem: str) -> dict:
    path = RESULTS / f"{stem}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path.parent.name}/{path.name} is missing: the tables are made from it. "
                                "Restore it from git, or drop its table from tables.py.")
    return json.loads(path.read_text())


def runs(*stems: str) -> pd.DataFrame:
    """Every training run of these files, one row each (runs without a seed ran with 42)."""
    frames = []
    for stem in stems:
        data = report(stem)
        frame = pd.DataFrame(data["results"])
        frame["seed"] = frame["seed"].fillna(42).astype(int) if "seed" in frame else 42
        frame["file"] = stem
        frame["config"] = frame["name"].str.extract(r"^\((\w)\)", expand=False)  # (a), (b), ... in compare mode
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def hardware(device: str) -> str:
    """'GPU: NVIDIA H200 (mixed precision bf16)' -> '1× NVIDIA H200'; 'CPU (2 threads)' -> '2 CPU threads'."""
    gpu = re.match(r"GPU: ([^(]+?)\s*(\(|$)", device)
    if gpu:
        return f"1× {gpu.group(1)}"
    threads = re.search(r"(\d+) threads?", device)
    return f"{threads.group(1)} CPU threads" if threads else device


def versions(stem: str) -> str:
    v = report(stem)["versions"]
    return f"torch {v['torch']}, transformers {v['transformers']}"


def seeds_text(seeds) -> str:
    seeds = sorted(set(int(s) for s in seeds))
    if len(seeds) > 2 and seeds == list(range(seeds[0], seeds[-1] + 1)):
        return f"{seeds[0]}–{seeds[-1]}"
    return ", ".join(map(str, seeds))


# ----------------------------------------------------------------------------- formatting

def label(name: str) -> str:
    """A configuration's name as speed.py wrote it, in today's words: 'old notebook settings' ->
    'reference settings', 'lr 0.0001' -> 'lr 1e-4'."""
    name = name.replace("old notebook settings", "reference settings")
    return re.sub(r"lr (\d[\d.e-]*)", lambda m: "lr " + f"{float(m[1]):.0e}".replace("e-0", "e-"), name)


def speed(x: float) -> str:
    return f"{x:,.1f}"


def times(x: float) -> str:
    return f"{x:.2f}×"


def accuracy(values) -> str:
    values = pd.Series(values, dtype=float)
    if len(values) == 1:
        return f"{values.iloc[0]:.3f}"
    return f"{values.mean():.3f} ± {values.std(ddof=1):.3f}"


def per_seed(frame: pd.DataFrame) -> str:
    return ", ".join(f"{a:.3f}" for a in frame.sort_values("seed")["val_accuracy"])


def markdown(frame: pd.DataFrame, right: tuple[str, ...] = ()) -> str:
    """A pipe table; the columns in ``right`` are right-aligned (numbers)."""
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---:" if c in right else "---" for c in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def source(*stems: str) -> str:
    return "Source: " + ", ".join(f"`results/{s}.json`" for s in stems) + "."


# ----------------------------------------------------------------------------- the tables

def table_files() -> str:
    rows = []
    for stem, info in FILES.items():
        data = report(stem)
        frame = runs(stem)
        rows.append({"file": f"`{stem}.json`", "device": hardware(data["device"]),
                     "checkpoint": data["checkpoint"], "sentences": f"{data['train_samples']:,}",
                     "seeds": seeds_text(frame["seed"]), "what": info["what"], "recipe's batch order": info["order"]})
    return markdown(pd.DataFrame(rows), right=("sentences",))


def table_gpu_epoch() -> str:
    stems = ("gpu_distilbert_epoch", "gpu_minilm_epoch")
    rows = []
    for stem in stems:
        data, frame = report(stem), runs(stem)
        base = frame.loc[frame["config"] == "a", "samples_per_second"].iloc[0]
        model = data["checkpoint"] if data["accuracy_meaningful"] else RANDOM_WEIGHTS
        for r in frame.itertuples():
            rows.append({"model": model, "configuration": label(r.name),
                         "train s": f"{r.train_seconds:.1f}", "samples/s": speed(r.samples_per_second),
                         "speed-up": times(r.samples_per_second / base), "peak GPU MB": f"{r.peak_memory_mb:,.0f}",
                         "val. accuracy": f"{r.val_accuracy:.3f}" if data["accuracy_meaningful"] else "n/a"})
    data = report(stems[0])
    caption = (f"{data['device']}, one epoch of {data['train_samples']:,} sentences, max length {data['max_length']}, "
               f"one seed; {versions(stems[0])}. The recipe served its batches in {TRAINER_ORDER}. " + source(*stems))
    return caption + "\n\n" + markdown(pd.DataFrame(rows), right=("train s", "samples/s", "speed-up", "peak GPU MB",
                                                                  "val. accuracy"))


def _ladder(stem: str, labels: dict[str, str]) -> str:
    data, frame = report(stem), runs(stem)
    names = list(dict.fromkeys(frame["name"]))
    mean = frame.groupby("name", sort=False)["samples_per_second"].mean()
    rows = [{"configuration": labels.get(name, label(name)), "samples/s (mean)": speed(mean[name]),
             "speed-up": times(mean[name] / mean[names[0]]),
             "val. accuracy, mean ± sd": accuracy(frame.loc[frame["name"] == name, "val_accuracy"]),
             "per seed": per_seed(frame[frame["name"] == name])} for name in names]
    caption = (f"{data['device']}, {data['checkpoint']}, {data['train_samples']:,} sentences, max length "
               f"{data['max_length']}, seeds {seeds_text(frame['seed'])} (every configuration trained once per "
               f"seed on the same sentences); {versions(stem)}. " + source(stem))
    return caption + "\n\n" + markdown(pd.DataFrame(rows), right=("samples/s (mean)", "speed-up",
                                                                  "val. accuracy, mean ± sd"))


def table_cpu_ladder() -> str:
    return _ladder("cpu_minilm_ladder_4000_seeds", {
        "old notebook (batch 8, fp32, random batches)": "reference (batch 8, fp32, random order)",
        "+ length-grouped batches, Trainer's order": "+ length-grouped batches, the `Trainer`'s order",
        "+ the same batches in random order": "+ the same batches in random order (= the recipe on a CPU)",
    })


def _budget_frames() -> dict[str, pd.DataFrame]:
    """The 24,000-sentence runs: the reference and the recipe (random order) over six seeds, and the
    recipe in the Trainer's order at two learning rates over three."""
    old, recipe = runs("cpu_minilm_seeds_24000"), runs("cpu_minilm_recipe_24000")
    more = runs("cpu_minilm_seeds_24000_more")
    return {
        "reference": pd.concat([old[old["config"] == "a"], more[more["config"] == "a"]]),
        "recipe": pd.concat([recipe[recipe["config"] == "b"], more[more["config"] == "b"]]),
        "trainer_1e-4": old[old["config"] == "b"],
        "trainer_2e-4": old[old["config"] == "c"],
    }


def paired(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """b's accuracy minus a's, seed by seed (the seeds both have)."""
    return (b.set_index("seed")["val_accuracy"] - a.set_index("seed")["val_accuracy"]).dropna().sort_index()


def table_cpu_budget() -> str:
    f = _budget_frames()
    labels = {"reference": "(a) reference settings (batch 8, lr 5e-5, fp32, random order)",
              "recipe": "**(b) the recipe** (batch 32, lr 1e-4, random order)",
              "trainer_1e-4": "the recipe in the `Trainer`'s order, lr 1e-4",
              "trainer_2e-4": "the recipe in the `Trainer`'s order, lr 2e-4"}
    rows = []
    for key, frame in f.items():
        base = f["reference"][f["reference"]["seed"].isin(frame["seed"])]  # the reference over the same seeds
        rows.append({"configuration": labels[key], "seeds": seeds_text(frame["seed"]),
                     "train s (mean)": f"{frame['train_seconds'].mean():.0f}",
                     "samples/s (mean)": speed(frame["samples_per_second"].mean()),
                     "speed-up": times(frame["samples_per_second"].mean() / base["samples_per_second"].mean()),
                     "val. accuracy, mean ± sd": accuracy(frame["val_accuracy"]), "per seed": per_seed(frame)})
    data = report("cpu_minilm_recipe_24000")
    caption = (f"{data['device']}, {data['checkpoint']}, {data['train_samples']:,} sentences (the `cpu` profile's "
               f"budget), max length {data['max_length']}; {versions('cpu_minilm_recipe_24000')}. Each speed-up is "
               "against the reference's runs with the same seeds. " +
               source("cpu_minilm_seeds_24000", "cpu_minilm_recipe_24000", "cpu_minilm_seeds_24000_more"))
    lines = [caption, "", markdown(pd.DataFrame(rows), right=("train s (mean)", "samples/s (mean)", "speed-up",
                                                              "val. accuracy, mean ± sd")), ""]
    for key in ("recipe", "trainer_1e-4"):
        diff = paired(f["reference"], f[key])
        se = diff.std(ddof=1) / math.sqrt(len(diff))
        lines.append(f"- {labels[key].replace('**', '')} minus (a), paired by seed ({seeds_text(diff.index)}): "
                     + ", ".join(f"{d:+.3f}" for d in diff) + f"; mean {diff.mean():+.4f}, standard error {se:.4f}.")
    pairs = f["reference"].set_index("seed")["samples_per_second"]
    ratio = f["recipe"].set_index("seed")["samples_per_second"] / pairs
    lines.append(f"- Speed-up of single pairs (same seed): {ratio.min():.2f}× to {ratio.max():.2f}×; the reference "
                 f"ran at {speed(pairs.min())} to {speed(pairs.max())} samples/s.")
    return "\n".join(lines)


def table_batch_order_experiment() -> str:
    ladder, recipe = runs("cpu_minilm_ladder_shuffled_groups_4000"), runs("cpu_minilm_shuffled_groups_24000")
    grouped = ladder[ladder["name"] == "+ length-grouped batches"]
    rows = [{"sentences": f"{report(stem)['train_samples']:,}", "configuration": label,
             "val. accuracy, mean ± sd": accuracy(frame["val_accuracy"]), "per seed": per_seed(frame)}
            for stem, label, frame in (("cpu_minilm_ladder_shuffled_groups_4000",
                                        "+ length-grouped batches, in random order", grouped),
                                       ("cpu_minilm_shuffled_groups_24000", "the recipe, batches in random order",
                                        recipe))]
    caption = ("The experiment that found the random order: the `Trainer`'s own sampler, patched to serve its "
               "batches in random order. Accuracy only (some runs shared the CPU). " +
               source("cpu_minilm_ladder_shuffled_groups_4000", "cpu_minilm_shuffled_groups_24000"))
    return caption + "\n\n" + markdown(pd.DataFrame(rows), right=("sentences", "val. accuracy, mean ± sd"))


def table_cpu_distilbert() -> str:
    data, frame = report("cpu_distilbert_compare"), runs("cpu_distilbert_compare")
    base = frame["samples_per_second"].iloc[0]
    rows = [{"configuration": label(r.name),
             "train s": f"{r.train_seconds:.1f}", "samples/s": speed(r.samples_per_second),
             "speed-up": times(r.samples_per_second / base)} for r in frame.itertuples()]
    caption = (f"Speed only: DistilBERT shapes with random weights, {data['device']}, {data['train_samples']:,} "
               f"sentences, max length {data['max_length']}, one seed; the recipe in {TRAINER_ORDER}. "
               + source("cpu_distilbert_compare"))
    return caption + "\n\n" + markdown(pd.DataFrame(rows), right=("train s", "samples/s", "speed-up"))


def table_summary() -> str:
    """One line per measured comparison, for the main README."""
    rows = []
    for stem in ("gpu_distilbert_epoch", "gpu_minilm_epoch"):
        data, frame = report(stem), runs(stem)
        a = frame[frame["config"] == "a"].iloc[0]
        for r in frame[frame["config"] != "a"].itertuples():
            rows.append({"hardware": hardware(data["device"]),
                         "checkpoint": data["checkpoint"] if data["accuracy_meaningful"] else RANDOM_WEIGHTS,
                         "settings": re.sub(r"^\(\w\) fast recipe", "recipe", label(r.name))
                         + ", the `Trainer`'s order",
                         "sentences": f"{data['train_samples']:,}", "seeds": "1",
                         "training time (reference)": f"{r.train_seconds:.0f} s ({a.train_seconds:.0f} s)",
                         "speed-up": times(r.samples_per_second / a.samples_per_second),
                         "val. accuracy (reference)": (f"{r.val_accuracy:.3f} ({a.val_accuracy:.3f})"
                                                       if data["accuracy_meaningful"] else "n/a")})
    f, data = _budget_frames(), report("cpu_minilm_recipe_24000")
    for key, settings in (("recipe", "recipe (batch 32, lr 1e-4), random order"),
                          ("trainer_1e-4", "recipe (batch 32, lr 1e-4), the `Trainer`'s order")):
        frame = f[key]
        base = f["reference"][f["reference"]["seed"].isin(frame["seed"])]
        rows.append({"hardware": hardware(data["device"]), "checkpoint": data["checkpoint"], "settings": settings,
                     "sentences": f"{data['train_samples']:,}", "seeds": str(frame["seed"].nunique()),
                     "training time (reference)": f"{frame['train_seconds'].mean():.0f} s "
                                                  f"({base['train_seconds'].mean():.0f} s)",
                     "speed-up": times(frame["samples_per_second"].mean() / base["samples_per_second"].mean()),
                     "val. accuracy (reference)": f"{accuracy(frame['val_accuracy'])} "
                                                  f"({accuracy(base['val_accuracy'])})"})
    caption = ("The reference settings: batch 8, learning rate 5e-5, fp32, random order. Times are means over the "
               "seeds; accuracies are mean ± sd over the seeds, on the 872 validation sentences.")
    return caption + "\n\n" + markdown(pd.DataFrame(rows), right=("sentences", "seeds", "training time (reference)",
                                                                  "speed-up", "val. accuracy (reference)"))


def table_strategies() -> str:
    """Notebook 9's grid: validation accuracy (mean ± sd over seeds) per strategy and labelled-data size."""
    data = report("strategies_cpu_minilm")
    frame = pd.DataFrame(data["results"])
    grouped = frame.groupby(["strategy", "size"])
    cells = grouped["accuracy"].agg(lambda a: accuracy(a)).unstack("size")
    order = list(dict.fromkeys(frame["strategy"]))
    cells = cells.reindex(order)
    cells.columns = [f"{size:,} sentences" for size in cells.columns]
    largest = frame[frame["size"] == max(data["sizes"])].groupby("strategy")
    cells["training time at the largest size"] = largest["seconds"].mean().reindex(order).map("{:.0f} s".format)
    cells["trainable parameters"] = largest["trainable"].first().reindex(order).map("{:,}".format)
    cells["value used (largest size)"] = pd.Series({s: f"{v[str(max(data['sizes']))]:g}"
                                                   for s, v in data["chosen"].items()}).reindex(order)
    note = (f"{data['checkpoint']}, {hardware(data['device'])}; validation accuracy, mean ± sd over seeds "
            f"{seeds_text(frame['seed'])}, each seed drawing its own labelled sentences; each strategy's learning "
            f"rate (C for `features`) chosen on a {data['tuning_sentences']:,}-sentence slice of the training set, "
            f"at the smallest size. From `benchmarks/results/strategies_cpu_minilm.json`; notebook 9 explains "
            f"the strategies, and why LoRA dips at 1,000 sentences (too few optimizer steps).")
    frame_out = cells.rename_axis("strategy").reset_index()
    return note + "\n\n" + markdown(frame_out, right=tuple(c for c in frame_out.columns if c != "strategy"))


def table_course_times() -> str:
    """Wall time of every notebook, per recorded ``make execute`` run (benchmarks/course_runs/*.json)."""
    records = sorted(COURSE_RUNS.glob("*.json"))
    if not records:
        raise FileNotFoundError(f"No recorded course run in {COURSE_RUNS.relative_to(ROOT)}: "
                                "run `make execute ... RECORD=benchmarks/course_runs/NAME.json` first.")
    columns = {}
    for path in records:
        data = json.loads(path.read_text())
        title = f"{data['profile']}, {data['checkpoint']}, {data['device']}"
        columns[title] = {name: f"{seconds / 60:.1f} min" if seconds >= 90 else f"{seconds:.0f} s"
                          for name, seconds in sorted(data["notebook_seconds"].items())}
        columns[title]["all notebooks"] = f"{data['total_seconds'] / 60:.1f} min"
    frame = pd.DataFrame(columns).rename_axis("notebook").reset_index()
    frame["notebook"] = frame["notebook"].str.replace(".ipynb", "", regex=False)
    note = ("Wall time of each notebook run top to bottom by `make execute` (kernel start included), "
            f"from {', '.join(f'`{p.relative_to(ROOT)}`' for p in records)}.")
    return note + "\n\n" + markdown(frame, right=tuple(columns))


TABLES: dict[str, Callable[[], str]] = {
    "course-times": table_course_times,
    "strategies": table_strategies,
    "summary": table_summary,
    "files": table_files,
    "gpu-epoch": table_gpu_epoch,
    "cpu-ladder": table_cpu_ladder,
    "cpu-budget": table_cpu_budget,
    "batch-order-experiment": table_batch_order_experiment,
    "cpu-distilbert": table_cpu_distilbert,
}


# ----------------------------------------------------------------------------- the READMEs

def undescribed() -> list[str]:
    """Results files that FILES does not describe."""
    return sorted(p.stem for p in RESULTS.glob("*.json") if p.stem not in FILES)


def render(text: str, where: str = "README") -> str:
    """``text`` with every marked block replaced by its table."""
    def replace(match: re.Match) -> str:
        name = match["name"]
        if name not in TABLES:
            raise KeyError(f"{where}: unknown table {name!r} in a results marker; the tables are {sorted(TABLES)}.")
        return (f"<!-- results:{name}:start -->\n{GENERATED}\n\n{TABLES[name]()}\n\n"
                f"<!-- results:{name}:end -->")

    return MARKER.sub(replace, text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail if a README is out of date")
    parser.add_argument("--print", metavar="NAME", choices=sorted(TABLES), help="print one table")
    parser.add_argument("files", nargs="*", type=Path,
                        help="READMEs to update (default: benchmarks/README.md and README.md)")
    args = parser.parse_args(argv)
    missing = undescribed()
    if missing:
        print(f"results files not described in benchmarks/tables.py FILES: {missing}; add what each measured.",
              file=sys.stderr)
        return 1
    if args.print:
        print(TABLES[args.print]())
        return 0
    stale = []
    for path in args.files or READMES:
        if not path.exists():
            continue  # e.g. README.md before it has markers
        text = path.read_text()
        new = render(text, path.name)
        if new != text:
            stale.append(path)
            if not args.check:
                path.write_text(new)
    shown = [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in stale]
    if args.check and stale:
        print(f"out of date: {', '.join(shown)}; run python benchmarks/tables.py", file=sys.stderr)
        return 1
    print(("updated: " + ", ".join(shown)) if stale and not args.check else "the results tables are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
