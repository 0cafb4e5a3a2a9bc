"""The course's notebook tooling, run from the repository root (``make execute``, ``make lint``).

* ``python -m tools.clean NOTEBOOK...``: normalise committed notebooks (also a pre-commit hook);
* ``python -m tools.execute NOTEBOOK...``: re-run notebooks, all or nothing (``make execute``).

The checks on committed notebooks are tests: ``tests/test_notebook_hygiene.py``.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository root, for tools/ and tests/
