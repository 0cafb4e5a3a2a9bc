"""The committed notebooks are executed, normalised and clean, and every link points at this repository.

Part (a) plants one problem at a time in a small notebook built with nbformat, and shows that the
checks find it; part (b) runs them on every notebook that `make test` runs with nbval (the notebook
patterns of pyproject's pytest `testpaths`) and on README.md. Fixes: `make execute` (re-runs and
normalises), `python -m tools.clean NOTEBOOK` (normalises), `make badges` (rewrites the links).
"""

import base64
import io
import re
import shutil
import subprocess
import tomllib

import nbformat
import pytest
from nbconvert.filters import strip_ansi
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from PIL import Image

from tools import ROOT as REPO_ROOT
from tools.clean import MACHINE_PATH, normalize

PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
NOTEBOOK_PATTERNS = [p for p in PYPROJECT["tool"]["pytest"]["ini_options"]["testpaths"] if p.endswith(".ipynb")]
COMMITTED = sorted({path for pattern in NOTEBOOK_PATTERNS for path in REPO_ROOT.glob(pattern)})
MAX_BYTES = 2 * 1024 * 1024
TEXT_PROBLEMS = [  # (a pattern in an output's text, what it means)
    ("\r", "carriage return (a progress bar?): normalise the notebook"),
    ("\x1b", "ANSI escape codes: normalise the notebook"),
    (r"\d\s?(?:it/s|s/it|examples/s)\b", "progress-bar text (it/s): quiet_libraries() or disable_tqdm=True"),
]
#: A link up to where links end in markdown, HTML, JSON or Python strings.
RAW_URL = re.compile(r"""https://raw\.githubusercontent\.com/[^\s)"'<>\]\\]*""")
COLAB_URL = re.compile(r"""https://colab\.research\.google\.com/github/[^\s)"'<>\]\\]*""")
INSTALL_URL = re.compile(r"""git\+https://[^\s)"'<>\]\\]*""")


def course_address(root=REPO_ROOT):
    course = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["course"]
    return course["repository"].removesuffix("/").removesuffix(".git"), course["branch"]


def link_problems(text, root=REPO_ROOT):
    """Install URLs that are not this repository, Colab links and file URLs that open no file of it."""
    repository, branch = course_address(root)
    slug = repository.removeprefix("https://github.com/")
    problems = [f"install URL is not git+{repository}@{branch}: {url}" for url in INSTALL_URL.findall(text)
                if url != f"git+{repository}@{branch}"]
    prefixes = {"Colab link": (COLAB_URL, f"https://colab.research.google.com/github/{slug}/blob/{branch}/"),
                "file URL": (RAW_URL, f"https://raw.githubusercontent.com/{slug}/{branch}/")}
    for what, (links, prefix) in prefixes.items():
        problems += [f"{what} {'to a missing file' if url.startswith(prefix) else 'not under ' + prefix}: {url}"
                     for url in links.findall(text)
                     if not url.startswith(prefix) or not (root / url.removeprefix(prefix)).is_file()]
    return [f"{problem} (run `make badges`, see pyproject [tool.course])" for problem in problems]


def output_problems(output):
    """The problems of one output, as short sentences."""
    if output.output_type == "error":
        return [f"error output: {output.ename}: {strip_ansi(output.evalue)}"]
    data = output.get("data", {})
    text = output.get("text", "") + "".join(value for mime, value in data.items() if mime.startswith("text/"))
    problems = [message for pattern, message in TEXT_PROBLEMS if re.search(pattern, text)]
    problems += [f"shows a machine path: {path.group(0)}" for path in MACHINE_PATH.finditer(strip_ansi(text))]
    if list(data) == ["text/plain"] and data["text/plain"].startswith("<Figure size"):
        problems.append("<Figure size ...> text without the figure: end the cell with plt.show()")
    for mime, value in data.items():
        if mime.startswith("image/") and mime != "image/png":
            problems.append(f"image output is {mime}, not PNG")
        elif mime == "image/png":
            try:
                Image.open(io.BytesIO(base64.b64decode(value))).load()
            except Exception as error:
                problems.append(f"PNG image does not decode ({error})")
    return problems


def notebook_problems(path):
    """The problems of one committed notebook file, as short sentences (none when it is clean)."""
    text = path.read_text(encoding="utf-8")
    nb = nbformat.reads(text, as_version=4)
    problems = [f"file is over {MAX_BYTES // 2**20} MB"] * (len(text.encode()) > MAX_BYTES)
    if nb.metadata.get("kernelspec", {}).get("name") != "python3":
        problems.append("kernelspec is not python3")
    if normalize(text) != text:
        problems.append("not normalised: run `python -m tools.clean` on it (`make execute` does)")
    code = [cell for cell in nb.cells if cell.cell_type == "code" and cell.source.strip()]
    counts = [cell.execution_count for cell in code]
    if counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts {counts} are not 1 to {len(code)}: not run top to bottom (`make execute`)")
    if not any(cell.outputs for cell in code):
        problems.append("no outputs: not executed (`make execute`)")
    for number, cell in enumerate(nb.cells, start=1):
        for output in cell.get("outputs", []):
            problems += [f"cell {number}: {problem}" for problem in output_problems(output)]
    first_markdown = next((cell.source for cell in nb.cells if cell.cell_type == "markdown"), "")
    if not any(url.endswith(f"/notebooks/{path.name}") for url in COLAB_URL.findall(first_markdown)):
        problems.append(f"the first markdown cell has no Colab badge that opens {path.name}")
    return problems + link_problems("\n".join(cell.source for cell in nb.cells), path.parents[1])


# --- (a) the checks find what they should ---------------------------------------------------

REPOSITORY, BRANCH = course_address()
NAME = "01_example.ipynb"
_png = io.BytesIO()
Image.new("RGB", (4, 3), "white").save(_png, format="PNG")
PNG = base64.b64encode(_png.getvalue()).decode()


@pytest.fixture
def clean():
    """A small notebook that passes every check: badge, install cell, executed cells, a PNG figure."""
    colab = f"https://colab.research.google.com/github/{REPOSITORY.removeprefix('https://github.com/')}"
    badge = "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    figure = new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure size 640x480 with 1 Axes>"})
    return new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}}, cells=[
        new_markdown_cell(f"{badge}({colab}/blob/{BRANCH}/notebooks/{NAME})\n\n# 1. Example"),
        new_code_cell(f'%pip install -q "course-utils @ git+{REPOSITORY}@{BRANCH}"', execution_count=1),
        new_code_cell("print('hello')", execution_count=2, outputs=[new_output("stream", name="stdout", text="hi\n")]),
        new_code_cell("plt.show()", execution_count=3, outputs=[figure]),
    ])


def problems_of(nb, tmp_path, name=NAME, normalised=True):
    """The problems of ``nb`` committed as ``notebooks/name`` (normalised first, as a hook would)."""
    path = tmp_path / "notebooks" / name
    path.parent.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "pyproject.toml", tmp_path)
    text = nbformat.writes(nb)
    path.write_text(normalize(text) if normalised else text, encoding="utf-8")
    return " | ".join(notebook_problems(path))


def test_a_clean_notebook_passes(tmp_path, clean):
    assert problems_of(clean, tmp_path) == ""


@pytest.mark.parametrize("path", ["/root/x/y", "/home/me/x", "../shared/x", "/work/shared/models/m", "/tmp/abc/model"])
def test_a_machine_path_is_flagged(tmp_path, clean, path):
    clean.cells[2].outputs[0].text = f"loaded {path}\n"
    problems = problems_of(clean, tmp_path, normalised=False)
    assert f"machine path: {path}" in problems and "not normalised" in problems
    assert problems_of(clean, tmp_path) == "", "normalising removes it"


ERROR = new_output("error", ename="AssertionError", evalue="too low", traceback=[])
BAR = new_output("stream", name="stderr", text="100%|##| 3/3 [00:01, 2.50it/s]\n")
FIGURE_TEXT = new_output("execute_result", data={"text/plain": "<Figure size 640x480 with 1 Axes>"}, execution_count=3)
OLD_INSTALL = '%pip install "course-utils @ git+https://github.com/old/repo@dev"'


def relink(old, new):
    return lambda nb: setattr(nb.cells[0], "source", nb.cells[0].source.replace(old, new))


@pytest.mark.parametrize("plant, words", [
    (lambda nb: setattr(nb.cells[2], "execution_count", 5), "not run top to bottom"),
    (lambda nb: [setattr(cell, "outputs", []) for cell in nb.cells[2:]], "not executed"),
    (lambda nb: nb.cells[3].outputs.append(ERROR), "AssertionError: too low"),
    (lambda nb: nb.cells[2].outputs.append(BAR), "progress-bar"),
    (lambda nb: nb.cells[3].outputs.append(FIGURE_TEXT), "plt.show()"),
    (lambda nb: nb.cells[3].outputs[0].data.update({"image/png": base64.b64encode(b"no").decode()}), "decode"),
    (lambda nb: nb.cells[3].outputs[0].data.update({"image/jpeg": PNG}), "image/jpeg"),
    (lambda nb: nb.cells[3].outputs[0].data.update({"image/png": "A" * MAX_BYTES}), "over 2 MB"),
    (lambda nb: nb.metadata.kernelspec.update(name="my-venv"), "kernelspec"),
    (lambda nb: setattr(nb.cells[0], "source", "# 1. No badge"), "no Colab badge"),
    (lambda nb: setattr(nb.cells[1], "source", OLD_INSTALL), "install URL"),
    (relink(f"/blob/{BRANCH}/", "/blob/dev/"), "Colab link not under"),  # another branch
    (relink(f"/notebooks/{NAME}", "/notebooks/99_gone.ipynb"), "Colab link to a missing file"),
])
def test_each_planted_problem_is_flagged(tmp_path, clean, plant, words):
    plant(clean)
    assert words in problems_of(clean, tmp_path)


def test_a_badge_must_open_this_notebook(tmp_path, clean):
    assert "opens 02_other.ipynb" in problems_of(clean, tmp_path, name="02_other.ipynb")


def test_make_badges_points_every_link_at_the_configured_repository(tmp_path, clean):
    assert problems_of(clean, tmp_path) == ""  # copies pyproject.toml, writes notebooks/01_example.ipynb
    shutil.copy(REPO_ROOT / "Makefile", tmp_path)
    readme, pyproject = tmp_path / "README.md", tmp_path / "pyproject.toml"
    readme.write_text(f"[open](https://colab.research.google.com/github/old/repo/blob/dev/notebooks/{NAME})\n"
                      "    pip install git+https://github.com/old/repo@dev\n")
    fork = pyproject.read_text().replace(REPOSITORY, "https://github.com/someone/fork")
    pyproject.write_text(fork.replace(f'branch = "{BRANCH}"', 'branch = "teaching"'))
    assert link_problems(readme.read_text(), tmp_path), "the planted links are wrong"
    subprocess.run(["make", "-s", "badges"], cwd=tmp_path, check=True)
    assert link_problems(readme.read_text(), tmp_path) == []
    assert notebook_problems(tmp_path / "notebooks" / NAME) == []
    assert "someone/fork/blob/teaching/" in (tmp_path / "notebooks" / NAME).read_text()


# --- (b) the committed notebooks and README.md ----------------------------------------------

@pytest.mark.parametrize("notebook", COMMITTED or [None], ids=lambda path: path.name if path else "none")
def test_committed_notebook_is_clean(notebook):
    assert notebook is not None, f"no notebook matches {NOTEBOOK_PATTERNS} under {REPO_ROOT}: run from a full checkout"
    problems = notebook_problems(notebook)
    assert not problems, f"{notebook.name}:\n  " + "\n  ".join(problems)


def test_readme_links_point_at_this_repository():
    problems = link_problems((REPO_ROOT / "README.md").read_text(encoding="utf-8"))
    assert not problems, "README.md:\n  " + "\n  ".join(problems)
