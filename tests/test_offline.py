"""course_utils.offline and the offline paths of models/data: local copies work, the Hub fails fast."""

from __future__ import annotations

import shutil

import datasets
import huggingface_hub.constants
import pytest
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from course_utils import data, hub, offline
from course_utils.data import load_sst2
from course_utils.models import resolve_checkpoint
from course_utils.settings import get_settings


@pytest.fixture
def no_hub(tmp_path, monkeypatch):
    """no_hub(offline): empty Hugging Face caches, so nothing on this machine can stand in for the Hub, and
    HF_HUB_OFFLINE=1 (offline=True) or no network with HF_HUB_OFFLINE unset (the course must check first)."""
    import datasets.config

    def set_up(offline=True):
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
        monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "datasets")
        if not offline:
            monkeypatch.setattr(hub, "hub_reachable", lambda timeout=3.0: False)
            monkeypatch.setattr(datasets, "load_dataset", lambda *a, **k: pytest.fail("asked the Hub after all"))
        return tmp_path

    return set_up


# --- Local copies ---------------------------------------------------------------------------------

def test_save_sst2_round_trips_with_a_hidden_test_split(tmp_path, sample):
    raw = datasets.DatasetDict({**sample, "test": sample["validation"].select(range(5)).map(lambda row: {"label": -1})})
    folder = offline.save_sst2(tmp_path / "sst2", raw=raw)
    assert sorted(p.name for p in folder.iterdir()) == ["test.parquet", "train.parquet", "validation.parquet"]
    back = load_sst2(folder)
    assert set(back) == set(raw) and back["test"]["label"] == [-1] * 5
    for split in raw:
        assert back[split].features == data.features() and back[split].to_dict() == raw[split].to_dict()


def test_saved_checkpoint_folder_loads_offline(tmp_path, _tiny_loaded):
    tokenizer, model = _tiny_loaded
    folder = tmp_path / "offline" / "my-distilbert"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": str(folder)})
    assert s.checkpoint_name == "my-distilbert (local folder)" and resolve_checkpoint(s.checkpoint) == str(folder)
    loaded = AutoModelForSequenceClassification.from_pretrained(folder)
    assert loaded.config.id2label == {0: "negative", 1: "positive"}
    assert AutoTokenizer.from_pretrained(folder)("Hello world")["input_ids"] == tokenizer("Hello world")["input_ids"]
    assert all((a == b).all() for a, b in zip(loaded.state_dict().values(), model.state_dict().values()))


def test_hub_id_in_the_cache_resolves_offline_and_is_checked(no_hub, tiny_path):
    repo = no_hub() / "hub" / "models--course-tests--cached-model"  # as huggingface_hub writes it:
    snapshot = shutil.copytree(tiny_path, repo / "snapshots" / ("0" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)  # refs/main names the snapshot that holds the files
    assert resolve_checkpoint("course-tests/cached-model") == str(snapshot)
    (snapshot / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="no weights"):
        resolve_checkpoint("course-tests/cached-model")


# --- Without the Hub: fail fast, name the options -------------------------------------------------

CALLS = {  # what needs the Hub, given the folder offline assets would be written to
    "checkpoint": lambda out: resolve_checkpoint("distilbert-base-uncased"),
    "hub data": lambda out: load_sst2("hub"),
    "offline assets": lambda out: offline.main([str(out), "--checkpoint", "distilbert-base-uncased"]),
}


@pytest.mark.parametrize("offline_mode, call, terms", [
    (True, "checkpoint", r"checkpoint 'distilbert-base-uncased'.*HF_HUB_OFFLINE=1 is set"),
    (True, "hub data", r"SST-2 data \(nyu-mll/glue, sst2\).*HF_HUB_OFFLINE=1 is set"),
    (False, "checkpoint", r"huggingface\.co cannot be reached and it is not in your cache"),
    (False, "hub data", r"SST-2 data .*: huggingface\.co cannot be reached\."),
    (True, "offline assets", r"'distilbert-base-uncased'.*this target needs the Hub"),
    (False, "offline assets", r"'distilbert-base-uncased'.*this target needs the Hub"),
])
def test_without_the_hub_fails_fast_naming_the_options(no_hub, no_network, tmp_path, offline_mode, call, terms):
    no_hub(offline_mode)
    with pytest.raises(hub.HubUnavailableError, match=terms) as err:
        CALLS[call](tmp_path / "assets")
    assert "COURSE_CHECKPOINT=<folder>" in str(err.value)  # the options: test_hub checks them all
    assert not (tmp_path / "assets").exists()  # nothing half-written
