"""course_utils.settings: profiles (and why), overrides, paths, run identity, run card."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re

import pytest

from course_utils import settings as S
from course_utils.settings import TINY_CHECKPOINT, display_name, format_run_card, get_settings, run_card


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(S, "cuda_available", lambda: False)


@pytest.fixture
def gpu(monkeypatch):
    monkeypatch.setattr(S, "cuda_available", lambda: True)


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
    assert (s.profile, s.checkpoint, s.data) == ("smoke", TINY_CHECKPOINT, "sample")
    assert s.overridden == ()


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
    for key in ("max_train_samples", "epochs", "batch_size", "learning_rate", "max_length", "seed"):
        assert S.check_value(key, getattr(s, key)) == getattr(s, key)
    assert s.description


def test_without_course_profile_a_machine_without_gpu_gets_cpu(no_gpu, capsys):
    s = get_settings(env={})
    assert (s.profile, s.profile_reason) == ("cpu", "no GPU found")
    card = format_run_card(s)
    assert "cpu (no GPU found)" in card
    assert "set PROFILE in the first cell" in card and "COURSE_PROFILE" in card and "default or smoke" in card


def test_without_course_profile_a_machine_with_gpu_gets_default(gpu, capsys):
    s = get_settings(env={"COURSE_PROFILE": "  "})  # blank counts as unset
    assert (s.profile, s.profile_reason) == ("default", "a CUDA GPU found")
    assert "default (a CUDA GPU found)" in format_run_card(s)


@pytest.mark.parametrize("machine", ["no_gpu", "gpu"])
@pytest.mark.parametrize("name", list(S.PROFILES))
def test_course_profile_always_wins(request, machine, name, capsys):
    request.getfixturevalue(machine)
    s = get_settings(env={"COURSE_PROFILE": f" {name.upper()} "})  # case and blanks forgiven
    assert (s.profile, s.profile_reason) == (name, "set by COURSE_PROFILE")
    card = format_run_card(s)
    assert f"{name} (set by COURSE_PROFILE)" in card
    assert '"auto" chooses by the machine' in card


def test_profile_argument_wins_over_everything(gpu, capsys):
    s = get_settings("cpu", env={"COURSE_PROFILE": "smoke"})
    assert (s.profile, s.profile_reason) == ("cpu", "set in the code: get_settings('cpu')")
    assert "pass another profile to get_settings" in format_run_card(s)


def test_the_test_run_itself_uses_the_smoke_profile():
    # The top-level conftest.py promises this; notebooks inherit it.
    assert get_settings().profile == "smoke"


def test_reads_os_environ_when_env_not_given(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    monkeypatch.setenv("COURSE_EPOCHS", "2")
    s = get_settings()
    assert (s.profile, s.epochs, s.overridden) == ("cpu", 2.0, ("epochs",))


@pytest.mark.parametrize("bad", ["gpu", "fast", "smoke-test"])
def test_unknown_profile_names_the_choices(bad):
    with pytest.raises(ValueError, match=rf"Unknown profile '{bad}'.*default, cpu, smoke"):
        get_settings(bad, env={})
    with pytest.raises(ValueError, match=r"COURSE_PROFILE=.*default, cpu, smoke"):
        get_settings(env={"COURSE_PROFILE": bad})


# ---------------------------------------------------------------------------------------
# Environment values


@pytest.mark.parametrize("name", [*S.ENV_OVERRIDES, "COURSE_PROFILE", "COURSE_START_DIR"])
@pytest.mark.parametrize("blank", ["", "  ", "\t"])
def test_an_empty_variable_counts_as_unset(no_gpu, name, blank):
    for profile in (None, "smoke"):
        assert get_settings(profile, env={name: blank}) == get_settings(profile, env={})


@pytest.mark.parametrize("raw, expected",
                         [("2000", 2000), (" 8000 ", 8000), ("all", None), ("ALL", None), ("none", None)])
def test_train_samples_override(raw, expected):
    s = get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": raw})
    assert (s.max_train_samples, s.overridden) == (expected, ("max_train_samples",))


@pytest.mark.parametrize("bad", ["0", "-5", "1e3", "2.5", "abc", "12k", "000"])
def test_bad_train_samples_says_what_to_set(bad):
    terms = rf"COURSE_TRAIN_SAMPLES='{re.escape(bad)}' is not a positive whole number.*'all'"
    with pytest.raises(ValueError, match=terms):
        get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": bad})


@pytest.mark.parametrize("bad", ["²", "٣٠٠", "１０", "3²"])  # str.isdigit() says yes to all four
def test_non_ascii_digits_are_refused_clearly(bad):
    with pytest.raises(ValueError, match=r"COURSE_TRAIN_SAMPLES=.*not a positive whole number.*digits 0-9"):
        get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": bad})
    with pytest.raises(ValueError, match=r"COURSE_EPOCHS=.*digits 0-9"):
        get_settings("cpu", env={"COURSE_EPOCHS": bad})


@pytest.mark.parametrize("raw, expected", [("2", 2.0), ("0.5", 0.5), (" 3 ", 3.0), (".25", 0.25)])
def test_epochs_override(raw, expected):
    assert get_settings("smoke", env={"COURSE_EPOCHS": raw}).epochs == expected


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "one", "nan", "inf", "1" * 400])
def test_bad_epochs_says_what_to_set(bad):
    with pytest.raises(ValueError, match=r"COURSE_EPOCHS=.* is not a positive number of epochs\. Set it to e\.g\. 1"):
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
    ("epochs", 0, "epochs=0 is not a positive number of epochs"),
    ("epochs", float("nan"), "not a positive number of epochs"),
    ("epochs", True, "not a positive number of epochs"),
    ("batch_size", 0, "batch_size=0 is not a whole number of at least 1"),
    ("batch_size", 2.5, "batch_size=2.5 is not a whole number"),
    ("learning_rate", -1e-4, "learning_rate=-0.0001 is not a positive learning rate"),
    ("learning_rate", "fast", "not a positive learning rate"),
    ("max_train_samples", 0, "max_train_samples=0 is not a positive whole number"),
    ("max_length", 1, "max_length=1 is not a whole number of at least 2"),
    ("seed", -1, "seed=-1 is not a whole number from 0"),
    ("data", "", "data='' is empty"),
])
def test_bad_keyword_values_are_refused(key, value, terms):
    with pytest.raises(ValueError, match=re.escape(terms)):
        get_settings("smoke", env={}, **{key: value})


def test_keyword_text_is_read_like_the_environment():
    s = get_settings("cpu", env={}, max_train_samples="all", epochs="0.5", learning_rate="3e-5")
    assert (s.max_train_samples, s.epochs, s.learning_rate) == (None, 0.5, 3e-5)


@pytest.mark.parametrize("bad", ["batchsize", "lr", "overridden", "profile_reason"])
def test_unknown_keyword_names_known_settings(bad):
    with pytest.raises(TypeError, match=rf"unknown setting '{bad}'\. Known settings: .*batch_size"):
        get_settings("smoke", env={}, **{bad: 1})


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_settings("smoke", env={}).epochs = 5


# ---------------------------------------------------------------------------------------
# Paths: relative to the folder the user started from


def test_relative_paths_start_from_course_start_dir(start, tmp_path_factory, monkeypatch):
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))  # the notebook's own folder, say
    env = {"COURSE_START_DIR": str(start), "COURSE_CHECKPOINT": "models/mine", "COURSE_DATA": "./sst2",
           "COURSE_OUTPUT_DIR": "runs"}
    s = get_settings("cpu", env=env)
    assert s.checkpoint == str(start / "models" / "mine")
    assert s.data == str(start / "sst2")
    assert s.output_dir == start / "runs"
    assert get_settings("cpu", env={"COURSE_START_DIR": str(start)}).output_dir == start / "course_outputs"


def test_relative_paths_start_from_the_current_directory_otherwise(start, monkeypatch):
    monkeypatch.chdir(start)
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": "models/mine", "COURSE_DATA": "sst2"})
    assert (s.checkpoint, s.data) == (str(start / "models" / "mine"), str(start / "sst2"))
    assert get_settings("cpu", env={}).output_dir == start / "course_outputs"


def test_owner_name_that_is_not_on_disk_is_a_hub_id(start, monkeypatch):
    monkeypatch.chdir(start)
    assert get_settings("cpu", env={"COURSE_CHECKPOINT": "models/mine"}).checkpoint == str(start / "models" / "mine")
    assert get_settings("cpu", env={"COURSE_CHECKPOINT": "models/other"}).checkpoint == "models/other"
    assert get_settings("cpu", env={"COURSE_CHECKPOINT": "sentence-transformers/all-MiniLM-L6-v2"}).checkpoint == (
        "sentence-transformers/all-MiniLM-L6-v2")


@pytest.mark.parametrize("key, value", [("checkpoint", "./models/gone"), ("checkpoint", "models/x/y"),
                                        ("data", "sst2-copy"), ("data", "./sst2-copy")])
def test_missing_relative_folder_shows_the_absolute_path_tried(start, key, value):
    variable = f"COURSE_{key.upper()}"
    with pytest.raises(FileNotFoundError) as err:
        get_settings("smoke", env={"COURSE_START_DIR": str(start), variable: value})
    message = str(err.value)
    assert str((start / value).resolve()) in message
    assert f"{variable}={value!r}" in message and f"start from {start}" in message
    assert f"profile's {S.PROFILES['smoke'][key]!r}" in message  # the way back


def test_missing_absolute_folder_named_by_keyword(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"checkpoint folder {tmp_path / 'gone'} does not exist")):
        get_settings("smoke", env={}, checkpoint=tmp_path / "gone")


def test_a_file_is_not_a_folder(start):
    (start / "model.safetensors").write_bytes(b"x")
    terms = re.escape(f"{start / 'model.safetensors'}") + r".* is a file, not a folder"
    with pytest.raises(NotADirectoryError, match=terms):
        get_settings("smoke", env={"COURSE_START_DIR": str(start), "COURSE_CHECKPOINT": "model.safetensors"})


def test_missing_start_dir_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f"COURSE_START_DIR='{tmp_path / 'gone'}' is not a folder")):
        get_settings("smoke", env={"COURSE_START_DIR": str(tmp_path / "gone")})


def test_folder_overrides_may_be_paths(start):
    s = get_settings("smoke", env={}, data=start / "sst2")
    assert (s.data, s.data_name) == (str(start / "sst2"), "sst2 (local folder)")


# ---------------------------------------------------------------------------------------
# Run identity and run folder


def test_identity_has_absolute_folders_and_hub_ids_as_given(start):
    local = get_settings("cpu", env={"COURSE_START_DIR": str(start), "COURSE_DATA": "sst2"})
    identity = local.identity()
    assert identity["data"] == str(start / "sst2")
    assert identity["checkpoint"] == "distilbert-base-uncased"
    assert set(identity) == {"profile", "checkpoint", "data", "max_train_samples", "epochs", "batch_size",
                             "learning_rate", "max_length", "seed"}
    json.dumps(identity)  # plain values, as saved next to a model


def test_two_data_folders_with_one_name_get_two_run_folders(tmp_path):
    a, b = tmp_path / "a" / "sst2", tmp_path / "b" / "sst2"
    a.mkdir(parents=True)
    b.mkdir(parents=True)
    sa, sb = get_settings("cpu", env={}, data=a), get_settings("cpu", env={}, data=b)
    assert sa.data_name == sb.data_name == "sst2 (local folder)"
    assert sa.run_dir != sb.run_dir


def test_run_dir_name_and_stability(start):
    env = {"COURSE_START_DIR": str(start), "COURSE_OUTPUT_DIR": str(start / "out")}
    settings = [get_settings(p, env=env) for p in ("smoke", "cpu", "default")]
    settings += [get_settings("cpu", env=env, checkpoint="bert-base-uncased"),
                 get_settings("cpu", env=env, checkpoint=start / "models" / "mine"),
                 get_settings("cpu", env=env, seed=7),
                 get_settings("cpu", env=env, max_train_samples=1000)]
    dirs = [s.run_dir for s in settings]
    assert len(set(dirs)) == len(dirs)
    for s, d in zip(settings, dirs):
        assert d.parent == start / "out"
        digest = hashlib.sha256(json.dumps(s.identity(), sort_keys=True).encode()).hexdigest()[:8]
        assert d.name.startswith(f"{s.profile}-") and d.name.endswith(f"-{digest}")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", d.name), d.name  # safe as a folder name
    assert dirs[4].name.startswith("cpu-mine-")  # a local checkpoint: its folder's name
    assert get_settings("smoke", env=env).run_dir == dirs[0]  # stable
    # How a value was given does not change the run: COURSE_EPOCHS=1 on cpu is cpu's own run.
    assert get_settings("cpu", env={**env, "COURSE_EPOCHS": "1"}).run_dir == dirs[1]


def test_as_dict_has_no_paths(start):
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": str(start / "models" / "mine"),
                                 "COURSE_DATA": str(start / "sst2"), "COURSE_OUTPUT_DIR": str(start / "out")})
    d = s.as_dict()
    assert str(start) not in json.dumps(d)
    assert (d["checkpoint"], d["data"], d["output_dir"]) == ("mine (local folder)", "sst2 (local folder)", "out")
    assert d["overridden"] == ["checkpoint", "data", "output_dir"]


def test_display_name_hides_the_path(start, monkeypatch):
    folder = start / "models" / "mine"
    assert display_name(str(folder)) == "mine (local folder)"
    assert display_name("/home/me/models/x-model") == "x-model (local folder)"
    assert display_name("distilbert-base-uncased") == "distilbert-base-uncased"
    assert display_name("nyu-mll/glue") == "nyu-mll/glue"  # a Hub id with a slash, not on disk
    monkeypatch.chdir(start)
    assert display_name("models/mine") == display_name("./models/mine") == "mine (local folder)"


# ---------------------------------------------------------------------------------------
# Run card


def test_run_card_content(capsys, start):
    import datasets
    import evaluate
    import torch
    import transformers

    s = get_settings("smoke", env={"COURSE_CHECKPOINT": str(start / "models" / "mine")})
    card = format_run_card(s)
    assert card.startswith("Run card")
    assert "mine (local folder) (set by you)" in card
    assert "sample (profile smoke): not loaded yet" in card
    assert f"up to {s.max_train_samples:,} training sentences" in card
    assert S.device_description() in card
    for library in (transformers, datasets, evaluate):
        assert library.__version__ in card
    assert torch.__version__.split("+")[0] in card
    assert str(start) not in card


def test_run_card_with_data_shows_the_sentences_training_uses(capsys, sample):
    n_train = len(sample["train"])
    card = format_run_card(get_settings("smoke", env={}), sample)
    assert f"train {n_train:,}, validation {len(sample['validation']):,} sentences" in card
    assert f"{min(512, n_train):,} training sentences" in card
    card = format_run_card(get_settings("smoke", env={}, max_train_samples=1_000_000_000), sample)
    assert f"{n_train:,} training sentences" in card and "1,000,000,000" not in card
    card = format_run_card(get_settings("smoke", env={}, max_train_samples="all"), sample)
    assert f"{n_train:,} training sentences" in card
    assert "all training sentences" in format_run_card(get_settings("smoke", env={}, max_train_samples="all"))


def test_device_description_on_this_machine():
    import torch

    text = S.device_description()
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert text == f"CPU ({torch.get_num_threads()} threads)"
    else:
        assert text.startswith(("GPU", "Apple"))


def test_library_versions_lists_the_course_libraries():
    import platform

    versions = S.library_versions()
    assert set(versions) == {"python", "torch", "transformers", "datasets", "evaluate"}
    assert versions["python"] == platform.python_version()
    assert "+" not in versions["torch"]


def test_run_card_prints_the_card_once_and_returns_nothing(capsys):
    settings = get_settings("smoke", env={})
    assert run_card(settings) is None  # a cell ending with run_card(settings) shows the card once
    assert capsys.readouterr().out.strip() == format_run_card(settings)


def test_on_colab_without_a_gpu_the_card_says_how_to_get_one(no_gpu, monkeypatch):
    import sys
    import types

    assert "WARNING" not in format_run_card(get_settings(env={}))
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    card = format_run_card(get_settings(env={}))
    assert "WARNING" in card and "T4 GPU" in card
    assert "COURSE_PROFILE" not in card.split("\n")[2], "on Colab, the first cell's PROFILE is the way to change it"


def test_on_colab_with_a_gpu_there_is_no_warning(gpu, monkeypatch):
    import sys
    import types

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert "WARNING" not in format_run_card(get_settings(env={}))


def test_keep_outputs_on_drive_is_for_colab_only(monkeypatch):
    monkeypatch.delenv("COURSE_OUTPUT_DIR", raising=False)
    with pytest.raises(RuntimeError, match="Colab"):
        S.keep_outputs_on_drive()
    assert "COURSE_OUTPUT_DIR" not in os.environ


def test_keep_outputs_on_drive_mounts_drive_and_sets_the_output_folder(monkeypatch, tmp_path):
    import sys
    import types

    mounted = []
    colab = types.ModuleType("google.colab")
    colab.drive = types.SimpleNamespace(mount=mounted.append)
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setattr(S, "Path", lambda *parts: tmp_path.joinpath(*[str(p).lstrip("/") for p in parts]))
    monkeypatch.setenv("COURSE_OUTPUT_DIR", "before")  # so that monkeypatch restores the variable afterwards
    monkeypatch.delenv("COURSE_OUTPUT_DIR")
    path = S.keep_outputs_on_drive()
    assert mounted == ["/content/drive"] and path.is_dir()
    assert os.environ["COURSE_OUTPUT_DIR"] == str(path) and path.name == "course_outputs"
