"""course_utils.settings and sources: profiles (and why), overrides, paths, run identity, the cache folder."""

from __future__ import annotations

import json
import os
import re

import pytest

from course_utils import settings as S
from course_utils import sources
from course_utils.notebook import format_run_card
from course_utils.settings import TINY_CHECKPOINT, get_settings


@pytest.fixture
def start(tmp_path):
    """A folder to start from, with a checkpoint folder, a data folder and two files in it."""
    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "sst2").mkdir()
    for name in ("model.safetensors", "outputs"):
        (tmp_path / name).write_text("a file")
    return tmp_path.resolve()


# --- Profiles, and why a profile was chosen -------------------------------------------------------

def test_each_profile_has_its_checkpoint_data_and_budget():
    smoke, default, cpu = (get_settings(name, env={}) for name in ("smoke", "default", "cpu"))
    assert (smoke.checkpoint, smoke.data, smoke.overridden) == (TINY_CHECKPOINT, "sample", ())  # offline
    for s in (default, cpu):
        assert (s.checkpoint, s.data) == ("distilbert-base-uncased", "hub")
    assert default.max_train_samples is None  # full SST-2
    assert 0 < cpu.max_train_samples < 67_349  # a subset for a laptop
    assert cpu.max_length <= default.max_length
    for s in (smoke, default, cpu):  # each passes its own checks
        assert all(S.check_value(key, getattr(s, key)) == getattr(s, key) for key in S.NUMBERS)


@pytest.mark.parametrize("gpu, profile, reason", [(False, "cpu", "no GPU found"),
                                                  (True, "default", "a CUDA GPU found")])
def test_without_course_profile_the_machine_chooses(set_gpu, gpu, profile, reason):
    set_gpu(gpu)
    for given in (None, "auto", " AUTO "):
        s = get_settings(given, env={"COURSE_PROFILE": "  "})  # blank counts as unset
        assert (s.profile, s.profile_reason) == (profile, reason)
    assert f"{profile} ({reason})" in format_run_card(s)


@pytest.mark.parametrize("gpu", [False, True])
@pytest.mark.parametrize("name", list(S.PROFILES))
def test_course_profile_wins_over_the_machine(set_gpu, gpu, name):
    set_gpu(gpu)
    s = get_settings("auto", env={"COURSE_PROFILE": f" {name.upper()} "})  # case and blanks forgiven
    assert (s.profile, s.profile_reason) == (name, "set by COURSE_PROFILE")
    assert "follows COURSE_PROFILE" in format_run_card(s)


def test_the_profile_argument_wins_and_os_environ_is_read_never_written(set_gpu, monkeypatch):
    set_gpu(False)
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    monkeypatch.setenv("COURSE_EPOCHS", "2")
    s = get_settings()
    assert (s.profile, s.epochs, s.overridden) == ("smoke", 2.0, ("epochs",))
    s = get_settings("default")  # wins over COURSE_PROFILE and over the machine
    assert (s.profile, s.profile_reason) == ("default", "set in the notebook: PROFILE = 'default'")
    assert 'or "auto" to let the course choose' in format_run_card(s)
    assert os.environ["COURSE_PROFILE"] == "smoke"
    monkeypatch.delenv("COURSE_PROFILE")
    assert get_settings("auto").profile == "cpu"


# --- Overrides: environment variables, then keywords, checked alike -------------------------------

@pytest.mark.parametrize("name", [*S.ENV_OVERRIDES, "COURSE_PROFILE", "COURSE_START_DIR"])
def test_an_empty_variable_counts_as_unset(set_gpu, name):
    set_gpu(False)
    for blank in ("", "  ", "\t"):
        assert get_settings("auto", env={name: blank}) == get_settings("auto", env={})


@pytest.mark.parametrize("env, keywords, expected", [
    *[({"COURSE_TRAIN_SAMPLES": raw}, {}, {"max_train_samples": n, "overridden": ("max_train_samples",)})
      for raw, n in [("2000", 2000), (" 8000 ", 8000), ("all", None), ("ALL", None), ("none", None)]],
    *[({"COURSE_EPOCHS": raw}, {}, {"epochs": n})
      for raw, n in [("2", 2.0), ("0.5", 0.5), (" 3 ", 3.0), (".25", 0.25)]],
    ({"COURSE_CHECKPOINT": "bert-base-uncased", "COURSE_DATA": "sample"}, {},  # Hub ids kept as given
     {"checkpoint": "bert-base-uncased", "data": "sample", "overridden": ("checkpoint", "data")}),
    ({"COURSE_EPOCHS": "2", "COURSE_TRAIN_SAMPLES": "100"}, {"epochs": 3.0},  # keywords win, each listed once
     {"epochs": 3.0, "max_train_samples": 100, "overridden": ("max_train_samples", "epochs")}),
    ({}, dict(max_train_samples="all", epochs="0.5", learning_rate="3e-5", seed="7"),  # text read like the variables
     {"max_train_samples": None, "epochs": 0.5, "learning_rate": 3e-5, "seed": 7}),
])
def test_overrides(env, keywords, expected):
    s = get_settings("cpu", env=env, **keywords)
    assert {key: getattr(s, key) for key in expected} == expected


@pytest.mark.parametrize("profile, env, keywords, error, terms", [
    *[("cpu", {"COURSE_TRAIN_SAMPLES": bad}, {}, ValueError,
       rf"COURSE_TRAIN_SAMPLES='{re.escape(bad)}' is not a positive whole.*'all'")
      for bad in ["0", "-5", "1e3", "2.5", "abc", "12k", "000", "1_000"]],
    *[("cpu", {variable: bad}, {}, ValueError, rf"{variable}=.*digits 0-9") for variable in ("COURSE_TRAIN_SAMPLES",
      "COURSE_EPOCHS") for bad in ["²", "٣٠٠", "１０", "3²"]],  # int() and str.isdigit() accept all four
    *[("smoke", {"COURSE_EPOCHS": bad}, {}, ValueError, r"COURSE_EPOCHS=.* not a positive number of epochs.*e\.g\. 1")
      for bad in ["0", "-1", "abc", "one", "nan", "inf", "1" * 400]],
    *[("smoke", {}, {key: value}, ValueError, re.escape(terms)) for key, value, terms in [
        ("epochs", 0, "epochs=0 is not a positive number"),
        ("epochs", float("nan"), "positive number of epochs"),
        ("epochs", True, "positive number of epochs"),
        ("batch_size", 0, "batch_size=0 is not a whole number of at least 1"),
        ("batch_size", 2.5, "batch_size=2.5 is not a whole number"),
        ("learning_rate", -1e-4, "learning_rate=-0.0001 is not a positive learning rate"),
        ("learning_rate", "fast", "positive learning rate"),
        ("max_train_samples", 0, "max_train_samples=0 is not a positive whole number"),
        ("max_length", 1, "max_length=1 is not a whole number of at least 2"),
        ("seed", -1, "seed=-1 is not a whole number from 0"),
        ("seed", 2**32, "seed=4294967296 is not a whole number"),
        ("data", "", "data='' is empty")]],
    *[("smoke", {}, {bad: 1}, TypeError, rf"unknown setting '{bad}'\. Known settings: .*batch_size")
      for bad in ["batchsize", "lr", "overridden", "profile_reason"]],
    *[row for bad in ["gpu", "fast", "smoke-test"] for row in [
        (bad, {}, {}, ValueError, rf"Unknown profile '{bad}'.*default, cpu, smoke"),
        (None, {"COURSE_PROFILE": bad}, {}, ValueError, r"COURSE_PROFILE=.*default, cpu, smoke.*unset it")]],
])
def test_a_bad_value_names_the_setting_and_what_to_set(profile, env, keywords, error, terms):
    with pytest.raises(error, match=terms):
        get_settings(profile, env=env, **keywords)


# --- Paths: relative to the folder the user started from ------------------------------------------

@pytest.mark.parametrize("start_from", ["COURSE_START_DIR", "the current directory"])
def test_relative_paths_start_from_the_start_folder(start, tmp_path_factory, monkeypatch, start_from):
    via_env = start_from == "COURSE_START_DIR"
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere") if via_env else start)  # elsewhere: the notebook's folder
    env = {"COURSE_START_DIR": str(start)} if via_env else {}
    s = get_settings("cpu", env={**env, "COURSE_CHECKPOINT": "models/mine", "COURSE_DATA": "./sst2",
                                 "COURSE_OUTPUT_DIR": "runs"})
    assert (s.checkpoint, s.data, s.output_dir) == (str(start / "models" / "mine"), str(start / "sst2"), start / "runs")
    assert get_settings("cpu", env=env).output_dir == start / "course_outputs"
    for hub_id in ("models/other", "sentence-transformers/all-MiniLM-L6-v2"):  # owner/name not on disk
        assert get_settings("cpu", env={**env, "COURSE_CHECKPOINT": hub_id}).checkpoint == hub_id


@pytest.mark.parametrize("env, keywords, error, terms", [  # "{start}" stands for the start folder
    *[({f"COURSE_{key.upper()}": value}, {}, FileNotFoundError,  # the path tried, how it was set, the way back
       ["{start}/" + value.removeprefix("./"), f"COURSE_{key.upper()}={value!r}", "start from {start}",
        f"profile's {S.PROFILES['smoke'][key]!r}"])
      for key, value in [("checkpoint", "./models/gone"), ("checkpoint", "models/x/y"), ("data", "sst2-copy"),
                         ("data", "./sst2-copy")]],
    ({}, {"checkpoint": "{start}/gone"}, FileNotFoundError, ["{start}/gone does not exist (checkpoint="]),
    ({"COURSE_CHECKPOINT": "model.safetensors"}, {}, NotADirectoryError, ["{start}/model.safetensors", "is a file"]),
    *[row for out in ("outputs", "outputs/runs") for row in [  # refused at once, not after training
        ({"COURSE_OUTPUT_DIR": "{start}/" + out}, {}, NotADirectoryError,
         ["{start}/" + out, f"COURSE_OUTPUT_DIR='{{start}}/{out}'", "outputs is a file", "Set COURSE_OUTPUT_DIR"]),
        ({}, {"output_dir": "{start}/" + out}, NotADirectoryError, ["output_dir=", "outputs is a file"])]],
    ({"COURSE_START_DIR": "{start}/gone"}, {}, FileNotFoundError, ["COURSE_START_DIR='{start}/gone' is not a folder"]),
])
def test_a_bad_path_is_named_with_how_it_was_set(start, env, keywords, error, terms):
    def fill(given):
        return {key: value.format(start=start) for key, value in given.items()}

    with pytest.raises(error) as err:
        get_settings("smoke", env={"COURSE_START_DIR": str(start), **fill(env)}, **fill(keywords))
    for term in terms:
        assert term.format(start=start) in str(err.value), (term, str(err.value))


@pytest.mark.parametrize("problem", ["a file", "not writable"])
def test_an_unusable_course_cache_names_the_variable(tmp_path, monkeypatch, problem):
    cache = tmp_path / "cache"
    if problem == "a file":
        cache.write_text("x")
    else:  # root ignores file modes: os.access stands in for chmod
        monkeypatch.setattr(os, "access", lambda path, mode, **kw: os.fspath(path) != str(cache))
    monkeypatch.setenv("COURSE_CACHE", str(cache))
    with pytest.raises(OSError, match=rf"COURSE_CACHE='{re.escape(str(cache))}'.*Set COURSE_CACHE to a folder"):
        sources.cache_dir()


# --- What is shown and saved: names without paths; run identity and run folder --------------------

def test_display_name_hides_the_path(start, monkeypatch):
    assert sources.display_name(str(start / "models" / "mine")) == "mine (local folder)"
    assert sources.display_name("/home/me/models/x-model") == "x-model (local folder)"
    assert sources.display_name("nyu-mll/glue") == "nyu-mll/glue"  # a Hub id with a slash, not on disk
    monkeypatch.chdir(start)
    assert sources.display_name("models/mine") == sources.display_name("./models/mine") == "mine (local folder)"


def test_identity_has_absolute_folders_and_as_dict_no_paths(start):
    s = get_settings("cpu", env={"COURSE_START_DIR": str(start), "COURSE_CHECKPOINT": "models/mine",
                                 "COURSE_OUTPUT_DIR": "out"}, data=start / "sst2")  # a path as keyword too
    assert (s.identity()["checkpoint"], s.identity()["data"]) == (str(start / "models" / "mine"), str(start / "sst2"))
    assert set(s.identity()) == {"profile", "checkpoint", "data", "max_train_samples", "epochs", "batch_size",
                                 "learning_rate", "max_length", "seed"}
    d = s.as_dict()
    assert str(start) not in json.dumps(d)
    assert (d["checkpoint"], d["data"], d["output_dir"]) == ("mine (local folder)", "sst2 (local folder)", "out")
    assert d["overridden"] == ["checkpoint", "output_dir", "data"]


def test_run_dirs_differ_by_setting_and_are_safe_folder_names(start):
    env = {"COURSE_START_DIR": str(start), "COURSE_OUTPUT_DIR": str(start / "out")}
    (start / "other" / "sst2").mkdir(parents=True)
    settings = [get_settings(p, env=env) for p in ("smoke", "cpu", "default")]
    settings += [get_settings("cpu", env=env, checkpoint="bert-base-uncased"),
                 get_settings("cpu", env=env, checkpoint=start / "models" / "mine"),
                 get_settings("cpu", env=env, seed=7),
                 get_settings("cpu", env=env, max_train_samples=1000),
                 get_settings("cpu", env=env, data=start / "sst2"),
                 get_settings("cpu", env=env, data=start / "other" / "sst2")]  # one name, two folders
    dirs = [s.run_dir for s in settings]
    assert len(set(dirs)) == len(dirs)
    for s, d in zip(settings, dirs):
        assert d.parent == start / "out" and d.name.startswith(f"{s.profile}-")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", d.name), d.name
    assert dirs[4].name.startswith("cpu-mine-")  # a local checkpoint: its folder's name
    assert settings[-1].data_name == settings[-2].data_name == "sst2 (local folder)"
    # How a value was given does not change the run: COURSE_EPOCHS=1 on cpu is cpu's own run.
    assert get_settings("cpu", env={**env, "COURSE_EPOCHS": "1"}).run_dir == dirs[1]
