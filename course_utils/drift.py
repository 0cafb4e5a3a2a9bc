"""Parameter drift: how far fine-tuning moved each weight from where the checkpoint started.

Take a :func:`snapshot` before training, :func:`compare` it with the trained model, and
read the result per tensor, per layer (:func:`drift_by_block`) or as plots. For each tensor
``W0`` (before) and ``W1`` (after):

* absolute change ``‖W1 − W0‖`` (Frobenius norm of the difference),
* relative change ``‖W1 − W0‖ / ‖W0‖``: comparable across tensors of different sizes,
* ``changed %``: the share of entries that moved at all (frozen weights: exactly 0).

Weight-space drift says how far the numbers moved, not how much a layer's behaviour changed:
under Adam every trainable weight moves by roughly the learning rate per step, whatever the
size of its gradient. :func:`representation_change` measures the other question: how much
each layer's *output* for the same sentences changed (linear CKA and cosine similarity).

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

import os
import tempfile
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from .summary import block_of, block_order, submodule_of

Snapshot = Mapping[str, torch.Tensor]


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    """A detached float32 CPU copy of every parameter, keyed by name."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"snapshot() needs a PyTorch model, got {type(model).__name__}.")
    return {name: p.detach().to("cpu", torch.float32).clone() for name, p in model.named_parameters()}


def save_snapshot(snap: Snapshot, path: str | Path) -> Path:
    """Save a snapshot as a ``.safetensors`` file (notebook 5 saves the pretrained weights).

    The file is written atomically: to a temporary file in the same folder, then renamed over
    ``path``. An interrupted save leaves the previous file (or none), never half a file.
    """
    from safetensors.torch import save_file

    not_tensors = sorted(k for k, v in snap.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise TypeError(
            f"A snapshot maps names to tensors; these values are not tensors: {not_tensors[:3]}. "
            "Take one with snapshot(model)."
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        save_file({k: v.detach().cpu().contiguous() for k, v in snap.items()}, temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_snapshot(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a snapshot written by :func:`save_snapshot`."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(
            f"No snapshot at {path.name!r}. Run notebook 5 (it saves the pretrained weights), "
            f"or take one with snapshot(model) before training."
        )
    return load_file(str(path))


def _check_same_model(before: Snapshot, after: Snapshot) -> None:
    only_before = sorted(set(before) - set(after))
    only_after = sorted(set(after) - set(before))
    if only_before or only_after:
        raise ValueError(
            "These weights do not come from the same model: "
            f"{len(only_before)} tensor(s) only in 'before' (e.g. {only_before[:2]}), "
            f"{len(only_after)} only in 'after' (e.g. {only_after[:2]}). "
            "Compare a fine-tuned model with the snapshot of the checkpoint it was loaded from."
        )
    for name, w0 in before.items():
        if tuple(w0.shape) != tuple(after[name].shape):
            raise ValueError(
                f"{name} has shape {tuple(w0.shape)} before and {tuple(after[name].shape)} after: not the same "
                "architecture. Compare a model with the snapshot of its own starting checkpoint."
            )


def compare(before: Snapshot | nn.Module, after: Snapshot | nn.Module) -> pd.DataFrame:
    """One row per tensor: block, sub-module, size, absolute and relative change, share changed.

    Raises ``ValueError`` when the two do not come from the same architecture.
    """
    before = snapshot(before) if isinstance(before, nn.Module) else before
    after = snapshot(after) if isinstance(after, nn.Module) else after
    _check_same_model(before, after)
    rows = []
    for name, w0 in before.items():
        w0 = w0.to(torch.float32)
        delta = after[name].to(torch.float32) - w0
        before_norm = float(w0.norm())
        delta_norm = float(delta.norm())
        rows.append({
            "name": name,
            "block": block_of(name),
            "submodule": submodule_of(name),
            "numel": w0.numel(),
            "before_norm": before_norm,
            "abs_change": delta_norm,
            "rel_change": delta_norm / before_norm if before_norm > 0 else float("nan"),
            "changed %": 100.0 * float((delta != 0).float().mean()),
        })
    return pd.DataFrame(rows)


def restore(model: nn.Module, snap: Snapshot) -> nn.Module:
    """Copy a snapshot's weights into ``model`` (in place) and return it.

    Notebook 7 rebuilds the pretrained model this way: the fine-tuned model's architecture with
    the weights of ``pretrained_snapshot.safetensors``. Raises ``ValueError`` when the snapshot
    does not come from this architecture.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"restore() needs a PyTorch model to copy the weights into, got {type(model).__name__}.")
    params = dict(model.named_parameters())
    _check_same_model(snap, params)
    with torch.no_grad():
        for name, p in params.items():
            p.copy_(snap[name].to(device=p.device, dtype=p.dtype))
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


#: What each drift metric is, as an axis or colour-bar label.
METRIC_LABELS = {
    "rel_change": "relative change ‖ΔW‖/‖W₀‖",
    "abs_change": "absolute change ‖ΔW‖",
    "changed %": "entries that changed (%)",
}


def _metric_label(metric: str) -> str:
    if metric not in METRIC_LABELS:
        raise ValueError(f"Unknown drift metric {metric!r}. Choose one of: {', '.join(map(repr, METRIC_LABELS))}.")
    return METRIC_LABELS[metric]


def plot_drift_by_block(table: pd.DataFrame, metric: str = "rel_change", ax=None, title: str | None = None,
                        log: bool = False):
    """Bar chart of drift per block, embeddings first and head last. Returns the axes.

    ``log=True`` draws a logarithmic axis, so that one block that moved far more than the others
    (often the head) does not flatten every other bar.
    """
    import matplotlib.pyplot as plt

    label = _metric_label(metric)
    by_block = drift_by_block(table)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(by_block.index, by_block[metric], color="C0")
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(label + (" (log scale)" if log else ""))
    ax.set_title(title or "How far fine-tuning moved each block")
    ax.tick_params(axis="x", rotation=45)
    return ax


def plot_drift_heatmap(table: pd.DataFrame, metric: str = "rel_change", ax=None, title: str | None = None):
    """Heatmap of drift by encoder layer (rows) and sub-module (columns), values written in. Returns the axes."""
    import matplotlib.pyplot as plt

    label = _metric_label(metric)
    layers = table[table["block"].str.startswith("layer ")]
    if layers.empty:
        raise ValueError("The table has no encoder-layer rows to draw. Pass the full table from compare().")
    grid = drift_by_block(layers, by=["block", "submodule"])[metric].unstack("submodule")
    grid = grid.loc[block_order(grid.index)]
    usual = [c for c in ("attention", "feed-forward", "layer norm") if c in grid.columns]
    grid = grid[usual + [c for c in grid.columns if c not in usual]]
    values = grid.to_numpy(dtype=float)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 0.45 * len(grid) + 1.6))
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.grid(False)  # no grid lines across the cells
    ax.set_xticks(range(grid.shape[1]), grid.columns)
    ax.set_yticks(range(grid.shape[0]), grid.index)
    ax.tick_params(length=0)
    for (i, j), value in np.ndenumerate(values):
        dark_cell = np.isnan(value) or image.norm(value) < 0.5  # viridis is dark at the low end
        ax.text(j, i, "–" if np.isnan(value) else f"{value:.3g}", ha="center", va="center",
                color="white" if dark_cell else "black", fontsize=9)
    ax.figure.colorbar(image, ax=ax, label=label)
    ax.set_title(title or "Drift by layer and sub-module")
    return ax


# ---------------------------------------------------------------------------------------
# Representations: how much each layer's output changed, for the same sentences.

POOLINGS = ("mean", "cls")


def sentence_representations(model: nn.Module, tokenizer, sentences: Sequence[str], *, max_length: int = 128,
                             batch_size: int = 64, pooling: str = "mean") -> torch.Tensor:
    """One vector per sentence at every depth: a ``(layers + 1, sentences, hidden)`` float32 tensor.

    Index 0 is the embedding output, index ``i`` the output of encoder layer ``i - 1``
    (``output_hidden_states=True``). ``pooling="mean"`` averages the token vectors (padding
    excluded); ``"cls"`` takes the first token's vector, the one the classification head reads.
    The model is switched to evaluation mode (no dropout).
    """
    if pooling not in POOLINGS:
        raise ValueError(f"Unknown pooling {pooling!r}. Choose 'mean' (average of the tokens) or 'cls' (first token).")
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


def linear_cka(x: torch.Tensor, y: torch.Tensor) -> float:
    """Linear CKA between two representations of the same ``n`` inputs (``n × d₁`` and ``n × d₂``).

    1 means the same geometry up to rotation and overall scale; values near 0, unrelated.
    ``CKA = ‖Yᵀ X‖²_F / (‖Xᵀ X‖_F ‖Yᵀ Y‖_F)`` with centred columns (Kornblith et al., 2019).

    >>> x = torch.randn(50, 4)
    >>> round(linear_cka(x, 3 * x + 1), 6)
    1.0
    """
    x, y = torch.as_tensor(x, dtype=torch.float64), torch.as_tensor(y, dtype=torch.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"linear_cka() needs two 2-D representations of the same inputs (n × d); "
                         f"got shapes {tuple(x.shape)} and {tuple(y.shape)}.")
    if _is_constant(x) or _is_constant(y):
        raise ValueError("One representation is the same for every input, so CKA is undefined: "
                         "pass different inputs (sentences), not copies of one.")
    x, y = x - x.mean(dim=0), y - y.mean(dim=0)
    norm_x, norm_y = torch.linalg.matrix_norm(x.T @ x), torch.linalg.matrix_norm(y.T @ y)
    return float(torch.linalg.matrix_norm(y.T @ x) ** 2 / (norm_x * norm_y))


def _is_constant(x: torch.Tensor) -> bool:
    """True when every row is the same vector up to float32 rounding: no variation for CKA to compare."""
    x = torch.as_tensor(x, dtype=torch.float64)
    spread = (x - x.mean(dim=0)).norm()
    return bool(spread <= 1e-6 * max(float(x.norm()), 1e-300))


def representation_change(before: nn.Module, after: nn.Module, tokenizer, sentences: Sequence[str], *,
                          max_length: int = 128, batch_size: int = 64, pooling: str = "mean") -> pd.DataFrame:
    """How much each layer's output changed for the same sentences, from ``before`` to ``after``.

    One row per depth (``embeddings``, ``layer 0``, ...) with ``CKA`` (linear CKA of the two
    models' sentence vectors), ``change`` (``1 − CKA``) and ``cosine`` (the mean cosine similarity
    of each sentence's two vectors). A layer's output also carries every change made below it.
    ``CKA`` is ``NaN`` where a model gives every sentence the same vector (with ``pooling="cls"``,
    the embedding output of the first token, which is the same token at the same position).
    """
    reps_before = sentence_representations(before, tokenizer, sentences, max_length=max_length,
                                           batch_size=batch_size, pooling=pooling)
    reps_after = sentence_representations(after, tokenizer, sentences, max_length=max_length,
                                          batch_size=batch_size, pooling=pooling)
    if reps_before.shape != reps_after.shape:
        raise ValueError(f"The models give representations of shape {tuple(reps_before.shape)} and "
                         f"{tuple(reps_after.shape)}: compare two versions of the same architecture.")
    names = ["embeddings"] + [f"layer {i}" for i in range(len(reps_before) - 1)]
    cka = [float("nan") if _is_constant(b) or _is_constant(a) else linear_cka(b, a)
           for b, a in zip(reps_before, reps_after)]
    cosine = [float(torch.nn.functional.cosine_similarity(b, a, dim=1).mean()) for b, a in zip(reps_before, reps_after)]
    out = pd.DataFrame({"CKA": cka, "change": [1 - c for c in cka], "cosine": cosine},
                       index=pd.Index(names, name="output of"))
    return out
