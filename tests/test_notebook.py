"""course_utils.notebook: quiet libraries that never hide a load problem, and the run card."""

from __future__ import annotations

import contextlib
import logging.handlers
import os
import platform
import sys
import types

import datasets
import evaluate
import pytest
import torch
import transformers
from transformers import AutoModel, AutoModelForSequenceClassification

from course_utils import notebook as N
from course_utils.settings import get_settings

# --- quiet_libraries: routine load reports hidden, load problems said in one line -----------------

@pytest.fixture
def logged():
    """Call quiet_libraries(); yield the messages that reach transformers' handlers; restore the libraries."""
    loader = logging.getLogger(N.LOAD_LOGGER)
    before = (transformers.logging.get_verbosity(), transformers.logging.is_progress_bar_enabled(),
              datasets.is_progress_bar_enabled(), loader.level, list(loader.filters))
    handler = logging.handlers.BufferingHandler(capacity=1000)
    transformers.logging.add_handler(handler)
    N.quiet_libraries()
    yield lambda: [record.getMessage() for record in handler.buffer]
    transformers.logging.remove_handler(handler)
    transformers.logging.set_verbosity(before[0])
    (transformers.logging.enable_progress_bar if before[1] else transformers.logging.disable_progress_bar)()
    (datasets.enable_progress_bars if before[2] else datasets.disable_progress_bars)()
    loader.setLevel(before[3])
    loader.filters[:] = before[4]


def test_a_routine_load_is_silent(logged, tiny_path):
    AutoModelForSequenceClassification.from_pretrained(tiny_path, num_labels=2)  # a new head: 4 weights missing
    AutoModel.from_pretrained(tiny_path)  # the masked-LM head: 5 weights unused
    N.quiet_libraries()  # a second call adds no second filter
    logging.getLogger(N.LOAD_LOGGER).warning("another warning")  # hidden, as before
    assert logged() == []
    transformers.logging.set_verbosity_warning()  # asked for: the library's own report again
    AutoModelForSequenceClassification.from_pretrained(tiny_path, num_labels=2)
    assert [m for m in logged() if "LOAD REPORT" in m and "classifier.weight" in m]


@pytest.mark.parametrize("changes, auto, counts", [  # a third layer: layer 2's 16 weights, and the new head's 4
    ({"n_layers": 3}, AutoModelForSequenceClassification, "20 missing (left random), 5 unused, 0 of another shape"),
    ({"n_layers": 3}, AutoModel, "16 missing (left random), 5 unused, 0 of another shape"),
    ({"dim": 32, "hidden_dim": 64}, AutoModelForSequenceClassification, "36 of another shape"),
])
def test_a_load_problem_is_said_in_one_line(logged, tiny_copy, changes, auto, counts):
    folder = tiny_copy(**changes)
    shapes = "dim" in changes  # the library then fails, pointing at the report: it is there
    with pytest.raises(RuntimeError, match="look at the above report") if shapes else contextlib.nullcontext():
        auto.from_pretrained(folder)
    [line] = logged()
    assert "\n" not in line and f"from {folder} does not fit its weights: " in line and counts in line
    assert "copy the checkpoint again, or point COURSE_CHECKPOINT" in line


def test_the_one_line_counts_merged_rows_and_ignores_colours():
    report = ("\x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: /models/x\n"
              "Key | Status\n---\nbert.encoder.layer.{0...11}.attention.self.query.weight | \x1b[31mMISSING\x1b[0m |\n"
              "bert.encoder.layer.{0, 1}.output.{2, 3, 4}.bias | MISSING |\ncls.predictions.bias | UNEXPECTED |\n"
              "classifier.weight | MISSING |\n\nNotes:\n- MISSING:\tthose params were newly initialized")
    assert "from /models/x does not fit its weights: 19 missing (left random), 1 unused" in N.load_report_line(report)
    routine = ("BertForSequenceClassification LOAD REPORT from: m\n"
               "cls.predictions.bias | UNEXPECTED |\nclassifier.weight | MISSING |")
    assert N.load_report_line(routine) is None


# --- The run card ---------------------------------------------------------------------------------

def test_run_card_content(tmp_path, capsys):
    (tmp_path / "mine").mkdir()
    s = get_settings("smoke", env={"COURSE_CHECKPOINT": str(tmp_path / "mine")})
    assert N.run_card(s) is None  # a cell ending with run_card(settings) shows the card once
    card = capsys.readouterr().out.strip()
    assert card == N.format_run_card(s)
    assert card.startswith("Run card")
    assert "mine (local folder) (set by COURSE_CHECKPOINT)" in card
    assert "sample (profile smoke): not loaded yet" in card
    assert f"up to {s.max_train_samples:,} training rows" in card
    assert N.device_description() in card
    for library in (transformers, datasets, evaluate):
        assert library.__version__ in card
    assert torch.__version__.split("+")[0] in card and platform.python_version() in card
    assert str(tmp_path) not in card


def test_run_card_with_data_shows_the_sentences_training_uses(sample):
    n_train = len(sample["train"])
    card = N.format_run_card(get_settings("smoke", env={}), sample)
    assert f"train {n_train:,}, validation {len(sample['validation']):,} rows" in card
    assert f"{min(512, n_train):,} training rows" in card
    card = N.format_run_card(get_settings("smoke", env={}, max_train_samples=1_000_000_000), sample)
    assert f"{n_train:,} training rows" in card and "1,000,000,000" not in card
    card = N.format_run_card(get_settings("smoke", env={}, max_train_samples="all"), sample)
    assert f"{n_train:,} training rows" in card
    assert "all training rows" in N.format_run_card(get_settings("smoke", env={}, max_train_samples="all"))


def test_on_colab_without_a_gpu_the_card_says_how_to_get_one(set_gpu, monkeypatch):
    set_gpu(False)
    assert "WARNING" not in N.format_run_card(get_settings(env={}))  # not on Colab
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    card = N.format_run_card(get_settings(env={}))
    assert "WARNING" in card and "T4 GPU" in card
    assert "COURSE_PROFILE" not in card.split("\n")[2], "on Colab, the first cell's PROFILE is the way to change it"
    set_gpu(True)
    assert "WARNING" not in N.format_run_card(get_settings(env={}))


def test_keep_outputs_on_drive_mounts_drive_on_colab_only(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_OUTPUT_DIR", "before")  # so that monkeypatch restores the variable afterwards
    monkeypatch.delenv("COURSE_OUTPUT_DIR")
    with pytest.raises(RuntimeError, match="is for Colab"):
        N.keep_outputs_on_drive()
    assert "COURSE_OUTPUT_DIR" not in os.environ
    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(N, "Path", lambda *parts: tmp_path.joinpath(*[str(p).lstrip("/") for p in parts]))
    path = N.keep_outputs_on_drive()
    assert mounted == ["/content/drive"] and path.is_dir()
    assert os.environ["COURSE_OUTPUT_DIR"] == str(path) and path.name == "course_outputs"
