"""course_utils.freezing: head / top-K / full for DistilBERT and BERT, the counts, and wrong arguments."""

from __future__ import annotations

import types

import pytest
import torch
from torch import nn

from course_utils.freezing import freeze, num_layers, strategy_name, trainable_counts

DISTIL_HEAD = ("pre_classifier.", "classifier.")
BERT_HEAD = ("bert.pooler.", "classifier.")


def trainable_names(model):
    return {name for name, p in model.named_parameters() if p.requires_grad}


def names_with(model, prefixes):
    return {name for name, _ in model.named_parameters() if name.startswith(prefixes)}


@pytest.mark.parametrize("strategy, layers", [("head", ()), ("top-1", (1,)), ("top-2", (0, 1))])
def test_distilbert(tiny_model, strategy, layers):
    counts = freeze(tiny_model, strategy)
    expected = names_with(tiny_model, DISTIL_HEAD + tuple(f"distilbert.transformer.layer.{i}." for i in layers))
    assert trainable_names(tiny_model) == expected
    assert counts["trainable"] == sum(p.numel() for n, p in tiny_model.named_parameters() if n in expected)


@pytest.mark.parametrize("strategy, layers", [("head", ()), ("top-1", (2,)), ("top-2", (1, 2)), ("top-3", (0, 1, 2))])
def test_bert(tiny_bert, strategy, layers):
    freeze(tiny_bert, strategy)
    assert trainable_names(tiny_bert) == names_with(tiny_bert, BERT_HEAD + tuple(f"bert.encoder.layer.{i}."
                                                                                 for i in layers))


def test_full_undoes_an_earlier_freeze_and_the_last_strategy_wins(tiny_bert):
    freeze(tiny_bert, "head")
    counts = freeze(tiny_bert, "full")
    assert counts["frozen"] == 0 and counts["trainable %"] == 100.0
    freeze(tiny_bert, "top-1")
    freeze(tiny_bert, "head")
    assert trainable_names(tiny_bert) == names_with(tiny_bert, BERT_HEAD)


def test_trainable_counts():
    from transformers import BertConfig, BertForSequenceClassification

    model = BertForSequenceClassification(BertConfig(vocab_size=10, hidden_size=4, num_hidden_layers=1,
                                                     num_attention_heads=1, intermediate_size=4))
    total = sum(p.numel() for p in model.parameters())
    model.classifier.requires_grad_(False)
    frozen = model.classifier.weight.numel() + model.classifier.bias.numel()
    assert trainable_counts(model) == {"trainable": total - frozen, "frozen": frozen, "total": total,
                                       "trainable %": round(100 * (total - frozen) / total, 2)}


def test_frozen_weights_get_no_gradient(tiny_model, tiny_tokenizer):
    freeze(tiny_model, "top-1")
    batch = tiny_tokenizer(["a fine film", "dull"], padding=True, return_tensors="pt")
    tiny_model(**batch, labels=torch.tensor([1, 0])).loss.backward()
    assert {name for name, p in tiny_model.named_parameters() if p.grad is not None} == trainable_names(tiny_model)


def test_num_layers(tiny_model, tiny_bert):
    assert (num_layers(tiny_model), num_layers(tiny_bert)) == (2, 3)


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
