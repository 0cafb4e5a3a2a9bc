"""The capstone (notebook 10) stands alone: it imports nothing of the course, and its own two lines of
mixed precision pick what the course's recipe picks on every kind of device."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from course_utils import recipe

CAPSTONE = Path(__file__).resolve().parents[1] / "notebooks" / "10_capstone_fine_tune_in_one_notebook.ipynb"


def code_cells() -> list[str]:
    cells = nbformat.read(CAPSTONE, as_version=4).cells
    # IPython's magics are not Python: the capstone has none, and parsing would say so.
    return [cell.source for cell in cells if cell.cell_type == "code"]


def test_the_capstone_imports_nothing_from_the_course():
    imported = set()
    for source in code_cells():
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert imported, "the capstone's code cells should import the libraries they use"
    assert "course_utils" not in imported


def precision_lines() -> str:
    lines = [line for source in code_cells() for line in source.splitlines()
             if line.startswith(("bf16 = ", "fp16 = "))]
    assert len(lines) == 2, f"the capstone decides mixed precision in two lines, found {lines}"
    return "\n".join(lines)


@pytest.mark.parametrize("cuda, native_bf16, expected", [
    (True, False, {"fp16": True}),   # a T4: bf16 only by emulation
    (True, True, {"bf16": True}),    # an A100 or newer
    (False, False, {}),              # a CPU
])
def test_the_capstone_chooses_precision_like_the_recipe(monkeypatch, cuda, native_bf16, expected):
    import torch

    def bf16_supported(including_emulation=True):
        return native_bf16 or including_emulation  # emulation counts unless asked not to

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", bf16_supported)
    chosen: dict = {}
    exec(precision_lines(), {"torch": torch}, chosen)
    assert {k: v for k, v in chosen.items() if v} == expected
    assert recipe.mixed_precision("cuda" if cuda else "cpu") == expected
