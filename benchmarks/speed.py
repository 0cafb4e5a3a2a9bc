"""Old notebook settings vs the course's fast recipe: same model, data and machine, one process.

For each configuration the script trains a fresh copy of the same checkpoint on the same
training sentences, then evaluates it on the validation split, and reports

* training samples per second and training time (tokenization is timed once, separately),
* peak memory (GPU: ``torch.cuda.max_memory_allocated`` per run; CPU: the process's peak
  resident memory so far, which can only grow),
* validation accuracy, and the speed-up of each configuration over the old settings.

Two modes:

* ``--mode compare`` (default): (a) the old notebook's settings, (b) the fast recipe.
* ``--mode ladder``: starts from the old settings and adds one speed setting at a time
  (batch size + learning rate, length grouping in the ``Trainer``'s long-to-short order, the
  same batches in random order, mixed precision, fused AdamW, loader workers, padding to a
  multiple of 8, and ``torch.compile`` with ``--compile``), so the effect of each is
  measured; the last rung is the fast recipe itself.

``--seeds 42,43,44`` trains every configuration once per seed and summarizes each over the
seeds (mean samples/s; validation accuracy as mean and standard deviation): one run's accuracy
moves by about ±0.01 with the seed alone, so compare accuracies that way.

Checkpoints: a local folder (e.g. ``../shared/models/all-MiniLM-L6-v2``: speed and accuracy),
``random-distilbert`` (DistilBERT-base shapes with random weights: speed only),
``tiny-distilbert`` (the smoke model: seconds, for tests), or a Hub id.

Examples::

    python benchmarks/speed.py --checkpoint ../shared/models/all-MiniLM-L6-v2 --data ../shared/data/sst2 --samples 2000
    python benchmarks/speed.py --checkpoint random-distilbert --data ../shared/data/sst2 --samples all --json out.json
    python benchmarks/speed.py --checkpoint tiny-distilbert --data sample --samples 256 --mode ladder
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing the package
    sys.path.insert(0, str(ROOT))

from course_utils.batching import LengthGroupedTrainer  # noqa: E402
from course_utils.data import SAMPLE_DIR, check_split, read_table, split_files  # noqa: E402
from course_utils.models import build_random_distilbert, label_maps, resolve_checkpoint  # noqa: E402
from course_utils.settings import device_description, get_settings, library_versions  # noqa: E402
from course_utils.training import (  # noqa: E402
    device_kind,
    fast_training_args,
    mixed_precision,
    old_notebook_args,
    pad_multiple,
    recipe_differences,
)

LABELS = ["negative", "positive"]
RANDOM_DISTILBERT = "random-distilbert"


@dataclass
class Config:
    """One training configuration: TrainingArguments, the collator's padding multiple, and the
    Trainer class (the course's serves length-grouped batches in random order; the plain
    ``Trainer`` runs them long to short)."""

    name: str
    args: Any
    pad_to_multiple_of: int | None = None
    notes: str = ""
    trainer: type = LengthGroupedTrainer


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


@dataclass
class Summary:
    """One configuration over all seeds: mean speed, and accuracy as mean and spread."""

    name: str
    runs: int
    samples_per_second: float
    speedup: float
    val_accuracy_mean: float
    val_accuracy_sd: float | None  # None with one seed
    val_accuracies: list[float]


# ----------------------------------------------------------------------------- data and model

def find_split_file(folder: Path, split: str) -> Path:
    found = split_files(folder, split)
    if not found:
        raise FileNotFoundError(f"No {split}.tsv/.csv/.parquet in the data folder {folder.name!r}; pass --data with SST-2 files.")
    return found[0]


def load_split(data: str, split: str):
    folder = SAMPLE_DIR if data == "sample" else Path(data).expanduser()
    frame = check_split(read_table(find_split_file(folder, split)), split, f"the folder {folder.name!r}")
    return frame["sentence"].tolist(), frame["label"].tolist()


def encode(tokenizer, sentences: list[str], labels: list[int], max_length: int) -> list[dict]:
    batch = tokenizer(sentences, truncation=True, max_length=max_length)
    keys = list(batch.keys())
    return [{**{k: batch[k][i] for k in keys}, "labels": labels[i]} for i in range(len(sentences))]


# ----------------------------------------------------------------------------- configurations

def ladder(output_dir: str, settings, n_train: int, compile: bool) -> list[Config]:
    """Old settings, then one speed setting added per rung; the last rung is the fast recipe."""
    from transformers import Trainer, TrainingArguments

    device = device_kind()
    on_gpu = device == "cuda"
    old = dict(old_notebook_args(output_dir).to_dict())
    fast = fast_training_args(output_dir, settings, num_train_samples=n_train, evaluations=0, compile=compile,
                              disable_tqdm=True, logging_steps=10_000)
    keep = {k: v for k, v in old.items() if k in ("output_dir", "seed", "report_to", "save_strategy", "eval_strategy")}
    # (name, TrainingArguments changes, padding multiple or None to keep, notes, Trainer class)
    course = LengthGroupedTrainer
    steps: list[tuple[str, dict, int | None, str, type]] = [
        ("old notebook (batch 8, fp32, random batches)", {}, None, "", course),
        (f"+ batch {settings.batch_size}, lr {settings.learning_rate:g}",
         dict(per_device_train_batch_size=settings.batch_size, learning_rate=settings.learning_rate,
              warmup_steps=0.1, per_device_eval_batch_size=max(64, settings.batch_size)), None, "", course),
        ("+ length-grouped batches, Trainer's order", dict(train_sampling_strategy="group_by_length"), None,
         "long to short in each group", Trainer),
        ("+ the same batches in random order", {}, None, "", course),
    ]
    if on_gpu:
        precision = mixed_precision(device)
        steps += [
            (f"+ mixed precision ({'bf16' if precision.get('bf16') else 'fp16'})", precision, None, "", course),
            ("+ fused AdamW", dict(optim="adamw_torch_fused"), None, "", course),
            ("+ 2 loader workers, pinned memory", dict(dataloader_num_workers=2, dataloader_pin_memory=True), None, "",
             course),
            ("+ pad to a multiple of 8", {}, 8, "", course),
        ]
        if compile:
            steps.append(("+ torch.compile", dict(torch_compile=True), 8, "compilation time included", course))
    else:  # mixed precision, fused AdamW, workers and pinned memory are GPU settings
        keep["dataloader_pin_memory"] = False

    configs, current, pad = [], dict(old), None
    for name, change, pad_change, notes, trainer in steps:
        current.update(change)
        pad = pad_change if pad_change is not None else pad
        args = {k: v for k, v in current.items() if k in TrainingArguments.__dataclass_fields__}
        args.update(keep, disable_tqdm=True, logging_steps=10_000)
        configs.append(Config(name, TrainingArguments(**args), pad, notes, trainer))
    differences = recipe_differences(configs[-1].args, fast)
    differences.pop("logging_steps", None)
    differences.pop("eval_steps", None)
    if differences:
        raise AssertionError(f"The ladder's last rung is not the fast recipe: {differences}")
    return configs


def compare_configs(output_dir: str, settings, n_train: int, compile: bool,
                    variants: list[tuple[int, float]] = ()) -> list[Config]:
    """(a) the old settings, (b) the fast recipe, then (c), (d)... the fast recipe at other
    batch sizes / learning rates (``--variants 64:1e-4,128:2e-4``)."""
    quiet = dict(disable_tqdm=True, logging_steps=10_000)
    configs = [Config("(a) old notebook settings", old_notebook_args(output_dir, **quiet), None),
               Config(f"(b) fast recipe (batch {settings.batch_size}, lr {settings.learning_rate:g})",
                      fast_training_args(output_dir, settings, num_train_samples=n_train, evaluations=0,
                                         compile=compile, **quiet), pad_multiple())]
    for letter, (batch, lr) in zip("cdefgh", variants):
        variant = dataclasses.replace(settings, batch_size=batch, learning_rate=lr)
        configs.append(Config(f"({letter}) fast recipe (batch {batch}, lr {lr:g})",
                              fast_training_args(output_dir, variant, num_train_samples=n_train, evaluations=0,
                                                 compile=compile, **quiet), pad_multiple()))
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


# ----------------------------------------------------------------------------- measuring

def peak_memory_mb() -> float:
    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def run(config: Config, checkpoint: str, tokenizer, train: list[dict], validation: list[dict], epochs: float) -> Result:
    from transformers import AutoModelForSequenceClassification, DataCollatorWithPadding
    from accelerate.state import AcceleratorState
    from transformers.trainer_callback import PrinterCallback

    id2label, label2id = label_maps(LABELS)
    torch.manual_seed(config.args.seed)
    # fp32 master weights whatever the checkpoint's storage dtype (mixed precision casts on the fly)
    model = AutoModelForSequenceClassification.from_pretrained(
        checkpoint, num_labels=2, id2label=id2label, label2id=label2id, dtype=torch.float32)
    config.args.num_train_epochs = epochs
    # accelerate keeps one process-wide state and refuses a second mixed-precision mode;
    # each configuration here is a fresh run, so start from a clean state.
    AcceleratorState._reset_state(reset_partial_state=True)
    trainer = config.trainer(model=model, args=config.args, train_dataset=train, processing_class=tokenizer,
                             data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=config.pad_to_multiple_of))
    trainer.remove_callback(PrinterCallback)  # no per-run metrics dict in the benchmark's output
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
    samples = math.ceil(len(train) * epochs)
    del trainer, model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
    return Result(config.name, samples, seconds, samples / seconds, memory, accuracy, config.notes,
                  seed=config.args.seed)


def warm_up(configs: list[Config], checkpoint: str, tokenizer, train: list[dict], validation: list[dict]) -> None:
    """Run each distinct precision once on a few batches so start-up costs hit no measured run."""
    seen = set()
    for config in configs:
        key = (config.args.bf16, config.args.fp16, config.args.torch_compile)
        if key in seen:
            continue
        seen.add(key)
        run(config, checkpoint, tokenizer, train[: 16 * config.args.per_device_train_batch_size], validation[:64], 1)


def format_table(results: list[Result]) -> str:
    header = (f"{'configuration':48} {'seed':>5} {'samples':>8} {'train s':>8} {'samples/s':>10} {'peak MB':>9} "
              f"{'val acc':>8} {'speed-up':>9}")
    lines = [header, "-" * len(header)]
    for r in results:
        lines.append(f"{r.name[:48]:48} {r.seed:5d} {r.samples:8,d} {r.train_seconds:8.1f} {r.samples_per_second:10.1f} "
                     f"{r.peak_memory_mb:9.0f} {r.val_accuracy:8.3f} {r.speedup:8.2f}x" + (f"  ({r.notes})" if r.notes else ""))
    return "\n".join(lines)


def summarize(results: list[Result]) -> list[Summary]:
    """Per configuration, in first-seen order: mean samples/s, its ratio to the first
    configuration's, and validation accuracy as mean and sample standard deviation."""
    by_name: dict[str, list[Result]] = {}
    for r in results:
        by_name.setdefault(r.name, []).append(r)
    speeds = {name: float(np.mean([r.samples_per_second for r in runs])) for name, runs in by_name.items()}
    base = next(iter(speeds.values()))
    summaries = []
    for name, runs in by_name.items():
        accuracies = [r.val_accuracy for r in runs]
        summaries.append(Summary(
            name=name, runs=len(runs), samples_per_second=speeds[name], speedup=speeds[name] / base,
            val_accuracy_mean=float(np.mean(accuracies)),
            val_accuracy_sd=float(np.std(accuracies, ddof=1)) if len(runs) > 1 else None,
            val_accuracies=accuracies))
    return summaries


def b_against_a(summaries: list[Summary], has_old: bool) -> tuple[float, float] | None:
    """(b)'s speed-up over (a) and its accuracy minus (a)'s, or None without both."""
    if not has_old or len(summaries) < 2:
        return None
    a, b = summaries[0], summaries[1]
    return b.speedup, b.val_accuracy_mean - a.val_accuracy_mean


def format_summary(summaries: list[Summary]) -> str:
    header = f"{'configuration':48} {'runs':>5} {'samples/s':>10} {'speed-up':>9} {'val acc mean':>13} {'sd':>7}"
    lines = [header, "-" * len(header)]
    for s in summaries:
        lines.append(f"{s.name[:48]:48} {s.runs:5d} {s.samples_per_second:10.1f} {s.speedup:8.2f}x "
                     f"{s.val_accuracy_mean:13.3f} " + (f"{s.val_accuracy_sd:7.3f}" if s.val_accuracy_sd is not None else f"{'-':>7}"))
    return "\n".join(lines)


def has_old(args) -> bool:
    """Whether the run measured (a), the old settings, first (not in compare mode with --skip-old)."""
    return not (args.mode == "compare" and args.skip_old)


def write_report(args, settings, n_train: int, n_validation: int, tokenize_seconds: float,
                 accuracy_meaningful: bool, results: list[Result]) -> dict:
    summaries = summarize(results)
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
        "results": [r.__dict__ for r in results],
        "summary": [s.__dict__ for s in summaries],
    }
    report["speedup_b_over_a"], report["accuracy_b_minus_a"] = b_against_a(summaries, has_old(args)) or (None, None)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="folder, Hub id, random-distilbert or tiny-distilbert")
    parser.add_argument("--data", required=True, help="folder with SST-2 train/validation files, or 'sample'")
    parser.add_argument("--samples", default="2000", help="training sentences per run, or 'all' (a full epoch)")
    parser.add_argument("--mode", choices=("compare", "ladder"), default="compare")
    parser.add_argument("--profile", default="default", help="profile whose batch size / learning rate the fast recipe uses")
    parser.add_argument("--batch-size", type=int, help="override the fast recipe's batch size")
    parser.add_argument("--learning-rate", type=float, help="override the fast recipe's learning rate")
    parser.add_argument("--max-length", type=int, help="truncation length (default: the profile's)")
    parser.add_argument("--variants", help="compare mode: extra fast-recipe runs as batch:lr pairs, e.g. 64:1e-4,128:2e-4")
    parser.add_argument("--seeds", help="train every configuration once per seed, e.g. 42,43,44 "
                        "(default: the profile's seed); the summary gives accuracy as mean and spread")
    parser.add_argument("--skip-old", action="store_true",
                        help="compare mode: leave out (a), e.g. to add runs to an earlier comparison "
                        "(speed-ups are then relative to (b))")
    parser.add_argument("--compile", action="store_true", help="add torch.compile (GPU)")
    parser.add_argument("--no-warm-up", action="store_true", help="skip the short warm-up runs")
    parser.add_argument("--json", help="write the results here as JSON")
    args = parser.parse_args(argv)

    import transformers

    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    overrides = {k: v for k, v in dict(batch_size=args.batch_size, learning_rate=args.learning_rate,
                                        max_length=args.max_length).items() if v is not None}
    settings = get_settings(args.profile, env={}, **overrides)

    workdir = Path(tempfile.mkdtemp(prefix="course-bench-"))
    if args.checkpoint == RANDOM_DISTILBERT:
        checkpoint = str(build_random_distilbert(workdir / "random-distilbert", shape="distilbert-base"))
        accuracy_meaningful = False
    else:
        checkpoint = resolve_checkpoint(args.checkpoint)
        accuracy_meaningful = args.checkpoint != "tiny-distilbert"
    tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint)

    sentences, labels = load_split(args.data, "train")
    if args.samples != "all":
        n = int(args.samples)
        order = np.random.default_rng(settings.seed).permutation(len(sentences))[:n]
        sentences, labels = [sentences[i] for i in order], [labels[i] for i in order]
    val_sentences, val_labels = load_split(args.data, "validation")
    start = time.perf_counter()
    train = encode(tokenizer, sentences, labels, settings.max_length)
    validation = encode(tokenizer, val_sentences, val_labels, settings.max_length)
    tokenize_seconds = time.perf_counter() - start

    output_dir = str(workdir / "trainer")
    if args.mode == "ladder":
        configs = ladder(output_dir, settings, len(train), args.compile)
    else:
        configs = compare_configs(output_dir, settings, len(train), args.compile, parse_variants(args.variants))
        if args.skip_old:
            configs = configs[1:]
    if not args.no_warm_up:
        warm_up(configs, checkpoint, tokenizer, train, validation)
    seeds = parse_seeds(args.seeds) or [settings.seed]
    results: list[Result] = []
    # Seed by seed, all configurations in turn: a machine that slows down over time
    # then affects every configuration alike. The training sentences stay the same.
    for seed in seeds:
        first = len(results)
        for config in configs:
            config.args.seed = seed  # the classification head's initial weights and the batch order
            results.append(run(config, checkpoint, tokenizer, train, validation, 1.0))
            results[-1].speedup = results[-1].samples_per_second / results[first].samples_per_second
            print(f"  done: {results[-1].name}, seed {seed}: {results[-1].samples_per_second:.1f} samples/s, "
                  f"accuracy {results[-1].val_accuracy:.3f}", flush=True)
            if args.json:  # written after every run, so a cut-off run keeps what it measured
                write_report(args, settings, len(train), len(validation), tokenize_seconds, accuracy_meaningful, results)

    print(f"device: {device_description()}; checkpoint: {Path(args.checkpoint).name}; "
          f"train sentences: {len(train):,}; validation: {len(validation):,}; max length {settings.max_length}")
    print(f"tokenization (train + validation, once): {tokenize_seconds:.1f} s")
    if not accuracy_meaningful:
        print("validation accuracy is meaningless here (random weights): this run measures speed only")
    print(format_table(results))
    summaries = summarize(results)
    if len(seeds) > 1:
        print(f"\nover {len(seeds)} seeds ({', '.join(map(str, seeds))}):")
        print(format_summary(summaries))
    if not has_old(args):
        print("(a) left out (--skip-old): compare with an earlier run's (a) on the same machine and seeds")
    elif args.mode == "compare":
        speedup, accuracy_difference = b_against_a(summaries, True)
        print(f"(b)/(a) samples per second: {speedup:.2f}x; validation accuracy (b) - (a): {accuracy_difference:+.3f}")
    else:
        print(f"fast recipe / old settings, samples per second: {summaries[-1].speedup:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
