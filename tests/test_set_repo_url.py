"""tools/set_repo_url.py: links are rewritten from pyproject.toml, and the committed files agree with it."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO_ROOT = Path(__file__).resolve().parents[1]

# The tools are scripts, not a package: make them importable for these tests.
sys.path.insert(0, str(REPO_ROOT / "tools"))
import set_repo_url  # noqa: E402
from set_repo_url import read_config, rewrite_file, rewrite_text  # noqa: E402

REPOSITORY, BRANCH = read_config(REPO_ROOT / "pyproject.toml")
OWNER_REPO = REPOSITORY.removeprefix("https://github.com/")

OLD_BADGE = "https://colab.research.google.com/github/old-owner/old-repo/blob/dev/notebooks/00_wrong_name.ipynb"
OLD_INSTALL_CELL = (
    "import subprocess, sys\n"
    "if 'google.colab' in sys.modules:\n"
    "    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', 'git+https://github.com/old-owner/old-repo@dev'], check=True)"
)


def colab_link(file_name):
    return f"https://colab.research.google.com/github/{OWNER_REPO}/blob/{BRANCH}/notebooks/{file_name}"


def test_config_is_read_from_pyproject():
    assert REPOSITORY.startswith("https://github.com/") and not REPOSITORY.endswith((".git", "/"))
    assert BRANCH


def test_notebook_links_are_rewritten(tmp_path):
    nb = new_notebook(cells=[new_markdown_cell(f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({OLD_BADGE})\n\n# 3. Title"), new_code_cell(OLD_INSTALL_CELL)])
    path = tmp_path / "03_fine_tuning.ipynb"
    nbformat.write(nb, path)

    changes = rewrite_file(path, REPOSITORY, BRANCH)

    assert len(changes) == 2
    cells = nbformat.read(path, as_version=4).cells
    assert f"({colab_link('03_fine_tuning.ipynb')})" in cells[0].source, "the badge opens this notebook"
    assert f"'git+{REPOSITORY}@{BRANCH}'" in cells[1].source
    assert "old-owner" not in cells[0].source + cells[1].source
    assert rewrite_file(path, REPOSITORY, BRANCH) == [], "a second run changes nothing"


def test_readme_links_are_rewritten_and_keep_their_file_names(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(
        "| notebook | |\n|---|---|\n"
        "| 1. Intro | [![Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
        "(https://colab.research.google.com/github/old-owner/old-repo/blob/main/notebooks/01_intro.ipynb) |\n"
        "| 2. Data | [open](https://colab.research.google.com/github/old-owner/old-repo/blob/feature/x/notebooks/02_data.ipynb) |\n\n"
        "    pip install git+https://github.com/old-owner/old-repo.git\n"
        "    git clone https://github.com/old-owner/old-repo.git\n\n"
        "See https://huggingface.co/distilbert-base-uncased.\n",
        encoding="utf-8",
    )

    assert set_repo_url.main(["--check", str(readme)]) == 1
    assert set_repo_url.main([str(readme)]) == 0

    text = readme.read_text(encoding="utf-8")
    assert f"({colab_link('01_intro.ipynb')})" in text and f"({colab_link('02_data.ipynb')})" in text
    assert f"pip install git+{REPOSITORY}@{BRANCH}\n" in text
    assert f"git clone {REPOSITORY}.git\n" in text
    assert "old-owner" not in text and "https://huggingface.co/distilbert-base-uncased." in text
    assert set_repo_url.main(["--check", str(readme)]) == 0


def test_links_already_right_are_left_alone():
    text = f"[badge]({colab_link('01_intro.ipynb')}) and git+{REPOSITORY}@{BRANCH}"
    assert rewrite_text(text, REPOSITORY, BRANCH, notebook_name="01_intro.ipynb") == (text, [])


def test_configuration_comes_from_the_given_pyproject(tmp_path):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.course]\nrepository = "https://github.com/someone/fork.git"\nbranch = "teaching"\n', encoding="utf-8")
    assert read_config(pyproject) == ("https://github.com/someone/fork", "teaching")

    pyproject.write_text('[tool.course]\nrepository = "https://gitlab.com/someone/fork"\nbranch = "main"\n', encoding="utf-8")
    with pytest.raises(ValueError, match="github.com"):
        read_config(pyproject)


def test_committed_files_use_the_configured_url():
    files = sorted((REPO_ROOT / "notebooks").glob("[0-9]*.ipynb"))
    if (REPO_ROOT / "README.md").is_file():
        files.append(REPO_ROOT / "README.md")
    if not files:
        pytest.skip("no notebooks or README.md committed yet")
    assert set_repo_url.main(["--check", *map(str, files)]) == 0, "run `make badges` (tools/set_repo_url.py) and commit"
