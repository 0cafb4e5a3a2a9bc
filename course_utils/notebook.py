"""A notebook's set-up cell: ``quiet_libraries()``, ``settings = get_settings(PROFILE)``, ``run_card(settings)``.

Example:
    >>> from course_utils.settings import get_settings
    >>> print(format_run_card(get_settings("smoke")))  # doctest: +ELLIPSIS
    Run card
      profile     smoke (set in the notebook: PROFILE = 'smoke'): ...
    ...
"""

from __future__ import annotations

import logging
import os
import platform
import re
import sys
from pathlib import Path
from typing import Any

from .settings import PROFILES, RunSettings, cuda_available, device_kind

#: The logger of transformers' load report: a table of the weights MISSING from the checkpoint (left
#: random), UNEXPECTED (unused) and of another shape (MISMATCH).
LOAD_LOGGER = "transformers.modeling_utils"
_ROW = re.compile(r"^([^|\n]+?)\s*\|\s*(MISSING|UNEXPECTED|MISMATCH|CONVERSION)\b", re.MULTILINE)


def _weights_in(key: str) -> int:
    """How many weights a report row names: ``layer.{0, 1}.x`` two, ``layer.{0...11}.x`` twelve."""
    count = 1
    for group in re.findall(r"\{([^}]*)\}", key):
        first, _, last = group.partition("...")
        count *= int(last) - int(first) + 1 if last else group.count(",") + 1
    return count


def load_report_line(report: str) -> str | None:
    """The course's one line for a transformers load report; ``None`` for the routine one, where the only
    weights missing or unused are a task head's (outside ``model.base_model_prefix``; notebook 1 explains it).

    >>> load_report_line("BertModel LOAD REPORT from: ckpt\\nencoder.layer.{0...11}.x | MISSING |")[:70]
    'BertModel from ckpt does not fit its weights: 12 missing (left random)'
    """
    import transformers

    report = re.sub(r"\x1b\[[0-9;]*m", "", report)  # colours, in a terminal
    head = re.search(r"(\w+) LOAD REPORT from: (.*)", report)
    if head is None:
        return None
    cls = getattr(transformers, head[1], None)
    prefix = f"{getattr(cls, 'base_model_prefix', None)}."
    try:  # AutoModel's class for this config: a base model, with no head, so every weight missing is its own
        found = transformers.MODEL_MAPPING[cls.config_class]
    except (AttributeError, KeyError):
        found = ()
    base = cls in (found if isinstance(found, tuple) else (found,))
    counts = dict.fromkeys(("MISSING", "UNEXPECTED", "MISMATCH", "CONVERSION"), 0)
    routine = True
    for key, status in _ROW.findall(report):
        counts[status] += _weights_in(key)
        head_only = not key.startswith(prefix) and not (base and status == "MISSING")
        routine &= status in ("MISSING", "UNEXPECTED") and head_only
    if routine:
        return None
    converted = f", {counts['CONVERSION']} not converted" if counts["CONVERSION"] else ""
    return (f"{head[1]} from {head[2].strip()} does not fit its weights: {counts['MISSING']} missing (left random), "
            f"{counts['UNEXPECTED']} unused, {counts['MISMATCH']} of another shape{converted}. Check that its "
            f"config.json belongs to these weights: copy the checkpoint again, or point COURSE_CHECKPOINT at another "
            f"folder.")


class LoadReportFilter(logging.Filter):
    """While transformers is quiet (verbosity above warning), on :data:`LOAD_LOGGER`: the routine load
    report is dropped, any other becomes :func:`load_report_line`, and other records keep the verbosity."""

    def filter(self, record: logging.LogRecord) -> bool:
        import transformers

        if transformers.logging.get_verbosity() <= logging.WARNING:
            return True  # reports asked for (e.g. set_verbosity_warning()): the library's own
        if "LOAD REPORT" not in (text := record.getMessage()):
            return record.levelno >= transformers.logging.get_verbosity()
        if (line := load_report_line(text)) is None:
            return False
        record.msg, record.args = line, ()
        return True


def quiet_libraries() -> None:
    """Keep notebook outputs about the lesson with the libraries' own switches: no routine load reports,
    no progress bars. A load report that is not routine is never hidden (:class:`LoadReportFilter`)."""
    import warnings

    import datasets
    import transformers

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    loader = logging.getLogger(LOAD_LOGGER)
    loader.setLevel(logging.WARNING)  # the load report is a warning: it must reach the filter
    if not any(isinstance(f, LoadReportFilter) for f in loader.filters):
        loader.addFilter(LoadReportFilter())
    # tqdm's one-time notice that ipywidgets is missing: text bars are what the course wants.
    warnings.filterwarnings("ignore", message="IProgress not found")
    # peft calls a transformers method that transformers 5 deprecates; nothing a learner can act on.
    warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)


def device_record() -> dict:
    """The device as data, for result records: kind and name, and the threads (CPU) or the precision (GPU)."""
    import torch

    from .recipe import mixed_precision

    kind = device_kind()
    if kind == "cuda":
        return {"kind": kind, "name": torch.cuda.get_device_name(0),
                "precision": next(iter(mixed_precision(kind)), "fp32")}
    return {"kind": kind, "name": kind.upper(), "threads": torch.get_num_threads()}


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
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads > 1 else ''})"


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
    return "google.colab" in sys.modules


def how_to_change_profile(settings: RunSettings) -> str:
    """How to run another profile, for the run card (a second line, indented, when there is more to say)."""
    others = " or ".join(f'"{p}"' for p in PROFILES if p != settings.profile)
    line = f"to change it, set PROFILE = {others} in the first cell and run again"
    if settings.profile_reason == "set by COURSE_PROFILE":
        return line + f"\n{'':14}(\"auto\" follows COURSE_PROFILE while it is set)"
    if settings.profile_reason.startswith("set in the notebook"):
        return line + f"\n{'':14}(or \"auto\" to let the course choose)"
    return line


def colab_without_gpu_warning(settings: RunSettings) -> str | None:
    """On a Colab runtime without a GPU, what to do about it (None elsewhere)."""
    if not on_colab() or cuda_available():
        return None
    return ("this Colab runtime has no GPU, so training is slow: choose Runtime > Change runtime type > "
            "T4 GPU, then run the notebook again from the top")


def keep_outputs_on_drive(folder: str = "MyDrive/course_outputs") -> Path:
    """On Colab, where each notebook has its own machine: mount Google Drive and keep the course's outputs
    there (``COURSE_OUTPUT_DIR``), so that notebooks 6-8 find notebook 5's model. Call it before ``get_settings``."""
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
    """Print :func:`format_run_card` (returning nothing, so that a cell ending with it shows the card once)."""
    print(format_run_card(settings, data))


def format_run_card(settings: RunSettings, data: Any | None = None) -> str:
    """The run card as text: profile (and why), checkpoint, data, training budget, device, versions;
    with ``data`` (the loaded ``DatasetDict``) the split sizes and the sentences training really uses."""

    def source(field_name: str) -> str:
        given = dict(settings.given_by).get(field_name)
        if given is None:
            return f"profile {settings.profile}"
        return "set in the code" if given == "code" else f"set by {given}"

    limit = settings.max_train_samples
    if data is not None:
        sizes = ", ".join(f"{split} {len(ds):,}" for split, ds in data.items())
        data_line = f"{settings.data_name} ({source('data')}): {sizes} rows"
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
        ("training", f"{n_train} training rows, {epochs}, batch {settings.batch_size}, "
                     f"learning rate {settings.learning_rate:g}, max length {settings.max_length}"),
        ("device", device_description()),
        ("libraries", ", ".join(f"{k} {v}" for k, v in library_versions().items())),
    ]
    return "Run card\n" + "\n".join(f"  {key:<11} {value}" for key, value in rows)
