"""Plots the notebooks share: the course's figure style, learning curves and parameter drift.

Confusion matrices come straight from scikit-learn (``sklearn.metrics.ConfusionMatrixDisplay``).

Example:
    >>> history = [{"loss": 0.7, "learning_rate": 1e-4, "step": 10}, {"loss": 0.5, "learning_rate": 5e-5, "step": 20},
    ...            {"eval_loss": 0.45, "eval_accuracy": 0.8, "step": 20}]
    >>> curves = learning_curves(history)
    >>> curves["train"]["loss"].tolist(), curves["eval"]["eval_accuracy"].tolist()
    ([0.7, 0.5], [0.8])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from .blocks import block_order
from .drift import drift_by_block

FIGSIZE = (7, 3.2)
#: Resolution of notebook figures: sharp when projected, small enough to commit.
DPI = 144
#: Matplotlib's colour-blind-safe colour cycle (Tableau's "colorblind 10").
PALETTE = "tableau-colorblind10"
#: Font sizes readable on a projected screen.
FONT_SIZES = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
              "ytick.labelsize": 10, "legend.fontsize": 10, "figure.titlesize": 13}


def use_course_style() -> None:
    """Figure defaults for the notebooks: 144 dpi, colour-blind-safe colours and ``viridis``, fonts readable
    on a projector, no grid (heatmaps need none; this module's line plots switch on a light one)."""
    import matplotlib.pyplot as plt

    plt.style.use(PALETTE)  # sets the colour cycle only
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": FIGSIZE, "image.cmap": "viridis",
                         "axes.grid": False, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, **FONT_SIZES})


def learning_curves(log_history: Sequence[dict]) -> dict[str, pd.DataFrame]:
    """``trainer.state.log_history`` as two tables (``pd.DataFrame``): training-loss rows and evaluation rows."""
    if not log_history:
        raise ValueError("log_history is empty: train first (trainer.train()), then pass trainer.state.log_history.")
    history = pd.DataFrame(log_history)
    train = history.dropna(subset=["loss"]) if "loss" in history else history.iloc[:0]
    evals = history.dropna(subset=["eval_loss"]) if "eval_loss" in history else history.iloc[:0]
    if train.empty:
        raise ValueError("log_history has no training-loss entries. Set logging_steps smaller than the number of "
                         "training steps (the course's recipe logs about 25 times per run).")
    return {"train": train, "eval": evals}


def plot_learning_curves(log_history: Sequence[dict], title: str = "Learning curves"):
    """Training and validation loss (left) and validation accuracy (right) against the step."""
    import matplotlib.pyplot as plt

    curves = learning_curves(log_history)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=FIGSIZE)
    ax_loss.plot(curves["train"]["step"], curves["train"]["loss"], color="C0", label="training loss")
    if not curves["eval"].empty:
        ax_loss.plot(curves["eval"]["step"], curves["eval"]["eval_loss"], "o-", color="C1", label="validation loss")
        if "eval_accuracy" in curves["eval"]:
            ax_acc.plot(curves["eval"]["step"], curves["eval"]["eval_accuracy"], "o-", color="C1")
    ax_loss.set(xlabel="step", ylabel="loss", title="Loss")
    ax_loss.legend()
    ax_acc.set(xlabel="step", ylabel="accuracy", title="Validation accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(True, alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


#: What each drift metric is, as an axis or colour-bar label.
METRIC_LABELS = {"rel_change": "relative change ‖ΔW‖/‖W₀‖", "abs_change": "absolute change ‖ΔW‖",
                 "changed %": "entries that changed (%)"}


def _metric_label(metric: str) -> str:
    if metric not in METRIC_LABELS:
        raise ValueError(f"Unknown drift metric {metric!r}. Choose one of: {', '.join(map(repr, METRIC_LABELS))}.")
    return METRIC_LABELS[metric]


def plot_drift_by_block(table: pd.DataFrame, metric: str = "rel_change", ax=None, title: str | None = None,
                        log: bool = False):
    """Bar chart of drift per block, embeddings first, head last; ``log=True``: a log axis, so that one block
    that moved far more (often the head) does not flatten the others. Returns the axes."""
    import matplotlib.pyplot as plt

    label = _metric_label(metric)
    by_block = drift_by_block(table)
    if ax is None:
        _, ax = plt.subplots(figsize=FIGSIZE)
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
