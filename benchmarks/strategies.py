"""The grid behind notebooks 8 and 9: six pretrained strategies and two floors × labelled-data sizes × seeds.

    python benchmarks/strategies.py --checkpoint ../shared/models/all-MiniLM-L6-v2 --data ../shared/data/sst2 \\
        --out course_utils/assets/results/strategies_cpu_minilm.json

The protocol is :mod:`course_utils.grid`'s (its docstring, stored in the file). The file is written after
every run (atomically) and one with the same protocol is resumed, so an interrupted grid continues where it
stopped. Two processes can share the work: give each its own ``--sizes`` and ``--out``, then ``--merge``
the files. At the end ``results.check_grid``'s findings are printed; any of them makes the exit status 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What must match for a file to be resumed or merged: the rest (device, versions) may differ.
PROTOCOL_KEYS = ("checkpoint", "data", "seeds", "tuning_sentences", "batch_size", "max_length", "budget_rule",
                 "start", "llrd", "lora", "close")


def parse_list(text: str, what: str, kind=int) -> list:
    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or (kind is int and min(values) < 1):
        raise SystemExit(f"--{what}={text!r}: give values separated by commas, e.g. 100,1000,10000.")
    return values


def code_version() -> str:
    """The commit the grid ran from (and whether files differed from it)."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "course_utils", "benchmarks/strategies.py"],
                               cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + (" with uncommitted changes" if dirty else "")


def merged_device(devices: list) -> dict:
    """One device record for parts run side by side: the parts' (all alike), with how many parts.
    Early parts wrote a display string such as 'CPU (1 threads)': read it as data."""
    found = [d if isinstance(d, dict) else {"kind": "cpu", "name": "CPU", "threads": int(d.split("(")[1].split()[0])}
             for d in devices]
    if any(d != found[0] for d in found):
        raise SystemExit(f"The parts ran on different devices ({found}): merge only parts of one machine's grid.")
    return {**found[0], "processes": len(found)}


def in_order(strategies) -> list[str]:
    """Strategies in the course's order (notebook 9's table), unknown ones last."""
    from course_utils.strategies import STRATEGIES

    found = set(strategies)
    return [s for s in STRATEGIES if s in found] + sorted(found - set(STRATEGIES))


def merge(paths: list[Path], out: Path) -> int:
    from course_utils import files
    from course_utils.grid import check_runs_once

    parts = [files.read_json(p, "The grid file") for p in paths]
    first = parts[0]
    for path, part in zip(paths[1:], parts[1:]):
        differ = [k for k in PROTOCOL_KEYS if part.get(k) != first.get(k)]
        if differ:
            raise SystemExit(f"{path} ran another protocol than {paths[0]} ({', '.join(differ)} differ): "
                             f"merge only parts of one grid.")
    try:
        check_runs_once(list(zip(paths, parts)))
    except ValueError as error:
        raise SystemExit(str(error)) from None
    merged = dict(first, runs=[r for p in parts for r in p["runs"]],
                  strategies=in_order(s for p in parts for s in p["strategies"]),
                  sizes=sorted({s for p in parts for s in p["sizes"]}),
                  budgets={k: v for p in parts for k, v in p["budgets"].items()},
                  chosen={s: dict(sorted(((k, v) for p in parts for k, v in p["chosen"].get(s, {}).items()),
                                         key=lambda kv: int(kv[0])))
                          for s in in_order(s for p in parts for s in p["chosen"])},
                  seconds=round(sum(p.get("seconds", 0) for p in parts)),
                  code=sorted({p["code"] for p in parts}), device=merged_device([p["device"] for p in parts]))
    files.write_json(out, merged)
    print(f"merged {len(merged['runs'])} runs of sizes {merged['sizes']} into {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from course_utils import files, grid, results
    from course_utils import strategies as S
    from course_utils.notebook import device_record, library_versions, quiet_libraries
    from course_utils.settings import get_settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="a checkpoint folder or Hub id (tiny-distilbert: the tests)")
    parser.add_argument("--data", help="an SST-2 folder, 'hub' or 'sample'")
    parser.add_argument("--sizes", default="100,300,1000,3000,10000", help="labelled training sentences")
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--strategies", default=",".join(S.STRATEGIES))
    parser.add_argument("--tuning", type=int, default=1_000, help="sentences of the tuning slice")
    parser.add_argument("--profile", default="cpu", help="the profile whose batch size and max length to use")
    parser.add_argument("--threads", type=int, help="torch threads (two processes on two cores: 1 each)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--merge", type=Path, nargs="+", help="combine these grid files into --out, then stop")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)
    if not (args.checkpoint and args.data):
        parser.error("--checkpoint and --data are needed to run a grid")
    sizes, seeds = parse_list(args.sizes, "sizes"), parse_list(args.seeds, "seeds")
    chosen = [S.check_strategy(s.strip()) for s in args.strategies.split(",") if s.strip()]
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    quiet_libraries()
    settings = get_settings(args.profile, env={}, checkpoint=args.checkpoint, data=args.data)
    bench = grid.prepare(settings, args.tuning)
    protocol = {"checkpoint": settings.checkpoint_name, "data": settings.data_name, "seeds": seeds,
                "tuning_sentences": args.tuning, "batch_size": settings.batch_size, "max_length": settings.max_length,
                "budget_rule": grid.budget.__doc__.split("\n\n")[0].strip(), "start": S.START, "llrd": S.LLRD,
                "lora": S.LORA, "close": grid.CLOSE}
    record = files.read_json(args.out, "The grid file") if args.out.exists() else {}
    differ = [k for k in PROTOCOL_KEYS if record and record.get(k) != files.json_roundtrip(protocol[k])]
    if differ:
        raise SystemExit(f"{args.out} holds a grid with another protocol ({', '.join(differ)} differ). "
                         f"Give another --out, or delete the file to start again.")
    record.update(protocol, format=1, device=device_record(), versions=library_versions(),
                  code=code_version(), strategies=in_order(record.get("strategies", []) + chosen),
                  majority=bench.majority(),
                  sizes=sorted(set(record.get("sizes", [])) | set(sizes)),
                  protocol=grid.__doc__.split("**The protocol**")[1].split("Every network here")[0].strip())
    record["budgets"] = {**record.get("budgets", {}),
                         **{str(n): {**vars(grid.budget(n, settings.batch_size)),
                                     "floor": grid.budget(n, settings.batch_size).floor} for n in sizes}}
    started, before = time.perf_counter(), record.get("seconds", 0)

    def save(rec: dict) -> None:
        rec["seconds"] = round(before + time.perf_counter() - started)
        files.write_json(args.out, rec)

    grid.grid(bench, sizes, chosen, seeds, record, save, log=lambda line: print(line, flush=True))
    save(record)
    problems = results.check_grid(record)
    print(f"done in {(time.perf_counter() - started) / 60:.1f} min: {args.out}")
    for problem in problems:
        print("CHECK FAILED:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
