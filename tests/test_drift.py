"""course_utils.drift: snapshots, per-tensor comparison, aggregation per block, plots."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.drift import (  # noqa: E402
    compare, drift_by_block, load_snapshot, plot_drift_by_block, plot_drift_heatmap, save_snapshot, snapshot,
)
from course_utils.freezing import freeze  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def train_steps(model, batch, steps=3, lr=1e-2):
    """A few real optimizer steps; the optimizer is given every parameter, frozen ones included."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    labels = torch.tensor([1, 0, 1, 0])
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        model(**batch, labels=labels).loss.backward()
        optimizer.step()


def sentences(tokenizer):
    return tokenizer(["a gorgeous , witty film", "dull and boring", "not bad at all", "a mess"],
                     padding=True, return_tensors="pt")


def test_snapshot_is_a_detached_float32_copy():
    layer = torch.nn.Linear(3, 2)
    snap = snapshot(layer)
    assert set(snap) == {"weight", "bias"}
    assert all(t.dtype == torch.float32 and t.device.type == "cpu" and not t.requires_grad for t in snap.values())
    with torch.no_grad():
        layer.weight.add_(1.0)
    assert not torch.equal(snap["weight"], layer.weight.detach())  # the snapshot did not follow


def test_snapshot_of_a_non_module():
    with pytest.raises(TypeError, match=r"snapshot\(\) needs a PyTorch model, got dict"):
        snapshot({"weight": torch.zeros(2)})


def test_unchanged_model_has_zero_drift(tiny_model):
    table = compare(snapshot(tiny_model), tiny_model)
    assert len(table) == len(list(tiny_model.parameters()))
    assert (table["abs_change"] == 0).all()
    assert (table["changed %"] == 0).all()
    assert (table.loc[table["before_norm"] > 0, "rel_change"] == 0).all()
    assert (drift_by_block(table)["abs_change"] == 0).all()
    assert table.columns.tolist() == ["name", "block", "submodule", "numel", "before_norm", "abs_change", "rel_change", "changed %"]


def test_one_modified_tensor_shows_in_its_block(tiny_model):
    name = "distilbert.transformer.layer.1.ffn.lin1.weight"
    before = snapshot(tiny_model)
    param = dict(tiny_model.named_parameters())[name]
    with torch.no_grad():
        param[0, 0] += 0.5
    table = compare(before, tiny_model).set_index("name")
    row = table.loc[name]
    assert row["block"] == "layer 1" and row["submodule"] == "feed-forward"
    assert row["abs_change"] == pytest.approx(0.5, rel=1e-5)
    assert row["before_norm"] == pytest.approx(float(before[name].norm()), rel=1e-6)
    assert row["rel_change"] == pytest.approx(0.5 / float(before[name].norm()), rel=1e-5)
    assert row["changed %"] == pytest.approx(100 / param.numel())
    assert (table.drop(index=name)["abs_change"] == 0).all()
    by_block = drift_by_block(table.reset_index())
    assert by_block.index.tolist() == ["embeddings", "layer 0", "layer 1", "head"]
    assert by_block.loc["layer 1", "abs_change"] == pytest.approx(0.5, rel=1e-5)
    assert (by_block.drop(index="layer 1")["abs_change"] == 0).all()
    by_sub = drift_by_block(table.reset_index(), by=["block", "submodule"])
    moved = by_sub[by_sub["abs_change"] > 0]
    assert moved.index.tolist() == [("layer 1", "feed-forward")]


@pytest.mark.parametrize("strategy, k, still", [("head", None, {"embeddings", "layer 0", "layer 1"}),
                                                ("top-k", 1, {"embeddings", "layer 0"})])
def test_frozen_weights_do_not_move_in_training(tiny_model, tiny_tokenizer, strategy, k, still):
    freeze(tiny_model, strategy, k)
    frozen = {name for name, p in tiny_model.named_parameters() if not p.requires_grad}
    before = snapshot(tiny_model)
    train_steps(tiny_model, sentences(tiny_tokenizer))
    table = compare(before, tiny_model)
    is_frozen = table["name"].isin(frozen)
    assert (table.loc[is_frozen, "abs_change"] == 0.0).all()
    assert (table.loc[is_frozen, "changed %"] == 0.0).all()
    assert (table.loc[~is_frozen, "abs_change"] > 0).all()
    by_block = drift_by_block(table)
    assert set(by_block.index[by_block["abs_change"] == 0]) == still


def test_drift_works_for_bert(tiny_bert):
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(1, tiny_bert.config.vocab_size, (4, 12), generator=generator)
    batch = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
    freeze(tiny_bert, "top-k", k=1)
    before = snapshot(tiny_bert)
    train_steps(tiny_bert, batch)
    by_block = drift_by_block(compare(before, tiny_bert))
    assert by_block.index.tolist() == ["embeddings", "layer 0", "layer 1", "layer 2", "head"]
    assert by_block.loc[["embeddings", "layer 0", "layer 1"], "abs_change"].eq(0).all()
    assert (by_block.loc[["layer 2", "head"], "abs_change"] > 0).all()


def test_drift_by_block_formula_by_hand():
    table = pd.DataFrame([
        {"block": "layer 0", "submodule": "attention", "numel": 10, "before_norm": 6.0, "abs_change": 3.0, "changed %": 50.0},
        {"block": "layer 0", "submodule": "feed-forward", "numel": 30, "before_norm": 8.0, "abs_change": 4.0, "changed %": 100.0},
        {"block": "head", "submodule": "head", "numel": 4, "before_norm": 2.0, "abs_change": 1.0, "changed %": 25.0},
        {"block": "embeddings", "submodule": "embeddings", "numel": 6, "before_norm": 1.0, "abs_change": 0.0, "changed %": 0.0},
    ])
    out = drift_by_block(table)
    assert out.index.tolist() == ["embeddings", "layer 0", "head"]
    # layer 0: sqrt(3² + 4²) = 5, sqrt(6² + 8²) = 10, moved entries 5 + 30 of 40
    assert out.loc["layer 0", "parameters"] == 40
    assert out.loc["layer 0", "abs_change"] == pytest.approx(5.0)
    assert out.loc["layer 0", "rel_change"] == pytest.approx(0.5)
    assert out.loc["layer 0", "changed %"] == pytest.approx(87.5)
    assert out.loc["head", "abs_change"] == pytest.approx(1.0)
    assert out.loc["head", "rel_change"] == pytest.approx(0.5)
    assert out.loc["head", "changed %"] == pytest.approx(25.0)
    assert out.loc["embeddings", "abs_change"] == 0
    by_sub = drift_by_block(table, by=["block", "submodule"])
    assert by_sub.loc[("layer 0", "feed-forward"), "rel_change"] == pytest.approx(4.0 / 8.0)


def test_drift_by_block_matches_one_long_vector(tiny_model):
    before = snapshot(tiny_model)
    torch.manual_seed(0)
    with torch.no_grad():
        for p in tiny_model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    by_block = drift_by_block(compare(before, tiny_model))
    after = snapshot(tiny_model)
    names = [n for n in before if n.startswith("distilbert.transformer.layer.0.")]
    delta = torch.cat([(after[n] - before[n]).flatten() for n in names])
    start = torch.cat([before[n].flatten() for n in names])
    assert by_block.loc["layer 0", "abs_change"] == pytest.approx(float(delta.norm()), rel=1e-4)
    assert by_block.loc["layer 0", "rel_change"] == pytest.approx(float(delta.norm() / start.norm()), rel=1e-4)


def test_drift_by_block_needs_a_compare_table():
    with pytest.raises(ValueError, match=r"drift_by_block\(\) needs the table from compare\(\); this one lacks \['before_norm', 'numel'\]"):
        drift_by_block(pd.DataFrame({"block": ["head"], "abs_change": [1.0]}))


def test_different_models_cannot_be_compared(tiny_model, tiny_bert):
    distil, bert = snapshot(tiny_model), snapshot(tiny_bert)
    only_before = len(set(distil) - set(bert))
    only_after = len(set(bert) - set(distil))
    with pytest.raises(ValueError, match=rf"do not come from the same model: {only_before} tensor\(s\) only in 'before' .*"
                                         rf"{only_after} only in 'after' .*Compare a fine-tuned model with the snapshot of the checkpoint"):
        compare(distil, bert)


def test_different_shapes_cannot_be_compared(make_bert):
    small, wide = make_bert(hidden_size=32), make_bert(hidden_size=48)
    with pytest.raises(ValueError, match=r"bert\.embeddings\.word_embeddings\.weight has shape \(1200, 32\) before and \(1200, 48\) after: "
                                         r"not the same architecture"):
        compare(small, wide)


def test_save_and_load_snapshot(tmp_path, tiny_bert):
    snap = snapshot(tiny_bert)
    path = save_snapshot(snap, tmp_path / "runs" / "pretrained.safetensors")
    assert path.exists()
    loaded = load_snapshot(path)
    assert loaded.keys() == snap.keys()
    assert all(torch.equal(loaded[k], snap[k]) for k in snap)
    assert (compare(loaded, tiny_bert)["abs_change"] == 0).all()


def test_load_missing_snapshot(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"No snapshot at 'pretrained\.safetensors'\. Run notebook 5 .*or take one with snapshot\(model\)") as err:
        load_snapshot(tmp_path / "pretrained.safetensors")
    assert str(tmp_path) not in str(err.value)


def test_plots(tiny_model):
    before = snapshot(tiny_model)
    with torch.no_grad():
        for p in tiny_model.parameters():
            p.mul_(1.01)
    table = compare(before, tiny_model)
    ax = plot_drift_by_block(table)
    assert isinstance(ax, matplotlib.axes.Axes)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["embeddings", "layer 0", "layer 1", "head"]
    assert len(ax.patches) == 4
    heights = [bar.get_height() for bar in ax.patches]
    assert all(math.isclose(h, 0.01, rel_tol=1e-3) for h in heights)  # every weight scaled by 1.01
    ax2 = plot_drift_by_block(table, metric="abs_change", title="abs")
    assert ax2.get_title() == "abs" and "absolute" in ax2.get_ylabel()
    heat = plot_drift_heatmap(table)
    assert isinstance(heat, matplotlib.axes.Axes)
    assert [t.get_text() for t in heat.get_yticklabels()] == ["layer 0", "layer 1"]
    assert {t.get_text() for t in heat.get_xticklabels()} == {"attention", "feed-forward", "layer norm"}
    _, given = plt.subplots()
    assert plot_drift_heatmap(table, ax=given) is given


def test_heatmap_needs_layer_rows(tiny_model):
    table = compare(tiny_model, tiny_model)
    with pytest.raises(ValueError, match=r"no encoder-layer rows to draw\. Pass the full table from compare\(\)"):
        plot_drift_heatmap(table[~table["block"].str.startswith("layer ")])
