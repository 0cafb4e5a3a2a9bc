"""Accuracy as an ``evaluate`` module (see :mod:`course_utils.metrics`): scikit-learn's ``accuracy_score``
on checked class ids, as the Hub's ``evaluate.load("accuracy")`` computes it."""

import evaluate
from sklearn.metrics import accuracy_score

from course_utils.metrics._checks import CheckedInputs, check_pair, class_id_info


class Accuracy(CheckedInputs, evaluate.Metric):
    def _info(self):
        return class_id_info("Accuracy: the share of predictions equal to the reference label.",
                             "predictions, references: lists of class ids (ints).")

    def _compute(self, predictions, references, normalize=True, sample_weight=None):
        predictions, references = check_pair(predictions, references)
        return {"accuracy": float(accuracy_score(references, predictions, normalize=normalize,
                                                 sample_weight=sample_weight))}
