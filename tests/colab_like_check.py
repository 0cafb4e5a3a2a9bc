"""A Colab-like first run, end to end: ``make test-colab`` (CI runs it after ``make test``).

Colab images come with PyTorch and an older transformers 4.x, and without the course. This
builds such an environment in a fresh virtual environment, makes it a Jupyter kernel, and runs
notebook 1 there as a learner would: the set-up cell installs the course with ``%pip`` (from
this repository's committed HEAD through a local git URL instead of GitHub), which must upgrade
transformers to 5.x, and then every cell runs in the smoke profile, offline.

It needs the package registry (pip) and takes a few minutes, so it is not part of ``make test``.
The file name keeps it out of the default collection; run it with
``pytest tests/colab_like_check.py``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import nbformat
import pytest
from nbconvert.preprocessors import ExecutePreprocessor

from tools import ROOT

NOTEBOOK = ROOT / "notebooks" / "01_transfer_learning_vs_fine_tuning.ipynb"
OLD_TRANSFORMERS = "transformers>=4.50,<5"


def run(*args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(args, capture_output=True, text=True, timeout=1200, **kwargs)
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def torch_requirement() -> str:
    """The torch build the Makefile installs (e.g. torch==2.13.0), so pip reuses what it already fetched."""
    match = re.search(r"^TORCH \?= (\S+)", (ROOT / "Makefile").read_text(), re.MULTILINE)
    return match.group(1) if match else "torch"


@pytest.fixture(scope="module")
def colab_like_kernel(tmp_path_factory):
    """A kernel in a fresh venv holding torch, ipykernel and transformers 4.x, but not the course."""
    root = tmp_path_factory.mktemp("colab")
    venv = root / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    python = str(venv / "bin" / "python")
    run(python, "-m", "pip", "install", "-q", "--upgrade", "pip")  # Colab's pip is recent; a new venv's may not be
    run(python, "-m", "pip", "install", "-q", torch_requirement(), "ipykernel", OLD_TRANSFORMERS)
    probe = run(python, "-c", "import importlib.util, transformers; "
                "print(transformers.__version__, importlib.util.find_spec('course_utils') is None)",
                cwd=root).stdout.split()  # not from the repository, whose folder holds course_utils
    assert probe[0].startswith("4.") and probe[1] == "True", f"not Colab-like: {probe}"
    kernels = root / "jupyter" / "kernels" / "colab-like"
    kernels.mkdir(parents=True)
    (kernels / "kernel.json").write_text(json.dumps({
        "argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab-like", "language": "python"}))
    return python, root / "jupyter"


def test_the_set_up_cell_installs_the_course_and_notebook_1_runs(colab_like_kernel, tmp_path, monkeypatch):
    python, jupyter_path = colab_like_kernel
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    setup = next(cell for cell in notebook.cells if cell.cell_type == "code" and "%pip install" in cell.source)
    assert "git+https://github.com/" in setup.source
    head = run("git", "-C", str(ROOT), "rev-parse", "HEAD").stdout.strip()
    setup.source = re.sub(r"git\+https://github\.com/[^\"']+", f"git+file://{ROOT}@{head}", setup.source)

    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    for name in [n for n in os.environ if n.startswith("COURSE_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.setenv("COURSE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ExecutePreprocessor(timeout=1200, kernel_name="colab-like").preprocess(
        notebook, {"metadata": {"path": str(ROOT / "notebooks")}})

    outputs = "".join(out.get("text", "") for cell in notebook.cells for out in cell.get("outputs", []))
    assert "profile     smoke (set by COURSE_PROFILE)" in outputs, "the run card shows the profile"
    assert "OK: the three strategies train" in outputs, "the last self-check ran"
    versions = run(python, "-c", "import transformers, course_utils; print(transformers.__version__)",
                   cwd=tmp_path).stdout
    assert versions.startswith("5."), f"the install left transformers {versions.strip()}"
