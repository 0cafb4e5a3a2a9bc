"""Run settings: which profile, checkpoint and data a notebook uses, and the run card.

Every notebook starts with ``settings = get_settings()`` and ``run_card(settings)``, which prints the card.
One switch picks the profile, the ``COURSE_PROFILE`` environment variable:

========  ===========================================================================
profile   what it runs
========  ===========================================================================
default   ``distilbert-base-uncased`` and the full SST-2 from the Hub, 1 epoch (a GPU)
cpu       the same checkpoint and data, a training subset sized for a 2-core laptop
smoke     a tiny DistilBERT with random weights and the SST-2 sample shipped in this
          package: runs offline in seconds (the tests use it; its accuracy means nothing)
========  ===========================================================================

Without ``COURSE_PROFILE`` a machine with a CUDA GPU gets ``default`` and any other machine
gets ``cpu``; an explicit ``COURSE_PROFILE`` (or ``get_settings("smoke")``) always wins.

Explicit overrides, also environment variables, win over the profile:

* ``COURSE_CHECKPOINT`` a Hub id or a local folder (e.g. a checkpoint copied for a classroom),
* ``COURSE_DATA`` ``hub``, ``sample`` or a local folder of SST-2 files,
* ``COURSE_TRAIN_SAMPLES`` (``all`` or a number), ``COURSE_EPOCHS``,
* ``COURSE_OUTPUT_DIR`` where notebooks save models (default ``course_outputs``).

A variable set to nothing (``COURSE_DATA=`` or only blanks) counts as unset, for every variable.
Relative folders are taken from the folder you started from: ``COURSE_START_DIR`` when it is
set (``make lab`` and ``make execute`` set it to the repository), else the current directory.
A relative value that exists there is a folder (``models/x``); one that does not and looks like
``owner/name`` is a Hub id.

Nothing falls back silently: the run card says what is in use and where it came from.

Example:
    >>> s = get_settings("smoke")
    >>> s.profile, s.checkpoint, s.data
    ('smoke', 'tiny-distilbert', 'sample')
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

#: The special checkpoint name of the offline smoke profile (built by ``models.tiny_checkpoint_path``).
TINY_CHECKPOINT = "tiny-distilbert"
#: The values of ``COURSE_DATA`` that are not folders.
DATA_KEYWORDS = ("hub", "sample")

PROFILES: dict[str, dict[str, Any]] = {
    "default": dict(
        description="full SST-2 from the Hub, 1 epoch (sized for a GPU)",
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

# A Hub repository id: ``name`` or ``owner/name`` (letters, digits, ``.``, ``_``, ``-``).
HUB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?")
WHOLE_NUMBER = re.compile(r"[0-9]+")
DECIMAL_NUMBER = re.compile(r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


@dataclass(frozen=True)
class RunSettings:
    """Everything a notebook needs to know about the run it is part of.

    ``checkpoint`` and ``data`` are a Hub id or keyword as given, or a local folder as an
    absolute path; ``output_dir`` is absolute. ``profile_reason`` says why this profile
    (``"no GPU found"``, ``"set by COURSE_PROFILE"``, ...); it is not part of the run's identity.
    """

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
    profile_reason: str = field(default="", compare=False)

    @property
    def checkpoint_name(self) -> str:
        """The checkpoint as a reader should see it: a Hub id, or a local folder's name only."""
        return display_name(self.checkpoint)

    @property
    def data_name(self) -> str:
        """The data source as a reader should see it: ``hub``, ``sample`` or a folder's name."""
        return display_name(self.data)

    def identity(self) -> dict[str, Any]:
        """What decides whether two runs are the same run: every setting that changes what is trained.

        Local checkpoint and data folders appear as absolute paths (so two different folders
        that are both called ``sst2`` differ); Hub ids and keywords as they are. Left out are
        ``description`` (follows from the profile), ``overridden`` and ``profile_reason`` (how a
        value was chosen, not what it is) and ``output_dir`` (where runs are kept: moving that
        folder does not change a run).

        Example:
            >>> get_settings("smoke").identity()["checkpoint"]
            'tiny-distilbert'
        """
        return {
            "profile": self.profile,
            "checkpoint": self.checkpoint,
            "data": self.data,
            "max_train_samples": self.max_train_samples,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "learning_rate": self.learning_rate,
            "max_length": self.max_length,
            "seed": self.seed,
        }

    @property
    def run_dir(self) -> Path:
        """Folder for this run's saved model and snapshots: ``output_dir / profile-checkpoint-hash``.

        The hash is the first 8 hex digits of the SHA-256 of :meth:`identity`, so any change of
        checkpoint folder, data folder or setting gives another folder.
        """
        name = Path(self.checkpoint).name if is_local_path(self.checkpoint) else self.checkpoint
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "checkpoint"
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:8]
        return self.output_dir / f"{self.profile}-{slug}-{digest}"

    def as_dict(self) -> dict[str, Any]:
        """Plain, path-free dict of the settings (for display and for saving next to a model)."""
        d = dataclasses.asdict(self)
        del d["profile_reason"]
        d["checkpoint"] = self.checkpoint_name
        d["data"] = self.data_name
        d["output_dir"] = self.output_dir.name
        d["overridden"] = list(self.overridden)
        return d


# ---------------------------------------------------------------------------------------
# Environment variables and paths


def env_value(name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The variable ``name`` with blanks stripped, or ``None`` when it is unset or empty.

    >>> env_value("COURSE_DATA", {"COURSE_DATA": "  "}) is None
    True
    """
    env = os.environ if env is None else env
    value = env.get(name, "").strip()
    return value or None


def start_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder relative paths start from: ``COURSE_START_DIR`` when set, else the current directory."""
    given = env_value("COURSE_START_DIR", env)
    if given is None:
        return Path.cwd()
    folder = Path(given).expanduser().resolve()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"COURSE_START_DIR={given!r} is not a folder (looked for {folder}). "
            f"Set it to the folder relative paths should start from (e.g. the repository), or unset it."
        )
    return folder


def resolve_path(value: str | os.PathLike, env: Mapping[str, str] | None = None) -> Path:
    """``value`` as an absolute path: ``~`` expanded, relative paths taken from :func:`start_dir`.

    >>> resolve_path("/data/sst2").as_posix()
    '/data/sst2'
    """
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = start_dir(env) / path
    return path.resolve()


def _written_as_path(text: str) -> bool:
    """``./x``, ``../x``, ``~/x``, ``/x``, ``C:\\x`` or ``a/b/c``: never a Hub id."""
    return (text.startswith((".", "~")) or Path(text).is_absolute() or "\\" in text
            or text.count("/") > 1)


def is_local_path(value: str | os.PathLike) -> bool:
    """True when ``value`` names a folder rather than a Hub id or keyword.

    A value written as a path (``./x``, ``/x``, ``~/x``) is one; so is a relative value that
    exists in :func:`start_dir`. Anything else (``distilbert-base-uncased``, ``nyu-mll/glue``) is not.

    >>> is_local_path("/home/me/models/x"), is_local_path("sentence-transformers/all-MiniLM-L6-v2")
    (True, False)
    """
    text = str(value).strip()
    if text in DATA_KEYWORDS or text == TINY_CHECKPOINT or not text:
        return False
    return _written_as_path(text) or resolve_path(text).exists()


def resolve_source(value: str | os.PathLike, kind: str, env: Mapping[str, str] | None = None,
                   source: str | None = None, default: str | None = None) -> str:
    """A checkpoint (``kind="checkpoint"``) or data source (``kind="data"``) in the form settings keep.

    Keywords (``tiny-distilbert``, ``hub``, ``sample``) and Hub ids stay as they are; a folder
    becomes its absolute path and must exist. For errors, ``source`` says how the value was
    given (``"COURSE_DATA='sst2'"``) and ``default`` is the profile's value, the way back.

    >>> resolve_source("distilbert-base-uncased", "checkpoint"), resolve_source("sample", "data")
    ('distilbert-base-uncased', 'sample')
    """
    if kind not in ("checkpoint", "data"):
        raise ValueError(f"kind must be 'checkpoint' or 'data', not {kind!r}.")
    text = str(value).strip()
    source = source or f"{kind}={text!r}"
    if not text:
        what = "a Hub id or a folder" if kind == "checkpoint" else "'hub', 'sample' or a folder"
        raise ValueError(f"{source} is empty. Give {what}, or leave it unset.")
    if kind == "data" and text.lower() in DATA_KEYWORDS:
        return text.lower()
    if kind == "checkpoint" and text == TINY_CHECKPOINT:
        return text
    path = resolve_path(text, env)
    if path.is_dir():
        return str(path)
    way_back = f", or leave it unset to use the profile's {default!r}" if default else ""
    if path.exists():
        raise NotADirectoryError(f"The {kind} {path} ({source}) is a file, not a folder. "
                                 f"Give the folder that holds it{way_back}.")
    if kind == "checkpoint" and not _written_as_path(text) and HUB_ID.fullmatch(text):
        return text  # a Hub id: resolve_checkpoint checks that the Hub or the cache has it
    what = ("a Hub id (owner/name) or a folder written by save_pretrained()" if kind == "checkpoint"
            else "'hub', 'sample' or a folder with train and validation files")
    raise FileNotFoundError(
        f"The {kind} folder {path} does not exist ({source}; relative paths start from {start_dir(env)}, "
        f"the folder you started from). Check the path: the {kind} is {what}{way_back}."
    )


def display_name(value: str | os.PathLike) -> str:
    """Name a checkpoint or data source without the machine's path.

    >>> display_name("/home/me/models/all-MiniLM-L6-v2")
    'all-MiniLM-L6-v2 (local folder)'
    >>> display_name("distilbert-base-uncased")
    'distilbert-base-uncased'
    """
    if is_local_path(value):
        return f"{resolve_path(value).name} (local folder)"
    return str(value)


# ---------------------------------------------------------------------------------------
# Values: one check per setting, for environment variables and keyword overrides alike


def _digits_hint(value: Any) -> str:
    return " (write it with the digits 0-9)" if isinstance(value, str) and not value.isascii() else ""


def _parse_number(field_name: str, value: Any, source: str) -> Any:
    """Check (and for text, parse) the value of a numeric setting; ``source`` names it in errors."""
    if field_name == "max_train_samples":
        if value is None or isinstance(value, str) and value.strip().lower() in {"all", "none"}:
            return None
        if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"{source} is not a positive whole number{_digits_hint(value)}. "
                             f"Set it to a number of training sentences (e.g. 8000) or to 'all'.")
        return value
    if field_name in ("epochs", "learning_rate"):
        if isinstance(value, str) and DECIMAL_NUMBER.fullmatch(value.strip()):
            value = float(value.strip())
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            what, example = ("number of epochs", "1 or 0.5") if field_name == "epochs" else ("learning rate", "1e-4")
            raise ValueError(f"{source} is not a positive {what}{_digits_hint(value)}. Set it to e.g. {example}.")
        return float(value)
    # batch_size, max_length, seed: whole numbers
    if isinstance(value, str) and WHOLE_NUMBER.fullmatch(value.strip()):
        value = int(value.strip())
    low, example = {"batch_size": (1, "32"), "max_length": (2, "128"), "seed": (0, "42")}[field_name]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value < 2**32:
        kind = "a whole number from 0" if low == 0 else f"a whole number of at least {low}"
        raise ValueError(f"{source} is not {kind}{_digits_hint(value)}. Set it to e.g. {example}.")
    return value


def check_value(field_name: str, value: Any, source: str | None = None) -> Any:
    """Check one setting's value and return it in the type :class:`RunSettings` keeps.

    ``source`` is how the value was given (``"COURSE_EPOCHS='0'"``, ``"epochs=0"``), for the error.

    >>> check_value("max_train_samples", "all"), check_value("epochs", "0.5")
    (None, 0.5)
    """
    source = source or f"{field_name}={value!r}"
    if field_name in ("checkpoint", "data", "output_dir", "description"):
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise ValueError(f"{source} is empty or not text. Give a {field_name} (see README, 'Profiles'), "
                             f"or leave it out.")
        return Path(value) if field_name == "output_dir" else str(value).strip()
    return _parse_number(field_name, value, source)


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (what decides between the ``default`` and ``cpu`` profiles)."""
    import torch

    return torch.cuda.is_available()


def choose_profile(profile: str | None = None, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The profile's name and why it was chosen: the argument, ``COURSE_PROFILE``, or the GPU.

    >>> choose_profile("smoke")
    ('smoke', "set in the code: get_settings('smoke')")
    """
    choices = ", ".join(PROFILES)
    if profile is not None and str(profile).strip():
        name = str(profile).strip().lower()
        if name not in PROFILES:
            raise ValueError(f"Unknown profile {name!r}. Choose one of: {choices} (e.g. get_settings('cpu')).")
        return name, f"set in the code: get_settings({name!r})"
    given = env_value("COURSE_PROFILE", env)
    if given is not None:
        name = given.lower()
        if name not in PROFILES:
            raise ValueError(f"Unknown profile {name!r} (COURSE_PROFILE={given!r}). Choose one of: {choices} "
                             f"(e.g. COURSE_PROFILE=cpu), or unset it to choose by the machine.")
        return name, "set by COURSE_PROFILE"
    if cuda_available():
        return "default", "a CUDA GPU found"
    return "cpu", "no GPU found"


def get_settings(profile: str | None = None, env: Mapping[str, str] | None = None, **overrides: Any) -> RunSettings:
    """Settings for this run: a profile, then environment overrides, then keyword overrides.

    Args:
        profile: ``default``, ``cpu`` or ``smoke``; ``None`` reads ``COURSE_PROFILE``, and
            when that is unset picks ``default`` on a machine with a CUDA GPU, else ``cpu``.
        env: where to read variables from (``os.environ`` when ``None``; tests pass a dict).
            Variables set to nothing or blanks count as unset.
        **overrides: any :class:`RunSettings` field, e.g. ``max_train_samples=2000``; checked
            like the environment variables (``epochs=0`` is an error, as ``COURSE_EPOCHS=0`` is).

    Raises:
        ValueError: an unknown profile or a value out of range (the message names it).
        TypeError: an unknown keyword.
        FileNotFoundError: a checkpoint or data folder that does not exist (absolute path shown).

    Example:
        >>> get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": "2000"}).max_train_samples
        2000
    """
    env = os.environ if env is None else env
    name, reason = choose_profile(profile, env)
    values: dict[str, Any] = dict(PROFILES[name], output_dir="course_outputs")
    overridden: list[str] = []
    for env_name, field_name in ENV_OVERRIDES.items():
        raw = env_value(env_name, env)
        if raw is not None:
            values[field_name] = check_value(field_name, raw, f"{env_name}={raw!r}")
            overridden.append(field_name)
    known = {f.name for f in dataclasses.fields(RunSettings)} - {"profile", "overridden", "profile_reason"}
    for key, value in overrides.items():
        if key not in known:
            raise TypeError(f"get_settings() got an unknown setting {key!r}. "
                            f"Known settings: {', '.join(sorted(known))}.")
        values[key] = check_value(key, value)
        overridden.append(key)
    for key in ("checkpoint", "data"):
        given = f"{key}={values[key]!r}" if key in overrides else f"COURSE_{key.upper()}={values[key]!r}"
        values[key] = resolve_source(values[key], key, env, given if key in overridden else None, PROFILES[name][key])
    values["output_dir"] = resolve_path(values["output_dir"], env)
    return RunSettings(profile=name, profile_reason=reason, overridden=tuple(dict.fromkeys(overridden)), **values)


# ---------------------------------------------------------------------------------------
# Notebook set-up: quiet libraries, the device, the run card


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


def device_kind() -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: what the Trainer will train on (the one place the course asks)."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


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
    if settings.profile_reason.startswith("set in the code"):
        return f"to change it, pass another profile to get_settings ({others})"
    where = "set PROFILE in the first cell and run the notebook again"
    if not on_colab():
        where += " (or COURSE_PROFILE before starting Jupyter)"
    if settings.profile_reason == "set by COURSE_PROFILE":
        return f"to change it, {where}: {others}; \"auto\" chooses by the machine"
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

    Example:
        >>> print(format_run_card(get_settings("smoke")))  # doctest: +ELLIPSIS
        Run card
          profile     smoke (set in the code: get_settings('smoke')): ...
        ...
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
