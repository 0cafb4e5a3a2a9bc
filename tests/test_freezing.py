"""course_utils.freezing: head / top-k / full for DistilBERT and BERT, counts, and wrong arguments."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

from course_utils.freezing import count_parameters, freeze, num_layers, strategy_name

DISTIL_HEAD = ("pre_classifier.", "classifier.")
BERT_HEAD = ("bert.pooler.", "classifier.")


def trainable_names(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


def names_with(model, prefixes):
    return {name for name, _ in model.named_parameters() if name.startswith(prefixes)}


def numel(model, names):
    return sum(p.numel() for name, p in model.named_parameters() if name in names)


def check_counts(model, counts, expected_trainable):
    total = sum(p.numel() for p in model.parameters())
    assert counts["trainable"] == numel(model, expected_trainable)
    assert counts["trainable"] + counts["frozen"] == counts["total"] == total
    assert counts["trainable %"] == pytest.approx(100 * counts["trainable"] / total, abs=0.005)


def test_head_only_distilbert(tiny_model):
    counts = freeze(tiny_model, "head")
    expected = names_with(tiny_model, DISTIL_HEAD)
    assert expected and trainable_names(tiny_model) == expected
    check_counts(tiny_model, counts, expected)
    assert counts["trainable"] < counts["frozen"]


@pytest.mark.parametrize("k", [1, 2])
def test_top_k_distilbert(tiny_model, k):
    counts = freeze(tiny_model, "top-k", k=k)
    top_layers = tuple(f"distilbert.transformer.layer.{i}." for i in range(2 - k, 2))
    expected = names_with(tiny_model, DISTIL_HEAD + top_layers)
    assert trainable_names(tiny_model) == expected
    assert not trainable_names(tiny_model) & names_with(tiny_model, ("distilbert.embeddings.",))
    check_counts(tiny_model, counts, expected)


def test_full_distilbert(tiny_model):
    freeze(tiny_model, "head")
    counts = freeze(tiny_model, "full")  # unfreezes what an earlier call froze
    assert counts["frozen"] == 0 and counts["trainable %"] == 100.0
    assert trainable_names(tiny_model) == {name for name, _ in tiny_model.named_parameters()}


def test_refreezing_replaces_the_previous_strategy(tiny_model):
    freeze(tiny_model, "full")
    freeze(tiny_model, "top-k", k=1)
    freeze(tiny_model, "head")
    assert trainable_names(tiny_model) == names_with(tiny_model, DISTIL_HEAD)


def test_more_layers_train_more_parameters(tiny_model):
    strategies = [("head", None), ("top-k", 1), ("top-k", 2), ("full", None)]
    trainable = [freeze(tiny_model, s, k)["trainable"] for s, k in strategies]
    assert trainable == sorted(trainable) and len(set(trainable)) == 4


@pytest.mark.parametrize("strategy, k, trained", [
    ("head", None, ()),
    ("top-k", 1, (2,)),
    ("top-k", 2, (1, 2)),
    ("top-k", 3, (0, 1, 2)),
])
def test_bert_works_too(tiny_bert, strategy, k, trained):
    counts = freeze(tiny_bert, strategy, k)
    expected = names_with(tiny_bert, BERT_HEAD + tuple(f"bert.encoder.layer.{i}." for i in trained))
    assert trainable_names(tiny_bert) == expected
    check_counts(tiny_bert, counts, expected)


def test_frozen_weights_get_no_gradient(tiny_model, tiny_tokenizer):
    freeze(tiny_model, "top-k", k=1)
    batch = tiny_tokenizer(["a fine film", "dull"], padding=True, return_tensors="pt")
    out = tiny_model(**batch, labels=torch.tensor([1, 0]))
    out.loss.backward()
    for name, p in tiny_model.named_parameters():
        if p.requires_grad:
            assert p.grad is not None, name
        else:
            assert p.grad is None, name


def test_num_layers(tiny_model, tiny_bert):
    assert num_layers(tiny_model) == 2
    assert num_layers(tiny_bert) == 3


def test_unknown_strategy(tiny_model):
    with pytest.raises(ValueError, match="Unknown strategy 'last'.*head, top-k, full"):
        freeze(tiny_model, "last")
    assert all(p.requires_grad for p in tiny_model.parameters())  # nothing changed


@pytest.mark.parametrize("k", [None, 0, 3, -1, 1.5, "2"])
def test_top_k_needs_k_in_range(tiny_model, k):
    with pytest.raises(ValueError, match="from 1 to 2"):
        freeze(tiny_model, "top-k", k=k)


@pytest.mark.parametrize("strategy", ["head", "full"])
def test_k_only_with_top_k(tiny_model, strategy):
    with pytest.raises(ValueError, match=r"k is only used with strategy='top-k'; drop k=2 or switch to 'top-k'"):
        freeze(tiny_model, strategy, k=2)


def test_freeze_needs_a_transformer():
    with pytest.raises(TypeError, match=r"freeze\(\) expects a Hugging Face transformer .*got Linear"):
        freeze(nn.Linear(3, 2), "head")
    with pytest.raises(TypeError, match=r"freeze\(\) needs a PyTorch model, got str"):
        freeze("distilbert-base-uncased", "head")


def test_freeze_needs_numbered_layers():
    model = nn.Module()
    model.embeddings = nn.Embedding(10, 4)
    model.classifier = nn.Linear(4, 2)
    model.config = types.SimpleNamespace(vocab_size=10)
    with pytest.raises(ValueError, match="no numbered encoder layers"):
        freeze(model, "head")


def test_count_parameters():
    layer = nn.Linear(3, 2)
    assert count_parameters(layer) == {"trainable": 8, "frozen": 0, "total": 8, "trainable %": 100.0}
    layer.bias.requires_grad = False
    assert count_parameters(layer) == {"trainable": 6, "frozen": 2, "total": 8, "trainable %": 75.0}


def test_count_parameters_of_nothing():
    with pytest.raises(ValueError, match=r"ReLU has no parameters to count\. Pass the model itself"):
        count_parameters(nn.ReLU())


def test_strategy_name():
    assert strategy_name("head") == "head only"
    assert strategy_name("full") == "all layers"
    assert strategy_name("top-k", 2) == "top-2 layers + head"
