"""Accuracy and F1 as ``evaluate`` modules shipped with the course, and the Trainer's ``compute_metrics``.

``evaluate.load("accuracy")`` fetches the metric's code from the Hub; ``evaluate.load(metric_path("accuracy"))``
loads the same computation (scikit-learn underneath) from this package, offline.

Example:
    >>> import evaluate
    >>> evaluate.load(metric_path("accuracy")).compute(predictions=[0, 1, 0], references=[0, 0, 1])
    {'accuracy': 0.3333333333333333}
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

METRICS_DIR = Path(__file__).parent
NAMES = ("accuracy", "f1")


def metric_path(name: str) -> str:
    """The folder of the metric module ``name`` shipped with the course, for ``evaluate.load``.

    >>> Path(metric_path("f1")).name
    'f1'
    """
    if name not in NAMES:
        raise ValueError(f"The course ships the metrics {', '.join(NAMES)}, not {name!r}. "
                         f"For others, use evaluate.load({name!r}) on a machine that reaches the Hugging Face Hub.")
    return str(METRICS_DIR / name)


def make_compute_metrics(names: Sequence[str] = NAMES) -> Callable:
    """The ``compute_metrics`` notebook 5 writes by hand: the argmax of the logits scored with ``names``.

    >>> from transformers import EvalPrediction
    >>> fn = make_compute_metrics()
    >>> fn(EvalPrediction(predictions=np.array([[2.0, 1.0], [0.0, 3.0]]), label_ids=np.array([0, 0])))
    {'accuracy': 0.5, 'f1': 0.0}
    """
    import evaluate

    if isinstance(names, str) or not names:
        raise ValueError(f"names must be a non-empty list of metric names such as ['accuracy', 'f1'], got {names!r}.")
    metric = evaluate.combine([evaluate.load(metric_path(name)) for name in names])

    def compute_metrics(eval_pred) -> dict[str, float]:
        logits, labels = eval_pred.predictions, eval_pred.label_ids
        logits = np.asarray(logits[0] if isinstance(logits, tuple) else logits)
        if logits.ndim != 2 or len(logits) != len(labels):
            raise ValueError(f"compute_metrics expected logits of shape (n, num_labels) for n={len(labels)} labels, "
                             f"got shape {logits.shape}. Check that the model is a sequence classifier.")
        return metric.compute(predictions=logits.argmax(axis=-1), references=labels)

    return compute_metrics
