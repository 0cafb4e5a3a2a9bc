"""course_utils.offline and the offline paths of models/data: local copies work, the Hub fails fast."""

from __future__ import annotations

import shutil
import socket
import time

import datasets
import huggingface_hub.constants
import pytest

from course_utils import data, hub, offline
from course_utils.data import load_sst2
from course_utils.hub import HubUnavailableError
from course_utils.models import resolve_checkpoint
from course_utils.settings import get_settings

OPTIONS = ["COURSE_PROFILE=smoke", "COURSE_CHECKPOINT=<folder>", "COURSE_DATA=<folder>", "`make offline-assets`"]


@pytest.fixture
def empty_hf_caches(tmp_path, monkeypatch):
    """Offline, with empty Hugging Face caches: nothing on this machine can stand in for the Hub."""
    import datasets.config

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    return tmp_path


@pytest.fixture
def unreachable_hub(monkeypatch, empty_hf_caches):
    """HF_HUB_OFFLINE unset, but no network: the course must check first and not retry."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("asked the Hub after all"))
    return empty_hf_caches


def assert_names_offline_options(message):
    for option in OPTIONS:
        assert option in message, option


# ---------------------------------------------------------------------------------------
# Local copies


def test_save_sst2_round_trips(tmp_path, sample):
    folder = offline.save_sst2(tmp_path / "sst2", raw=sample)
    assert sorted(p.name for p in folder.iterdir()) == ["train.parquet", "validation.parquet"]
    back = load_sst2(folder)
    assert set(back) == set(sample)
    for split in sample:
        assert back[split].features == data.features()
        for column in ("sentence", "label", "idx"):
            assert back[split][column] == sample[split][column]


def test_save_sst2_keeps_a_hidden_test_split(tmp_path, sample):
    test = sample["validation"].select(range(5)).map(lambda row: {"label": -1})
    raw = datasets.DatasetDict({"train": sample["train"], "validation": sample["validation"], "test": test})
    back = load_sst2(offline.save_sst2(tmp_path / "sst2", raw=raw))
    assert back["test"]["label"] == [-1] * 5
    assert back["test"]["sentence"] == test["sentence"]


def test_saved_checkpoint_folder_loads_offline(tmp_path, _tiny_loaded):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer, model = _tiny_loaded
    folder = tmp_path / "offline" / "my-distilbert"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": str(folder)})
    assert s.checkpoint_name == "my-distilbert (local folder)"
    path = resolve_checkpoint(s.checkpoint)
    assert path == str(folder)
    loaded = AutoModelForSequenceClassification.from_pretrained(path)
    assert loaded.config.id2label == {0: "negative", 1: "positive"}
    assert AutoTokenizer.from_pretrained(path)("Hello world")["input_ids"] == tokenizer("Hello world")["input_ids"]
    assert all((a == b).all() for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def _cache_repo(hub_cache, repo_id, snapshot_from):
    """The layout huggingface_hub writes: refs/main names the snapshot that holds the files."""
    repo = hub_cache / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / ("0" * 40)
    shutil.copytree(snapshot_from, snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    return snapshot


def test_hub_id_in_the_cache_resolves_offline(empty_hf_caches, tiny_path):
    snapshot = _cache_repo(empty_hf_caches / "hub", "course-tests/cached-model", tiny_path)
    assert resolve_checkpoint("course-tests/cached-model") == str(snapshot)


def test_a_broken_copy_in_the_cache_is_reported(empty_hf_caches, tiny_path):
    snapshot = _cache_repo(empty_hf_caches / "hub", "course-tests/cached-model", tiny_path)
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="no weights"):
        resolve_checkpoint("course-tests/cached-model")


# ---------------------------------------------------------------------------------------
# Without the Hub: fail fast, name the options


@pytest.fixture
def no_wait(monkeypatch):
    """Failing fast, without a clock: no connection is attempted and nothing waits to retry."""
    def fail(what):
        return lambda *args, **kwargs: pytest.fail(what)

    monkeypatch.setattr(socket, "create_connection", fail("opened a connection"))
    monkeypatch.setattr(socket.socket, "connect", fail("opened a connection"))
    monkeypatch.setattr(time, "sleep", fail("waited to retry"))


def test_hub_checkpoint_offline_fails_fast(empty_hf_caches, no_wait):
    terms = r"checkpoint 'distilbert-base-uncased'.*HF_HUB_OFFLINE=1 is set"
    with pytest.raises(HubUnavailableError, match=terms) as err:
        resolve_checkpoint("distilbert-base-uncased")
    assert_names_offline_options(str(err.value))


def test_hub_data_offline_fails_fast(empty_hf_caches, no_wait):
    with pytest.raises(HubUnavailableError, match=r"SST-2 data \(nyu-mll/glue, sst2\).*HF_HUB_OFFLINE=1 is set") as err:
        load_sst2("hub")
    assert_names_offline_options(str(err.value))


def test_unreachable_hub_without_offline_mode(unreachable_hub, no_wait):
    terms = r"huggingface\.co cannot be reached and it is not in your cache"
    with pytest.raises(HubUnavailableError, match=terms) as err:
        resolve_checkpoint("distilbert-base-uncased")
    assert_names_offline_options(str(err.value))
    with pytest.raises(HubUnavailableError, match=r"SST-2 data .*: huggingface\.co cannot be reached\."):
        load_sst2("hub")


@pytest.mark.parametrize("mode", ["offline", "unreachable"])
def test_offline_assets_need_the_hub(request, tmp_path, no_wait, mode):
    request.getfixturevalue("empty_hf_caches" if mode == "offline" else "unreachable_hub")
    target = tmp_path / "assets"
    with pytest.raises(HubUnavailableError, match=r"'distilbert-base-uncased'.*this target needs the Hub") as err:
        offline.main([str(target), "--checkpoint", "distilbert-base-uncased"])
    assert_names_offline_options(str(err.value))
    assert not target.exists()  # nothing half-written
