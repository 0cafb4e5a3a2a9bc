"""course_utils.batching: an index order of length-grouped batches in random order, and the plain
Trainer following it with train_sampling_strategy="sequential"."""

from __future__ import annotations

import numpy as np
import pytest

from course_utils.batching import length_grouped_order, sentence_lengths


def _lengths(n: int, seed: int = 0) -> list[int]:
    """SST-2-like lengths: many short phrases, some long sentences."""
    rng = np.random.default_rng(seed)
    return np.clip(rng.lognormal(2.3, 0.8, n).astype(int) + 3, 3, 64).tolist()


def _batches(order: list[int], batch_size: int) -> list[list[int]]:
    """What a data loader makes of the flat order: consecutive chunks of batch_size."""
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def _widths(lengths, batches) -> list[int]:
    return [max(lengths[i] for i in b) for b in batches]


def _real_share(lengths, batches) -> float:
    """Share of the padded batches' tokens that are real tokens."""
    padded = sum(len(b) * w for b, w in zip(batches, _widths(lengths, batches)))
    return sum(lengths[i] for b in batches for i in b) / padded


@pytest.mark.parametrize("n, batch", [(1, 32), (31, 32), (32, 32), (1000, 32), (6400, 32), (6417, 64), (100, 1)])
def test_every_index_once_in_full_batches_and_a_short_last_batch(n, batch):
    lengths = _lengths(n)
    order = length_grouped_order(lengths, batch, seed=1)
    assert sorted(order) == list(range(n))
    batches = _batches(order, batch)
    assert all(len(b) == batch for b in batches[:-1])
    assert len(batches[-1]) == (n % batch or batch)


def test_no_sentences_no_order():
    assert length_grouped_order([], 32, seed=0) == []


def test_batches_hold_similar_lengths():
    lengths = _lengths(6400)
    grouped = _batches(length_grouped_order(lengths, 32, seed=0), 32)
    random = _batches(list(range(6400)), 32)  # the lengths are already in random order
    assert _real_share(lengths, grouped) > 0.9
    assert _real_share(lengths, random) < 0.6


def test_group_batches_sets_how_fine_the_grouping_is():
    lengths = _lengths(6400)
    shares = [_real_share(lengths, _batches(length_grouped_order(lengths, 32, seed=0, group_batches=g), 32))
              for g in (1, 5, 50)]
    assert shares[0] < 0.6  # one batch per group: random batches, each merely sorted inside
    assert shares[0] < shares[1] < shares[2]


def test_longest_batch_first():
    for seed in range(5):
        lengths = _lengths(6400, seed=seed)
        batches = _batches(length_grouped_order(lengths, 32, seed=seed), 32)
        assert _widths(lengths, batches)[0] == max(lengths)


def test_the_same_seed_repeats_the_order_and_other_seeds_change_it():
    lengths = _lengths(3200)
    assert length_grouped_order(lengths, 32, seed=7) == length_grouped_order(lengths, 32, seed=7)
    assert length_grouped_order(lengths, 32, seed=7) != length_grouped_order(lengths, 32, seed=8)


def test_batches_are_not_served_long_to_short_within_groups():
    """The point of the function: the Trainer's group_by_length order runs each group of 50 batches from
    long to short (widths never grow); here any width can follow any other."""
    lengths = _lengths(32 * 500)
    widths = np.array(_widths(lengths, _batches(length_grouped_order(lengths, 32, seed=0), 32)))
    groups = widths[1:451].reshape(9, 50)  # after the longest batch, 9 windows of 50 batches
    assert not any(np.all(np.diff(g) <= 0) for g in groups)
    rising = np.mean(np.diff(widths[1:]) > 0)
    assert 0.35 < rising < 0.65  # about as many steps up as down
    tails = np.mean([widths[1:][s + 45:s + 50].mean() for s in range(0, 450, 50)])
    assert 0.7 < tails / widths.mean() < 1.3  # no group ends on a run of short phrases


@pytest.mark.parametrize("kwargs, words", [
    (dict(lengths=[3, 4, 5], batch_size=0), ["batch_size=0", "e.g. 32"]),
    (dict(lengths=[3, 4, 5], batch_size=2.5), ["batch_size=2.5", "whole number"]),
    (dict(lengths=[3, 4, 5], batch_size=32, group_batches=0), ["group_batches=0", "e.g. 50"]),
    (dict(lengths=[3.5, 4.0], batch_size=32), ["lengths", "sentence_lengths"]),
    (dict(lengths=[[3, 4], [5, 6]], batch_size=32), ["lengths", "one whole number per sentence"]),
])
def test_bad_input_says_what_to_use(kwargs, words):
    with pytest.raises(ValueError) as error:
        length_grouped_order(seed=0, **kwargs)
    assert all(w in str(error.value) for w in words), str(error.value)


# ---------------------------------------------------------------------------------------
# Tokenized data and the plain Trainer


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The tiny model's tokenizer and classifier, and the tokenized SST-2 sample."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from course_utils.data import load_sst2
    from course_utils.models import resolve_checkpoint
    from course_utils.training import tokenize

    checkpoint = resolve_checkpoint("tiny-distilbert")
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=2)
    raw = load_sst2("sample")
    encoded = tokenize(raw, tokenizer, max_length=64)
    return tokenizer, model, raw, encoded


def test_sentence_lengths_of_datasets_and_lists(tiny):
    _, _, _, encoded = tiny
    lengths = sentence_lengths(encoded["validation"])
    assert lengths == [len(row["input_ids"]) for row in encoded["validation"]]
    assert sentence_lengths(encoded["validation"].to_list()) == lengths
    assert sentence_lengths([]) == []


def test_sentence_lengths_of_untokenized_data_says_to_tokenize(tiny):
    _, _, raw, _ = tiny
    with pytest.raises(ValueError, match="no 'input_ids' column.*tokenize"):
        sentence_lengths(raw["train"])
    with pytest.raises(ValueError, match="rows have no 'input_ids'.*tokenize"):
        sentence_lengths([{"sentence": "fine"}])


def _trainer_batches(tiny, tmp_path, train, strategy: str, batch_size: int) -> list[dict]:
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    tokenizer, model, _, _ = tiny
    args = TrainingArguments(output_dir=str(tmp_path), per_device_train_batch_size=batch_size,
                             train_sampling_strategy=strategy, report_to="none", seed=0, dataloader_pin_memory=False)
    trainer = Trainer(model=model, args=args, train_dataset=train, processing_class=tokenizer,
                      data_collator=DataCollatorWithPadding(tokenizer))
    return list(trainer.get_train_dataloader())


def test_the_trainer_with_sequential_sampling_serves_exactly_these_batches(tiny, tmp_path):
    _, _, _, encoded = tiny
    train, batch = encoded["train"], 32
    lengths = sentence_lengths(train)
    order = length_grouped_order(lengths, batch, seed=42)
    served = _trainer_batches(tiny, tmp_path, train.select(order), "sequential", batch)

    expected = _batches(order, batch)
    assert len(served) == len(expected) and train.num_rows % batch  # the sample ends with a short batch
    ids = train["input_ids"]
    for got, want in zip(served, expected):
        rows = [row[mask.bool()].tolist() for row, mask in zip(got["input_ids"], got["attention_mask"])]
        assert rows == [ids[i] for i in want]
        assert got["input_ids"].shape[1] == max(lengths[i] for i in want)  # padded to its longest sentence only
    assert served[0]["input_ids"].shape[1] == max(lengths)


def test_the_trainers_own_group_by_length_runs_long_to_short_and_ours_does_not(tiny, tmp_path):
    """Seen through the public API only: the widths of the batches each data loader serves."""
    _, _, _, encoded = tiny
    train, batch = encoded["train"], 32
    group = min(50, train.num_rows // (batch * 4))  # the Trainer's group size on this small data set
    theirs = [b["input_ids"].shape[1] for b in _trainer_batches(tiny, tmp_path, train, "group_by_length", batch)]
    order = length_grouped_order(sentence_lengths(train), batch, seed=42)
    ours = [b["input_ids"].shape[1] for b in _trainer_batches(tiny, tmp_path, train.select(order), "sequential", batch)]
    windows = range(0, len(theirs) - group + 1, group)
    assert all(np.all(np.diff(theirs[s + 1:s + group]) <= 0) for s in windows)  # long to short (bar the swapped first)
    assert not any(np.all(np.diff(ours[s + 1:s + group]) <= 0) for s in windows)
