"""tools/normalize_notebooks.py: outputs are cleaned, metadata is stable, a second run changes nothing.

The notebooks here are built in memory with nbformat; nothing is executed.
"""

import doctest
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

# The tools are scripts, not a package: make them importable for these tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import normalize_notebooks  # noqa: E402
from normalize_notebooks import clean_text, normalize_file, normalize_notebook, notebook_text, replace_machine_paths  # noqa: E402


def stream(text, name="stdout"):
    return new_output("stream", name=name, text=text)


def executed_notebook(outputs, execution_count=1):
    """A notebook with a markdown cell and one executed code cell with these outputs."""
    return new_notebook(cells=[new_markdown_cell("# 1. Title"), new_code_cell("run()", execution_count=execution_count, outputs=outputs)])


# ---------------------------------------------------------------------------------------------
# Text
# ---------------------------------------------------------------------------------------------


def test_progress_bar_becomes_its_final_line():
    bar = "\r  0%|          | 0/3 [00:00<?, ?it/s]\r 33%|###       | 1/3\r100%|##########| 3/3 [00:01<00:00]\n"
    assert clean_text("before\n" + bar + "after\n") == "before\n100%|##########| 3/3 [00:01<00:00]\nafter\n"


def test_lines_emptied_by_carriage_returns_are_dropped_but_blank_lines_stay():
    assert clean_text("a\n\nb\n\r 50%|#####     |\r          \r") == "a\n\nb\n"


def test_windows_line_ends_are_plain_line_ends():
    assert clean_text("one\r\ntwo\r\n") == "one\ntwo\n"


def test_ansi_codes_are_dropped():
    assert clean_text("\x1b[1mbold\x1b[0m and \x1b[31mred\x1b[0m\n") == "bold and red\n"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("from: /work/shared/models/all-MiniLM-L6-v2", "from: all-MiniLM-L6-v2"),
        ("/root/.cache/course_utils/tiny-distilbert-v1", "tiny-distilbert-v1"),
        ("/work/main/.venv/lib/python3.11/site-packages/transformers/trainer.py:123", "trainer.py:123"),
        ("checkpoint ../shared/models/all-MiniLM-L6-v2 loaded", "checkpoint all-MiniLM-L6-v2 loaded"),
        ("saved to /home/me/course/notebooks/course_outputs/run1/model.", "saved to model."),
        ("PosixPath('/tmp/tmpab12/x.json')", "PosixPath('x.json')"),
        ("/content/drive/MyDrive/sst2, /Users/me/x and /opt/conda/lib/y.py", "sst2, x and y.py"),
        ('File "/usr/local/lib/python3.10/dist-packages/torch/nn/modules/module.py", line 1', 'File "module.py", line 1'),
    ],
)
def test_machine_paths_become_their_last_component(text, expected):
    assert clean_text(text) == expected
    assert replace_machine_paths(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://huggingface.co/distilbert-base-uncased and https://github.com/home/work/tmp",
        "see http://localhost:8888/tree/work/notebooks",
        "a relative path inside the repository: course_outputs/run1/model",
        "Epoch 1/3, 12/100 steps, a/../b",
    ],
)
def test_urls_and_ordinary_text_are_untouched(text):
    assert clean_text(text) == text


def test_ansi_code_before_a_path_does_not_hide_it():
    line = "File \x1b[0;32m/work/main/x.py:3\x1b[0m, in f"
    assert replace_machine_paths(line) == "File \x1b[0;32mx.py:3\x1b[0m, in f"


def test_docstring_examples():
    """The examples in normalize_notebooks' docstrings (pytest's --doctest-modules skips tools/)."""
    results = doctest.testmod(normalize_notebooks)
    assert results.attempted > 0 and results.failed == 0


# ---------------------------------------------------------------------------------------------
# Notebooks
# ---------------------------------------------------------------------------------------------


def test_consecutive_streams_are_merged_before_cleaning():
    nb = executed_notebook(
        [stream("\r 50%|#####"), stream("     |\r100%|##########|\n"), stream("a warning\n", "stderr"), stream("done\n")]
    )
    outputs = normalize_notebook(nb).cells[1].outputs
    assert [(o.name, o.text) for o in outputs] == [("stdout", "100%|##########|\n"), ("stderr", "a warning\n"), ("stdout", "done\n")]


def test_stream_output_that_becomes_empty_is_dropped():
    nb = executed_notebook([stream("\r 50%|#####     |\r          \r", "stderr"), stream("result\n"), stream("\n", "stderr")])
    assert [o.text for o in normalize_notebook(nb).cells[1].outputs] == ["result\n"]


def test_paths_are_replaced_in_every_text_output_but_not_in_images():
    png = "iVBORw0KGgo/work/AAAA"  # base64 may contain "/work/": image data must stay as it is
    nb = executed_notebook(
        [
            new_output("execute_result", data={"text/plain": "'/root/x/model'", "text/html": "<b>/home/me/x/model</b>"}, execution_count=1),
            new_output("display_data", data={"image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"}),
            new_output("error", ename="OSError", evalue="no file /work/shared/x", traceback=["\x1b[0;31m/tmp/a/b.py\x1b[0m"]),
        ]
    )
    result, figure, error = normalize_notebook(nb).cells[1].outputs
    assert result.data == {"text/plain": "'model'", "text/html": "<b>model</b>"}
    assert figure.data["image/png"] == png
    assert (error.evalue, error.traceback) == ("no file x", ["\x1b[0;31mb.py\x1b[0m"])


def test_widget_outputs_are_dropped_and_their_text_kept():
    widget = {"model_id": "abc", "version_major": 2, "version_minor": 0}
    nb = executed_notebook(
        [
            new_output("display_data", data={"application/vnd.jupyter.widget-view+json": widget}),
            new_output("display_data", data={"application/vnd.jupyter.widget-view+json": widget, "text/plain": "100%|##| 3/3"}),
        ]
    )
    outputs = normalize_notebook(nb).cells[1].outputs
    assert [o.data for o in outputs] == [{"text/plain": "100%|##| 3/3"}]


def test_metadata_is_cleaned_and_execution_counts_kept():
    nb = executed_notebook([stream("hi\n")], execution_count=7)
    nb.cells.append(new_code_cell("x = 1", execution_count=8))  # executed, no output
    nb.cells[1].metadata.update(execution={"iopub.execute_input": "2024-01-01T00:00:00Z"}, tags=["keep-me"], scrolled=True)
    nb.metadata.update(
        kernelspec={"name": "venv-course", "display_name": "Python (.venv)", "language": "python"},
        language_info={"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"},
        colab={"provenance": []},
        widgets={"application/vnd.jupyter.widget-state+json": {}},
        papermill={"duration": 1.5},
        vscode={"interpreter": {"hash": "abc"}},
    )

    clean = normalize_notebook(nb)

    assert clean.metadata == {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python", "pygments_lexer": "ipython3"},
        "colab": {"provenance": []},
    }
    assert clean.cells[1].metadata == {"tags": ["keep-me"], "scrolled": True}
    assert [cell.get("execution_count") for cell in clean.cells[1:]] == [7, 8]
    assert nb.metadata.kernelspec.name == "venv-course", "the notebook passed in is not changed"


def test_normalising_twice_changes_nothing(tmp_path):
    nb = executed_notebook(
        [
            stream("\x1b[1mLoading\x1b[0m /work/shared/models/m\n\r 10%|#\r100%|##########|\n"),
            stream("\r  0%|\r100%|##|\n", "stderr"),
            new_output("execute_result", data={"text/plain": "PosixPath('../shared/data/sst2')"}, execution_count=1),
        ]
    )
    nb.metadata["widgets"] = {"state": {}}
    path = tmp_path / "01_example.ipynb"
    path.write_text(nbformat.writes(nb), encoding="utf-8")

    assert normalize_file(path) is True
    first = path.read_text(encoding="utf-8")
    assert normalize_file(path) is False
    assert path.read_text(encoding="utf-8") == first
    assert first.endswith("}\n") and '\n "cells": [' in first, "nbformat 4, indent 1, final newline"
    assert notebook_text(normalize_notebook(nbformat.reads(first, as_version=4))) == first


def test_command_line_check_mode(tmp_path):
    path = tmp_path / "01_example.ipynb"
    path.write_text(nbformat.writes(executed_notebook([stream("/root/x\n")])), encoding="utf-8")
    before = path.read_text(encoding="utf-8")

    assert normalize_notebooks.main(["--check", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == before, "--check changes nothing"
    assert normalize_notebooks.main([str(path)]) == 0
    assert normalize_notebooks.main(["--check", str(path)]) == 0
