"""course_utils.plots: learning curves from a Trainer's log history, the confusion matrix, course style."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import confusion_matrix as sk_confusion_matrix  # noqa: E402

from course_utils.plots import (  # noqa: E402
    FIGSIZE, confusion_matrix, learning_curves, plot_confusion_matrix, plot_learning_curves, use_course_style,
)

NAMES = ["negative", "positive"]

# Shaped like trainer.state.log_history: training logs, evaluations, and the final summary.
HISTORY = [
    {"loss": 0.69, "grad_norm": 1.0, "learning_rate": 1e-4, "epoch": 0.25, "step": 5},
    {"loss": 0.61, "grad_norm": 1.1, "learning_rate": 8e-5, "epoch": 0.5, "step": 10},
    {"eval_loss": 0.58, "eval_accuracy": 0.71, "eval_f1": 0.7, "epoch": 0.5, "step": 10},
    {"loss": 0.50, "grad_norm": 0.9, "learning_rate": 4e-5, "epoch": 0.75, "step": 15},
    {"eval_loss": 0.49, "eval_accuracy": 0.78, "eval_f1": 0.77, "epoch": 1.0, "step": 20},
    {"train_runtime": 12.0, "train_loss": 0.6, "epoch": 1.0, "step": 20},
]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_learning_curves_splits_training_and_evaluation_rows():
    curves = learning_curves(HISTORY)
    assert curves["train"]["step"].tolist() == [5, 10, 15]
    assert curves["train"]["loss"].tolist() == [0.69, 0.61, 0.50]
    assert curves["eval"]["step"].tolist() == [10, 20]
    assert curves["eval"]["eval_accuracy"].tolist() == [0.71, 0.78]


def test_learning_curves_without_evaluations():
    curves = learning_curves([r for r in HISTORY if "eval_loss" not in r])
    assert len(curves["train"]) == 3
    assert curves["eval"].empty


def test_learning_curves_of_empty_history():
    with pytest.raises(ValueError, match=r"log_history is empty: train first \(trainer\.train\(\)\), then pass trainer\.state\.log_history"):
        learning_curves([])


def test_learning_curves_without_loss_entries():
    only_evals = [r for r in HISTORY if "loss" not in r]
    with pytest.raises(ValueError, match=r"log_history has no training-loss entries\. Set logging_steps smaller than the number of training steps"):
        learning_curves(only_evals)


def test_plot_learning_curves():
    fig = plot_learning_curves(HISTORY, title="Run 1")
    assert isinstance(fig, matplotlib.figure.Figure)
    ax_loss, ax_acc = fig.axes
    assert [line.get_label() for line in ax_loss.get_lines()] == ["training loss", "validation loss"]
    assert ax_loss.get_lines()[0].get_xdata().tolist() == [5, 10, 15]
    assert ax_acc.get_lines()[0].get_ydata().tolist() == [0.71, 0.78]
    assert fig.get_suptitle() == "Run 1"


def test_plot_learning_curves_without_evaluations():
    fig = plot_learning_curves([r for r in HISTORY if "eval_loss" not in r])
    ax_loss, ax_acc = fig.axes
    assert len(ax_loss.get_lines()) == 1 and len(ax_acc.get_lines()) == 0


def test_plot_learning_curves_of_empty_history():
    with pytest.raises(ValueError, match=r"log_history is empty"):
        plot_learning_curves([])


@pytest.mark.parametrize("seed", [0, 1])
def test_confusion_matrix_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    references, predictions = rng.integers(0, 2, 100), rng.integers(0, 2, 100)
    table = confusion_matrix(references, predictions, NAMES)
    assert table.to_numpy().tolist() == sk_confusion_matrix(references, predictions, labels=[0, 1]).tolist()
    assert table.index.tolist() == NAMES and table.columns.tolist() == NAMES
    assert (table.index.name, table.columns.name) == ("true", "predicted")
    assert table.to_numpy().sum() == 100


def test_confusion_matrix_three_classes_and_plain_lists():
    table = confusion_matrix([0, 1, 2, 2], [0, 2, 2, 1], ["neg", "neutral", "pos"])
    assert table.loc["pos", "neutral"] == 1 and table.loc["neutral", "pos"] == 1 and table.loc["pos", "pos"] == 1


def test_confusion_matrix_of_nothing_is_all_zero():
    assert confusion_matrix([], [], NAMES).to_numpy().tolist() == [[0, 0], [0, 0]]


def test_confusion_matrix_lengths_must_match():
    with pytest.raises(ValueError, match=r"references and predictions differ in length \(3 vs 2\); pass one prediction per reference"):
        confusion_matrix([0, 1, 1], [0, 1], NAMES)


@pytest.mark.parametrize("references, predictions, which", [
    ([0, 2, 1], [0, 1, 1], "references"),
    ([0, -1, 1], [0, 1, 1], "references"),
    ([0, 1, 1], [0, 1, 5], "predictions"),
])
def test_confusion_matrix_ids_out_of_range(references, predictions, which):
    with pytest.raises(ValueError, match=rf"{which} hold ids outside 0\.\.1 \(labels \['negative', 'positive'\]\)\. Hidden test labels \(-1\) cannot be scored"):
        confusion_matrix(references, predictions, NAMES)


def test_plot_confusion_matrix_writes_the_counts():
    references, predictions = [0, 0, 1, 1, 1], [0, 1, 1, 1, 0]
    ax = plot_confusion_matrix(references, predictions, NAMES)
    assert isinstance(ax, matplotlib.axes.Axes)
    expected = sk_confusion_matrix(references, predictions).flatten().tolist()  # row by row, as drawn
    assert [int(t.get_text()) for t in ax.texts] == expected
    assert [t.get_text() for t in ax.get_xticklabels()] == NAMES
    _, given = plt.subplots()
    assert plot_confusion_matrix(references, predictions, NAMES, ax=given) is given


def test_plot_confusion_matrix_bad_input():
    with pytest.raises(ValueError, match=r"differ in length"):
        plot_confusion_matrix([0, 1], [0], NAMES)


def test_use_course_style():
    with matplotlib.rc_context():
        use_course_style()
        assert tuple(plt.rcParams["figure.figsize"]) == FIGSIZE
        assert plt.rcParams["figure.dpi"] == 100
        assert plt.rcParams["axes.spines.top"] is False
