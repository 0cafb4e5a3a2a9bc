"""course_utils.models: the tiny offline checkpoint, and checking local checkpoint folders before use."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

import pytest
import torch
from huggingface_hub import save_torch_state_dict
from safetensors.torch import load_file

from course_utils import models
from course_utils.files import read_json
from course_utils.models import CheckpointError, check_checkpoint, resolve_checkpoint
from course_utils.sources import cache_dir


def problem(folder, *terms):
    with pytest.raises(CheckpointError, match=re.escape(f"folder {folder.resolve()} cannot be loaded")) as err:
        resolve_checkpoint(str(folder))
    for term in (*terms, "copy or download the whole checkpoint again", "COURSE_CHECKPOINT"):
        assert term in str(err.value), (term, str(err.value))


# --- The course cache and the tiny checkpoint -----------------------------------------------------

def test_cache_dir_follows_course_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    for unset in ("", "  "):
        monkeypatch.setenv("COURSE_CACHE", unset)
        assert cache_dir() == Path.home() / ".cache" / "course_utils"


def test_build_tiny_checkpoint_writes_a_small_seeded_distilbert(tmp_path):
    folders = [models.build_tiny_checkpoint(tmp_path / str(n), seed=seed) for n, seed in enumerate((1, 1, 2))]
    assert check_checkpoint(folders[0]) == folders[0].resolve()
    config = read_json(folders[0] / "config.json")
    assert (config["model_type"], config["n_layers"], config["dim"]) == ("distilbert", 2, 64)
    assert config["vocab_size"] == len(Path(models.VOCAB_FILE).read_text(encoding="utf-8").splitlines())
    a, b, c = (load_file(str(folder / "model.safetensors")) for folder in folders)
    assert a.keys() == b.keys() == c.keys()
    assert all((a[k] == b[k]).all() for k in a)
    assert any((a[k] != c[k]).any() for k in a)


@pytest.fixture
def counted_builds(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    builds = mock.Mock(wraps=models.build_tiny_checkpoint)
    monkeypatch.setattr(models, "build_tiny_checkpoint", builds)
    return builds


def test_tiny_checkpoint_is_built_once_and_again_when_broken(counted_builds, tmp_path):
    first, second = models.tiny_checkpoint_path(), models.tiny_checkpoint_path()
    assert first == second == tmp_path / f"tiny-distilbert-v{models.TINY_VERSION}"
    assert counted_builds.call_count == 1
    assert first.stat().st_mode & 0o055 == 0o055  # readable by all, for a cache shared in a classroom
    os.truncate(first / "model.safetensors", 1000)  # cut short, as by a full disk
    assert models.tiny_checkpoint_path() == first and counted_builds.call_count == 2
    assert check_checkpoint(first) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary folders left


def test_concurrent_builders_keep_one_checkpoint(counted_builds, tmp_path):
    with ThreadPoolExecutor(3) as pool:  # an error in a builder is raised here
        results = list(pool.map(lambda _: models.tiny_checkpoint_path(), range(3)))
    assert len(set(results)) == 1 and check_checkpoint(results[0])
    assert [p.name for p in tmp_path.iterdir()] == [results[0].name]


def test_tiny_tokenizer_gives_bert_base_uncased_ids(tiny_tokenizer):
    # The real bert-base-uncased / distilbert-base-uncased ids for this sentence ...
    expected = [101, 7592, 2088, 1010, 23653, 999, 102]
    ids = tiny_tokenizer("Hello world, unbelievable!")["input_ids"]
    assert ids == expected
    # ... which are these tokens' line numbers in the shipped vocabulary.
    vocab = Path(models.VOCAB_FILE).read_text(encoding="utf-8").splitlines()
    tokens = ["[CLS]", "hello", "world", ",", "unbelievable", "!", "[SEP]"]
    assert [vocab.index(t) for t in tokens] == expected
    assert tiny_tokenizer.convert_ids_to_tokens(ids) == tokens


# --- Local folders: checked before anything loads them --------------------------------------------

def test_a_complete_folder_resolves_to_its_absolute_path(tiny_copy, monkeypatch):
    folder = tiny_copy()
    assert resolve_checkpoint(str(folder)) == str(folder)
    monkeypatch.chdir(folder.parent)
    assert resolve_checkpoint("my-model") == resolve_checkpoint("./my-model") == str(folder)
    monkeypatch.setenv("COURSE_START_DIR", str(folder.parent.parent))
    assert resolve_checkpoint(f"{folder.parent.name}/my-model") == str(folder)


def test_missing_folder_shows_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(f"checkpoint folder {tmp_path / 'nowhere'} does not exist")):
        resolve_checkpoint("./nowhere")


def cut(name, keep):
    return lambda folder: (folder / name).write_bytes(keep((folder / name).read_bytes()))


def swap(removed, added=()):
    """Breaks a copy: the files ``removed`` deleted, then ``added`` ({name: text}) written."""
    def apply(folder):
        for name in removed:
            (folder / name).unlink(missing_ok=True)
        for name, text in dict(added).items():
            (folder / name).write_text(text)

    return apply


DAMAGED = "{f}/model.safetensors cannot be read, it was cut short or damaged"
BROKEN = {  # how a copy of the tiny checkpoint is broken (a dict: config.json changes), key terms ({f}: the folder)
    "half the weights": (cut("model.safetensors", lambda data: data[: len(data) // 2]), [DAMAGED]),
    "weights less a byte": (cut("model.safetensors", lambda data: data[:-1]), [DAMAGED]),
    "weights garbled": (cut("model.safetensors", lambda data: b"\x00" * 4), [DAMAGED]),
    "every problem at once": (swap(["config.json", "model.safetensors", "tokenizer.json", "vocab.txt"]),
                              ["no config.json ({f}/config.json)", "no weights: model.safetensors",
                               "no tokenizer files: tokenizer.json, or vocab.txt"]),
    # what remains (tokenizer_config.json) would load as a 5-token tokenizer
    "no tokenizer files": (swap(["tokenizer.json", "vocab.txt"]), ["no tokenizer files"]),
    "vocab.json alone": (swap(["tokenizer.json", "vocab.txt"], {"vocab.json": "{}"}), ["{f}/merges.txt is missing"]),
    "config not JSON": (swap([], {"config.json": '{"model_type": "distil'}),
                        ["{f}/config.json cannot be read", "not a valid JSON"]),
    "unknown model": ({"model_type": "no-such-model"}, ["{f}/config.json cannot be read", "no-such-model"]),
    # The config must describe the weights: else from_pretrained leaves every mismatched weight random.
    "more layers": ({"n_layers": 3}, ["(distilbert) does not describe these weights", "16 of its 52 weights are not in",
                                      "e.g. transformer.layer.2.", "0 have another shape"]),
    "narrower": ({"dim": 32, "hidden_dim": 64}, ["0 of its 36 weights", "36 have another shape",
                                                 "is (30522, 64), the config says (30522, 32)"]),
    "smaller vocabulary": ({"vocab_size": 100}, ["1 have another shape", "is (30522, 64), the config says (100, 64)"]),
    "another model type": (dict(model_type="bert", hidden_size=64, num_hidden_layers=2, num_attention_heads=2,
                                intermediate_size=128), ["(bert) does not describe these weights"]),
}


@pytest.mark.parametrize("damage, terms", BROKEN.values(), ids=BROKEN.keys())
def test_a_broken_folder_is_refused_with_each_problem_and_the_fix(tiny_copy, damage, terms):
    folder = tiny_copy(**damage) if isinstance(damage, dict) else tiny_copy()
    if callable(damage):
        damage(folder)
    problem(folder, *(term.format(f=folder) for term in terms))


def test_max_length_beyond_the_checkpoints_positions(tiny_path):
    assert resolve_checkpoint("tiny-distilbert", max_length=512) == tiny_path
    with pytest.raises(ValueError, match=r"max_length=513 is more than the 512 positions of the checkpoint tiny-"):
        resolve_checkpoint("tiny-distilbert", max_length=513)
    with pytest.raises(ValueError, match=r"max_length setting to 512 or less, e.g. get_settings\(PROFILE, max_len"):
        resolve_checkpoint(tiny_path, max_length=10_000)


@pytest.mark.parametrize("files", [{"vocab.txt": "[PAD]\n[UNK]\n"}, {"vocab.json": "{}", "merges.txt": ""},
                                   {"spiece.model": "x"}], ids=["WordPiece", "BPE", "SentencePiece"])
def test_tokenizer_alternatives(tiny_copy, files):
    folder = tiny_copy()
    swap(["tokenizer.json", "vocab.txt"], files)(folder)
    assert check_checkpoint(folder)


def test_sharded_safetensors(tiny_copy):
    folder = tiny_copy()
    tensors = load_file(str(folder / "model.safetensors"))
    (folder / "model.safetensors").unlink()
    save_torch_state_dict(tensors, folder, max_shard_size="4MB")  # shards and their index, as save_pretrained does
    shards = sorted(folder.glob("model-*-of-*.safetensors"))
    assert len(shards) > 1 and check_checkpoint(folder)
    shards[-1].unlink()
    problem(folder, "weight shards listed in", str(shards[-1]))
    (folder / "model.safetensors.index.json").write_text('{"weight_map": ')
    problem(folder, f"{folder / 'model.safetensors.index.json'} is not a readable weights index")


def test_pytorch_bin_weights(tiny_copy):
    folder = tiny_copy()
    torch.save(load_file(str(folder / "model.safetensors")), folder / "pytorch_model.bin")
    (folder / "model.safetensors").unlink()
    assert check_checkpoint(folder)
    weights = folder / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[: os.path.getsize(weights) // 2])
    problem(folder, f"{weights} cannot be read, it was cut short or damaged")

