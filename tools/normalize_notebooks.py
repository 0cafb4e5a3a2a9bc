"""Normalise executed notebooks in place, so that the committed files are clean and stable.

Run after executing the notebooks (``make execute`` does it for you)::

    python tools/normalize_notebooks.py notebooks/01_intro.ipynb notebooks/02_data.ipynb
    python tools/normalize_notebooks.py --check notebooks/*.ipynb   # exit 1 if a file would change

What it does, and why:

* **Outputs stay**, and so do the execution counts: the notebooks are committed with the outputs
  of a real run, and nbval needs the counts.
* **Stream outputs** (what ``print`` and progress bars write) are shown the way a terminal shows
  them: consecutive outputs of the same stream are merged, only the text after the last carriage
  return of each line is kept (so a tqdm progress bar becomes its final line), lines that became
  empty that way are dropped, ANSI colour codes are removed, and a stream output left with
  nothing but blank space is dropped.
* **Machine paths** (``/root/...``, ``/home/me/...``, ``/work/...``, ``../shared/...``) in any text
  output are reduced to their last component, so that no output shows where a notebook ran:
  ``from: /work/shared/models/all-MiniLM-L6-v2`` becomes ``from: all-MiniLM-L6-v2``.
  URLs and image data are left alone.
* **Volatile metadata** is dropped: cell execution timestamps, and everything in the notebook
  metadata except ``kernelspec`` (always ``python3``), ``language_info`` (without the Python
  version) and ``colab``.
* **Widget outputs** (``application/vnd.jupyter.widget-view+json``) are dropped: saved notebooks
  cannot show them. Their plain-text version stays when they have one.

The files are written with nbformat (version 4, indent 1, a final newline), and running the
tool twice changes nothing the second time.

Tests import :func:`normalize_notebook` and :func:`clean_text`.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat

#: The kernel every course notebook uses (CONTRIBUTING.md: "Kernel spec python3").
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}

#: Notebook metadata that is kept; everything else (widgets, papermill, vscode, ...) is dropped.
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info", "colab")

#: Cell metadata that changes on every run (timestamps written by nbclient / Jupyter extensions).
VOLATILE_CELL_METADATA = ("execution", "ExecuteTime")

#: The MIME type of an interactive widget: only a live kernel can display it.
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

#: ANSI escape sequences: colours and cursor moves (CSI ``ESC [ ... letter``), window titles and
#: links (OSC ``ESC ] ... BEL`` or ``ESC ] ... ESC \``), and the short two-character ones.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")

#: Folders whose paths are specific to one machine (Linux, macOS, Colab, containers).
MACHINE_ROOTS = (
    "root", "home", "work", "workspace", "tmp", "content", "Users", "opt", "mnt", "var", "private", "srv", "usr",
)

#: The characters of one path component here: anything but ``/``, white space, quotes, brackets and
#: the punctuation that usually follows a path in a message (``file.py:12,`` or ``(path)``).
_PATH_CHAR = r"""[^/\s'"`<>()\[\]{}:;,|=*?]"""

#: A machine path: an absolute path under one of MACHINE_ROOTS, or a relative path that climbs
#: out of the folder with ``../``. The look-behind makes sure the match starts a path: it is not
#: inside a URL (``https://host/work/x``) or inside a longer path (``a/../b``).
MACHINE_PATH = re.compile(
    r"(?<![\w./~-])"
    r"(?:"
    r"/(?:" + "|".join(MACHINE_ROOTS) + r")(?![\w.-])(?:/" + _PATH_CHAR + r"*)*"  # /root/..., /home/...
    r"|"
    r"(?:\.\./)+" + _PATH_CHAR + r"+(?:/" + _PATH_CHAR + r"*)*"  # ../shared/..., ../../x
    r")"
)


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------


def strip_ansi(text: str) -> str:
    """Remove ANSI escape codes (colours, bold, cursor moves).

    >>> strip_ansi("\\x1b[1mbold\\x1b[0m text")
    'bold text'
    """
    return ANSI_ESCAPE.sub("", text)


def apply_carriage_returns(text: str) -> str:
    """Show text the way a terminal does: on each line only what follows the last ``\\r`` stays.

    A progress bar redraws itself with ``\\r``; a ``\\r`` at the very end of a line moves the cursor
    but erases nothing, so it is ignored. Lines that are empty only because of this (a bar that
    erased itself with blanks) are dropped; lines that were empty to begin with (blank lines)
    stay. ``\\r\\n`` is a plain line end.

    >>> apply_carriage_returns("start\\n\\n\\r 10%\\r 50%\\r100%\\n\\r 50%\\r    \\r")
    'start\\n\\n100%\\n'
    """
    text = text.replace("\r\n", "\n")
    kept = []
    for line in re.split(r"(?<=\n)", text):  # each piece ends with its "\n" (maybe not the last one)
        if "\r" in line:
            ending = "\n" if line.endswith("\n") else ""
            line = line.rstrip("\n").rstrip("\r").rsplit("\r", 1)[-1]
            if not line.strip():
                continue  # overwritten with nothing (or with blanks): the terminal shows nothing
            line += ending
        kept.append(line)
    return "".join(kept)


def _short_path(match: re.Match) -> str:
    """The last component of a matched path (``/a/b/c`` -> ``c``, ``/a/b/`` -> ``b/``)."""
    path = match.group(0)
    trailing_slash = "/" if path.endswith("/") and path.strip("/") else ""
    name = path.rstrip("/").rsplit("/", 1)[-1]
    return (name or path) + trailing_slash


def replace_machine_paths(text: str) -> str:
    """Replace every machine path in ``text`` with its last component; URLs are not touched.

    >>> replace_machine_paths("loaded from /root/.cache/course_utils/tiny-distilbert-v1")
    'loaded from tiny-distilbert-v1'
    >>> replace_machine_paths("../shared/models/all-MiniLM-L6-v2 (see https://huggingface.co/home)")
    'all-MiniLM-L6-v2 (see https://huggingface.co/home)'
    >>> replace_machine_paths("/work/main/.venv/lib/python3.11/site-packages/transformers/trainer.py:123")
    'trainer.py:123'

    ANSI colour codes (which IPython puts in tracebacks) are kept, and the text between them is
    searched piece by piece, so that a colour code right before a path does not hide it.
    """
    pieces = re.split(f"({ANSI_ESCAPE.pattern})", text)
    for i in range(0, len(pieces), 2):  # even positions are text, odd positions are ANSI codes
        pieces[i] = MACHINE_PATH.sub(_short_path, pieces[i])
    return "".join(pieces)


def find_machine_paths(text: str) -> list[str]:
    """All machine paths in ``text`` (used by ``check_notebooks.py``)."""
    return [match.group(0) for match in MACHINE_PATH.finditer(strip_ansi(text))]


def clean_text(text: str) -> str:
    """Clean the text of a stream output: no ANSI codes, no carriage returns, no machine paths.

    >>> clean_text("\\r 50%|#    |\\r100%|#####|\\n\\x1b[1msaved\\x1b[0m to /tmp/run/model\\n")
    '100%|#####|\\nsaved to model\\n'
    """
    return replace_machine_paths(apply_carriage_returns(strip_ansi(text)))


# --------------------------------------------------------------------------------------------
# Outputs
# --------------------------------------------------------------------------------------------


def _as_text(value) -> str:
    """Output text as one string (on disk, nbformat may store it as a list of lines)."""
    return "".join(value) if isinstance(value, list) else value


def merge_streams(outputs: list) -> list:
    """Merge consecutive stream outputs of the same stream (stdout with stdout, stderr with stderr).

    A progress bar is often split over many outputs; it can only be reduced to its final line once
    its pieces are together. Outputs of different streams keep their order and are not merged.
    """
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.get("output_type") == "stream"
            and previous is not None
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] = _as_text(previous["text"]) + _as_text(output["text"])
        else:
            merged.append(output)
    return merged


def clean_output(output: dict) -> dict | None:
    """Clean one output; ``None`` when nothing worth keeping is left in it."""
    kind = output.get("output_type")

    if kind == "stream":
        output["text"] = clean_text(_as_text(output.get("text", "")))
        # Nothing left to see (often the lone line end a progress bar writes when it closes,
        # separated from the bar by a print in between): drop the output.
        return output if output["text"].strip() else None

    if kind in ("display_data", "execute_result"):
        data = output.get("data", {})
        data.pop(WIDGET_MIME, None)  # a live widget: the saved notebook cannot show it
        if not data:
            return None
        for mime, value in data.items():
            if mime.startswith("text/"):  # text/plain, text/html, text/markdown, text/latex ...
                data[mime] = replace_machine_paths(_as_text(value))
            # images (image/png ...) and JSON data are left exactly as they are
        return output

    if kind == "error":
        output["ename"] = replace_machine_paths(output.get("ename", ""))
        output["evalue"] = replace_machine_paths(output.get("evalue", ""))
        output["traceback"] = [replace_machine_paths(line) for line in output.get("traceback", [])]
        return output

    return output


def clean_outputs(outputs: list) -> list:
    """Merge the stream outputs of a cell, then clean each output and drop the empty ones."""
    cleaned = (clean_output(output) for output in merge_streams(outputs))
    return [output for output in cleaned if output is not None]


# --------------------------------------------------------------------------------------------
# Notebook
# --------------------------------------------------------------------------------------------


def clean_notebook_metadata(metadata: dict) -> dict:
    """Keep only the stable notebook metadata: kernelspec (forced to python3), language_info, colab."""
    kept = {key: metadata[key] for key in KEPT_NOTEBOOK_METADATA if key in metadata}
    kept["kernelspec"] = dict(KERNELSPEC)
    language_info = dict(kept.get("language_info", {}))
    language_info.pop("version", None)  # the Python version of whoever ran it last
    language_info.setdefault("name", "python")
    kept["language_info"] = language_info
    return kept


def normalize_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return a normalised copy of ``nb`` (the argument is not changed).

    Outputs and execution counts are kept (a code cell without outputs keeps its count too);
    stream text, machine paths, widget outputs and volatile metadata are cleaned as described at
    the top of this file.
    """
    nb = copy.deepcopy(nb)
    nb.metadata = nbformat.from_dict(clean_notebook_metadata(nb.get("metadata", {})))
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.get("metadata", {}).pop(key, None)
        if cell.get("cell_type") == "code":
            cell.outputs = clean_outputs(cell.get("outputs", []))
    return nb


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The notebook as it is written to disk: nbformat 4 JSON, indent 1, ending with a newline."""
    text = nbformat.writes(nb, version=4)
    return text if text.endswith("\n") else text + "\n"


def normalize_file(path: Path, write: bool = True) -> bool:
    """Normalise one notebook file; True when its content changed (or would change)."""
    old_text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(old_text, as_version=4)
    new_text = notebook_text(normalize_notebook(nb))
    if new_text == old_text:
        return False
    if write:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(new_text)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Normalise executed notebooks in place (see the top of this file).")
    parser.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files to normalise")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    args = parser.parse_args(argv)

    changed = []
    for path in args.notebooks:
        if normalize_file(path, write=not args.check):
            changed.append(path)
            print(f"{'would normalise' if args.check else 'normalised'}: {path}")

    if not changed:
        print(f"{len(args.notebooks)} notebook(s) already normalised")
        return 0
    return 1 if args.check else 0


if __name__ == "__main__":
    sys.exit(main())
