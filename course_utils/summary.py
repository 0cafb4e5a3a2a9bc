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


def check_transformer(model: nn.Module, what: str = "this function") -> None:
    """Raise a ``TypeError`` naming ``what`` unless ``model`` is a Hugging Face transformer.

    A transformer here is a PyTorch module with a ``config`` that has a ``vocab_size``: what
    ``AutoModelForSequenceClassification.from_pretrained`` returns, DistilBERT or BERT alike.

    >>> check_transformer(nn.Linear(4, 2), "parameter_table()")
    Traceback (most recent call last):
    ...
    TypeError: parameter_table() expects a Hugging Face transformer (with .config.vocab_size), got Linear. ...
    """
    if not isinstance(model, nn.Module):
        raise TypeError(
            f"{what} needs a PyTorch model, got {type(model).__name__}. Pass the model from from_pretrained()."
        )
    config = getattr(model, "config", None)
    if config is None or getattr(config, "vocab_size", None) is None:
        raise TypeError(
            f"{what} expects a Hugging Face transformer (with .config.vocab_size), got {type(model).__name__}. "
            f"Pass a model loaded with AutoModelForSequenceClassification.from_pretrained(...), "
            f"or call torchinfo.summary(model, input_size=...) yourself for other models."
        )


def _tiny_classifier():
    """The smoke profile's tiny DistilBERT with a fresh 2-label head (for the examples below)."""
    from transformers import AutoModelForSequenceClassification

    from .models import resolve_checkpoint

    return AutoModelForSequenceClassification.from_pretrained(resolve_checkpoint("tiny-distilbert"), num_labels=2)


def parameter_table(model: nn.Module) -> pd.DataFrame:
    """Parameters per block (embeddings, each layer, head): total, trainable, share of the model.

    The ``total`` row is the library's own count, ``model.num_parameters()`` (and
    ``num_parameters(only_trainable=True)``) for transformers models; the blocks add up to it.

    Example:
        >>> parameter_table(_tiny_classifier()).index.tolist()
        ['embeddings', 'layer 0', 'layer 1', 'head', 'total']
    """
    check_transformer(model, "parameter_table()")
    rows = [
        {"block": block_of(name), "parameters": p.numel(), "trainable": p.numel() if p.requires_grad else 0}
        for name, p in model.named_parameters()
    ]
    table = pd.DataFrame(rows).groupby("block")[["parameters", "trainable"]].sum()
    table = table.loc[block_order(table.index)]
    if hasattr(model, "num_parameters"):  # a transformers PreTrainedModel counts its own parameters
        table.loc["total"] = [model.num_parameters(), model.num_parameters(only_trainable=True)]
    else:
        table.loc["total"] = table.sum()
    table["share %"] = (100 * table["parameters"] / table.loc["total", "parameters"]).round(1)
    return table


def example_inputs(model: nn.Module, batch_size: int = 2, seq_len: int = 16) -> dict[str, torch.Tensor]:
    """Integer token ids and an attention mask shaped like a tokenized batch.

    torchinfo's ``input_size`` makes float inputs by default, and an embedding layer only looks
    up integers: these random ids from the vocabulary (seeded) go in as ``input_data``.
    """
    check_transformer(model, "example_inputs()")
    if not (isinstance(batch_size, int) and isinstance(seq_len, int)) or batch_size < 1 or seq_len < 2:
        raise ValueError(
            f"batch_size must be ≥ 1 and seq_len ≥ 2, both whole numbers (got {batch_size!r}, {seq_len!r})."
        )
    max_positions = getattr(model.config, "max_position_embeddings", seq_len)
    if seq_len > max_positions:
        raise ValueError(
            f"seq_len={seq_len} is longer than this model's {max_positions} positions; use a smaller seq_len."
        )
    generator = torch.Generator().manual_seed(0)
    device = next(model.parameters()).device
    vocab = model.config.vocab_size
    low = 1000 if vocab > 2000 else 0  # skip BERT's [unused]/special ids when the vocabulary is real-sized
    ids = torch.randint(low, vocab, (batch_size, seq_len), generator=generator).to(device)
    return {"input_ids": ids, "attention_mask": torch.ones_like(ids)}


def summarize(model: nn.Module, batch_size: int = 2, seq_len: int = 16, depth: int = 3):
    """The course's torchinfo summary of a transformer: integer inputs, output shapes, parameters
    and trainable flags per module, with the module names.

    It is ``torchinfo.summary(model, input_data=example_inputs(...), depth=depth, verbose=0, ...)``
    with three columns and the ``var_names`` row setting. Returns torchinfo's ``ModelStatistics``:
    ``print`` it for the table, or read ``.total_params`` and ``.trainable_params``.

    Example:
        >>> model = _tiny_classifier()
        >>> stats = summarize(model, depth=1)
        >>> stats.total_params == model.num_parameters()
        True
    """
    from torchinfo import Units, summary

    if not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a whole number ≥ 0 (how many module levels to show), got {depth!r}.")
    inputs = example_inputs(model, batch_size, seq_len)
    stats = summary(
        model,
        input_data=inputs,
        depth=depth,
        col_names=("output_size", "num_params", "trainable"),
        row_settings=("var_names",),
        col_width=16,
        verbose=0,
    )
    # torchinfo 1.8 labels the mult-adds line "(Units.MEGABYTES)" on Python >= 3.11
    # (TylerYep/torchinfo#350); plain numbers print cleanly.
    stats.formatting.macs_units = Units.NONE
    return stats
