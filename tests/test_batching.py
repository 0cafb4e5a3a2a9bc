"""course_utils.batching: length-grouped batches in random order, and the Trainer that uses them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import RandomSampler
from transformers import Trainer
from transformers.trainer_pt_utils import get_length_grouped_indices

from course_utils.batching import (
    LengthGroupedTrainer, ShuffledLengthGroupedSampler, length_grouped_batches, sentence_lengths,
)
from course_utils.settings import get_settings
from course_utils.training import data_collator, fast_training_args, old_notebook_args, tokenize_dataset


def _lengths(n: int, seed: int = 0) -> list[int]:
    """SST-2-like lengths: many short phrases, some long sentences."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(2.3, 0.8, n).astype(int) + 3, 3, 64).tolist()


def _padded_share(lengths, batches) -> float:
    """Share of the padded batches' tokens that are real tokens."""
    return sum(lengths) / sum(len(b) * max(lengths[i] for i in b) for b in batches)


@pytest.mark.parametrize("n, batch", [(1, 32), (31, 32), (32, 32), (1000, 32), (6400, 32), (6417, 64), (100, 1)])
def test_every_sentence_once_in_full_batches_with_a_short_last_batch(n, batch):
    batches = length_grouped_batches(_lengths(n), batch, generator=torch.Generator().manual_seed(1))
    assert sorted(i for b in batches for i in b) == list(range(n))
    assert all(len(b) == batch for b in batches[:-1])
    assert len(batches[-1]) == (n % batch or batch)  # the DataLoader cuts the flat list: a short batch must be last


def test_no_sentences_no_batches():
    assert length_grouped_batches([], 32) == []


def test_batches_hold_similar_lengths():
    lengths = _lengths(6400)
    grouped = length_grouped_batches(lengths, 32, generator=torch.Generator().manual_seed(0))
    random = [list(range(i, i + 32)) for i in range(0, 6400, 32)]  # the lengths are already in random order
    assert _padded_share(lengths, grouped) > 0.9
    assert _padded_share(lengths, random) < 0.6


def test_longest_batch_first():
    lengths = _lengths(6400, seed=3)
    batches = length_grouped_batches(lengths, 32, generator=torch.Generator().manual_seed(0))
    assert max(lengths[i] for i in batches[0]) == max(lengths)


def _tail_share(lengths, batches, group=50, tail=5) -> float:
    """Mean length in the last `tail` batches of every group of `group` batches, over the mean length."""
    tails = [i for start in range(0, len(batches) - group + 1, group) for b in batches[start + group - tail:start + group]
             for i in b]
    return float(np.mean([lengths[i] for i in tails]) / np.mean(lengths))


def test_batch_order_is_random_not_long_to_short():
    """The point of the module: the Trainer's order ends every group with the shortest phrases."""
    lengths = _lengths(32 * 500)
    ours = length_grouped_batches(lengths, 32, generator=torch.Generator().manual_seed(0))
    flat = get_length_grouped_indices(lengths, 32, generator=torch.Generator().manual_seed(0))
    trainers = [flat[i:i + 32] for i in range(0, len(flat), 32)]
    assert _padded_share(lengths, ours) == pytest.approx(_padded_share(lengths, trainers), abs=0.01)  # same padding
    assert _tail_share(lengths, trainers) < 0.5  # the Trainer's: each group's last batches are its shortest
    assert 0.75 < _tail_share(lengths, ours) < 1.25  # ours: any length anywhere


def test_seeded_generator_repeats_the_order_and_other_seeds_change_it():
    lengths = _lengths(3200)
    run = [length_grouped_batches(lengths, 32, generator=torch.Generator().manual_seed(s)) for s in (7, 7, 8)]
    assert run[0] == run[1]
    assert run[0] != run[2]


def test_sampler_yields_the_batches_and_draws_a_new_order_each_pass():
    lengths = _lengths(640)
    torch.manual_seed(0)
    first, second = list(ShuffledLengthGroupedSampler(lengths, 32)), list(ShuffledLengthGroupedSampler(lengths, 32))
    assert len(ShuffledLengthGroupedSampler(lengths, 32)) == 640
    assert sorted(first) == sorted(second) == list(range(640))
    assert first != second  # torch's random state moved on: a new epoch, a new order
    torch.manual_seed(0)
    assert list(ShuffledLengthGroupedSampler(lengths, 32)) == first  # ... and the seed fixes it


@pytest.mark.parametrize("kwargs, words", [
    (dict(batch_size=0), ["batch_size=0", "e.g. 32"]),
    (dict(batch_size=32, group_batches=0), ["group_batches=0", "e.g. 50"]),
])
def test_bad_sizes_say_what_to_use(kwargs, words):
    with pytest.raises(ValueError) as error:
        length_grouped_batches([3, 4, 5], **kwargs)
    assert all(w in str(error.value) for w in words)
    with pytest.raises(ValueError) as error:  # the sampler says so when it is made, not at the first epoch
        ShuffledLengthGroupedSampler([3, 4, 5], **kwargs)
    assert all(w in str(error.value) for w in words)


def test_sentence_lengths_of_datasets_and_lists(sample, tiny_tokenizer):
    encoded = tokenize_dataset(sample, tiny_tokenizer, max_length=64)["validation"]
    lengths = sentence_lengths(encoded)
    assert lengths == [len(row["input_ids"]) for row in encoded]
    assert sentence_lengths(encoded.to_list()) == lengths
    assert sentence_lengths([]) == []


def test_sentence_lengths_of_untokenized_data_says_to_tokenize(sample):
    with pytest.raises(ValueError, match="no 'input_ids' column.*tokenize it first"):
        sentence_lengths(sample["train"])
    with pytest.raises(ValueError, match="rows have no 'input_ids'.*tokenize"):
        sentence_lengths([{"sentence": "fine"}])


# ---------------------------------------------------------------------------------------
# The Trainer


@pytest.fixture(scope="module")
def encoded_train(tiny_tokenizer):
    from course_utils.data import load_sst2

    return tokenize_dataset(load_sst2("sample"), tiny_tokenizer, max_length=64)["train"]


def _batch_widths(trainer) -> list[int]:
    return [batch["input_ids"].shape[1] for batch in trainer.get_train_dataloader()]


def test_trainer_serves_grouped_batches_in_random_order(tmp_path, tiny_model, tiny_tokenizer, encoded_train):
    settings = get_settings("smoke", env={}, batch_size=32)
    args = fast_training_args(tmp_path, settings, num_train_samples=encoded_train.num_rows, evaluations=0)
    kwargs = dict(model=tiny_model, args=args, train_dataset=encoded_train, processing_class=tiny_tokenizer,
                  data_collator=data_collator(tiny_tokenizer, device="cpu"))
    ours, theirs = LengthGroupedTrainer(**kwargs), Trainer(**kwargs)
    assert isinstance(ours._get_train_sampler(), ShuffledLengthGroupedSampler)

    lengths = sentence_lengths(encoded_train)
    widths = _batch_widths(ours)
    assert len(widths) == -(-encoded_train.num_rows // 32)
    assert widths[0] == max(lengths)  # the longest batch first
    real_share = sum(lengths) / sum(32 * w for w in widths)  # (the short last batch counted as full: a bound)
    assert real_share > 0.8  # grouped by length: little padding
    group = min(50, encoded_train.num_rows // (32 * 4))
    # The Trainer's own order: within each group, widths never grow (long to short); ours: random.
    assert all(np.all(np.diff(g[1:]) <= 0) for g in np.split(np.array(_batch_widths(theirs))[:group * 3], 3))
    assert not all(np.all(np.diff(g[1:]) <= 0) for g in np.split(np.array(widths)[:group * 3], 3))


def test_trainer_with_other_strategies_is_the_plain_trainer(tmp_path, tiny_model, tiny_tokenizer, encoded_train):
    trainer = LengthGroupedTrainer(model=tiny_model, args=old_notebook_args(tmp_path), train_dataset=encoded_train,
                                   processing_class=tiny_tokenizer)
    assert isinstance(trainer._get_train_sampler(), RandomSampler)


def test_trainer_uses_a_length_column_when_there_is_one(tmp_path, tiny_model, tiny_tokenizer, encoded_train):
    settings = get_settings("smoke", env={}, batch_size=32)
    with_length = encoded_train.map(lambda row: {"length": len(row["input_ids"])})
    trainer = LengthGroupedTrainer(model=tiny_model, train_dataset=with_length, processing_class=tiny_tokenizer,
                                   args=fast_training_args(tmp_path, settings, num_train_samples=with_length.num_rows,
                                                           evaluations=0))
    assert trainer._get_train_sampler().lengths == with_length["length"]
