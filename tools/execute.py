"""Re-run notebooks, all or nothing: how the committed outputs are made (``make execute``).

    python -m tools.execute [--profile P] [--checkpoint C] [--data D] [--record FILE] [--constraints FILE] NOTEBOOK...

Each notebook runs top to bottom in a fresh ``python3`` kernel in the notebook's folder (as in JupyterLab)
and is normalised (``tools/clean.py``). The committed files are replaced only when every notebook has run
(a failure names the notebook and changes none), each by an atomic rename: old or new, never half.

``--profile``, ``--checkpoint`` and ``--data`` set ``COURSE_PROFILE``, ``COURSE_CHECKPOINT`` and
``COURSE_DATA`` for the kernels (left out or empty: not set); a folder that exists here is passed as an
absolute path, and ``COURSE_START_DIR`` is this folder. ``--constraints`` refuses to run when an installed
package differs from its pin. ``--record`` writes each notebook's wall time to a JSON file (a later run
with the same settings adds its notebooks to it).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import sys
import time
from pathlib import Path

from nbconvert.exporters import NotebookExporter
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from course_utils.files import read_json, write_json, write_text
from tools.clean import config

SAME_RUN = ("profile", "checkpoint", "data", "device")  # a record of other settings is replaced, not extended


def course_variables(profile: str | None = None, checkpoint: str | None = None, data: str | None = None) -> dict:
    """The ``COURSE_*`` variables to set for the kernels: only those given, folders that exist made absolute
    (the capstone reads them as plain paths, from the notebooks' folder)."""
    given = {"COURSE_PROFILE": profile, "COURSE_CHECKPOINT": checkpoint, "COURSE_DATA": data}
    variables = {name: value.strip() for name, value in given.items() if value and value.strip()}
    for name in ("COURSE_CHECKPOINT", "COURSE_DATA"):
        if name in variables and Path(variables[name]).expanduser().exists():
            variables[name] = str(Path(variables[name]).expanduser().resolve())
    return variables


def version_mismatches(constraints: Path) -> list[str]:
    """Each installed package whose version is not the one ``constraints`` pins (``name==version`` lines);
    a pinned package that is not installed is none (e.g. a platform's own CUDA libraries)."""
    installed = {canonicalize_name(dist.metadata["Name"]): dist.version for dist in importlib.metadata.distributions()}
    pins = [Requirement(line) for line in constraints.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    return [f"{pin.name} {installed[name]} (pinned {pin.specifier})" for pin in pins
            if (name := canonicalize_name(pin.name)) in installed
            and not pin.specifier.contains(installed[name], prereleases=True)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-run notebooks, all or nothing (see tools/execute.py).")
    parser.add_argument("notebooks", nargs="+", type=Path, help="the notebooks, run in this order")
    parser.add_argument("--profile", help="COURSE_PROFILE: default, cpu or smoke")
    parser.add_argument("--checkpoint", help="COURSE_CHECKPOINT: a Hub id or a checkpoint folder")
    parser.add_argument("--data", help="COURSE_DATA: hub, sample or a data folder")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take (default 3600)")
    parser.add_argument("--record", type=Path, help="write the wall time of each notebook to this JSON file")
    parser.add_argument("--constraints", type=Path, help="refuse to run unless installed versions match these pins")
    args = parser.parse_args(argv)
    problems = [f"no such notebook: {path}" for path in args.notebooks if not path.is_file()]
    if args.constraints and not args.constraints.is_file():
        problems.append(f"no constraints file {args.constraints}: give an existing one, or leave --constraints out")
    elif args.constraints and (mismatches := version_mismatches(args.constraints)):
        problems.append(f"installed versions differ from {args.constraints}, the versions the committed outputs "
                        f"were made with: {', '.join(mismatches)}. Install those (pip install -c {args.constraints} "
                        "-e '.[dev]') or leave --constraints out (make execute CONSTRAINTS=)")
    earlier = {}
    if args.record and args.record.exists():
        try:
            earlier = read_json(args.record, "the --record file")
        except ValueError as error:
            problems.append(str(error))
    if problems:
        print(f"error: {'; '.join(problems)}; nothing was run", file=sys.stderr)
        return 2

    os.environ.update(course_variables(args.profile, args.checkpoint, args.data))
    os.environ.setdefault("COURSE_START_DIR", os.getcwd())
    course = [f"{name}={value}" for name, value in sorted(os.environ.items()) if name.startswith("COURSE_")]
    print("kernel environment:", ", ".join(course) or "no COURSE_* variables (the default profile)")
    exporter = NotebookExporter(config=config(execute=True, timeout=args.timeout))
    executed, seconds = {}, {}
    for path in args.notebooks:
        start = time.perf_counter()
        try:
            executed[path] = exporter.from_filename(str(path.resolve()))[0]
        except Exception as error:  # a failing cell, a timeout, a dead kernel: report it, change nothing
            print(f"\nFAILED: {path} after {time.perf_counter() - start:.1f} s\n{error}", file=sys.stderr)
            print(f"\n{path} failed: no notebook was changed.", file=sys.stderr)
            return 1
        seconds[path.name] = round(time.perf_counter() - start, 1)
        print(f"{seconds[path.name]:8.1f} s  {path}", flush=True)
    for path, text in executed.items():
        write_text(path, text)
    print(f"{sum(seconds.values()):8.1f} s  in all: {len(executed)} notebook(s) executed and updated")
    if args.record:
        write_json(args.record, run_record(seconds, earlier))
    return 0


def shown(variable: str) -> str:
    """A ``COURSE_*`` value as a record shows it: a folder's name (no machine path), anything else as it is."""
    value = os.environ.get(variable, "")
    return Path(value).name if value and Path(value).expanduser().exists() else value or "(profile default)"


def run_record(seconds: dict[str, float], earlier: dict) -> dict:
    """The run's settings and each notebook's wall time, with ``earlier``'s notebooks if it had the same settings."""
    import torch

    record = {"profile": os.environ.get("COURSE_PROFILE") or "(chosen by the hardware)",
              "checkpoint": shown("COURSE_CHECKPOINT"), "data": shown("COURSE_DATA"),
              "device": torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else f"{torch.get_num_threads()} CPU threads", "python": platform.python_version()}
    if all(earlier.get(key) == record[key] for key in SAME_RUN):
        seconds = {**earlier.get("notebook_seconds", {}), **seconds}
    return {**record, "notebook_seconds": seconds, "total_seconds": round(sum(seconds.values()), 1)}


if __name__ == "__main__":
    sys.exit(main())
