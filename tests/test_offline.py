"""course_utils.offline and the offline paths of models/data: local copies work, the Hub fails fast."""

from __future__ import annotations

import time

import pytest

from course_utils import data, hub, models, offline
from course_utils.data import load_sst2
from course_utils.hub import HubUnavailableError
from course_utils.models import load_for_classification, resolve_checkpoint
from course_utils.settings import get_settings

OPTIONS = [r"COURSE_PROFILE=smoke", r"COURSE_CHECKPOINT=<folder>", r"COURSE_DATA=<folder>", r"`make offline-assets`"]


@pytest.fixture
def empty_hf_caches(tmp_path, monkeypatch):
    """Offline, with empty Hugging Face caches: nothing on this machine can stand in for the Hub."""
    import datasets.config
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
    return tmp_path


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
    import datasets

    test = sample["validation"].select(range(5)).map(lambda row: {"label": -1})
    raw = datasets.DatasetDict({"train": sample["train"], "validation": sample["validation"], "test": test})
    back = load_sst2(offline.save_sst2(tmp_path / "sst2", raw=raw))
    assert back["test"]["label"] == [-1] * 5
    assert back["test"]["sentence"] == test["sentence"]


def test_saved_checkpoint_folder_loads_offline(tmp_path, monkeypatch, _tiny_loaded):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    tokenizer, model = _tiny_loaded
    folder = tmp_path / "offline" / "my-distilbert"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    assert resolve_checkpoint(str(folder)) == str(folder)
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": str(folder)})
    assert s.checkpoint_name == "my-distilbert (local folder)"
    tok, loaded = load_for_classification(s.checkpoint, ["negative", "positive"])
    assert loaded.config.id2label == {0: "negative", 1: "positive"}
    assert tok("Hello world")["input_ids"] == tokenizer("Hello world")["input_ids"]
    assert all((a == b).all() for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_hub_id_in_the_cache_resolves_offline(empty_hf_caches):
    # The layout huggingface_hub writes: refs/main names the snapshot that holds the files.
    repo = empty_hf_caches / "hub" / "models--course-tests--cached-model"
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    assert resolve_checkpoint("course-tests/cached-model") == str(snapshot)


# ---------------------------------------------------------------------------------------
# Without the Hub: fail fast, name the options


def test_hub_checkpoint_offline_fails_fast(empty_hf_caches):
    start = time.perf_counter()
    with pytest.raises(HubUnavailableError, match=r"Could not load the checkpoint 'distilbert-base-uncased' from the Hugging Face Hub: "
                                                  r"HF_HUB_OFFLINE=1 is set and it is not in your cache") as err:
        resolve_checkpoint("distilbert-base-uncased")
    assert time.perf_counter() - start < 5
    assert_names_offline_options(str(err.value))


def test_load_for_classification_offline_fails_fast(empty_hf_caches):
    start = time.perf_counter()
    with pytest.raises(HubUnavailableError, match=r"the checkpoint 'bert-base-uncased'"):
        load_for_classification("bert-base-uncased", ["negative", "positive"])
    assert time.perf_counter() - start < 5


def test_hub_data_offline_fails_fast(empty_hf_caches):
    start = time.perf_counter()
    with pytest.raises(HubUnavailableError, match=r"Could not load the SST-2 data \(nyu-mll/glue, sst2\) from the Hugging Face Hub") as err:
        load_sst2("hub")
    assert time.perf_counter() - start < 5
    assert_names_offline_options(str(err.value))


def test_unreachable_hub_without_offline_mode(monkeypatch, empty_hf_caches):
    # HF_HUB_OFFLINE unset but no network: the course checks first and fails without retrying.
    import datasets

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
    monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("asked the Hub after all"))
    with pytest.raises(HubUnavailableError, match=r"huggingface\.co cannot be reached and it is not in your cache") as err:
        models.resolve_checkpoint("distilbert-base-uncased")
    assert_names_offline_options(str(err.value))
    with pytest.raises(HubUnavailableError, match=r"SST-2 data .*: huggingface\.co cannot be reached\."):
        load_sst2("hub")
    with pytest.raises(HubUnavailableError, match=r"this target needs the Hub"):
        offline.save_checkpoint("distilbert-base-uncased", empty_hf_caches / "ckpt")


def test_save_checkpoint_needs_the_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    target = tmp_path / "distilbert-base-uncased"
    with pytest.raises(HubUnavailableError, match=r"Could not load the checkpoint 'distilbert-base-uncased' from the Hugging Face Hub: "
                                                  r"this target needs the Hub; run it on a machine that can reach huggingface\.co") as err:
        offline.save_checkpoint("distilbert-base-uncased", target)
    assert_names_offline_options(str(err.value))
    assert not target.exists()


def test_offline_assets_command_needs_the_hub(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubUnavailableError, match=r"this target needs the Hub"):
        offline.main([str(tmp_path / "assets"), "--checkpoint", "distilbert-base-uncased"])
    assert not (tmp_path / "assets" / "sst2").exists()  # nothing half-written


def test_hub_unreachable_when_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.hub_reachable() is False
