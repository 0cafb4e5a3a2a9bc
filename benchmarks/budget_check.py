"""Does the grid's step budget decide a result? Train the grid's cells again with a larger budget and
compare them with the grid's own runs, paired by seed.

    python benchmarks/budget_check.py --checkpoint ../shared/models/all-MiniLM-L6-v2 --data ../shared/data/sst2 \\
        --cells ulmfit:10000,head:1000,top-2:3000 --out course_utils/assets/results/budget_check_cpu_minilm.json

Pick the cells whose final runs were still improving at their last step (``results.at_last_step``: notebook 9
lists them). Each cell trains at the value the grid chose, with every seed of the grid, under
``grid.budget(..., scale=factor)``: ``--factor`` times its epochs, least and most steps (``--factor 2``
doubles the budget at every size); everything else (tuning slice, evaluations, early stopping, the kept
checkpoint) is the grid's protocol. ``results.budget_check`` compares the two. The file is written
after every run (atomically) and resumed. Two processes can share the work: give each its own
``--cells`` and ``--out``, then ``--merge``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: What must match the grid for a check to be comparable with it.
SAME_AS_GRID = ("checkpoint", "data", "seeds", "tuning_sentences", "batch_size", "max_length")


def parse_cells(text: str) -> list[tuple[str, int]]:
    """``"ulmfit:10000,head:1000"`` as ``[("ulmfit", 10000), ("head", 1000)]``.

    >>> parse_cells("ulmfit:10000, head:1000")
    [('ulmfit', 10000), ('head', 1000)]
    """
    cells = []
    for item in (i.strip() for i in text.split(",") if i.strip()):
        strategy, _, size = item.partition(":")
        if not size.isdigit():
            raise SystemExit(f"--cells: {item!r} is not STRATEGY:SIZE; write e.g. ulmfit:10000,head:1000.")
        cells.append((strategy, int(size)))
    if not cells:
        raise SystemExit("--cells is empty: write e.g. ulmfit:10000,head:1000.")
    return cells


def merge(paths: list[Path], out: Path) -> int:
    from course_utils import files
    from course_utils.grid import check_runs_once

    parts = [files.read_json(p, "The budget check") for p in paths]
    for path, part in zip(paths[1:], parts[1:]):
        differ = [k for k in (*SAME_AS_GRID, "grid", "factor") if part.get(k) != parts[0].get(k)]
        if differ:
            raise SystemExit(f"{path} checked another grid or factor than {paths[0]} ({', '.join(differ)} differ).")
    try:
        check_runs_once(list(zip(paths, parts)))
    except ValueError as error:
        raise SystemExit(str(error)) from None
    merged = {**parts[0], "cells": [c for p in parts for c in p["cells"]],
              "runs": [r for p in parts for r in p["runs"]], "seconds": sum(p.get("seconds", 0) for p in parts)}
    files.write_json(out, merged)
    print(f"merged {len(merged['runs'])} runs of {len(merged['cells'])} cells into {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from course_utils import files, grid, results
    from course_utils.notebook import device_record, library_versions, quiet_libraries
    from course_utils.settings import get_settings
    from course_utils.strategies import LINEAR, check_strategy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="the grid's checkpoint folder or Hub id")
    parser.add_argument("--data", help="the grid's SST-2 folder, 'hub' or 'sample'")
    parser.add_argument("--grid", default="strategies_cpu_minilm", help="the grid's results file (its name)")
    parser.add_argument("--cells", default="", help="STRATEGY:SIZE pairs, e.g. ulmfit:10000,head:1000")
    parser.add_argument("--factor", type=int, default=2, help="how many times the grid's budget (2 or more)")
    parser.add_argument("--profile", default="cpu", help="the profile whose batch size and max length the grid used")
    parser.add_argument("--threads", type=int, help="torch threads (two processes on two cores: 1 each)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--merge", type=Path, nargs="+", help="combine these checks into --out, then stop")
    args = parser.parse_args(argv)
    if args.merge:
        return merge(args.merge, args.out)
    if not (args.checkpoint and args.data):
        parser.error("--checkpoint and --data are needed: the grid's own")
    if args.factor < 2:
        parser.error(f"--factor={args.factor}: give 2 or more (the grid itself ran with 1)")
    the_grid = results.read_results(args.grid)
    cells = parse_cells(args.cells)
    for strategy, size in cells:
        check_strategy(strategy)
        if strategy in LINEAR:
            raise SystemExit(f"--cells: {strategy} is a logistic regression, which has no step budget.")
        if str(size) not in the_grid["chosen"].get(strategy, {}):
            raise SystemExit(f"--cells: the grid {args.grid} has no chosen value for {strategy} at {size}; "
                             f"its sizes are {the_grid['sizes']}.")
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    quiet_libraries()
    settings = get_settings(args.profile, env={}, checkpoint=args.checkpoint, data=args.data)
    here = {"checkpoint": settings.checkpoint_name, "data": settings.data_name, "seeds": the_grid["seeds"],
            "tuning_sentences": the_grid["tuning_sentences"], "batch_size": settings.batch_size,
            "max_length": settings.max_length}
    differ = [k for k in SAME_AS_GRID if here[k] != the_grid[k]]
    if differ:
        raise SystemExit(f"This run would differ from the grid in {', '.join(differ)} "
                         f"({', '.join(f'{k}: {here[k]!r} vs {the_grid[k]!r}' for k in differ)}): "
                         f"give the grid's --checkpoint, --data and --profile.")
    record = files.read_json(args.out, "The budget check") if args.out.exists() else {}
    if record and (record.get("grid"), record.get("factor")) != (args.grid, args.factor):
        raise SystemExit(f"{args.out} holds a check of {record.get('grid')} at factor {record.get('factor')}: "
                         f"give another --out, or delete the file to start again.")
    known = [tuple(c) for c in record.get("cells", [])]
    record.update(here, grid=args.grid, factor=args.factor, device=device_record(), versions=library_versions(),
                  cells=[list(c) for c in dict.fromkeys(known + cells)])
    record.setdefault("runs", [])
    done = {grid.run_key(r) for r in record["runs"]}
    bench = grid.prepare(settings, the_grid["tuning_sentences"])
    started, before = time.perf_counter(), record.get("seconds", 0)
    for strategy, size in cells:
        value, plan = the_grid["chosen"][strategy][str(size)], grid.budget(size, settings.batch_size, scale=args.factor)
        for seed in the_grid["seeds"]:
            if (strategy, size, value, seed) in done:
                continue
            result = grid.run(strategy, bench, size, seed, value, plan=plan)
            record["runs"].append({"strategy": strategy, "size": size, "value": value, "seed": seed, **result})
            record["seconds"] = round(before + time.perf_counter() - started)
            files.write_json(args.out, record)
            print(f"{strategy:8} n={size:>6,} {value:g} seed {seed}: validation {result['validation']:.3f}, best at "
                  f"step {result['best_step']} of {result['max_steps']} ({result['seconds']:.0f} s)", flush=True)
    files.write_json(args.out, record)
    print(f"done: {args.out}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    raise SystemExit(main())
