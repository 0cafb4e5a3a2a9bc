"""Normalise notebooks: nbconvert's stock preprocessors, plus one for what they leave behind.

    python -m tools.clean notebooks/*.ipynb           # rewrite in place (the pre-commit hook)
    python -m tools.clean --check notebooks/*.ipynb   # change nothing

Both exit with 1 when a notebook changed (or would change). ``CoalesceStreamsPreprocessor`` merges a
stream's consecutive outputs; :class:`CleanOutputs` keeps what a terminal shows and shortens machine paths
with the ``[machine paths]`` rule of ``tools/nbval_sanitize.cfg``, which nbval applies too;
``ClearMetadataPreprocessor`` drops run-specific metadata. Outputs and execution counts stay, and a
second run changes nothing.
"""

from __future__ import annotations

import argparse
import configparser
import re
import sys
from pathlib import Path

import nbformat
from nbconvert.exporters import NotebookExporter
from nbconvert.filters import strip_ansi
from nbconvert.preprocessors import ClearMetadataPreprocessor, CoalesceStreamsPreprocessor, Preprocessor
from traitlets.config import Config

from course_utils.files import write_text

SANITIZE_RULES = Path(__file__).with_name("nbval_sanitize.cfg")  # also pytest's --nbval-sanitize-with
_rules = configparser.ConfigParser(interpolation=None)
_rules.read(SANITIZE_RULES, encoding="utf-8")
MACHINE_PATH = re.compile(_rules["machine paths"]["regex"])
PATH_REPLACEMENT = _rules["machine paths"]["replace"]

WIDGET = "application/vnd.jupyter.widget-view+json"
KEPT_NOTEBOOK_METADATA = {"kernelspec", "language_info", "colab"}
KEPT_CELL_METADATA = {"tags", "jupyter", "collapsed", "scrolled", "editable", "deletable", "slideshow"}


def replace_machine_paths(text: str) -> str:
    """No ANSI codes, and every machine path shortened to its last component.

    >>> replace_machine_paths("from \\x1b[1m/work/shared/models/m\\x1b[0m, see https://example.org/home/x")
    'from m, see https://example.org/home/x'
    """
    return MACHINE_PATH.sub(PATH_REPLACEMENT, strip_ansi(text))


def terminal_text(text: str) -> str:
    """What a terminal shows: of a line redrawn with ``\\r``, its last version; blanked lines go.

    >>> terminal_text("a\\n\\n\\r 50%\\r100%\\n\\r 50%\\r    \\r")
    'a\\n\\n100%\\n'
    """
    lines = []
    for line in re.split(r"(?<=\n)", text.replace("\r\n", "\n")):
        if "\r" in line:
            end = "\n" if line.endswith("\n") else ""
            line = line.rstrip("\n").rstrip("\r").rsplit("\r", 1)[-1]
            line = line + end if line.strip() else ""
        lines.append(line)
    return "".join(lines)


class CleanOutputs(Preprocessor):
    """Remove what the stock preprocessors leave: ANSI codes, progress-bar debris, blank outputs, widgets (a
    saved notebook cannot show them), the Python version and machine paths (``/work/shared/models/m``: ``m``)."""

    def preprocess(self, nb, resources):
        nb.metadata.get("language_info", {}).pop("version", None)  # the Python of whoever ran it last
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.outputs if self.clean(output)]
        return cell, resources

    @staticmethod
    def clean(output) -> bool:
        """Clean one output in place; False when nothing worth showing is left of it."""
        if output.output_type == "stream":
            output.text = replace_machine_paths(terminal_text(output.text))
            return bool(output.text.strip())
        if output.output_type == "error":
            output.evalue = replace_machine_paths(output.evalue)
            output.traceback = [replace_machine_paths(line) for line in output.traceback]
            return True
        output.data.pop(WIDGET, None)
        for mime, value in output.data.items():
            if mime.startswith("text/"):
                output.data[mime] = replace_machine_paths(value)
        return bool(output.data)


def config(execute: bool = False, timeout: int | None = None) -> Config:
    """The nbconvert configuration of ``NotebookExporter``: run the notebook first if ``execute``."""
    c = Config()
    c.NotebookExporter.preprocessors = [CoalesceStreamsPreprocessor, CleanOutputs, ClearMetadataPreprocessor]
    c.ClearMetadataPreprocessor.preserve_nb_metadata_mask = KEPT_NOTEBOOK_METADATA
    c.ClearMetadataPreprocessor.preserve_cell_metadata_mask = KEPT_CELL_METADATA
    c.ExecutePreprocessor.update(enabled=execute, kernel_name="python3", timeout=timeout)
    return c


def normalize(text: str) -> str:
    """The normalised notebook, as text (what ``nbformat.write`` writes)."""
    nb = nbformat.reads(text, as_version=4)
    return NotebookExporter(config=config()).from_notebook_node(nb)[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Normalise notebooks in place (see tools/clean.py).")
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing, only report")
    args = parser.parse_args(argv)
    changed = 0
    for path in args.notebooks:
        try:
            old = path.read_text(encoding="utf-8")
            new = normalize(old)
        except Exception as error:  # not a file, not JSON, not a valid notebook
            print(f"{path}: cannot be normalised ({type(error).__name__}: {error}); fix or remove it", file=sys.stderr)
            return 2
        if new != old:
            changed += 1
            print(f"{path}: {'not normalised' if args.check else 'normalised'}")
            if not args.check:
                write_text(path, new)  # atomically: never half a notebook
    if changed and args.check:
        print("run `python -m tools.clean NOTEBOOK...` (or `make lint`) and commit the result")
    return 1 if changed else 0


if __name__ == "__main__":
    sys.exit(main())
