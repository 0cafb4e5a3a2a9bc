"""A notebook's set-up: quiet library output, the device, library versions, Colab's Drive, the run card.

Every notebook's second cell runs::

    quiet_libraries()                    # no load reports or progress bars (notebook 1 explains both)
    settings = get_settings(PROFILE)     # PROFILE comes from the first cell: "auto", "default", "cpu", "smoke"
    run_card(settings)                   # what this notebook runs, and why

Example:
    >>> from course_utils.settings import get_settings
    >>> print(format_run_card(get_settings("smoke")))  # doctest: +ELLIPSIS
    Run card
      profile     smoke (set in the notebook: PROFILE = 'smoke'): ...
    ...
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

from .settings import PROFILES, RunSettings, cuda_available, device_kind


def quiet_libraries() -> None:
    """Keep notebook outputs about the lesson: no load reports, no download or map progress bars.

    Notebook 1 shows and explains one load report; every later notebook calls this in its set-up.
    It runs the libraries' own switches, nothing else::

        transformers.logging.set_verbosity_error()    # no LOAD REPORT tables, no info messages
        transformers.logging.disable_progress_bar()   # no "Loading weights" bars
        datasets.disable_progress_bars()              # no "Map" / "Filter" bars

    The Trainer's own progress table (an HTML widget in notebooks) is switched off per run with
    ``TrainingArguments(disable_tqdm=True)``.
    """
    import warnings

    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    # tqdm's one-time notice that ipywidgets is missing: text bars are what the course wants.
    warnings.filterwarnings("ignore", message="IProgress not found")
    # peft calls a transformers method that transformers 5 deprecates; nothing a learner can act on.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def device_description() -> str:
    """One line about the device training will use, e.g. ``CPU (2 threads)``."""
    import torch

    kind = device_kind()
    if kind == "cuda":
        name = torch.cuda.get_device_name(0)
        bf16 = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
        return f"GPU: {name} (mixed precision {bf16})"
    if kind == "mps":
        return "Apple GPU (MPS)"
    return f"CPU ({torch.get_num_threads()} threads)"


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries the course depends on (read without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": platform.python_version()}
    for name in ("torch", "transformers", "datasets", "evaluate"):
        try:
            versions[name] = version(name).split("+")[0]
        except PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def on_colab() -> bool:
    """True inside a Google Colab runtime."""
    import sys

    return "google.colab" in sys.modules


def how_to_change_profile(settings: RunSettings) -> str:
    """One sentence: how to run another profile, for the run card."""
    others = " or ".join(p for p in PROFILES if p != settings.profile)
    where = "set PROFILE in the first cell and run the notebook again"
    if settings.profile_reason == "set by COURSE_PROFILE":
        return f"to change it, {where}: {others} (\"auto\" follows COURSE_PROFILE while it is set)"
    if settings.profile_reason.startswith("set in the notebook"):
        return f"to change it, {where}: {others}, or \"auto\" to let the course choose"
    return f"to change it, {where}: {others}"


def colab_without_gpu_warning(settings: RunSettings) -> str | None:
    """On a Colab runtime without a GPU, what to do about it (None elsewhere)."""
    if not on_colab() or cuda_available():
        return None
    return ("this Colab runtime has no GPU, so training is slow: choose Runtime > Change runtime type > "
            "T4 GPU, then run the notebook again from the top")


def keep_outputs_on_drive(folder: str = "MyDrive/course_outputs") -> Path:
    """On Colab: mount Google Drive and keep the course's outputs there (``COURSE_OUTPUT_DIR``).

    Each Colab notebook runs on its own machine, so notebooks 6-8 cannot see the model that
    notebook 5 saved; on Drive they can. Call it before :func:`get_settings`. Without it,
    notebooks 6-8 train the same model again (same data, seed and recipe).
    """
    if not on_colab():
        raise RuntimeError("keep_outputs_on_drive() is for Colab, where each notebook has its own machine. "
                           "Here the notebooks share course_outputs/ already; set COURSE_OUTPUT_DIR to move it.")
    from google.colab import drive  # available on Colab only

    drive.mount("/content/drive")
    path = Path("/content/drive") / folder
    path.mkdir(parents=True, exist_ok=True)
    os.environ["COURSE_OUTPUT_DIR"] = str(path)
    print(f"Course outputs go to Google Drive: {path}")
    return path


def run_card(settings: RunSettings, data: Any | None = None) -> None:
    """Print the run card (:func:`format_run_card`): what this notebook runs, and why.

    It returns nothing, so that a notebook cell ending with ``run_card(settings)`` shows the card once.
    """
    print(format_run_card(settings, data))


def format_run_card(settings: RunSettings, data: Any | None = None) -> str:
    """The run card as text: profile (and why), checkpoint, data, training budget, device, versions.

    Args:
        settings: from :func:`get_settings`.
        data: the loaded ``DatasetDict``, if the notebook loaded one, to show split sizes and
            the number of sentences training will really use.

    """

    def source(field_name: str) -> str:
        return "set by you" if field_name in settings.overridden else f"profile {settings.profile}"

    limit = settings.max_train_samples
    if data is not None:
        sizes = ", ".join(f"{split} {len(ds):,}" for split, ds in data.items())
        data_line = f"{settings.data_name} ({source('data')}): {sizes} sentences"
        n_train = len(data["train"]) if "train" in data else 0
        n_train = f"{n_train if limit is None else min(limit, n_train):,}"
    else:
        data_line = f"{settings.data_name} ({source('data')}): not loaded yet"
        n_train = "all" if limit is None else f"up to {limit:,}"
    epochs = f"{settings.epochs:g} epoch" + ("" if settings.epochs == 1 else "s")
    why = f" ({settings.profile_reason})" if settings.profile_reason else ""
    rows = [
        ("profile", f"{settings.profile}{why}: {settings.description}"),
        ("", how_to_change_profile(settings)),
        *([("WARNING", warning)] if (warning := colab_without_gpu_warning(settings)) else []),
        ("checkpoint", f"{settings.checkpoint_name} ({source('checkpoint')})"),
        ("data", data_line),
        ("training", f"{n_train} training sentences, {epochs}, batch {settings.batch_size}, "
                     f"learning rate {settings.learning_rate:g}, max length {settings.max_length}"),
        ("device", device_description()),
        ("libraries", ", ".join(f"{k} {v}" for k, v in library_versions().items())),
    ]
    return "Run card\n" + "\n".join(f"  {key:<11} {value}" for key, value in rows)
