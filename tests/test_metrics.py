"""course_utils.metrics: the shipped evaluate modules (accuracy, F1) and the Trainer's compute_metrics."""

from __future__ import annotations

import evaluate
import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score
from transformers import EvalPrediction

from course_utils.metrics import make_compute_metrics, metric_path


@pytest.fixture(scope="module")
def metrics():
    return {name: evaluate.load(metric_path(name)) for name in ("accuracy", "f1")}


def test_same_numbers_as_sklearn(metrics):
    rng = np.random.default_rng(0)
    predictions, references = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    accuracy, f1 = metrics["accuracy"], metrics["f1"]
    assert accuracy.compute(predictions=predictions, references=references)["accuracy"] == pytest.approx(
        accuracy_score(references, predictions))
    for pos_label in (0, 1):
        assert f1.compute(predictions=predictions, references=references, pos_label=pos_label)["f1"] == pytest.approx(
            f1_score(references, predictions, pos_label=pos_label))
    for start in range(0, 300, 70):
        accuracy.add_batch(predictions=predictions[start:start + 70], references=references[start:start + 70])
    assert accuracy.compute()["accuracy"] == pytest.approx(accuracy_score(references, predictions))
    assert accuracy.compute(predictions=np.array([1.0, 0.0]), references=[1, 1])["accuracy"] == 0.5  # whole floats


@pytest.mark.parametrize(("predictions", "words"), [
    ([0.1, 0.9, 0.8, 0.3], "argmax"),         # scores: evaluate alone would round them to class 0
    ([True, False, True, False], "booleans"),  # masks
    (["negative", "positive", "positive", "negative"], "label2id"),  # what pipeline() returns
    ([[0.2, 0.8]] * 4, "argmax"),              # logits
])
def test_wrong_kinds_of_predictions_raise(metrics, predictions, words):
    for metric in metrics.values():
        with pytest.raises(ValueError, match=words):
            metric.compute(predictions=predictions, references=[0, 1, 1, 0])
    with pytest.raises(ValueError, match=words):
        metrics["accuracy"].add_batch(predictions=predictions, references=[0, 1, 1, 0])


@pytest.mark.parametrize(("predictions", "references", "words"), [
    ([0, 1], [-1, -1], "validation split"), ([], [], "No references"),
    ([0, 1, 1], [0, 1], "3 predictions for 2 references")])
def test_wrong_references_raise_before_evaluate_locks_its_cache(metrics, predictions, references, words, monkeypatch):
    monkeypatch.setattr(evaluate.Metric, "compute", lambda *args, **kwargs: pytest.fail("checked too late"))
    with pytest.raises(ValueError, match=words):
        metrics["accuracy"].compute(predictions=predictions, references=references)


def test_compute_metrics_scores_the_argmax():
    logits, labels = np.array([[2.0, -1.0], [0.5, 1.5], [0.2, 0.1]]), np.array([0, 1, 1])
    assert make_compute_metrics()(EvalPrediction(predictions=logits, label_ids=labels)) == {
        "accuracy": pytest.approx(2 / 3), "f1": pytest.approx(2 / 3)}
    assert make_compute_metrics(["accuracy"])(EvalPrediction(predictions=(logits,), label_ids=labels)) == {
        "accuracy": pytest.approx(2 / 3)}


def test_bad_metric_names_and_shapes():
    with pytest.raises(ValueError, match="accuracy, f1, not 'bleu'"):
        metric_path("bleu")
    with pytest.raises(ValueError, match="shape"):
        make_compute_metrics(["accuracy"])(EvalPrediction(predictions=np.zeros(3), label_ids=np.array([0, 1, 1])))
    with pytest.raises(ValueError, match="non-empty list"):
        make_compute_metrics("accuracy")
