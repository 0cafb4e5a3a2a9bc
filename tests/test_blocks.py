"""course_utils.blocks: the block and sub-module of every weight, for DistilBERT and BERT, and tables of them."""

from __future__ import annotations

import pytest
import torch

from course_utils.blocks import block_of, block_order, layer_index, parameter_table, submodule_of

# (parameter name, layer index, block, sub-module), written out for both naming styles.
NAMES = [
    ("distilbert.embeddings.word_embeddings.weight", None, "embeddings", "embeddings"),
    ("distilbert.embeddings.LayerNorm.weight", None, "embeddings", "layer norm"),
    ("distilbert.transformer.layer.0.attention.q_lin.weight", 0, "layer 0", "attention"),
    ("distilbert.transformer.layer.0.sa_layer_norm.weight", 0, "layer 0", "layer norm"),
    ("distilbert.transformer.layer.3.ffn.lin1.weight", 3, "layer 3", "feed-forward"),
    ("distilbert.transformer.layer.5.output_layer_norm.bias", 5, "layer 5", "layer norm"),
    ("pre_classifier.weight", None, "head", "head"),
    ("classifier.bias", None, "head", "head"),
    ("bert.embeddings.token_type_embeddings.weight", None, "embeddings", "embeddings"),
    ("bert.embeddings.LayerNorm.bias", None, "embeddings", "layer norm"),
    ("bert.encoder.layer.3.attention.self.query.weight", 3, "layer 3", "attention"),
    ("bert.encoder.layer.3.attention.output.dense.weight", 3, "layer 3", "attention"),
    ("bert.encoder.layer.3.attention.output.LayerNorm.weight", 3, "layer 3", "layer norm"),
    ("bert.encoder.layer.3.intermediate.dense.weight", 3, "layer 3", "feed-forward"),
    ("bert.encoder.layer.11.output.dense.bias", 11, "layer 11", "feed-forward"),
    ("bert.pooler.dense.weight", None, "head", "head"),
    ("model.layers.2.mlp.up_proj.weight", 2, "layer 2", "feed-forward"),  # decoder-style "layers.N"
    ("player.3.weight", None, "head", "head"),  # 'layer' must start a dotted segment
    ("encoder.layer.x.weight", None, "head", "head"),
]


@pytest.mark.parametrize("name, index, block, submodule", NAMES)
def test_names_map_onto_blocks(name, index, block, submodule):
    assert (layer_index(name), block_of(name), submodule_of(name)) == (index, block, submodule)


def test_block_order_runs_through_the_model():
    assert block_order(["head", "layer 10", "layer 2", "embeddings", "layer 0", "layer 2"]) == [
        "embeddings", "layer 0", "layer 2", "layer 10", "head"]


@pytest.mark.parametrize("model, prefixes", [
    ("tiny_model", {"embeddings": "distilbert.embeddings.", "layer 0": "distilbert.transformer.layer.0.",
                    "layer 1": "distilbert.transformer.layer.1.", "head": ("pre_classifier.", "classifier.")}),
    ("tiny_bert", {"embeddings": "bert.embeddings.", **{f"layer {i}": f"bert.encoder.layer.{i}." for i in range(3)},
                   "head": ("bert.pooler.", "classifier.")}),
])
def test_parameter_table_counts_by_block(request, model, prefixes):
    model = request.getfixturevalue(model)
    model.base_model.embeddings.requires_grad_(False)
    table = parameter_table(model)
    assert table.index.tolist() == [*prefixes, "total"]
    total = sum(p.numel() for p in model.parameters())
    for block, prefix in prefixes.items():
        n = sum(p.numel() for name, p in model.named_parameters() if name.startswith(prefix))
        assert table.loc[block, "parameters"] == n and table.loc[block, "share %"] == pytest.approx(100 * n / total,
                                                                                                    abs=0.05)
        assert table.loc[block, "trainable"] == (0 if block == "embeddings" else n)
    assert table.loc["total", ["parameters", "trainable"]].tolist() == [
        total, sum(p.numel() for p in model.parameters() if p.requires_grad)]


@pytest.mark.parametrize("not_a_model", ["distilbert-base-uncased", {"weight": torch.zeros(2)}, None])
def test_parameter_table_needs_a_module(not_a_model):
    with pytest.raises(TypeError, match=rf"needs a PyTorch model, got {type(not_a_model).__name__}"):
        parameter_table(not_a_model)

