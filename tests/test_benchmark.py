"""benchmarks/: speed.py (a smoke run with the tiny model and the sample, both modes, the JSON
report), its configurations (the ladder ends with the course's recipe), tables.py (the READMEs'
results tables match the committed results files), and the GPU scripts (no machine's paths)."""

import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def speed():
    yield _load("speed")
    sys.modules.pop("bench_speed", None)


@pytest.fixture(scope="module")
def tables():
    yield _load("tables")
    sys.modules.pop("bench_tables", None)


TINY = ["--checkpoint", "tiny-distilbert", "--data", "sample", "--samples", "32", "--profile", "smoke", "--no-warm-up"]


# ----------------------------------------------------------------------------- speed.py: runs


@pytest.mark.slow
def test_compare_mode_over_two_seeds_writes_table_summary_and_json(speed, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert speed.main([*TINY, "--seeds", "1,2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["seeds"] == [1, 2]
    assert [(r["name"][:3], r["seed"]) for r in report["results"]] == [("(a)", 1), ("(b)", 1), ("(a)", 2), ("(b)", 2)]
    for r in report["results"]:
        assert r["samples"] == 32 and r["train_seconds"] > 0
        assert r["samples_per_second"] == pytest.approx(32 / r["train_seconds"])
        assert 0.0 <= r["val_accuracy"] <= 1.0 and r["peak_memory_mb"] > 0
    a, b = report["results"][:2]
    assert (a["batch_size"], a["precision"], a["optim"], a["batch_order"]) == (8, "fp32", "adamw_torch", "random order")
    assert b["batch_size"] == 32 and "length_grouped_order" in b["batch_order"]
    summary_a, summary_b = report["summary"]
    assert summary_a["runs"] == summary_b["runs"] == 2 and summary_a["speedup"] == 1.0
    runs_b = [r for r in report["results"] if r["name"].startswith("(b)")]
    assert summary_b["val_accuracies"] == [r["val_accuracy"] for r in runs_b]
    assert summary_b["samples_per_second"] == pytest.approx(sum(r["samples_per_second"] for r in runs_b) / 2)
    assert report["speedup_b_over_a"] == pytest.approx(summary_b["speedup"])
    difference = summary_b["val_accuracy_mean"] - summary_a["val_accuracy_mean"]
    assert report["accuracy_b_minus_a"] == pytest.approx(difference)
    assert report["accuracy_meaningful"] is False  # random weights: speed only
    assert report["validation_samples"] == 200 and report["train_samples"] == 32
    assert report["checkpoint"] == "tiny-distilbert" and report["data"] == "sample"  # names only, no machine paths
    printed = capsys.readouterr().out
    assert "over 2 seeds (1, 2)" in printed and "(b)/(a) samples per second" in printed


@pytest.mark.slow
def test_ladder_mode_trains_every_rung_in_its_order(speed, tmp_path, capsys):
    out = tmp_path / "ladder.json"
    assert speed.main([*TINY, "--mode", "ladder", "--json", str(out)]) == 0
    orders = [r["batch_order"] for r in json.loads(out.read_text())["results"]]
    assert orders[0] == "random order" and "group_by_length" in orders[2] and "length_grouped_order" in orders[3]
    assert "recipe / reference settings" in capsys.readouterr().out


@pytest.mark.slow
def test_skip_reference_measures_only_the_recipe(speed, tmp_path, capsys):
    out = tmp_path / "skip.json"
    assert speed.main([*TINY, "--skip-reference", "--variants", "16:2e-3", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["name"][:3] for r in report["results"]] == ["(b)", "(c)"]
    assert report["results"][1]["batch_size"] == 16 and report["results"][1]["learning_rate"] == 2e-3
    assert report["speedup_b_over_a"] is None and report["accuracy_b_minus_a"] is None  # there is no (a)
    assert "(a) left out" in capsys.readouterr().out


# ----------------------------------------------------------------------------- speed.py: configurations


def test_the_ladder_ends_with_the_course_recipe_on_a_cpu(speed, tmp_path):
    from course_utils.settings import get_settings

    settings = get_settings("smoke", env={})
    configs = speed.ladder(str(tmp_path), settings, 64, compile=False, device="cpu")
    first, last = configs[0], configs[-1]
    assert first.kwargs["per_device_train_batch_size"] == 8 and first.kwargs["learning_rate"] == 5e-5
    assert first.order == "random" and first.kwargs["train_sampling_strategy"] == "random"
    by_name = {c.name: c for c in configs}
    assert by_name["+ length-grouped batches, Trainer's order"].kwargs["train_sampling_strategy"] == "group_by_length"
    assert by_name["+ the same batches in random order"].order == "course"
    target = speed.recipe(str(tmp_path), settings, 64, "cpu", compile=False)
    assert speed.recipe_differences(last, target) == {}
    assert speed.recipe_differences(first, target)  # ... and the check sees a difference when there is one
    assert last.kwargs["train_sampling_strategy"] == "sequential" and last.pad_to_multiple_of is None


def test_the_ladder_ends_with_the_course_recipe_on_a_gpu(speed, tmp_path, monkeypatch):
    """The GPU rungs, built (not run) on any machine. TrainingArguments refuses bf16 without a GPU,
    so mixed precision is left out here (the rung stays, empty)."""
    import course_utils.training as training
    from course_utils.settings import get_settings

    monkeypatch.setattr(training, "device_kind", lambda: "cuda")
    for module in (training, speed):
        monkeypatch.setattr(module, "mixed_precision", lambda device=None: {})
    settings = get_settings("smoke", env={})
    configs = speed.ladder(str(tmp_path), settings, 64, compile=True, device="cuda")
    names = [c.name for c in configs]
    assert names[4].startswith("+ mixed precision")
    assert names[5:] == ["+ fused AdamW (adamw_torch_fused)", "+ 2 loader workers, pinned memory",
                         "+ pad to a multiple of 8", "+ torch.compile"]
    last = configs[-1]
    assert last.kwargs["optim"] == "adamw_torch_fused" and last.kwargs["torch_compile"]
    assert last.kwargs["dataloader_num_workers"] == 2 and last.pad_to_multiple_of == 8
    assert configs[0].kwargs["dataloader_pin_memory"] is True  # the reference ran on a GPU too
    assert speed.recipe_differences(last, speed.recipe(str(tmp_path), settings, 64, "cuda", compile=True)) == {}


def test_summary_statistics(speed):
    def result(name, seed, per_second, accuracy):
        return speed.Result(name, 100, 100 / per_second, per_second, 1.0, accuracy, seed=seed)

    summary = speed.summarize([result("a", 1, 10, 0.80), result("b", 1, 30, 0.84),
                               result("a", 2, 20, 0.82), result("b", 2, 60, 0.86)])
    a, b = summary.iloc[0], summary.iloc[1]
    assert (a["samples_per_second"], b["samples_per_second"]) == (15, 45) and b["speedup"] == 3
    assert b["val_accuracy_mean"] == pytest.approx(0.85) and b["val_accuracy_sd"] == pytest.approx(0.0141, abs=1e-4)
    assert speed.b_against_a(summary, True) == pytest.approx((3, 0.04))
    single = speed.summarize([result("a", 1, 10, 0.8)])
    assert single["val_accuracy_sd"].isna().all() and "-" in speed.format_summary(single)


def test_bad_input_says_what_to_write(speed, tmp_path):
    assert speed.parse_seeds("42,43") == [42, 43] and speed.parse_seeds(None) == []
    with pytest.raises(SystemExit, match="whole numbers"):
        speed.parse_seeds("42;43")
    with pytest.raises(SystemExit, match="repeated"):
        speed.parse_seeds("42,42")
    assert speed.parse_variants("64:1e-4,128:2e-4") == [(64, 1e-4), (128, 2e-4)]
    with pytest.raises(SystemExit, match="batch:learning_rate"):
        speed.parse_variants("64-1e-4")
    assert speed.parse_samples("all") is None and speed.parse_samples("2000") == 2000
    for bad in ("0", "many"):
        with pytest.raises(SystemExit, match="'all'"):
            speed.parse_samples(bad)
    with pytest.raises(SystemExit, match="whole numbers"):  # checked before anything is loaded
        speed.main(["--checkpoint", "tiny-distilbert", "--data", str(tmp_path), "--seeds", "x"])


# ----------------------------------------------------------------------------- tables.py


def test_the_readmes_results_tables_match_the_results_files(tables):
    assert tables.main(["--check"]) == 0, "run: python benchmarks/tables.py"
    text = (ROOT / "benchmarks" / "README.md").read_text()
    assert {m["name"] for m in tables.MARKER.finditer(text)} >= {"files", "gpu-epoch", "cpu-ladder", "cpu-budget"}


def test_a_stale_table_fails_the_check_and_an_update_fixes_it(tables, tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("# Results\n\n<!-- results:cpu-ladder:start -->\n| typed | by hand |\n"
                      "<!-- results:cpu-ladder:end -->\n\nafter\n")
    assert tables.main(["--check", str(readme)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert tables.main([str(readme)]) == 0
    text = readme.read_text()
    assert "typed" not in text and "cpu_minilm_ladder_4000_seeds.json" in text and text.endswith("after\n")
    assert tables.main(["--check", str(readme)]) == 0


def test_the_tables_say_where_their_numbers_come_from(tables):
    ladder = tables.TABLES["cpu-ladder"]()
    assert "Source: `results/cpu_minilm_ladder_4000_seeds.json`" in ladder
    # the four rungs, each with a speed-up computed from the file
    data = json.loads((ROOT / "benchmarks/results/cpu_minilm_ladder_4000_seeds.json").read_text())
    speeds = {}
    for r in data["results"]:
        speeds.setdefault(r["name"], []).append(r["samples_per_second"])
    means = [sum(v) / len(v) for v in speeds.values()]
    assert f"{means[-1] / means[0]:.2f}×" in ladder
    files = tables.TABLES["files"]()
    assert files.count("predates the random order") == 6  # the GPU runs among them


def test_unknown_tables_and_undescribed_results_files_are_errors(tables, tmp_path, monkeypatch, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("<!-- results:no-such-table:start -->\n<!-- results:no-such-table:end -->\n")
    with pytest.raises(KeyError, match="unknown table 'no-such-table'"):
        tables.main([str(readme)])
    results = tmp_path / "results"
    shutil.copytree(ROOT / "benchmarks" / "results", results)
    (results / "new_run.json").write_text("{}")
    monkeypatch.setattr(tables, "RESULTS", results)
    assert tables.main(["--check"]) == 1
    assert "new_run" in capsys.readouterr().err
    (results / "new_run.json").unlink()
    (results / "gpu_minilm_epoch.json").unlink()
    with pytest.raises(FileNotFoundError, match="gpu_minilm_epoch.json is missing"):
        tables.TABLES["gpu-epoch"]()


# ----------------------------------------------------------------------------- the GPU scripts


@pytest.mark.parametrize("script", sorted((ROOT / "benchmarks").glob("*.sh")), ids=lambda p: p.name)
def test_gpu_scripts_carry_no_machine_paths(script):
    text = script.read_text()
    absolute = re.findall(r"(?<![\w.$}])/(?:work|home|Users|root|mnt|tmp|opt|srv|data)\b[^\s\"']*", text)
    assert not absolute, f"{script.name} names paths of one machine: {absolute}; use variables with defaults"
    assert "set -u" in text  # an unset variable stops the script instead of writing to '/'
