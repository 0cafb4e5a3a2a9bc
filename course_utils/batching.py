"""Length-grouped batches in random order: the order in which the course trains its sentences.

Batches of sentences of similar length waste little compute on padding (appendix A1 measures
it). The ``Trainer``'s ``train_sampling_strategy="group_by_length"`` forms such batches, but
serves the batches of each group from the longest sentences to the shortest, so every group
ends with several steps of very short phrases; on a short run that costs accuracy
(``benchmarks/README.md``). :func:`length_grouped_order` forms the same kind of batches and
serves them in random order. It returns an index order, which the plain ``Trainer`` follows::

    order = length_grouped_order(sentence_lengths(train), batch_size, seed=seed)
    args = TrainingArguments(..., per_device_train_batch_size=batch_size,
                             train_sampling_strategy="sequential")
    trainer = Trainer(model=model, args=args, train_dataset=train.select(order), ...)

``"sequential"`` makes the ``Trainer`` read the rows in the order given, and its data loader
cuts them into batches of ``batch_size``: exactly the batches of the order. Every epoch then
sees the same order; for several epochs, concatenate one order per epoch (different seeds).

Example: 6,400 sentences of 2 to 59 tokens in 200 batches of 32. The longest batch comes
first, then the others in random order; 98% of the tokens in the padded batches are real
(random batches: about 53%).

    >>> import numpy as np
    >>> lengths = np.random.default_rng(0).integers(2, 60, 6400).tolist()
    >>> order = length_grouped_order(lengths, 32, seed=0)
    >>> batches = [order[i:i + 32] for i in range(0, len(order), 32)]
    >>> [max(lengths[i] for i in batch) for batch in batches[:6]]
    [59, 28, 28, 55, 36, 22]
    >>> round(sum(lengths) / sum(len(b) * max(lengths[i] for i in b) for b in batches), 2)
    0.98
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

#: Batches per group, as in the ``Trainer`` (fewer on small data sets: at most a quarter of all batches).
GROUP_BATCHES = 50


def length_grouped_order(lengths: Sequence[int], batch_size: int, *, seed: int,
                         group_batches: int = GROUP_BATCHES) -> list[int]:
    """An order of the indices of ``lengths`` whose consecutive chunks of ``batch_size`` are
    batches of similar length, the batches in random order.

    1. shuffle all indices with ``seed``; 2. cut them into groups of ``group_batches`` batches
    (at most a quarter of all batches, at least one) and sort each group by length; 3. cut each
    group into batches; 4. shuffle the order of the full batches. The batch holding the longest
    sentence goes first, so a run that does not fit in memory fails at its first step. A last,
    smaller batch stays last, so a data loader that cuts the list into chunks of ``batch_size``
    gets exactly these batches.

    Args:
        lengths: the length of every sentence (tokens), in data set order
            (:func:`sentence_lengths` of a tokenized data set).
        batch_size: sentences per batch: ``per_device_train_batch_size`` (times
            ``gradient_accumulation_steps`` to group whole optimizer steps).
        seed: the same seed gives the same order.
        group_batches: batches per group.

    Returns:
        A list of indices holding every index once: ``train.select(order)``.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r}: a batch needs a whole number of sentences, at least 1; "
                         "use e.g. 32.")
    if isinstance(group_batches, bool) or not isinstance(group_batches, (int, np.integer)) or group_batches < 1:
        raise ValueError(f"group_batches={group_batches!r}: a group needs a whole number of batches, at least 1; "
                         "use e.g. 50.")
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or (lengths.size and not np.issubdtype(lengths.dtype, np.integer)):
        raise ValueError("lengths must be one whole number per sentence (tokens); "
                         "get them with sentence_lengths(tokenized_dataset).")
    n = len(lengths)
    if n == 0:
        return []
    rng = np.random.default_rng(seed)
    group = batch_size * max(1, min(group_batches, n // (batch_size * 4)))
    shuffled = rng.permutation(n)
    batches: list[np.ndarray] = []
    for start in range(0, n, group):
        members = shuffled[start:start + group]
        members = members[np.argsort(-lengths[members], kind="stable")]  # longest first within the group
        batches += [members[i:i + batch_size] for i in range(0, len(members), batch_size)]
    last = [batches.pop()] if len(batches[-1]) < batch_size else []
    batches = [batches[i] for i in rng.permutation(len(batches))]
    if batches:  # longest batch first (each batch is sorted, so its first sentence is its longest)
        longest = max(range(len(batches)), key=lambda b: lengths[batches[b][0]])
        batches[0], batches[longest] = batches[longest], batches[0]
    return [int(i) for batch in batches + last for i in batch]


def sentence_lengths(dataset, column: str = "input_ids") -> list[int]:
    """The number of tokens of every row of a tokenized data set (a ``datasets.Dataset`` or a list of dicts).

    >>> sentence_lengths([{"input_ids": [101, 2307, 102]}, {"input_ids": [101, 102]}])
    [3, 2]
    """
    names = getattr(dataset, "column_names", None)
    if names is not None:
        if column not in names:
            raise ValueError(f"The data set has no {column!r} column (it has {names}); tokenize it first, "
                             "e.g. with course_utils.training.tokenize.")
        return [len(ids) for ids in dataset[column]]
    if len(dataset) and column not in dataset[0]:
        raise ValueError(f"The data set's rows have no {column!r} (the first has {sorted(dataset[0])}); "
                         "tokenize the sentences first.")
    return [len(row[column]) for row in dataset]
