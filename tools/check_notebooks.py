"""Check that committed notebooks are clean: the notebook hygiene check.

Run it on any notebooks (``make check-notebooks`` runs it on all of them)::

    python tools/check_notebooks.py notebooks/01_intro.ipynb notebooks/02_data.ipynb

It prints one line per problem and exits with 1 if there is any (0 when all is well). Cells are
numbered from 1, markdown cells included. The test
``tests/test_notebook_hygiene.py`` runs the same check on every notebook in ``notebooks/``.

A notebook passes when:

* it was executed: at least one code cell has outputs, and every code cell with outputs has
  an execution count (nbval needs them);
* no code cell has an error output;
* no output shows a machine path (``/root/...``, ``/home/me/...``, ``../shared/...``: the same
  patterns that ``normalize_notebooks.py`` removes);
* stream outputs contain no carriage return (``\\r``, a progress bar not reduced to its final
  line) and no ANSI escape codes;
* every image output is a PNG, and the file is at most 2 MB;
* the kernel spec is ``python3``;
* its first markdown cell has a Colab badge, a link to
  ``https://colab.research.google.com/github/...`` that ends with this notebook's own file name.

Most problems are fixed by ``make execute`` (which normalises the outputs) or by
``python tools/normalize_notebooks.py NOTEBOOK``; an error output means a cell failed.
Tests import :func:`check_notebook`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

from normalize_notebooks import ANSI_ESCAPE, find_machine_paths

#: The largest notebook file we commit (images make notebooks big; 2 MB keeps the repository light).
MAX_BYTES = 2 * 1024 * 1024

#: The start of every Colab badge link.
COLAB_LINK = "colab.research.google.com/github/"

#: A Colab link, up to where a link ends in markdown or HTML (a closing bracket, a quote, a blank).
COLAB_URL = re.compile(re.escape(COLAB_LINK) + r"""[^\s)"'<>\]]*""")


def _as_text(value) -> str:
    """Output text as one string (nbformat may store it as a list of lines)."""
    return "".join(value) if isinstance(value, list) else str(value)


def output_texts(output: dict) -> list[str]:
    """The texts an output shows: stream text, ``text/*`` data, or an error and its traceback."""
    kind = output.get("output_type")
    if kind == "stream":
        return [_as_text(output.get("text", ""))]
    if kind in ("display_data", "execute_result"):
        return [_as_text(value) for mime, value in output.get("data", {}).items() if mime.startswith("text/")]
    if kind == "error":
        return [output.get("ename", ""), output.get("evalue", ""), *output.get("traceback", [])]
    return []


def check_output(output: dict) -> list[str]:
    """The problems of one output of a code cell."""
    problems = []
    kind = output.get("output_type")

    if kind == "error":
        problems.append(f"error output: {output.get('ename', '')}: {output.get('evalue', '')}".rstrip(": "))

    if kind == "stream":
        text = _as_text(output.get("text", ""))
        if "\r" in text:
            problems.append(f"{output.get('name', 'stream')} output contains a carriage return (an unreduced progress bar?)")
        if ANSI_ESCAPE.search(text):
            problems.append(f"{output.get('name', 'stream')} output contains ANSI escape codes")

    for mime in output.get("data", {}):
        if mime.startswith("image/") and mime != "image/png":
            problems.append(f"image output is {mime}, not image/png")

    paths = sorted({path for text in output_texts(output) for path in find_machine_paths(text)})
    if paths:
        problems.append("output shows a machine path: " + ", ".join(paths))

    return problems


def check_colab_badge(nb: nbformat.NotebookNode, file_name: str) -> list[str]:
    """The first markdown cell must link to Colab, and the link must open this very notebook."""
    first_markdown = next((cell for cell in nb.cells if cell.get("cell_type") == "markdown"), None)
    if first_markdown is None:
        return ["no markdown cell, so no Colab badge"]
    links = COLAB_URL.findall(first_markdown.source)
    if not links:
        return [f"the first markdown cell has no Colab badge (a link to https://{COLAB_LINK}...)"]
    wrong = [link for link in links if not link.endswith("/" + file_name)]
    return [f"Colab badge does not point at {file_name}: {link}" for link in wrong]


def check_notebook(path: str | Path) -> list[str]:
    """All the problems of one notebook file, as readable sentences (empty when it is clean)."""
    path = Path(path)
    if not path.is_file():
        return ["file not found"]
    problems = []

    size = path.stat().st_size
    if size > MAX_BYTES:
        problems.append(f"file is {size / 1024 / 1024:.1f} MB, more than {MAX_BYTES // (1024 * 1024)} MB")

    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # not JSON, not a notebook: nothing else can be checked
        return problems + [f"cannot be read as a notebook: {error}"]

    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"kernelspec name is {kernel!r}, not 'python3'")

    problems += check_colab_badge(nb, path.name)

    has_outputs = False
    for number, cell in enumerate(nb.cells, start=1):
        if cell.get("cell_type") != "code":
            continue
        outputs = cell.get("outputs", [])
        has_outputs = has_outputs or bool(outputs)
        where = f"cell {number}"
        if outputs and cell.get("execution_count") is None:
            problems.append(f"{where}: has outputs but no execution count")
        for output in outputs:
            problems += [f"{where}: {problem}" for problem in check_output(output)]

    if not has_outputs:
        problems.append("no code cell has outputs: the notebook was not executed (run `make execute`)")

    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Check committed notebooks for hygiene problems (see the top of this file).")
    parser.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files to check")
    args = parser.parse_args(argv)

    problem_count = 0
    for path in args.notebooks:
        problems = check_notebook(path)
        for problem in problems:
            print(f"{path}: {problem}")
        problem_count += len(problems)

    if problem_count:
        print(f"\n{problem_count} problem(s) in {len(args.notebooks)} notebook(s).")
        print("Most are fixed by `make execute` or `python tools/normalize_notebooks.py NOTEBOOK`.")
        return 1
    print(f"{len(args.notebooks)} notebook(s) clean")
    return 0


if __name__ == "__main__":
    sys.exit(main())
