"""The grid behind notebook 9: seven strategies × labelled-data sizes × seeds, each with its own tuned value.

    python benchmarks/strategies.py --checkpoint ../shared/models/all-MiniLM-L6-v2 --data ../shared/data/sst2 \\
        --out benchmarks/results/strategies_cpu_minilm.json

The protocol, the same for every strategy (``course_utils.strategies``):

1. A **tuning slice** of 1,000 sentences is carved from the training set; the other training
   sentences are the pool that every training subset is drawn from. The validation set is used
   for the final scores only.
2. **Sweep**: at each size up to ``--sweep-up-to``, each strategy trains on that size's subset
   (seed of the first run) once per value of its grid (``GRIDS``: learning rates, C for feature
   extraction) and is scored on the tuning slice; the best value is chosen. Larger sizes reuse
   the choice of the largest swept size (a sweep there costs as much as the grid itself).
3. **Runs**: each strategy, size and seed trains on a subset drawn with that seed (so the spread
   includes which sentences were labelled), with the chosen value, and is scored on validation.

Results go to ``--out`` after every run (atomically); ``--resume`` skips what is already there,
so an interrupted grid continues where it stopped. The notebook reads the file; ``tables.py``
renders the README table from it.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path


def parse_ints(text: str, what: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or min(values) < 1:
        raise SystemExit(f"--{what}={text!r}: give positive whole numbers separated by commas, e.g. 100,1000,10000.")
    return values


def save(path: Path, record: dict) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(record, indent=1) + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    from transformers import AutoTokenizer

    from course_utils import strategies as S
    from course_utils.data import load_sst2
    from course_utils.models import resolve_checkpoint
    from course_utils.settings import device_description, get_settings, library_versions, quiet_libraries
    from course_utils.training import tokenize

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="a checkpoint folder or Hub id (tiny-distilbert: smoke)")
    parser.add_argument("--data", required=True, help="an SST-2 folder, 'hub' or 'sample'")
    parser.add_argument("--sizes", default="100,1000,3000", help="labelled training sentences per run")
    parser.add_argument("--seeds", default="42,43,44")
    parser.add_argument("--strategies", default=",".join(S.STRATEGIES))
    parser.add_argument("--sweep-up-to", type=int, default=100, help="sizes above this reuse its choice")
    parser.add_argument("--tuning", type=int, default=1_000, help="sentences of the tuning slice")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--resume", action="store_true", help="keep the runs already in --out")
    args = parser.parse_args(argv)
    sizes, seeds = parse_ints(args.sizes, "sizes"), parse_ints(args.seeds, "seeds")
    chosen_strategies = [S.check_strategy(s.strip()) for s in args.strategies.split(",") if s.strip()]

    quiet_libraries()
    settings = get_settings("cpu", env={}, checkpoint=args.checkpoint, data=args.data)
    checkpoint = resolve_checkpoint(settings.checkpoint)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoded = tokenize(load_sst2(settings.data), tokenizer, settings.max_length)
    pool = encoded["train"].shuffle(seed=0)
    if pool.num_rows < args.tuning + max(sizes):
        raise SystemExit(f"The training set has {pool.num_rows:,} sentences: too few for a tuning slice of "
                         f"{args.tuning:,} and a subset of {max(sizes):,}. Lower --tuning or --sizes.")
    tuning, rest = pool.select(range(args.tuning)), pool.select(range(args.tuning, pool.num_rows))

    record = json.loads(args.out.read_text()) if args.resume and args.out.exists() else {}
    record.update({"device": device_description(), "checkpoint": settings.checkpoint_name,
                   "data": settings.data_name, "train_samples": max(sizes), "sizes": sizes, "seeds": seeds,
                   "tuning_sentences": args.tuning, "max_length": settings.max_length,
                   "batch_size": settings.batch_size, "grids": {s: list(S.GRIDS[s]) for s in chosen_strategies},
                   "versions": library_versions(), "protocol": __doc__.split("\n\n")[2]})
    record.setdefault("sweep", [])
    record.setdefault("results", [])
    done_sweep = {(r["strategy"], r["size"], r["value"]) for r in record["sweep"]}
    done_runs = {(r["strategy"], r["size"], r["seed"]) for r in record["results"]}

    def subset(size: int, seed: int):
        return rest.shuffle(seed=seed).select(range(size))

    started = time.perf_counter()
    chosen: dict[str, dict[str, float]] = {}
    for size in sizes:
        swept = size if size <= args.sweep_up_to else max(s for s in sizes if s <= args.sweep_up_to)
        for strategy in chosen_strategies:
            for value in S.GRIDS[strategy]:
                if size == swept and (strategy, size, value) not in done_sweep:
                    result = S.run(strategy, settings, checkpoint, tokenizer, subset(size, seeds[0]), tuning,
                                   value=value, seed=seeds[0])
                    result.pop("model")
                    record["sweep"].append({"strategy": strategy, "size": size, "value": value, **result})
                    save(args.out, record)
                    print(f"sweep {strategy:8} n={size:<6} {S.hyperparameter(strategy)} {value:g}: "
                          f"{result['accuracy']:.3f} ({result['seconds']:.0f} s)", flush=True)
            rows = [r for r in record["sweep"] if r["strategy"] == strategy and r["size"] == swept]
            chosen.setdefault(strategy, {})[str(size)] = max(rows, key=lambda r: r["accuracy"])["value"]
        record["chosen"] = chosen
        for strategy in chosen_strategies:
            for seed in seeds:
                if (strategy, size, seed) in done_runs:
                    continue
                value = chosen[strategy][str(size)]
                result = S.run(strategy, settings, checkpoint, tokenizer, subset(size, seed), encoded["validation"],
                               value=value, seed=seed)
                result.pop("model")
                record["results"].append({"name": f"{strategy} n={size}", "strategy": strategy, "size": size,
                                          "seed": seed, "value": value, **result})
                save(args.out, record)
                print(f"run   {strategy:8} n={size:<6} seed {seed}: {result['accuracy']:.3f} "
                      f"({result['seconds']:.0f} s)", flush=True)
    print(f"done in {(time.perf_counter() - started) / 60:.1f} min: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
