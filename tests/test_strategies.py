"""course_utils.strategies (the seven strategies of notebook 9), course_utils.results and the grid script."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest
import torch
from transformers import AutoTokenizer

from course_utils import results, strategies
from course_utils.data import load_sst2
from course_utils.models import resolve_checkpoint
from course_utils.settings import get_settings
from course_utils.training import tokenize

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def checkpoint():
    return resolve_checkpoint("tiny-distilbert")


@pytest.fixture(scope="module")
def tokenizer(checkpoint):
    return AutoTokenizer.from_pretrained(checkpoint)


@pytest.fixture(scope="module")
def encoded(tokenizer):
    return tokenize(load_sst2("sample"), tokenizer, max_length=32)


def test_names_grids_and_epochs():
    assert set(strategies.GRIDS) == set(strategies.STRATEGIES)
    assert all(len(values) == 3 and min(values) > 0 for values in strategies.GRIDS.values())
    assert [strategies.hyperparameter(s) for s in ("features", "full")] == ["C", "learning rate"]
    assert [strategies.epochs_for(n) for n in (1, 100, 1_000, 10_000, 67_349)] == [2000, 20, 2, 1, 1]


@pytest.mark.parametrize("call", [lambda: strategies.check_strategy("adapters"), lambda: strategies.epochs_for(0),
                                  lambda: strategies.epochs_for(2.5)])
def test_bad_inputs_say_what_to_give(call):
    with pytest.raises(ValueError, match="choose one of|whole number"):
        call()


def test_the_strategies_train_what_they_say(checkpoint):
    def trains(model, words):
        return any(p.requires_grad for n, p in model.named_parameters() if words in n)

    head = strategies.load_model(checkpoint, "head", seed=0)
    assert trains(head, "classifier") and not trains(head, "transformer.layer")
    top2 = strategies.load_model(checkpoint, "top-2", seed=0)
    assert trains(top2, "transformer.layer.1.") and not trains(top2, "embeddings")  # the tiny model has 2 layers
    lora = strategies.load_model(checkpoint, "lora", seed=0)
    names = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert names and all("lora_" in n or "classifier" in n for n in names)
    assert any("q_lin.lora_A" in n for n in names) and not any("ffn" in n for n in names)


def test_scratch_is_the_same_architecture_with_other_weights(checkpoint):
    pretrained = strategies.load_model(checkpoint, "full", seed=0)
    scratch = strategies.load_model(checkpoint, "scratch", seed=1)  # seed 0 rebuilds the tiny model itself
    shapes = {n: p.shape for n, p in pretrained.named_parameters()}
    assert {n: p.shape for n, p in scratch.named_parameters()} == shapes
    name = next(n for n in shapes if "q_lin.weight" in n)
    assert not torch.equal(dict(pretrained.named_parameters())[name], dict(scratch.named_parameters())[name])


def test_discriminative_groups_cover_every_weight_once_top_down(checkpoint):
    model = strategies.load_model(checkpoint, "full", seed=0)
    groups = strategies.discriminative_groups(model, 1e-3)
    assert [g["block"] for g in groups] == ["head", "layer 1", "layer 0", "embeddings"]
    assert [g["lr"] for g in groups] == pytest.approx([1e-3 / 2.6 ** d for d in range(4)])
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())


def test_gradual_unfreezing_opens_one_group_per_interval(checkpoint):
    model = strategies.load_model(checkpoint, "full", seed=0)
    groups = list(strategies.layer_groups(model).values())
    callback = strategies.gradual_unfreezing(groups)
    open_groups = []
    for step in (0, 4, 5, 10, 15, 19):
        callback.on_step_begin(None, types.SimpleNamespace(global_step=step, max_steps=20), None)
        open_groups.append(sum(all(p.requires_grad for p in g) for g in groups))
        assert all(not p.requires_grad for g in groups[open_groups[-1]:] for p in g)
    assert open_groups == [1, 1, 2, 3, 4, 4]


def test_sentence_vectors_are_mean_pooled_without_dropout(checkpoint, tokenizer):
    model = strategies.load_model(checkpoint, "features", seed=0)
    model.train()  # sentence_vectors must switch to eval mode itself
    sentences = ["a fine film", "dull", "the plot goes nowhere at all"]
    first = strategies.sentence_vectors(model, tokenizer, sentences, max_length=16, batch_size=2)
    again = strategies.sentence_vectors(model, tokenizer, sentences, max_length=16)
    assert first.shape == (3, model.config.dim) and torch.allclose(torch.tensor(first), torch.tensor(again), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("strategy", strategies.STRATEGIES)
def test_every_strategy_trains_and_scores(strategy, checkpoint, tokenizer, encoded, tmp_path):
    settings = get_settings("smoke", env={}, output_dir=tmp_path, max_length=32)
    result = strategies.run(strategy, settings, checkpoint, tokenizer, encoded["train"].select(range(48)),
                            encoded["validation"].select(range(40)), value=strategies.GRIDS[strategy][1], seed=1)
    assert 0 <= result["accuracy"] <= 1 and result["seconds"] > 0 and result["trainable"] > 0
    assert result["epochs"] == (None if strategy == "features" else strategies.epochs_for(48))
    assert result["model"] is not None


def test_run_refuses_a_non_positive_value(checkpoint, tokenizer, encoded, tmp_path):
    settings = get_settings("smoke", env={}, output_dir=tmp_path)
    with pytest.raises(ValueError, match="positive learning rate"):
        strategies.run("full", settings, checkpoint, tokenizer, encoded["train"], encoded["validation"], value=0,
                       seed=1)


# --- results -------------------------------------------------------------------------------------

def test_read_results_reads_the_checkout():
    data = results.read_results("gpu_minilm_epoch")
    assert data == json.loads((REPO / "benchmarks" / "results" / "gpu_minilm_epoch.json").read_text())


@pytest.mark.parametrize("name", ["../README", "", "a b", None])
def test_read_results_refuses_names_that_are_not_results_files(name):
    with pytest.raises(ValueError, match="not the name of a results file"):
        results.read_results(name)


def test_without_a_checkout_or_a_github_install_the_error_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(results, "CHECKOUT_RESULTS", tmp_path)
    monkeypatch.setattr(results, "installed_from", lambda: None)
    with pytest.raises(FileNotFoundError, match="clone the repository"):
        results.read_results("gpu_minilm_epoch")


@pytest.mark.parametrize(("direct_url", "expected"), [
    ({"url": "https://github.com/owner/course.git", "vcs_info": {"vcs": "git", "commit_id": "abc123"}},
     ("owner/course", "abc123")),
    ({"url": "file:///home/me/course", "dir_info": {"editable": True}}, None),
    (None, None),
])
def test_installed_from_reads_pips_record(monkeypatch, direct_url, expected):
    text = None if direct_url is None else json.dumps(direct_url)
    monkeypatch.setattr(results.metadata, "distribution", lambda name: types.SimpleNamespace(read_text=lambda f: text))
    assert results.installed_from() == expected


# --- the grid script -----------------------------------------------------------------------------

@pytest.mark.slow
def test_the_grid_script_sweeps_runs_and_resumes(tmp_path):
    out = tmp_path / "grid.json"
    command = [sys.executable, str(REPO / "benchmarks" / "strategies.py"), "--checkpoint", "tiny-distilbert",
               "--data", "sample", "--sizes", "16,32", "--seeds", "42,43", "--strategies", "features,lora,scratch",
               "--sweep-up-to", "16", "--tuning", "50", "--out", str(out)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    grid = json.loads(out.read_text())
    assert len(grid["sweep"]) == 3 * 3 and len(grid["results"]) == 3 * 2 * 2
    assert grid["chosen"]["lora"]["32"] == grid["chosen"]["lora"]["16"], "sizes above --sweep-up-to reuse its choice"
    assert {r["value"] for r in grid["results"] if r["strategy"] == "features"} <= set(strategies.GRIDS["features"])
    again = subprocess.run(command + ["--resume"], capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "sweep " not in again.stdout and "run " not in again.stdout
    assert json.loads(out.read_text())["results"] == grid["results"]


def test_the_grid_script_rejects_bad_sizes(tmp_path):
    result = subprocess.run([sys.executable, str(REPO / "benchmarks" / "strategies.py"), "--checkpoint", "x",
                             "--data", "sample", "--sizes", "100,zero", "--out", str(tmp_path / "g.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0 and "positive whole numbers" in result.stderr
