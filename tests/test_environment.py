"""environment.yml, pyproject.toml and the Makefile agree on what the course installs."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def conda_env():
    return yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))


def _normalise(requirement: str) -> str:
    return re.sub(r"\s+", "", requirement)


def _conda_pip_list(env) -> list[str]:
    lists = [item["pip"] for item in env["dependencies"] if isinstance(item, dict) and "pip" in item]
    assert len(lists) == 1, "environment.yml should have exactly one pip: list"
    return [_normalise(r) for r in lists[0] if _normalise(r) not in {"--editable.", "-e."}]


def _conda_python(env) -> str:
    pins = [d for d in env["dependencies"] if isinstance(d, str) and re.fullmatch(r"python\s*[=<>!~].*", d)]
    assert len(pins) == 1, f"environment.yml should pin python once, found {pins}"
    return re.sub(r"^python\s*=*\s*", "", pins[0])


def test_same_requirements_in_environment_yml_and_pyproject(pyproject, conda_env):
    project = pyproject["project"]
    wanted = [_normalise(r) for r in project["dependencies"] + project["optional-dependencies"]["dev"]]
    listed = _conda_pip_list(conda_env)
    assert Counter(listed) == Counter(wanted), (
        f"only in environment.yml: {sorted(set(listed) - set(wanted))}; "
        f"only in pyproject.toml: {sorted(set(wanted) - set(listed))}"
    )


def test_environment_yml_installs_the_package_itself(conda_env):
    pip_list = next(item["pip"] for item in conda_env["dependencies"] if isinstance(item, dict) and "pip" in item)
    assert any(_normalise(r) in {"--editable.", "-e."} for r in pip_list)
    assert "pip" in conda_env["dependencies"]


def test_every_requirement_parses(pyproject, conda_env):
    project = pyproject["project"]
    for requirement in project["dependencies"] + project["optional-dependencies"]["dev"] + _conda_pip_list(conda_env):
        Requirement(requirement)  # raises InvalidRequirement on a typo


def test_conda_python_satisfies_requires_python(pyproject, conda_env):
    python = _conda_python(conda_env)
    requires = SpecifierSet(pyproject["project"]["requires-python"])
    assert requires.contains(python), f"environment.yml's python={python} is outside requires-python {requires}"


def _makefile_torch_pin() -> Requirement:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    match = re.search(r"^TORCH\s*\?=\s*(\S+)\s*$", text, flags=re.MULTILINE)
    assert match, "the Makefile should set a default: TORCH ?= torch==X.Y.Z"
    return Requirement(match.group(1))


def test_makefile_torch_pin_satisfies_the_torch_requirement(pyproject):
    pin = _makefile_torch_pin()
    assert pin.name == "torch"
    exact = [s.version for s in pin.specifier if s.operator in {"==", "==="}]
    assert len(exact) == 1, f"TORCH should pin one version, got {pin}"
    dependencies = [Requirement(r) for r in pyproject["project"]["dependencies"]]
    torch_requirement = next(r for r in dependencies if r.name == "torch")
    assert torch_requirement.specifier.contains(exact[0]), f"Makefile pins {pin}; pyproject asks {torch_requirement}"
