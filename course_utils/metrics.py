"""Metrics: accuracy and F1 as ``evaluate`` metrics that also work offline, and a Trainer hook.

``evaluate.load("accuracy")`` downloads the metric's code from the Hugging Face Hub on first
use, so it fails without a connection. The classes below are ordinary ``evaluate.Metric``
subclasses: same interface (``compute``, ``add_batch``, ``evaluate.combine``), same numbers,
no download. :func:`load_metric` picks one explicitly; it never switches source by itself.

Example:
    >>> load_metric("accuracy").compute(predictions=[0, 1, 0], references=[0, 0, 1])
    {'accuracy': 0.3333333333333333}
"""

from __future__ import annotations

from typing import Callable, Sequence

import datasets
import evaluate
import numpy as np

_FEATURES = datasets.Features({"predictions": datasets.Value("int64"), "references": datasets.Value("int64")})


def _check(predictions: Sequence[int], references: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    predictions, references = np.asarray(predictions), np.asarray(references)
    if len(references) == 0:
        raise ValueError("No references to score: pass at least one prediction and its reference label.")
    if (references < 0).any():
        raise ValueError(
            "Some references are -1, the hidden label of the SST-2 test split. "
            "Score on the validation split instead; test labels are only known to the GLUE server."
        )
    return predictions, references


class Accuracy(evaluate.Metric):
    """Share of predictions equal to their reference (same as ``evaluate.load("accuracy")``)."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="Accuracy: the share of predictions equal to the reference label.",
            citation="",
            inputs_description="predictions and references: lists of integer class ids.",
            features=_FEATURES,
        )

    def _compute(self, predictions, references) -> dict[str, float]:
        predictions, references = _check(predictions, references)
        return {"accuracy": float((predictions == references).mean())}


class F1(evaluate.Metric):
    """F1 score of the positive class (label 1), as ``evaluate.load("f1")`` computes it by default."""

    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            description="F1: harmonic mean of precision and recall for the positive class.",
            citation="",
            inputs_description="predictions and references: lists of integer class ids (1 = positive).",
            features=_FEATURES,
        )

    def _compute(self, predictions, references, pos_label: int = 1) -> dict[str, float]:
        predictions, references = _check(predictions, references)
        tp = int(((predictions == pos_label) & (references == pos_label)).sum())
        fp = int(((predictions == pos_label) & (references != pos_label)).sum())
        fn = int(((predictions != pos_label) & (references == pos_label)).sum())
        return {"f1": 2 * tp / (2 * tp + fp + fn) if tp else 0.0}


LOCAL_METRICS: dict[str, type[evaluate.Metric]] = {"accuracy": Accuracy, "f1": F1}


def load_metric(name: str, source: str = "local") -> evaluate.Metric:
    """An ``evaluate`` metric by name.

    Args:
        name: ``"accuracy"`` or ``"f1"``.
        source: ``"local"`` (this module, works offline) or ``"hub"`` (``evaluate.load``,
            downloads the metric script; needs the Hub).
    """
    if source == "hub":
        return evaluate.load(name)
    if source != "local":
        raise ValueError(f"Unknown metric source {source!r}: use 'local' (offline) or 'hub' (evaluate.load).")
    if name not in LOCAL_METRICS:
        raise ValueError(
            f"No local metric named {name!r}. Local metrics: {', '.join(LOCAL_METRICS)}; "
            f"for others use load_metric({name!r}, source='hub') with Hub access."
        )
    return LOCAL_METRICS[name]()


def compute_metrics_factory(names: Sequence[str] = ("accuracy", "f1"), source: str = "local") -> Callable:
    """Build the ``compute_metrics`` function a ``Trainer`` calls after each evaluation.

    The Trainer passes an ``EvalPrediction`` whose ``predictions`` are logits of shape
    ``(n, num_labels)``; the predicted class is the argmax.

    Example:
        >>> import numpy as np
        >>> from transformers import EvalPrediction
        >>> fn = compute_metrics_factory()
        >>> fn(EvalPrediction(predictions=np.array([[2.0, 1.0], [0.0, 3.0]]), label_ids=np.array([0, 0])))
        {'accuracy': 0.5, 'f1': 0.0}
    """
    metric = evaluate.combine([load_metric(n, source) for n in names])

    def compute_metrics(eval_pred) -> dict[str, float]:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        if isinstance(logits, tuple):
            logits = logits[0]
        logits = np.asarray(logits)
        if logits.ndim != 2 or len(logits) != len(labels):
            raise ValueError(
                f"compute_metrics expected logits of shape (n, num_labels) for n={len(labels)} labels, "
                f"got shape {logits.shape}. Check that the model is a sequence classifier."
            )
        return metric.compute(predictions=logits.argmax(axis=-1), references=labels)

    return compute_metrics
