"""course_utils.freezing: head / top-K / full for DistilBERT and BERT, the counts, and wrong arguments."""

from __future__ import annotations

import types

import pytest
from torch import nn

from course_utils.freezing import freeze, num_layers, strategy_name, trainable_counts

#: The head and the name of layer i, written out for the tiny DistilBERT (2 layers) and BERT (3 layers).
HEAD = {"tiny_model": ("pre_classifier.", "classifier."), "tiny_bert": ("bert.pooler.", "classifier.")}
LAYER = {"tiny_model": "distilbert.transformer.layer.{}.", "tiny_bert": "bert.encoder.layer.{}."}


def trainable_names(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


def names_with(model, prefixes):
    return {name for name, _ in model.named_parameters() if name.startswith(prefixes)}


@pytest.mark.parametrize("kind, strategy, layers", [
    ("tiny_model", "head", ()), ("tiny_model", "top-1", (1,)), ("tiny_model", "top-2", (0, 1)),
    ("tiny_bert", "head", ()), ("tiny_bert", "top-1", (2,)), ("tiny_bert", "top-2", (1, 2)),
    ("tiny_bert", "top-3", (0, 1, 2)),
])
def test_the_head_and_the_top_layers_train(request, kind, strategy, layers):
    model = request.getfixturevalue(kind)
    counts = freeze(model, strategy)
    expected = names_with(model, HEAD[kind] + tuple(LAYER[kind].format(i) for i in layers))
    assert trainable_names(model) == expected and num_layers(model) == {"tiny_model": 2, "tiny_bert": 3}[kind]
    assert counts["trainable"] == sum(p.numel() for n, p in model.named_parameters() if n in expected)


def test_full_undoes_an_earlier_freeze_and_the_last_strategy_wins(tiny_bert):
    freeze(tiny_bert, "head")
    counts = freeze(tiny_bert, "full")
    assert counts["frozen"] == 0 and counts["trainable %"] == 100.0
    freeze(tiny_bert, "top-1")
    freeze(tiny_bert, "head")
    assert trainable_names(tiny_bert) == names_with(tiny_bert, HEAD["tiny_bert"])


def test_trainable_counts(tiny_bert):
    total = sum(p.numel() for p in tiny_bert.parameters())
    tiny_bert.classifier.requires_grad_(False)
    frozen = tiny_bert.classifier.weight.numel() + tiny_bert.classifier.bias.numel()
    assert trainable_counts(tiny_bert) == {"trainable": total - frozen, "frozen": frozen, "total": total,
                                           "trainable %": round(100 * (total - frozen) / total, 2)}


@pytest.mark.parametrize("strategy, words", [("last", "Unknown strategy 'last'.*'top-K' with K from 1 to 3"),
                                             ("top-k", "Unknown strategy 'top-k'"), (2, "Unknown strategy 2"),
                                             ("top-0", "strategy='top-0'.*K goes from 1 to 3"),
                                             ("top-4", "strategy='top-4'.*3 layers")])
def test_bad_strategies_change_nothing(tiny_bert, strategy, words):
    with pytest.raises(ValueError, match=words):
        freeze(tiny_bert, strategy)
    assert all(p.requires_grad for p in tiny_bert.parameters())


def test_freeze_needs_a_transformer_with_numbered_layers():
    with pytest.raises(TypeError, match=r"freeze\(\) expects a Hugging Face transformer.*got Linear"):
        freeze(nn.Linear(3, 2), "head")
    with pytest.raises(TypeError, match=r"freeze\(\) needs a PyTorch model, got str"):
        freeze("distilbert-base-uncased", "head")
    model = nn.Module()
    model.embeddings, model.classifier = nn.Embedding(10, 4), nn.Linear(4, 2)
    model.config = types.SimpleNamespace(vocab_size=10)
    with pytest.raises(ValueError, match="no numbered encoder layers"):
        freeze(model, "head")


def test_strategy_name():
    assert [strategy_name(s) for s in ("head", "top-2", "full")] == ["head only", "top-2 layers + head", "all layers"]
    with pytest.raises(ValueError, match="Unknown strategy 'top-k'"):
        strategy_name("top-k")
