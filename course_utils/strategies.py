"""Six ways to use a pretrained encoder and two floors, measured by one protocol (notebooks 8 and 9).

=============  =======================================================================================
``tfidf``      floor: TF-IDF of words and word pairs, then a logistic regression (scikit-learn); no network
``features``   the frozen encoder runs once, in ``eval()`` mode; its mean-pooled sentence vectors train a
               logistic regression
``head``       the encoder frozen; the head trains (BERT-style checkpoints: the pooler and the new classifier)
``top-2``      the head and the top two encoder layers
``full``       every weight
``ulmfit``     every weight, with layer-wise learning rates (each layer down ``LLRD`` times the rate of the
               one above) and gradual unfreezing one stage per epoch (at most a quarter of the step budget,
               so every weight trains for at least its last quarter): the head, then the top layer, then the
               top two, then everything (fastbook's ULMFiT recipe)
``lora``       LoRA adapters (``peft``) on the attention's query and value matrices, plus the head
``scratch``    floor: the same architecture from random weights, trained like ``full``
=============  =======================================================================================

The grid that measures them, the protocol included, is :mod:`course_utils.grid`. Only public APIs:
``requires_grad``, parameter groups, a ``TrainerCallback``, ``peft.get_peft_model``, ``from_config``.

Example:
    >>> hyperparameter("features"), hyperparameter("lora")
    ('C', 'learning rate')
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

STRATEGIES = ("tfidf", "features", "head", "top-2", "full", "ulmfit", "lora", "scratch")
FLOORS = ("tfidf", "scratch")
PRETRAINED = tuple(s for s in STRATEGIES if s not in FLOORS)
LINEAR = ("tfidf", "features")  # a logistic regression: tuned by C, no Trainer

#: The three values each sweep starts from (C for the logistic regressions, else the learning rate).
START: dict[str, tuple[float, ...]] = {
    "tfidf": (1.0, 3.0, 10.0),
    "features": (0.3, 1.0, 3.0),
    "head": (1e-3, 3e-3, 1e-2),
    "top-2": (1e-4, 3e-4, 1e-3),
    "full": (3e-5, 1e-4, 3e-4),
    "ulmfit": (3e-5, 1e-4, 3e-4),
    "lora": (3e-4, 1e-3, 3e-3),
    "scratch": (1e-4, 3e-4, 1e-3),
}
#: Layer-wise learning-rate decay: 0.95 per layer, best for BERT text classification in Sun et al. (2019).
LLRD = 0.95
#: LoRA as Hu et al. (2021) fine-tuned RoBERTa-base on GLUE: rank 8 on W_q and W_v, alpha = r (tuning
#: alpha is roughly tuning the learning rate, which the sweep does).
LORA = {"r": 8, "lora_alpha": 8, "lora_dropout": 0.1}
LORA_TARGETS = {"bert": ["query", "value"], "distilbert": ["q_lin", "v_lin"]}
#: The head's modules, which LoRA trains fully like the ``head`` strategy does.
HEAD_MODULES = {"bert": ["pooler", "classifier"], "distilbert": ["pre_classifier", "classifier"]}


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
    return strategy


def hyperparameter(strategy: str) -> str:
    """What the sweep tunes: ``"C"`` for the logistic regressions, ``"learning rate"`` for the others."""
    return "C" if check_strategy(strategy) in LINEAR else "learning rate"


# ----------------------------------------------------------------------------- the models

def load_model(checkpoint: str, strategy: str, seed: int, labels: Sequence[str] = ("negative", "positive")):
    """The model a strategy trains, with ``requires_grad`` set (or LoRA adapters added)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, set_seed

    from .freezing import freeze

    if check_strategy(strategy) == "tfidf":
        raise ValueError("'tfidf' has no network: it is a scikit-learn pipeline (see run()).")
    names = {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    set_seed(seed)
    if strategy == "scratch":  # same architecture, random weights
        config = AutoConfig.from_pretrained(checkpoint, num_labels=len(labels), **names)
        return AutoModelForSequenceClassification.from_config(config)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=len(labels), **names)
    if strategy == "lora":
        from peft import LoraConfig, get_peft_model

        kind = model.config.model_type
        if kind not in LORA_TARGETS:
            raise ValueError(f"No LoRA target modules known for model_type {kind!r}; add its attention "
                             f"projections to LORA_TARGETS and its head to HEAD_MODULES.")
        config = LoraConfig(task_type="SEQ_CLS", target_modules=LORA_TARGETS[kind],
                            modules_to_save=list(HEAD_MODULES[kind]), **LORA)  # peft extends the list it gets
        return get_peft_model(model, config)
    freeze(model, {"features": "head", "ulmfit": "full", "scratch": "full"}.get(strategy, strategy))
    return model


def layer_groups(model) -> dict[str, list[Any]]:
    """The model's parameters by block, from the top down: the head, each encoder layer, the embeddings."""
    from .blocks import block_of, block_order

    blocks: dict[str, list] = {}
    for name, param in model.named_parameters():
        blocks.setdefault(block_of(name), []).append(param)
    return {block: blocks[block] for block in reversed(block_order(blocks))}


def discriminative_groups(model, learning_rate: float, decay: float = LLRD,
                          weight_decay: float = 0.01) -> list[dict[str, Any]]:
    """AdamW parameter groups: the head at ``learning_rate``, each block below ``decay`` times the one above."""
    return [{"params": params, "lr": learning_rate * decay ** depth, "weight_decay": weight_decay, "block": block}
            for depth, (block, params) in enumerate(layer_groups(model).items())]


def gradual_unfreezing(groups: Sequence[Sequence[Any]], stage_steps: int):
    """A ``TrainerCallback``: the top group (the head) trains alone for ``stage_steps`` steps, then the top
    two groups, then the top three, then every group (fastbook's ``freeze``, ``freeze_to(-2)``,
    ``freeze_to(-3)``, ``unfreeze``)."""
    from transformers import TrainerCallback

    if stage_steps < 1:
        raise ValueError(f"stage_steps={stage_steps!r}: a stage needs at least one step.")

    class GradualUnfreezing(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            stage = state.global_step // stage_steps
            unfrozen = len(groups) if stage >= 3 else stage + 1
            for depth, params in enumerate(groups):
                for param in params:
                    param.requires_grad = depth < unfrozen

    return GradualUnfreezing()


def sentence_vectors(model, tokenizer, sentences: Sequence[str], max_length: int, batch_size: int = 64) -> np.ndarray:
    """Mean-pooled last hidden states of the encoder, in ``eval()`` mode and without gradients."""
    import torch

    encoder = model.base_model  # the encoder without the classification head
    encoder.eval()
    vectors = []
    with torch.no_grad():
        for start in range(0, len(sentences), batch_size):
            batch = tokenizer(list(sentences[start:start + batch_size]), truncation=True, max_length=max_length,
                              padding=True, return_tensors="pt")
            hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            vectors.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
    return np.concatenate(vectors)


def linear_run(strategy: str, bench, size: int, seed: int, value: float) -> dict[str, Any]:
    """Fit ``tfidf`` or ``features`` (a logistic regression with C = ``value``) on the grid bench's subset
    and score it on the tuning slice and the validation set (see :func:`course_utils.grid.run`)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    def vectors(key, sentences):
        """The encoder runs once per set of sentences; every C reuses its vectors (and its time)."""
        if "encoder" not in bench.cache:
            bench.cache["encoder"] = load_model(bench.checkpoint, "features", 0)
        if key not in bench.cache:
            start = time.perf_counter()
            found = sentence_vectors(bench.cache["encoder"], bench.tokenizer, sentences, bench.settings.max_length)
            bench.cache[key] = (found, time.perf_counter() - start)
        return bench.cache[key]

    train = bench.subset(size, seed)
    start, cpu = time.perf_counter(), time.process_time()
    if strategy == "tfidf":
        model = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                              LogisticRegression(C=value, max_iter=5_000))
        model.fit(train["sentence"], train["label"])
        seconds = time.perf_counter() - start
        score = {name: model.predict(rows["sentence"]) for name, rows in (("tuning", bench.tuning),
                                                                            ("validation", bench.validation))}
        trainable = int(model[-1].coef_.size + 1)
    else:
        x, encode_seconds = vectors(("train", size, seed), train["sentence"])
        model = LogisticRegression(C=value, max_iter=5_000).fit(x, train["label"])
        seconds = encode_seconds + time.perf_counter() - start
        score = {name: model.predict(vectors((name, 0), rows["sentence"])[0])
                 for name, rows in (("tuning", bench.tuning), ("validation", bench.validation))}
        trainable = int(model.coef_.size + 1)
    return {"tuning": float(np.mean(score["tuning"] == np.asarray(bench.tuning["label"]))),
            "validation": float(np.mean(score["validation"] == np.asarray(bench.validation["label"]))),
            "positive_share": float(np.mean(score["validation"] == 1)), "seconds": round(seconds, 2),
            "cpu_seconds": round(time.process_time() - cpu, 2), "trainable": trainable, "model": model}
