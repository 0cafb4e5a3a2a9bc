"""The measured results the notebooks plot (``benchmarks/results/*.json``), from a checkout or from GitHub.

In a clone of the course the files are read from ``benchmarks/results/``. On Colab the course
is installed from GitHub, where pip records the repository and the exact commit it installed
(``direct_url.json``); the files of that same commit are then downloaded from
``raw.githubusercontent.com``, so the numbers always belong to the code that runs.

Example:
    >>> read_results("gpu_minilm_epoch")["checkpoint"]
    'all-MiniLM-L6-v2'
"""

from __future__ import annotations

import json
import re
from importlib import metadata
from pathlib import Path

CHECKOUT_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
NAME = re.compile(r"[A-Za-z0-9_.-]+")


def installed_from() -> tuple[str, str] | None:
    """``(owner/name, commit)`` when pip installed the course from a GitHub repository, else ``None``."""
    try:
        text = metadata.distribution("course-utils").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    info = json.loads(text) if text else {}
    match = re.match(r"(?:git\+)?https://github\.com/([^/]+/[^/@]+?)(?:\.git)?/?$", info.get("url", ""))
    commit = info.get("vcs_info", {}).get("commit_id")
    return (match.group(1), commit) if match and commit else None


def read_results(name: str) -> dict:
    """The results file ``benchmarks/results/<name>.json``: from this checkout, or from the GitHub commit
    the course was installed from."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not the name of a results file; give its name without .json, "
                         f"e.g. 'strategies_cpu_minilm'.")
    local = CHECKOUT_RESULTS / f"{name}.json"
    if local.is_file():
        return json.loads(local.read_text())
    source = installed_from()
    if source is None:
        raise FileNotFoundError(f"{local} does not exist, and the course was not installed from GitHub, so there "
                                f"is nowhere else to read it from. Check the name, or clone the repository.")
    import urllib.request

    url = f"https://raw.githubusercontent.com/{source[0]}/{source[1]}/benchmarks/results/{name}.json"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return json.load(response)
    except OSError as err:
        raise FileNotFoundError(f"Could not download {url} ({err}). Check the internet connection, "
                                f"or clone the repository to read benchmarks/results/ locally.") from err
