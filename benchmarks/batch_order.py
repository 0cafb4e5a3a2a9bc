"""Experiment: length-grouped batches served in shuffled order instead of the Trainer's.

The Trainer's ``LengthGroupedSampler`` shuffles the data, cuts it into groups of 50 batches and
sorts each group from longest to shortest sentence, so within every group the batches run
from long to short: the last steps of each group see only very short phrases. This script
runs ``speed.py`` with one change: after grouping, the *batches* are put in random order (each
batch still holds sentences of similar length, so padding stays as low). Everything else,
arguments included, is passed to ``speed.py`` unchanged; compare its output with a plain
``speed.py`` run on the same arguments and seeds.

Example (the run in ``results/cpu_minilm_ladder_shuffled_groups_4000.*``)::

    python benchmarks/batch_order.py --checkpoint ../shared/models/all-MiniLM-L6-v2 --data ../shared/data/sst2 \\
        --samples 4000 --profile cpu --mode ladder --seeds 42,43,44
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import transformers.trainer_pt_utils as trainer_pt_utils

_trainer_order = trainer_pt_utils.get_length_grouped_indices


def shuffled_length_groups(lengths, batch_size, mega_batch_mult=None, generator=None) -> list[int]:
    """The Trainer's length-grouped order, with whole batches then put in random order."""
    indices = _trainer_order(lengths, batch_size, mega_batch_mult, generator)
    batches = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    order = torch.randperm(len(batches), generator=generator).tolist()
    return [i for b in order for i in batches[b]]


def main(argv: list[str] | None = None) -> int:
    # LengthGroupedSampler looks the function up in its module each time it iterates.
    trainer_pt_utils.get_length_grouped_indices = shuffled_length_groups
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # speed.py sits beside this file
    import speed
    print("batch order: length-grouped batches in shuffled order (benchmarks/batch_order.py)")
    return speed.main(argv)


if __name__ == "__main__":
    raise SystemExit(main())
