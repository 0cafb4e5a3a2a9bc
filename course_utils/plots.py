"""Plots the notebooks share: learning curves from a Trainer's ``log_history`` and a confusion matrix.

Example:
    >>> history = [{"loss": 0.7, "step": 10}, {"loss": 0.5, "step": 20},
    ...            {"eval_loss": 0.45, "eval_accuracy": 0.8, "step": 20}]
    >>> curves = learning_curves(history)
    >>> curves["train"]["loss"].tolist(), curves["eval"]["eval_accuracy"].tolist()
    ([0.7, 0.5], [0.8])
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

FIGSIZE = (7, 3.2)


def learning_curves(log_history: Sequence[dict]) -> dict[str, pd.DataFrame]:
    """Split ``trainer.state.log_history`` into training-loss rows and evaluation rows, by step."""
    if not log_history:
        raise ValueError("log_history is empty: train first (trainer.train()), then pass trainer.state.log_history.")
    train = pd.DataFrame([r for r in log_history if "loss" in r and "step" in r])
    evals = pd.DataFrame([r for r in log_history if "eval_loss" in r and "step" in r])
    if train.empty:
        raise ValueError(
            "log_history has no training-loss entries. Set logging_steps smaller than the number of "
            "training steps (the course's recipe logs about 25 times per run)."
        )
    return {"train": train, "eval": evals}


def plot_learning_curves(log_history: Sequence[dict], title: str = "Learning curves"):
    """Training and validation loss (left) and validation accuracy (right) against the step."""
    import matplotlib.pyplot as plt

    curves = learning_curves(log_history)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=FIGSIZE)
    ax_loss.plot(curves["train"]["step"], curves["train"]["loss"], label="training loss")
    if not curves["eval"].empty:
        ax_loss.plot(curves["eval"]["step"], curves["eval"]["eval_loss"], "o-", label="validation loss")
        if "eval_accuracy" in curves["eval"]:
            ax_acc.plot(curves["eval"]["step"], curves["eval"]["eval_accuracy"], "o-", color="tab:green")
    ax_loss.set(xlabel="step", ylabel="loss", title="Loss")
    ax_loss.legend()
    ax_acc.set(xlabel="step", ylabel="accuracy", title="Validation accuracy")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(references: Sequence[int], predictions: Sequence[int], label_names: Sequence[str]) -> pd.DataFrame:
    """Counts of (true label, predicted label) as a labelled table (rows: true, columns: predicted).

    >>> confusion_matrix([0, 0, 1], [0, 1, 1], ["negative", "positive"]).to_numpy().tolist()
    [[1, 1], [0, 1]]
    """
    references, predictions = np.asarray(references), np.asarray(predictions)
    if references.shape != predictions.shape:
        raise ValueError(f"references and predictions differ in length ({len(references)} vs {len(predictions)}); pass one prediction per reference.")
    n = len(label_names)
    for what, values in (("references", references), ("predictions", predictions)):
        if len(values) and (values.min() < 0 or values.max() >= n):
            raise ValueError(f"{what} hold ids outside 0..{n - 1} (labels {list(label_names)}). Hidden test labels (-1) cannot be scored.")
    counts = np.zeros((n, n), dtype=int)
    if len(references):  # np.asarray([]) is a float array, which cannot index
        np.add.at(counts, (references, predictions), 1)
    return pd.DataFrame(counts, index=pd.Index(label_names, name="true"), columns=pd.Index(label_names, name="predicted"))


def plot_confusion_matrix(references: Sequence[int], predictions: Sequence[int], label_names: Sequence[str], ax=None):
    """Heatmap of :func:`confusion_matrix` with the counts written in."""
    import matplotlib.pyplot as plt

    table = confusion_matrix(references, predictions, label_names)
    if ax is None:
        _, ax = plt.subplots(figsize=(3.6, 3.2))
    ax.imshow(table.to_numpy(), cmap="Blues")
    ax.set_xticks(range(len(label_names)), label_names)
    ax.set_yticks(range(len(label_names)), label_names)
    ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix")
    top = table.to_numpy().max()
    for (i, j), value in np.ndenumerate(table.to_numpy()):
        ax.text(j, i, str(value), ha="center", va="center", color="white" if value > top / 2 else "black")
    return ax


def use_course_style() -> None:
    """Figure defaults for the notebooks: PNG at 100 dpi, 7 x 3.2 inches (small committed notebooks)."""
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "figure.figsize": FIGSIZE,
                         "axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False})
