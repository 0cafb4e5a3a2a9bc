"""course_utils.plots: the course style, learning curves from a Trainer's log history, drift plots."""

from __future__ import annotations

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.colors import to_hex

from course_utils import plots
from course_utils.drift import compare, drift_by_block, snapshot
from course_utils.plots import learning_curves, plot_drift_by_block, plot_drift_heatmap, plot_learning_curves

# Shaped like trainer.state.log_history: training logs, evaluations, and the final summary.
HISTORY = [
    {"loss": 0.69, "grad_norm": 1.0, "learning_rate": 1e-4, "epoch": 0.25, "step": 5},
    {"loss": 0.61, "grad_norm": 1.1, "learning_rate": 8e-5, "epoch": 0.5, "step": 10},
    {"eval_loss": 0.58, "eval_accuracy": 0.71, "eval_f1": 0.7, "epoch": 0.5, "step": 10},
    {"loss": 0.50, "grad_norm": 0.9, "learning_rate": 4e-5, "epoch": 0.75, "step": 15},
    {"eval_loss": 0.49, "eval_accuracy": 0.78, "eval_f1": 0.77, "epoch": 1.0, "step": 20},
    {"train_runtime": 12.0, "train_loss": 0.6, "epoch": 1.0, "step": 20},
]
WITHOUT_EVALS = [r for r in HISTORY if "eval_loss" not in r]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_learning_curves_split_training_and_evaluation_rows():
    curves = learning_curves(HISTORY)
    assert (curves["train"]["step"].tolist(), curves["train"]["loss"].tolist()) == ([5, 10, 15], [0.69, 0.61, 0.50])
    assert (curves["eval"]["step"].tolist(), curves["eval"]["eval_accuracy"].tolist()) == ([10, 20], [0.71, 0.78])
    assert learning_curves(WITHOUT_EVALS)["eval"].empty


@pytest.mark.parametrize("history, words", [([], r"log_history is empty.*trainer\.train\(\)"),
                                            ([HISTORY[2], HISTORY[4]], "no training-loss.*logging_steps")])
def test_learning_curves_bad_history(history, words):
    with pytest.raises(ValueError, match=words):
        plot_learning_curves(history)


def test_plot_learning_curves_in_the_course_style():
    with matplotlib.rc_context():
        plots.use_course_style()
        fig = plot_learning_curves(HISTORY, title="Run 1")
        ax_loss, ax_acc = fig.axes
        colours = [to_hex(line.get_color()) for line in ax_loss.get_lines() + ax_acc.get_lines()]
    assert colours == ["#006ba4", "#ff800e", "#ff800e"]  # tableau-colorblind10; validation one colour in both
    assert [line.get_label() for line in ax_loss.get_lines()] == ["training loss", "validation loss"]
    assert ax_loss.get_lines()[0].get_xdata().tolist() == [5, 10, 15]
    assert ax_acc.get_lines()[0].get_ydata().tolist() == [0.71, 0.78] and fig.get_suptitle() == "Run 1"
    ax_loss, ax_acc = plot_learning_curves(WITHOUT_EVALS).axes
    assert (len(ax_loss.get_lines()), len(ax_acc.get_lines())) == (1, 0)


@pytest.fixture
def drift_table(tiny_bert):
    """Every weight scaled by 1.02, the head's by 2: relative change 0.02 everywhere but 1.0 in the head."""
    before = snapshot(tiny_bert)
    with torch.no_grad():
        for name, p in tiny_bert.named_parameters():
            p.mul_(2.0 if name.startswith(("bert.pooler", "classifier")) else 1.02)
    return compare(before, tiny_bert)


@pytest.mark.parametrize("metric, words", [("rel_change", "relative change"), ("abs_change", "absolute change"),
                                           ("changed %", "entries that changed")])
def test_drift_plots_draw_each_metric_labelled_as_itself(drift_table, metric, words):
    ax = plot_drift_by_block(drift_table, metric=metric, title="drift")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["embeddings", "layer 0", "layer 1", "layer 2", "head"]
    assert [bar.get_height() for bar in ax.patches] == pytest.approx(drift_by_block(drift_table)[metric].tolist())
    assert words in ax.get_ylabel() and ax.get_title() == "drift"
    heat = plot_drift_heatmap(drift_table, metric=metric)
    assert [t.get_text() for t in heat.get_yticklabels()] == ["layer 0", "layer 1", "layer 2"]
    assert [t.get_text() for t in heat.get_xticklabels()] == ["attention", "feed-forward", "layer norm"]
    assert words in heat.figure.axes[-1].get_ylabel()  # the colour bar


def test_the_log_axis_keeps_small_bars_visible(drift_table):
    ax = plot_drift_by_block(drift_table, log=True)
    low, high = ax.get_ylim()
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel() and low < 0.02 and high > 1.0
    assert plot_drift_by_block(drift_table).get_yscale() == "linear"


def test_the_heatmap_writes_every_value_without_grid_lines(drift_table):
    _, given = plt.subplots()
    with matplotlib.rc_context({"axes.grid": True}):
        heat = plot_drift_heatmap(drift_table, ax=given)
    assert heat is given and not any(line.get_visible() for line in heat.get_xgridlines() + heat.get_ygridlines())
    assert [t.get_text() for t in heat.texts] == ["0.02"] * 9  # 3 layers × 3 sub-modules


@pytest.mark.parametrize("plot", [plot_drift_by_block, plot_drift_heatmap])
def test_drift_plots_bad_input(drift_table, plot):
    with pytest.raises(ValueError, match=r"Unknown drift metric 'relative'.*'rel_change'"):
        plot(drift_table, metric="relative")
    with pytest.raises(ValueError, match=r"no encoder-layer rows"):
        plot_drift_heatmap(drift_table[~drift_table["block"].str.startswith("layer ")])
