"""Reference settings vs the course's recipe: same model, data and machine, one process.

For each configuration the script trains a fresh copy of the same checkpoint on the same
training sentences, then evaluates it on the validation split, and reports

* training samples per second and training time (tokenization is timed once, separately),
* peak memory (GPU: ``torch.cuda.max_memory_allocated`` per run; CPU: the process's peak
  resident memory so far, which can only grow),
* validation accuracy, and the speed-up of each configuration over the reference settings.

The **reference settings** are those of a widely copied fine-tuning notebook: batch 8, learning
rate 5e-5, 32-bit floats, AdamW, the training sentences in random order. The **recipe** is the
course's (``course_utils.training.training_arguments``): the profile's larger batch and learning
rate with warm-up, length-grouped batches in random order (``course_utils.batching.
length_grouped_order`` with ``train_sampling_strategy="sequential"``), dynamic padding, the
``Trainer``'s default optimizer (fused AdamW with torch 2.8 or later), mixed precision on a GPU,
and on a GPU also two loader workers with pinned memory, padding to a multiple of 8, and with
``--compile`` ``torch.compile``.

Two modes:

* ``--mode compare`` (default): (a) the reference settings, (b) the recipe (and, with
  ``--variants``, the recipe at other batch sizes and learning rates).
* ``--mode ladder``: starts from the reference settings and adds one setting at a time (batch
  size + learning rate, length-grouped batches in the ``Trainer``'s own long-to-short order, the
  same batches in random order, on a GPU mixed precision, fused AdamW, then on a GPU loader
  workers, padding to a multiple of 8 and, with ``--compile``, ``torch.compile``); the last rung
  is the recipe.

``--seeds 42,43,44`` trains every configuration once per seed (same sentences, configurations
interleaved seed by seed) and summarizes each over the seeds: one run's accuracy moves by about
±0.01 with the seed alone, so compare accuracies that way.

Checkpoints: a local folder (speed and accuracy), ``random-distilbert`` (DistilBERT-base shapes
with random weights: speed only), ``tiny-distilbert`` (the smoke model: seconds, for tests), or a
Hub id. Data: ``hub``, ``sample`` or a folder of SST-2 files (``course_utils.data.load_sst2``).

Examples (run from the repository root)::

    python benchmarks/speed.py --checkpoint path/to/all-MiniLM-L6-v2 --data path/to/sst2 --samples 4000 --profile cpu
    python benchmarks/speed.py --checkpoint random-distilbert --data path/to/sst2 --samples all --json out.json
    python benchmarks/speed.py --checkpoint tiny-distilbert --data sample --samples 256 --mode ladder
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from course_utils.batching import length_grouped_order, sentence_lengths  # noqa: E402
from course_utils.data import load_sst2  # noqa: E402
from course_utils.models import build_random_distilbert, resolve_checkpoint  # noqa: E402
from course_utils.settings import device_description, get_settings, library_versions, quiet_libraries  # noqa: E402
from course_utils.training import (  # noqa: E402
    device_kind,
    mixed_precision,
    pad_multiple,
    select_train,
    tokenize,
    training_arguments,
)

RANDOM_DISTILBERT = "random-distilbert"
QUIET = dict(disable_tqdm=True, logging_steps=100_000)  # no progress bars, no loss log lines
# How the training sentences are served: the Trainer's own random order, its group_by_length
# order (long to short in each group of batches), or the course's length_grouped_order.
ORDERS = {"random": "random order", "trainer": "the Trainer's group_by_length order (long to short in each group)",
          "course": "length-grouped batches in random order (length_grouped_order)"}
# TrainingArguments fields that may differ between the ladder's last rung and the recipe.
NOT_RECIPE = {"output_dir", "logging_steps", "logging_dir", "eval_steps"}


@dataclass
class Config:
    """One training configuration: ``TrainingArguments`` fields, how the sentences are ordered
    (a key of :data:`ORDERS`) and the collator's padding multiple. The arguments are built fresh
    for every run: each ``TrainingArguments`` resets accelerate's process-wide state, so runs in
    different precisions can follow each other in one process."""

    name: str
    kwargs: dict[str, Any]
    order: str = "random"
    pad_to_multiple_of: int | None = None
    notes: str = ""


@dataclass
class Result:
    name: str
    samples: int
    train_seconds: float
    samples_per_second: float
    peak_memory_mb: float
    val_accuracy: float
    notes: str = ""
    speedup: float = field(default=float("nan"))
    seed: int = 42
    batch_size: int = 0
    learning_rate: float = 0.0
    precision: str = "fp32"
    optim: str = ""
    batch_order: str = ""
    pad_to_multiple_of: int | None = None


# ----------------------------------------------------------------------------- configurations

def reference_kwargs(output_dir: str, device: str) -> dict[str, Any]:
    """The reference settings: batch 8, learning rate 5e-5, no warm-up, fp32, AdamW, random order."""
    return dict(output_dir=output_dir, learning_rate=5e-5, per_device_train_batch_size=8, per_device_eval_batch_size=8,
                num_train_epochs=1, warmup_steps=0, weight_decay=0.01, optim="adamw_torch",
                train_sampling_strategy="random", eval_strategy="no", save_strategy="no", report_to="none",
                dataloader_pin_memory=device == "cuda", seed=42, **QUIET)


def gpu_settings(device: str, compile: bool) -> dict[str, Any]:
    """What the recipe adds on a GPU beyond ``training_arguments``: two loader workers with pinned
    memory, and optionally ``torch.compile``. On a CPU: no pinned memory (nothing to copy to)."""
    if device != "cuda":
        return dict(dataloader_pin_memory=False)
    return dict(dataloader_num_workers=2, dataloader_pin_memory=True, torch_compile=compile)


def recipe(output_dir: str, settings, n_train: int, device: str, compile: bool, name: str | None = None) -> Config:
    """The course's recipe for these settings, as ``TrainingArguments`` fields. Its optimizer is the
    ``TrainingArguments`` default: fused AdamW with torch 2.8 or later (on a CPU too)."""
    args = training_arguments(settings, output_dir, num_train_samples=n_train, num_train_epochs=1,
                              **QUIET, **gpu_settings(device, compile))
    return Config(name or f"(b) recipe (batch {settings.batch_size}, lr {settings.learning_rate:g})", args.to_dict(),
                  order="course", pad_to_multiple_of=pad_multiple(device))


def ladder(output_dir: str, settings, n_train: int, compile: bool, device: str | None = None) -> list[Config]:
    """The reference settings, then one setting added per rung; the last rung is the recipe."""
    device = device or device_kind()
    target = recipe(output_dir, settings, n_train, device, compile)
    reference = reference_kwargs(output_dir, device)
    # (name, TrainingArguments changes, order or None to keep, padding multiple or None to keep, notes)
    steps: list[tuple[str, dict, str | None, int | None, str]] = [
        ("reference (batch 8, fp32, random order)", {}, "random", None, ""),
        (f"+ batch {settings.batch_size}, lr {settings.learning_rate:g}",
         dict(per_device_train_batch_size=settings.batch_size, learning_rate=settings.learning_rate,
              warmup_steps=0.1, per_device_eval_batch_size=max(64, settings.batch_size)), None, None, ""),
        ("+ length-grouped batches, Trainer's order", dict(train_sampling_strategy="group_by_length"), "trainer", None,
         "long to short in each group"),
        ("+ the same batches in random order", dict(train_sampling_strategy="sequential"), "course", None, ""),
    ]
    if device == "cuda":
        precision = mixed_precision(device)
        steps.append((f"+ mixed precision ({'bf16' if precision.get('bf16') else 'fp16'})", precision, None, None, ""))
    if target.kwargs["optim"] != reference["optim"]:
        steps.append((f"+ fused AdamW ({target.kwargs['optim']})", dict(optim=target.kwargs["optim"]), None, None, ""))
    if device == "cuda":
        steps += [
            ("+ 2 loader workers, pinned memory", dict(dataloader_num_workers=2, dataloader_pin_memory=True), None,
             None, ""),
            ("+ pad to a multiple of 8", {}, None, 8, ""),
        ]
        if compile:
            steps.append(("+ torch.compile", dict(torch_compile=True), None, None, "compilation time included"))
    configs, current, order, pad = [], reference, "random", None
    for name, change, new_order, new_pad, notes in steps:
        current = {**current, **change}
        order, pad = new_order or order, new_pad or pad
        configs.append(Config(name, dict(current), order, pad, notes))
    last = configs[-1]
    differences = recipe_differences(last, target)
    if differences:
        raise AssertionError(f"The ladder's last rung is not the recipe (rung, recipe): {differences}")
    last.kwargs = target.kwargs  # the recipe's arguments exactly
    return configs


def recipe_differences(config: Config, target: Config) -> dict[str, tuple[Any, Any]]:
    """Every ``TrainingArguments`` field (and the order and padding) where two configurations differ,
    outside :data:`NOT_RECIPE`; empty when they train the same way."""
    from transformers import TrainingArguments

    a, b = TrainingArguments(**config.kwargs).to_dict(), TrainingArguments(**target.kwargs).to_dict()
    differences = {k: (a.get(k), b.get(k)) for k in sorted((set(a) | set(b)) - NOT_RECIPE) if a.get(k) != b.get(k)}
    for attribute in ("order", "pad_to_multiple_of"):
        if getattr(config, attribute) != getattr(target, attribute):
            differences[attribute] = (getattr(config, attribute), getattr(target, attribute))
    return {k: v for k, v in differences.items() if k not in NOT_RECIPE}


def compare_configs(output_dir: str, settings, n_train: int, compile: bool,
                    variants: list[tuple[int, float]] = (), device: str | None = None) -> list[Config]:
    """(a) the reference settings, (b) the recipe, then (c), (d)... the recipe at other batch sizes
    and learning rates (``--variants 64:1e-4,128:2e-4``)."""
    device = device or device_kind()
    configs = [Config("(a) reference (batch 8, lr 5e-5, fp32, random order)",
                      reference_kwargs(output_dir, device)),
               recipe(output_dir, settings, n_train, device, compile)]
    for letter, (batch, lr) in zip("cdefgh", variants):
        variant = dataclasses.replace(settings, batch_size=batch, learning_rate=lr)
        configs.append(recipe(output_dir, variant, n_train, device, compile,
                              name=f"({letter}) recipe (batch {batch}, lr {lr:g})"))
    return configs


def parse_seeds(text: str | None) -> list[int]:
    """``"42,43,44"`` -> ``[42, 43, 44]``; each configuration is trained once per seed."""
    if not text:
        return []
    try:
        seeds = [int(item) for item in text.split(",")]
    except ValueError:
        raise SystemExit(f"--seeds {text!r}: write whole numbers separated by commas, e.g. 42,43,44") from None
    if len(set(seeds)) != len(seeds):
        raise SystemExit(f"--seeds {text!r}: a seed is repeated; give each seed once, e.g. 42,43,44")
    return seeds


def parse_variants(text: str | None) -> list[tuple[int, float]]:
    if not text:
        return []
    try:
        return [(int(b), float(lr)) for b, lr in (item.split(":") for item in text.split(","))]
    except ValueError:
        raise SystemExit(f"--variants {text!r}: write batch:learning_rate pairs, e.g. 64:1e-4,128:2e-4") from None


def parse_samples(text: str) -> int | None:
    """``"all"`` -> ``None`` (every training sentence), ``"2000"`` -> 2000."""
    if text == "all":
        return None
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise SystemExit(f"--samples {text!r}: give a number of training sentences (at least 1), or 'all'")
    return n


# ----------------------------------------------------------------------------- measuring

def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def ordered(train, config: Config, seed: int):
    """The training sentences in the order the configuration trains them."""
    if config.order != "course":
        return train  # the Trainer draws the order itself (random, or group_by_length)
    batch = config.kwargs["per_device_train_batch_size"] * config.kwargs.get("gradient_accumulation_steps", 1)
    return train.select(length_grouped_order(sentence_lengths(train), batch, seed=seed))


def run(config: Config, checkpoint: str, tokenizer, train, validation, seed: int) -> Result:
    from transformers import (
        AutoModelForSequenceClassification,
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        TrainingArguments,
    )

    names = train.features["label"].names
    torch.manual_seed(seed)
    # fp32 master weights whatever the checkpoint's storage dtype (mixed precision casts on the fly)
    model = AutoModelForSequenceClassification.from_pretrained(
        checkpoint, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={n: i for i, n in enumerate(names)}, dtype=torch.float32)
    args = TrainingArguments(**{**config.kwargs, "seed": seed})  # fresh: see Config
    trainer = Trainer(model=model, args=args, train_dataset=ordered(train, config, seed), processing_class=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=config.pad_to_multiple_of))
    trainer.remove_callback(PrinterCallback)  # no metrics dict printed after each run
    if torch.cuda.is_available():
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.train()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    memory = peak_memory_mb()
    predictions = trainer.predict(validation)
    accuracy = float((np.argmax(predictions.predictions, axis=-1) == predictions.label_ids).mean())
    samples = train.num_rows
    del trainer, model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return Result(config.name, samples, seconds, samples / seconds, memory, accuracy, config.notes, seed=seed,
                  batch_size=args.per_device_train_batch_size, learning_rate=args.learning_rate,
                  precision="bf16" if args.bf16 else "fp16" if args.fp16 else "fp32", optim=str(args.optim.value),
                  batch_order=ORDERS[config.order], pad_to_multiple_of=config.pad_to_multiple_of)


def warm_up(configs: list[Config], checkpoint: str, tokenizer, train, validation) -> None:
    """Run each distinct precision once on a few batches so start-up costs hit no measured run."""
    seen = set()
    for config in configs:
        key = tuple(config.kwargs.get(k, False) for k in ("bf16", "fp16", "torch_compile"))
        if key in seen:
            continue
        seen.add(key)
        few = train.select(range(min(train.num_rows, 16 * config.kwargs["per_device_train_batch_size"])))
        run(config, checkpoint, tokenizer, few, validation.select(range(min(64, validation.num_rows))), 0)


def results_table(results: list[Result]) -> pd.DataFrame:
    return pd.DataFrame([dataclasses.asdict(r) for r in results])


def summarize(results: list[Result]) -> pd.DataFrame:
    """Per configuration, in first-seen order: runs, mean samples/s, its ratio to the first
    configuration's, and validation accuracy as mean and sample standard deviation (NaN with one run)."""
    table = results_table(results)
    summary = table.groupby("name", sort=False).agg(
        runs=("seed", "size"), samples_per_second=("samples_per_second", "mean"),
        val_accuracy_mean=("val_accuracy", "mean"), val_accuracy_sd=("val_accuracy", "std"),
        val_accuracies=("val_accuracy", list)).reset_index()
    summary.insert(3, "speedup", summary["samples_per_second"] / summary["samples_per_second"].iloc[0])
    return summary


def b_against_a(summary: pd.DataFrame, has_reference: bool) -> tuple[float, float] | None:
    """(b)'s speed-up over (a) and its accuracy minus (a)'s, or None without both."""
    if not has_reference or len(summary) < 2:
        return None
    a, b = summary.iloc[0], summary.iloc[1]
    return float(b["speedup"]), float(b["val_accuracy_mean"] - a["val_accuracy_mean"])


def format_results(results: list[Result]) -> str:
    table = results_table(results)[["name", "seed", "samples", "train_seconds", "samples_per_second",
                                    "peak_memory_mb", "val_accuracy", "speedup", "notes"]]
    return table.to_string(index=False, formatters={
        "name": lambda s: f"{s[:52]:52}", "train_seconds": "{:.1f}".format, "samples_per_second": "{:.1f}".format,
        "peak_memory_mb": "{:.0f}".format, "val_accuracy": "{:.3f}".format, "speedup": "{:.2f}x".format},
        justify="left")


def format_summary(summary: pd.DataFrame) -> str:
    table = summary[["name", "runs", "samples_per_second", "speedup", "val_accuracy_mean", "val_accuracy_sd"]]
    return table.to_string(index=False, na_rep="-", formatters={
        "name": lambda s: f"{s[:52]:52}", "samples_per_second": "{:.1f}".format, "speedup": "{:.2f}x".format,
        "val_accuracy_mean": "{:.3f}".format, "val_accuracy_sd": "{:.3f}".format}, justify="left")


def has_reference(args) -> bool:
    """Whether the run measured (a), the reference settings, first (not in compare mode with --skip-reference)."""
    return not (args.mode == "compare" and args.skip_reference)


def write_report(args, settings, n_train: int, n_validation: int, tokenize_seconds: float,
                 accuracy_meaningful: bool, results: list[Result]) -> dict:
    summary = summarize(results)
    records = json.loads(summary.to_json(orient="records"))  # NaN -> null
    report = {
        "device": device_description(),
        "versions": library_versions(),
        "checkpoint": Path(args.checkpoint).name,
        "data": Path(args.data).name,
        "mode": args.mode,
        "train_samples": n_train,
        "validation_samples": n_validation,
        "max_length": settings.max_length,
        "tokenize_seconds": round(tokenize_seconds, 2),
        "accuracy_meaningful": accuracy_meaningful,
        "seeds": list(dict.fromkeys(r.seed for r in results)),
        "results": [dataclasses.asdict(r) for r in results],
        "summary": records,
    }
    report["speedup_b_over_a"], report["accuracy_b_minus_a"] = b_against_a(summary, has_reference(args)) or (None, None)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="folder, Hub id, random-distilbert or tiny-distilbert")
    parser.add_argument("--data", required=True, help="hub, sample, or a folder with SST-2 train/validation files")
    parser.add_argument("--samples", default="2000", help="training sentences per run, or 'all' (a full epoch)")
    parser.add_argument("--mode", choices=("compare", "ladder"), default="compare")
    parser.add_argument("--profile", default="default", help="profile whose batch size / learning rate the recipe uses")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--learning-rate", type=float, help="override the recipe's learning rate")
    parser.add_argument("--max-length", type=int, help="truncation length (default: the profile's)")
    parser.add_argument("--variants", help="compare mode: extra recipe runs as batch:lr pairs, e.g. 64:1e-4,128:2e-4")
    parser.add_argument("--seeds", help="train every configuration once per seed, e.g. 42,43,44 "
                        "(default: the profile's seed); the summary gives accuracy as mean and spread")
    parser.add_argument("--skip-reference", action="store_true",
                        help="compare mode: leave out (a), e.g. to add runs to an earlier comparison "
                        "(speed-ups are then relative to (b))")
    parser.add_argument("--compile", action="store_true", help="add torch.compile (GPU)")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the short warm-up runs")
    parser.add_argument("--json", help="write the results here as JSON (after every run)")
    args = parser.parse_args(argv)
    seeds = parse_seeds(args.seeds)
    variants = parse_variants(args.variants)
    n = parse_samples(args.samples)

    quiet_libraries()
    overrides = {k: v for k, v in dict(batch_size=args.batch_size, learning_rate=args.learning_rate,
                                        max_length=args.max_length).items() if v is not None}
    settings = get_settings(args.profile, env={}, max_train_samples=n, **overrides)

    workdir = Path(tempfile.mkdtemp(prefix="course-bench-"))
    if args.checkpoint == RANDOM_DISTILBERT:
        checkpoint = str(build_random_distilbert(workdir / "random-distilbert", shape="distilbert-base"))
        accuracy_meaningful = False
    else:
        checkpoint = resolve_checkpoint(args.checkpoint)
        accuracy_meaningful = args.checkpoint != "tiny-distilbert"
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    raw = load_sst2(args.data)
    start = time.perf_counter()
    encoded = tokenize(raw, tokenizer, settings.max_length)
    tokenize_seconds = time.perf_counter() - start
    train = select_train(encoded, settings)  # the same sentences, whatever the seed of each run
    validation = encoded["validation"]

    output_dir = str(workdir / "trainer")
    if args.mode == "ladder":
        configs = ladder(output_dir, settings, train.num_rows, args.compile)
    else:
        configs = compare_configs(output_dir, settings, train.num_rows, args.compile, variants)
        if args.skip_reference:
            configs = configs[1:]
    if not args.no_warm_up:
        warm_up(configs, checkpoint, tokenizer, train, validation)
    seeds = seeds or [settings.seed]
    results: list[Result] = []
    # Seed by seed, all configurations in turn: a machine that slows down over time
    # then affects every configuration alike.
    for seed in seeds:
        first = len(results)
        for config in configs:
            results.append(run(config, checkpoint, tokenizer, train, validation, seed))
            results[-1].speedup = results[-1].samples_per_second / results[first].samples_per_second
            print(f"  done: {results[-1].name}, seed {seed}: {results[-1].samples_per_second:.1f} samples/s, "
                  f"accuracy {results[-1].val_accuracy:.3f}", flush=True)
            if args.json:  # written after every run, so a cut-off run keeps what it measured
                write_report(args, settings, train.num_rows, validation.num_rows, tokenize_seconds,
                             accuracy_meaningful, results)

    print(f"device: {device_description()}; checkpoint: {Path(args.checkpoint).name}; "
          f"train sentences: {train.num_rows:,}; validation: {validation.num_rows:,}; max length {settings.max_length}")
    print(f"tokenization (all splits, once): {tokenize_seconds:.1f} s")
    if not accuracy_meaningful:
        print("validation accuracy means nothing here (random weights): this run measures speed only")
    print(format_results(results))
    summary = summarize(results)
    if len(seeds) > 1:
        print(f"\nover {len(seeds)} seeds ({', '.join(map(str, seeds))}):")
        print(format_summary(summary))
    if not has_reference(args):
        print("(a) left out (--skip-reference): compare with an earlier run's (a) on the same machine and seeds")
    elif args.mode == "compare":
        speedup, accuracy_difference = b_against_a(summary, True)
        print(f"(b)/(a) samples per second: {speedup:.2f}x; validation accuracy (b) - (a): {accuracy_difference:+.3f}")
    else:
        print(f"recipe / reference settings, samples per second: {summary['speedup'].iloc[-1]:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
