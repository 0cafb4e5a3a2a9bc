"""Model structure: which block each weight belongs to, parameter counts, and a torchinfo summary.

Encoder checkpoints name their weights differently (DistilBERT:
``distilbert.transformer.layer.3.ffn.lin1.weight``; BERT:
``bert.encoder.layer.3.intermediate.dense.weight``) but share one shape: embeddings, a
stack of numbered layers, then a head. :func:`block_of` and :func:`submodule_of` map any
of these names onto that shared shape, so tables, freezing and drift plots work for both.

Example:
    >>> block_of("distilbert.transformer.layer.3.ffn.lin1.weight")
    'layer 3'
    >>> submodule_of("bert.encoder.layer.3.attention.self.query.weight")
    'attention'
"""

from __future__ import annotations

import re

import pandas as pd
import torch
from torch import nn

_LAYER = re.compile(r"(?:^|\.)layers?\.(\d+)\.")


def layer_index(name: str) -> int | None:
    """The encoder layer number in a parameter name, or ``None`` outside the layer stack.

    >>> layer_index("bert.encoder.layer.11.output.dense.bias"), layer_index("classifier.bias")
    (11, None)
    """
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def block_of(name: str) -> str:
    """``'embeddings'``, ``'layer N'`` or ``'head'`` (pooler, pre-classifier and classifier)."""
    index = layer_index(name)
    if index is not None:
        return f"layer {index}"
    if "embeddings" in name:
        return "embeddings"
    return "head"


def submodule_of(name: str) -> str:
    """What a weight does inside its block: ``attention``, ``feed-forward``, ``layer norm``,
    ``embeddings`` or ``head``.

    >>> submodule_of("distilbert.transformer.layer.0.sa_layer_norm.weight")
    'layer norm'
    """
    lowered = name.lower()
    block = block_of(name)
    if block in {"embeddings", "head"}:
        return "layer norm" if "norm" in lowered and block == "embeddings" else block
    if "norm" in lowered:
        return "layer norm"
    if "attention" in lowered or ".sa_" in lowered or "attn" in lowered:
        return "attention"
    return "feed-forward"


def block_order(blocks) -> list[str]:
    """Sort block names as they run through the model: embeddings, layer 0, 1, ..., head."""

    def key(block: str) -> tuple[int, int]:
        if block == "embeddings":
            return (0, 0)
        if block.startswith("layer "):
            return (1, int(block.split()[1]))
        return (2, 0)

    return sorted(set(blocks), key=key)


def _check_transformer(model: nn.Module, what: str) -> None:
    if not isinstance(model, nn.Module):
        raise TypeError(f"{what} needs a PyTorch model, got {type(model).__name__}. Pass the model from from_pretrained().")
    config = getattr(model, "config", None)
    if config is None or getattr(config, "vocab_size", None) is None:
        raise TypeError(
            f"{what} expects a Hugging Face transformer (with .config.vocab_size), got {type(model).__name__}. "
            f"Pass a model loaded with AutoModelForSequenceClassification.from_pretrained(...), "
            f"or call torchinfo.summary(model, input_size=...) yourself for other models."
        )


def parameter_table(model: nn.Module) -> pd.DataFrame:
    """Parameters per block (embeddings, each layer, head): total, trainable, share of the model.

    Example:
        >>> from course_utils.models import load_for_classification
        >>> _, model = load_for_classification("tiny-distilbert", ["negative", "positive"])
        >>> parameter_table(model).index.tolist()
        ['embeddings', 'layer 0', 'layer 1', 'head', 'total']
    """
    _check_transformer(model, "parameter_table()")
    rows = [
        {"block": block_of(name), "parameters": p.numel(), "trainable": p.numel() if p.requires_grad else 0}
        for name, p in model.named_parameters()
    ]
    table = pd.DataFrame(rows).groupby("block")[["parameters", "trainable"]].sum()
    table = table.loc[block_order(table.index)]
    table.loc["total"] = table.sum()
    table["share %"] = (100 * table["parameters"] / table.loc["total", "parameters"]).round(1)
    return table


def example_inputs(model: nn.Module, batch_size: int = 2, seq_len: int = 16) -> dict[str, torch.Tensor]:
    """Integer token ids and an attention mask shaped like a real batch (torchinfo's default
    float inputs cannot go through an embedding layer)."""
    _check_transformer(model, "example_inputs()")
    if batch_size < 1 or seq_len < 2:
        raise ValueError(f"batch_size must be ≥ 1 and seq_len ≥ 2 (got {batch_size}, {seq_len}).")
    max_positions = getattr(model.config, "max_position_embeddings", seq_len)
    if seq_len > max_positions:
        raise ValueError(f"seq_len={seq_len} is longer than this model's {max_positions} positions; use a smaller seq_len.")
    generator = torch.Generator().manual_seed(0)
    device = next(model.parameters()).device
    vocab = model.config.vocab_size
    low = 1000 if vocab > 2000 else 0  # skip BERT's [unused]/special ids when the vocabulary is real-sized
    ids = torch.randint(low, vocab, (batch_size, seq_len), generator=generator).to(device)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def summarize(model: nn.Module, batch_size: int = 2, seq_len: int = 16, depth: int = 3):
    """A torchinfo summary of a transformer run on integer inputs.

    Returns torchinfo's ``ModelStatistics``; print it (or let the notebook show it).

    Example:
        >>> from course_utils.models import load_for_classification
        >>> _, model = load_for_classification("tiny-distilbert", ["negative", "positive"])
        >>> stats = summarize(model, depth=1)
        >>> stats.total_params == sum(p.numel() for p in model.parameters())
        True
    """
    from torchinfo import summary

    inputs = example_inputs(model, batch_size, seq_len)
    return summary(
        model,
        input_data=inputs,
        depth=depth,
        col_names=("output_size", "num_params", "trainable"),
        row_settings=("var_names",),
        col_width=16,
        verbose=0,
    )
