"""course_utils.models: the tiny offline checkpoint, and checking local checkpoint folders before use."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from pathlib import Path

import pytest

from course_utils import models
from course_utils.models import CheckpointError, check_checkpoint, resolve_checkpoint
from course_utils.sources import cache_dir


@pytest.fixture
def copy_of_tiny(tiny_path, tmp_path):
    """A copy of the tiny checkpoint to break."""
    return Path(shutil.copytree(tiny_path, tmp_path / "my-model"))


def problem(folder, *terms):
    with pytest.raises(CheckpointError, match=re.escape(f"folder {folder.resolve()} cannot be loaded")) as err:
        resolve_checkpoint(str(folder))
    for term in (*terms, "copy or download the whole checkpoint again", "COURSE_CHECKPOINT"):
        assert term in str(err.value), (term, str(err.value))


def edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


# ---------------------------------------------------------------------------------------
# The course cache and the tiny checkpoint


def test_cache_dir_follows_course_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    for unset in ("", "  "):
        monkeypatch.setenv("COURSE_CACHE", unset)
        assert cache_dir() == Path.home() / ".cache" / "course_utils"


def test_tests_build_in_a_temporary_cache(tiny_path, _temporary_caches):
    assert Path(tiny_path).is_relative_to(_temporary_caches)


def test_build_tiny_checkpoint_writes_a_small_distilbert(tmp_path):
    folder = models.build_tiny_checkpoint(tmp_path / "tiny")
    assert check_checkpoint(folder) == folder.resolve()
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "distilbert"
    assert (config["n_layers"], config["dim"]) == (2, 64)
    vocab_size = sum(1 for _ in open(models.VOCAB_FILE, encoding="utf-8"))
    assert config["vocab_size"] == vocab_size


def test_build_tiny_checkpoint_is_seeded(tmp_path):
    from safetensors.torch import load_file

    a, b, c = (load_file(str(models.build_tiny_checkpoint(tmp_path / name, seed=seed) / "model.safetensors"))
               for name, seed in (("a", 1), ("b", 1), ("c", 2)))
    assert a.keys() == b.keys() == c.keys()
    assert all((a[k] == b[k]).all() for k in a)
    assert any((a[k] != c[k]).any() for k in a)


@pytest.fixture
def counted_builds(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path))
    calls = []
    real = models.build_tiny_checkpoint
    monkeypatch.setattr(models, "build_tiny_checkpoint",
                        lambda folder, seed=0: calls.append(folder) or real(folder, seed))
    return calls


def test_tiny_checkpoint_is_built_once(counted_builds, tmp_path):
    first, second = models.tiny_checkpoint_path(), models.tiny_checkpoint_path()
    assert first == second == tmp_path / f"tiny-distilbert-v{models.TINY_VERSION}"
    assert len(counted_builds) == 1
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no temporary folders left
    assert first.stat().st_mode & 0o055 == 0o055  # readable by all, for a cache shared in a classroom


def test_a_broken_tiny_checkpoint_is_rebuilt(counted_builds, tmp_path):
    target = models.tiny_checkpoint_path()
    weights = target / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])  # cut short, as by a full disk
    assert models.tiny_checkpoint_path() == target
    assert len(counted_builds) == 2
    assert check_checkpoint(target) == target
    assert [p.name for p in tmp_path.iterdir()] == [target.name]


def test_concurrent_builders_keep_one_checkpoint(counted_builds, tmp_path):
    results, errors = [], []

    def build():
        try:
            results.append(models.tiny_checkpoint_path())
        except Exception as err:  # pragma: no cover - reported below
            errors.append(err)

    threads = [threading.Thread(target=build) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(set(results)) == 1
    assert check_checkpoint(results[0])
    assert [p.name for p in tmp_path.iterdir()] == [results[0].name]


def test_resolve_tiny_checkpoint(tiny_path):
    assert Path(tiny_path).name == f"tiny-distilbert-v{models.TINY_VERSION}"
    assert resolve_checkpoint("tiny-distilbert") == tiny_path


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


# ---------------------------------------------------------------------------------------
# Local folders: checked before anything loads them


def test_a_complete_folder_resolves_to_its_absolute_path(copy_of_tiny, monkeypatch):
    assert resolve_checkpoint(str(copy_of_tiny)) == str(copy_of_tiny)
    monkeypatch.chdir(copy_of_tiny.parent)
    assert resolve_checkpoint("my-model") == resolve_checkpoint("./my-model") == str(copy_of_tiny)
    monkeypatch.setenv("COURSE_START_DIR", str(copy_of_tiny.parent.parent))
    assert resolve_checkpoint(f"{copy_of_tiny.parent.name}/my-model") == str(copy_of_tiny)


def test_missing_folder_shows_the_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(f"checkpoint folder {tmp_path / 'nowhere'} does not exist")):
        resolve_checkpoint("./nowhere")


@pytest.mark.parametrize("cut", [lambda data: data[: len(data) // 2], lambda data: data[:-1], lambda data: b"\x00" * 4])
def test_damaged_safetensors_names_the_file(copy_of_tiny, cut):
    weights = copy_of_tiny / "model.safetensors"
    weights.write_bytes(cut(weights.read_bytes()))
    problem(copy_of_tiny, f"{weights} cannot be read, it was cut short or damaged")


def test_every_problem_is_listed_at_once(copy_of_tiny):
    (copy_of_tiny / "config.json").unlink()
    (copy_of_tiny / "model.safetensors").unlink()
    for name in ("tokenizer.json", "vocab.txt"):
        (copy_of_tiny / name).unlink(missing_ok=True)
    problem(copy_of_tiny, f"no config.json ({copy_of_tiny / 'config.json'})", "no weights: model.safetensors",
            "no tokenizer files: tokenizer.json, or vocab.txt")


def test_config_that_is_not_json_or_names_an_unknown_model(copy_of_tiny):
    edit_config(copy_of_tiny, model_type="no-such-model")
    problem(copy_of_tiny, f"{copy_of_tiny / 'config.json'} cannot be read", "no-such-model")
    (copy_of_tiny / "config.json").write_text('{"model_type": "distil')
    problem(copy_of_tiny, f"{copy_of_tiny / 'config.json'} cannot be read", "not a valid JSON")


# The config must describe the weights: else from_pretrained leaves every mismatched weight random.
@pytest.mark.parametrize("changes, terms", [
    (dict(n_layers=3), ["(distilbert) does not describe these weights", "16 of its 52 weights are not in",
                        "e.g. transformer.layer.2.", "0 have another shape"]),
    (dict(dim=32, hidden_dim=64), ["0 of its 36 weights", "36 have another shape",
                                   "is (30522, 64), the config says (30522, 32)"]),
    (dict(vocab_size=100), ["1 have another shape", "is (30522, 64), the config says (100, 64)"]),
    (dict(model_type="bert", hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128),
     ["(bert) does not describe these weights"]),
])
def test_a_config_that_does_not_describe_the_weights(copy_of_tiny, changes, terms):
    edit_config(copy_of_tiny, **changes)
    problem(copy_of_tiny, *terms)


def test_max_length_beyond_the_checkpoints_positions(tiny_path):
    assert resolve_checkpoint("tiny-distilbert", max_length=512) == tiny_path
    with pytest.raises(ValueError, match=r"max_length=513 is more than the 512 positions of the checkpoint tiny-"):
        resolve_checkpoint("tiny-distilbert", max_length=513)
    with pytest.raises(ValueError, match=r"max_length setting to 512 or less, e.g. get_settings\(PROFILE, max_len"):
        resolve_checkpoint(tiny_path, max_length=10_000)


def test_folder_without_tokenizer_files_fails_instead_of_a_tiny_tokenizer(copy_of_tiny):
    for name in ("tokenizer.json", "vocab.txt"):
        (copy_of_tiny / name).unlink(missing_ok=True)
    assert (copy_of_tiny / "tokenizer_config.json").exists()  # what remains would load as a 5-token tokenizer
    problem(copy_of_tiny, "no tokenizer files")


def test_tokenizer_alternatives(copy_of_tiny):
    (copy_of_tiny / "tokenizer.json").unlink()
    (copy_of_tiny / "vocab.txt").write_text("[PAD]\n[UNK]\n")
    assert check_checkpoint(copy_of_tiny)
    (copy_of_tiny / "vocab.txt").unlink()
    (copy_of_tiny / "vocab.json").write_text("{}")
    problem(copy_of_tiny, f"{copy_of_tiny / 'merges.txt'} is missing")
    (copy_of_tiny / "merges.txt").write_text("")
    assert check_checkpoint(copy_of_tiny)
    (copy_of_tiny / "vocab.json").unlink()
    (copy_of_tiny / "merges.txt").unlink()
    (copy_of_tiny / "spiece.model").write_bytes(b"x")
    assert check_checkpoint(copy_of_tiny)


def test_sharded_safetensors(copy_of_tiny):
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(copy_of_tiny / "model.safetensors"))
    (copy_of_tiny / "model.safetensors").unlink()
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2],
              "model-00002-of-00002.safetensors": names[len(names) // 2:]}
    for shard, keys in shards.items():
        save_file({k: tensors[k] for k in keys}, str(copy_of_tiny / shard))
    weight_map = {k: shard for shard, keys in shards.items() for k in keys}
    (copy_of_tiny / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    assert check_checkpoint(copy_of_tiny)
    (copy_of_tiny / "model-00002-of-00002.safetensors").unlink()
    problem(copy_of_tiny, "weight shards listed in", str(copy_of_tiny / "model-00002-of-00002.safetensors"))
    (copy_of_tiny / "model.safetensors.index.json").write_text('{"weight_map": ')
    problem(copy_of_tiny, f"{copy_of_tiny / 'model.safetensors.index.json'} is not a readable weights index")


def test_pytorch_bin_weights(copy_of_tiny):
    import torch
    from safetensors.torch import load_file

    torch.save(load_file(str(copy_of_tiny / "model.safetensors")), copy_of_tiny / "pytorch_model.bin")
    (copy_of_tiny / "model.safetensors").unlink()
    assert check_checkpoint(copy_of_tiny)
    weights = copy_of_tiny / "pytorch_model.bin"
    weights.write_bytes(weights.read_bytes()[: os.path.getsize(weights) // 2])
    problem(copy_of_tiny, f"{weights} cannot be read, it was cut short or damaged")

