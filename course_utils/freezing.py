"""Freezing strategies (notebook 1): which weights training may change.

``"head"`` trains only the head, everything after the encoder (transfer learning with a frozen encoder);
``"top-K"`` also the top K encoder layers and ``"full"`` every weight (fine-tuning). A frozen weight has
``requires_grad = False``: it gets no gradient and leaves training exactly as it came in.
"""

from __future__ import annotations

import re

from torch import nn

from .blocks import block_of, check_transformer, layer_index


def trainable_counts(model: nn.Module) -> dict[str, float]:
    """Trainable, frozen and total parameters (``model.num_parameters(only_trainable=...)``), and the share.

    >>> from transformers import BertConfig, BertForSequenceClassification
    >>> model = BertForSequenceClassification(BertConfig(vocab_size=99, hidden_size=8, num_hidden_layers=2,
    ...                                                  num_attention_heads=2, intermediate_size=16))
    >>> counts = freeze(model, "head")
    >>> counts["trainable"] == model.num_parameters(only_trainable=True), counts["frozen"] > 0
    (True, True)
    """
    total, trainable = model.num_parameters(), model.num_parameters(only_trainable=True)
    return {"trainable": trainable, "frozen": total - trainable, "total": total,
            "trainable %": round(100 * trainable / total, 2)}


def num_layers(model: nn.Module) -> int:
    """How many numbered encoder layers the model has (6 for DistilBERT and MiniLM)."""
    indices = {layer_index(name) for name, _ in model.named_parameters()} - {None}
    if not indices:
        raise ValueError(f"Found no numbered encoder layers in {type(model).__name__} (no parameter named "
                         f"'...layer.N...'). Freezing strategies need an encoder such as BERT or DistilBERT.")
    return max(indices) + 1


def freeze(model: nn.Module, strategy: str) -> dict[str, float]:
    """Freeze ``model`` in place by ``strategy`` (``"head"``, ``"top-K"`` with K from 1 to the number of
    layers, or ``"full"``; see the module) and return :func:`trainable_counts`.

    >>> from transformers import DistilBertConfig, DistilBertForSequenceClassification
    >>> model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=99, dim=8, n_layers=2,
    ...                                                              n_heads=2, hidden_dim=16))
    >>> freeze(model, "full")["frozen"], freeze(model, "top-1")["frozen"] > 0
    (0, True)
    """
    check_transformer(model, "freeze()")
    n = num_layers(model)
    top = re.fullmatch(r"top-([0-9]+)", strategy) if isinstance(strategy, str) else None
    if strategy not in ("head", "full") and top is None:
        raise ValueError(f"Unknown strategy {strategy!r}. Choose 'head', 'full' or 'top-K' with K from 1 to {n} "
                         f"(e.g. 'top-2': the head and the top two layers).")
    k = int(top.group(1)) if top else None
    if k is not None and not 1 <= k <= n:
        raise ValueError(f"strategy={strategy!r}: this model has {n} layers, so K goes from 1 to {n}.")
    for name, param in model.named_parameters():
        index = layer_index(name)  # None outside the layer stack: the embeddings and the head
        param.requires_grad = (strategy == "full" or block_of(name) == "head"
                               or (k is not None and index is not None and index >= n - k))
    return trainable_counts(model)


def strategy_name(strategy: str) -> str:
    """A short label for tables and plots.

    >>> strategy_name("top-2"), strategy_name("head")
    ('top-2 layers + head', 'head only')
    """
    if strategy in ("head", "full"):
        return {"head": "head only", "full": "all layers"}[strategy]
    if not re.fullmatch(r"top-[0-9]+", str(strategy)):
        raise ValueError(f"Unknown strategy {strategy!r}: 'head', 'full' or 'top-K' (e.g. 'top-2').")
    return f"{strategy} layers + head"
