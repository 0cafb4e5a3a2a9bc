"""tools/execute.py and `make execute`: all notebooks are updated or none, each whole; the kernels get what
the command line gave; the run record and the version pins are checked before anything runs.

Only the test marked slow starts kernels; the others replace execution with normalisation.
"""

import importlib.metadata
import os
import shutil
import subprocess
import sys
import tomllib

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from course_utils.files import read_json, write_json
from tools import ROOT, clean, execute
from tools.execute import course_variables, main

REPORT = (
    "import os; print(os.path.basename(os.getcwd()), os.environ.get('COURSE_PROFILE'), os.environ.get('COURSE_DATA'),"
    " os.environ.get('COURSE_START_DIR') == os.path.dirname(os.getcwd()))"
)


def write_notebook(path, *sources, output=None):
    """Code cells in a notebook at path; ``output``: the first cell's, one that normalising changes."""
    cells = [new_code_cell(source) for source in sources]
    cells[0].outputs = [new_output("stream", name="stdout", text=output)] if output else []
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)
    return path


@pytest.fixture
def without_kernels(monkeypatch):
    """tools.execute normalises instead of executing: fast, and enough for what happens around execution."""
    monkeypatch.setattr(execute, "config", lambda **_: clean.config())
    for name in ("COURSE_PROFILE", "COURSE_CHECKPOINT", "COURSE_DATA", "COURSE_START_DIR"):
        monkeypatch.setenv(name, "")  # so that what main sets goes at the end of the test
        monkeypatch.delenv(name)


def test_only_given_variables_are_set_and_existing_folders_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models" / "m").mkdir(parents=True)
    assert course_variables() == {}
    assert course_variables("", " ", "") == {}
    assert course_variables("cpu", " models/m ", "sample") == {
        "COURSE_PROFILE": "cpu", "COURSE_CHECKPOINT": str(tmp_path / "models" / "m"), "COURSE_DATA": "sample"}
    assert course_variables(checkpoint="distilbert-base-uncased") == {"COURSE_CHECKPOINT": "distilbert-base-uncased"}


def test_bad_arguments_are_named_and_nothing_runs(tmp_path, capsys, without_kernels):
    notebook = write_notebook(tmp_path / "01_a.ipynb", "x = 1", output="/work/x/model\n")
    before = notebook.read_bytes()
    garbled = tmp_path / "times.json"
    garbled.write_text('{"profile": "cpu", "notebook_sec')
    pins = tmp_path / "pins.txt"
    torch_version = importlib.metadata.version("torch")  # e.g. 2.13.0+cpu, pinned as 2.13.0
    pins.write_text(f"# a comment\npytest==0.0.1\nno-such-package-here==1.0\ntorch=={torch_version.split('+')[0]}\n")

    gone = tmp_path / "02_gone.ipynb"
    assert main(["--record", str(garbled), "--constraints", str(pins), str(notebook), str(gone)]) == 2
    error = capsys.readouterr().err
    assert "no such notebook" in error and "02_gone.ipynb" in error
    assert f"{garbled} is not readable JSON" in error, "a garbled record is named before anything runs"
    assert f"pytest {pytest.__version__} (pinned ==0.0.1)" in error
    assert "no-such-package" not in error and "torch" not in error, "not installed, or the same version: no mismatch"
    assert "nothing was run" in error and notebook.read_bytes() == before
    assert main(["--constraints", str(tmp_path / "gone.txt"), str(notebook)]) == 2
    assert "no constraints file" in capsys.readouterr().err


def test_the_committed_pins_satisfy_the_requirements_and_the_makefile_installs_the_pinned_torch():
    pins = {canonicalize_name(Requirement(line).name): Requirement(line)
            for line in (ROOT / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for requirement in map(Requirement, project["dependencies"]):
        (pinned,) = [spec.version for spec in pins[canonicalize_name(requirement.name)].specifier]
        assert requirement.specifier.contains(pinned), f"constraints.txt pins {pinned}, pyproject asks {requirement}"
    makefile_torch = next(line.split("?=")[1].strip() for line in (ROOT / "Makefile").read_text().splitlines()
                          if line.startswith("TORCH ?="))
    assert Requirement(makefile_torch).specifier == pins["torch"].specifier


def test_a_record_keeps_folder_names_and_grows_only_with_the_same_settings(tmp_path, monkeypatch, without_kernels):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    first, second = (write_notebook(tmp_path / name, "x = 1") for name in ("01_a.ipynb", "02_b.ipynb"))
    record = tmp_path / "runs" / "times.json"

    assert main(["--profile", "smoke", "--data", "data/sst2", "--record", str(record), str(first)]) == 0
    assert main(["--record", str(record), str(second)]) == 0  # the same settings: os.environ keeps them
    saved = read_json(record)
    assert (saved["profile"], saved["checkpoint"], saved["data"]) == ("smoke", "(profile default)", "sst2")
    assert set(saved["notebook_seconds"]) == {"01_a.ipynb", "02_b.ipynb"}
    assert saved["total_seconds"] == round(sum(saved["notebook_seconds"].values()), 1)

    write_json(record, {**saved, "profile": "cpu"})  # a record of other settings is replaced
    assert main(["--record", str(record), str(second)]) == 0
    assert set(read_json(record)["notebook_seconds"]) == {"02_b.ipynb"}


def test_an_interrupted_replacement_leaves_each_notebook_old_or_new_never_cut(tmp_path, monkeypatch, without_kernels):
    paths = [write_notebook(tmp_path / f"0{n}.ipynb", f"x = {n}", output=f"/work/x/model{n}\n") for n in (1, 2, 3)]
    old = [path.read_text() for path in paths]
    new = [clean.normalize(text) for text in old]
    calls = []

    def replace(source, target):
        calls.append(target)
        if len(calls) == 2:
            raise OSError("killed while replacing")
        shutil.move(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(OSError, match="killed"):
        main([str(path) for path in paths])
    assert [path.read_text() for path in paths] == [new[0], old[1], old[2]]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["01.ipynb", "02.ipynb", "03.ipynb"], "no temporary"


@pytest.mark.skipif(shutil.which("make") is None, reason="needs GNU make")
def test_make_execute_passes_command_line_values_as_data_and_ignores_the_environment(tmp_path):
    stub = tmp_path / "bin" / "python"  # stands in for .venv/bin/python: writes down its arguments
    stub.parent.mkdir()
    stub.write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$ARGS_OUT"\n')
    stub.chmod(0o755)
    for name in ("A1_z.ipynb", "02_b.ipynb", "01_a.ipynb"):
        write_notebook(tmp_path / "notebooks" / name, "x = 1")
    data = 'x"; touch injected; echo "$(touch injected2)'
    env = {**os.environ, "ARGS_OUT": str(tmp_path / "args.txt"),
           "DATA": "/evil", "PROFILE": "evil", "NOTEBOOKS": "evil.ipynb", "RECORD": "evil.json"}

    subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-o", ".venv/.installed-stamp", "execute",
                    f"BIN={stub.parent}", f"DATA={data.replace('$', '$$')}", "CHECKPOINT=it's"],
                   cwd=tmp_path, env=env, check=True)
    assert (tmp_path / "args.txt").read_text().splitlines() == [
        "-m", "tools.execute", "--profile", "", "--checkpoint", "it's", "--data", data,
        "--constraints", "constraints.txt", "notebooks/01_a.ipynb", "notebooks/02_b.ipynb", "notebooks/A1_z.ipynb"]
    assert not list(tmp_path.glob("injected*")), "a value ran as a command"


@pytest.mark.slow
def test_a_failure_changes_no_notebook_and_a_success_runs_each_in_its_folder_with_the_settings(tmp_path):
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    first = write_notebook(tmp_path / "notebooks" / "01_a.ipynb", REPORT, "print('/work/x/model')")
    second = write_notebook(tmp_path / "notebooks" / "02_b.ipynb", "", "x = 1", REPORT)
    bad = write_notebook(tmp_path / "notebooks" / "03_bad.ipynb", "1 / 0")
    before = {path: path.read_bytes() for path in (first, bad)}

    failed = run_tool(first, bad, cwd=tmp_path)
    assert failed.returncode == 1 and "no notebook was changed" in failed.stderr
    assert "FAILED" in failed.stderr and "03_bad.ipynb" in failed.stderr and "ZeroDivisionError" in failed.stderr
    assert {path: path.read_bytes() for path in (first, bad)} == before, "01_a.ipynb ran, yet stays as it was"

    result = run_tool("--profile", "smoke", "--data", "data/sst2", first, second, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "01_a.ipynb" in result.stdout and "02_b.ipynb" in result.stdout and " s " in result.stdout, "wall times"
    cells = nbformat.read(first, as_version=4).cells
    assert cells[0].outputs[0].text == "notebooks smoke sst2 True\n", "cwd, profile, absolute folder (shortened), start"
    assert cells[1].outputs[0].text == "model\n", "normalised: no machine path"
    assert "execution" not in cells[0].metadata, "normalised: no timings"
    counts = [cell.execution_count for cell in nbformat.read(second, as_version=4).cells]
    assert counts == [None, 1, 2]


def run_tool(*args, cwd):
    env = {key: value for key, value in os.environ.items() if not key.startswith("COURSE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "tools.execute", *map(str, args)],
                          cwd=cwd, env=env, capture_output=True, text=True)
