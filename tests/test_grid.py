"""course_utils.grid (the protocol: budget, ladder, sweep, resumable grid) and course_utils.results' reading of it.

The sweep and the grid are tested with deterministic fake runs: what they decide depends only on
the scores they see. One slow test trains for real through grid.run.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import re
import types
from pathlib import Path

import pytest

from course_utils import grid, results
from course_utils.files import json_roundtrip, read_json
from course_utils.grid import LIMITS, MAX_EXTENSIONS, budget, ladder, loss_fell, sweep
from course_utils.settings import get_settings


def test_budget_eight_epochs_within_bounds_and_its_floor():
    small = budget(100, 32)  # 3 whole batches per epoch: the least, 250 steps
    assert (small.max_steps, small.eval_steps, small.steps_per_epoch, small.floor) == (250, 25, 3, 125)
    assert small.epochs == 84  # the order holds enough epochs of data for every step
    assert [budget(n, 32).max_steps for n in (3_000, 10_000, 67_349)] == [8 * 93, 1_000, 67_349 // 32]
    assert budget(32, 8, least=4, most=4).floor == 4  # never above the budget itself


@pytest.mark.parametrize("n", [31, 2.5, True, None])
def test_budget_needs_at_least_one_batch(n):
    with pytest.raises(ValueError, match=f"n={n!r}.*at least one batch"):
        budget(n, 32)


def test_the_ladder_steps_1_3_10():
    assert [ladder(v, up=True) for v in (1e-4, 3e-4, 1.0, 3.0)] == [3e-4, 1e-3, 3.0, 10.0]
    assert [ladder(v, up=False) for v in (1e-4, 3e-4, 1.0, 0.3)] == [3e-5, 1e-4, 0.3, 0.1]


def fake_sweep(strategy, score, seeds=(1, 2), diverges=lambda value, seed: False):
    """Run ``sweep`` with runs whose tuning accuracy is ``score(value, seed)`` and whose training loss falls
    unless ``diverges(value, seed)``; return its choice and the runs."""
    runs, calls = [], []

    def ensure(strategy_, size, value, seed):
        calls.append((value, seed))
        losses = [[25, 0.6], [250, 0.65 if diverges(value, seed) else 0.01]]
        runs.append({"strategy": strategy_, "size": size, "value": value, "seed": seed, "tuning": score(value, seed),
                     "losses": losses})
        return runs[-1]

    return sweep(strategy, None, 100, list(seeds), runs, ensure), calls


def peak_at(best, slope=0.1):
    return lambda value, seed: 0.9 - slope * abs(math.log10(value / best))


def test_a_winner_at_the_edge_extends_the_sweep_until_it_is_interior():
    chosen, calls = fake_sweep("full", peak_at(1e-3))  # starts from 3e-5, 1e-4, 3e-4
    assert chosen == 1e-3
    assert calls == [(3e-5, 1), (1e-4, 1), (3e-4, 1), (1e-3, 1), (3e-3, 1)]


def test_close_values_get_a_second_seed_and_the_best_mean_wins():
    scores = {(1e-3, 1): 0.70, (3e-3, 1): 0.80, (1e-2, 1): 0.79, (3e-3, 2): 0.74, (1e-2, 2): 0.80, (3e-2, 1): 0.60}
    chosen, calls = fake_sweep("head", lambda value, seed: scores[value, seed])
    assert chosen == 1e-2  # second on the first seed, first on the mean; then 3e-2 shows it is interior
    assert calls == list(scores)
    assert fake_sweep("head", lambda value, seed: 0.8, seeds=(1,))[0] == 3e-3  # a tie: the middle value


def test_a_value_whose_training_loss_did_not_fall_is_never_chosen():
    """Scratch at n=100 on the real grid: 1e-3 scored best on the tuning slice by luck while its loss rose."""
    scores = {1e-4: 0.568, 3e-4: 0.563, 1e-3: 0.583}
    chosen, calls = fake_sweep("scratch", lambda value, seed: scores.get(value, 0.55),
                               diverges=lambda value, seed: value >= 1e-3 and seed == 2)
    assert chosen in (1e-4, 3e-4) and (1e-3, 2) in calls  # the second seed showed 1e-3 diverging
    assert loss_fell({"losses": [[25, 0.6], [250, 0.1]]}) and loss_fell({"tuning": 0.7})  # logistic regressions
    assert not loss_fell({"losses": [[25, 0.57], [250, 0.65]]})


def test_the_sweep_stops_at_the_limits_and_after_max_extensions():
    chosen, calls = fake_sweep("head", lambda value, seed: 0.5 + 0.05 * math.log10(value))  # higher is better
    assert chosen == max(v for v, _ in calls) == LIMITS["learning rate"][1]
    chosen, calls = fake_sweep("tfidf", lambda value, seed: 0.5 - 0.05 * math.log10(value))  # lower C is better
    assert len(calls) == 3 + MAX_EXTENSIONS and chosen == min(v for v, _ in calls) == 0.01


def fake_run(calls, scores=None):
    """A grid's run_one: tuning accuracy ``scores[value, seed]``, or else peaking at head 3e-3 and tfidf C=3."""
    def run_one(strategy, bench, size, seed, value):
        calls.append((strategy, size, value, seed))
        peak = peak_at({"head": 3e-3, "tfidf": 3.0}[strategy])(value, seed) + seed / 1000
        tuning = scores[value, seed] if scores else peak
        return {"tuning": tuning, "validation": tuning, "seconds": 1.0}

    return run_one


def fake_grid(record, run_one, sizes=(100, 200), strategies=("head", "tfidf"), save=lambda record: None):
    return grid.grid(None, list(sizes), list(strategies), [1, 2, 3], record, save=save, log=lambda line: None,
                     run_one=run_one)


def test_the_grid_sweeps_every_size_and_resumes_without_rerunning():
    calls, saved, again = [], [], []
    record = fake_grid({}, fake_run(calls), save=lambda r: saved.append(len(r["runs"])))
    assert record["chosen"] == {"head": {"100": 3e-3, "200": 3e-3}, "tfidf": {"100": 3.0, "200": 3.0}}
    assert len(calls) == len(record["runs"]) == 2 * 2 * (3 + 2)  # three values, then the two other seeds
    assert set(saved) == set(range(1, len(calls) + 1))  # saved after each run
    assert fake_grid(json_roundtrip(record), fake_run(again)) == json_roundtrip(record) and again == []

    interrupted = copy.deepcopy(record)
    del interrupted["runs"][-3:], interrupted["chosen"]["tfidf"]["200"]
    fake_grid(interrupted, fake_run(again))
    assert again == calls[-3:] and interrupted == record


def test_a_resumed_sweep_repeats_itself_although_the_record_holds_its_final_runs():
    # 3e-3 and 1e-2 are close on seed 1, the second seed picks 3e-3, and 3e-3's final third seed is poor: a
    # sweep that counted that later run on resuming would choose again, and differently.
    scores = {(1e-3, 1): .70, (3e-3, 1): .80, (1e-2, 1): .79, (3e-3, 2): .80, (1e-2, 2): .78, (3e-3, 3): .60,
              (3e-2, 1): .95, (1e-2, 3): .90}
    calls = []
    run_one = fake_run(calls, scores)
    record = fake_grid({}, run_one, sizes=[100], strategies=["head"])
    assert record["chosen"] == {"head": {"100": 3e-3}} and ("head", 100, 3e-3, 3) in calls
    calls.clear()
    assert fake_grid(json_roundtrip(record), run_one, sizes=[100], strategies=["head"]) == record
    assert calls == []


@pytest.mark.parametrize("strategy, value, words", [
    ("adapters", 1e-3, "Unknown strategy 'adapters'"), ("tfidf", 0.0, "positive C"),
    *[("full", v, "positive learning rate") for v in (0, -1e-3, math.inf, True)]])
def test_run_refuses_unknown_strategies_and_bad_values(strategy, value, words):
    with pytest.raises(ValueError, match=words):
        grid.run(strategy, None, 100, 1, value)


def test_run_refuses_a_bench_without_tuning_rows():
    rows = types.SimpleNamespace
    with pytest.raises(ValueError, match="0 tuning and 9 validation rows.*grid.prepare"):
        grid.run("tfidf", rows(tuning=rows(num_rows=0), validation=rows(num_rows=9)), 100, 1, 1.0)


@pytest.mark.parametrize("argv, error, words", [
    (["--sizes", "100,zero"], SystemExit, "--sizes='100,zero': give values separated by commas"),
    (["--seeds", "0"], SystemExit, "--seeds='0'"),
    (["--strategies", "full,adapters"], ValueError, "Unknown strategy 'adapters'"),
])
def test_the_grid_script_refuses_bad_arguments_before_loading_anything(monkeypatch, tmp_path, argv, error, words):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    script = importlib.import_module("strategies")
    monkeypatch.setattr(grid, "prepare", lambda *args: pytest.fail("the arguments were checked too late"))
    with pytest.raises(error, match=words):
        script.main(["--checkpoint", "tiny-distilbert", "--data", "sample", "--out", str(tmp_path / "g.json"), *argv])


def grid_part(grid_record, accuracies, size, path):
    """A part file of a grid run with --sizes SIZE --strategies (the keys of accuracies)."""
    part = grid_record(accuracies)
    for r in part["runs"]:
        r["size"] = size
    part.update(sizes=[size], chosen={s: {str(size): 3e-4} for s in accuracies}, budgets={str(size): {}}, code="abc")
    path.write_text(json.dumps(part))
    return path


def test_merging_parts_keeps_every_strategy_so_a_size_missing_one_stays_pending(monkeypatch, tmp_path, grid_record):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    script = importlib.import_module("strategies")
    a = grid_part(grid_record, {"head": (0.8, 0.8, 0.8)}, 100, tmp_path / "a.json")
    b = grid_part(grid_record, {"tfidf": (0.7, 0.7, 0.7)}, 300, tmp_path / "b.json")
    c = grid_part(grid_record, {"head": (0.8, 0.8, 0.8)}, 300, tmp_path / "c.json")
    assert script.main(["--merge", str(a), str(b), str(c), "--out", str(tmp_path / "grid.json")]) == 0
    merged = read_json(tmp_path / "grid.json")
    assert merged["strategies"] == ["tfidf", "head"] and merged["sizes"] == [100, 300]
    assert merged["chosen"] == {"tfidf": {"300": 3e-4}, "head": {"100": 3e-4, "300": 3e-4}}
    assert merged["device"]["processes"] == 3 and len(merged["runs"]) == 3 * 5
    done = results.complete(merged)
    assert done["sizes"] == [300] and done["pending"] == [100]  # tfidf never ran at 100
    d = grid_part(grid_record, {"head": (0.8, 0.8, 0.8)}, 30, tmp_path / "d.json")  # a smaller size, merged last
    assert script.main(["--merge", str(c), str(d), "--out", str(tmp_path / "grid.json")]) == 0
    assert list(read_json(tmp_path / "grid.json")["chosen"]["head"]) == ["30", "300"]  # sizes in order, as tables show


def test_resuming_with_other_strategies_adds_to_the_records_list(monkeypatch, tmp_path):
    """A part resumed with --strategies full keeps the strategies it ran before (a merge reads that list)."""
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    script = importlib.import_module("strategies")
    monkeypatch.setattr(grid, "prepare", lambda *args: types.SimpleNamespace(majority=lambda: 0.5))
    monkeypatch.setattr(grid, "grid", lambda bench, sizes, strategies, seeds, record, save, log: record.update(
        runs=[], chosen={}))
    out = tmp_path / "part.json"
    argv = ["--checkpoint", "tiny-distilbert", "--data", "sample", "--sizes", "100", "--out", str(out)]
    script.main([*argv, "--strategies", "head,tfidf"])
    script.main([*argv, "--strategies", "full"])
    assert read_json(out)["strategies"] == ["tfidf", "head", "full"]


def test_merging_refuses_a_run_held_by_two_parts_and_another_protocol(monkeypatch, tmp_path, grid_record):
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    script = importlib.import_module("strategies")
    a = grid_part(grid_record, {"head": (0.8, 0.8, 0.8)}, 100, tmp_path / "a.json")
    again = grid_part(grid_record, {"head": (0.8, 0.8, 0.8)}, 100, tmp_path / "again.json")
    with pytest.raises(SystemExit, match=r"a\.json and .*again\.json both hold the run \('head', 100, 0\.0001, 1\)"):
        script.main(["--merge", str(a), str(again), "--out", str(tmp_path / "grid.json")])
    other = json.loads(again.read_text())
    other["seeds"] = [1, 2]
    again.write_text(json.dumps(other))
    with pytest.raises(SystemExit, match=r"again\.json ran another protocol .*\(seeds differ\)"):
        script.main(["--merge", str(a), str(again), "--out", str(tmp_path / "grid.json")])
    assert not (tmp_path / "grid.json").exists()


# --- reading results: read_results, and a grid's summary, compare_at, check_grid -------------------

def test_read_results_reads_the_shipped_files_by_name(monkeypatch, tmp_path):
    assert results.read_results("gpu_minilm_epoch") == read_json(results.results_dir() / "gpu_minilm_epoch.json")
    for name in ("../README", "", "a b", None):
        with pytest.raises(ValueError, match="not the name of a results file"):
            results.read_results(name)
    with pytest.raises(FileNotFoundError, match="No results file 'nothing'; the course ships .*gpu_minilm_epoch"):
        results.read_results("nothing")
    (tmp_path / "cut.json").write_text('{"runs": [')
    monkeypatch.setattr(results, "results_dir", lambda: tmp_path)
    with pytest.raises(ValueError, match=r"cut\.json is not readable JSON.*git checkout"):
        results.read_results("cut")


#: Validation accuracy by seed (grid_record: a sweep over three values, all seeds at the middle one).
ACCURACIES = {"head": (0.81, 0.82, 0.83), "scratch": (0.52,) * 3}  # scratch at the majority share: allowed, a floor


def final(record, strategy, seed=1):
    return next(r for r in record["runs"] if r["strategy"] == strategy and r["value"] == 3e-4 and r["seed"] == seed)


def test_summary_and_compare_at_read_the_final_runs_only(grid_record):
    record = grid_record(ACCURACIES)
    table = results.summary(record)
    assert table.index.tolist() == [("head", 100), ("scratch", 100)]
    assert table.loc[("head", 100), ["accuracy", "sd", "value", "steps"]].tolist() == pytest.approx([0.82, 0.01, 3e-4,
                                                                                                     200])
    difference = results.compare_at(record, 100, "head", "scratch")
    assert difference.seeds == (1, 2, 3) and difference.mean == pytest.approx(0.30)
    assert difference.verdict("head", "scratch") == "head beats scratch"


@pytest.mark.parametrize("damage, words", [
    (lambda r: r["chosen"]["head"].update({"100": 1e-3}), "head at n=100: the chosen learning rate 0.001 is at the"),
    (lambda r: final(r, "head").update(positive_share=0.99), "head at n=100, seed 1: .*99% called positive.*collapse"),
    (lambda r: r["runs"][0].update(steps=100), "head at n=100, 0.0001, seed 1: 100 steps, below the floor of 125"),
    (lambda r: final(r, "scratch").update(losses=[[25, 0.7], [200, 0.69]]), "scratch at n=100, seed 1: .*did not fall"),
    (lambda r: r["runs"].remove(final(r, "head", seed=2)), "head at n=100: 2 final runs for 3 seeds"),
], ids=["edge", "collapse", "below floor", "flat loss", "missing seed"])
def test_check_grid_flags_what_would_make_a_conclusion_wrong(grid_record, damage, words):
    assert results.check_grid(grid_record(ACCURACIES)) == []
    record = grid_record(ACCURACIES)
    damage(record)
    problems = results.check_grid(record)
    assert any(re.search(words, p) for p in problems), problems


# --- the real thing ---------------------------------------------------------------------------------

@pytest.mark.slow
def test_run_trains_a_network_and_fits_a_linear_model(tmp_path):
    settings = get_settings("smoke", env={}, output_dir=tmp_path, batch_size=8, max_length=32)
    bench = grid.prepare(settings, tuning_size=100)
    assert bench.tuning.num_rows == 100 and bench.pool.num_rows == 1_900 and 0.5 <= bench.majority() < 1
    with pytest.raises(ValueError, match="more than the 1,900 sentences"):
        bench.subset(2_000, seed=1)

    head = grid.run("head", bench, 64, seed=1, value=1e-3)  # the tiny model learns nothing: fields and bounds only
    plan = budget(64, 8)
    assert all(0 <= head[key] <= 1 for key in ("tuning", "validation", "positive_share"))
    assert (head["max_steps"], head["floor"]) == (plan.max_steps, plan.floor)
    assert plan.floor <= head["steps"] <= plan.max_steps and head["best_step"] <= head["steps"]
    assert head["losses"] and head["evals"] and 0 < head["trainable"] and "model" not in head
    assert max(step for step, _ in head["evals"]) <= head["steps"]
    longer = budget(64, 8, least=40, most=40)  # another budget: what benchmarks/budget_check.py passes
    assert longer.max_steps != plan.max_steps
    assert grid.run("head", bench, 64, seed=1, value=1e-3, plan=longer)["max_steps"] == longer.max_steps

    for strategy in ("tfidf", "features"):
        linear = grid.run(strategy, bench, 64, seed=1, value=1.0, keep_model=True)
        assert all(0 <= linear[key] <= 1 for key in ("tuning", "validation", "positive_share"))
        assert linear["trainable"] > 1 and linear["seconds"] >= 0 and linear["model"] is not None
    with pytest.raises(ValueError, match="Lower tuning_size"):
        grid.prepare(settings, tuning_size=1_500)
