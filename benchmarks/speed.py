"""Reference settings vs the course's recipe: same model, data and machine, one process (benchmarks/README.md).

Every configuration is built by the recipe's one home, ``course_utils.recipe``; the reference
settings are overrides of the recipe. benchmarks/README.md says what each mode compares, how seeds
are compared (``course_utils.stats``' rule), what the ``--json`` record holds, and gives examples.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from strategies import ROOT, code_version  # benchmarks/ is on sys.path when a script in it runs
from tables import markdown, row, rule

sys.path.insert(0, str(ROOT))  # a checkout without the package installed
from course_utils import files  # noqa: E402
from course_utils.data import load_sst2  # noqa: E402
from course_utils.models import build_random_distilbert, resolve_checkpoint  # noqa: E402
from course_utils.notebook import device_record, library_versions, quiet_libraries  # noqa: E402
from course_utils.recipe import (  # noqa: E402
    make_trainer,
    order_by_length,
    select_train,
    tokenize,
    training_arguments,
)
from course_utils.settings import device_kind, get_settings  # noqa: E402
from course_utils.strategies import load_model  # noqa: E402

RANDOM_DISTILBERT = "random-distilbert"
#: How each configuration serves its training sentences (the pseudo-override ``order``).
ORDERS = {"random": "random order", "trainer": "the Trainer's group_by_length order (long to short in each group)",
          "course": "length-grouped batches in random order (order_by_length)"}


def rate(lr: float) -> str:
    """``1e-4`` for 0.0001, ``2.5e-4`` for 0.00025: learning rates as the results files write them."""
    return np.format_float_scientific(lr, trim="-", exp_digits=1)


def extras(device: str, compile: bool) -> dict:
    """What the recipe adds on a GPU for a benchmark: two loader workers, optionally ``torch.compile``."""
    return dict(dataloader_num_workers=2, torch_compile=compile) if device == "cuda" else {}


def reference(device: str, compile: bool) -> dict:
    """The reference settings as overrides of the recipe: batch 8, learning rate 5e-5 without warm-up,
    plain AdamW, random order; on a GPU also 32-bit floats, no loader workers, no padding multiple."""
    gpu = dict(bf16=False, fp16=False, dataloader_num_workers=0, pad_to_multiple_of=None,
               **({"torch_compile": False} if compile else {}))
    return dict(per_device_train_batch_size=8, learning_rate=5e-5, warmup_steps=0, optim="adamw_torch",
                train_sampling_strategy="random", order="random", **(gpu if device == "cuda" else {}))


def compare_configs(settings, device: str, compile: bool, variants=()) -> list[tuple[str, dict]]:
    """(a) the reference settings, (b) the recipe, then the recipe at other batch sizes and rates
    (``variants``: (batch, rate) pairs); each as (name, overrides)."""
    recipes = [(settings.batch_size, settings.learning_rate), *variants]
    return [("(a) reference (batch 8, lr 5e-5, fp32, random order)", reference(device, compile)),
            *((f"({letter}) recipe (batch {b}, lr {rate(lr)})", dict(per_device_train_batch_size=b, learning_rate=lr))
              for letter, (b, lr) in zip("bcdefgh", recipes))]


def ladder(settings, device: str, compile: bool) -> list[tuple[str, dict]]:
    """The reference settings, then one override fewer per rung: the last rung, with none left, is the recipe."""
    rungs = [("reference (batch 8, fp32, random order)", ()),
             (f"+ batch {settings.batch_size}, lr {rate(settings.learning_rate)}",
              ("per_device_train_batch_size", "learning_rate", "warmup_steps")),
             ("+ length-grouped batches, the Trainer's order", ()),
             ("+ the same batches in random order", ("train_sampling_strategy", "order")),
             ("+ the Trainer's default optimizer", ("optim",))]
    if device == "cuda":
        rungs[4:4] = [("+ mixed precision", ("bf16", "fp16"))]
        rungs += [("+ 2 loader workers", ("dataloader_num_workers",)),
                  ("+ pad to a multiple of 8", ("pad_to_multiple_of",))]
        rungs += [("+ torch.compile (compilation time included)", ("torch_compile",))] if compile else []
    overrides, configs = reference(device, compile), []
    for name, drop in rungs:
        overrides = {k: v for k, v in overrides.items() if k not in drop}
        if name.endswith("the Trainer's order"):
            overrides.update(train_sampling_strategy="group_by_length", order="trainer")
        configs.append((name, overrides))
    return configs


def parse_seeds(text: str) -> list[int]:
    """``"42,43,44"`` -> ``[42, 43, 44]`` (an ``argparse`` type)."""
    try:
        seeds = [int(item) for item in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write whole numbers separated by commas, e.g. 42,43,44") from None
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"{text!r}: a seed is repeated; give each seed once, e.g. 42,43,44")
    return seeds


def parse_variants(text: str) -> list[tuple[int, float]]:
    try:
        return [(int(b), float(lr)) for b, lr in (item.split(":") for item in text.split(","))]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: write batch:learning_rate pairs, e.g. 64:1e-4,128:2e-4") from None


def parse_samples(text: str) -> int | None:
    """``"all"`` -> ``None`` (every training sentence), ``"2000"`` -> 2000."""
    if text == "all":
        return None
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of training sentences (at least 1), or 'all'")
    return int(text)


def run(name: str, overrides: dict, base: dict, settings, checkpoint: str, tokenizer, train, validation,
        seed: int) -> dict:
    """Train one configuration with one seed for one epoch; its run record. ``overrides`` are of
    ``training_arguments`` (``base``: those of every run), plus ``pad_to_multiple_of`` and ``order`` (a key
    of :data:`ORDERS`). Peak memory: on a GPU ``torch.cuda.max_memory_allocated`` of this run; on a CPU the
    process's peak resident memory so far, which only grows."""
    overrides = dict(overrides)
    order, pad = overrides.pop("order", "course"), overrides.pop("pad_to_multiple_of", "recipe")
    args = training_arguments(settings, **base, **overrides, seed=seed)
    model = load_model(checkpoint, "full", seed, train.features["label"].names)
    rows = order_by_length(train, args.per_device_train_batch_size, seed) if order == "course" else train
    trainer = make_trainer(model, args, tokenizer, rows, metrics=("accuracy",))
    if pad != "recipe":
        trainer.data_collator.pad_to_multiple_of = pad
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    trainer.train()
    if cuda:
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    memory = (torch.cuda.max_memory_allocated() / 2**20 if cuda
              else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)  # kB on Linux
    return {"name": name, "seed": seed, "samples": train.num_rows, "seconds": seconds,
            "samples_per_second": train.num_rows / seconds, "peak_memory_mb": memory,
            "validation": trainer.evaluate(validation)["eval_accuracy"],
            "batch_size": args.per_device_train_batch_size, "learning_rate": args.learning_rate,
            "precision": "bf16" if args.bf16 else "fp16" if args.fp16 else "fp32", "optim": args.optim.value,
            "batch_order": ORDERS[order], "pad_to_multiple_of": trainer.data_collator.pad_to_multiple_of}


def report(runs: list[dict], reference: str | None, recipe: str) -> str:
    """The runs per configuration, as the README tables show them, then the recipe against the
    reference settings by the rule (paired by seed; it needs two seeds or more)."""
    frame = pd.DataFrame(runs)
    groups = [group for _, group in frame.groupby("name", sort=False)]
    text = markdown(pd.DataFrame([row(group["name"].iloc[0], group, groups[0]) for group in groups]))
    if reference is None:
        return text
    if frame["seed"].nunique() < 2:
        return text + "\naccuracy not compared: the rule needs two seeds or more (--seeds)"
    a, b = (frame[frame["name"] == name] for name in (reference, recipe))
    return text + "\nthe recipe's accuracy minus the reference's: " + rule(b, a, "the recipe", "the reference")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="folder, Hub id, random-distilbert or tiny-distilbert")
    parser.add_argument("--data", required=True, help="hub, sample, or a folder with SST-2 train/validation files")
    parser.add_argument("--samples", type=parse_samples, default=2000, help="training sentences per run, or 'all'")
    parser.add_argument("--mode", choices=("compare", "ladder"), default="compare")
    parser.add_argument("--profile", default="default", help="profile whose batch size / learning rate the recipe uses")
    parser.add_argument("--batch-size", type=int, help="override the recipe's batch size")
    parser.add_argument("--learning-rate", type=float, help="override the recipe's learning rate")
    parser.add_argument("--max-length", type=int, help="truncation length (default: the profile's)")
    parser.add_argument("--variants", type=parse_variants, default=[], help="compare mode: more recipe runs as "
                        "batch:lr pairs, e.g. 64:1e-4,128:2e-4")
    parser.add_argument("--seeds", type=parse_seeds, help="train every configuration once per seed, e.g. 42,43,44 "
                        "(default: the profile's seed)")
    parser.add_argument("--skip-reference", action="store_true", help="compare mode: leave out (a)")
    parser.add_argument("--compile", action="store_true", help="add torch.compile (GPU)")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the short warm-up runs")
    parser.add_argument("--json", type=Path, help="write the record here (after every run)")
    parser.add_argument("--what", help="with --json: one line on what the run measures (the results table shows it)")
    args = parser.parse_args(argv)
    if args.json and not args.what:
        parser.error("--json needs --what: one line saying what this run measures, e.g. 'the recipe, seeds 45-47'")

    quiet_libraries()
    overrides = {k: v for k, v in dict(batch_size=args.batch_size, learning_rate=args.learning_rate,
                                        max_length=args.max_length).items() if v is not None}
    settings = get_settings(args.profile, env={}, max_train_samples=args.samples, **overrides)
    seeds = args.seeds or [settings.seed]
    workdir = Path(tempfile.mkdtemp(prefix="course-bench-"))
    if args.checkpoint == RANDOM_DISTILBERT:
        checkpoint = str(build_random_distilbert(workdir / RANDOM_DISTILBERT, shape="distilbert-base"))
    else:
        checkpoint = resolve_checkpoint(args.checkpoint)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    start = time.perf_counter()
    encoded = tokenize(load_sst2(args.data), tokenizer, settings.max_length)
    tokenize_seconds = time.perf_counter() - start
    train, validation = select_train(encoded, settings), encoded["validation"]  # the same rows for every seed

    device = device_kind()
    if args.mode == "ladder":
        configs = ladder(settings, device, args.compile)
    else:
        configs = compare_configs(settings, device, args.compile, args.variants)[1 if args.skip_reference else 0:]
    base = dict(output_dir=workdir / "trainer", num_train_epochs=1, **extras(device, args.compile))
    if not args.no_warm_up:  # start-up costs (precision, compilation) hit no measured run
        for name, overrides in dict([configs[0], configs[-1]]).items():
            few = train.select(range(min(train.num_rows, 512)))
            run(name, overrides, base, settings, checkpoint, tokenizer, few, validation.select(range(64)), 0)
    record = {"checkpoint": Path(args.checkpoint).name, "data": Path(args.data).name, "device": device_record(),
              "versions": library_versions(), "code": code_version(), "what": args.what,
              "recipe_order": ORDERS["course"], "mode": args.mode, "train_samples": train.num_rows,
              "validation_samples": validation.num_rows, "max_length": settings.max_length,
              "tokenize_seconds": round(tokenize_seconds, 2),
              "accuracy_meaningful": args.checkpoint not in (RANDOM_DISTILBERT, "tiny-distilbert"),
              "seeds": seeds, "runs": []}
    # Seed by seed, every configuration in turn: a machine that slows down affects all alike.
    for seed in seeds:
        for name, overrides in configs:
            record["runs"].append(run(name, overrides, base, settings, checkpoint, tokenizer, train, validation, seed))
            done = record["runs"][-1]
            print(f"  done: {name}, seed {seed}: {done['samples_per_second']:.1f} samples/s, "
                  f"accuracy {done['validation']:.3f}", flush=True)
            if args.json:  # after every run, so a cut-off run keeps what it measured
                files.write_json(args.json, record)

    print(f"device: {record['device']}; checkpoint: {record['checkpoint']}; train sentences: {train.num_rows:,}; "
          f"validation: {validation.num_rows:,}; max length {settings.max_length}; tokenization "
          f"{tokenize_seconds:.1f} s")
    if not record["accuracy_meaningful"]:
        print("validation accuracy means nothing here (random weights): this run measures speed only")
    reference = None if args.mode == "compare" and args.skip_reference else configs[0][0]
    print(report(record["runs"], reference, configs[1 if args.mode == "compare" else -1][0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
