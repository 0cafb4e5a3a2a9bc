"""Seven ways to use a pretrained encoder, each trained the same way, for notebook 9 and its grid.

=============  =======================================================================================
``features``   feature extraction: the frozen encoder runs once, in ``eval()`` mode, over the data;
               its mean-pooled sentence vectors train a logistic regression (scikit-learn)
``head``       the encoder frozen, the head trained with the ``Trainer`` (for BERT-style checkpoints
               the head is the pretrained pooler and the new classifier)
``top-2``      the head and the top two encoder layers
``full``       every weight
``ulmfit``     every weight, ULMFiT-style: discriminative learning rates (each layer down gets the
               rate of the one above divided by 2.6) and gradual unfreezing (the head first, then one
               more layer from the top at equal intervals)
``lora``       LoRA adapters of rank 8 on the attention's query and value matrices (``peft``), plus
               the classifier; the encoder's own weights stay frozen
``scratch``    the same architecture with random weights, trained like ``full``: what pretraining is worth
=============  =======================================================================================

Every strategy but ``features`` trains with the plain ``Trainer`` and notebook 5's recipe
(length-grouped order, warm-up, linear decay, weight decay), with its own learning rate. Only
public APIs: ``requires_grad``, optimizer parameter groups passed through ``optimizers=``, a
``TrainerCallback``, ``peft.get_peft_model``, ``from_config``.

Example:
    >>> hyperparameter("features"), hyperparameter("lora")
    ('C', 'learning rate')
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

STRATEGIES = ("features", "head", "top-2", "full", "ulmfit", "lora", "scratch")

#: The values each strategy's small sweep tries: learning rates, or C for the logistic regression.
GRIDS: dict[str, tuple[float, ...]] = {
    "features": (0.1, 1.0, 10.0),
    "head": (1e-3, 3e-3, 1e-2),
    "top-2": (1e-4, 3e-4, 1e-3),
    "full": (3e-5, 1e-4, 3e-4),
    "ulmfit": (1e-4, 3e-4, 1e-3),
    "lora": (3e-4, 1e-3, 3e-3),
    "scratch": (1e-4, 3e-4, 1e-3),
}
ULMFIT_DECAY = 2.6  # Howard & Ruder (2018): each layer down learns 2.6 times more slowly
LORA_RANK = 8
LORA_TARGETS = {"bert": ["query", "value"], "distilbert": ["q_lin", "v_lin"]}


def check_strategy(strategy: str) -> str:
    if strategy not in STRATEGIES:
        raise ValueError(f"Unknown strategy {strategy!r}; choose one of {', '.join(STRATEGIES)}.")
    return strategy


def hyperparameter(strategy: str) -> str:
    """What the sweep tunes: ``"C"`` for feature extraction, ``"learning rate"`` for the others."""
    return "C" if check_strategy(strategy) == "features" else "learning rate"


def epochs_for(n: int, min_samples: int = 2_000) -> int:
    """Epochs that show every run at least ``min_samples`` sentences (20 for 100, 2 for 1,000, 1 for 10,000).

    >>> [epochs_for(n) for n in (100, 1_000, 10_000)]
    [20, 2, 1]
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n={n!r}: give the number of training sentences, a whole number of at least 1.")
    return max(1, round(min_samples / n))


# ----------------------------------------------------------------------------- the models

def load_model(checkpoint: str, strategy: str, seed: int, labels: Sequence[str] = ("negative", "positive")):
    """The model a strategy trains, with ``requires_grad`` set (or LoRA adapters added)."""
    from transformers import AutoConfig, AutoModelForSequenceClassification, set_seed

    from .freezing import freeze

    check_strategy(strategy)
    names = {"id2label": dict(enumerate(labels)), "label2id": {name: i for i, name in enumerate(labels)}}
    set_seed(seed)
    if strategy == "scratch":  # same architecture, random weights
        config = AutoConfig.from_pretrained(checkpoint, num_labels=len(labels), **names)
        return AutoModelForSequenceClassification.from_config(config)
    model = AutoModelForSequenceClassification.from_pretrained(checkpoint, num_labels=len(labels), **names)
    if strategy == "lora":
        from peft import LoraConfig, get_peft_model

        targets = LORA_TARGETS.get(model.config.model_type)
        if targets is None:
            raise ValueError(f"No LoRA target modules known for model_type {model.config.model_type!r}; "
                             f"add its attention projections to LORA_TARGETS ({LORA_TARGETS}).")
        config = LoraConfig(task_type="SEQ_CLS", r=LORA_RANK, lora_alpha=2 * LORA_RANK, lora_dropout=0.1,
                            target_modules=targets)
        return get_peft_model(model, config)
    freeze(model, {"head": "head", "top-2": "top-k", "features": "head"}.get(strategy, "full"),
           2 if strategy == "top-2" else None)
    return model


def layer_groups(model) -> dict[str, list[Any]]:
    """The model's parameters by block, from the top down: the head, each encoder layer, the embeddings."""
    from .summary import block_of, block_order

    blocks: dict[str, list] = {}
    for name, param in model.named_parameters():
        blocks.setdefault(block_of(name), []).append(param)
    return {block: blocks[block] for block in reversed(block_order(blocks))}


def discriminative_groups(model, learning_rate: float, decay: float = ULMFIT_DECAY,
                          weight_decay: float = 0.01) -> list[dict[str, Any]]:
    """AdamW parameter groups: the head at ``learning_rate``, each group below ``decay`` times slower."""
    return [{"params": params, "lr": learning_rate / decay ** depth, "weight_decay": weight_decay, "block": block}
            for depth, (block, params) in enumerate(layer_groups(model).items())]


def gradual_unfreezing(groups: list[list[Any]]):
    """A ``TrainerCallback`` for ULMFiT's gradual unfreezing over top-down parameter ``groups``: the
    head trains from the first step, and one more group is unfrozen at each of ``len(groups)``
    equal intervals of the run."""
    from transformers import TrainerCallback

    class GradualUnfreezing(TrainerCallback):
        def on_step_begin(self, args, state, control, **kwargs):
            interval = max(1, state.max_steps // len(groups))
            unfrozen = min(len(groups), 1 + state.global_step // interval)
            for depth, params in enumerate(groups):
                for param in params:
                    param.requires_grad = depth < unfrozen

    return GradualUnfreezing()


# ----------------------------------------------------------------------------- training

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


def run(strategy: str, settings, checkpoint: str, tokenizer, train, evaluate_on, *, value: float,
        seed: int, epochs: int | None = None) -> dict[str, Any]:
    """Train ``strategy`` on the tokenized ``train`` rows and score it on ``evaluate_on``.

    ``settings`` (from ``get_settings``) gives the batch size and maximum length; ``value`` is the
    learning rate (C for ``features``); the epochs follow :func:`epochs_for` unless given. Returns accuracy,
    training seconds, trainable parameters, the epochs used, and the trained ``model`` (for
    ``features``, the logistic regression).
    """
    import dataclasses

    from sklearn.linear_model import LogisticRegression
    from transformers import DataCollatorWithPadding, PrinterCallback, Trainer

    from .freezing import count_parameters
    from .metrics import make_compute_metrics
    from .training import order_by_length, training_arguments

    check_strategy(strategy)
    if value <= 0:
        raise ValueError(f"value={value!r}: give a positive learning rate (or C for 'features').")
    max_length, batch_size = settings.max_length, settings.batch_size
    epochs = epochs or epochs_for(train.num_rows)
    model = load_model(checkpoint, strategy, seed)
    start = time.perf_counter()
    if strategy == "features":
        features = sentence_vectors(model, tokenizer, train["sentence"], max_length)
        classifier = LogisticRegression(C=value, max_iter=2_000).fit(features, train["label"])
        seconds = time.perf_counter() - start
        accuracy = classifier.score(sentence_vectors(model, tokenizer, evaluate_on["sentence"], max_length),
                                    evaluate_on["label"])
        return {"accuracy": float(accuracy), "seconds": seconds, "trainable": int(classifier.coef_.size + 1),
                "epochs": None, "model": classifier}
    recipe = dataclasses.replace(settings, learning_rate=value, epochs=float(epochs), seed=seed)
    args = training_arguments(recipe, str(settings.run_dir / "strategies"), num_train_samples=train.num_rows,
                              logging_strategy="no")
    optimizers, callbacks = (None, None), []
    if strategy == "ulmfit":
        import torch

        groups = list(layer_groups(model).values())
        optimizers = (torch.optim.AdamW(discriminative_groups(model, value)), None)
        callbacks = [gradual_unfreezing(groups)]
    trainer = Trainer(model=model, args=args, train_dataset=order_by_length(train, batch_size, seed),
                      eval_dataset=evaluate_on,
                      processing_class=tokenizer, data_collator=DataCollatorWithPadding(tokenizer),
                      compute_metrics=make_compute_metrics(["accuracy"]), optimizers=optimizers, callbacks=callbacks)
    trainer.remove_callback(PrinterCallback)
    counts = count_parameters(model)  # gradual unfreezing trains every weight in the end
    count = counts["total"] if strategy == "ulmfit" else counts["trainable"]
    start = time.perf_counter()
    trainer.train()
    seconds = time.perf_counter() - start
    return {"accuracy": float(trainer.evaluate()["eval_accuracy"]), "seconds": seconds, "trainable": int(count),
            "epochs": epochs, "model": trainer.model}
