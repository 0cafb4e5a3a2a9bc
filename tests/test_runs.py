"""course_utils.runs and sources.fingerprint: a saved run is reused only when provably the same run.

Nothing here trains except the one test marked slow: a "trained" folder is the tiny model saved as
it is (``save_pretrained``), and ``runs.finetune`` is replaced by a stub that records the call.
Interrupted and concurrent saves are simulated deterministically: a write fails at a chosen point
(monkeypatch), or two complete runs are published one after the other into one folder.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import types
from unittest import mock

import pytest
import torch
from safetensors.torch import load_file

from course_utils import files, runs, sources
from course_utils.data import SAMPLE_DIR
from course_utils.drift import snapshot
from course_utils.models import build_random_distilbert
from course_utils.runs import RUN_INFO, SNAPSHOT, check_run, ensure_finetuned, publish, read_run, save_run
from course_utils.settings import get_settings


def smoke(tmp_path, **overrides):
    return get_settings("smoke", env={}, **{"max_train_samples": 64, "output_dir": tmp_path / "out", **overrides})


@pytest.fixture
def trainer(_tiny_loaded):
    """Stands in for a Trainer after training: save_model writes the tiny model and its tokenizer."""
    tokenizer, model = _tiny_loaded
    return types.SimpleNamespace(model=model, save_model=lambda folder: [model.save_pretrained(folder),
                                                                         tokenizer.save_pretrained(folder)])


@pytest.fixture
def save(trainer):
    """save(settings) saves a run where ensure_finetuned looks for it, as notebook 5 does."""
    def save(settings, accuracy=0.5):
        return save_run(trainer, settings.run_dir / "model", settings, {"eval_accuracy": accuracy}, 1.0,
                        snapshot(trainer.model))
    return save


@pytest.fixture
def trainings(monkeypatch):
    """runs.finetune replaced by a stub: the list of settings ensure_finetuned trained with."""
    calls = []
    monkeypatch.setattr(runs, "finetune",
                        lambda settings, **kw: calls.append(settings) or (None, {"eval_accuracy": 0.5}, 0))
    return calls


def hidden(folder):
    return [p.name for p in folder.iterdir() if p.name.startswith(".")]


# --- the record, and reuse by content --------------------------------------------------------

def test_a_saved_run_is_complete_recorded_and_reused(tmp_path, save, trainings, capsys):
    settings = smoke(tmp_path)
    folder = save(settings, accuracy=0.625)
    assert check_run(folder) is None
    info = read_run(folder)
    assert info["identity"] == files.json_roundtrip(runs.identity(settings))
    assert set(info["identity"]["fingerprints"]) == {"checkpoint", "data"}
    assert {"config.json", "model.safetensors", SNAPSHOT} <= set(info["files"])
    assert hidden(folder.parent) == [], "no staging folder is left behind"
    assert ensure_finetuned(settings) == folder and trainings == []
    assert "Using notebook 5's fine-tuned model (validation accuracy 0.625)" in capsys.readouterr().out


@pytest.mark.parametrize("change", [  # (data folder, checkpoint folder) -> same names, same sizes, other content
    lambda data, _: (data / "train.tsv").write_text(re.sub(r"\t([01])\t", lambda m: f"\t{1 - int(m[1])}\t",
                                                           (data / "train.tsv").read_text("utf-8")), "utf-8"),
    lambda _, checkpoint: shutil.rmtree(checkpoint) or build_random_distilbert(checkpoint, "tiny", seed=1),
], ids=["training labels flipped", "another checkpoint"])
def test_a_changed_local_folder_is_trained_again(tmp_path, tiny_path, save, trainings, capsys, change):
    data, checkpoint = tmp_path / "sst2", tmp_path / "my-model"
    shutil.copytree(SAMPLE_DIR, data)
    shutil.copytree(tiny_path, checkpoint)
    settings = smoke(tmp_path, data=data, checkpoint=checkpoint)
    save(settings)
    assert ensure_finetuned(settings) and trainings == [], "an unchanged folder is reused"
    change(data, checkpoint)
    again = smoke(tmp_path, data=data, checkpoint=checkpoint)
    assert again.run_dir == settings.run_dir  # same paths, same settings: only the content differs
    ensure_finetuned(again)
    assert trainings == [again]
    assert "other settings, another checkpoint or other data" in capsys.readouterr().out


DAMAGES = {  # what happened to a saved run, and the word ensure_finetuned says before training again
    "never saved": (lambda folder: shutil.rmtree(folder), "not found"),
    "weights cut short": (lambda folder: os.truncate(folder / "model.safetensors", 1000), "incomplete"),
    "no record": (lambda folder: (folder / RUN_INFO).unlink(), "incomplete"),
    "garbled record": (lambda folder: (folder / RUN_INFO).write_text('{"format": 3, "files": '), "incomplete"),
    "old format": (lambda folder: files.write_json(folder / RUN_INFO, {**read_run(folder), "format": 2}), "incomplete"),
    # new weights beside an old record: an in-place save stopped after save_model
    "a file swapped": (lambda folder: (folder / "config.json").write_text(
        (folder / "config.json").read_text().replace("negative", "NEGATIVE")), "incomplete"),
}


@pytest.mark.parametrize("damage, said", DAMAGES.values(), ids=DAMAGES.keys())
def test_damaged_runs_are_never_trusted(tmp_path, save, trainings, capsys, damage, said):
    settings = smoke(tmp_path)
    folder = save(settings)
    damage(folder)
    assert read_run(folder) is None
    assert str(folder) in check_run(folder), "the reason names the folder or file"
    ensure_finetuned(settings)
    assert trainings == [settings] and said in capsys.readouterr().out


def test_record_run_needs_a_saved_model(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"no saved model.*trainer\.save_model"):
        runs.record_run(tmp_path, smoke(tmp_path), {}, 1.0)


# --- fingerprints ------------------------------------------------------------------------------

def test_an_unchanged_file_is_hashed_once(tmp_path, monkeypatch):
    reads = mock.Mock(wraps=hashlib.file_digest)
    monkeypatch.setattr(hashlib, "file_digest", reads)
    (tmp_path / "a.txt").write_text("one")
    sources.fingerprint(tmp_path)
    sources.fingerprint(tmp_path)
    assert reads.call_count == 2, "a file changed a moment ago is read again: its times may not have ticked yet"
    monkeypatch.setattr(sources, "SETTLED_NS", 0)  # as if the file had been there a while
    sources.fingerprint(tmp_path)
    sources.fingerprint(tmp_path)
    assert reads.call_count == 3


def test_fingerprint_of_a_missing_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="gone.*does not exist"):
        sources.fingerprint(tmp_path / "gone")


# --- saving: interrupted, concurrent, stale, unwritable --------------------------------------

def test_interrupted_save_leaves_the_previous_run_intact(tmp_path, save, trainer, monkeypatch):
    settings = smoke(tmp_path)
    folder = save(settings)
    before = read_run(folder)
    monkeypatch.setattr(runs, "publish", mock.Mock(side_effect=KeyboardInterrupt("kernel stopped while saving")))
    with pytest.raises(KeyboardInterrupt):
        save_run(trainer, folder, settings, {"eval_accuracy": 0.0}, 1.0)
    assert read_run(folder) == before, "the old run is untouched"
    assert hidden(folder.parent) == [], "the half-written staging folder is gone"


def test_interrupted_record_write_leaves_no_record(tmp_path, trainer, monkeypatch):
    folder = tmp_path / "inplace"
    trainer.save_model(folder)
    monkeypatch.setattr(os, "replace", mock.Mock(side_effect=OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        runs.record_run(folder, smoke(tmp_path), {"eval_accuracy": 0.5}, 1.0)
    monkeypatch.undo()
    assert check_run(folder) is not None and not (folder / RUN_INFO).exists()
    assert hidden(folder) == [], "the temporary record is removed"


@pytest.fixture
def two_runs(tmp_path, save):
    """Two complete runs (the second has one more file) and an empty place to publish them."""
    settings = smoke(tmp_path / "a")
    first = save(settings)
    second = shutil.copytree(first, tmp_path / "second")
    (second / "extra.txt").write_text("only in the second run")
    runs.record_run(second, settings, {"eval_accuracy": 0.5}, 1.0)
    return first, second, tmp_path / "model"


@pytest.mark.parametrize("there", ["an earlier run", "the same run", "a broken run"])
def test_publish_leaves_one_whole_run(two_runs, there):
    first, second, target = two_runs
    if there == "an earlier run":
        publish(second, target)  # the run with one more file
    elif there == "the same run":
        shutil.copytree(first, target)
    else:
        target.mkdir()
        (target / "model.safetensors").write_bytes(b"half")
    publish(first, target)
    assert check_run(target) is None and not (target / "extra.txt").exists(), "replaced whole (or the same, kept)"
    assert first.exists() == (there == "the same run"), "the same run: nothing moved (save_run removes its staging)"
    assert second.exists() == (there != "an earlier run") and hidden(target.parent) == []


def test_publish_keeps_a_run_that_appeared_meanwhile(two_runs, monkeypatch):
    first, second, target = two_runs
    real_replace = os.replace

    def theirs_first(src, dst):  # another notebook publishes between our check and our rename
        if os.fspath(dst) == os.fspath(target) and not target.exists():
            shutil.copytree(first, target)
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", theirs_first)
    publish(second, target)
    assert check_run(target) is None and not (target / "extra.txt").exists(), "theirs stays, whole"


def test_stale_staging_folders_are_removed_at_the_next_save(tmp_path, save):
    settings = smoke(tmp_path)
    parent = settings.run_dir
    hour_ago = time.time() - 2 * runs.STALE_AFTER
    for name in (".model.saving-old", ".model.old-old", ".model.saving-young", ".other.saving-old"):
        (parent / name).mkdir(parents=True)
        (parent / name / "model.safetensors").write_bytes(b"x" * 1000)
        if name.endswith("-old"):
            os.utime(parent / name, (hour_ago, hour_ago))
    save(settings)
    assert sorted(hidden(parent)) == [".model.saving-young", ".other.saving-old"], "a save still running is young"


@pytest.mark.parametrize("where", ["output_dir", "parent"])
def test_saving_under_a_file_names_course_output_dir(tmp_path, trainer, where):
    (tmp_path / "out").write_text("a file")
    folder = tmp_path / "out" / "run" / "model" if where == "output_dir" else tmp_path / "out" / "model"
    with pytest.raises(NotADirectoryError, match=r"out is a file.*COURSE_OUTPUT_DIR"):
        save_run(trainer, folder, smoke(tmp_path / "x"), {}, 1.0)


@pytest.fixture
def read_only(tmp_path, monkeypatch):
    """The output folder is read-only. Root ignores file modes, so os.access says so instead of chmod."""
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    real = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if os.fspath(path) == str(out) else
                        real(path, mode, **kw))
    return out


def test_a_read_only_output_folder_fails_before_training(tmp_path, read_only, trainer, monkeypatch):
    import course_utils.data

    monkeypatch.setattr(course_utils.data, "load_sst2", lambda *a, **k: pytest.fail("training started"))
    settings = smoke(tmp_path)
    with pytest.raises(PermissionError, match=rf"{read_only} is not writable.*COURSE_OUTPUT_DIR"):
        ensure_finetuned(settings)
    with pytest.raises(PermissionError, match="COURSE_OUTPUT_DIR"):
        save_run(trainer, settings.run_dir / "model", settings, {}, 1.0)
    assert list(read_only.iterdir()) == []


def test_a_read_only_output_folder_still_serves_a_saved_run(tmp_path, save, trainings, request):
    settings = smoke(tmp_path)
    save(settings)
    request.getfixturevalue("read_only")
    assert ensure_finetuned(settings) == settings.run_dir / "model" and trainings == []


# --- the real run --------------------------------------------------------------------------------

@pytest.mark.slow
def test_finetune_saves_a_complete_run_and_repeats_it(tmp_path):
    settings = smoke(tmp_path)
    folder = settings.run_dir / "model"
    _, metrics, _ = runs.finetune(settings, save_to=folder, evaluations=2)
    assert check_run(folder) is None
    assert read_run(folder)["metrics"]["eval_accuracy"] == pytest.approx(metrics["eval_accuracy"])
    weights, before = load_file(folder / "model.safetensors"), load_file(folder / SNAPSHOT)
    name = next(n for n in before if n.endswith("classifier.weight"))
    assert not torch.equal(weights[name], before[name]), "the snapshot holds the weights before training"
    again, _, _ = runs.finetune(settings, evaluations=2)  # same seed, data, order: same weights
    for name, tensor in again.model.state_dict().items():
        if name in weights:
            assert torch.equal(tensor, weights[name]), name
