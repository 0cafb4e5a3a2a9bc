"""Shared fixtures: the tiny checkpoint, model and tokenizer (loaded once; tests that change a model get
their own copy), tiny in-memory BERTs, the SST-2 sample, stand-ins for the GPU and the network, a strategies
grid. The top-level conftest.py sets up the rest (offline, smoke profile, temporary caches)."""

from __future__ import annotations

import copy
import shutil
import socket
import time
from pathlib import Path

import pytest

from course_utils.files import read_json, write_json


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """The tiny models gain nothing from a second thread, and on a busy machine threads waiting for
    each other made the training tests 4-5 times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_path():
    """Folder of the tiny DistilBERT checkpoint (built once, in this session's course cache)."""
    from course_utils.models import resolve_checkpoint

    return resolve_checkpoint("tiny-distilbert")


@pytest.fixture
def tiny_copy(tiny_path, tmp_path):
    """tiny_copy(**config_changes): the tiny checkpoint copied to tmp_path / "my-model", to break."""
    def copy_of_tiny(**config_changes) -> Path:
        folder = Path(shutil.copytree(tiny_path, tmp_path / "my-model", dirs_exist_ok=True))
        write_json(folder / "config.json", {**read_json(folder / "config.json"), **config_changes})
        return folder

    return copy_of_tiny


@pytest.fixture(scope="session")
def _tiny_loaded(tiny_path):
    """Tokenizer and classifier of the tiny checkpoint, loaded the way the notebooks do it."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(tiny_path, **_label_names())
    return AutoTokenizer.from_pretrained(tiny_path), model


@pytest.fixture(scope="session")
def tiny_tokenizer(_tiny_loaded):
    return _tiny_loaded[0]


@pytest.fixture
def tiny_model(_tiny_loaded):
    """A fresh copy of the tiny DistilBERT classifier (2 layers, all weights trainable), safe to modify."""
    model = copy.deepcopy(_tiny_loaded[1])
    model.requires_grad_(True)
    return model


@pytest.fixture(scope="session")
def make_bert():
    """make_bert(hidden_size=32, num_layers=3, vocab_size=1200, seed=0): a tiny BertForSequenceClassification
    built from a config (random weights, no download), for tests that need BERTs of different sizes."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    def make(hidden_size: int = 32, num_layers: int = 3, vocab_size: int = 1200, seed: int = 0):
        config = BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                            num_attention_heads=2, intermediate_size=2 * hidden_size, max_position_embeddings=64,
                            **_label_names())
        torch.manual_seed(seed)
        return BertForSequenceClassification(config)

    return make


@pytest.fixture
def tiny_bert(make_bert):
    return make_bert()


def _label_names() -> dict:
    return {"num_labels": 2, "id2label": {0: "negative", 1: "positive"}, "label2id": {"negative": 0, "positive": 1}}


@pytest.fixture
def set_gpu(monkeypatch):
    """set_gpu(True or False): as if torch saw a CUDA GPU or none, for the profile's choice and the run card."""
    from course_utils import notebook, settings

    def set_available(available: bool):
        for module in (settings, notebook):
            monkeypatch.setattr(module, "cuda_available", lambda: available)

    return set_available


@pytest.fixture
def no_network(monkeypatch):
    """Failing fast, without a clock: a test fails if a connection is attempted or anything waits to retry."""
    for owner, name in ((socket, "create_connection"), (socket.socket, "connect"), (time, "sleep")):
        monkeypatch.setattr(owner, name, lambda *args, _name=name, **kwargs: pytest.fail(f"called {_name}"))


@pytest.fixture(scope="session")
def sample():
    """The SST-2 sample shipped with course_utils (treat as read-only)."""
    from course_utils.data import load_sst2

    return load_sst2("sample")


@pytest.fixture(scope="session")
def grid_record():
    """grid_record({strategy: validation accuracy by seed}, seeds=(1, 2, 3)): a grid at n=100 that check_grid passes:
    each strategy tried at 1e-4, 3e-4 and 1e-3 on the first seed, 3e-4 chosen and run on every seed."""
    def make(accuracies: dict, seeds=(1, 2, 3)) -> dict:
        return {"checkpoint": "tiny", "device": "CPU (2 threads)", "seeds": list(seeds), "sizes": [100],
                "strategies": list(accuracies),
                "tuning_sentences": 50, "majority": 0.51, "chosen": {s: {"100": 3e-4} for s in accuracies},
                "runs": [{"strategy": strategy, "size": 100, "value": value, "seed": seed, "validation": accuracy,
                          "positive_share": 0.5, "steps": 200, "floor": 125, "seconds": 2.0, "trainable": 10,
                          "losses": [[25, 0.7], [200, 0.3]]}
                         for strategy, by_seed in accuracies.items() for value in (1e-4, 3e-4, 1e-3)
                         for seed, accuracy in zip(seeds, by_seed) if value == 3e-4 or seed == seeds[0]]}

    return make
