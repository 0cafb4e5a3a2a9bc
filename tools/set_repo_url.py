"""Write the repository's address into the notebooks and markdown files, from its one definition.

The address is defined in ONE place, ``pyproject.toml``::

    [tool.course]
    repository = "https://github.com/OWNER/REPO"
    branch = "main"

After moving or forking the repository, change it there and run (``make badges`` does it)::

    python tools/set_repo_url.py notebooks/*.ipynb README.md
    python tools/set_repo_url.py --check notebooks/*.ipynb README.md   # exit 1 if a file would change

Three kinds of links are rewritten, whatever owner, repository and branch they have now:

* Colab badges ``https://colab.research.google.com/github/OWNER/REPO/blob/BRANCH/notebooks/FILE.ipynb``:
  owner, repository and branch become the configured ones; in a notebook, ``FILE.ipynb`` also
  becomes that notebook's own file name (so a copied or renamed notebook opens itself in Colab);
  in a markdown file (a README lists several notebooks) the file name is kept;
* install specs ``git+https://github.com/OWNER/REPO@BRANCH`` (with or without ``@BRANCH``)
  become ``git+https://github.com/OWNER/REPO@BRANCH`` with the configured values (the course
  installs nothing else from GitHub, so every such spec is taken to be this repository's);
* clone commands ``git clone https://github.com/OWNER/REPO.git`` (``.git`` is kept as it was).

Each change is printed. Notebooks are read and written with nbformat (only the cell sources
change, and a notebook is only written when one did), markdown files as plain text.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

try:
    import tomllib  # Python 3.11+
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PYPROJECT = REPO_ROOT / "pyproject.toml"

#: GitHub owner, repository and branch names (a branch may contain "/", as in feature/x). They
#: cannot end with "." so that a sentence's full stop after a link is not taken in.
_NAME = r"[\w-]+(?:\.[\w-]+)*"
_BRANCH = r"[\w-]+(?:[./][\w-]+)*"

#: A Colab badge link to a notebook in a GitHub repository.
COLAB_URL = re.compile(
    r"https://colab\.research\.google\.com/github/"
    rf"(?P<owner>{_NAME})/(?P<repo>{_NAME})/blob/(?P<branch>{_BRANCH}?)/notebooks/(?P<file>[\w.-]+?\.ipynb)"
)

#: A pip install spec for this repository, with or without a branch.
INSTALL_SPEC = re.compile(rf"git\+https://github\.com/(?P<owner>{_NAME})/(?P<repo>{_NAME})(?:@(?P<branch>{_BRANCH}))?")

#: A clone command for this repository, with or without ".git".
CLONE_COMMAND = re.compile(rf"git clone https://github\.com/(?P<owner>{_NAME})/(?P<repo>{_NAME})")

#: The configured repository must be a GitHub address (Colab opens notebooks from GitHub).
GITHUB_REPOSITORY = re.compile(rf"https://github\.com/(?P<owner>{_NAME})/(?P<repo>{_NAME})/?")


def read_config(pyproject: Path = DEFAULT_PYPROJECT) -> tuple[str, str]:
    """The repository address and branch from ``[tool.course]`` in ``pyproject.toml``.

    The address is returned without a trailing slash or ``.git``: ``https://github.com/OWNER/REPO``.
    """
    with open(pyproject, "rb") as f:
        course = tomllib.load(f)["tool"]["course"]
    repository, branch = course["repository"].strip(), course["branch"].strip()
    match = GITHUB_REPOSITORY.fullmatch(repository)
    if not match:
        raise ValueError(f"[tool.course] repository must look like https://github.com/OWNER/REPO, not {repository!r}")
    repo = match["repo"].removesuffix(".git")
    return f"https://github.com/{match['owner']}/{repo}", branch


def rewrite_text(text: str, repository: str, branch: str, notebook_name: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """Rewrite the Colab badges, install specs and clone commands in ``text``.

    ``notebook_name``: the file name of the notebook the text belongs to (its badges must open
    it), or ``None`` for a markdown file (badges keep the file they name).
    Returns the new text and the list of ``(old link, new link)`` that changed.
    """
    owner_repo = repository.removeprefix("https://github.com/")
    changes = []

    def new_colab_link(match: re.Match) -> str:
        file_name = notebook_name or match["file"]
        new = f"https://colab.research.google.com/github/{owner_repo}/blob/{branch}/notebooks/{file_name}"
        if new != match[0]:
            changes.append((match[0], new))
        return new

    def new_install_spec(match: re.Match) -> str:
        new = f"git+{repository}@{branch}"
        if new != match[0]:
            changes.append((match[0], new))
        return new

    def new_clone_command(match: re.Match) -> str:
        new = f"git clone {repository}" + (".git" if match["repo"].endswith(".git") else "")
        if new != match[0]:
            changes.append((match[0], new))
        return new

    text = COLAB_URL.sub(new_colab_link, text)
    text = INSTALL_SPEC.sub(new_install_spec, text)
    text = CLONE_COMMAND.sub(new_clone_command, text)
    return text, changes


def rewrite_notebook(path: Path, repository: str, branch: str, write: bool = True) -> list[tuple[str, str]]:
    """Rewrite the links in every cell source of a notebook; the changes made (or to make)."""
    nb = nbformat.read(path, as_version=4)
    all_changes = []
    for cell in nb.cells:
        cell.source, changes = rewrite_text(cell.source, repository, branch, notebook_name=path.name)
        all_changes += changes
    if all_changes and write:
        text = nbformat.writes(nb, version=4)
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write(text if text.endswith("\n") else text + "\n")
    return all_changes


def rewrite_markdown(path: Path, repository: str, branch: str, write: bool = True) -> list[tuple[str, str]]:
    """Rewrite the links in a markdown (or any text) file; the changes made (or to make)."""
    old_text = path.read_text(encoding="utf-8")
    new_text, changes = rewrite_text(old_text, repository, branch)
    if changes and write:
        with open(path, "w", encoding="utf-8", newline="") as f:  # newline="": keep the file's line ends
            f.write(new_text)
    return changes


def rewrite_file(path: Path, repository: str, branch: str, write: bool = True) -> list[tuple[str, str]]:
    """Rewrite one notebook or markdown file, chosen by its extension."""
    if path.suffix == ".ipynb":
        return rewrite_notebook(path, repository, branch, write)
    return rewrite_markdown(path, repository, branch, write)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the repository URL from pyproject.toml into notebooks and markdown files.")
    parser.add_argument("files", nargs="+", type=Path, help="notebooks (.ipynb) and markdown files")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file would change")
    parser.add_argument("--pyproject", type=Path, default=DEFAULT_PYPROJECT, help="where [tool.course] is (default: the repository's)")
    args = parser.parse_args(argv)

    repository, branch = read_config(args.pyproject)
    print(f"repository {repository}, branch {branch}")

    changed_files = 0
    for path in args.files:
        if not path.is_file():
            print(f"error: no such file: {path}", file=sys.stderr)
            return 2
        changes = rewrite_file(path, repository, branch, write=not args.check)
        if changes:
            changed_files += 1
            print(f"{path}: {len(changes)} link(s) {'to change' if args.check else 'changed'}")
            for old, new in changes:
                print(f"    {old}\n -> {new}")

    if changed_files == 0:
        print(f"{len(args.files)} file(s) up to date")
        return 0
    if args.check:
        print(f"\n{changed_files} file(s) out of date: run `make badges` (tools/set_repo_url.py) and commit the result")
        return 1
    print(f"\n{changed_files} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
