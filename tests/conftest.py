"""Shared fixtures for the unit tests: temporary caches, the tiny model, a tiny BERT, the SST-2 sample.

The repository's top-level conftest.py makes every test run offline in the smoke profile
(HF_HUB_OFFLINE=1, COURSE_* overrides removed). Loading a model is the slow part, so it happens
once per session; tests that change a model get their own deep copy.
"""

from __future__ import annotations

import copy

import pytest

LABELS = ["negative", "positive"]


@pytest.fixture(scope="session", autouse=True)
def _temporary_caches(tmp_path_factory):
    """Whatever the tests build or cache (the tiny checkpoint, datasets' Arrow files) goes to a
    temporary folder of this session, never into the user's home. The libraries read the
    variables when imported, so their settings are pointed there too."""
    import datasets.config
    import huggingface_hub.constants

    root = tmp_path_factory.mktemp("caches")
    hf_home, datasets_cache = root / "huggingface", root / "huggingface" / "datasets"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COURSE_CACHE", str(root / "course"))
        mp.setenv("HF_HOME", str(hf_home))
        mp.setenv("HF_DATASETS_CACHE", str(datasets_cache))
        mp.setattr(datasets.config, "HF_DATASETS_CACHE", datasets_cache)
        mp.setattr(datasets.config, "DOWNLOADED_DATASETS_PATH", datasets_cache / "downloads")
        mp.setattr(datasets.config, "EXTRACTED_DATASETS_PATH", datasets_cache / "downloads" / "extracted")
        mp.setattr(huggingface_hub.constants, "HF_HOME", str(hf_home))
        mp.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hf_home / "hub"))
        yield root


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread():
    """The tiny models gain nothing from a second thread, and on a busy machine (a shared CI runner,
    a classroom server) threads waiting for each other made the training tests 4-5 times slower."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def tiny_path(_temporary_caches):
    """Folder of the tiny DistilBERT checkpoint (built once, in this session's course cache)."""
    from course_utils.models import resolve_checkpoint
    from course_utils.settings import TINY_CHECKPOINT

    return resolve_checkpoint(TINY_CHECKPOINT)


@pytest.fixture(scope="session")
def _tiny_loaded(tiny_path):
    """Tokenizer and classifier of the tiny checkpoint, loaded the way the notebooks do it."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    id2label = dict(enumerate(LABELS))
    label2id = {name: i for i, name in id2label.items()}
    tokenizer = AutoTokenizer.from_pretrained(tiny_path)
    model = AutoModelForSequenceClassification.from_pretrained(
        tiny_path, num_labels=len(LABELS), id2label=id2label, label2id=label2id
    )
    return tokenizer, model


@pytest.fixture(scope="session")
def tiny_tokenizer(_tiny_loaded):
    return _tiny_loaded[0]


@pytest.fixture
def tiny_model(_tiny_loaded):
    """A fresh copy of the tiny DistilBERT classifier (all weights trainable), safe to modify."""
    model = copy.deepcopy(_tiny_loaded[1])
    for p in model.parameters():
        p.requires_grad = True
    return model


def make_tiny_bert(hidden_size: int = 32, num_layers: int = 3, vocab_size: int = 1200, seed: int = 0):
    """A tiny BertForSequenceClassification built from a config (random weights, no download)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    id2label = dict(enumerate(LABELS))
    config = BertConfig(
        vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers, num_attention_heads=2,
        intermediate_size=2 * hidden_size, max_position_embeddings=64, num_labels=2,
        id2label=id2label, label2id={name: i for i, name in id2label.items()},
    )
    torch.manual_seed(seed)
    return BertForSequenceClassification(config)


@pytest.fixture
def tiny_bert():
    return make_tiny_bert()


@pytest.fixture
def make_bert():
    """The factory itself, for tests that need BERTs of different sizes."""
    return make_tiny_bert


@pytest.fixture(scope="session")
def sample(_temporary_caches):
    """The SST-2 sample shipped with course_utils (treat as read-only)."""
    from course_utils.data import load_sst2

    return load_sst2("sample")
