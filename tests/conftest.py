"""Shared fixtures: the tiny model, tiny in-memory BERT and DistilBERT classifiers, the SST-2 sample.

The repository's top-level conftest.py sets up everything else (offline, smoke profile, temporary
caches). Loading a checkpoint is the slow part, so it happens once per session; tests that change
a model get their own copy.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest

LABELS = ["negative", "positive"]


@pytest.fixture(scope="session")
def _temporary_caches() -> Path:
    """The folder holding every cache of this session (set up by the top-level conftest.py)."""
    return Path(os.environ["COURSE_CACHE"]).parent


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


def _label_names() -> dict:
    return {"num_labels": 2, "id2label": dict(enumerate(LABELS)), "label2id": {n: i for i, n in enumerate(LABELS)}}


def make_tiny_bert(hidden_size: int = 32, num_layers: int = 3, vocab_size: int = 1200, seed: int = 0):
    """A tiny BertForSequenceClassification built from a config (random weights, no download)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    config = BertConfig(vocab_size=vocab_size, hidden_size=hidden_size, num_hidden_layers=num_layers,
                        num_attention_heads=2, intermediate_size=2 * hidden_size, max_position_embeddings=64,
                        **_label_names())
    torch.manual_seed(seed)
    return BertForSequenceClassification(config)


@pytest.fixture
def tiny_bert():
    return make_tiny_bert()


@pytest.fixture(scope="session")
def make_bert():
    """The factory itself, for tests that need BERTs of different sizes."""
    return make_tiny_bert


@pytest.fixture(scope="session")
def sample():
    """The SST-2 sample shipped with course_utils (treat as read-only)."""
    from course_utils.data import load_sst2

    return load_sst2("sample")
