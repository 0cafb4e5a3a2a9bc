"""Smoke test of benchmarks/speed.py: tiny model, a few steps, both modes, JSON report."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def speed():
    spec = importlib.util.spec_from_file_location("speed", ROOT / "benchmarks" / "speed.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["speed"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("speed", None)


def test_compare_mode_writes_table_and_json(speed, tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = speed.main(["--checkpoint", "tiny-distilbert", "--data", "sample", "--samples", "64",
                       "--profile", "smoke", "--no-warm-up", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    names = [r["name"] for r in report["results"]]
    assert names[0].startswith("(a) old") and names[1].startswith("(b) fast"), names
    for r in report["results"]:
        assert r["samples"] == 64 and r["train_seconds"] > 0
        assert r["samples_per_second"] == pytest.approx(64 / r["train_seconds"])
        assert 0.0 <= r["val_accuracy"] <= 1.0 and r["peak_memory_mb"] > 0
    first, second = report["results"]
    assert report["speedup_b_over_a"] == pytest.approx(second["samples_per_second"] / first["samples_per_second"])
    assert report["accuracy_meaningful"] is False  # random weights: speed only
    assert report["validation_samples"] == 200 and report["train_samples"] == 64
    printed = capsys.readouterr().out
    assert "samples/s" in printed and "(b)/(a) samples per second" in printed
    assert "/" not in report["checkpoint"]  # names only, no machine paths


def test_ladder_ends_with_the_fast_recipe(speed, tmp_path):
    from course_utils.settings import get_settings
    from course_utils.training import fast_training_args, recipe_differences

    settings = get_settings("smoke", env={})
    configs = speed.ladder(str(tmp_path), settings, 64, compile=False)
    assert configs[0].name.startswith("old notebook")
    assert configs[0].args.per_device_train_batch_size == 8 and configs[0].args.train_sampling_strategy == "random"
    fast = fast_training_args(str(tmp_path), settings, num_train_samples=64, evaluations=0)
    differences = recipe_differences(configs[-1].args, fast)
    assert set(differences) <= {"logging_steps", "eval_steps"}, differences
    # Length grouping is measured twice: in the Trainer's long-to-short order, then in the course's random order.
    from transformers import Trainer

    from course_utils.batching import LengthGroupedTrainer

    trainers = {c.name: c.trainer for c in configs}
    assert trainers["+ length-grouped batches, Trainer's order"] is Trainer
    assert trainers["+ the same batches in random order"] is LengthGroupedTrainer
    assert configs[-1].trainer is LengthGroupedTrainer


def test_seeds_give_one_run_each_and_a_summary(speed, tmp_path, capsys):
    out = tmp_path / "seeds.json"
    code = speed.main(["--checkpoint", "tiny-distilbert", "--data", "sample", "--samples", "32",
                       "--profile", "smoke", "--no-warm-up", "--seeds", "1,2", "--json", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert report["seeds"] == [1, 2]
    assert [(r["name"][:3], r["seed"]) for r in report["results"]] == [("(a)", 1), ("(b)", 1), ("(a)", 2), ("(b)", 2)]
    a, b = report["summary"]
    assert a["runs"] == b["runs"] == 2 and a["speedup"] == 1.0
    runs_b = [r for r in report["results"] if r["name"].startswith("(b)")]
    assert b["val_accuracies"] == [r["val_accuracy"] for r in runs_b]
    assert b["samples_per_second"] == pytest.approx(sum(r["samples_per_second"] for r in runs_b) / 2)
    assert b["val_accuracy_sd"] >= 0
    assert report["accuracy_b_minus_a"] == pytest.approx(b["val_accuracy_mean"] - a["val_accuracy_mean"])
    assert "over 2 seeds (1, 2)" in capsys.readouterr().out


def test_summary_statistics(speed):
    def result(name, seed, per_second, accuracy):
        return speed.Result(name, 100, 100 / per_second, per_second, 1.0, accuracy, seed=seed)

    summaries = speed.summarize([result("a", 1, 10, 0.80), result("b", 1, 30, 0.84),
                                 result("a", 2, 20, 0.82), result("b", 2, 60, 0.86)])
    a, b = summaries
    assert (a.samples_per_second, b.samples_per_second) == (15, 45) and b.speedup == 3
    assert b.val_accuracy_mean == pytest.approx(0.85) and b.val_accuracy_sd == pytest.approx(0.0141, abs=1e-4)
    single = speed.summarize([result("a", 1, 10, 0.8)])[0]
    assert single.val_accuracy_sd is None and "-" in speed.format_summary([single])


def test_variants_and_bad_input(speed, tmp_path):
    assert speed.parse_seeds("42,43") == [42, 43] and speed.parse_seeds(None) == []
    with pytest.raises(SystemExit, match="whole numbers"):
        speed.parse_seeds("42;43")
    with pytest.raises(SystemExit, match="repeated"):
        speed.parse_seeds("42,42")
    assert speed.parse_variants("64:1e-4,128:2e-4") == [(64, 1e-4), (128, 2e-4)]
    with pytest.raises(SystemExit, match="batch:learning_rate"):
        speed.parse_variants("64-1e-4")
    with pytest.raises(FileNotFoundError, match="pass --data"):
        speed.load_split(str(tmp_path), "train")


def test_skip_old_measures_only_the_fast_recipe(speed, tmp_path, capsys):
    out = tmp_path / "skip.json"
    assert speed.main(["--checkpoint", "tiny-distilbert", "--data", "sample", "--samples", "32", "--profile", "smoke",
                       "--no-warm-up", "--skip-old", "--variants", "64:2e-3", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert [r["name"][:3] for r in report["results"]] == ["(b)", "(c)"]
    assert report["speedup_b_over_a"] is None and report["accuracy_b_minus_a"] is None  # there is no (a)
    assert "(a) left out" in capsys.readouterr().out
