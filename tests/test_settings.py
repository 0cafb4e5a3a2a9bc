"""course_utils.settings: profiles, environment and keyword overrides, display names, run card."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from course_utils import settings as S
from course_utils.settings import TINY_CHECKPOINT, display_name, get_settings, run_card

# ---------------------------------------------------------------------------------------
# Profiles


def test_smoke_profile_is_offline_tiny_model_and_sample():
    s = get_settings("smoke", env={})
    assert (s.profile, s.checkpoint, s.data) == ("smoke", "tiny-distilbert", "sample")
    assert s.checkpoint == TINY_CHECKPOINT
    assert s.overridden == ()


def test_default_and_cpu_profiles_use_distilbert_and_hub_data():
    default, cpu = get_settings("default", env={}), get_settings("cpu", env={})
    for s in (default, cpu):
        assert s.checkpoint == "distilbert-base-uncased"
        assert s.data == "hub"
    assert default.max_train_samples is None  # full SST-2
    assert cpu.max_train_samples is not None and cpu.max_train_samples > 0  # a subset for a laptop
    assert cpu.max_length <= default.max_length


def test_every_profile_builds_valid_settings():
    for name in S.PROFILES:
        s = get_settings(name, env={})
        assert s.profile == name
        assert s.epochs > 0 and s.batch_size > 0 and s.learning_rate > 0 and s.max_length >= 2
        assert s.description


def test_profile_from_environment_and_default_when_unset():
    assert get_settings(env={}).profile == "default"
    assert get_settings(env={"COURSE_PROFILE": "cpu"}).profile == "cpu"
    assert get_settings(env={"COURSE_PROFILE": "  Smoke "}).profile == "smoke"  # case and blanks forgiven
    # An explicit argument wins over the environment.
    assert get_settings("cpu", env={"COURSE_PROFILE": "smoke"}).profile == "cpu"


def test_reads_os_environ_when_env_not_given(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    monkeypatch.setenv("COURSE_EPOCHS", "2")
    s = get_settings()
    assert s.profile == "cpu"
    assert s.epochs == 2.0
    assert "epochs" in s.overridden


def test_the_test_run_itself_uses_the_smoke_profile():
    # The top-level conftest.py promises this; notebooks inherit it.
    assert get_settings().profile == "smoke"


@pytest.mark.parametrize("bad", ["gpu", "fast", "smoke-test"])
def test_unknown_profile_names_the_choices(bad):
    with pytest.raises(ValueError, match=rf"Unknown profile '{bad}'\. Choose one of: default, cpu, smoke"):
        get_settings(bad, env={})
    with pytest.raises(ValueError, match=r"COURSE_PROFILE=cpu"):
        get_settings(env={"COURSE_PROFILE": bad})


# ---------------------------------------------------------------------------------------
# Environment overrides


@pytest.mark.parametrize("raw, expected", [("2000", 2000), (" 8000 ", 8000), ("all", None), ("ALL", None), ("none", None)])
def test_train_samples_override(raw, expected):
    s = get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": raw})
    assert s.max_train_samples == expected
    assert s.overridden == ("max_train_samples",)


@pytest.mark.parametrize("bad", ["0", "-5", "1e3", "2.5", "abc", "12k", "000"])
def test_bad_train_samples_says_what_to_set(bad):
    with pytest.raises(ValueError, match=rf"COURSE_TRAIN_SAMPLES='{re.escape(bad)}' is not a positive whole number.*'all'"):
        get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": bad})


@pytest.mark.parametrize("raw, expected", [("2", 2.0), ("0.5", 0.5), (" 3 ", 3.0)])
def test_epochs_override(raw, expected):
    assert get_settings("smoke", env={"COURSE_EPOCHS": raw}).epochs == expected


@pytest.mark.parametrize("bad", ["0", "-1", "abc", "", "one", "nan", "inf"])
def test_bad_epochs_says_what_to_set(bad):
    with pytest.raises(ValueError, match=r"COURSE_EPOCHS=.* is not a positive number of epochs\. Set it to e\.g\. 1 or 0\.5"):
        get_settings("smoke", env={"COURSE_EPOCHS": bad})


@pytest.mark.parametrize("name", ["COURSE_CHECKPOINT", "COURSE_DATA"])
def test_empty_override_is_an_error(name):
    with pytest.raises(ValueError, match=rf"{name} is set but empty\. Unset it, or give a value"):
        get_settings("smoke", env={name: "  "})


def test_hub_id_overrides_are_kept_as_given():
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": "bert-base-uncased", "COURSE_DATA": "sample"})
    assert s.checkpoint == "bert-base-uncased" and s.data == "sample"
    assert s.overridden == ("checkpoint", "data")


def test_output_dir_override_is_a_path(tmp_path):
    s = get_settings("smoke", env={"COURSE_OUTPUT_DIR": str(tmp_path / "runs")})
    assert s.output_dir == tmp_path / "runs"
    assert get_settings("smoke", env={}).output_dir == Path("course_outputs")


def test_missing_checkpoint_folder_names_variable_and_profile_default(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(FileNotFoundError, match=r"checkpoint folder 'no-such-model \(local folder\)' does not exist") as err:
        get_settings("smoke", env={"COURSE_CHECKPOINT": str(missing)})
    message = str(err.value)
    assert "COURSE_CHECKPOINT" in message and "'tiny-distilbert'" in message
    assert str(tmp_path) not in message  # no machine path in messages


def test_missing_data_folder_names_variable(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"data folder 'sst2 \(local folder\)' does not exist.*COURSE_DATA.*'sample'"):
        get_settings("smoke", env={"COURSE_DATA": str(tmp_path / "sst2")})
    with pytest.raises(FileNotFoundError, match=r"COURSE_DATA"):
        get_settings("smoke", data="./surely-not-here-sst2")


def test_keyword_overrides_win_over_environment():
    s = get_settings("cpu", env={"COURSE_EPOCHS": "2", "COURSE_TRAIN_SAMPLES": "100"}, epochs=3.0)
    assert s.epochs == 3.0
    assert s.max_train_samples == 100
    assert s.overridden == ("max_train_samples", "epochs")  # listed once each


@pytest.mark.parametrize("bad", ["batchsize", "lr", "overridden"])
def test_unknown_keyword_names_known_settings(bad):
    with pytest.raises(TypeError, match=rf"unknown setting '{bad}'\. Known settings: .*batch_size"):
        get_settings("smoke", env={}, **{bad: 1})


def test_folder_overrides_may_be_paths(tmp_path):
    (tmp_path / "sst2").mkdir()
    s = get_settings("smoke", env={}, data=tmp_path / "sst2")
    assert s.data == str(tmp_path / "sst2")
    assert s.data_name == "sst2 (local folder)"


def test_settings_are_frozen():
    s = get_settings("smoke", env={})
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.epochs = 5


# ---------------------------------------------------------------------------------------
# Names, run folders, run card


def test_display_name_hides_the_path(tmp_path, monkeypatch):
    folder = tmp_path / "models" / "all-MiniLM-L6-v2"
    folder.mkdir(parents=True)
    assert display_name(str(folder)) == "all-MiniLM-L6-v2 (local folder)"
    assert display_name("/home/me/models/x-model") == "x-model (local folder)"
    assert display_name("distilbert-base-uncased") == "distilbert-base-uncased"
    assert display_name("nyu-mll/glue") == "nyu-mll/glue"  # a Hub id with a slash, not on disk
    monkeypatch.chdir(tmp_path)
    assert display_name("models/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2 (local folder)"  # relative, exists
    assert display_name("./models/all-MiniLM-L6-v2") == "all-MiniLM-L6-v2 (local folder)"
    for value in (str(folder), "./models/all-MiniLM-L6-v2"):
        assert str(tmp_path) not in display_name(value)


def test_local_checkpoint_name_and_dict_have_no_absolute_path(tmp_path):
    ckpt, data_dir = tmp_path / "my-model", tmp_path / "my-sst2"
    ckpt.mkdir()
    data_dir.mkdir()
    s = get_settings("cpu", env={"COURSE_CHECKPOINT": str(ckpt), "COURSE_DATA": str(data_dir),
                                 "COURSE_OUTPUT_DIR": str(tmp_path / "out")})
    assert s.checkpoint_name == "my-model (local folder)"
    assert s.data_name == "my-sst2 (local folder)"
    d = s.as_dict()
    assert str(tmp_path) not in json.dumps(d)
    assert d["checkpoint"] == "my-model (local folder)" and d["output_dir"] == "out"
    assert d["overridden"] == ["checkpoint", "data", "output_dir"]


def test_run_dir_differs_per_profile_and_checkpoint(tmp_path):
    ckpt = tmp_path / "my model!"
    ckpt.mkdir()
    smoke, cpu, default = (get_settings(p, env={}) for p in ("smoke", "cpu", "default"))
    other_ckpt = get_settings("cpu", env={}, checkpoint="bert-base-uncased")
    local = get_settings("cpu", env={}, checkpoint=str(ckpt))
    dirs = [s.run_dir for s in (smoke, cpu, default, other_ckpt, local)]
    assert len(set(dirs)) == len(dirs)
    for d in dirs:
        assert d.parent == Path("course_outputs")
        assert re.fullmatch(r"[A-Za-z0-9._-]+", d.name), d.name  # safe as a folder name
    assert str(tmp_path) not in str(local.run_dir)
    assert get_settings("smoke", env={}).run_dir == smoke.run_dir  # stable


def test_run_card_content(capsys, tmp_path):
    import datasets
    import evaluate
    import torch
    import transformers

    ckpt = tmp_path / "classroom-distilbert"
    ckpt.mkdir()
    s = get_settings("smoke", env={"COURSE_CHECKPOINT": str(ckpt)})
    card = run_card(s)
    assert capsys.readouterr().out.strip() == card.strip()  # printed as returned
    assert card.startswith("Run card")
    assert "smoke" in card
    assert "classroom-distilbert (local folder) (set by you)" in card
    assert "sample (profile smoke)" in card
    assert S.device_description() in card
    for version in (torch.__version__.split("+")[0], transformers.__version__, datasets.__version__, evaluate.__version__):
        assert version in card
    assert str(tmp_path) not in card and str(Path.home()) not in card
    assert "not loaded in this notebook" in card


def test_run_card_with_data_shows_split_sizes(capsys, sample):
    s = get_settings("smoke", env={})
    card = run_card(s, sample)
    capsys.readouterr()
    assert f"train {len(sample['train']):,}" in card
    assert f"validation {len(sample['validation']):,}" in card
    assert "tiny-distilbert (profile smoke)" in card
    assert f"{s.max_train_samples:,} training sentences" in card


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
