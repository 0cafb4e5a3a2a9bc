"""Model structure: which block each weight belongs to, and the parameters per block.

DistilBERT and BERT name their weights differently but share one shape: embeddings, numbered layers, a
head. :func:`block_of` and :func:`submodule_of` map either's names onto it, for tables, freezing and drift.

Example:
    >>> block_of("distilbert.transformer.layer.3.ffn.lin1.weight")
    'layer 3'
    >>> submodule_of("bert.encoder.layer.3.attention.self.query.weight")
    'attention'
"""

from __future__ import annotations

import re

import pandas as pd
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
    lowered, block = name.lower(), block_of(name)
    if "norm" in lowered and block != "head":
        return "layer norm"
    if block in ("embeddings", "head"):
        return block
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
    """Raise a ``TypeError`` naming ``what`` unless ``model`` is a PyTorch module with a ``config.vocab_size``.

    >>> check_transformer(nn.Linear(4, 2), "parameter_table()")
    Traceback (most recent call last):
    ...
    TypeError: parameter_table() expects a Hugging Face transformer (with .config.vocab_size), got Linear. ...
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"{what} needs a PyTorch model, got {type(model).__name__}. Pass the model from "
                        f"from_pretrained().")
    config = getattr(model, "config", None)
    if config is None or getattr(config, "vocab_size", None) is None:
        raise TypeError(f"{what} expects a Hugging Face transformer (with .config.vocab_size), got "
                        f"{type(model).__name__}. Pass a model loaded with AutoModelForSequenceClassification"
                        f".from_pretrained(...), or call torchinfo.summary(model, input_size=...) for other models.")


def parameter_table(model: nn.Module) -> pd.DataFrame:
    """Parameters per block (embeddings, each layer, head): total, trainable, share of the model; the
    ``total`` row is the library's own count (``model.num_parameters()``), which the blocks add up to.

    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> config = BertConfig(vocab_size=99, hidden_size=8, num_hidden_layers=2, num_attention_heads=2,
    ...                     intermediate_size=16)
    >>> parameter_table(BertForSequenceClassification(config)).index.tolist()
    ['embeddings', 'layer 0', 'layer 1', 'head', 'total']
    """
    check_transformer(model, "parameter_table()")
    rows = [{"block": block_of(name), "parameters": p.numel(), "trainable": p.numel() if p.requires_grad else 0}
            for name, p in model.named_parameters()]
    table = pd.DataFrame(rows).groupby("block")[["parameters", "trainable"]].sum()
    table = table.loc[block_order(table.index)]
    if hasattr(model, "num_parameters"):  # a transformers PreTrainedModel counts its own parameters
        table.loc["total"] = [model.num_parameters(), model.num_parameters(only_trainable=True)]
    else:
        table.loc["total"] = table.sum()
    table["share %"] = (100 * table["parameters"] / table.loc["total", "parameters"]).round(1)
    return table
