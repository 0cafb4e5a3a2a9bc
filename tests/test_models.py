"""course_utils.models: label maps, the tiny offline checkpoint, resolving and loading checkpoints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from course_utils import models
from course_utils.models import label_maps, load_for_classification, read_config, resolve_checkpoint

LABELS = ["negative", "positive"]


def test_label_maps():
    id2label, label2id = label_maps(LABELS)
    assert id2label == {0: "negative", 1: "positive"}
    assert label2id == {"negative": 0, "positive": 1}
    three = ["neg", "neutral", "pos"]
    id2label, label2id = label_maps(three)
    assert all(label2id[id2label[i]] == i for i in range(3))


@pytest.mark.parametrize("names", [[], ["negative", "negative"], ["negative", ""], ["a", None], [0, 1]])
def test_label_maps_rejects_bad_names(names):
    with pytest.raises(ValueError, match=r"Label names must be distinct, non-empty strings, e\.g\. \['negative', 'positive'\]; got"):
        label_maps(names)


def test_cache_dir_follows_course_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    assert models.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("COURSE_CACHE")
    assert models.cache_dir() == Path.home() / ".cache" / "course_utils"


def test_build_tiny_checkpoint_writes_a_small_distilbert(tmp_path):
    folder = models.build_tiny_checkpoint(tmp_path / "tiny")
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer_config.json"} <= names
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "distilbert"
    assert (config["n_layers"], config["dim"]) == (2, 64)
    vocab_size = sum(1 for _ in open(models.VOCAB_FILE, encoding="utf-8"))
    assert config["vocab_size"] == vocab_size


def test_build_tiny_checkpoint_is_seeded(tmp_path):
    from safetensors.torch import load_file

    a = load_file(str(models.build_tiny_checkpoint(tmp_path / "a", seed=1) / "model.safetensors"))
    b = load_file(str(models.build_tiny_checkpoint(tmp_path / "b", seed=1) / "model.safetensors"))
    c = load_file(str(models.build_tiny_checkpoint(tmp_path / "c", seed=2) / "model.safetensors"))
    assert a.keys() == b.keys() == c.keys()
    assert all((a[k] == b[k]).all() for k in a)
    assert any((a[k] != c[k]).any() for k in a)


def test_tiny_checkpoint_is_built_once(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    calls = []
    real = models.build_tiny_checkpoint
    monkeypatch.setattr(models, "build_tiny_checkpoint", lambda folder, seed=0: calls.append(folder) or real(folder, seed))
    first = models.tiny_checkpoint_path()
    second = models.tiny_checkpoint_path()
    assert first == second == tmp_path / f"tiny-distilbert-v{models.TINY_VERSION}"
    assert (first / "model.safetensors").exists()
    assert len(calls) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".building-")]  # no leftovers


def test_resolve_tiny_checkpoint(tiny_path):
    assert Path(tiny_path).name == f"tiny-distilbert-v{models.TINY_VERSION}"
    assert (Path(tiny_path) / "config.json").exists()
    assert resolve_checkpoint("tiny-distilbert") == tiny_path
    assert read_config(tiny_path)["model_type"] == "distilbert"


def test_read_config_of_a_folder_without_one(tmp_path):
    assert read_config(str(tmp_path)) == {}


def test_tiny_tokenizer_gives_bert_base_uncased_ids(tiny_tokenizer):
    # The real bert-base-uncased / distilbert-base-uncased ids for this sentence ...
    expected = [101, 7592, 2088, 1010, 23653, 999, 102]
    ids = tiny_tokenizer("Hello world, unbelievable!")["input_ids"]
    assert ids == expected
    # ... which are these tokens' line numbers in the shipped vocabulary.
    vocab = Path(models.VOCAB_FILE).read_text(encoding="utf-8").splitlines()
    assert [vocab.index(t) for t in ["[CLS]", "hello", "world", ",", "unbelievable", "!", "[SEP]"]] == expected
    assert tiny_tokenizer.convert_ids_to_tokens(ids) == ["[CLS]", "hello", "world", ",", "unbelievable", "!", "[SEP]"]


def test_load_for_classification_attaches_label_names(_tiny_loaded):
    tokenizer, model = _tiny_loaded
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}
    assert model.config.num_labels == 2
    assert model.classifier.out_features == 2
    assert tokenizer.pad_token_id == 0


def test_load_for_classification_with_three_labels():
    _, model = load_for_classification("tiny-distilbert", ["neg", "neutral", "pos"])
    assert model.classifier.out_features == 3
    assert model.config.id2label[1] == "neutral"


def test_load_for_classification_rejects_bad_labels():
    with pytest.raises(ValueError, match=r"Label names must be distinct"):
        load_for_classification("tiny-distilbert", ["positive", "positive"])


def test_missing_checkpoint_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"Checkpoint folder 'gone \(local folder\)' not found\. Check COURSE_CHECKPOINT.*save_pretrained\(\)") as err:
        resolve_checkpoint(str(tmp_path / "gone"))
    assert str(tmp_path) not in str(err.value)
    with pytest.raises(FileNotFoundError, match=r"Checkpoint folder 'nowhere \(local folder\)' not found"):
        resolve_checkpoint("./nowhere")


def test_folder_without_config_json(tmp_path):
    folder = tmp_path / "weights-only"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"The folder 'weights-only' has no config\.json, so it is not a Hugging Face checkpoint\. "
                                                r"Point COURSE_CHECKPOINT at a folder written by save_pretrained\(\) or `make offline-assets`"):
        resolve_checkpoint(str(folder))


def test_relative_checkpoint_folder_resolves(tmp_path, monkeypatch, tiny_path):
    import shutil

    shutil.copytree(tiny_path, tmp_path / "models" / "mine")
    monkeypatch.chdir(tmp_path)
    assert resolve_checkpoint("models/mine") == "models/mine"
    assert resolve_checkpoint("./models/mine") == "models/mine"
