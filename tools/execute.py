"""Re-run notebooks, all or nothing: how the committed outputs are made (``make execute``).

    python -m tools.execute [--profile P] [--checkpoint C] [--data D] [--record FILE] NOTEBOOK...

Each notebook runs top to bottom in a fresh ``python3`` kernel whose working directory is the
notebook's folder (as in JupyterLab), with nbconvert's ``ExecutePreprocessor``; it is normalised
(``tools/clean.py``) into a temporary folder, and its wall time is printed. The committed files are
replaced only when every notebook has run: a failure names the notebook and changes none of them.

``--profile``, ``--checkpoint`` and ``--data`` set ``COURSE_PROFILE``, ``COURSE_CHECKPOINT`` and
``COURSE_DATA`` for the kernels; left out or empty, they are not set (the profile's own are used).
A checkpoint or data folder that exists here is passed as an absolute path, because the kernels
run in the notebooks' folder; anything else (a Hub id, ``hub``, ``sample``) is passed as it is.
``COURSE_START_DIR`` is this folder too, for relative paths the notebooks' settings meet. ``--record`` writes each
notebook's wall time to a JSON file (the teacher's guide renders it with benchmarks/tables.py);
a later run with the same settings adds its notebooks to the file.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

from nbconvert.exporters import NotebookExporter

from tools.clean import config


def course_variables(profile: str | None = None, checkpoint: str | None = None, data: str | None = None) -> dict:
    """The ``COURSE_*`` variables to set for the kernels: only those given, folders that exist made absolute
    (the capstone reads them as plain paths, from the notebooks' folder)."""
    given = {"COURSE_PROFILE": profile, "COURSE_CHECKPOINT": checkpoint, "COURSE_DATA": data}
    variables = {name: value.strip() for name, value in given.items() if value and value.strip()}
    for name in ("COURSE_CHECKPOINT", "COURSE_DATA"):
        if name in variables and Path(variables[name]).expanduser().exists():
            variables[name] = str(Path(variables[name]).expanduser().resolve())
    return variables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Re-run notebooks, all or nothing (see tools/execute.py).")
    parser.add_argument("notebooks", nargs="+", type=Path, help="the notebooks, run in this order")
    parser.add_argument("--profile", help="COURSE_PROFILE: default, cpu or smoke")
    parser.add_argument("--checkpoint", help="COURSE_CHECKPOINT: a Hub id or a checkpoint folder")
    parser.add_argument("--data", help="COURSE_DATA: hub, sample or a data folder")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds one cell may take (default 3600)")
    parser.add_argument("--record", type=Path, help="write the wall time of each notebook to this JSON file")
    args = parser.parse_args(argv)
    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        print(f"error: no such notebook: {', '.join(missing)}; nothing was run", file=sys.stderr)
        return 2

    os.environ.update(course_variables(args.profile, args.checkpoint, args.data))
    os.environ.setdefault("COURSE_START_DIR", os.getcwd())
    course = [f"{name}={value}" for name, value in sorted(os.environ.items()) if name.startswith("COURSE_")]
    print("kernel environment:", ", ".join(course) or "no COURSE_* variables (the default profile)")
    exporter = NotebookExporter(config=config(execute=True, timeout=args.timeout))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="course-execute-") as folder:
        executed = []
        for number, path in enumerate(args.notebooks):
            start = time.perf_counter()
            try:
                text, _ = exporter.from_filename(str(path.resolve()))
            except Exception as error:  # a failing cell, a timeout, a dead kernel: report it, change nothing
                print(f"\nFAILED: {path} after {time.perf_counter() - start:.1f} s\n{error}", file=sys.stderr)
                print(f"\n{path} failed: no notebook was changed.", file=sys.stderr)
                return 1
            copy = Path(folder) / f"{number}.ipynb"
            copy.write_text(text, encoding="utf-8", newline="\n")
            executed.append((copy, path, round(time.perf_counter() - start, 1)))
            print(f"{executed[-1][2]:8.1f} s  {path}", flush=True)
        for copy, path, _ in executed:
            shutil.copyfile(copy, path)
    total = time.perf_counter() - started
    print(f"{total:8.1f} s  in all: {len(executed)} notebook(s) executed and updated")
    if args.record:
        write_record(args.record, {path.name: seconds for _, path, seconds in executed}, round(total, 1))
    return 0


def write_record(path: Path, seconds: dict[str, float], total: float) -> None:
    """The run's settings (folder names only, no machine path) and each notebook's wall time, atomically."""
    import torch

    from course_utils.settings import display_name

    def shown(name: str) -> str:
        value = os.environ.get(name, "")
        return display_name(value).removesuffix(" (local folder)") if value else "(profile default)"

    record = {"profile": os.environ.get("COURSE_PROFILE") or "(chosen by the hardware)",
              "checkpoint": shown("COURSE_CHECKPOINT"), "data": shown("COURSE_DATA"),
              "device": torch.cuda.get_device_name(0) if torch.cuda.is_available()
              else f"{torch.get_num_threads()} CPU threads",
              "python": platform.python_version(), "notebook_seconds": seconds, "total_seconds": total}
    if path.exists():  # the same run's earlier notebooks stay; a run of other settings is replaced
        earlier = json.loads(path.read_text())
        if all(earlier.get(key) == record[key] for key in ("profile", "checkpoint", "data", "device")):
            record["notebook_seconds"] = {**earlier.get("notebook_seconds", {}), **seconds}
            record["total_seconds"] = round(sum(record["notebook_seconds"].values()), 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(tmp, path)


if __name__ == "__main__":
    sys.exit(main())
