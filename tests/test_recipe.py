"""course_utils.recipe: the batch order, tokenization, TrainingArguments, mixed precision and the Trainer.

Nothing here trains: the Trainer is built and its data loader read, which is where the recipe's
promises (the order, the padding, the callbacks) show.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import PrinterCallback, ProgressCallback

from course_utils import recipe
from course_utils.recipe import length_grouped_order, select_train, tokenize, training_arguments
from course_utils.settings import get_settings


def _lengths(n: int, seed: int = 0) -> list[int]:
    """SST-2-like lengths: many short phrases, some long sentences."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(2.3, 0.8, n).astype(int) + 3, 3, 64).tolist()


def _batches(order, batch_size: int) -> list[list[int]]:
    """What a data loader makes of the flat order: consecutive chunks of batch_size."""
    return [list(order[i:i + batch_size]) for i in range(0, len(order), batch_size)]


def _widths(lengths, batches) -> list[int]:
    return [max(lengths[i] for i in b) for b in batches]


def _real_share(lengths, batches) -> float:
    """Share of the padded batches' tokens that are real tokens."""
    padded = sum(len(b) * w for b, w in zip(batches, _widths(lengths, batches)))
    return sum(lengths[i] for b in batches for i in b) / padded


@pytest.fixture(scope="module")
def encoded(tiny_tokenizer, sample):
    return tokenize(sample, tiny_tokenizer, max_length=32)


def smoke(tmp_path, **overrides):
    return get_settings("smoke", env={}, output_dir=tmp_path, **overrides)


# --- length_grouped_order ---------------------------------------------------------------------

@pytest.mark.parametrize("n, batch", [(1, 32), (31, 32), (32, 32), (1000, 32), (6417, 64), (100, 1)])
def test_one_epoch_has_every_index_once_and_the_short_batch_last(n, batch):
    order = length_grouped_order(_lengths(n), batch, seed=1)
    assert sorted(order) == list(range(n))
    batches = _batches(order, batch)
    assert all(len(b) == batch for b in batches[:-1]) and len(batches[-1]) == (n % batch or batch)


def test_several_epochs_leave_out_each_incomplete_batch():
    lengths, batch = _lengths(6410), 32  # 200 whole batches and 10 rows left over per epoch
    order = length_grouped_order(lengths, batch, seed=0, epochs=3)
    epochs = [order[e * 6400:(e + 1) * 6400] for e in range(3)]
    assert len(order) == 3 * 6400 and all(len(set(e)) == 6400 for e in epochs)
    assert len({frozenset(range(6410)) - set(e) for e in epochs}) > 1, "a different few rows left out each epoch"
    assert _real_share(lengths, _batches(order, batch)) > 0.9  # every chunk is one batch of similar lengths


def test_batches_hold_similar_lengths_and_the_longest_comes_first():
    for seed in range(3):
        lengths = _lengths(6400, seed=seed)
        grouped = _batches(length_grouped_order(lengths, 32, seed=seed), 32)
        assert _real_share(lengths, grouped) > 0.9
        assert _widths(lengths, grouped)[0] == max(lengths)
    assert _real_share(lengths, _batches(range(6400), 32)) < 0.6  # the lengths are in random order
    shares = [_real_share(lengths, _batches(length_grouped_order(lengths, 32, seed=0, group_batches=g), 32))
              for g in (1, 5, 50)]
    assert shares[0] < 0.6 and shares[0] < shares[1] < shares[2]  # one batch per group: random batches


def test_batches_are_not_served_long_to_short():
    """Unlike the Trainer's group_by_length, whose widths only fall within each group of 50 batches."""
    lengths = _lengths(32 * 500)
    widths = np.array(_widths(lengths, _batches(length_grouped_order(lengths, 32, seed=0), 32)))
    assert not any(np.all(np.diff(g) <= 0) for g in widths[1:451].reshape(9, 50))
    assert 0.35 < np.mean(np.diff(widths[1:]) > 0) < 0.65  # about as many steps up as down


def test_the_seed_decides_the_order():
    lengths = _lengths(3200)
    assert length_grouped_order(lengths, 32, seed=7) == length_grouped_order(lengths, 32, seed=7)
    assert length_grouped_order(lengths, 32, seed=7) != length_grouped_order(lengths, 32, seed=8)
    assert length_grouped_order([], 32, seed=0) == []


@pytest.mark.parametrize("kwargs, words", [
    (dict(batch_size=0), "batch_size=0"),
    (dict(batch_size=2.5), "batch_size=2.5"),
    (dict(batch_size=True), "batch_size=True"),
    (dict(epochs=0), "epochs=0"),
    (dict(group_batches=0), "group_batches=0"),
    (dict(lengths=[3.5, 4.0]), "lengths must be one whole number"),
    (dict(lengths=[[3, 4], [5, 6]]), "lengths must be one whole number"),
    (dict(epochs=2, batch_size=8), "3 rows make no whole batch of 8"),
])
def test_bad_input_names_the_argument(kwargs, words):
    with pytest.raises(ValueError, match=words):
        length_grouped_order(**{"lengths": [3, 4, 5], "batch_size": 2, "seed": 0, **kwargs})


# --- tokenize, select_train, order_by_length ----------------------------------------------------

def test_tokenize_truncates_without_padding(encoded):
    lengths = [len(ids) for ids in encoded["train"]["input_ids"]]
    assert max(lengths) == 32 and min(lengths) < 32
    assert {"input_ids", "attention_mask", "label", "sentence"} <= set(encoded["train"].column_names)


@pytest.mark.parametrize("column, max_length, words", [("sentence", n, "max_length") for n in (0, 1, 2.5, True)] +
                         [("text", 32, "'sentence' column")])
def test_tokenize_needs_sentences_and_room_for_special_tokens(tiny_tokenizer, sample, column, max_length, words):
    raw = sample if column == "sentence" else sample.rename_column("sentence", column)
    with pytest.raises(ValueError, match=words):
        tokenize(raw, tiny_tokenizer, max_length)


def test_an_interrupted_tokenization_does_not_break_the_rerun(tiny_tokenizer, sample, monkeypatch):
    """datasets writes map results to a temporary file and renames it when complete: stopping the kernel
    halfway leaves no cache file that a rerun would trust."""
    real_call, calls = type(tiny_tokenizer).__call__, []

    def stopped_halfway(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("kernel stopped while tokenizing")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(type(tiny_tokenizer), "__call__", stopped_halfway)
    with pytest.raises(KeyboardInterrupt):
        tokenize(sample, tiny_tokenizer, max_length=24)
    monkeypatch.undo()
    rerun = tokenize(sample, tiny_tokenizer, max_length=24)["train"]
    assert rerun["input_ids"] == [tiny_tokenizer(s, truncation=True, max_length=24)["input_ids"]
                                  for s in sample["train"]["sentence"]]


def test_select_train_is_a_seeded_subset(tmp_path, encoded):
    first = select_train(encoded, smoke(tmp_path, max_train_samples=64))
    assert first.num_rows == 64 and first["idx"] == select_train(encoded, smoke(tmp_path, max_train_samples=64))["idx"]
    assert first["idx"] != select_train(encoded, smoke(tmp_path, max_train_samples=64, seed=7))["idx"]
    assert select_train(encoded, smoke(tmp_path, max_train_samples=None)).num_rows == encoded["train"].num_rows


def test_order_by_length_reorders_the_rows_and_needs_input_ids(encoded, sample):
    train = encoded["train"].select(range(320))
    ordered = recipe.order_by_length(train, batch_size=32, seed=0, epochs=2)
    lengths = [len(ids) for ids in train["input_ids"]]
    assert ordered["idx"] == [train["idx"][i] for i in length_grouped_order(lengths, 32, seed=0, epochs=2)]
    with pytest.raises(ValueError, match="'input_ids' column"):
        recipe.order_by_length(sample["train"], batch_size=32, seed=0)


# --- TrainingArguments, mixed precision -----------------------------------------------------------

def test_training_arguments_follow_the_settings_and_overrides_win(tmp_path):
    settings = smoke(tmp_path, learning_rate=3e-4, seed=7)
    args = training_arguments(settings, tmp_path)
    assert (args.learning_rate, args.per_device_train_batch_size, args.seed) == (3e-4, settings.batch_size, 7)
    assert args.train_sampling_strategy == "sequential" and args.eval_strategy == "no"
    assert not args.load_best_model_at_end and args.save_strategy == "no"
    assert not args.bf16 and not args.fp16  # CPU: 32-bit floats
    args = training_arguments(settings, tmp_path, evaluations=4, learning_rate=0.5, max_steps=7, eval_steps=3)
    assert (args.learning_rate, args.max_steps, args.eval_steps) == (0.5, 7, 3)


def test_evaluations_are_a_share_of_the_steps_and_keep_best_keeps_the_best(tmp_path):
    args = training_arguments(smoke(tmp_path), tmp_path, evaluations=4, keep_best=True)
    assert (args.eval_strategy, args.eval_steps) == ("steps", 0.25)
    assert (args.save_strategy, args.save_steps, args.save_total_limit) == ("steps", 0.25, 1)
    assert args.load_best_model_at_end and args.metric_for_best_model == "accuracy"
    assert training_arguments(smoke(tmp_path), tmp_path, evaluations=5).eval_steps == 0.2


@pytest.mark.parametrize("kwargs, words", [(dict(evaluations=-1), "evaluations=-1"),
                                           (dict(evaluations=1.5), "evaluations=1.5"),
                                           (dict(keep_best=True), "keep_best=True.*give evaluations")])
def test_training_arguments_bad_inputs(tmp_path, kwargs, words):
    with pytest.raises(ValueError, match=words):
        training_arguments(smoke(tmp_path), tmp_path, **kwargs)


@pytest.mark.parametrize("native_bf16, expected", [(True, {"bf16": True}), (False, {"fp16": True})])
def test_mixed_precision_on_cuda(monkeypatch, native_bf16, expected):
    """A T4 counts as bf16-capable only through emulation, which is slow: it must get fp16."""
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True:
                        native_bf16 or including_emulation)
    assert recipe.mixed_precision("cuda") == expected
    assert recipe.mixed_precision("cpu") == recipe.mixed_precision("mps") == {}
    assert (recipe.pad_multiple("cuda"), recipe.pad_multiple("cpu")) == (8, None)


# --- the Trainer -----------------------------------------------------------------------------------

def test_the_trainer_serves_exactly_the_ordered_batches(tmp_path, tiny_model, tiny_tokenizer, encoded):
    train, batch = encoded["train"], 32
    lengths = [len(ids) for ids in train["input_ids"]]
    order = length_grouped_order(lengths, batch, seed=42)
    trainer = recipe.make_trainer(tiny_model, training_arguments(smoke(tmp_path), tmp_path), tiny_tokenizer,
                           train.select(order))
    served, expected = list(trainer.get_train_dataloader()), _batches(order, batch)
    assert len(served) == len(expected) and train.num_rows % batch  # the sample ends with a short batch
    for got, want in zip(served, expected):
        rows = [row[mask.bool()].tolist() for row, mask in zip(got["input_ids"], got["attention_mask"])]
        assert rows == [train["input_ids"][i] for i in want]
        assert got["input_ids"].shape[1] == max(lengths[i] for i in want)  # padded to its longest sentence only


def test_make_trainer_prints_no_log_lines_without_progress_bars(tmp_path, tiny_model, tiny_tokenizer, encoded):
    def callbacks(**overrides):
        args = training_arguments(smoke(tmp_path), tmp_path, **overrides)
        trainer = recipe.make_trainer(tiny_model, args, tiny_tokenizer, encoded["train"], metrics=("accuracy",))
        return {type(c) for c in trainer.callback_handler.callbacks}

    assert PrinterCallback not in callbacks() and ProgressCallback not in callbacks()
    assert ProgressCallback in callbacks(disable_tqdm=False)
