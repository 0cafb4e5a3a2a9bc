"""Notebook hygiene: tools/check_notebooks.py finds what it should, and the committed notebooks are clean.

Part (a) plants one problem at a time in a small notebook built with nbformat; part (b) runs the
check on every ``notebooks/[0-9]*.ipynb`` of the repository (the CI gate for committed outputs).
"""

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

REPO_ROOT = Path(__file__).resolve().parents[1]

# The tools are scripts, not a package: make them importable for these tests.
sys.path.insert(0, str(REPO_ROOT / "tools"))
import check_notebooks  # noqa: E402
from check_notebooks import check_notebook  # noqa: E402

NAME = "01_example.ipynb"
BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    f"(https://colab.research.google.com/github/owner/repo/blob/main/notebooks/{NAME})"
)


def clean_notebook():
    """A small notebook that passes every check: badge, executed cells, a PNG figure."""
    nb = new_notebook(
        cells=[
            new_markdown_cell(f"{BADGE}\n\n# 1. Example"),
            new_code_cell("print('hello')", execution_count=1, outputs=[new_output("stream", name="stdout", text="hello\n")]),
            new_code_cell("x = 1", execution_count=2),
            new_code_cell(
                "plt.show()",
                execution_count=3,
                outputs=[new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure size 640x480 with 1 Axes>"})],
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def problems_of(nb, tmp_path, name=NAME):
    path = tmp_path / name
    path.write_text(nbformat.writes(nb), encoding="utf-8")
    return check_notebook(path)


def has_problem(problems, words):
    return any(words in problem for problem in problems)


# ---------------------------------------------------------------------------------------------
# (a) the check itself
# ---------------------------------------------------------------------------------------------


def test_a_clean_notebook_passes(tmp_path):
    assert problems_of(clean_notebook(), tmp_path) == []


@pytest.mark.parametrize("path", ["/root/x", "/home/me/x", "../shared/x", "/work/shared/models/m", "/tmp/abc/model"])
@pytest.mark.parametrize("where", ["stream", "text/plain", "text/html", "traceback"])
def test_a_machine_path_is_flagged(tmp_path, path, where):
    nb = clean_notebook()
    if where == "stream":
        output = new_output("stream", name="stderr", text=f"loaded {path}\n")
    elif where == "traceback":
        output = new_output("error", ename="OSError", evalue="boom", traceback=[f"\x1b[0;32m{path}/a.py\x1b[0m"])
    else:
        output = new_output("execute_result", data={where: f"<p>{path}</p>"}, execution_count=2)
    nb.cells[2].outputs = [output]
    assert has_problem(problems_of(nb, tmp_path), "machine path")


def test_urls_and_repository_paths_are_not_machine_paths(tmp_path):
    nb = clean_notebook()
    text = "see https://huggingface.co/home/x and course_outputs/run1/model\n"
    nb.cells[1].outputs = [new_output("stream", name="stdout", text=text)]
    assert problems_of(nb, tmp_path) == []


def test_missing_execution_count_is_flagged(tmp_path):
    nb = clean_notebook()
    nb.cells[1].execution_count = None
    assert has_problem(problems_of(nb, tmp_path), "no execution count")


def test_a_notebook_without_outputs_is_flagged(tmp_path):
    nb = clean_notebook()
    for cell in nb.cells[1:]:
        cell.outputs, cell.execution_count = [], None
    assert has_problem(problems_of(nb, tmp_path), "not executed")


def test_an_error_output_is_flagged(tmp_path):
    nb = clean_notebook()
    nb.cells[2].outputs = [new_output("error", ename="AssertionError", evalue="accuracy too low", traceback=["AssertionError"])]
    assert has_problem(problems_of(nb, tmp_path), "error output: AssertionError: accuracy too low")


def test_progress_bars_and_ansi_codes_in_streams_are_flagged(tmp_path):
    nb = clean_notebook()
    nb.cells[1].outputs = [new_output("stream", name="stderr", text="\r 50%\r100%\n\x1b[1mbold\x1b[0m\n")]
    problems = problems_of(nb, tmp_path)
    assert has_problem(problems, "carriage return") and has_problem(problems, "ANSI")


def test_images_must_be_png(tmp_path):
    nb = clean_notebook()
    nb.cells[3].outputs[0].data = {"image/jpeg": "/9j/4AAQ", "text/plain": "<Figure>"}
    assert has_problem(problems_of(nb, tmp_path), "image/jpeg")


def test_kernelspec_must_be_python3(tmp_path):
    nb = clean_notebook()
    nb.metadata["kernelspec"]["name"] = "my-venv"
    assert has_problem(problems_of(nb, tmp_path), "kernelspec")


def test_notebooks_over_2_mb_are_flagged(tmp_path):
    nb = clean_notebook()
    nb.cells[3].outputs[0].data["image/png"] = "A" * (2 * 1024 * 1024)
    assert has_problem(problems_of(nb, tmp_path), "MB")


def test_colab_badge_must_open_this_notebook(tmp_path):
    assert has_problem(problems_of(clean_notebook(), tmp_path, name="02_other.ipynb"), "does not point at 02_other.ipynb")

    nb = clean_notebook()
    nb.cells[0].source = "# 1. Example without a badge"
    assert has_problem(problems_of(nb, tmp_path), "no Colab badge")


def test_command_line_exit_codes(tmp_path, capsys):
    good = tmp_path / NAME
    good.write_text(nbformat.writes(clean_notebook()), encoding="utf-8")
    assert check_notebooks.main([str(good)]) == 0

    nb = clean_notebook()
    nb.cells[1].outputs[0].text = "/root/x\n"
    good.write_text(nbformat.writes(nb), encoding="utf-8")
    assert check_notebooks.main([str(good)]) == 1
    assert "machine path: /root/x" in capsys.readouterr().out


# ---------------------------------------------------------------------------------------------
# (b) the committed notebooks
# ---------------------------------------------------------------------------------------------


def committed_notebooks():
    paths = sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if not paths:
        return [pytest.param(None, marks=pytest.mark.skip(reason="no notebooks/[0-9]*.ipynb committed yet"))]
    return [pytest.param(path, id=path.name) for path in paths]


@pytest.mark.parametrize("notebook", committed_notebooks())
def test_committed_notebook_is_clean(notebook):
    problems = check_notebook(notebook)
    assert not problems, (
        f"{notebook.name} has hygiene problems (run `make execute`, or tools/normalize_notebooks.py):\n  "
        + "\n  ".join(problems)
    )
