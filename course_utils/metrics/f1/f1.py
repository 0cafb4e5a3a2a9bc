"""F1 as an ``evaluate`` module (see :mod:`course_utils.metrics`): scikit-learn's ``f1_score`` (by default of
class 1, *positive*) on checked class ids, as the Hub's ``evaluate.load("f1")`` computes it."""

import evaluate
from sklearn.metrics import f1_score

from course_utils.metrics._checks import CheckedInputs, check_pair, class_id_info


class F1(CheckedInputs, evaluate.Metric):
    def _info(self):
        return class_id_info("F1: harmonic mean of precision and recall of the positive class.",
                             "predictions, references: lists of class ids (ints); pos_label (default 1).")

    def _compute(self, predictions, references, labels=None, pos_label=1, average="binary", sample_weight=None):
        predictions, references = check_pair(predictions, references)
        return {"f1": float(f1_score(references, predictions, labels=labels, pos_label=pos_label,
                                     average=average, sample_weight=sample_weight, zero_division=0.0))}
