"""course_utils.drift: snapshots, per-tensor comparison, aggregation per block, plots, representation change."""

from __future__ import annotations

import copy
import math
import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_utils.drift import (  # noqa: E402
    compare,
    drift_by_block,
    linear_cka,
    load_snapshot,
    plot_drift_by_block,
    plot_drift_heatmap,
    representation_change,
    restore,
    save_snapshot,
    sentence_representations,
    snapshot,
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
    assert table.columns.tolist() == ["name", "block", "submodule", "numel", "before_norm", "abs_change",
                                      "rel_change", "changed %"]


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
    table = pd.DataFrame(
        [("layer 0", "attention", 10, 6.0, 3.0, 50.0), ("layer 0", "feed-forward", 30, 8.0, 4.0, 100.0),
         ("head", "head", 4, 2.0, 1.0, 25.0), ("embeddings", "embeddings", 6, 1.0, 0.0, 0.0)],
        columns=["block", "submodule", "numel", "before_norm", "abs_change", "changed %"],
    )
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
    with pytest.raises(ValueError, match=r"compare\(\).*lacks \['before_norm', 'numel'\]"):
        drift_by_block(pd.DataFrame({"block": ["head"], "abs_change": [1.0]}))


def test_different_models_cannot_be_compared(tiny_model, tiny_bert):
    distil, bert = snapshot(tiny_model), snapshot(tiny_bert)
    only_before = len(set(distil) - set(bert))
    only_after = len(set(bert) - set(distil))
    with pytest.raises(ValueError, match=rf"same model: {only_before} tensor.*{only_after} only in 'after'"):
        compare(distil, bert)


def test_different_shapes_cannot_be_compared(make_bert):
    small, wide = make_bert(hidden_size=32), make_bert(hidden_size=48)
    with pytest.raises(ValueError, match=r"word_embeddings\.weight has shape \(1200, 32\) before and \(1200, 48\)"):
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
    with pytest.raises(FileNotFoundError, match=r"No snapshot at 'pretrained\.safetensors'.*notebook 5") as err:
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
    assert [t.get_text() for t in heat.get_xticklabels()] == ["attention", "feed-forward", "layer norm"]
    _, given = plt.subplots()
    assert plot_drift_heatmap(table, ax=given) is given


def test_heatmap_needs_layer_rows(tiny_model):
    table = compare(tiny_model, tiny_model)
    with pytest.raises(ValueError, match=r"no encoder-layer rows"):
        plot_drift_heatmap(table[~table["block"].str.startswith("layer ")])


# ---------------------------------------------------------------------------------------------
# Plot labels and bad metrics


@pytest.mark.parametrize("metric, words", [("rel_change", "relative change"), ("abs_change", "absolute change"),
                                           ("changed %", "changed (%)")])
def test_each_metric_is_labelled_as_itself(tiny_model, metric, words):
    before = snapshot(tiny_model)
    with torch.no_grad():
        for p in tiny_model.parameters():
            p.mul_(1.01)
    table = compare(before, tiny_model)
    ax = plot_drift_by_block(table, metric=metric)
    assert words in ax.get_ylabel()
    assert [bar.get_height() for bar in ax.patches] == pytest.approx(drift_by_block(table)[metric].tolist())
    heat = plot_drift_heatmap(table, metric=metric)
    colorbar_axes = [a for a in heat.figure.axes if a is not heat]
    assert words in colorbar_axes[0].get_ylabel()


def test_changed_percent_is_not_called_absolute(tiny_model):
    ax = plot_drift_by_block(compare(tiny_model, tiny_model), metric="changed %")
    assert "absolute" not in ax.get_ylabel()


@pytest.mark.parametrize("plot", [plot_drift_by_block, plot_drift_heatmap])
def test_unknown_metric_is_refused(tiny_model, plot):
    with pytest.raises(ValueError, match=r"Unknown drift metric 'relative'.*'rel_change'"):
        plot(compare(tiny_model, tiny_model), metric="relative")


def test_log_axis_keeps_small_bars_visible(tiny_model):
    before = snapshot(tiny_model)
    with torch.no_grad():
        for name, p in tiny_model.named_parameters():
            p.mul_(2.0 if name.startswith(("pre_classifier", "classifier")) else 1.001)
    table = compare(before, tiny_model)
    ax = plot_drift_by_block(table, log=True)
    assert ax.get_yscale() == "log" and "log scale" in ax.get_ylabel()
    low, high = ax.get_ylim()
    assert low < 0.001 < 1.0 < high  # both the 0.1% layers and the 100% head are inside the axis
    assert plot_drift_by_block(table).get_yscale() == "linear"


def test_heatmap_has_no_grid_and_writes_every_value(tiny_model):
    before = snapshot(tiny_model)
    with torch.no_grad():
        for p in tiny_model.parameters():
            p.mul_(1.02)
    with matplotlib.rc_context({"axes.grid": True}):
        heat = plot_drift_heatmap(compare(before, tiny_model))
    assert not any(line.get_visible() for line in heat.get_xgridlines() + heat.get_ygridlines())
    assert [t.get_text() for t in heat.texts] == ["0.02"] * 6  # 2 layers × 3 sub-modules, all scaled by 1.02


# ---------------------------------------------------------------------------------------------
# Saving snapshots atomically


def test_save_snapshot_writes_through_a_temporary_file_in_the_same_folder(tmp_path, monkeypatch, tiny_bert):
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((os.fspath(src), os.fspath(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    target = tmp_path / "run" / "pretrained.safetensors"
    save_snapshot(snapshot(tiny_bert), target)
    (source, destination), = renames
    assert destination == str(target)
    assert os.path.dirname(source) == str(target.parent) and source != str(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["pretrained.safetensors"]  # no temporary file left


def test_failed_save_keeps_the_previous_snapshot(tmp_path, monkeypatch, tiny_bert):
    target = tmp_path / "pretrained.safetensors"
    first = snapshot(tiny_bert)
    save_snapshot(first, target)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    changed = {k: v + 1 for k, v in first.items()}
    with pytest.raises(OSError, match="disk full"):
        save_snapshot(changed, target)
    kept = load_snapshot(target)
    assert all(torch.equal(kept[k], first[k]) for k in first)
    assert [p.name for p in tmp_path.iterdir()] == ["pretrained.safetensors"]


def test_save_snapshot_needs_tensors(tmp_path):
    with pytest.raises(TypeError, match=r"not tensors: \['bias'\].*snapshot\(model\)"):
        save_snapshot({"weight": torch.zeros(2), "bias": [0.0, 1.0]}, tmp_path / "s.safetensors")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------------------------
# restore(): a model with a snapshot's weights


def test_restore_undoes_training(tiny_model, tiny_tokenizer):
    before = snapshot(tiny_model)
    train_steps(tiny_model, sentences(tiny_tokenizer))
    assert (compare(before, tiny_model)["abs_change"] > 0).any()
    assert restore(tiny_model, before) is tiny_model
    assert (compare(before, tiny_model)["abs_change"] == 0).all()


def test_restore_refuses_another_architecture(tiny_model, tiny_bert):
    with pytest.raises(ValueError, match=r"do not come from the same model"):
        restore(tiny_model, snapshot(tiny_bert))


def test_restore_needs_a_model(tiny_model):
    with pytest.raises(TypeError, match=r"restore\(\) needs a PyTorch model.*got dict"):
        restore(snapshot(tiny_model), snapshot(tiny_model))


# ---------------------------------------------------------------------------------------------
# Linear CKA and representation change


def cka_by_kernels(x, y):
    """Linear CKA the other way round: centred Gram matrices K = XXᵀ, L = YYᵀ, <K, L> / (‖K‖ ‖L‖)."""
    x, y = x.double(), y.double()
    n = x.shape[0]
    centre = torch.eye(n, dtype=torch.float64) - 1.0 / n
    k, l_ = centre @ x @ x.T @ centre, centre @ y @ y.T @ centre
    return float((k * l_).sum() / (k.norm() * l_.norm()))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_linear_cka_matches_the_kernel_formula(seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 6, generator=generator)
    y = x @ torch.randn(6, 3, generator=generator) + 0.5 * torch.randn(40, 3, generator=generator)
    assert linear_cka(x, y) == pytest.approx(cka_by_kernels(x, y), rel=1e-9)
    assert 0 < linear_cka(x, y) < 1


def test_linear_cka_ignores_rotation_scale_and_shift():
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(100, 8, generator=generator)
    rotation, _ = torch.linalg.qr(torch.randn(8, 8, generator=generator))
    assert linear_cka(x, 5.0 * x @ rotation + 3.0) == pytest.approx(1.0, abs=1e-9)


def test_linear_cka_of_unrelated_representations_is_small():
    generator = torch.Generator().manual_seed(0)
    x, y = torch.randn(2000, 4, generator=generator), torch.randn(2000, 4, generator=generator)
    assert linear_cka(x, y) < 0.02


@pytest.mark.parametrize("x, y, words", [
    (torch.randn(10, 4), torch.randn(9, 4), r"same inputs.*\(10, 4\) and \(9, 4\)"),
    (torch.randn(10), torch.randn(10), r"2-D representations"),
    (torch.ones(10, 4), torch.randn(10, 4), r"same for every input.*undefined"),
])
def test_linear_cka_bad_input(x, y, words):
    with pytest.raises(ValueError, match=words):
        linear_cka(x, y)


TEXTS = ["a gorgeous , witty film", "dull", "not bad at all , in fact quite moving and often funny", "a mess"]


def test_sentence_representations_shape_and_cls(tiny_model, tiny_tokenizer):
    depth = tiny_model.config.n_layers + 1
    mean = sentence_representations(tiny_model, tiny_tokenizer, TEXTS)
    assert mean.shape == (depth, len(TEXTS), tiny_model.config.dim) and mean.dtype == torch.float32
    cls = sentence_representations(tiny_model, tiny_tokenizer, TEXTS, pooling="cls")
    batch = tiny_tokenizer(TEXTS, padding=True, return_tensors="pt")
    with torch.no_grad():
        hidden = tiny_model(**batch, output_hidden_states=True).hidden_states
    assert torch.allclose(cls, torch.stack([h[:, 0] for h in hidden]), atol=1e-6)
    assert not torch.allclose(mean, cls)


def test_mean_pooling_ignores_padding(tiny_model, tiny_tokenizer):
    together = sentence_representations(tiny_model, tiny_tokenizer, TEXTS, batch_size=4)  # "dull" padded to 13 tokens
    one_by_one = torch.cat([sentence_representations(tiny_model, tiny_tokenizer, TEXTS[i:i + 2], batch_size=1)
                            for i in (0, 2)], dim=1)
    assert torch.allclose(together, one_by_one, atol=1e-5)


@pytest.mark.parametrize("kwargs, words", [({"pooling": "max"}, r"Unknown pooling 'max'.*'mean'.*'cls'"),
                                           ({"sentences": ["only one"]}, r"1 sentence\(s\).*at least 2")])
def test_sentence_representations_bad_input(tiny_model, tiny_tokenizer, kwargs, words):
    arguments = {"sentences": TEXTS, **kwargs}
    with pytest.raises(ValueError, match=words):
        sentence_representations(tiny_model, tiny_tokenizer, **arguments)


def test_identical_models_show_no_representation_change(tiny_model, tiny_tokenizer):
    change = representation_change(tiny_model, copy.deepcopy(tiny_model), tiny_tokenizer, TEXTS)
    assert change.index.tolist() == ["embeddings", "layer 0", "layer 1"]
    assert change["CKA"].tolist() == pytest.approx([1.0] * 3, abs=1e-6)
    assert change["cosine"].tolist() == pytest.approx([1.0] * 3, abs=1e-6)
    assert change["change"].tolist() == pytest.approx([0.0] * 3, abs=1e-6)


def test_a_change_in_layer_1_shows_from_layer_1_on(tiny_model, tiny_tokenizer):
    changed = copy.deepcopy(tiny_model)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, p in changed.named_parameters():
            if ".layer.1." in name and p.ndim == 2:
                p.copy_(torch.randn(p.shape, generator=generator) * 10 * p.std())  # a new, larger layer 1
    change = representation_change(tiny_model, changed, tiny_tokenizer, TEXTS)
    assert change.loc[["embeddings", "layer 0"], "CKA"].tolist() == pytest.approx([1.0, 1.0], abs=1e-6)
    assert change.loc["layer 1", "CKA"] < 0.999 and change.loc["layer 1", "cosine"] < 0.5
    assert change.loc["layer 1", "change"] == pytest.approx(1 - change.loc["layer 1", "CKA"])


def test_representation_change_needs_the_same_architecture(tiny_model, tiny_tokenizer, make_bert):
    deeper = make_bert(hidden_size=tiny_model.config.dim, num_layers=tiny_model.config.n_layers + 1,
                       vocab_size=tiny_model.config.vocab_size)
    with pytest.raises(ValueError, match=r"representations of shape .*same architecture"):
        representation_change(tiny_model, deeper, tiny_tokenizer, TEXTS)


def test_cls_embeddings_have_no_cka(tiny_model, tiny_tokenizer):
    """Every sentence starts with the same first token at the same position: one vector, no CKA."""
    changed = copy.deepcopy(tiny_model)
    with torch.no_grad():
        changed.distilbert.embeddings.word_embeddings.weight.mul_(1.1)
    change = representation_change(tiny_model, changed, tiny_tokenizer, TEXTS, pooling="cls")
    assert math.isnan(change.loc["embeddings", "CKA"])
    assert 0.9 < change.loc["embeddings", "cosine"] < 1.0  # the first token's vector moved a little
    assert change.loc[["layer 0", "layer 1"], "CKA"].notna().all()


def test_rows_equal_up_to_float32_rounding_count_as_constant(tiny_model, tiny_tokenizer):
    """The first token's embedding computed in batches of different padding: equal up to rounding."""
    generator = torch.Generator().manual_seed(0)
    row = torch.randn(1, 8, generator=generator)
    nearly_constant = row + 1e-8 * torch.randn(20, 8, generator=generator)
    with pytest.raises(ValueError, match=r"same for every input"):
        linear_cka(nearly_constant, torch.randn(20, 8, generator=generator))
    change = representation_change(tiny_model, tiny_model, tiny_tokenizer, TEXTS * 3, pooling="cls", batch_size=5)
    assert math.isnan(change.loc["embeddings", "CKA"]) and change.loc["layer 1", "CKA"] == pytest.approx(1.0)
