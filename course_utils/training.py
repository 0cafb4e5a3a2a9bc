"""Notebook 5's recipe as functions, for what trains outside notebook 5, and the saved run.

Notebook 5 writes every step with the libraries' own API (``Dataset.map``, ``TrainingArguments``,
``Trainer``, ``trainer.save_model``). The functions here repeat the same steps so that
notebooks 6-8 can run on their own: when notebook 5's model is missing, :func:`ensure_finetuned`
trains the same model (same data, same seeded order, same arguments) and saves it the same way.
Notebook 5 checks its own arguments against :func:`training_arguments`.

A saved run is a folder with what ``trainer.save_model`` writes (weights, config, tokenizer),
the pretrained weights before training (:data:`SNAPSHOT`, for notebook 7's drift) and
:data:`RUN_INFO`: the run's settings, metrics and the size and SHA-256 of every file. A folder
is reused only when that record is complete, its files match it, and its settings are the
current ones: a save that was interrupted, or two notebooks training at once, can never leave
a folder that is trusted by mistake.

Example:
    >>> from course_utils.settings import get_settings
    >>> args = training_arguments(get_settings("smoke"), "out", num_train_samples=512)
    >>> args.train_sampling_strategy, args.per_device_train_batch_size
    ('sequential', 32)
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .settings import RunSettings, device_kind

if TYPE_CHECKING:
    import datasets

RUN_INFO = "course_run.json"
SNAPSHOT = "pretrained_snapshot.safetensors"
RUN_FORMAT = 2  # bump when the record's layout changes: older records are then retrained


def mixed_precision(device: str | None = None) -> dict[str, bool]:
    """``{"bf16": True}``, ``{"fp16": True}`` or ``{}`` (fp32) for ``TrainingArguments``.

    >>> mixed_precision("cpu")
    {}
    """
    device = device or device_kind()
    if device != "cuda":
        return {}
    import torch

    # including_emulation=False: a T4 "supports" bf16 only by slow emulation, so it gets fp16.
    return {"bf16": True} if torch.cuda.is_bf16_supported(including_emulation=False) else {"fp16": True}


def pad_multiple(device: str | None = None) -> int | None:
    """Pad batches to a multiple of 8 on CUDA (the shapes tensor cores like); no rounding elsewhere."""
    return 8 if (device or device_kind()) == "cuda" else None


def tokenize(raw: datasets.DatasetDict, tokenizer, max_length: int) -> datasets.DatasetDict:
    """Token ids for every split: ``map(batched=True)``, truncation at ``max_length``, no padding.

    ``datasets`` caches the result next to data loaded with ``load_dataset``, so a second call
    with the same data, tokenizer and length reads it from disk.

    Example:
        >>> from transformers import AutoTokenizer
        >>> from course_utils.data import load_sst2
        >>> from course_utils.models import resolve_checkpoint
        >>> tokenizer = AutoTokenizer.from_pretrained(resolve_checkpoint("tiny-distilbert"))
        >>> encoded = tokenize(load_sst2("sample"), tokenizer, max_length=64)
        >>> train = encoded["train"]
        >>> max(len(ids) for ids in train["input_ids"]) <= 64, "attention_mask" in train.column_names
        (True, True)
    """
    if not isinstance(max_length, int) or max_length < 2:
        raise ValueError(f"max_length={max_length!r} leaves no room for [CLS] and [SEP]; "
                         "use a whole number such as 64 or 128.")
    first = next(iter(raw.values()), None)
    if first is None or "sentence" not in first.column_names:
        raise ValueError("tokenize() needs SST-2 with a 'sentence' column, as load_sst2() returns it.")

    def encode(batch):
        return tokenizer(batch["sentence"], truncation=True, max_length=max_length)

    return raw.map(encode, batched=True)


def select_train(encoded: datasets.DatasetDict, settings: RunSettings) -> datasets.Dataset:
    """The training sentences a run uses: all, or a seeded random subset of ``max_train_samples``."""
    train = encoded["train"]
    n = settings.max_train_samples
    if n is None or n >= train.num_rows:
        return train
    return train.shuffle(seed=settings.seed).select(range(n))


def order_by_length(train: datasets.Dataset, batch_size: int, seed: int) -> datasets.Dataset:
    """``train`` reordered so that each run of ``batch_size`` rows is a batch of similar length,
    the batches in random order (:func:`course_utils.batching.length_grouped_order`).

    Train on it with ``TrainingArguments(train_sampling_strategy="sequential")``.
    """
    from .batching import length_grouped_order

    if "input_ids" not in train.column_names:
        raise ValueError("order_by_length() needs tokenized rows (an 'input_ids' column); call tokenize() first.")
    lengths = [len(ids) for ids in train["input_ids"]]
    return train.select(length_grouped_order(lengths, batch_size, seed=seed))


def training_steps(num_train_samples: int, batch_size: int, epochs: float) -> int:
    """Optimizer steps for a run: ``ceil(samples / batch) × epochs``."""
    return max(1, math.ceil(math.ceil(num_train_samples / batch_size) * epochs))


def training_arguments(settings: RunSettings, output_dir: str | Path, *, num_train_samples: int,
                       evaluations: int = 0, **overrides: Any):
    """The ``TrainingArguments`` notebook 5 writes out, for the same budget.

    Args:
        settings: batch size, learning rate, epochs and seed come from here.
        output_dir: where the Trainer may write (the course saves models itself).
        num_train_samples: size of the training set, to place evaluations and log points.
        evaluations: how many times to evaluate during training (0: only when asked).
        **overrides: any other ``TrainingArguments`` field, e.g. ``learning_rate=1e-3``.
    """
    from transformers import TrainingArguments

    if not isinstance(num_train_samples, int) or num_train_samples < 1:
        raise ValueError(f"num_train_samples={num_train_samples!r}: the training set is empty. "
                         "Check the data you selected.")
    if not isinstance(evaluations, int) or evaluations < 0:
        raise ValueError(f"evaluations={evaluations!r}: give how many times to evaluate during training (0 or more).")
    device = device_kind()
    steps = training_steps(num_train_samples, settings.batch_size, settings.epochs)
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        eval_strategy="steps" if evaluations else "no",
        eval_steps=math.ceil(steps / evaluations) if evaluations else None,  # the Trainer adds the last step
        logging_steps=max(1, steps // 25),
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=max(64, settings.batch_size),
        num_train_epochs=settings.epochs,
        warmup_steps=0.1,
        weight_decay=0.01,
        train_sampling_strategy="sequential",  # the rows come pre-ordered: order_by_length()
        dataloader_pin_memory=device == "cuda",  # page-locked memory only speeds up copies to a GPU
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=settings.seed,
        **mixed_precision(device),
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


@dataclass
class FineTuneResult:
    trainer: Any
    metrics: dict[str, float]
    train_seconds: float
    counts: dict[str, float]


def finetune(settings: RunSettings, strategy: str = "full", k: int | None = None, *,
             save_to: str | Path | None = None, evaluations: int = 0, **overrides: Any) -> FineTuneResult:
    """Notebook 5's recipe from start to end: load, tokenize, order, train, evaluate (and save).

    Every random choice is seeded with ``settings.seed`` in the order notebook 5 makes it, so the
    same settings on the same hardware give the same weights. With ``save_to`` the run is saved
    as notebook 5 saves it (see :func:`save_run`).
    """
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        PrinterCallback,
        Trainer,
        set_seed,
    )

    from .data import load_sst2
    from .drift import snapshot
    from .freezing import freeze
    from .metrics import make_compute_metrics
    from .models import resolve_checkpoint

    raw = load_sst2(settings.data)
    checkpoint = resolve_checkpoint(settings.checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoded = tokenize(raw, tokenizer, settings.max_length)
    train = order_by_length(select_train(encoded, settings), settings.batch_size, settings.seed)
    names = raw["train"].features["label"].names
    set_seed(settings.seed)  # the new head's random start, as in notebook 5
    model = AutoModelForSequenceClassification.from_pretrained(
        checkpoint, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)})
    before = snapshot(model) if save_to is not None else None
    counts = freeze(model, strategy, k)
    with tempfile.TemporaryDirectory(prefix="course-trainer-") as scratch:
        args = training_arguments(settings, scratch, num_train_samples=train.num_rows, evaluations=evaluations,
                                  **overrides)
        trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=encoded["validation"],
                          processing_class=tokenizer,
                          data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_multiple()),
                          compute_metrics=make_compute_metrics())
        if args.disable_tqdm:  # no progress bars, and no log lines printed in their place
            trainer.remove_callback(PrinterCallback)
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        metrics = trainer.evaluate()
    if save_to is not None:
        save_run(trainer, save_to, settings, metrics, seconds, before)
    return FineTuneResult(trainer, metrics, seconds, counts)


# ---------------------------------------------------------------------------------------
# Saved runs: written to a temporary folder, checked, then moved into place in one rename.

def _file_record(folder: Path) -> dict[str, dict[str, Any]]:
    record = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != RUN_INFO:
            digest = hashlib.sha256()
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    digest.update(block)
            record[path.name] = {"bytes": path.stat().st_size, "sha256": digest.hexdigest()}
    return record


def record_run(folder: str | Path, settings: RunSettings, metrics: dict[str, float], train_seconds: float,
               pretrained: dict | None = None) -> Path:
    """Complete a folder that ``trainer.save_model`` wrote: add the pretrained snapshot and the run record.

    The record (:data:`RUN_INFO`) is written last, through a temporary file and ``os.replace``,
    and lists the size and SHA-256 of every other file, so :func:`read_run` can tell a complete
    run from an interrupted one.
    """
    from .drift import save_snapshot

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder.resolve()} holds no saved model (no config.json). "
                                f"Call trainer.save_model({str(folder)!r}) first.")
    if pretrained is not None:
        save_snapshot(pretrained, folder / SNAPSHOT)
    info = {"format": RUN_FORMAT, "identity": settings.identity(), "settings": settings.as_dict(),
            "metrics": metrics, "train_seconds": round(float(train_seconds), 1), "files": _file_record(folder)}
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{RUN_INFO}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(info, f, indent=2, default=str)
        os.replace(tmp, folder / RUN_INFO)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return folder


def save_run(trainer, folder: str | Path, settings: RunSettings, metrics: dict[str, float], train_seconds: float,
             pretrained: dict | None = None) -> Path:
    """Save a whole run atomically: everything goes to a temporary folder beside ``folder``,
    which replaces ``folder`` in one rename once complete. A concurrent run that finished first
    wins; this one's files are then discarded, never mixed in."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.saving-"))
    try:
        trainer.save_model(str(staging))
        record_run(staging, settings, metrics, train_seconds, pretrained)
        publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def publish(staging: Path, folder: Path) -> None:
    """Move a complete run from ``staging`` to ``folder``: keep a valid run already there, replace
    a broken or foreign one (moved aside first, then deleted)."""
    if folder.exists():
        if read_run(folder) == read_run(staging):  # a concurrent run saved the very same thing
            return
        aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
        os.replace(folder, aside / folder.name)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.replace(staging, folder)
    except OSError:  # another run published between our check and our rename: theirs stays
        if read_run(folder) is None:
            raise


def check_run(folder: str | Path) -> str | None:
    """Why ``folder`` is not a complete saved run (a sentence), or ``None`` when it is."""
    folder = Path(folder)
    path = folder / RUN_INFO
    if not path.is_file():
        return f"{path} is missing"
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return f"{path} is not readable JSON ({err})"
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT or not isinstance(info.get("files"), dict):
        return f"{path} was written by another version of the course"
    for name, expected in info["files"].items():
        if not (folder / name).is_file():
            return f"{folder / name} is missing"
        if (folder / name).stat().st_size != expected.get("bytes"):
            return f"{folder / name} has another size than the record says (an interrupted save?)"
    if info["files"] != _file_record(folder):
        return f"the files in {folder} differ from its record (an interrupted or mixed save?)"
    return None


def read_run(folder: str | Path) -> dict | None:
    """The record of a complete saved run in ``folder``, or ``None`` (see :func:`check_run`)."""
    if check_run(folder) is not None:
        return None
    return json.loads((Path(folder) / RUN_INFO).read_text())


def ensure_finetuned(settings: RunSettings) -> Path:
    """Notebook 5's saved model for these settings; trained now, the same way, if it is missing.

    Notebooks 6-8 call this, so each also runs on its own. It says what it does.
    """
    folder = settings.run_dir / "model"
    problem = check_run(folder)
    if problem is None:
        info = read_run(folder)
        if info is not None and info["identity"] == json.loads(json.dumps(settings.identity(), default=str)):
            accuracy = info["metrics"].get("eval_accuracy", float("nan"))
            print(f"Using notebook 5's fine-tuned model (validation accuracy {accuracy:.3f}).")
            return folder
        print("Notebook 5's saved model was trained with other settings.")
    elif folder.exists():
        print(f"Notebook 5's saved model is incomplete ({problem}).")
    else:
        print("Notebook 5's fine-tuned model was not found (run notebook 5 first to reuse it).")
    print("Training one now with notebook 5's recipe and seed; see the run card for the budget.")
    result = finetune(settings, save_to=folder, evaluations=4)
    print(f"Done in {result.train_seconds:.0f} s: validation accuracy {result.metrics['eval_accuracy']:.3f}.")
    return folder
