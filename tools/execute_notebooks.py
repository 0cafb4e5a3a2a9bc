"""Execute notebooks in place, in order, then normalise them: how the committed outputs are made.

``make execute`` runs it with the Makefile's PROFILE, CHECKPOINT and DATA::

    python tools/execute_notebooks.py --profile cpu \\
        --checkpoint ../shared/models/all-MiniLM-L6-v2 --data ../shared/data/sst2 \\
        notebooks/01_intro.ipynb notebooks/02_data.ipynb

    # the default profile with the Hub's DistilBERT and SST-2 (empty values: the profile decides)
    python tools/execute_notebooks.py --profile default --checkpoint "" --data "" notebooks/*.ipynb

For each notebook, in the order given:

1. it is run from top to bottom with nbclient, in the ``python3`` kernel, with the notebook's
   folder as working directory (as in JupyterLab), and with this environment: the current one,
   plus ``COURSE_PROFILE``, plus ``COURSE_CHECKPOINT`` / ``COURSE_DATA`` when they are given;
2. its outputs are normalised (``normalize_notebooks.py``: no machine paths, progress bars
   reduced to their final line, no volatile metadata) and it is written back in place;
3. its wall time is printed.

``--checkpoint`` and ``--data`` are a Hub id or keyword (``distilbert-base-uncased``, ``hub``,
``sample``) or a local folder. A relative folder is meant from where you run the command (the
repository root for ``make``), but the notebooks run in ``notebooks/``: so folders are made
absolute before they are handed to the kernel. An empty value removes the variable from the
kernel's environment, so the profile's own checkpoint or data is used.

The first failing cell stops everything: the error is printed (cells are numbered from 1,
markdown cells included, as in ``check_notebooks.py``), that notebook's file is left unchanged,
and the exit code is 1. The timings are also written to ``build/execute_times.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from normalize_notebooks import normalize_notebook, notebook_text

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPORT = REPO_ROOT / "build" / "execute_times.json"

#: Values of --checkpoint / --data that name no folder (see course_utils/settings.py).
KEYWORDS = {"hub", "sample", "tiny-distilbert"}


def looks_like_folder(value: str) -> bool:
    """True when ``value`` names something on disk rather than a Hub id or a keyword.

    ``../shared/models/x``, ``./x``, ``/data/x`` and ``~/x`` are folders; so is any other value
    that exists on disk (``offline_assets/model``). ``distilbert-base-uncased``, ``hub`` and
    ``sample`` are not.
    """
    if value in KEYWORDS:
        return False
    return value.startswith((".", "/", "~")) or Path(value).exists()


def kernel_environment(
    profile: str, checkpoint: str | None, data: str | None, base: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment of the kernel: ``base`` (``os.environ``) plus the course variables.

    ``checkpoint`` and ``data``: ``None`` leaves the variable as it is in ``base``, an empty string
    removes it (the profile decides), anything else sets it; folders are made absolute.
    """
    env = dict(os.environ if base is None else base)
    env["COURSE_PROFILE"] = profile
    for name, value in (("COURSE_CHECKPOINT", checkpoint), ("COURSE_DATA", data)):
        if value is None:
            continue
        value = value.strip()
        if not value:
            env.pop(name, None)
        elif looks_like_folder(value):
            env[name] = str(Path(value).expanduser().resolve())
        else:
            env[name] = value
    return env


def execute_notebook(path: Path, env: dict[str, str], timeout: int) -> str | None:
    """Run one notebook and write it back normalised.

    Returns ``None`` when every cell ran, otherwise a message saying which cell failed and why.
    The file is only written after every cell has run, so a failure leaves it unchanged.
    """
    nb = nbformat.read(path, as_version=4)
    current = {"cell": 0}  # the number (1-based) of the cell being run, for the error message

    def remember_cell(cell, cell_index):
        current["cell"] = cell_index + 1

    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},  # the kernel's working directory
        on_cell_start=remember_cell,
    )
    try:
        client.execute(env=env)  # fills nb's outputs in place
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as error:
        return f"cell {current['cell']} failed: {type(error).__name__}: {error}"

    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(notebook_text(normalize_notebook(nb)))
    return None


def write_report(report_path: Path, report: dict) -> None:
    """Write the timing report as JSON (``build/`` is ignored by git)."""
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks in place, in order, and normalise them (see the top of this file).")
    parser.add_argument("notebooks", nargs="+", type=Path, help="the .ipynb files, run in this order")
    parser.add_argument("--profile", default="cpu", help="COURSE_PROFILE: default, cpu or smoke (default: cpu)")
    parser.add_argument("--checkpoint", help="COURSE_CHECKPOINT: a Hub id or a local folder; empty: the profile's")
    parser.add_argument("--data", help="COURSE_DATA: hub, sample or a local folder; empty: the profile's")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may run (default: 3600)")
    parser.add_argument("--report", type=Path, default=DEFAULT_REPORT, help="where to write the timings (JSON)")
    args = parser.parse_args(argv)

    for path in args.notebooks:
        if not path.is_file():
            print(f"error: no such notebook: {path}", file=sys.stderr)
            return 2
    for option, value in (("--checkpoint", args.checkpoint), ("--data", args.data)):
        if value and looks_like_folder(value) and not Path(value).expanduser().exists():
            print(f"error: {option} {value!r} looks like a folder, but there is none (from {Path.cwd()})", file=sys.stderr)
            return 2

    env = kernel_environment(args.profile, args.checkpoint, args.data)
    default = "(the profile's)"
    print(f"profile {args.profile}, checkpoint {env.get('COURSE_CHECKPOINT', default)}, data {env.get('COURSE_DATA', default)}")

    report = {
        "profile": args.profile,
        "checkpoint": args.checkpoint or "",
        "data": args.data or "",
        "notebooks": [],
        "total_seconds": 0.0,
        "status": "ok",
    }
    total_start = time.perf_counter()
    exit_code = 0

    for path in args.notebooks:
        print(f"running {path} ...", flush=True)
        start = time.perf_counter()
        failure = execute_notebook(path, env, args.timeout)
        seconds = time.perf_counter() - start
        status = "failed" if failure else "ok"
        report["notebooks"].append({"notebook": path.as_posix(), "seconds": round(seconds, 1), "status": status})
        if failure:
            report["status"] = "failed"
            print(f"\nFAILED: {path}, {failure}", file=sys.stderr)
            print(f"\n{path} was left unchanged; the notebooks after it were not run.", file=sys.stderr)
            exit_code = 1
            break
        print(f"  done in {seconds:.1f} s", flush=True)

    total = time.perf_counter() - total_start
    report["total_seconds"] = round(total, 1)
    write_report(args.report, report)
    print("\nwall time per notebook:")
    for entry in report["notebooks"]:
        print(f"  {entry['seconds']:8.1f} s  {entry['notebook']}  {'' if entry['status'] == 'ok' else 'FAILED'}".rstrip())
    print(f"  {total:8.1f} s  total ({len(report['notebooks'])} of {len(args.notebooks)} notebooks run; timings in {args.report})")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
