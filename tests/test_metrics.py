"""course_utils.metrics: offline accuracy / F1 as evaluate metrics, and the Trainer's compute_metrics."""

from __future__ import annotations

import gc
import re

import evaluate
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from transformers import EvalPrediction

from course_utils.metrics import LOCAL_METRICS, compute_metrics_factory, load_metric


@pytest.fixture(autouse=True)
def _drop_failed_metrics():
    # An evaluate metric sits in a reference cycle and keeps its cache file lock until the garbage
    # collector frees it; after a compute() that raised, the next metric would wait 1 s for that lock.
    # A young-generation collection frees it at once (a full one would cost more than the wait).
    yield
    gc.collect(1)


def random_labels(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n), rng.integers(0, 2, n)


def test_old_notebook_toy_check():
    # The old notebook's check: 1 of 3 predictions is right.
    result = load_metric("accuracy").compute(predictions=[0, 1, 0], references=[0, 0, 1])
    assert result == {"accuracy": pytest.approx(1 / 3)}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_numbers_as_sklearn(seed):
    predictions, references = random_labels(seed=seed)
    assert load_metric("accuracy").compute(predictions=predictions, references=references)["accuracy"] == pytest.approx(
        accuracy_score(references, predictions))
    assert load_metric("f1").compute(predictions=predictions, references=references)["f1"] == pytest.approx(
        f1_score(references, predictions))


def test_f1_edge_cases_match_sklearn():
    cases = [([0, 0, 0], [0, 1, 1]), ([1, 1, 1], [0, 0, 0]), ([1, 0], [1, 0]), ([0, 0], [0, 0])]
    for predictions, references in cases:
        expected = f1_score(references, predictions, zero_division=0.0)
        assert load_metric("f1").compute(predictions=predictions, references=references)["f1"] == pytest.approx(expected)


def test_f1_of_the_negative_class():
    predictions, references = random_labels(seed=3)
    result = load_metric("f1").compute(predictions=predictions, references=references, pos_label=0)
    assert result["f1"] == pytest.approx(f1_score(references, predictions, pos_label=0))


def test_add_batch_accumulates():
    predictions, references = random_labels(n=100, seed=4)
    metric = load_metric("accuracy")
    for start in range(0, 100, 32):
        metric.add_batch(predictions=predictions[start:start + 32], references=references[start:start + 32])
    assert metric.compute()["accuracy"] == pytest.approx(float((predictions == references).mean()))


def test_works_with_evaluate_combine():
    predictions, references = random_labels(seed=5)
    combined = evaluate.combine([load_metric("accuracy"), load_metric("f1")])
    result = combined.compute(predictions=predictions, references=references)
    assert set(result) == {"accuracy", "f1"}
    assert result["accuracy"] == pytest.approx(accuracy_score(references, predictions))
    assert result["f1"] == pytest.approx(f1_score(references, predictions))


def test_local_metrics_are_evaluate_metrics():
    for name in LOCAL_METRICS:
        metric = load_metric(name)
        assert isinstance(metric, evaluate.Metric)
        assert metric.features  # declared inputs, like the Hub's metrics


@pytest.mark.parametrize("name", ["accuracy", "f1"])
def test_empty_references(name):
    with pytest.raises(ValueError, match=r"No references to score: pass at least one prediction and its reference label"):
        load_metric(name).compute(predictions=[], references=[])


@pytest.mark.parametrize("name", ["accuracy", "f1"])
def test_hidden_test_labels(name):
    with pytest.raises(ValueError, match=r"Some references are -1, the hidden label of the SST-2 test split\. Score on the validation split instead"):
        load_metric(name).compute(predictions=[0, 1, 1], references=[-1, -1, -1])


def test_unknown_metric_name():
    with pytest.raises(ValueError, match=r"No local metric named 'precision'\. Local metrics: accuracy, f1; "
                                         r"for others use load_metric\('precision', source='hub'\) with Hub access"):
        load_metric("precision")


def test_unknown_source():
    with pytest.raises(ValueError, match=r"Unknown metric source 'web': use 'local' \(offline\) or 'hub' \(evaluate\.load\)"):
        load_metric("accuracy", source="web")
    with pytest.raises(ValueError, match=r"Unknown metric source 'web'"):
        compute_metrics_factory(source="web")


def test_compute_metrics_uses_the_argmax_of_logits():
    rng = np.random.default_rng(6)
    logits = rng.normal(size=(50, 2))
    labels = rng.integers(0, 2, 50)
    predicted = (logits[:, 1] > logits[:, 0]).astype(int)
    result = compute_metrics_factory()(EvalPrediction(predictions=logits, label_ids=labels))
    assert result == {"accuracy": pytest.approx(accuracy_score(labels, predicted)), "f1": pytest.approx(f1_score(labels, predicted))}


def test_compute_metrics_accepts_a_tuple_and_picks_names():
    logits = np.array([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    labels = np.array([0, 1, 1])
    fn = compute_metrics_factory(["accuracy"])
    assert fn(EvalPrediction(predictions=(logits, np.zeros((3, 4))), label_ids=labels)) == {"accuracy": pytest.approx(2 / 3)}


@pytest.mark.parametrize("shape", [(3,), (2, 2), (4, 2), (3, 2, 1)])
def test_compute_metrics_with_wrongly_shaped_logits(shape):
    fn = compute_metrics_factory()
    with pytest.raises(ValueError, match=rf"compute_metrics expected logits of shape \(n, num_labels\) for n=3 labels, "
                                         rf"got shape {re.escape(str(shape))}\. Check that the model is a sequence classifier"):
        fn(EvalPrediction(predictions=np.zeros(shape), label_ids=np.array([0, 1, 1])))
