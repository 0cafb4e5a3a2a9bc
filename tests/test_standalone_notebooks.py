"""Notebooks 6-8 on their own: without notebook 5's saved model, they train the very same model.

Notebook 5 is executed as a learner runs it (a kernel in notebooks/, smoke profile), then its
model folder is moved away and ``ensure_finetuned`` (what notebooks 6-8 call) trains again in a
fresh process. Same settings on the same machine must give the same weights, so that the drift
and inference numbers the prose discusses do not depend on which notebook ran first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
from nbconvert.preprocessors import ExecutePreprocessor
from safetensors.torch import load_file

from course_utils.data import SAMPLE_DIR
from course_utils.models import tiny_checkpoint_path
from course_utils.runs import check_run
from course_utils.settings import get_settings

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.mark.slow
def test_the_fallback_reproduces_notebook_5s_model(tmp_path, monkeypatch):
    env = {"COURSE_PROFILE": "smoke", "COURSE_OUTPUT_DIR": str(tmp_path / "outputs"),
           "COURSE_CHECKPOINT": str(tiny_checkpoint_path()), "COURSE_DATA": str(SAMPLE_DIR)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    notebook = nbformat.read(NOTEBOOKS / "05_fine_tuning_with_trainer.ipynb", as_version=4)
    ExecutePreprocessor(timeout=600, kernel_name="python3").preprocess(notebook, {"metadata": {"path": str(NOTEBOOKS)}})

    folder = get_settings().run_dir / "model"
    assert check_run(folder) is None, "notebook 5 saved a complete run"
    by_notebook = load_file(folder / "model.safetensors")
    shutil.move(folder, tmp_path / "from_notebook_5")

    code = ("from course_utils.settings import get_settings; from course_utils.runs import ensure_finetuned; "
            "ensure_finetuned(get_settings())")
    result = subprocess.run([sys.executable, "-c", code], cwd=NOTEBOOKS, env={**os.environ, **env},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "not found" in result.stdout and "Training one now" in result.stdout
    by_fallback = load_file(folder / "model.safetensors")
    assert by_fallback.keys() == by_notebook.keys()
    different = [name for name in by_notebook if not torch.equal(by_notebook[name], by_fallback[name])]
    assert not different, f"the fallback trained other weights than notebook 5: {different[:3]}"
