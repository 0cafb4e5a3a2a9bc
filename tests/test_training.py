"""course_utils.training: the fast recipe's pieces, the old notebook's settings, and real tiny runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import datasets
import pytest
import torch

from course_utils import training
from course_utils.drift import compare, drift_by_block, load_snapshot
from course_utils.settings import get_settings
from course_utils.training import (
    data_collator, fast_training_args, mixed_precision, old_notebook_args, pad_multiple, recipe_differences,
    select_train, tokenize_dataset, training_steps,
)

# ---------------------------------------------------------------------------------------
# Device-dependent settings


def test_cpu_trains_in_fp32_without_rounding():
    assert mixed_precision("cpu") == {}
    assert mixed_precision("mps") == {}
    assert pad_multiple("cpu") is None
    assert pad_multiple("cuda") == 8


def test_device_kind_on_this_machine():
    expected = "cuda" if torch.cuda.is_available() else ("mps" if torch.backends.mps.is_available() else "cpu")
    assert training.device_kind() == expected


def _features(tokenizer, sentences):
    return [tokenizer(s, truncation=True, max_length=64) for s in sentences]


def test_data_collator_pads_to_the_longest_in_the_batch(tiny_tokenizer):
    sentences = ["fine", "a rather long and winding sentence about a film", "not bad at all"]
    features = _features(tiny_tokenizer, sentences)
    lengths = [len(f["input_ids"]) for f in features]
    batch = data_collator(tiny_tokenizer, device="cpu")(features)
    assert batch["input_ids"].shape == (3, max(lengths))
    for row, n in enumerate(lengths):
        assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (max(lengths) - n)
        assert batch["input_ids"][row, n:].eq(tiny_tokenizer.pad_token_id).all()
        assert batch["input_ids"][row, :n].tolist() == features[row]["input_ids"]
    shorter = data_collator(tiny_tokenizer, device="cpu")(features[::2])  # another batch, another width
    assert shorter["input_ids"].shape[1] == max(lengths[0], lengths[2])


def test_data_collator_rounds_up_to_8_on_cuda(tiny_tokenizer):
    features = _features(tiny_tokenizer, ["fine", "not bad at all , really"])
    longest = max(len(f["input_ids"]) for f in features)
    width = data_collator(tiny_tokenizer, device="cuda")(features)["input_ids"].shape[1]
    assert width % 8 == 0 and longest <= width < longest + 8


# ---------------------------------------------------------------------------------------
# Tokenizing


def test_tokenize_dataset_truncates_without_padding(sample, tiny_tokenizer):
    encoded = tokenize_dataset(sample, tiny_tokenizer, max_length=8)
    assert set(encoded) == set(sample)
    train = encoded["train"]
    assert {"input_ids", "attention_mask", "sentence", "label"} <= set(train.column_names)
    lengths = [len(ids) for ids in train["input_ids"]]
    assert max(lengths) == 8 and min(lengths) < 8  # truncated, not padded
    long_row = lengths.index(8)
    assert train[long_row]["input_ids"][0] == tiny_tokenizer.cls_token_id
    assert train[long_row]["input_ids"][-1] == tiny_tokenizer.sep_token_id
    first = sample["train"][0]["sentence"]
    assert train[0]["input_ids"] == tiny_tokenizer(first, truncation=True, max_length=8)["input_ids"]


def test_tokenize_dataset_cache(tmp_path, sample, tiny_tokenizer, monkeypatch):
    sample = datasets.DatasetDict({split: ds.select(range(100)) for split, ds in sample.items()})
    cache = tmp_path / "cache"
    first = tokenize_dataset(sample, tiny_tokenizer, max_length=16, cache_dir=cache)
    folders = [p for p in cache.iterdir() if p.name.startswith("tokenized-")]
    assert len(folders) == 1 and (folders[0] / "dataset_dict.json").exists()

    def no_tokenizing(*args, **kwargs):
        raise AssertionError("tokenized again instead of loading the cache")

    monkeypatch.setattr(datasets.DatasetDict, "map", no_tokenizing)
    second = tokenize_dataset(sample, tiny_tokenizer, max_length=16, cache_dir=cache)
    for split in sample:
        assert second[split]["input_ids"] == first[split]["input_ids"]
        assert second[split]["label"] == first[split]["label"]
        assert all(f["filename"].startswith(str(folders[0])) for f in second[split].cache_files)
    monkeypatch.undo()
    tokenize_dataset(sample, tiny_tokenizer, max_length=24, cache_dir=cache)  # another length, another entry
    assert len([p for p in cache.iterdir() if p.name.startswith("tokenized-")]) == 2


@pytest.mark.parametrize("max_length", [1, 0, -5])
def test_tokenize_dataset_max_length_too_small(sample, tiny_tokenizer, max_length):
    with pytest.raises(ValueError, match=rf"max_length={max_length} leaves no room for \[CLS\] and \[SEP\]; use e\.g\. 64 or 128"):
        tokenize_dataset(sample, tiny_tokenizer, max_length=max_length)


def test_tokenize_dataset_needs_a_sentence_column(sample, tiny_tokenizer):
    renamed = sample.rename_column("sentence", "text")
    with pytest.raises(ValueError, match=r"tokenize_dataset\(\) needs raw SST-2 with a 'sentence' column \(from load_sst2\(\)\)"):
        tokenize_dataset(renamed, tiny_tokenizer, max_length=64)


# ---------------------------------------------------------------------------------------
# Training arguments


@pytest.mark.parametrize("n, batch, epochs", [(512, 32, 1.0), (100, 32, 1.0), (100, 32, 0.5), (1, 32, 0.1), (20_000, 64, 2.0)])
def test_training_steps(n, batch, epochs):
    batches_per_epoch = -(-n // batch)  # ceiling division
    assert training_steps(n, batch, epochs) == max(1, math.ceil(batches_per_epoch * epochs))


@pytest.mark.parametrize("profile, n", [("smoke", 512), ("cpu", 20_000), ("default", 67_349)])
def test_fast_training_args(tmp_path, profile, n):
    s = get_settings(profile, env={})
    args = fast_training_args(tmp_path, s, num_train_samples=n)
    steps = math.ceil(n / s.batch_size) * s.epochs
    assert args.train_sampling_strategy == "group_by_length"
    assert args.eval_strategy == "steps"
    assert args.eval_steps == max(1, int(steps) // 4)
    assert args.logging_steps == max(1, int(steps) // 25)
    assert args.report_to in ([], ["none"], "none")  # no wandb / tensorboard
    assert args.save_strategy == "no"
    assert args.learning_rate == s.learning_rate
    assert args.per_device_train_batch_size == s.batch_size
    assert args.per_device_eval_batch_size >= s.batch_size
    assert args.num_train_epochs == s.epochs
    assert args.seed == s.seed
    assert args.output_dir == str(tmp_path)
    if training.device_kind() == "cpu":
        assert not args.bf16 and not args.fp16
        assert args.dataloader_num_workers == 0 and not args.torch_compile


def test_fast_training_args_options(tmp_path):
    s = get_settings("smoke", env={})
    no_evals = fast_training_args(tmp_path, s, num_train_samples=512, evaluations=0)
    assert no_evals.eval_strategy == "no"
    two = fast_training_args(tmp_path, s, num_train_samples=512, evaluations=2)
    assert two.eval_steps == math.ceil(512 / s.batch_size) // 2
    changed = fast_training_args(tmp_path, s, num_train_samples=512, learning_rate=3e-5, weight_decay=0.0)
    assert changed.learning_rate == 3e-5 and changed.weight_decay == 0.0
    tiny = fast_training_args(tmp_path, s, num_train_samples=3)  # one step: still valid
    assert tiny.eval_steps == 1 and tiny.logging_steps == 1


@pytest.mark.parametrize("n", [0, -1])
def test_fast_training_args_with_no_samples(tmp_path, n):
    with pytest.raises(ValueError, match=rf"num_train_samples={n}: the training set is empty\. Check the data you selected"):
        fast_training_args(tmp_path, get_settings("smoke", env={}), num_train_samples=n)


def test_old_notebook_args(tmp_path):
    args = old_notebook_args(tmp_path)
    assert args.per_device_train_batch_size == 8
    assert args.learning_rate == 5e-5
    assert args.train_sampling_strategy == "random"
    assert args.num_train_epochs == 1
    assert args.eval_strategy == "no"
    assert not args.bf16 and not args.fp16
    assert old_notebook_args(tmp_path, num_train_epochs=3).num_train_epochs == 3


def test_recipe_differences(tmp_path):
    s = get_settings("smoke", env={})
    fast = fast_training_args(tmp_path, s, num_train_samples=512)
    assert recipe_differences(fast, fast_training_args(tmp_path / "other", s, num_train_samples=512)) == {}
    other_lr = fast_training_args(tmp_path, s, num_train_samples=512, learning_rate=2e-5)
    assert recipe_differences(other_lr, fast) == {"learning_rate": (2e-5, s.learning_rate)}
    old = recipe_differences(old_notebook_args(tmp_path), fast)
    assert old["per_device_train_batch_size"] == (8, s.batch_size)
    assert old["train_sampling_strategy"] == ("random", "group_by_length")
    assert set(old) <= set(training.RECIPE_FIELDS)


def test_select_train(sample):
    s = get_settings("smoke", env={}, max_train_samples=100)
    first, again = select_train(sample, s), select_train(sample, s)
    assert first.num_rows == 100
    assert first["idx"] == again["idx"]  # seeded
    assert len(set(first["idx"])) == 100 and set(first["idx"]) <= set(sample["train"]["idx"])
    other_seed = select_train(sample, get_settings("smoke", env={}, max_train_samples=100, seed=7))
    assert other_seed["idx"] != first["idx"]
    n = sample["train"].num_rows
    for everything in (None, n, n + 1):
        assert select_train(sample, get_settings("smoke", env={}, max_train_samples=everything)).num_rows == n


# ---------------------------------------------------------------------------------------
# Real (tiny) runs


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One real fine-tuning run: top layer + head of the tiny model, 64 sentences, saved."""
    out = tmp_path_factory.mktemp("run")
    s = get_settings("smoke", env={}, output_dir=out, max_train_samples=64)
    result = training.finetune(s, "top-k", k=1, save_to=out / "saved")
    return s, result, out / "saved"


def test_finetune_returns_metrics(trained):
    s, result, _ = trained
    assert 0.0 <= result.metrics["eval_accuracy"] <= 1.0
    assert 0.0 <= result.metrics["eval_f1"] <= 1.0
    assert result.metrics["eval_loss"] > 0
    assert result.train_seconds > 0
    assert 0 < result.counts["trainable"] < result.counts["total"]
    history = result.trainer.state.log_history
    assert any("loss" in r for r in history) and any("eval_accuracy" in r for r in history)
    assert result.trainer.state.global_step == training.training_steps(64, s.batch_size, s.epochs)
    from course_utils.batching import LengthGroupedTrainer

    assert isinstance(result.trainer, LengthGroupedTrainer)  # notebook 5's batch order


def test_finetune_saves_a_complete_run(trained, tiny_path):
    from safetensors.torch import load_file

    s, result, folder = trained
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer_config.json", training.SNAPSHOT, training.RUN_INFO} <= names
    info = training.read_run(folder)
    assert info["settings"] == json.loads(json.dumps(s.as_dict()))
    assert info["metrics"]["eval_accuracy"] == pytest.approx(result.metrics["eval_accuracy"])
    assert str(folder.parent) not in (folder / training.RUN_INFO).read_text()  # path-free
    # The snapshot holds the pretrained weights the run started from ...
    pretrained = load_file(str(Path(tiny_path) / "model.safetensors"))
    snap = load_snapshot(folder / training.SNAPSHOT)
    key = "distilbert.embeddings.word_embeddings.weight"
    assert torch.equal(snap[key], pretrained[key].float())
    # ... and comparing it with the saved model shows what top-k=1 trained.
    by_block = drift_by_block(compare(snap, result.trainer.model))
    assert (by_block.loc[["embeddings", "layer 0"], "abs_change"] == 0).all()
    assert (by_block.loc[["layer 1", "head"], "abs_change"] > 0).all()


def test_saved_model_answers_with_label_names(trained):
    from transformers import pipeline

    _, _, folder = trained
    classify = pipeline("text-classification", model=str(folder), device="cpu")
    answers = classify(["a gorgeous , witty film", "dull and lifeless"])
    assert {a["label"] for a in answers} <= {"negative", "positive"}
    assert all(0.0 <= a["score"] <= 1.0 for a in answers)


def test_read_run_without_a_run(tmp_path):
    assert training.read_run(tmp_path) is None


@pytest.fixture
def small_sst2(tmp_path, sample):
    """A small SST-2 folder (48 + 24 sentences from the sample), so runs spend little time evaluating."""
    folder = tmp_path / "small-sst2"
    folder.mkdir()
    sample["train"].select(range(48)).to_pandas().to_parquet(folder / "train.parquet")
    sample["validation"].select(range(24)).to_pandas().to_parquet(folder / "validation.parquet")
    return folder


def test_ensure_finetuned_trains_reuses_and_retrains(tmp_path, small_sst2, capsys, monkeypatch):
    s = get_settings("smoke", env={}, output_dir=tmp_path / "out", data=small_sst2, max_train_samples=32)
    folder = training.ensure_finetuned(s)
    out = capsys.readouterr().out
    assert folder == s.run_dir / "model"
    assert "was not found" in out and "Training one now" in out and "validation accuracy" in out
    assert training.read_run(folder)["settings"]["max_train_samples"] == 32

    real_finetune = training.finetune
    monkeypatch.setattr(training, "finetune", lambda *a, **k: pytest.fail("retrained a model that was there"))
    assert training.ensure_finetuned(s) == folder
    out = capsys.readouterr().out
    assert "Using notebook 5's fine-tuned model (tiny-distilbert, validation accuracy" in out
    assert "Training" not in out

    monkeypatch.setattr(training, "finetune", real_finetune)
    changed = get_settings("smoke", env={}, output_dir=tmp_path / "out", data=small_sst2, max_train_samples=16)
    assert changed.run_dir == s.run_dir  # same folder, other settings
    assert training.ensure_finetuned(changed) == folder
    out = capsys.readouterr().out
    assert "trained with other settings" in out and "Training one now" in out
    assert training.read_run(folder)["settings"]["max_train_samples"] == 16
