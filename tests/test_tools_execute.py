"""tools/execute.py (`make execute`): all notebooks are updated, or none; the kernels get what was given.

The notebooks here are tiny and run in real kernels (a few seconds each), in a temporary folder.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from tools.execute import course_variables, main

REPO_ROOT = Path(__file__).resolve().parents[1]

REPORT = (
    "import os; print(os.path.basename(os.getcwd()), os.environ.get('COURSE_PROFILE'), os.environ.get('COURSE_DATA'),"
    " os.environ.get('COURSE_START_DIR') == os.path.dirname(os.getcwd()))"
)


def write_notebook(path, *sources):
    nb = new_notebook(cells=[new_code_cell(source) for source in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def run_tool(*args, cwd):
    env = {key: value for key, value in os.environ.items() if not key.startswith("COURSE_")}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "tools.execute", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_only_given_variables_are_set_and_existing_folders_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "m").mkdir(parents=True)
    assert course_variables() == {}
    assert course_variables("", " ", "") == {}
    assert course_variables("cpu", " models/m ", "sample") == {
        "COURSE_PROFILE": "cpu", "COURSE_CHECKPOINT": str(tmp_path / "models" / "m"), "COURSE_DATA": "sample"}
    assert course_variables(checkpoint="distilbert-base-uncased") == {"COURSE_CHECKPOINT": "distilbert-base-uncased"}


def test_a_missing_notebook_is_named_and_nothing_runs(tmp_path, capsys):
    assert main([str(tmp_path / "01_gone.ipynb")]) == 2
    error = capsys.readouterr().err
    assert "no such notebook" in error and "01_gone.ipynb" in error


@pytest.mark.slow
def test_a_failure_leaves_every_notebook_unchanged(tmp_path):
    good = write_notebook(tmp_path / "notebooks" / "01_good.ipynb", "print('fine')")
    bad = write_notebook(tmp_path / "notebooks" / "02_bad.ipynb", "1 / 0")
    before = {path: path.read_bytes() for path in (good, bad)}

    result = run_tool(good, bad, cwd=tmp_path)

    assert result.returncode == 1
    assert "FAILED" in result.stderr and "02_bad.ipynb" in result.stderr and "ZeroDivisionError" in result.stderr
    assert "no notebook was changed" in result.stderr
    assert {path: path.read_bytes() for path in (good, bad)} == before


@pytest.mark.slow
def test_notebooks_run_in_their_folder_with_the_given_settings_and_are_normalised(tmp_path):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    first = write_notebook(tmp_path / "notebooks" / "01_a.ipynb", REPORT, "print('/work/x/model')")
    second = write_notebook(tmp_path / "notebooks" / "02_b.ipynb", "", "x = 1", REPORT)

    result = run_tool("--profile", "smoke", "--data", "data/sst2", "--record", tmp_path / "times.json", first, second,
                      cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    record = json.loads((tmp_path / "times.json").read_text())
    assert set(record["notebook_seconds"]) == {"01_a.ipynb", "02_b.ipynb"} and record["total_seconds"] > 0
    assert (record["profile"], record["data"]) == ("smoke", "sst2"), "folder names only, no machine path"
    assert "01_a.ipynb" in result.stdout and "02_b.ipynb" in result.stdout and " s " in result.stdout, "wall times"
    cells = nbformat.read(first, as_version=4).cells
    assert cells[0].outputs[0].text == "notebooks smoke sst2 True\n", "cwd, profile, absolute folder (shortened), start"
    assert cells[1].outputs[0].text == "model\n", "normalised: no machine path"
    assert "execution" not in cells[0].metadata, "normalised: no timings"
    counts = [cell.execution_count for cell in nbformat.read(second, as_version=4).cells]
    assert counts == [None, 1, 2]
