"""course_utils.plots: learning curves and the learning rate from a Trainer's log history, course style."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from course_utils.plots import (  # noqa: E402
    FIGSIZE,
    learning_curves,
    learning_rates,
    plot_learning_curves,
    plot_learning_rate,
    use_course_style,
)

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
    with pytest.raises(ValueError, match=r"log_history is empty.*trainer\.train\(\)"):
        learning_curves([])


def test_learning_curves_without_loss_entries():
    only_evals = [r for r in HISTORY if "loss" not in r]
    with pytest.raises(ValueError, match=r"no training-loss entries.*logging_steps"):
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


def test_learning_rates_in_step_order():
    shuffled = [HISTORY[3], HISTORY[0], HISTORY[2], HISTORY[1]]
    rates = learning_rates(shuffled)
    assert rates["step"].tolist() == [5, 10, 15]
    assert rates["learning_rate"].tolist() == [1e-4, 8e-5, 4e-5]


def test_learning_rates_of_empty_history():
    with pytest.raises(ValueError, match=r"log_history is empty"):
        learning_rates([])


def test_learning_rates_without_learning_rate_entries():
    without = [{k: v for k, v in r.items() if k != "learning_rate"} for r in HISTORY]
    with pytest.raises(ValueError, match=r"no learning_rate entries.*logging_steps"):
        learning_rates(without)


def test_plot_learning_rate_draws_the_logged_schedule():
    ax = plot_learning_rate(HISTORY)
    assert isinstance(ax, matplotlib.axes.Axes)
    (line,) = ax.get_lines()
    assert line.get_xdata().tolist() == [5, 10, 15]
    assert line.get_ydata().tolist() == [1e-4, 8e-5, 4e-5]
    assert ax.get_ylabel() == "learning rate" and ax.get_xlabel() == "step"
    assert ax.get_ylim()[0] == 0  # the schedule's height is read against zero
    _, given = plt.subplots()
    assert plot_learning_rate(HISTORY, ax=given, title="Run 1") is given and given.get_title() == "Run 1"


def test_plot_learning_rate_bad_input():
    with pytest.raises(ValueError, match=r"no learning_rate entries"):
        plot_learning_rate([{"eval_loss": 0.5, "step": 10}])


def test_use_course_style():
    with matplotlib.rc_context():
        use_course_style()
        assert tuple(plt.rcParams["figure.figsize"]) == FIGSIZE
        assert plt.rcParams["figure.dpi"] == 144 and plt.rcParams["savefig.dpi"] == 144
        assert plt.rcParams["axes.spines.top"] is False
        assert plt.rcParams["axes.grid"] is False  # heatmaps get no grid lines
        assert plt.rcParams["font.size"] >= 11
        colours = [to_hex(c["color"]) for c in plt.rcParams["axes.prop_cycle"]]
        assert colours[:3] == ["#006ba4", "#ff800e", "#ababab"]  # tableau-colorblind10, not tab:blue/orange/green
        assert plt.rcParams["image.cmap"] == "viridis"


def test_use_course_style_lines_use_the_palette():
    with matplotlib.rc_context():
        use_course_style()
        fig = plot_learning_curves(HISTORY)
        ax_loss, ax_acc = fig.axes
        train_line, eval_line = ax_loss.get_lines()
        assert to_hex(train_line.get_color()) == "#006ba4" and to_hex(eval_line.get_color()) == "#ff800e"
        assert to_hex(ax_acc.get_lines()[0].get_color()) == "#ff800e"  # validation: one colour in both panels
