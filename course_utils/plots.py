"""Plots the notebooks share: the course's figure style, learning curves and the learning rate.

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

import pandas as pd

FIGSIZE = (7, 3.2)
#: Resolution of notebook figures: sharp when projected, small enough to commit.
DPI = 144
#: Matplotlib's colour-blind-safe colour cycle (Tableau's "colorblind 10").
PALETTE = "tableau-colorblind10"
#: Font sizes readable on a projected screen.
FONT_SIZES = {"font.size": 11, "axes.titlesize": 12, "axes.labelsize": 11, "xtick.labelsize": 10,
              "ytick.labelsize": 10, "legend.fontsize": 10, "figure.titlesize": 13}


def use_course_style() -> None:
    """Figure defaults for the notebooks: 144 dpi, colour-blind-safe colours, fonts readable on a projector.

    Heatmaps (drift, confusion matrices) need no grid, so the grid is off by default; line plots
    of this module switch on a light one themselves. Images use ``viridis`` (colour-blind-safe).
    """
    import matplotlib.pyplot as plt

    plt.style.use(PALETTE)  # sets the colour cycle only
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": FIGSIZE, "image.cmap": "viridis",
                         "axes.grid": False, "grid.alpha": 0.3, "axes.spines.top": False,
                         "axes.spines.right": False, **FONT_SIZES})


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


def learning_rates(log_history: Sequence[dict]) -> pd.DataFrame:
    """The ``step`` and ``learning_rate`` of every log entry that has both, in step order."""
    if not log_history:
        raise ValueError("log_history is empty: train first (trainer.train()), then pass trainer.state.log_history.")
    rows = pd.DataFrame([{"step": r["step"], "learning_rate": r["learning_rate"]}
                         for r in log_history if "learning_rate" in r and "step" in r])
    if rows.empty:
        raise ValueError(
            "log_history has no learning_rate entries: the Trainer logs the learning rate with the training loss. "
            "Set logging_steps smaller than the number of training steps."
        )
    return rows.sort_values("step", kind="stable").reset_index(drop=True)


def plot_learning_rate(log_history: Sequence[dict], ax=None, title: str = "Learning-rate schedule"):
    """The learning rate the optimizer used at each logged step (warm-up, then decay). Returns the axes."""
    import matplotlib.pyplot as plt

    rates = learning_rates(log_history)
    if ax is None:
        _, ax = plt.subplots(figsize=(FIGSIZE[0] / 2 + 0.5, FIGSIZE[1]))
    ax.plot(rates["step"], rates["learning_rate"], "o-", color="C0", markersize=3)
    ax.set(xlabel="step", ylabel="learning rate", title=title)
    ax.set_ylim(bottom=0)
    ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3))
    ax.grid(True, alpha=0.3)
    return ax
