"""The course's fine-tuning recipe, written once: the batch order, ``TrainingArguments`` and the ``Trainer``.

Notebook 5 (and, standing alone, the capstone) writes it with the libraries' own API; everything
else that trains calls :func:`training_arguments` and :func:`make_trainer`. The recipe: AdamW with a
linear warm-up over the first tenth of the steps and a linear decay to zero, weight decay 0.01, dynamic
padding, and batches of similar length in random order (:func:`length_grouped_order`; appendix A1).

Example:
    >>> from course_utils.settings import get_settings
    >>> args = training_arguments(get_settings("smoke"), "out", evaluations=4)
    >>> args.train_sampling_strategy, args.per_device_train_batch_size, args.eval_steps
    ('sequential', 32, 0.25)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .settings import RunSettings, device_kind

if TYPE_CHECKING:
    import datasets

#: Batches per group of similar length, as in the ``Trainer`` (at most a quarter of all batches).
GROUP_BATCHES = 50


def mixed_precision(device: str | None = None) -> dict[str, bool]:
    """``{"bf16": True}``, ``{"fp16": True}`` or ``{}`` for ``TrainingArguments``: bf16 only where the GPU
    computes it natively (a T4, Colab's free GPU, would emulate it slowly, so it gets fp16).

    >>> mixed_precision("cpu")
    {}
    """
    device = device or device_kind()
    if device != "cuda":
        return {}
    import torch

    return {"bf16": True} if torch.cuda.is_bf16_supported(including_emulation=False) else {"fp16": True}


def pad_multiple(device: str | None = None) -> int | None:
    """Pad batches to a multiple of 8 on CUDA (the shapes tensor cores like); no rounding elsewhere."""
    return 8 if (device or device_kind()) == "cuda" else None


def length_grouped_order(lengths: Sequence[int], batch_size: int, *, seed: int, epochs: int = 1,
                         group_batches: int = GROUP_BATCHES) -> list[int]:
    """Row indices whose chunks of ``batch_size`` are batches of similar length, in random order, per epoch.

    Each epoch: shuffle, cut into groups of ``group_batches`` batches (at most a quarter of all batches),
    sort each group by length, cut it into batches and shuffle the full ones, the longest first (a run
    that does not fit in memory fails at once). One epoch keeps a last, smaller batch last; with several,
    each epoch's incomplete batch is left out. Train on ``train.select(order)``, sampling "sequential".

    6,400 sentences of 2 to 59 tokens: 98% of the padded batches' tokens are real (random batches: 53%).

    >>> lengths = np.random.default_rng(0).integers(2, 60, 6400).tolist()
    >>> order = length_grouped_order(lengths, 32, seed=0)
    >>> batches = [order[i:i + 32] for i in range(0, len(order), 32)]
    >>> round(sum(lengths) / sum(len(b) * max(lengths[i] for i in b) for b in batches), 2)
    0.98
    >>> len(length_grouped_order(lengths[:100], 32, seed=0, epochs=3))  # 3 whole batches per epoch
    288
    """
    for name, value in (("batch_size", batch_size), ("epochs", epochs), ("group_batches", group_batches)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name}={value!r}: give a whole number of at least 1 (e.g. batch_size=32).")
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or (lengths.size and not np.issubdtype(lengths.dtype, np.integer)):
        raise ValueError("lengths must be one whole number per sentence (its tokens), e.g. "
                         "[len(ids) for ids in train['input_ids']].")
    n = len(lengths)
    if n == 0:
        return []
    if epochs > 1 and n < batch_size:
        raise ValueError(f"{n} rows make no whole batch of {batch_size}: use a smaller batch or more rows.")
    rng = np.random.default_rng(seed)
    group = batch_size * max(1, min(group_batches, n // (batch_size * 4)))
    order: list[int] = []
    for _ in range(epochs):
        shuffled = rng.permutation(n)
        batches: list[np.ndarray] = []
        for start in range(0, n, group):
            members = shuffled[start:start + group]
            members = members[np.argsort(-lengths[members], kind="stable")]  # longest first within the group
            batches += [members[i:i + batch_size] for i in range(0, len(members), batch_size)]
        last = [batches.pop()] if len(batches[-1]) < batch_size else []
        batches = [batches[i] for i in rng.permutation(len(batches))]
        if batches:  # each batch is sorted, so its first row is its longest
            longest = max(range(len(batches)), key=lambda b: lengths[batches[b][0]])
            batches[0], batches[longest] = batches[longest], batches[0]
        order += [int(i) for batch in batches + (last if epochs == 1 else []) for i in batch]
    return order


def order_by_length(train: datasets.Dataset, batch_size: int, seed: int, epochs: int = 1) -> datasets.Dataset:
    """``train`` in :func:`length_grouped_order` (needs tokenized rows: an ``input_ids`` column)."""
    if "input_ids" not in train.column_names:
        raise ValueError(f"order_by_length() needs tokenized rows (an 'input_ids' column; this data has "
                         f"{train.column_names}). Tokenize first: recipe.tokenize(raw, tokenizer, max_length).")
    lengths = [len(ids) for ids in train["input_ids"]]
    return train.select(length_grouped_order(lengths, batch_size, seed=seed, epochs=epochs))


def tokenize(raw: datasets.DatasetDict, tokenizer, max_length: int) -> datasets.DatasetDict:
    """Token ids for every split: ``map(batched=True)``, truncation at ``max_length``, no padding.

    >>> from transformers import AutoTokenizer
    >>> from course_utils.data import load_sst2
    >>> from course_utils.models import resolve_checkpoint
    >>> tokenizer = AutoTokenizer.from_pretrained(resolve_checkpoint("tiny-distilbert"))
    >>> train = tokenize(load_sst2("sample"), tokenizer, max_length=64)["train"]
    >>> max(len(ids) for ids in train["input_ids"]) <= 64, "attention_mask" in train.column_names
    (True, True)
    """
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
        raise ValueError(f"max_length={max_length!r} leaves no room for [CLS] and [SEP]; "
                         "use a whole number such as 64 or 128.")
    first = next(iter(raw.values()), None)
    if first is None or "sentence" not in first.column_names:
        raise ValueError("tokenize() needs data with a 'sentence' column, as load_sst2() returns it.")
    return raw.map(lambda batch: tokenizer(batch["sentence"], truncation=True, max_length=max_length), batched=True)


def select_train(encoded: datasets.DatasetDict, settings: RunSettings) -> datasets.Dataset:
    """The training rows a run uses: all, or a seeded random subset of ``settings.max_train_samples``."""
    train = encoded["train"]
    n = settings.max_train_samples
    if n is None or n >= train.num_rows:
        return train
    return train.shuffle(seed=settings.seed).select(range(n))


def training_arguments(settings: RunSettings, output_dir, *, evaluations: int = 0, keep_best: bool = False,
                       **overrides: Any):
    """Notebook 5's ``TrainingArguments`` with the settings' batch, rate, epochs and seed: ``evaluations``
    evenly spaced evaluations, ``keep_best`` to end with the best of them, ``overrides`` any other field."""
    from transformers import TrainingArguments

    if isinstance(evaluations, bool) or not isinstance(evaluations, int) or evaluations < 0:
        raise ValueError(f"evaluations={evaluations!r}: give how many times to evaluate during training (0 or more).")
    if keep_best and not evaluations:
        raise ValueError("keep_best=True keeps the best of the evaluations during training: give evaluations too.")
    device = device_kind()
    every = 1 / evaluations if evaluations else None  # below 1: a share of the run's steps
    kwargs: dict[str, Any] = dict(
        output_dir=str(output_dir),
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=max(64, settings.batch_size),
        num_train_epochs=settings.epochs,
        warmup_steps=0.1,
        weight_decay=0.01,
        train_sampling_strategy="sequential",  # the rows come in the order of order_by_length()
        eval_strategy="steps" if evaluations else "no",
        eval_steps=every,
        logging_steps=0.04,  # the training loss about 25 times per run
        save_strategy="steps" if keep_best else "no",
        save_steps=every if keep_best else 500,
        save_total_limit=1 if keep_best else None,
        save_only_model=keep_best,
        load_best_model_at_end=keep_best,
        metric_for_best_model="accuracy" if keep_best else None,
        dataloader_pin_memory=device == "cuda",  # page-locked memory only speeds up copies to a GPU
        report_to="none",
        disable_tqdm=True,
        seed=settings.seed,
        **mixed_precision(device),
    )
    kwargs.update(overrides)
    return TrainingArguments(**kwargs)


def make_trainer(model, args, tokenizer, train, evaluate_on=None, *, metrics: Sequence[str] = ("accuracy", "f1"),
                 **kwargs: Any):
    """The recipe's ``Trainer``: dynamic padding, ``compute_metrics`` with ``metrics``, no log lines printed in
    place of the progress bars; ``kwargs`` go to ``Trainer`` (``callbacks``, ``optimizers``, ...)."""
    from transformers import DataCollatorWithPadding, PrinterCallback, Trainer

    from .metrics import make_compute_metrics

    trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=evaluate_on,
                      processing_class=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer, pad_to_multiple_of=pad_multiple()),
                      compute_metrics=make_compute_metrics(metrics), **kwargs)
    if args.disable_tqdm:
        trainer.remove_callback(PrinterCallback)
    return trainer
