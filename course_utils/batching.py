"""Length-grouped batches in random order: how the course's recipe orders its training batches.

Grouping sentences of similar length into a batch saves the compute padding would waste
(notebook 3). The ``Trainer``'s own ``train_sampling_strategy="group_by_length"`` does it by
shuffling the data, cutting it into groups of 50 batches and sorting each group from the
longest sentence to the shortest, and it serves the batches in that order. So within every
group the batches run from long to short, and the last steps of each group see only very
short phrases. On a short run that costs accuracy. Fine-tuning all-MiniLM-L6-v2 on SST-2, three
seeds each: 0.797 against 0.818 in random order on 4,000 sentences, 0.867 against 0.871 on
24,000 (notebook 5, section 5.9; ``benchmarks/README.md``).

This module forms batches the same way and serves them in **random order**. Each batch still
holds sentences of similar length, so padding stays as low, and the speed stays the same.
:class:`LengthGroupedTrainer` is a ``Trainer`` that does this whenever its arguments ask for
``train_sampling_strategy="group_by_length"``; nothing else about the ``Trainer`` changes.

Example: 6,400 sentences of 2 to 59 tokens in 200 batches of 32. The longest batch comes
first, then the others in random order; 98% of the tokens in the padded batches are real
(random batches: about 53%).

    >>> import torch
    >>> g = torch.Generator().manual_seed(0)
    >>> lengths = torch.randint(2, 60, (6400,), generator=g).tolist()
    >>> batches = length_grouped_batches(lengths, batch_size=32, generator=g)
    >>> [max(lengths[i] for i in batch) for batch in batches[:8]]
    [59, 26, 45, 22, 9, 58, 46, 36]
    >>> round(sum(lengths) / sum(len(batch) * max(lengths[i] for i in batch) for batch in batches), 2)
    0.98
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler
from transformers import Trainer

# The Trainer groups 50 batches at a time (fewer on small datasets), and so does the course.
GROUP_BATCHES = 50


def _check_sizes(batch_size: int, group_batches: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size={batch_size}: a batch needs at least one sentence; use e.g. 32.")
    if group_batches < 1:
        raise ValueError(f"group_batches={group_batches}: a group needs at least one batch; use e.g. 50.")


def length_grouped_batches(lengths: Sequence[int], batch_size: int, *, group_batches: int = GROUP_BATCHES,
                           generator: torch.Generator | None = None) -> list[list[int]]:
    """Indices of ``lengths`` cut into batches of similar length, the batches in random order.

    1. shuffle all indices; 2. cut them into groups of ``group_batches`` batches and sort each
    group by length; 3. cut the groups into batches; 4. shuffle the order of the full batches.
    The batch holding the longest sentence goes first, so a run that does not fit in memory
    fails at its first step, as with the ``Trainer``'s sampler. A last, smaller batch stays
    last: the ``DataLoader`` cuts the index list into batches of ``batch_size`` itself.

    Args:
        lengths: the length of every sentence (number of tokens), in dataset order.
        batch_size: sentences per batch.
        group_batches: batches per group; at most a quarter of all batches, as in the Trainer.
        generator: a seeded ``torch.Generator`` for a fixed order; ``None`` uses torch's global
            random state, which the ``Trainer`` seeds with ``args.seed``.
    """
    _check_sizes(batch_size, group_batches)
    n = len(lengths)
    if n == 0:
        return []
    group = batch_size * max(1, min(group_batches, n // (batch_size * 4)))
    order = torch.randperm(n, generator=generator).tolist()
    batches: list[list[int]] = []
    for start in range(0, n, group):
        members = sorted(order[start:start + group], key=lambda i: lengths[i], reverse=True)
        batches += [members[i:i + batch_size] for i in range(0, len(members), batch_size)]
    last = [batches.pop()] if len(batches[-1]) < batch_size else []
    batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    if batches:  # longest batch first (each batch is sorted, so its first sentence is its longest)
        longest = max(range(len(batches)), key=lambda b: lengths[batches[b][0]])
        batches[0], batches[longest] = batches[longest], batches[0]
    return batches + last


class ShuffledLengthGroupedSampler(Sampler[int]):
    """A sampler that yields the indices of :func:`length_grouped_batches`, batch after batch.

    Each pass (epoch) draws new groups and a new order from torch's random state.

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> sorted(ShuffledLengthGroupedSampler([3, 1, 2, 5], batch_size=2))
        [0, 1, 2, 3]
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, group_batches: int = GROUP_BATCHES,
                 generator: torch.Generator | None = None):
        _check_sizes(batch_size, group_batches)  # here, not at the first epoch
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.group_batches = group_batches
        self.generator = generator

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        for batch in length_grouped_batches(self.lengths, self.batch_size, group_batches=self.group_batches,
                                            generator=self.generator):
            yield from batch


def sentence_lengths(dataset, column: str = "input_ids") -> list[int]:
    """The number of tokens of every row of a tokenized dataset (a ``datasets.Dataset`` or a list of dicts).

    >>> sentence_lengths([{"input_ids": [101, 2307, 102]}, {"input_ids": [101, 102]}])
    [3, 2]
    """
    names = getattr(dataset, "column_names", None)
    if names is not None:
        if column not in names:
            raise ValueError(f"The dataset has no {column!r} column (it has {names}); tokenize it first, "
                             "e.g. with course_utils.training.tokenize_dataset.")
        return [len(ids) for ids in dataset[column]]
    if len(dataset) and column not in dataset[0]:
        raise ValueError(f"The dataset's rows have no {column!r} (the first has {sorted(dataset[0])}); "
                         "tokenize the sentences first.")
    return [len(row[column]) for row in dataset]


class LengthGroupedTrainer(Trainer):
    """A ``Trainer`` that serves its length-grouped batches in random order.

    With ``train_sampling_strategy="group_by_length"`` it uses :class:`ShuffledLengthGroupedSampler`
    instead of the ``Trainer``'s long-to-short order; with any other strategy, and for evaluation,
    it is the plain ``Trainer``. It is called exactly like one::

        trainer = LengthGroupedTrainer(model=model, args=args, train_dataset=train, ...)
    """

    def _get_train_sampler(self, train_dataset=None):
        dataset = self.train_dataset if train_dataset is None else train_dataset
        if self.args.train_sampling_strategy != "group_by_length" or dataset is None or not hasattr(dataset, "__len__"):
            return super()._get_train_sampler(train_dataset)
        names = getattr(dataset, "column_names", None) or []
        lengths = (list(dataset[self.args.length_column_name]) if self.args.length_column_name in names
                   else sentence_lengths(dataset))
        # One optimizer step's sentences form one group of similar length.
        return ShuffledLengthGroupedSampler(lengths, self.args.train_batch_size * self.args.gradient_accumulation_steps)
