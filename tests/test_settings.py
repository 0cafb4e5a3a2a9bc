"""course_utils.settings and sources: profiles (and why), overrides, paths, run identity, the cache folder."""

from __future__ import annotations

import json
import os
import re

import pytest

from course_utils import notebook, sources
from course_utils import settings as S
from course_utils.notebook import format_run_card
from course_utils.settings import TINY_CHECKPOINT, get_settings
from course_utils.sources import display_name


@pytest.fixture
def no_gpu(monkeypatch):
    for module in (S, notebook):  # the profile's choice and the run card's Colab warning
        monkeypatch.setattr(module, "cuda_available", lambda: False)


@pytest.fixture
def gpu(monkeypatch):
    for module in (S, notebook):
        monkeypatch.setattr(module, "cuda_available", lambda: True)


@pytest.fixture
def start(tmp_path):
    """A folder to start from, with a checkpoint folder and a data folder in it."""
    (tmp_path / "models" / "mine").mkdir(parents=True)
    (tmp_path / "sst2").mkdir()
    return tmp_path


# ---------------------------------------------------------------------------------------
# Profiles, and why a profile was chosen


def test_smoke_profile_is_offline_tiny_model_and_sample():
    s = get_settings("smoke", env={})
    assert (s.profile, s.checkpoint, s.data, s.overridden) == ("smoke", TINY_CHECKPOINT, "sample", ())


def test_default_and_cpu_profiles_use_distilbert_and_hub_data():
    default, cpu = get_settings("default", env={}), get_settings("cpu", env={})
    for s in (default, cpu):
        assert (s.checkpoint, s.data) == ("distilbert-base-uncased", "hub")
    assert default.max_train_samples is None  # full SST-2
    assert 0 < cpu.max_train_samples < 67_349  # a subset for a laptop
    assert cpu.max_length <= default.max_length


@pytest.mark.parametrize("name", list(S.PROFILES))
def test_every_profile_passes_its_own_checks(name):
    s = get_settings(name, env={})
    for key in S.NUMBERS:
        assert S.check_value(key, getattr(s, key)) == getattr(s, key)


@pytest.mark.parametrize("machine, profile, reason", [("no_gpu", "cpu", "no GPU found"),
                                                      ("gpu", "default", "a CUDA GPU found")])
def test_without_course_profile_the_machine_chooses(request, machine, profile, reason):
    request.getfixturevalue(machine)
    for given in (None, "auto", " AUTO "):
        s = get_settings(given, env={"COURSE_PROFILE": "  "})  # blank counts as unset
        assert (s.profile, s.profile_reason) == (profile, reason)
    assert f"{profile} ({reason})" in format_run_card(s)


def test_auto_after_another_profile_goes_back_to_the_machine(no_gpu, monkeypatch):
    """Choosing a profile keeps no state: the notebooks' first cell no longer writes COURSE_PROFILE."""
    monkeypatch.delenv("COURSE_PROFILE")  # the test run sets it (conftest.py)
    assert get_settings("smoke").profile == "smoke"
    assert "COURSE_PROFILE" not in os.environ
    assert get_settings("auto").profile == "cpu"


@pytest.mark.parametrize("machine", ["no_gpu", "gpu"])
@pytest.mark.parametrize("name", list(S.PROFILES))
def test_course_profile_wins_over_the_machine(request, machine, name):
    request.getfixturevalue(machine)
    s = get_settings("auto", env={"COURSE_PROFILE": f" {name.upper()} "})  # case and blanks forgiven
    assert (s.profile, s.profile_reason) == (name, "set by COURSE_PROFILE")
    assert "follows COURSE_PROFILE" in format_run_card(s)


def test_profile_argument_wins_over_course_profile(gpu):
    s = get_settings("cpu", env={"COURSE_PROFILE": "smoke"})
    assert (s.profile, s.profile_reason) == ("cpu", "set in the notebook: PROFILE = 'cpu'")
    assert 'or "auto" to let the course choose' in format_run_card(s)


def test_reads_os_environ_when_env_not_given(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    monkeypatch.setenv("COURSE_EPOCHS", "2")
    s = get_settings()
    assert (s.profile, s.epochs, s.overridden) == ("cpu", 2.0, ("epochs",))


@pytest.mark.parametrize("bad", ["gpu", "fast", "smoke-test"])
def test_unknown_profile_names_the_choices(bad):
    with pytest.raises(ValueError, match=rf"Unknown profile '{bad}'.*default, cpu, smoke"):
        get_settings(bad, env={})
    with pytest.raises(ValueError, match=r"COURSE_PROFILE=.*default, cpu, smoke.*unset it"):
        get_settings(env={"COURSE_PROFILE": bad})


# ---------------------------------------------------------------------------------------
# Environment values


@pytest.mark.parametrize("name", [*S.ENV_OVERRIDES, "COURSE_PROFILE", "COURSE_START_DIR"])
def test_an_empty_variable_counts_as_unset(no_gpu, name):
    for blank in ("", "  ", "\t"):
        assert get_settings("auto", env={name: blank}) == get_settings("auto", env={})


@pytest.mark.parametrize("raw, expected",
                         [("2000", 2000), (" 8000 ", 8000), ("all", None), ("ALL", None), ("none", None)])
def test_train_samples_override(raw, expected):
    s = get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": raw})
    assert (s.max_train_samples, s.overridden) == (expected, ("max_train_samples",))


@pytest.mark.parametrize("bad", ["0", "-5", "1e3", "2.5", "abc", "12k", "000", "1_000"])
def test_bad_train_samples_says_what_to_set(bad):
    with pytest.raises(ValueError, match=rf"COURSE_TRAIN_SAMPLES='{re.escape(bad)}' is not a positive whole.*'all'"):
        get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": bad})


@pytest.mark.parametrize("bad", ["²", "٣٠٠", "１０", "3²"])  # int() and str.isdigit() accept all four
def test_non_ascii_digits_are_refused_clearly(bad):
    for variable in ("COURSE_TRAIN_SAMPLES", "COURSE_EPOCHS"):
        with pytest.raises(ValueError, match=rf"{variable}=.*digits 0-9"):
            get_settings("cpu", env={variable: bad})


@pytest.mark.parametrize("raw, expected", [("2", 2.0), ("0.5", 0.5), (" 3 ", 3.0), (".25", 0.25)])
def test_epochs_override(raw, expected):
    assert get_settings("smoke", env={"COURSE_EPOCHS": raw}).epochs == expected


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "one", "nan", "inf", "1" * 400])
def test_bad_epochs_says_what_to_set(bad):
    with pytest.raises(ValueError, match=r"COURSE_EPOCHS=.* not a positive number of epochs.*e\.g\. 1"):
        get_settings("smoke", env={"COURSE_EPOCHS": bad})


def test_hub_id_overrides_are_kept_as_given():
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": "bert-base-uncased", "COURSE_DATA": "sample"})
    assert (s.checkpoint, s.data, s.overridden) == ("bert-base-uncased", "sample", ("checkpoint", "data"))


# ---------------------------------------------------------------------------------------
# Keyword overrides: checked like environment values


def test_keyword_overrides_win_over_environment():
    s = get_settings("cpu", env={"COURSE_EPOCHS": "2", "COURSE_TRAIN_SAMPLES": "100"}, epochs=3.0)
    assert (s.epochs, s.max_train_samples) == (3.0, 100)
    assert s.overridden == ("max_train_samples", "epochs")  # listed once each


@pytest.mark.parametrize("key, value, terms", [
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
    ("data", "", "data='' is empty"),
])
def test_bad_keyword_values_are_refused(key, value, terms):
    with pytest.raises(ValueError, match=re.escape(terms)):
        get_settings("smoke", env={}, **{key: value})


def test_keyword_text_is_read_like_the_environment():
    s = get_settings("cpu", env={}, max_train_samples="all", epochs="0.5", learning_rate="3e-5", seed="7")
    assert (s.max_train_samples, s.epochs, s.learning_rate, s.seed) == (None, 0.5, 3e-5, 7)


@pytest.mark.parametrize("bad", ["batchsize", "lr", "overridden", "profile_reason"])
def test_unknown_keyword_names_known_settings(bad):
    with pytest.raises(TypeError, match=rf"unknown setting '{bad}'\. Known settings: .*batch_size"):
        get_settings("smoke", env={}, **{bad: 1})


# ---------------------------------------------------------------------------------------
# Paths: relative to the folder the user started from


def test_relative_paths_start_from_course_start_dir(start, tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # the notebook's own folder, say
    env = {"COURSE_START_DIR": str(start), "COURSE_CHECKPOINT": "models/mine", "COURSE_DATA": "./sst2",
           "COURSE_OUTPUT_DIR": "runs"}
    s = get_settings("cpu", env=env)
    assert (s.checkpoint, s.data, s.output_dir) == (str(start / "models" / "mine"), str(start / "sst2"),
                                                    start / "runs")
    assert get_settings("cpu", env={"COURSE_START_DIR": str(start)}).output_dir == start / "course_outputs"


def test_relative_paths_start_from_the_current_directory_otherwise(start, monkeypatch):
    monkeypatch.chdir(start)
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": "models/mine", "COURSE_DATA": "sst2"})
    assert (s.checkpoint, s.data) == (str(start / "models" / "mine"), str(start / "sst2"))
    assert get_settings("cpu", env={}).output_dir == start / "course_outputs"


def test_owner_name_that_is_not_on_disk_is_a_hub_id(start, monkeypatch):
    monkeypatch.chdir(start)
    for given, kept in [("models/mine", str(start / "models" / "mine")), ("models/other", "models/other"),
                        ("sentence-transformers/all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2")]:
        assert get_settings("cpu", env={"COURSE_CHECKPOINT": given}).checkpoint == kept


@pytest.mark.parametrize("key, value", [("checkpoint", "./models/gone"), ("checkpoint", "models/x/y"),
                                        ("data", "sst2-copy"), ("data", "./sst2-copy")])
def test_missing_relative_folder_shows_the_absolute_path_tried(start, key, value):
    variable = f"COURSE_{key.upper()}"
    with pytest.raises(FileNotFoundError) as err:
        get_settings("smoke", env={"COURSE_START_DIR": str(start), variable: value})
    for term in (str((start / value).resolve()), f"{variable}={value!r}", f"start from {start}",
                 f"profile's {S.PROFILES['smoke'][key]!r}"):  # the path tried, how it was set, the way back
        assert term in str(err.value)


def test_missing_absolute_folder_named_by_keyword(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"{tmp_path / 'gone'} does not exist (checkpoint=")):
        get_settings("smoke", env={}, checkpoint=tmp_path / "gone")


def test_a_file_is_not_a_checkpoint_folder(start):
    (start / "model.safetensors").write_bytes(b"x")
    with pytest.raises(NotADirectoryError, match=re.escape(f"{start / 'model.safetensors'}") + ".* is a file"):
        get_settings("smoke", env={"COURSE_START_DIR": str(start), "COURSE_CHECKPOINT": "model.safetensors"})


@pytest.mark.parametrize("below", ["", "runs"])
def test_an_output_folder_at_or_under_a_file_is_refused_at_once(tmp_path, below):
    (tmp_path / "outputs").write_text("a file")
    given = str(tmp_path / "outputs" / below) if below else str(tmp_path / "outputs")
    terms = rf"{re.escape(given)}.*COURSE_OUTPUT_DIR='{re.escape(given)}'.*outputs is a file.*Set COURSE_OUTPUT_DIR"
    with pytest.raises(NotADirectoryError, match=terms):
        get_settings("smoke", env={"COURSE_OUTPUT_DIR": given})
    with pytest.raises(NotADirectoryError, match=r"output_dir=.*is a file"):
        get_settings("smoke", env={}, output_dir=given)


def test_missing_start_dir_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"COURSE_START_DIR='{tmp_path / 'gone'}' is not a folder")):
        get_settings("smoke", env={"COURSE_START_DIR": str(tmp_path / "gone")})


def test_folder_overrides_may_be_paths(start):
    s = get_settings("smoke", env={}, data=start / "sst2")
    assert (s.data, s.data_name) == (str(start / "sst2"), "sst2 (local folder)")


def test_display_name_hides_the_path(start, monkeypatch):
    assert display_name(str(start / "models" / "mine")) == "mine (local folder)"
    assert display_name("/home/me/models/x-model") == "x-model (local folder)"
    assert display_name("nyu-mll/glue") == "nyu-mll/glue"  # a Hub id with a slash, not on disk
    monkeypatch.chdir(start)
    assert display_name("models/mine") == display_name("./models/mine") == "mine (local folder)"


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


# ---------------------------------------------------------------------------------------
# Run identity and run folder


def test_identity_has_absolute_folders_and_hub_ids_as_given(start):
    identity = get_settings("cpu", env={"COURSE_START_DIR": str(start), "COURSE_DATA": "sst2"}).identity()
    assert (identity["data"], identity["checkpoint"]) == (str(start / "sst2"), "distilbert-base-uncased")
    assert set(identity) == {"profile", "checkpoint", "data", "max_train_samples", "epochs", "batch_size",
                             "learning_rate", "max_length", "seed"}


def test_two_data_folders_with_one_name_get_two_run_folders(tmp_path):
    a, b = tmp_path / "a" / "sst2", tmp_path / "b" / "sst2"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    sa, sb = get_settings("cpu", env={}, data=a), get_settings("cpu", env={}, data=b)
    assert sa.data_name == sb.data_name == "sst2 (local folder)"
    assert sa.run_dir != sb.run_dir


def test_run_dirs_differ_by_setting_and_are_safe_folder_names(start):
    env = {"COURSE_START_DIR": str(start), "COURSE_OUTPUT_DIR": str(start / "out")}
    settings = [get_settings(p, env=env) for p in ("smoke", "cpu", "default")]
    settings += [get_settings("cpu", env=env, checkpoint="bert-base-uncased"),
                 get_settings("cpu", env=env, checkpoint=start / "models" / "mine"),
                 get_settings("cpu", env=env, seed=7),
                 get_settings("cpu", env=env, max_train_samples=1000)]
    dirs = [s.run_dir for s in settings]
    assert len(set(dirs)) == len(dirs)
    for s, d in zip(settings, dirs):
        assert d.parent == start / "out" and d.name.startswith(f"{s.profile}-")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", d.name), d.name
    assert dirs[4].name.startswith("cpu-mine-")  # a local checkpoint: its folder's name
    # How a value was given does not change the run: COURSE_EPOCHS=1 on cpu is cpu's own run.
    assert get_settings("cpu", env={**env, "COURSE_EPOCHS": "1"}).run_dir == dirs[1]


def test_as_dict_has_no_paths(start):
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": str(start / "models" / "mine"),
                                 "COURSE_DATA": str(start / "sst2"), "COURSE_OUTPUT_DIR": str(start / "out")})
    d = s.as_dict()
    assert str(start) not in json.dumps(d)
    assert (d["checkpoint"], d["data"], d["output_dir"]) == ("mine (local folder)", "sst2 (local folder)", "out")
    assert d["overridden"] == ["checkpoint", "data", "output_dir"]
