"""course_utils.training: the recipe's arguments, tokenization, ordering, and saved runs that can be trusted.

Interrupted and concurrent saves are simulated deterministically: a write fails at a chosen
point (monkeypatch), or two complete runs are published one after the other into one folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from transformers import AutoTokenizer

from course_utils import training
from course_utils.data import load_sst2
from course_utils.models import resolve_checkpoint
from course_utils.settings import get_settings
from course_utils.training import (
    RUN_INFO,
    SNAPSHOT,
    check_run,
    ensure_finetuned,
    finetune,
    order_by_length,
    publish,
    read_run,
    save_run,
    select_train,
    tokenize,
    training_arguments,
)


@pytest.fixture(scope="module")
def tokenizer():
    return AutoTokenizer.from_pretrained(resolve_checkpoint("tiny-distilbert"))


@pytest.fixture(scope="module")
def encoded(tokenizer):
    return tokenize(load_sst2("sample"), tokenizer, max_length=32)


def tiny_settings(tmp_path, **overrides):
    values = dict(max_train_samples=64, output_dir=tmp_path / "outputs")
    values.update(overrides)
    return get_settings("smoke", env={}, **values)


# --- arguments, tokens, order -------------------------------------------------------------

def test_training_arguments_follow_the_settings(tmp_path):
    settings = tiny_settings(tmp_path)
    args = training_arguments(settings, tmp_path, num_train_samples=640, evaluations=4)
    assert (args.learning_rate, args.per_device_train_batch_size, args.seed) == (
        settings.learning_rate, settings.batch_size, settings.seed)
    assert args.train_sampling_strategy == "sequential"  # the rows come pre-ordered
    assert args.eval_strategy == "steps" and args.eval_steps == 5  # 20 steps: 5, 10, 15, 20
    assert not args.bf16 and not args.fp16  # CPU: 32-bit floats
    assert training_arguments(settings, tmp_path, num_train_samples=640).eval_strategy == "no"
    assert training_arguments(settings, tmp_path, num_train_samples=640, learning_rate=0.5).learning_rate == 0.5


@pytest.mark.parametrize(("kwargs", "words"), [
    (dict(num_train_samples=0), "empty"), (dict(num_train_samples=10, evaluations=-1), "evaluate")])
def test_training_arguments_bad_inputs(tmp_path, kwargs, words):
    with pytest.raises(ValueError, match=words):
        training_arguments(tiny_settings(tmp_path), tmp_path, **kwargs)


def test_tokenize_truncates_without_padding(encoded):
    lengths = [len(ids) for ids in encoded["train"]["input_ids"]]
    assert max(lengths) == 32 and min(lengths) < 32
    assert {"input_ids", "attention_mask", "label", "sentence"} <= set(encoded["train"].column_names)


@pytest.mark.parametrize("max_length", [0, 1, 2.5])
def test_tokenize_needs_room_for_special_tokens(tokenizer, max_length):
    with pytest.raises(ValueError, match="max_length"):
        tokenize(load_sst2("sample"), tokenizer, max_length=max_length)


def test_tokenize_needs_sentences(tokenizer):
    raw = load_sst2("sample").rename_column("sentence", "text")
    with pytest.raises(ValueError, match="'sentence'"):
        tokenize(raw, tokenizer, max_length=32)


def test_select_train_is_a_seeded_subset(tmp_path, encoded):
    settings = tiny_settings(tmp_path)
    first, again = select_train(encoded, settings), select_train(encoded, settings)
    assert first.num_rows == 64 and first["idx"] == again["idx"]
    assert first["idx"] != select_train(encoded, tiny_settings(tmp_path, seed=7))["idx"]
    assert select_train(encoded, tiny_settings(tmp_path, max_train_samples=None)).num_rows == encoded["train"].num_rows


def test_order_by_length_permutes_into_similar_batches(encoded):
    train = encoded["train"].select(range(320))
    ordered = order_by_length(train, batch_size=32, seed=0)
    assert sorted(ordered["idx"]) == sorted(train["idx"])
    lengths = [len(ids) for ids in ordered["input_ids"]]
    spread = sum(max(lengths[i:i + 32]) - min(lengths[i:i + 32]) for i in range(0, 320, 32))
    plain = [[len(x) for x in train["input_ids"][i:i + 32]] for i in range(0, 320, 32)]
    assert spread < sum(max(b) - min(b) for b in plain)
    with pytest.raises(ValueError, match="tokenize"):
        order_by_length(load_sst2("sample")["train"], batch_size=32, seed=0)


# --- whole runs -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """One complete run of the fallback recipe, saved the way ensure_finetuned saves it."""
    tmp_path = tmp_path_factory.mktemp("run")
    settings = tiny_settings(tmp_path)
    folder = settings.run_dir / "model"
    result = finetune(settings, save_to=folder, evaluations=2)
    return settings, folder, result


def test_a_saved_run_is_complete_and_recorded(saved):
    settings, folder, result = saved
    assert check_run(folder) is None
    info = read_run(folder)
    assert info["metrics"]["eval_accuracy"] == pytest.approx(result.metrics["eval_accuracy"])
    assert info["identity"] == json.loads(json.dumps(settings.identity(), default=str))
    assert {"config.json", "model.safetensors", SNAPSHOT} <= set(info["files"])
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")], "no staging folder is left behind"
    weights, before = load_file(folder / "model.safetensors"), load_file(folder / SNAPSHOT)
    name = next(n for n in before if n.endswith("classifier.weight"))
    assert not torch.equal(weights[name], before[name]), "the snapshot holds the weights before training"


def test_same_settings_give_the_same_weights(saved, tmp_path):
    settings, folder, _ = saved
    again = finetune(settings, evaluations=2)  # same seed, data and order: same weights on the same hardware
    trained = load_file(folder / "model.safetensors")
    for name, tensor in again.trainer.model.state_dict().items():
        if name in trained:
            assert torch.equal(tensor, trained[name]), name


@pytest.mark.parametrize("damage", ["truncate weights", "drop record", "garble record", "swap a file"])
def test_damaged_runs_are_never_trusted(saved, tmp_path, damage):
    import shutil

    _, folder, _ = saved
    copy = shutil.copytree(folder, tmp_path / "model")
    if damage == "truncate weights":
        data = (copy / "model.safetensors").read_bytes()
        (copy / "model.safetensors").write_bytes(data[: len(data) // 2])
    elif damage == "drop record":
        (copy / RUN_INFO).unlink()
    elif damage == "garble record":
        (copy / RUN_INFO).write_text('{"format": 2, "files": ')
    else:  # new weights beside an old record: an in-place save stopped after save_model
        (copy / "config.json").write_text((copy / "config.json").read_text().replace("negative", "NEGATIVE"))
    assert check_run(copy) is not None and read_run(copy) is None
    assert str(copy) in check_run(copy), "the reason names the folder or file"


def test_interrupted_save_leaves_the_previous_run_intact(saved, tmp_path, monkeypatch):
    import shutil

    settings, folder, result = saved
    target = shutil.copytree(folder, tmp_path / "model")
    before = read_run(target)

    def fail(*args, **kwargs):
        raise KeyboardInterrupt("kernel stopped while saving")

    monkeypatch.setattr(training, "publish", fail)
    with pytest.raises(KeyboardInterrupt):
        save_run(result.trainer, target, settings, {"eval_accuracy": 0.0}, 1.0)
    assert read_run(target) == before, "the old run is untouched"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "the half-written staging folder is gone"


def test_interrupted_record_write_leaves_no_record(saved, tmp_path, monkeypatch):
    settings, _, result = saved
    folder = tmp_path / "inplace"
    result.trainer.save_model(str(folder))

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        training.record_run(folder, settings, result.metrics, 1.0)
    monkeypatch.undo()
    assert check_run(folder) is not None and not (folder / RUN_INFO).exists()
    assert not list(folder.glob(f".{RUN_INFO}*")), "the temporary record is removed"


def test_concurrent_publishes_never_mix_files(saved, tmp_path):
    import shutil

    _, folder, _ = saved
    first = shutil.copytree(folder, tmp_path / "first")
    second = shutil.copytree(folder, tmp_path / "second")
    (second / "extra.txt").write_text("only in the second run")
    info = json.loads((second / RUN_INFO).read_text())
    info["files"] = training._file_record(second)
    (second / RUN_INFO).write_text(json.dumps(info))
    target = tmp_path / "model"
    publish(first, target)
    publish(second, target)  # the second finished later: it replaces the first whole
    assert check_run(target) is None and (target / "extra.txt").exists()
    assert not first.exists() and not second.exists()


def test_publish_keeps_a_run_that_appeared_meanwhile(saved, tmp_path, monkeypatch):
    import shutil

    _, folder, _ = saved
    ours = shutil.copytree(folder, tmp_path / "ours")
    target = tmp_path / "model"
    real_replace = os.replace

    def theirs_first(src, dst):  # another notebook publishes between our check and our rename
        if Path(dst) == target and not target.exists():
            shutil.copytree(folder, target)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", theirs_first)
    publish(ours, target)
    assert check_run(target) is None


def test_ensure_finetuned_trains_reuses_and_retrains(tmp_path, capsys):
    settings = tiny_settings(tmp_path, max_train_samples=32)
    folder = ensure_finetuned(settings)
    assert "not found" in capsys.readouterr().out and check_run(folder) is None
    assert ensure_finetuned(settings) == folder and "Using notebook 5's" in capsys.readouterr().out
    (folder / "model.safetensors").write_bytes(b"broken")
    ensure_finetuned(settings)
    assert "incomplete" in capsys.readouterr().out and check_run(folder) is None
    other = tiny_settings(tmp_path, max_train_samples=32, learning_rate=1e-2)
    assert other.run_dir != settings.run_dir
    os.makedirs(other.run_dir, exist_ok=True)
    os.rename(folder, other.run_dir / "model")  # a run of other settings where these look
    ensure_finetuned(other)
    assert "other settings" in capsys.readouterr().out


def test_an_interrupted_tokenization_does_not_break_the_rerun(tokenizer, monkeypatch):
    """datasets writes map results to a temporary file and renames it when complete: stopping the kernel
    halfway leaves no cache file that a rerun would trust (the course keeps no cache of its own)."""
    raw = load_sst2("sample")
    real_call = type(tokenizer).__call__
    calls = []

    def stopped_halfway(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt("kernel stopped while tokenizing")
        return real_call(self, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "__call__", stopped_halfway)
    with pytest.raises(KeyboardInterrupt):
        tokenize(raw, tokenizer, max_length=24)
    monkeypatch.undo()
    rerun = tokenize(raw, tokenizer, max_length=24)
    assert rerun["train"].num_rows == raw["train"].num_rows
    assert rerun["train"]["input_ids"] == [tokenizer(s, truncation=True, max_length=24)["input_ids"]
                                           for s in raw["train"]["sentence"]]
