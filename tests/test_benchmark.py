"""benchmarks/: speed.py (a smoke run with the tiny model and the sample, its record, its configurations),
tables.py (the READMEs' tables match the results files, by the rule of course_utils.stats), the GPU scripts."""

import importlib
import re
import shutil
from pathlib import Path

import pytest

from course_utils.files import read_json, write_json

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"
TINY = ["--checkpoint", "tiny-distilbert", "--data", "sample", "--samples", "32", "--profile", "smoke", "--no-warm-up"]


@pytest.fixture(scope="module")
def bench():
    """benchmarks/speed.py and tables.py, imported as their scripts run (benchmarks/ on sys.path)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(BENCHMARKS))
        yield importlib.import_module("speed"), importlib.import_module("tables")


@pytest.fixture
def results_copy(bench, tmp_path, monkeypatch):
    """A copy of the results folder that read_results reads instead of the shipped one."""
    folder = tmp_path / "results"
    shutil.copytree(bench[1].results.results_dir(), folder)
    monkeypatch.setattr(bench[1].results, "results_dir", lambda: folder)
    return folder


# --- speed.py -------------------------------------------------------------------------------------

@pytest.mark.slow
def test_compare_mode_over_two_seeds_writes_the_record(bench, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench[0].main([*TINY, "--seeds", "1,2", "--json", str(out), "--what", "a smoke run"]) == 0
    record = read_json(out)
    assert {*bench[1].SPEED_KEYS, "data", "code"} <= set(record)  # what tables.py reads, and the grid's shape
    assert record["device"]["kind"] == "cpu" and record["device"]["threads"] >= 1
    assert (record["checkpoint"], record["data"], record["seeds"], record["what"]) == ("tiny-distilbert", "sample",
                                                                                      [1, 2], "a smoke run")
    assert [(r["name"][:3], r["seed"]) for r in record["runs"]] == [("(a)", 1), ("(b)", 1), ("(a)", 2), ("(b)", 2)]
    for r in record["runs"]:
        assert r["samples"] == 32 and r["samples_per_second"] == pytest.approx(32 / r["seconds"])
        assert 0 <= r["validation"] <= 1 and r["peak_memory_mb"] > 0
    a, b = record["runs"][:2]
    assert (a["batch_size"], a["learning_rate"], a["precision"], a["optim"], a["batch_order"]) == (
        8, 5e-5, "fp32", "adamw_torch", "random order")
    assert b["batch_size"] == 32 and "order_by_length" in b["batch_order"] and b["optim"] != "adamw_torch"
    assert "the recipe's accuracy minus the reference's: " in capsys.readouterr().out  # the rule, over two seeds


@pytest.mark.slow
def test_ladder_mode_trains_every_rung_in_its_order(bench, tmp_path, capsys):
    out = tmp_path / "ladder.json"
    assert bench[0].main([*TINY, "--mode", "ladder", "--json", str(out), "--what", "a smoke ladder"]) == 0
    runs = read_json(out)["runs"]
    assert [r["batch_order"].split()[0] for r in runs] == ["random", "random", "the", "length-grouped",
                                                           "length-grouped"]
    assert "accuracy not compared: the rule needs two seeds" in capsys.readouterr().out


@pytest.mark.slow
def test_skip_reference_measures_only_the_recipe(bench, tmp_path, capsys):
    out = tmp_path / "skip.json"
    assert bench[0].main([*TINY, "--skip-reference", "--variants", "16:2e-3", "--json", str(out), "--what", "x"]) == 0
    runs = read_json(out)["runs"]
    assert [(r["name"][:3], r["batch_size"], r["learning_rate"]) for r in runs] == [("(b)", 32, 1e-3),
                                                                                   ("(c)", 16, 2e-3)]
    assert "minus the reference" not in capsys.readouterr().out  # no reference to compare with


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_the_ladder_starts_at_the_reference_and_ends_at_the_recipe(bench, device):
    """Built, not run, so the GPU ladder is checked on any machine."""
    from course_utils.settings import get_settings

    speed = bench[0]
    configs = speed.ladder(get_settings("smoke", env={}), device, compile=True)
    assert configs[0][1] == speed.reference(device, compile=True)
    assert configs[0][1]["per_device_train_batch_size"] == 8 and configs[0][1]["order"] == "random"
    assert configs[-1][1] == {}  # no override left: the recipe itself
    names = [name for name, _ in configs]
    assert names[2] == "+ length-grouped batches, the Trainer's order"
    assert configs[2][1]["train_sampling_strategy"] == "group_by_length"
    assert names[4:] == (["+ the Trainer's default optimizer"] if device == "cpu" else [
        "+ mixed precision", "+ the Trainer's default optimizer", "+ 2 loader workers", "+ pad to a multiple of 8",
        "+ torch.compile (compilation time included)"])


def test_bad_input_says_what_to_write(bench, capsys):
    speed = bench[0]
    for argument, value, words in (("--seeds", "42;43", "whole numbers"), ("--seeds", "42,42", "repeated"),
                                   ("--variants", "64-1e-4", "batch:learning_rate"), ("--samples", "0", "'all'"),
                                   ("--samples", "many", "'all'"), ("--json", "out.json", "--json needs --what")):
        with pytest.raises(SystemExit):  # before anything is loaded
            speed.main(["--checkpoint", "tiny-distilbert", "--data", "sample", argument, value])
        assert words in capsys.readouterr().err
    assert speed.parse_seeds("42,43") == [42, 43] and speed.parse_samples("all") is None
    assert speed.parse_variants("64:1e-4,128:2e-4") == [(64, 1e-4), (128, 2e-4)]


# --- tables.py ------------------------------------------------------------------------------------

def test_the_readmes_results_tables_match_the_results_files(bench):
    assert bench[1].main(["--check"]) == 0, "run: python benchmarks/tables.py"


def test_a_stale_table_fails_the_check_and_an_update_fixes_it(bench, tmp_path, capsys):
    tables, readme = bench[1], tmp_path / "README.md"
    readme.write_text("# Results\n\n<!-- results:cpu-ladder:start -->\n| typed | by hand |\n"
                      "<!-- results:cpu-ladder:end -->\n\nafter\n")
    assert tables.main(["--check", str(readme)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert tables.main([str(readme)]) == 0
    text = readme.read_text()
    assert "typed" not in text and "cpu_minilm_ladder_4000_seeds.json" in text and text.endswith("after\n")
    assert tables.main(["--check", str(readme)]) == 0


def test_the_tables_apply_the_rule(bench):
    """The committed measurements: a +0.021 gap over three seeds is not a win; a consistent -0.007 is."""
    ladder = bench[1].TABLES["cpu-ladder"]()
    assert "| +0.021 (-0.021 to +0.063): the seeds cannot tell them apart |" in ladder
    assert "lr 1e-4 minus (a), paired by seed (42–44): -0.007 (-0.014 to -0.001): (a) beats it." in (
        bench[1].TABLES["cpu-budget"]())


def test_the_strategies_table_reads_the_grid(bench, results_copy, grid_record):
    accuracies = {"features": (0.79, 0.83, 0.80), "full": (0.80, 0.82, 0.81), "head": (0.70, 0.71, 0.72)}
    write_json(results_copy / "strategies_cpu_minilm.json", grid_record(accuracies, seeds=(42, 43, 44)))
    table = bench[1].TABLES["strategies"]()
    assert "best full (0.810); the seeds cannot tell it apart from features +0.003 (" in table
    assert "; it beats head +0.100 (+0.075 to +0.125)." in table and "| full | 0.810 ± 0.010 |" in table
    pending = grid_record(accuracies, seeds=(42, 43, 44))
    pending["strategies"].append("lora")  # a strategy of the grid not measured yet at this size
    write_json(results_copy / "strategies_cpu_minilm.json", pending)
    table = bench[1].TABLES["strategies"]()
    assert "**100 sentences**: still being measured (3 of 4 strategies done); no verdict yet." in table
    assert "best full" not in table, "a verdict among the strategies measured so far would crown the wrong one"


def test_columns_of_numbers_are_right_aligned_whatever_their_notation(bench):
    import pandas as pd

    frame = pd.DataFrame({"strategy": ["full", "lora"], "rate": ["3e-05", "0.001"], "accuracy": ["0.8 ± 0.1", "–"]})
    assert bench[1].markdown(frame).splitlines()[1] == "|---|---:|---:|"


def test_bad_results_files_and_markers_are_errors(bench, results_copy, tmp_path):
    tables, readme = bench[1], tmp_path / "README.md"
    readme.write_text("<!-- results:no-such-table:start -->\n<!-- results:no-such-table:end -->\n")
    with pytest.raises(KeyError, match="unknown table 'no-such-table'"):
        tables.main([str(readme)])
    write_json(results_copy / "new_run.json", {"checkpoint": "x"})  # not written by speed.py
    with pytest.raises(KeyError, match="new_run.json has no 'device'"):
        tables.TABLES["files"]()
    old_grid = dict(checkpoint="x", device="CPU", seeds=[42], sizes=[100], tuning_sentences=1, chosen={}, results=[])
    write_json(results_copy / "strategies_cpu_minilm.json", old_grid)
    with pytest.raises(KeyError, match="strategies_cpu_minilm.json has no 'majority'"):
        tables.TABLES["strategies"]()
    (results_copy / "gpu_minilm_epoch.json").unlink()
    with pytest.raises(FileNotFoundError, match="gpu_minilm_epoch"):
        tables.TABLES["gpu-epoch"]()


# --- the GPU scripts ------------------------------------------------------------------------------

@pytest.mark.parametrize("script", sorted(BENCHMARKS.glob("*.sh")), ids=lambda p: p.name)
def test_gpu_scripts_carry_no_machine_paths(script):
    text = script.read_text()
    absolute = re.findall(r"(?<![\w.$}])/(?:work|home|Users|root|mnt|tmp|opt|srv|data)\b[^\s\"']*", text)
    assert not absolute, f"{script.name} names paths of one machine: {absolute}; use variables with defaults"
    assert "set -u" in text  # an unset variable stops the script instead of writing to '/'


# --- budget_check.py ----------------------------------------------------------------------------------

def with_steps(record, max_steps=250):
    for r in record["runs"]:
        r.update(max_steps=max_steps, best_step=max_steps - 25)
    return record


def test_the_budget_check_table_pairs_the_longer_runs_with_the_grids(bench, results_copy, grid_record):
    write_json(results_copy / "strategies_cpu_minilm.json",
               with_steps(grid_record({"head": (0.70, 0.71, 0.72), "full": (0.8, 0.8, 0.8)}, seeds=(42, 43, 44))))
    check = {"grid": "strategies_cpu_minilm", "factor": 2, "checkpoint": "tiny", "seeds": [42, 43, 44],
             "cells": [["head", 100]],
             "runs": [{"strategy": "head", "size": 100, "value": 3e-4, "seed": seed, "validation": accuracy,
                       "max_steps": 500, "best_step": best} for seed, accuracy, best in
                      ((42, 0.72, 500), (43, 0.74, 400), (44, 0.73, 300))]}
    write_json(results_copy / "budget_check_cpu_minilm.json", check)
    table = bench[1].TABLES["budget-check"]()
    assert "| head | 100 | 250 → 500 | 0.710 | 0.730 | 1 of 3 |" in table  # one longer run still improving
    assert "+0.020 (-0.005 to +0.045): no difference shown between longer and grid |" in table
    check["runs"] = check["runs"][:1]  # one seed: nothing to pair
    write_json(results_copy / "budget_check_cpu_minilm.json", check)
    assert "| 1 seed: not compared |" in bench[1].TABLES["budget-check"]()


@pytest.mark.parametrize("argv, words", [
    (["--cells", "head"], "'head' is not STRATEGY:SIZE"),
    (["--cells", "tfidf:1000"], "tfidf is a logistic regression"),
    (["--cells", "head:123"], "no chosen value for head at 123"),
    (["--cells", "head:1000", "--factor", "1"], None),
])
def test_the_budget_check_refuses_bad_arguments_before_loading_anything(monkeypatch, tmp_path, argv, words):
    from course_utils import grid

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    script = importlib.import_module("budget_check")
    monkeypatch.setattr(grid, "prepare", lambda *args: pytest.fail("the arguments were checked too late"))
    with pytest.raises(SystemExit, match=words) as stop:
        script.main(["--checkpoint", "tiny-distilbert", "--data", "sample", "--out", str(tmp_path / "c.json"), *argv])
    assert stop.value.code != 0


@pytest.mark.slow
def test_the_budget_check_trains_the_grids_cells_longer_and_resumes(bench, results_copy, grid_record, tmp_path,
                                                                    monkeypatch, capsys):
    from course_utils import grid
    from course_utils.settings import get_settings

    monkeypatch.syspath_prepend(str(BENCHMARKS))
    script = importlib.import_module("budget_check")
    settings = get_settings("smoke", env={}, checkpoint="tiny-distilbert", data="sample")
    steps = grid.budget(100, settings.batch_size).max_steps
    record = with_steps(grid_record({"head": (0.5, 0.5)}, seeds=(1, 2)), steps)
    record.update(checkpoint=settings.checkpoint_name, data=settings.data_name, batch_size=settings.batch_size,
                  max_length=settings.max_length)
    write_json(results_copy / "strategies_cpu_minilm.json", record)
    out, argv = tmp_path / "check.json", ["--checkpoint", "tiny-distilbert", "--data", "sample", "--profile", "smoke",
                                          "--cells", "head:100", "--out"]
    assert script.main([*argv, str(out)]) == 0
    check = read_json(out)
    assert [r["seed"] for r in check["runs"]] == [1, 2] and check["cells"] == [["head", 100]]
    assert {r["max_steps"] for r in check["runs"]} == {grid.budget(100, settings.batch_size, scale=2).max_steps}
    monkeypatch.setattr(grid, "run", lambda *args, **kwargs: pytest.fail("a finished run was trained again"))
    assert script.main([*argv, str(out)]) == 0  # resumed: nothing left to train
    with pytest.raises(SystemExit, match="holds a check of strategies_cpu_minilm at factor 2"):
        script.main([*argv, str(out), "--factor", "3"])
    record["max_length"] += 1  # a grid measured otherwise: the check would not be comparable
    write_json(results_copy / "strategies_cpu_minilm.json", record)
    with pytest.raises(SystemExit, match="differ from the grid in max_length"):
        script.main([*argv, str(tmp_path / "other.json")])


def test_merging_budget_checks_joins_their_cells_and_refuses_overlaps(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    script = importlib.import_module("budget_check")
    base = {"grid": "strategies_cpu_minilm", "factor": 2, "checkpoint": "c", "data": "d", "seeds": [1, 2],
            "tuning_sentences": 50, "batch_size": 8, "max_length": 32}
    run = {"size": 100, "value": 1e-3, "validation": 0.7}
    parts = {"a": {**base, "cells": [["head", 100]], "runs": [{**run, "strategy": "head", "seed": s} for s in (1, 2)]},
             "b": {**base, "cells": [["full", 100]], "runs": [{**run, "strategy": "full", "seed": 1}]}}
    for name, part in parts.items():
        write_json(tmp_path / f"{name}.json", part)
    out = tmp_path / "merged.json"
    assert script.main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(out)]) == 0
    merged = read_json(out)
    assert merged["cells"] == [["head", 100], ["full", 100]] and len(merged["runs"]) == 3
    with pytest.raises(SystemExit, match=r"both hold the run \('head', 100, 0.001, 1\)"):
        script.main(["--merge", str(tmp_path / "a.json"), str(out), "--out", str(tmp_path / "again.json")])
    write_json(tmp_path / "b.json", {**parts["b"], "factor": 3})
    with pytest.raises(SystemExit, match="another grid or factor.*factor differ"):
        script.main(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(out)])
