"""course_utils.drift: snapshots, per-tensor comparison, aggregation per block, restore, representations."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from course_utils.drift import compare, drift_by_block, restore, sentence_representations, snapshot
from course_utils.freezing import freeze


def nudge(model, name, amount=0.5):
    with torch.no_grad():
        model.get_parameter(name)[0, 0] += amount


def test_snapshot_is_a_detached_float32_copy():
    layer = torch.nn.Linear(3, 2).to(torch.float16)
    snap = snapshot(layer)
    assert set(snap) == {"weight", "bias"}
    assert all(t.dtype == torch.float32 and not t.requires_grad for t in snap.values())
    with torch.no_grad():
        layer.weight.add_(1.0)
    assert not torch.equal(snap["weight"], layer.weight.float())  # the snapshot did not follow
    with pytest.raises(TypeError, match=r"snapshot\(\) needs a PyTorch model, got dict"):
        snapshot({"weight": torch.zeros(2)})


def test_one_modified_tensor_shows_in_its_row_block_and_submodule_and_nowhere_else(tiny_bert):
    name = "bert.encoder.layer.1.intermediate.dense.weight"
    before = snapshot(tiny_bert)
    nudge(tiny_bert, name)
    table = compare(before, tiny_bert)
    assert table.columns.tolist() == ["name", "block", "submodule", "numel", "before_norm", "abs_change",
                                      "rel_change", "changed %"] and len(table) == len(list(tiny_bert.parameters()))
    row = table.set_index("name").loc[name]
    norm = float(before[name].norm())
    assert (row["block"], row["submodule"]) == ("layer 1", "feed-forward")
    assert row[["abs_change", "before_norm", "rel_change", "changed %"]].tolist() == pytest.approx(
        [0.5, norm, 0.5 / norm, 100 / before[name].numel()], rel=1e-5)
    assert (table.loc[table["name"] != name, "abs_change"] == 0).all()
    by_block = drift_by_block(table)
    assert by_block.index.tolist() == ["embeddings", "layer 0", "layer 1", "layer 2", "head"]
    assert by_block.index[by_block["abs_change"] > 0].tolist() == ["layer 1"]
    by_sub = drift_by_block(table, by=["block", "submodule"])
    assert by_sub.index[by_sub["abs_change"] > 0].tolist() == [("layer 1", "feed-forward")]


def test_frozen_weights_do_not_move_in_training(tiny_model, tiny_tokenizer):
    freeze(tiny_model, "top-1")
    before = snapshot(tiny_model)
    optimizer = torch.optim.AdamW(tiny_model.parameters(), lr=1e-2)  # every weight, the frozen ones included
    batch = tiny_tokenizer(["a gorgeous , witty film", "dull", "not bad at all", "a mess"], padding=True,
                           return_tensors="pt")
    for _ in range(3):
        optimizer.zero_grad()
        tiny_model(**batch, labels=torch.tensor([1, 0, 1, 0])).loss.backward()
        optimizer.step()
    by_block = drift_by_block(compare(before, tiny_model))
    assert by_block.index[by_block["abs_change"] == 0].tolist() == ["embeddings", "layer 0"]
    assert (by_block.loc[["layer 1", "head"], "changed %"] > 50).all()


def test_drift_by_block_adds_norms_as_one_long_vector():
    table = pd.DataFrame(
        [("layer 0", "attention", 10, 6.0, 3.0, 50.0), ("layer 0", "feed-forward", 30, 8.0, 4.0, 100.0),
         ("head", "head", 4, 2.0, 1.0, 25.0), ("embeddings", "embeddings", 6, 1.0, 0.0, 0.0)],
        columns=["block", "submodule", "numel", "before_norm", "abs_change", "changed %"])
    out = drift_by_block(table)
    assert out.index.tolist() == ["embeddings", "layer 0", "head"]
    # layer 0: sqrt(3² + 4²) = 5 of sqrt(6² + 8²) = 10; 5 + 30 of its 40 entries moved
    assert out.loc["layer 0"].tolist() == pytest.approx([40, 5.0, 0.5, 87.5])
    assert out.loc["head"].tolist() == pytest.approx([4, 1.0, 0.5, 25.0])
    assert drift_by_block(table, by=["block", "submodule"]).loc[("layer 0", "feed-forward"), "rel_change"] == 0.5
    with pytest.raises(ValueError, match=r"compare\(\).*lacks \['before_norm', 'numel'\]"):
        drift_by_block(pd.DataFrame({"block": ["head"], "abs_change": [1.0]}))


def test_restore_copies_a_whole_or_partial_snapshot_back(tiny_bert):
    before = snapshot(tiny_bert)
    for name in ("classifier.weight", "bert.encoder.layer.0.output.dense.weight"):
        nudge(tiny_bert, name)
    assert restore(tiny_bert, {"classifier.weight": before["classifier.weight"]}) is tiny_bert
    moved = compare(before, tiny_bert).query("abs_change > 0")["name"].tolist()
    assert moved == ["bert.encoder.layer.0.output.dense.weight"]  # only the snapshot's weights came back
    assert (compare(before, restore(tiny_bert, before))["abs_change"] == 0).all()


def test_weights_of_another_model_are_refused(tiny_model, tiny_bert, make_bert):
    with pytest.raises(ValueError, match=r"not come from the same model: \d+ tensor.*only in 'after'"):
        compare(tiny_model, tiny_bert)
    with pytest.raises(ValueError, match=r"word_embeddings\.weight has shape \(1200, 32\) before and \(1200, 48\)"):
        compare(make_bert(hidden_size=32), make_bert(hidden_size=48))
    with pytest.raises(ValueError, match=r"not come from the same model"):
        restore(tiny_model, snapshot(tiny_bert))
    with pytest.raises(ValueError, match=r"classifier\.weight has shape \(3, 3\) before"):
        restore(tiny_bert, {"classifier.weight": torch.zeros(3, 3)})
    with pytest.raises(TypeError, match=r"restore\(\) needs a PyTorch model.*got dict"):
        restore(snapshot(tiny_bert), snapshot(tiny_bert))


TEXTS = ["a gorgeous , witty film", "dull", "not bad at all , in fact quite moving and often funny", "a mess"]


def test_sentence_representations_one_vector_per_depth(tiny_model, tiny_tokenizer):
    mean = sentence_representations(tiny_model, tiny_tokenizer, TEXTS)
    assert mean.shape == (tiny_model.config.n_layers + 1, len(TEXTS), tiny_model.config.dim)
    cls = sentence_representations(tiny_model, tiny_tokenizer, TEXTS, pooling="cls")
    with torch.no_grad():
        hidden = tiny_model(**tiny_tokenizer(TEXTS, padding=True, return_tensors="pt"), output_hidden_states=True)
    assert torch.allclose(cls, torch.stack([h[:, 0] for h in hidden.hidden_states]), atol=1e-6)
    one_by_one = sentence_representations(tiny_model, tiny_tokenizer, TEXTS, batch_size=1)  # no padding at all
    assert torch.allclose(mean, one_by_one, atol=1e-5) and not torch.allclose(mean, cls)


@pytest.mark.parametrize("kwargs, words", [({"pooling": "max"}, r"Unknown pooling 'max'.*'mean'.*'cls'"),
                                           ({"sentences": ["only one"]}, r"1 sentence\(s\).*at least 2"),
                                           ({"sentences": "a good film"}, "one string.*list of sentences")])
def test_sentence_representations_bad_input(tiny_model, tiny_tokenizer, kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        sentence_representations(tiny_model, tiny_tokenizer, **{"sentences": TEXTS, **kwargs})
