"""course_utils.metrics: the shipped evaluate modules (accuracy, F1) and the Trainer's compute_metrics."""

from __future__ import annotations

import gc

import evaluate
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from transformers import EvalPrediction

from course_utils.metrics import make_compute_metrics, metric_path


@pytest.fixture(autouse=True)
def _drop_failed_metrics():
    # A metric that raised keeps its cache-file lock until collected; the next one would wait for it.
    yield
    gc.collect(1)


@pytest.fixture(scope="module")
def accuracy():
    return evaluate.load(metric_path("accuracy"))


@pytest.fixture(scope="module")
def f1():
    return evaluate.load(metric_path("f1"))


def random_labels(n=300, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 2, n), rng.integers(0, 2, n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_same_numbers_as_sklearn(accuracy, f1, seed):
    predictions, references = random_labels(seed=seed)
    assert accuracy.compute(predictions=predictions, references=references)["accuracy"] == pytest.approx(
        accuracy_score(references, predictions))
    assert f1.compute(predictions=predictions, references=references)["f1"] == pytest.approx(
        f1_score(references, predictions))


def test_f1_of_the_negative_class_and_edge_cases(f1):
    predictions, references = random_labels(seed=3)
    assert f1.compute(predictions=predictions, references=references, pos_label=0)["f1"] == pytest.approx(
        f1_score(references, predictions, pos_label=0))
    assert f1.compute(predictions=[0, 0, 0], references=[0, 1, 1])["f1"] == 0.0


def test_add_batch_accumulates(accuracy):
    predictions, references = random_labels(n=100, seed=4)
    for start in range(0, 100, 30):
        accuracy.add_batch(predictions=predictions[start:start + 30], references=references[start:start + 30])
    assert accuracy.compute()["accuracy"] == pytest.approx(accuracy_score(references, predictions))


def test_integral_floats_count_as_ids(accuracy):
    assert accuracy.compute(predictions=np.array([1.0, 0.0]), references=[1, 1])["accuracy"] == 0.5


@pytest.mark.parametrize(("predictions", "words"), [
    ([0.1, 0.9, 0.8, 0.3], "argmax"),         # scores: evaluate alone would round them to class 0
    ([True, False, True, False], "booleans"),  # masks
    (["negative", "positive", "positive", "negative"], "label2id"),  # what pipeline() returns
    ([[0.2, 0.8]] * 4, "argmax"),              # logits
])
def test_wrong_kinds_of_predictions_raise(accuracy, f1, predictions, words):
    for metric in (accuracy, f1):
        with pytest.raises(ValueError, match=words):
            metric.compute(predictions=predictions, references=[0, 1, 1, 0])
    with pytest.raises(ValueError, match=words):
        accuracy.add_batch(predictions=predictions, references=[0, 1, 1, 0])


def test_hidden_test_labels_are_refused(accuracy):
    with pytest.raises(ValueError, match="validation split"):
        accuracy.compute(predictions=[0, 1], references=[-1, -1])


def test_unknown_metric_names_the_shipped_ones():
    with pytest.raises(ValueError, match="accuracy, f1"):
        metric_path("bleu")


def test_compute_metrics_scores_the_argmax():
    fn = make_compute_metrics()
    logits = np.array([[2.0, -1.0], [0.5, 1.5], [0.2, 0.1]])
    result = fn(EvalPrediction(predictions=logits, label_ids=np.array([0, 1, 1])))
    assert result == {"accuracy": pytest.approx(2 / 3), "f1": pytest.approx(2 / 3)}
    assert make_compute_metrics(["accuracy"])(EvalPrediction(predictions=(logits,), label_ids=np.array([0, 1, 1]))) == {
        "accuracy": pytest.approx(2 / 3)}


def test_compute_metrics_rejects_wrong_shapes_and_names():
    fn = make_compute_metrics(["accuracy"])
    with pytest.raises(ValueError, match="shape"):
        fn(EvalPrediction(predictions=np.zeros(3), label_ids=np.array([0, 1, 1])))
    with pytest.raises(ValueError, match="non-empty list"):
        make_compute_metrics("accuracy")
