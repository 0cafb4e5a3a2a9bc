"""tools/clean.py: outputs are cleaned, metadata is stable, a second run changes nothing.

The notebooks here are built in memory with nbformat; nothing is executed.
"""

import re
import tomllib

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbval.plugin import get_sanitize_patterns

from tools import ROOT, clean
from tools.clean import SANITIZE_RULES, normalize, replace_machine_paths

WIDGET = "application/vnd.jupyter.widget-view+json"
KERNEL = {"name": "python3", "display_name": "Python 3", "language": "python"}


def stream(text, name="stdout"):
    return new_output("stream", name=name, text=text)


def executed_notebook(outputs, execution_count=1):
    """A notebook with a markdown cell and one executed code cell with these outputs."""
    code = new_code_cell("run()", execution_count=execution_count, outputs=outputs)
    return new_notebook(cells=[new_markdown_cell("# 1. Title"), code])


def normalized(nb):
    return nbformat.reads(normalize(nbformat.writes(nb)), as_version=4)


def cleaned_outputs(*outputs):
    return normalized(executed_notebook(list(outputs))).cells[1].outputs


def stream_text(text):
    return "".join(output.text for output in cleaned_outputs(stream(text)))


@pytest.mark.parametrize("text, expected", [
    ("before\n\r  0%|   | 0/3 [00:00<?, ?it/s]\r 33%|#  | 1/3\r100%|###| 3/3 [00:01<00:00]\nafter\n",
     "before\n100%|###| 3/3 [00:01<00:00]\nafter\n"),  # a progress bar becomes its final line
    ("a\n\nb\n\r 50%|#####     |\r          \r", "a\n\nb\n"),  # a line emptied by \r goes, a blank line stays
    ("one\r\ntwo\r\n", "one\ntwo\n"),  # Windows line ends
    ("\x1b[1mbold\x1b[0m and \x1b[31mred\x1b[0m\n", "bold and red\n"),  # ANSI codes
])
def test_stream_text_is_what_a_terminal_shows(text, expected):
    assert stream_text(text) == expected


@pytest.mark.parametrize("text, expected", [
    ("from: /work/shared/models/all-MiniLM-L6-v2", "from: all-MiniLM-L6-v2"),
    ("/root/.cache/course_utils/tiny-distilbert-v1", "tiny-distilbert-v1"),
    ("/work/main/.venv/lib/python3.11/site-packages/transformers/trainer.py:123", "trainer.py:123"),
    ("checkpoint ../shared/models/all-MiniLM-L6-v2 loaded", "checkpoint all-MiniLM-L6-v2 loaded"),
    ("saved to /home/me/course/notebooks/course_outputs/run1/model.", "saved to model."),
    ("PosixPath('/tmp/tmpab12/x.json')", "PosixPath('x.json')"),
    ("/content/drive/MyDrive/sst2, /Users/me/x and /opt/conda/lib/y.py", "sst2, x and y.py"),
    ('File "/usr/local/lib/python3.10/dist-packages/torch/nn/modules/module.py", line 1', 'File "module.py", line 1'),
    ("File \x1b[0;32m/work/main/x.py:3\x1b[0m, in f", "File x.py:3, in f"),
    ("folder /work/main/ is", "folder main/ is"),
    *[(text, text) for text in [  # URLs and ordinary text are untouched
        "https://huggingface.co/distilbert-base-uncased and https://github.com/home/work/tmp",
        "see http://localhost:8888/tree/work/notebooks",
        "a relative path inside the repository: course_outputs/run1/model",
        "Epoch 1/3, 12/100 steps, a/../b, /rootless/x, ... and /tmp"]],
])
def test_machine_paths_become_their_last_component(text, expected):
    assert replace_machine_paths(text) == expected
    assert stream_text(text) == expected


def test_nbval_shortens_machine_paths_with_the_same_rule():
    addopts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]["addopts"]
    assert f"--nbval-sanitize-with {SANITIZE_RULES.relative_to(ROOT)}" in addopts, "nbval reads the tool's file"
    rules = dict(get_sanitize_patterns(SANITIZE_RULES.read_text(encoding="utf-8")))
    assert clean.MACHINE_PATH.pattern in rules, "tools/clean.py reads the [machine paths] rule nbval uses"
    text = "loaded /work/shared/models/m and ../shared/data/sst2"
    assert re.sub(clean.MACHINE_PATH.pattern, rules[clean.MACHINE_PATH.pattern], text) == replace_machine_paths(text)


def test_consecutive_streams_are_merged_before_cleaning_and_emptied_ones_dropped():
    outputs = cleaned_outputs(stream("\r 50%|#####     |\r          \r", "stderr"), stream("\r 50%|#####"),
                              stream("     |\r100%|##########|\n"), stream("a warning\n", "stderr"), stream("done\n"),
                              stream("\n", "stderr"))
    assert [(o.name, o.text) for o in outputs] == [
        ("stdout", "100%|##########|\n"), ("stderr", "a warning\n"), ("stdout", "done\n")]


def test_rich_and_error_outputs_lose_paths_images_stay_widgets_go_and_their_text_stays():
    png, widget = "iVBORw0KGgo=", {"model_id": "abc", "version_major": 2, "version_minor": 0}
    outputs = cleaned_outputs(
        new_output("execute_result", data={"text/plain": "'/work/x/model'", "text/html": "<b>/root/a/model</b>"},
                   execution_count=1),
        new_output("display_data", data={"image/png": png, "text/plain": "<Figure size 640x480 with 1 Axes>"}),
        new_output("error", ename="OSError", evalue="no file /home/me/x", traceback=["\x1b[0;31m/work/a/b.py\x1b[0m"]),
        new_output("display_data", data={WIDGET: widget}),
        new_output("display_data", data={WIDGET: widget, "text/plain": "100%|##| 3/3"}),
    )
    assert len(outputs) == 4, "the widget without text is dropped"
    result, figure, error, bar = outputs
    assert result.data == {"text/plain": "'model'", "text/html": "<b>model</b>"}
    assert figure.data["image/png"] == png
    assert (error.evalue, error.traceback) == ("no file x", ["b.py"])
    assert bar.data == {"text/plain": "100%|##| 3/3"}


def test_metadata_is_cleaned_and_execution_counts_and_tags_kept():
    nb = executed_notebook([stream("hi\n")], execution_count=7)
    nb.cells.append(new_code_cell("x = 1", execution_count=8))  # executed, no output
    nb.cells[1].metadata.update(execution={"iopub.execute_input": "2024-01-01T00:00:00Z"}, tags=["keep-me"],
                                colab={"id": "x"})
    nb.metadata.update(kernelspec=KERNEL, colab={"provenance": []}, papermill={"duration": 1.5},
                       language_info={"name": "python", "version": "3.11.7", "pygments_lexer": "ipython3"},
                       widgets={"application/vnd.jupyter.widget-state+json": {}}, vscode={"interpreter": {}})
    clean_nb = normalized(nb)
    assert clean_nb.metadata == {"kernelspec": KERNEL, "colab": {"provenance": []},
                                 "language_info": {"name": "python", "pygments_lexer": "ipython3"}}
    assert clean_nb.cells[1].metadata == {"tags": ["keep-me"]}
    assert [cell.get("execution_count") for cell in clean_nb.cells[1:]] == [7, 8]


def test_normalising_twice_changes_nothing_and_writes_what_nbformat_writes(tmp_path):
    nb = executed_notebook([
        stream("\x1b[1mLoading\x1b[0m /work/shared/models/m\n\r 10%|#\r100%|##########|\n"),
        stream("\r  0%|\r100%|##|\n", "stderr"),
        new_output("execute_result", data={"text/plain": "PosixPath('../shared/data/sst2')"}, execution_count=1),
    ])
    nb.metadata["widgets"] = {"state": {}}
    once = normalize(nbformat.writes(nb))
    assert normalize(once) == once
    nbformat.write(nbformat.reads(once, as_version=4), tmp_path / "x.ipynb")
    assert (tmp_path / "x.ipynb").read_text(encoding="utf-8") == once, "nbformat 4, indent 1, final newline"


def test_command_line_check_mode_then_fix(tmp_path, capsys):
    path = tmp_path / "01_example.ipynb"
    path.write_text(nbformat.writes(executed_notebook([stream("/root/x/y\n")])), encoding="utf-8")
    before = path.read_text(encoding="utf-8")

    assert clean.main(["--check", str(path)]) == 1
    assert path.read_text(encoding="utf-8") == before, "--check changes nothing"
    assert "not normalised" in capsys.readouterr().out
    assert clean.main([str(path)]) == 1, "a file it changed makes a pre-commit hook fail"
    assert clean.main(["--check", str(path)]) == 0
    assert '"y\\n"' in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("content", [None, "not json", '{"cells": 3}'])
def test_command_line_names_what_cannot_be_normalised(tmp_path, capsys, content):
    path = tmp_path / "bad.ipynb"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert clean.main([str(path)]) == 2
    assert "bad.ipynb: cannot be normalised" in capsys.readouterr().err
