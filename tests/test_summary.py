"""course_utils.summary: naming blocks for DistilBERT and BERT, parameter tables, torchinfo summaries."""

from __future__ import annotations

import pytest
import torch

from course_utils.summary import (
    block_of,
    block_order,
    check_transformer,
    example_inputs,
    layer_index,
    parameter_table,
    submodule_of,
    summarize,
)

# (parameter name, layer index, block, sub-module), written out for both naming styles.
NAMES = [
    # DistilBERT
    ("distilbert.embeddings.word_embeddings.weight", None, "embeddings", "embeddings"),
    ("distilbert.embeddings.position_embeddings.weight", None, "embeddings", "embeddings"),
    ("distilbert.embeddings.LayerNorm.weight", None, "embeddings", "layer norm"),
    ("distilbert.transformer.layer.0.attention.q_lin.weight", 0, "layer 0", "attention"),
    ("distilbert.transformer.layer.3.attention.out_lin.bias", 3, "layer 3", "attention"),
    ("distilbert.transformer.layer.0.sa_layer_norm.weight", 0, "layer 0", "layer norm"),
    ("distilbert.transformer.layer.3.ffn.lin1.weight", 3, "layer 3", "feed-forward"),
    ("distilbert.transformer.layer.5.ffn.lin2.bias", 5, "layer 5", "feed-forward"),
    ("distilbert.transformer.layer.5.output_layer_norm.bias", 5, "layer 5", "layer norm"),
    ("pre_classifier.weight", None, "head", "head"),
    ("classifier.bias", None, "head", "head"),
    # BERT
    ("bert.embeddings.word_embeddings.weight", None, "embeddings", "embeddings"),
    ("bert.embeddings.token_type_embeddings.weight", None, "embeddings", "embeddings"),
    ("bert.embeddings.LayerNorm.bias", None, "embeddings", "layer norm"),
    ("bert.encoder.layer.3.attention.self.query.weight", 3, "layer 3", "attention"),
    ("bert.encoder.layer.3.attention.output.dense.weight", 3, "layer 3", "attention"),
    ("bert.encoder.layer.3.attention.output.LayerNorm.weight", 3, "layer 3", "layer norm"),
    ("bert.encoder.layer.3.intermediate.dense.weight", 3, "layer 3", "feed-forward"),
    ("bert.encoder.layer.11.output.dense.bias", 11, "layer 11", "feed-forward"),
    ("bert.encoder.layer.11.output.LayerNorm.weight", 11, "layer 11", "layer norm"),
    ("bert.pooler.dense.weight", None, "head", "head"),
    ("classifier.weight", None, "head", "head"),
    # decoder-style "layers.N"
    ("model.layers.2.mlp.up_proj.weight", 2, "layer 2", "feed-forward"),
]


@pytest.mark.parametrize("name, index, block, submodule", NAMES)
def test_names_map_onto_blocks(name, index, block, submodule):
    assert layer_index(name) == index
    assert block_of(name) == block
    assert submodule_of(name) == submodule


def test_layer_index_needs_a_whole_dotted_segment():
    assert layer_index("encoder.layer.12.output.dense.weight") == 12
    assert layer_index("player.3.weight") is None  # 'layer' must start a segment
    assert layer_index("encoder.layer.x.weight") is None


def test_block_order_runs_through_the_model():
    blocks = ["head", "layer 10", "layer 2", "embeddings", "layer 0", "layer 2"]
    assert block_order(blocks) == ["embeddings", "layer 0", "layer 2", "layer 10", "head"]


def _expected_blocks(model, prefix_to_block):
    """Parameter counts per block, by name prefixes written out by hand."""
    counts: dict[str, int] = {}
    for name, p in model.named_parameters():
        block = next(b for prefix, b in prefix_to_block if name.startswith(prefix))
        counts[block] = counts.get(block, 0) + p.numel()
    return counts


def test_parameter_table_distilbert(tiny_model):
    prefixes = [("distilbert.embeddings.", "embeddings"), ("distilbert.transformer.layer.0.", "layer 0"),
                ("distilbert.transformer.layer.1.", "layer 1"), ("pre_classifier.", "head"), ("classifier.", "head")]
    expected = _expected_blocks(tiny_model, prefixes)
    for p in tiny_model.distilbert.embeddings.parameters():
        p.requires_grad = False
    table = parameter_table(tiny_model)
    assert table.index.tolist() == ["embeddings", "layer 0", "layer 1", "head", "total"]
    total = sum(p.numel() for p in tiny_model.parameters())
    for block, n in expected.items():
        assert table.loc[block, "parameters"] == n
        assert table.loc[block, "share %"] == pytest.approx(100 * n / total, abs=0.05)
    assert table.loc["total", "parameters"] == total
    assert table.loc["embeddings", "trainable"] == 0
    assert table.loc["layer 1", "trainable"] == expected["layer 1"]
    assert table.loc["total", "trainable"] == total - expected["embeddings"]
    assert table.loc["total", "share %"] == 100.0


def test_parameter_table_bert(tiny_bert):
    prefixes = [("bert.embeddings.", "embeddings")] + [(f"bert.encoder.layer.{i}.", f"layer {i}") for i in range(3)] + [
        ("bert.pooler.", "head"), ("classifier.", "head")]
    expected = _expected_blocks(tiny_bert, prefixes)
    table = parameter_table(tiny_bert)
    assert table.index.tolist() == ["embeddings", "layer 0", "layer 1", "layer 2", "head", "total"]
    for block, n in expected.items():
        assert table.loc[block, "parameters"] == n == table.loc[block, "trainable"]


def test_parameter_table_total_is_the_libraries_count(tiny_bert):
    """The total row agrees with transformers' own count and with a plain sum, frozen weights included."""
    tiny_bert.bert.embeddings.word_embeddings.weight.requires_grad = False
    table = parameter_table(tiny_bert)
    assert table.loc["total", "parameters"] == sum(p.numel() for p in tiny_bert.parameters())
    assert table.loc["total", "trainable"] == sum(p.numel() for p in tiny_bert.parameters() if p.requires_grad)
    columns = ["parameters", "trainable"]
    assert table.drop(index="total")[columns].sum().tolist() == table.loc["total", columns].tolist()


def test_parameter_table_of_a_non_transformer():
    with pytest.raises(TypeError, match=r"parameter_table\(\).*Hugging Face transformer.*got Linear"):
        parameter_table(torch.nn.Linear(4, 2))


@pytest.mark.parametrize("not_a_model", ["distilbert-base-uncased", {"weight": torch.zeros(2)}, None])
def test_parameter_table_of_a_non_module(not_a_model):
    expected = rf"parameter_table\(\) needs a PyTorch model, got {type(not_a_model).__name__}"
    with pytest.raises(TypeError, match=expected):
        parameter_table(not_a_model)


def test_check_transformer_accepts_models_and_names_the_caller(tiny_model, tiny_bert):
    check_transformer(tiny_model, "freeze()")
    check_transformer(tiny_bert)
    with pytest.raises(TypeError, match=r"freeze\(\) expects a Hugging Face transformer"):
        check_transformer(torch.nn.Embedding(10, 4), "freeze()")
    with pytest.raises(TypeError, match=r"snapshot\(\) needs a PyTorch model, got str"):
        check_transformer("bert-base-uncased", "snapshot()")


def test_summarize_counts_every_parameter(tiny_model):
    for p in tiny_model.pre_classifier.parameters():
        p.requires_grad = False
    stats = summarize(tiny_model, depth=2)
    assert stats.total_params == sum(p.numel() for p in tiny_model.parameters())
    assert stats.trainable_params == sum(p.numel() for p in tiny_model.parameters() if p.requires_grad)
    assert stats.trainable_params < stats.total_params
    text = str(stats)
    assert "DistilBertForSequenceClassification" in text and "(pre_classifier)" in text


def test_summarize_bert(tiny_bert):
    stats = summarize(tiny_bert, batch_size=1, seq_len=8, depth=2)
    assert stats.total_params == sum(p.numel() for p in tiny_bert.parameters())
    assert "[1, 8, 32]" in str(stats)  # the encoder's output: one 32-wide vector per token


def test_summarize_prints_clean_units(tiny_model):
    text = str(summarize(tiny_model, depth=1))
    assert "Total mult-adds" in text and "Units." not in text


def test_summarize_depth_hides_inner_modules(tiny_model):
    shallow, deep = str(summarize(tiny_model, depth=1)), str(summarize(tiny_model, depth=3))
    assert "(word_embeddings)" not in shallow and "(word_embeddings)" in deep


@pytest.mark.parametrize("depth", [-1, 1.5, "2"])
def test_summarize_bad_depth(tiny_model, depth):
    with pytest.raises(ValueError, match=r"depth must be a whole number"):
        summarize(tiny_model, depth=depth)


def test_summarize_of_a_non_transformer():
    with pytest.raises(TypeError, match=r"Hugging Face transformer.*torchinfo\.summary"):
        summarize(torch.nn.Linear(4, 2))
    with pytest.raises(TypeError, match=r"needs a PyTorch model, got list"):
        summarize([torch.nn.Linear(4, 2)])


def test_example_inputs_look_like_a_batch(tiny_model):
    inputs = example_inputs(tiny_model, batch_size=3, seq_len=10)
    ids = inputs["input_ids"]
    assert ids.shape == (3, 10) and ids.dtype == torch.long
    assert int(ids.min()) >= 0 and int(ids.max()) < tiny_model.config.vocab_size
    assert torch.equal(inputs["attention_mask"], torch.ones_like(ids))
    assert torch.equal(example_inputs(tiny_model, 3, 10)["input_ids"], ids)  # seeded


@pytest.mark.parametrize("batch_size, seq_len", [(0, 16), (2, 1), (2.0, 16)])
def test_example_inputs_bad_sizes(tiny_model, batch_size, seq_len):
    with pytest.raises(ValueError, match=r"batch_size must be ≥ 1 and seq_len ≥ 2"):
        example_inputs(tiny_model, batch_size, seq_len)


def test_example_inputs_too_long(tiny_model):
    limit = tiny_model.config.max_position_embeddings
    with pytest.raises(ValueError, match=rf"seq_len={limit + 1} is longer.*{limit} positions"):
        example_inputs(tiny_model, seq_len=limit + 1)
