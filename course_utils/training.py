"""The fast fine-tuning recipe (notebooks 5 and 8, and the benchmark), next to the old one.

Each speed setting, in one sentence (notebook 5 measures them):

* **mixed precision**: bf16 on GPUs that support it, fp16 on older GPUs, fp32 on CPU
  (CPUs gain little and fp16 is unsupported there);
* **length-grouped batches** (``train_sampling_strategy="group_by_length"``): sentences of
  similar length share a batch, so little compute is spent on padding; train with
  :class:`~course_utils.batching.LengthGroupedTrainer`, which serves those batches in random
  order (the plain ``Trainer`` runs them long to short, which costs accuracy on short runs);
* **dynamic padding** (``DataCollatorWithPadding``): each batch is padded to its own longest
  sentence, rounded up to a multiple of 8 on GPUs (tensor cores like that shape);
* **a larger batch with a matching learning rate**: fewer optimizer steps, each better used;
* **fused AdamW** on GPU: one kernel updates all weights instead of one per tensor;
* **data loading off the training loop**: worker processes and pinned memory on GPU;
* **torch.compile** (optional): fuses the model's small operations on GPU;
* **tokenize once**: :func:`tokenize_dataset` caches the token ids on disk.

Example:
    >>> from course_utils.settings import get_settings
    >>> args = fast_training_args("out", get_settings("smoke"), num_train_samples=512)
    >>> args.train_sampling_strategy, args.per_device_train_batch_size
    ('group_by_length', 32)
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .settings import RunSettings

if TYPE_CHECKING:  # datasets is imported where it is used, so the benchmark runs without it
    import datasets

# TrainingArguments fields the recipe sets; notebook 5 checks its own arguments against these.
RECIPE_FIELDS = (
    "learning_rate", "per_device_train_batch_size", "per_device_eval_batch_size", "num_train_epochs",
    "warmup_steps", "weight_decay", "train_sampling_strategy", "bf16", "fp16", "optim",
    "dataloader_num_workers", "dataloader_pin_memory", "torch_compile", "eval_strategy",
    "eval_steps", "logging_steps", "save_strategy", "report_to", "seed",
)


def device_kind() -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: what the Trainer will train on."""
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def mixed_precision(device: str | None = None) -> dict[str, bool]:
    """``{"bf16": True}``, ``{"fp16": True}`` or ``{}`` (fp32) for ``TrainingArguments``.

    >>> mixed_precision("cpu")
    {}
    """
    device = device or device_kind()
    if device != "cuda":
        return {}
    # including_emulation=False: a T4 "supports" bf16 only by slow emulation, so it gets fp16.
    return {"bf16": True} if torch.cuda.is_bf16_supported(including_emulation=False) else {"fp16": True}


def pad_multiple(device: str | None = None) -> int | None:
    """Pad batches to a multiple of 8 on CUDA (tensor-core friendly); no rounding elsewhere."""
    return 8 if (device or device_kind()) == "cuda" else None


def data_collator(tokenizer, device: str | None = None):
    """Dynamic padding: each batch padded to its longest sentence (see :func:`pad_multiple`)."""
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_multiple(device))


def _cache_key(raw: datasets.DatasetDict, tokenizer, max_length: int) -> str:
    vocab = hashlib.sha256(json.dumps(sorted(tokenizer.get_vocab().items())).encode()).hexdigest()[:12]
    parts = [vocab, str(max_length), type(tokenizer).__name__] + [f"{s}:{raw[s]._fingerprint}" for s in sorted(raw)]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def tokenize_dataset(raw: datasets.DatasetDict, tokenizer, max_length: int,
                     cache_dir: str | Path | None = None) -> datasets.DatasetDict:
    """Tokenize every split once (``map(batched=True)``, truncation, no padding) and cache it.

    With ``cache_dir`` the token ids are saved there, keyed by vocabulary, ``max_length``
    and the data's fingerprint, and loaded from disk the next time.

    Example:
        >>> from course_utils.data import load_sst2
        >>> from course_utils.models import load_for_classification
        >>> tok, _ = load_for_classification("tiny-distilbert", ["negative", "positive"])
        >>> encoded = tokenize_dataset(load_sst2("sample"), tok, max_length=64)
        >>> "input_ids" in encoded["train"].column_names
        True
    """
    if max_length < 2:
        raise ValueError(f"max_length={max_length} leaves no room for [CLS] and [SEP]; use e.g. 64 or 128.")
    if "sentence" not in raw[next(iter(raw))].column_names:
        raise ValueError("tokenize_dataset() needs raw SST-2 with a 'sentence' column (from load_sst2()).")
    import datasets

    target = None
    if cache_dir is not None:
        target = Path(cache_dir) / f"tokenized-{_cache_key(raw, tokenizer, max_length)}"
        if (target / "dataset_dict.json").exists():
            return datasets.load_from_disk(str(target))

    def encode(batch):
        return tokenizer(batch["sentence"], truncation=True, max_length=max_length)

    encoded = raw.map(encode, batched=True, desc="Tokenizing")
    if target is not None:
        encoded.save_to_disk(str(target))
        encoded = datasets.load_from_disk(str(target))
    return encoded


def training_steps(num_train_samples: int, batch_size: int, epochs: float) -> int:
    """Optimizer steps for a run: ``ceil(samples / batch) × epochs``."""
    return max(1, math.ceil(math.ceil(num_train_samples / batch_size) * epochs))


def fast_training_args(output_dir: str | Path, settings: RunSettings, *, num_train_samples: int,
                       compile: bool = False, evaluations: int = 4, **overrides: Any):
    """``TrainingArguments`` for the course's fast recipe (see the module docstring).

    Args:
        output_dir: where the Trainer may write (the course saves models itself).
        settings: batch size, learning rate, epochs and seed come from here.
        num_train_samples: size of the training set, to place evaluations and log points.
        compile: use ``torch.compile`` (GPU only; minutes of compilation on CPU).
        evaluations: how many times to evaluate during training (for the learning curve);
            0 evaluates only when you call ``trainer.evaluate()``.
        **overrides: any other ``TrainingArguments`` field.
    """
    from transformers import TrainingArguments

    if num_train_samples < 1:
        raise ValueError(f"num_train_samples={num_train_samples}: the training set is empty. Check the data you selected.")
    device = device_kind()
    steps = training_steps(num_train_samples, settings.batch_size, settings.epochs)
    on_gpu = device == "cuda"
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=max(64, settings.batch_size),
        num_train_epochs=settings.epochs,
        warmup_steps=0.1,
        weight_decay=0.01,
        train_sampling_strategy="group_by_length",
        optim="adamw_torch_fused" if on_gpu else "adamw_torch",
        dataloader_num_workers=2 if on_gpu else 0,
        dataloader_pin_memory=on_gpu,
        torch_compile=compile and on_gpu,
        eval_strategy="steps" if evaluations > 0 else "no",
        eval_steps=max(1, steps // evaluations) if evaluations > 0 else None,
        logging_steps=max(1, steps // 25),
        save_strategy="no",
        report_to="none",
        seed=settings.seed,
        **mixed_precision(device),
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


def old_notebook_args(output_dir: str | Path, **overrides: Any):
    """The settings of the notebook this course replaces, in today's names: batch 8, fp32,
    random batches, learning rate 5e-5, one epoch, evaluation once at the end."""
    from transformers import TrainingArguments

    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir), learning_rate=5e-5, per_device_train_batch_size=8,
        per_device_eval_batch_size=8, num_train_epochs=1, weight_decay=0.01,
        optim="adamw_torch", train_sampling_strategy="random", eval_strategy="no",
        save_strategy="no", report_to="none", seed=42,
        dataloader_pin_memory=device_kind() == "cuda",  # pinned memory only helps copies to a GPU
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


def recipe_differences(args, reference) -> dict[str, tuple[Any, Any]]:
    """Fields of :data:`RECIPE_FIELDS` where ``args`` differs from ``reference`` (empty = same recipe)."""
    a, b = args.to_dict(), reference.to_dict()
    return {f: (a.get(f), b.get(f)) for f in RECIPE_FIELDS if a.get(f) != b.get(f)}


def select_train(encoded: datasets.DatasetDict, settings: RunSettings) -> datasets.Dataset:
    """The training sentences a run uses: all, or a seeded random subset of ``max_train_samples``."""
    train = encoded["train"]
    n = settings.max_train_samples
    if n is None or n >= train.num_rows:
        return train
    return train.shuffle(seed=settings.seed).select(range(n))


# ---------------------------------------------------------------------------------------
# One function for a whole run, for notebooks 6-8 when notebook 5's model is missing.

RUN_INFO = "course_run.json"
SNAPSHOT = "pretrained_snapshot.safetensors"


@dataclass
class FineTuneResult:
    trainer: Any
    metrics: dict[str, float]
    train_seconds: float
    counts: dict[str, float]


def finetune(settings: RunSettings, strategy: str = "full", k: int | None = None, *,
             save_to: str | Path | None = None, evaluations: int = 4, **overrides: Any) -> FineTuneResult:
    """Notebook 5's recipe from start to end: load, tokenize, freeze, train, evaluate (and save).

    With ``save_to`` it writes the model, tokenizer, a snapshot of the pretrained weights
    and ``course_run.json`` (settings and metrics) there, as notebook 5 does.
    """
    from .batching import LengthGroupedTrainer
    from .data import label_names, load_sst2
    from .drift import snapshot
    from .freezing import freeze
    from .metrics import compute_metrics_factory
    from .models import load_for_classification

    raw = load_sst2(settings.data)
    tokenizer, model = load_for_classification(settings.checkpoint, label_names(raw))
    encoded = tokenize_dataset(raw, tokenizer, settings.max_length, cache_dir=settings.run_dir / "cache")
    train = select_train(encoded, settings)
    before = snapshot(model) if save_to is not None else None
    counts = freeze(model, strategy, k)
    args = fast_training_args(settings.run_dir / "trainer", settings, num_train_samples=train.num_rows,
                              evaluations=evaluations, **overrides)
    trainer = LengthGroupedTrainer(model=model, args=args, train_dataset=train, eval_dataset=encoded["validation"],
                                   processing_class=tokenizer, data_collator=data_collator(tokenizer),
                                   compute_metrics=compute_metrics_factory())
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    metrics = trainer.evaluate()
    if save_to is not None:
        save_run(trainer, save_to, settings, metrics, seconds, before)
    return FineTuneResult(trainer, metrics, seconds, counts)


def save_run(trainer, folder: str | Path, settings: RunSettings, metrics: dict[str, float],
             train_seconds: float, pretrained: dict | None = None) -> Path:
    """Save model, tokenizer, optional pretrained snapshot and ``course_run.json`` to ``folder``."""
    from .drift import save_snapshot

    folder = Path(folder)
    trainer.save_model(str(folder))
    if pretrained is not None:
        save_snapshot(pretrained, folder / SNAPSHOT)
    info = {"settings": settings.as_dict(), "metrics": metrics, "train_seconds": round(train_seconds, 1)}
    (folder / RUN_INFO).write_text(json.dumps(info, indent=2))
    return folder


def read_run(folder: str | Path) -> dict | None:
    """The ``course_run.json`` of a saved run, or ``None`` if there is none."""
    path = Path(folder) / RUN_INFO
    return json.loads(path.read_text()) if path.exists() else None


def ensure_finetuned(settings: RunSettings) -> Path:
    """Notebook 5's saved model for these settings; trained now (same recipe) if it is missing.

    Notebooks 6-8 call this, so each also runs when opened on its own. It says what it does.
    """
    folder = settings.run_dir / "model"
    info = read_run(folder)
    wanted = settings.as_dict()
    if info is not None and (folder / SNAPSHOT).exists():
        saved = info["settings"]
        same = all(saved.get(key) == wanted[key] for key in
                   ("profile", "checkpoint", "data", "max_train_samples", "epochs", "batch_size", "learning_rate",
                    "max_length", "seed"))
        if same:
            print(f"Using notebook 5's fine-tuned model ({info['settings']['checkpoint']}, "
                  f"validation accuracy {info['metrics'].get('eval_accuracy', float('nan')):.3f}).")
            return folder
        print("Notebook 5's saved model was trained with other settings; training one for these settings.")
    else:
        print("Notebook 5's fine-tuned model was not found (run notebook 5 first to reuse it).")
    print("Training one now with notebook 5's recipe; see the run card for the budget.")
    result = finetune(settings, save_to=folder)
    print(f"Done in {result.train_seconds:.0f} s: validation accuracy {result.metrics['eval_accuracy']:.3f}.")
    return folder
