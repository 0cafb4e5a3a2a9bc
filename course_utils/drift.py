"""Parameter drift: how far fine-tuning moved each weight from where the checkpoint started.

Take a :func:`snapshot` before training, :func:`compare` it with the trained model, and
read the result per tensor, per layer (:func:`drift_by_block`) or as plots. For each tensor
``W0`` (before) and ``W1`` (after):

* absolute change ``‖W1 − W0‖`` (Frobenius norm of the difference),
* relative change ``‖W1 − W0‖ / ‖W0‖``: comparable across tensors of different sizes,
* ``changed %``: the share of entries that moved at all (frozen weights: exactly 0).

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

from pathlib import Path
from typing import Mapping

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
    """Save a snapshot as a ``.safetensors`` file (notebook 5 saves the pretrained weights)."""
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in snap.items()}, str(path))
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


def compare(before: Snapshot | nn.Module, after: Snapshot | nn.Module) -> pd.DataFrame:
    """One row per tensor: block, sub-module, size, absolute and relative change, share changed.

    Raises ``ValueError`` when the two do not come from the same architecture.
    """
    before = snapshot(before) if isinstance(before, nn.Module) else before
    after = snapshot(after) if isinstance(after, nn.Module) else after
    only_before = sorted(set(before) - set(after))
    only_after = sorted(set(after) - set(before))
    if only_before or only_after:
        raise ValueError(
            "These weights do not come from the same model: "
            f"{len(only_before)} tensor(s) only in 'before' (e.g. {only_before[:2]}), "
            f"{len(only_after)} only in 'after' (e.g. {only_after[:2]}). "
            "Compare a fine-tuned model with the snapshot of the checkpoint it was loaded from."
        )
    rows = []
    for name, w0 in before.items():
        w1 = after[name].to(torch.float32)
        if w0.shape != w1.shape:
            raise ValueError(
                f"{name} has shape {tuple(w0.shape)} before and {tuple(w1.shape)} after: not the same architecture. "
                "Compare a model with the snapshot of its own starting checkpoint."
            )
        delta = (w1 - w0.to(torch.float32))
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


def plot_drift_by_block(table: pd.DataFrame, metric: str = "rel_change", ax=None, title: str | None = None):
    """Bar chart of drift per block, embeddings first and head last. Returns the axes."""
    import matplotlib.pyplot as plt

    by_block = drift_by_block(table)
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.2))
    ax.bar(by_block.index, by_block[metric], color="tab:blue")
    ax.set_ylabel("relative change ‖ΔW‖/‖W₀‖" if metric == "rel_change" else "absolute change ‖ΔW‖")
    ax.set_title(title or "How far fine-tuning moved each block")
    ax.tick_params(axis="x", rotation=45)
    return ax


def plot_drift_heatmap(table: pd.DataFrame, metric: str = "rel_change", ax=None, title: str | None = None):
    """Heatmap of drift by encoder layer (rows) and sub-module (columns). Returns the axes."""
    import matplotlib.pyplot as plt

    layers = table[table["block"].str.startswith("layer ")]
    if layers.empty:
        raise ValueError("The table has no encoder-layer rows to draw. Pass the full table from compare().")
    grid = drift_by_block(layers, by=["block", "submodule"])[metric].unstack("submodule")
    grid = grid.loc[block_order(grid.index)]
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.2))
    image = ax.imshow(grid.to_numpy(), cmap="viridis", aspect="auto")
    ax.grid(False)  # no grid lines across the cells
    ax.set_xticks(range(grid.shape[1]), grid.columns)
    ax.set_yticks(range(grid.shape[0]), grid.index)
    for (i, j), value in np.ndenumerate(grid.to_numpy()):
        ax.text(j, i, f"{value:.3f}", ha="center", va="center", color="white" if value < np.nanmax(grid.to_numpy()) * 0.6 else "black", fontsize=8)
    ax.figure.colorbar(image, ax=ax, label="relative change" if metric == "rel_change" else metric)
    ax.set_title(title or "Drift by layer and sub-module")
    return ax
