"""The grid behind notebooks 8 and 9: every strategy at every labelled-data size, by one protocol.

**The protocol** (:func:`grid`), the same for every strategy and size:

1. A **tuning slice** of 1,000 training sentences scores every choice; the other training sentences are
   the pool each labelled subset is drawn from, a new draw per seed. The validation set scores the final
   models only: no choice ever looks at it.
2. **Budget**: every network at a given size gets the same step budget (:func:`budget`): 8 epochs, at
   least 250 and at most 1,000 steps (at least one epoch). It is evaluated 10 times on the tuning slice,
   keeps its best checkpoint, and stops early when 4 evaluations in a row did not improve; so no run
   stops before half its budget (the floor).
3. **Sweep at every size**: each value of a 1-3-10 ladder (learning rate, or C) trains with the first
   seed; the values within ``CLOSE`` of the best get a second seed, and the best mean wins. A winner at
   the edge of the values tried adds the next value beyond it, until the winner is interior. A value at
   which a run's training loss did not fall is never chosen (:func:`loss_fell`).
4. **Final runs**: the chosen value with three seeds, scored on validation (the sweep's own runs at the
   chosen value count: they never saw the validation set).

Every network here trains through the recipe's one home (:mod:`course_utils.recipe`).

Example:
    >>> [budget(n, 32).max_steps for n in (100, 1_000, 3_000, 10_000)], budget(100, 32).floor
    ([250, 250, 744, 1000], 125)
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .results import loss_fell
from .strategies import (
    LINEAR,
    START,
    check_strategy,
    discriminative_groups,
    gradual_unfreezing,
    hyperparameter,
    linear_run,
    load_model,
)

#: Values a sweep never goes beyond when it extends past an edge.
LIMITS = {"C": (1e-3, 1e4), "learning rate": (1e-6, 0.1)}
CLOSE = 0.015  # tuning-slice accuracy within which a second seed decides
MAX_EXTENSIONS = 4


def ladder(value: float, up: bool) -> float:
    """The next value of the 1-3-10 ladder above or below ``value``.

    >>> ladder(3e-4, up=True), ladder(1e-4, up=False), ladder(1.0, up=True)
    (0.001, 3e-05, 3.0)
    """
    mantissa = round(value / 10 ** math.floor(math.log10(value)))
    factor = (3 if mantissa == 1 else 10 / 3) if up else (1 / 3 if mantissa == 3 else 3 / 10)
    return float(f"{value * factor:.0e}")


@dataclass(frozen=True)
class Budget:
    """Optimizer steps for every network at one size: at most ``max_steps``, evaluated every
    ``eval_steps``; early stopping after ``patience`` evaluations without improvement, so never
    before ``floor`` steps."""

    max_steps: int
    eval_steps: int
    patience: int
    steps_per_epoch: int

    @property
    def floor(self) -> int:
        return min(self.max_steps, (self.patience + 1) * self.eval_steps)

    @property
    def epochs(self) -> int:
        """Epochs of data the run needs in its order (the last may be read in part)."""
        return math.ceil(self.max_steps / self.steps_per_epoch)


def budget(n: int, batch_size: int, *, epochs: int = 8, least: int = 250, most: int = 1_000,
           evaluations: int = 10, patience: int = 4, scale: int = 1) -> Budget:
    """The step budget at ``n`` labelled sentences: ``epochs`` epochs, at least ``least`` and at most
    ``most`` steps, and never less than one epoch.

    ``scale`` multiplies epochs, least and most steps: the budget check (``benchmarks/budget_check.py``)
    retrains the grid's cells with ``scale=2``.

    >>> [budget(n, 32).max_steps for n in (100, 1_000, 3_000, 10_000, 67_349)]
    [250, 250, 744, 1000, 2104]
    >>> b = budget(10_000, 32, scale=2); (b.max_steps, b.eval_steps)
    (2000, 200)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < batch_size:
        raise ValueError(f"n={n!r}: give a number of labelled sentences of at least one batch ({batch_size}).")
    per_epoch = n // batch_size  # whole batches: each epoch leaves its incomplete batch out
    steps = max(least * scale, min(epochs * scale * per_epoch, most * scale), per_epoch)
    return Budget(max_steps=steps, eval_steps=math.ceil(steps / evaluations), patience=patience,
                  steps_per_epoch=per_epoch)


# ----------------------------------------------------------------------------- one run

@dataclass
class Bench:
    """What every run of a grid shares: settings, checkpoint, tokenizer and the three kinds of data."""

    settings: Any
    checkpoint: str
    tokenizer: Any
    pool: Any  # tokenized training sentences, the labelled subsets are drawn from
    tuning: Any  # tokenized, disjoint from the pool: scores every choice
    validation: Any  # tokenized: scores the final models only
    cache: dict = field(default_factory=dict)

    def subset(self, size: int, seed: int):
        """The ``size`` labelled sentences of ``seed``: a new draw from the pool for every seed."""
        if size > self.pool.num_rows:
            raise ValueError(f"size={size:,} is more than the {self.pool.num_rows:,} sentences of the pool.")
        return self.pool.shuffle(seed=seed).select(range(size))

    def majority(self) -> float:
        """The validation share of the most frequent label: what a model that learned nothing scores."""
        return float(np.bincount(self.validation["label"]).max() / self.validation.num_rows)


def prepare(settings, tuning_size: int = 1_000) -> Bench:
    """Load and tokenize the data of ``settings`` and carve the tuning slice off the training set."""
    from transformers import AutoTokenizer

    from .data import load_sst2
    from .models import resolve_checkpoint
    from .recipe import tokenize

    checkpoint = resolve_checkpoint(settings.checkpoint, max_length=settings.max_length)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoded = tokenize(load_sst2(settings.data), tokenizer, settings.max_length)
    pool = encoded["train"].shuffle(seed=0)
    if pool.num_rows < 2 * tuning_size:
        raise ValueError(f"The training set has {pool.num_rows:,} sentences: too few for a tuning slice of "
                         f"{tuning_size:,} and a pool at least as large. Lower tuning_size.")
    tuning = pool.select(range(tuning_size))
    by_length = np.argsort([len(ids) for ids in tuning["input_ids"]], kind="stable")  # less padding, same score
    return Bench(settings=settings, checkpoint=checkpoint, tokenizer=tokenizer,
                 pool=pool.select(range(tuning_size, pool.num_rows)), tuning=tuning.select(by_length),
                 validation=encoded["validation"])


def run(strategy: str, bench: Bench, size: int, seed: int, value: float, *, keep_model: bool = False,
        plan: Budget | None = None) -> dict:
    """Train ``strategy`` on the ``size`` sentences of ``seed`` with ``value`` (learning rate, or C) and score it.
    A network gets the grid's :func:`budget` at ``size`` unless ``plan`` gives another (the budget check of
    ``benchmarks/budget_check.py``).

    Returns the best tuning-slice accuracy, the validation accuracy of that checkpoint, the share of
    validation sentences called positive, steps run and where the best was, seconds (wall and CPU),
    trainable parameters, the training loss and tuning accuracy as logged, and with ``keep_model``
    the trained ``model``.
    """
    import torch
    from transformers import EarlyStoppingCallback

    from .recipe import make_trainer, order_by_length, training_arguments

    check_strategy(strategy)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value < math.inf:
        raise ValueError(f"value={value!r}: give a positive {hyperparameter(strategy)}.")
    if not (bench.tuning.num_rows and bench.validation.num_rows):
        raise ValueError(f"The bench has {bench.tuning.num_rows} tuning and {bench.validation.num_rows} validation "
                         f"rows: a run needs both to score its checkpoints. Build it with grid.prepare(settings).")
    if strategy in LINEAR:
        result = linear_run(strategy, bench, size, seed, value)
        model = result.pop("model")
        return {**result, **({"model": model} if keep_model else {})}

    train = bench.subset(size, seed)
    plan = plan or budget(size, bench.settings.batch_size)
    model = load_model(bench.checkpoint, strategy, seed)
    recipe = dataclasses.replace(bench.settings, learning_rate=value, seed=seed)
    optimizers, callbacks = (None, None), [EarlyStoppingCallback(plan.patience, early_stopping_threshold=0.0015)]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if strategy == "ulmfit":
        groups = discriminative_groups(model, value)
        optimizers = (torch.optim.AdamW(groups), None)
        callbacks.append(gradual_unfreezing([g["params"] for g in groups],
                                            min(plan.steps_per_epoch, plan.max_steps // 4)))
        trainable = sum(p.numel() for p in model.parameters())  # every weight trains in the end
    rows = order_by_length(train, bench.settings.batch_size, seed, epochs=plan.epochs)
    with tempfile.TemporaryDirectory(prefix="course-strategies-") as scratch:
        args = training_arguments(recipe, scratch, evaluations=math.ceil(plan.max_steps / plan.eval_steps),
                                  keep_best=True, max_steps=plan.max_steps, eval_steps=plan.eval_steps,
                                  save_steps=plan.eval_steps, logging_steps=plan.eval_steps,
                                  per_device_eval_batch_size=128)
        trainer = make_trainer(model, args, bench.tokenizer, rows, bench.tuning, metrics=("accuracy",),
                               optimizers=optimizers, callbacks=callbacks)
        start, cpu = time.perf_counter(), time.process_time()
        trainer.train()
        seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
        logits = trainer.predict(bench.validation).predictions
    logits = logits[0] if isinstance(logits, tuple) else logits
    predicted = np.asarray(logits).argmax(-1)
    state = trainer.state
    result = {
        "tuning": float(state.best_metric), "validation": float(np.mean(predicted == bench.validation["label"])),
        "positive_share": float(np.mean(predicted == 1)), "steps": int(state.global_step),
        "best_step": int(state.best_global_step), "max_steps": plan.max_steps, "floor": plan.floor,
        "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1), "trainable": int(trainable),
        "losses": [[h["step"], round(h["loss"], 4)] for h in state.log_history if "loss" in h],
        "evals": [[h["step"], round(h["eval_accuracy"], 4)] for h in state.log_history if "eval_accuracy" in h],
    }
    return {**result, **({"model": trainer.model} if keep_model else {})}


# ----------------------------------------------------------------------------- the sweep and the grid

Run = Callable[[str, Bench, int, int, float], dict]


def sweep(strategy: str, bench: Bench, size: int, seeds: Sequence[int], runs: list[dict],
          ensure: Callable[[str, int, float, int], dict]) -> float:
    """Choose ``strategy``'s value at ``size`` on the tuning slice (see the protocol above); ``ensure``
    trains (or finds in ``runs``) one run. Returns the chosen value."""
    kind = hyperparameter(strategy)
    low, high = LIMITS[kind]
    values = sorted(START[strategy])
    extended = {True: 0, False: 0}
    scores: dict[float, dict[int, float]] = {}  # only what this sweep asked for, so a resumed sweep repeats itself
    diverged: set[float] = set()  # values at which a run's training loss did not fall: never chosen

    def measure(value: float, seed: int) -> None:
        result = ensure(strategy, size, value, seed)
        scores.setdefault(value, {})[seed] = result["tuning"]
        if not loss_fell(result):
            diverged.add(value)

    for value in values:
        measure(value, seeds[0])
    while True:
        means = {v: float(np.mean(list(scores[v].values()))) for v in values}
        candidates = [v for v in values if v not in diverged] or values
        best = max(candidates, key=lambda v: (means[v], -abs(math.log(v) - math.log(values[len(values) // 2]))))
        close = [v for v in candidates if means[v] >= means[best] - CLOSE]
        missing = [v for v in close if len(close) > 1 and len(seeds) > 1 and seeds[1] not in scores[v]]
        if missing:
            for value in missing:
                measure(value, seeds[1])
            continue
        if best not in (values[0], values[-1]):
            return best
        up = best == values[-1]
        nxt = ladder(best, up=up)
        if extended[up] >= MAX_EXTENSIONS or not low <= nxt <= high:
            return best  # check_grid reports it: the winner stayed at an edge
        extended[up] += 1
        values = sorted(values + [nxt])
        measure(nxt, seeds[0])


def run_key(run: dict) -> tuple:
    """What identifies a run in a grid record: (strategy, size, value, seed). A record holds each once.

    >>> run_key({"strategy": "head", "size": 100, "value": 1e-3, "seed": 42, "tuning": 0.7})
    ('head', 100, 0.001, 42)
    """
    return run["strategy"], run["size"], run["value"], run["seed"]


def check_runs_once(parts: Sequence[tuple[Any, dict]]) -> None:
    """Refuse records to be merged (``(name, record)`` pairs) that hold the same run (:func:`run_key`) twice.

    >>> part = {"runs": [{"strategy": "head", "size": 100, "value": 1e-3, "seed": 1}]}
    >>> check_runs_once([("a.json", part), ("b.json", part)])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: a.json and b.json both hold the run ('head', 100, 0.001, 1) (strategy, size, value, seed): ...
    """
    where: dict[tuple, Any] = {}
    for name, part in parts:
        for run in part["runs"]:
            key = run_key(run)
            if key in where:
                raise ValueError(f"{where[key]} and {name} both hold the run {key} (strategy, size, value, seed): "
                                 f"remove it from one of them (or leave one part out), then merge again.")
            where[key] = name


def grid(bench: Bench, sizes: Sequence[int], strategies: Sequence[str], seeds: Sequence[int], record: dict,
         save: Callable[[dict], Any], log: Callable[[str], Any] = print, run_one: Run = run) -> dict:
    """Sweep and train every strategy at every size (smallest first), adding each run to
    ``record["runs"]`` and calling ``save(record)`` after it; runs already in the record are reused,
    so an interrupted grid resumes where it stopped."""
    record.setdefault("runs", [])
    record.setdefault("chosen", {})
    done = {run_key(r): r for r in record["runs"]}

    def ensure(strategy: str, size: int, value: float, seed: int) -> dict:
        key = (strategy, size, value, seed)
        if key not in done:
            result = run_one(strategy, bench, size, seed, value)
            done[key] = {"strategy": strategy, "size": size, "value": value, "seed": seed, **result}
            record["runs"].append(done[key])
            save(record)
            log(f"{strategy:8} n={size:<6,} {hyperparameter(strategy)} {value:<7g} seed {seed}: tuning "
                f"{result['tuning']:.3f}, validation {result['validation']:.3f} ({result['seconds']:.0f} s"
                + (f", {result['steps']} steps)" if "steps" in result else ")"))
        return done[key]

    for size in sizes:
        for strategy in strategies:
            value = sweep(check_strategy(strategy), bench, size, seeds, record["runs"], ensure)
            record["chosen"].setdefault(strategy, {})[str(size)] = value
            for seed in seeds:
                ensure(strategy, size, value, seed)
            save(record)
    return record
