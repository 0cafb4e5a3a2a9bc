"""Input checks shared by the metric modules the course ships (imported by each module file).

``evaluate`` casts inputs to the declared integer features, so without these checks float
scores such as ``[0.1, 0.9]`` would silently become class 0 and the metric would be wrong.
"""

from __future__ import annotations

import numpy as np


def class_id_info(description: str, inputs_description: str):
    """The ``evaluate.MetricInfo`` of a metric that compares predicted and true class ids."""
    import datasets
    import evaluate

    ids = datasets.Value("int64")
    return evaluate.MetricInfo(description=description, citation="", inputs_description=inputs_description,
                               features=datasets.Features({"predictions": ids, "references": ids}))


def check_ids(values, what: str) -> np.ndarray:
    """``values`` as an integer array of class ids, or a ``ValueError`` saying what to pass instead."""
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{what} must be a flat list of class ids, got an array of shape {array.shape}. "
                         f"For logits of shape (n, num_labels), pass logits.argmax(axis=-1).")
    if array.dtype.kind in "USO":
        raise ValueError(f"{what} hold text labels such as {array[:2].tolist()}; pass class ids instead, "
                         f"e.g. [model.config.label2id[label] for label in labels].")
    if array.dtype.kind == "b":
        raise ValueError(f"{what} are booleans; pass class ids (0 = negative, 1 = positive), e.g. values.astype(int).")
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)) or not np.all(array == np.round(array)):
            raise ValueError(f"{what} hold scores such as {array[:2].tolist()}, not class ids. "
                             f"Take the predicted class first: logits.argmax(axis=-1).")
        array = array.astype(np.int64)
    return array


def check_pair(predictions, references) -> tuple[np.ndarray, np.ndarray]:
    """Both checked with :func:`check_ids`, of equal non-zero length, with no hidden (-1) references."""
    predictions, references = check_ids(predictions, "predictions"), check_ids(references, "references")
    if len(references) == 0:
        raise ValueError("No references to score: pass at least one prediction and its reference label.")
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references; "
                         "pass one prediction per reference.")
    if (references < 0).any():
        raise ValueError("Some references are -1, the hidden label of the SST-2 test split. "
                         "Score on the validation split instead; test labels are only known to the GLUE server.")
    return predictions, references


class CheckedInputs:
    """Mixin for an ``evaluate.Metric``: check raw inputs *before* ``evaluate`` casts them to ids."""

    # evaluate appends each metric's input description to these docstrings, so they need one.
    def add_batch(self, *, predictions=None, references=None, **kwargs):
        """Add a batch of predictions and references (checked first)."""
        _check_given(predictions, references)
        return super().add_batch(predictions=predictions, references=references, **kwargs)

    def add(self, *, prediction=None, reference=None, **kwargs):
        """Add one prediction and reference (checked first)."""
        _check_given(None if prediction is None else [prediction], None if reference is None else [reference])
        return super().add(prediction=prediction, reference=reference, **kwargs)

    def compute(self, *, predictions=None, references=None, **kwargs):
        """Compute the metric (inputs checked first, before ``evaluate`` locks its cache file: a metric
        that raised inside would hold that lock, and the next one would wait a second for it)."""
        if predictions is not None and references is not None:
            check_pair(predictions, references)
        else:
            _check_given(predictions, references)
        return super().compute(predictions=predictions, references=references, **kwargs)


def _check_given(predictions, references) -> None:
    if predictions is not None:
        check_ids(predictions, "predictions")
    if references is not None:
        check_ids(references, "references")
