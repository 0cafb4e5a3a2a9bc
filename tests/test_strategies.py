"""course_utils.strategies: each strategy trains what it says, ULMFiT's rates and stages, sentence vectors."""

from __future__ import annotations

import types

import pytest
import torch

from course_utils import strategies
from course_utils.strategies import LLRD, STRATEGIES, load_model

#: What each strategy trains, by hand: name prefixes of the tiny DistilBERT (2 layers) and BERT (3 layers).
HEADS = {"distilbert": ("pre_classifier.", "classifier."), "bert": ("bert.pooler.", "classifier.")}
TOP_2 = {"distilbert": ("distilbert.transformer.layer.0.", "distilbert.transformer.layer.1."),
         "bert": ("bert.encoder.layer.1.", "bert.encoder.layer.2.")}


@pytest.fixture(scope="module")
def checkpoints(tiny_path, make_bert, tmp_path_factory):
    bert = tmp_path_factory.mktemp("tiny-bert")
    make_bert().save_pretrained(bert)
    return {"distilbert": tiny_path, "bert": str(bert)}


def trainable(model) -> set[str]:
    return {name for name, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("kind", ["distilbert", "bert"])
@pytest.mark.parametrize("strategy", ["features", "head", "top-2", "full", "ulmfit", "scratch"])
def test_the_strategies_train_what_they_say(checkpoints, kind, strategy):
    model = load_model(checkpoints[kind], strategy, seed=1)
    names = {name for name, _ in model.named_parameters()}
    prefixes = {"features": HEADS[kind], "head": HEADS[kind], "top-2": HEADS[kind] + TOP_2[kind]}.get(strategy)
    assert trainable(model) == ({n for n in names if n.startswith(prefixes)} if prefixes else names)


@pytest.mark.parametrize("kind", ["distilbert", "bert"])
def test_lora_trains_adapters_on_the_attention_and_the_whole_head(checkpoints, kind):
    """peft's LoraConfig extends the modules_to_save list it is given: load_model must give it a copy."""
    head_modules = {kind: list(modules) for kind, modules in strategies.HEAD_MODULES.items()}
    model = load_model(checkpoints[kind], "lora", seed=1)
    assert strategies.HEAD_MODULES == head_modules
    names = trainable(model)
    targets = strategies.LORA_TARGETS[kind]
    layers = {"distilbert": 2, "bert": 3}[kind]
    adapted = {(n.split(".layer.")[1].split(".")[0], t) for n in names for t in targets if f".{t}.lora_A." in n}
    assert adapted == {(str(i), t) for i in range(layers) for t in targets}
    assert all(".lora_" in n or ".modules_to_save." in n for n in names)
    for module in HEADS[kind]:  # the whole head trains, as in the head strategy
        assert any(n.startswith(f"base_model.model.{module}modules_to_save.") for n in names), module


def test_lora_needs_known_attention_modules(tmp_path):
    from transformers import RobertaConfig, RobertaForSequenceClassification

    config = RobertaConfig(vocab_size=99, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                           intermediate_size=8)
    RobertaForSequenceClassification(config).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match="model_type 'roberta'.*LORA_TARGETS"):
        load_model(str(tmp_path), "lora", seed=1)


def test_scratch_is_the_same_architecture_with_other_weights(checkpoints):
    pretrained, scratch = load_model(checkpoints["bert"], "full", seed=1), load_model(checkpoints["bert"], "scratch", 1)
    shapes = {n: p.shape for n, p in pretrained.named_parameters()}
    assert {n: p.shape for n, p in scratch.named_parameters()} == shapes
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(pretrained.get_parameter(name), scratch.get_parameter(name))


def test_names_and_bad_names():
    assert [s for s in STRATEGIES if strategies.hyperparameter(s) == "C"] == ["tfidf", "features"]
    with pytest.raises(ValueError, match="Unknown strategy 'top-k'; choose one of tfidf"):
        strategies.hyperparameter("top-k")
    with pytest.raises(ValueError, match="'tfidf' has no network"):
        load_model("unused", "tfidf", seed=1)


def test_discriminative_groups_run_top_down_with_decaying_rates(checkpoints):
    model = load_model(checkpoints["bert"], "ulmfit", seed=1)
    groups = strategies.discriminative_groups(model, 1e-3, weight_decay=0.1)
    assert [g["block"] for g in groups] == ["head", "layer 2", "layer 1", "layer 0", "embeddings"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3 * LLRD ** d for d in range(5)])
    assert {g["weight_decay"] for g in groups} == {0.1}
    assert sorted(id(p) for g in groups for p in g["params"]) == sorted(id(p) for p in model.parameters())


def test_gradual_unfreezing_head_then_one_more_group_then_two_then_all(checkpoints):
    model = load_model(checkpoints["bert"], "ulmfit", seed=1)
    groups = list(strategies.layer_groups(model).values())  # head, layers 2, 1, 0, embeddings
    callback = strategies.gradual_unfreezing(groups, stage_steps=5)
    opened = []
    for step in (0, 4, 5, 9, 10, 15, 100):
        callback.on_step_begin(None, types.SimpleNamespace(global_step=step), None)
        opened.append([all(p.requires_grad for p in g) for g in groups])
        assert not any(p.requires_grad for g, is_open in zip(groups, opened[-1]) if not is_open for p in g)
    assert [sum(o) for o in opened] == [1, 1, 2, 2, 3, 5, 5] and all(o == sorted(o, reverse=True) for o in opened)
    with pytest.raises(ValueError, match="stage_steps=0"):
        strategies.gradual_unfreezing(groups, 0)


def test_sentence_vectors_are_mean_pooled_without_dropout(checkpoints, tiny_tokenizer):
    model = load_model(checkpoints["distilbert"], "features", seed=1)
    model.train()  # sentence_vectors must switch to eval mode itself
    sentences = ["a fine film", "dull", "the plot goes nowhere at all"]
    in_pairs = strategies.sentence_vectors(model, tiny_tokenizer, sentences, max_length=16, batch_size=2)
    batch = tiny_tokenizer(sentences[1:2], return_tensors="pt")
    with torch.no_grad():
        alone = model.base_model(**batch).last_hidden_state.mean(1)  # no padding: a plain mean
    assert in_pairs.shape == (3, model.config.dim) and not model.base_model.training
    assert torch.allclose(torch.tensor(in_pairs[1]), alone[0], atol=1e-5)  # padding left out of the mean
