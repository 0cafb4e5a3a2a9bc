"""Run settings: which profile, checkpoint and data a notebook uses, and the run card.

Every notebook starts with ``settings = get_settings()`` and prints ``run_card(settings)``.
One switch picks the profile, the ``COURSE_PROFILE`` environment variable:

========  ===========================================================================
profile   what it runs
========  ===========================================================================
default   ``distilbert-base-uncased`` and the full SST-2 from the Hub, 1 epoch (Colab)
cpu       the same checkpoint and data, a training subset sized for a 2-core laptop
smoke     a tiny DistilBERT with random weights and the SST-2 sample shipped in this
          package: runs offline in seconds (the tests use it; its accuracy means nothing)
========  ===========================================================================

Explicit overrides, also environment variables, win over the profile:

* ``COURSE_CHECKPOINT`` a Hub id or a local folder (e.g. a checkpoint copied for a classroom),
* ``COURSE_DATA`` ``hub``, ``sample`` or a local folder of SST-2 files,
* ``COURSE_TRAIN_SAMPLES`` (``all`` or a number), ``COURSE_EPOCHS``,
* ``COURSE_OUTPUT_DIR`` where notebooks save models (default ``course_outputs``).

Nothing falls back silently: the run card says what is in use and where it came from.

Example:
    >>> s = get_settings("smoke")
    >>> s.profile, s.checkpoint, s.data
    ('smoke', 'tiny-distilbert', 'sample')
"""

from __future__ import annotations

import dataclasses
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

#: The special checkpoint name of the offline smoke profile (built by ``models.build_tiny_checkpoint``).
TINY_CHECKPOINT = "tiny-distilbert"

PROFILES: dict[str, dict[str, Any]] = {
    "default": dict(
        description="full SST-2 from the Hub, 1 epoch (what Colab runs)",
        checkpoint="distilbert-base-uncased",
        data="hub",
        max_train_samples=None,
        epochs=1.0,
        batch_size=64,
        learning_rate=1e-4,
        max_length=128,
    ),
    "cpu": dict(
        description="a training subset sized for a 2-core laptop CPU",
        checkpoint="distilbert-base-uncased",
        data="hub",
        max_train_samples=24_000,
        epochs=1.0,
        batch_size=32,
        learning_rate=1e-4,
        max_length=64,
    ),
    "smoke": dict(
        description="tiny random model + shipped sample, offline, seconds (tests only)",
        checkpoint=TINY_CHECKPOINT,
        data="sample",
        max_train_samples=512,
        epochs=1.0,
        batch_size=32,
        learning_rate=1e-3,
        max_length=64,
    ),
}

# Environment variable -> settings field, for the explicit overrides.
ENV_OVERRIDES = {
    "COURSE_CHECKPOINT": "checkpoint",
    "COURSE_DATA": "data",
    "COURSE_TRAIN_SAMPLES": "max_train_samples",
    "COURSE_EPOCHS": "epochs",
    "COURSE_OUTPUT_DIR": "output_dir",
}


@dataclass(frozen=True)
class RunSettings:
    """Everything a notebook needs to know about the run it is part of."""

    profile: str
    description: str
    checkpoint: str
    data: str
    max_train_samples: int | None
    epochs: float
    batch_size: int
    learning_rate: float
    max_length: int
    seed: int = 42
    output_dir: Path = Path("course_outputs")
    overridden: tuple[str, ...] = field(default=())

    @property
    def checkpoint_name(self) -> str:
        """The checkpoint as a reader should see it: a Hub id, or a local folder's name only."""
        return display_name(self.checkpoint)

    @property
    def data_name(self) -> str:
        """The data source as a reader should see it: ``hub``, ``sample`` or a folder's name."""
        return display_name(self.data)

    @property
    def run_dir(self) -> Path:
        """Folder for this run's saved model and snapshots, one per profile and checkpoint."""
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", self.checkpoint_name).strip("-")
        return self.output_dir / f"{self.profile}-{slug}"

    def as_dict(self) -> dict[str, Any]:
        """Plain, path-free dict of the settings (saved next to a model, shown on run cards)."""
        d = dataclasses.asdict(self)
        d["checkpoint"] = self.checkpoint_name
        d["data"] = self.data_name
        d["output_dir"] = str(self.output_dir.name)
        d["overridden"] = list(self.overridden)
        return d


def is_local_path(value: str) -> bool:
    """True when ``value`` names something on disk rather than a Hub id or keyword."""
    return value.startswith((".", "/", "~")) or os.path.sep in value and Path(value).expanduser().exists()


def display_name(value: str) -> str:
    """Name a checkpoint or data source without the machine's path.

    >>> display_name("/home/me/models/all-MiniLM-L6-v2")
    'all-MiniLM-L6-v2 (local folder)'
    >>> display_name("distilbert-base-uncased")
    'distilbert-base-uncased'
    """
    if is_local_path(value):
        return f"{Path(value).expanduser().resolve().name} (local folder)"
    return value


def _parse_override(field_name: str, raw: str, env_name: str) -> Any:
    raw = raw.strip()
    if field_name == "max_train_samples":
        if raw.lower() in {"all", "none", ""}:
            return None
        if not raw.isdigit() or int(raw) == 0:
            raise ValueError(
                f"{env_name}={raw!r} is not a positive whole number. "
                f"Set it to a number of training sentences (e.g. 8000) or to 'all'."
            )
        return int(raw)
    if field_name == "epochs":
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if not 0 < value < float("inf"):  # also rejects nan and inf
            raise ValueError(f"{env_name}={raw!r} is not a positive number of epochs. Set it to e.g. 1 or 0.5.")
        return value
    if field_name == "output_dir":
        return Path(raw).expanduser()
    if not raw:
        raise ValueError(f"{env_name} is set but empty. Unset it, or give a value (see README, 'Profiles').")
    return raw


def get_settings(profile: str | None = None, env: Mapping[str, str] | None = None, **overrides: Any) -> RunSettings:
    """Settings for this run: a profile, then environment overrides, then keyword overrides.

    Args:
        profile: ``default``, ``cpu`` or ``smoke``; ``None`` reads ``COURSE_PROFILE``
            (and uses ``default`` when it is unset).
        env: where to read variables from (``os.environ`` when ``None``; tests pass a dict).
        **overrides: any :class:`RunSettings` field, e.g. ``max_train_samples=2000``.

    Example:
        >>> get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": "2000"}).max_train_samples
        2000
    """
    env = os.environ if env is None else env
    name = (profile or env.get("COURSE_PROFILE") or "default").strip().lower()
    if name not in PROFILES:
        raise ValueError(
            f"Unknown profile {name!r}. Choose one of: {', '.join(PROFILES)} "
            f"(e.g. COURSE_PROFILE=cpu, or get_settings('smoke'))."
        )
    values: dict[str, Any] = dict(PROFILES[name], profile=name)
    overridden: list[str] = []
    for env_name, field_name in ENV_OVERRIDES.items():
        if env_name in env:
            values[field_name] = _parse_override(field_name, env[env_name], env_name)
            overridden.append(field_name)
    known = {f.name for f in dataclasses.fields(RunSettings)}
    for key, value in overrides.items():
        if key not in known or key in {"profile", "overridden"}:
            raise TypeError(f"get_settings() got an unknown setting {key!r}. Known settings: {', '.join(sorted(known))}.")
        values[key] = value
        overridden.append(key)
    for key in ("checkpoint", "data"):
        value = values[key] = str(values[key])  # a Path works too
        if is_local_path(value) and not Path(value).expanduser().is_dir():
            raise FileNotFoundError(
                f"The {key} folder {display_name(value)!r} does not exist. "
                f"Check the path you gave (COURSE_{key.upper()}), or unset it to use the profile's {PROFILES[name][key]!r}."
            )
    values["output_dir"] = Path(values.get("output_dir", "course_outputs"))
    return RunSettings(overridden=tuple(dict.fromkeys(overridden)), **values)


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


def device_description() -> str:
    """One line about the device training will use, e.g. ``CPU (2 threads)``."""
    import torch

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        bf16 = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp16"
        return f"GPU: {name} (mixed precision {bf16})"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
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


def run_card(settings: RunSettings, data: Any | None = None) -> str:
    """Print and return the run card: profile, checkpoint, data, training budget, device, versions.

    Args:
        settings: from :func:`get_settings`.
        data: the loaded ``DatasetDict``, if the notebook loaded one, to show split sizes.

    Example:
        >>> card = run_card(get_settings("smoke"))  # doctest: +ELLIPSIS
        Run card
        ...
    """

    def source(field_name: str) -> str:
        return "set by you" if field_name in settings.overridden else f"profile {settings.profile}"

    if data is not None:
        sizes = ", ".join(f"{split} {len(ds):,}" for split, ds in data.items())
        data_line = f"{settings.data_name} ({source('data')}): {sizes} sentences"
    else:
        data_line = f"{settings.data_name} ({source('data')}): not loaded in this notebook"
    n_train = "all" if settings.max_train_samples is None else f"{settings.max_train_samples:,}"
    epochs = f"{settings.epochs:g} epoch" + ("" if settings.epochs == 1 else "s")
    rows = [
        ("profile", f"{settings.profile}: {settings.description}"),
        ("checkpoint", f"{settings.checkpoint_name} ({source('checkpoint')})"),
        ("data", data_line),
        ("training", f"{n_train} training sentences, {epochs}, batch {settings.batch_size}, "
                     f"learning rate {settings.learning_rate:g}, max length {settings.max_length}"),
        ("device", device_description()),
        ("libraries", ", ".join(f"{k} {v}" for k, v in library_versions().items())),
    ]
    text = "Run card\n" + "\n".join(f"  {key:<11} {value}" for key, value in rows)
    print(text)
    return text
