"""Parameter drift: how far fine-tuning moved each weight from where the checkpoint started.

Take a :func:`snapshot` before training, :func:`compare` it with the trained model, and read the result
per tensor or per block (:func:`drift_by_block`). For each tensor ``W0`` (before) and ``W1`` (after):

* absolute change ``‖W1 − W0‖`` (Frobenius norm of the difference),
* relative change ``‖W1 − W0‖ / ‖W0‖``: comparable across tensors of different sizes,
* ``changed %``: the share of entries that moved at all (frozen weights: exactly 0).

How far the numbers moved is not how much a layer's behaviour changed (notebook 7 says why):
:func:`sentence_representations` gives what each layer *outputs*, for that other question.

Example:
    >>> import torch
    >>> layer = torch.nn.Linear(2, 2)
    >>> before = snapshot(layer)
    >>> with torch.no_grad():
    ...     _ = layer.bias.add_(1.0)
    >>> float(compare(before, layer).set_index("name").loc["weight", "abs_change"])
    0.0
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .blocks import block_of, block_order, submodule_of

Snapshot = Mapping[str, torch.Tensor]


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached float32 CPU copy of every parameter, keyed by name."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"snapshot() needs a PyTorch model, got {type(model).__name__}.")
    return {name: p.detach().to("cpu", torch.float32).clone() for name, p in model.named_parameters()}


def _check_same_model(before: Snapshot, after: Snapshot, subset: bool = False) -> None:
    only_before = sorted(set(before) - set(after))
    only_after = [] if subset else sorted(set(after) - set(before))
    if only_before or only_after:
        raise ValueError(f"These weights do not come from the same model: {len(only_before)} tensor(s) only in "
                         f"'before' (e.g. {only_before[:2]}), {len(only_after)} only in 'after' (e.g. "
                         f"{only_after[:2]}). Compare a fine-tuned model with the snapshot of the checkpoint it "
                         f"was loaded from.")
    for name, w0 in before.items():
        if tuple(w0.shape) != tuple(after[name].shape):
            raise ValueError(f"{name} has shape {tuple(w0.shape)} before and {tuple(after[name].shape)} after: "
                             "not the same architecture. Compare a model with the snapshot of its own checkpoint.")


def compare(before: Snapshot | nn.Module, after: Snapshot | nn.Module) -> pd.DataFrame:
    """One row per tensor: block, sub-module, size, absolute and relative change, share changed
    (``ValueError`` when the two do not come from the same architecture)."""
    before = snapshot(before) if isinstance(before, nn.Module) else before
    after = snapshot(after) if isinstance(after, nn.Module) else after
    _check_same_model(before, after)
    rows = []
    for name, w0 in before.items():
        w0 = w0.to(torch.float32)
        delta = after[name].to(torch.float32) - w0
        before_norm, delta_norm = float(w0.norm()), float(delta.norm())
        rows.append({"name": name, "block": block_of(name), "submodule": submodule_of(name), "numel": w0.numel(),
                     "before_norm": before_norm, "abs_change": delta_norm,
                     "rel_change": delta_norm / before_norm if before_norm > 0 else float("nan"),
                     "changed %": 100.0 * float((delta != 0).float().mean())})
    return pd.DataFrame(rows)


def restore(model: nn.Module, snap: Snapshot) -> nn.Module:
    """Copy a snapshot's weights (all of the model's, or some) into ``model`` in place (notebook 7 rebuilds the
    pretrained model so); ``ValueError`` when a weight is not the model's or has another shape."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"restore() needs a PyTorch model to copy the weights into, got {type(model).__name__}.")
    params = dict(model.named_parameters())
    _check_same_model(snap, params, subset=True)
    with torch.no_grad():
        for name, weights in snap.items():
            params[name].copy_(weights.to(device=params[name].device, dtype=params[name].dtype))
    return model


def drift_by_block(table: pd.DataFrame, by: str | list[str] = "block") -> pd.DataFrame:
    """Aggregate :func:`compare` rows by ``block`` (or ``["block", "submodule"]``).

    Norms combine as if the block's tensors were one long vector:
    ``abs_change = sqrt(Σ‖ΔW‖²)`` and ``rel_change = abs_change / sqrt(Σ‖W0‖²)``.
    """
    missing = {"block", "abs_change", "before_norm", "numel"} - set(table.columns)
    if missing:
        raise ValueError(f"drift_by_block() needs the table from compare(); this one lacks {sorted(missing)}.")
    keys = [by] if isinstance(by, str) else list(by)
    grouped = table.assign(
        d2=table["abs_change"] ** 2, b2=table["before_norm"] ** 2, moved=table["numel"] * table["changed %"] / 100
    ).groupby(keys, sort=False)
    out = pd.DataFrame({
        "parameters": grouped["numel"].sum(),
        "abs_change": np.sqrt(grouped["d2"].sum()),
        "rel_change": np.sqrt(grouped["d2"].sum()) / np.sqrt(grouped["b2"].sum()),
        "changed %": 100 * grouped["moved"].sum() / grouped["numel"].sum(),
    })
    if keys == ["block"]:
        out = out.loc[block_order(out.index)]
    return out


def sentence_representations(model: nn.Module, tokenizer, sentences: Sequence[str], *, max_length: int = 128,
                             batch_size: int = 64, pooling: str = "mean") -> torch.Tensor:
    """One vector per sentence at every depth, in ``eval()`` mode: a ``(layers + 1, sentences, hidden)`` float32
    tensor, index 0 the embedding output (``output_hidden_states``). ``pooling``: ``"mean"`` of the tokens
    (padding excluded) or the first token's vector (``"cls"``, the one the classification head reads)."""
    if pooling not in ("mean", "cls"):
        raise ValueError(f"Unknown pooling {pooling!r}. Choose 'mean' (average of the tokens) or 'cls' (first token).")
    if isinstance(sentences, str):
        raise TypeError(f"sentences is one string ({sentences[:30]!r}), which would be read character by character: "
                        f"pass a list of sentences, e.g. [{sentences[:30]!r}, ...].")
    sentences = list(sentences)
    if len(sentences) < 2:
        raise ValueError(f"Got {len(sentences)} sentence(s): comparing representations needs at least 2 "
                         "(a few hundred give a stable answer).")
    model.eval()
    device = next(model.parameters()).device
    chunks = []
    for start in range(0, len(sentences), batch_size):
        batch = tokenizer(sentences[start:start + batch_size], padding=True, truncation=True,
                          max_length=max_length, return_tensors="pt").to(device)
        with torch.no_grad():
            # (depth, batch, tokens, hidden): the embedding output, then every layer's output
            hidden = torch.stack(model(**batch, output_hidden_states=True).hidden_states)
        if pooling == "cls":
            pooled = hidden[:, :, 0]
        else:
            mask = batch["attention_mask"][None, :, :, None].to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=2) / mask.sum(dim=2)
        chunks.append(pooled.float().cpu())
    return torch.cat(chunks, dim=1)
