"""Run settings: which profile, checkpoint, data and budget a notebook uses.

Every notebook's first cell has a ``PROFILE`` field; its set-up cell calls ``get_settings(PROFILE)``:

========  ===========================================================================
profile   what it runs
========  ===========================================================================
default   ``distilbert-base-uncased`` and the full SST-2 from the Hub, 1 epoch (a GPU)
cpu       the same checkpoint and data, a training subset sized for a 2-core laptop
smoke     a tiny DistilBERT with random weights and the SST-2 sample shipped in this
          package: runs offline in seconds (the tests use it; its accuracy means nothing)
========  ===========================================================================

``"auto"`` (or no profile) reads ``COURSE_PROFILE``; when that is unset too, a machine with a
CUDA GPU gets ``default`` and any other ``cpu``. Explicit overrides, also environment variables,
win over the profile (paths are read as :mod:`course_utils.sources` says):

* ``COURSE_CHECKPOINT`` a Hub id or a local folder (e.g. a checkpoint copied for a classroom),
* ``COURSE_DATA`` ``hub``, ``sample`` or a local folder of SST-2 files,
* ``COURSE_TRAIN_SAMPLES`` (``all`` or a number), ``COURSE_EPOCHS``,
* ``COURSE_OUTPUT_DIR`` where notebooks save models (default ``course_outputs``).

Nothing falls back silently: the run card (:mod:`course_utils.notebook`) says what is in use and why.

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
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .sources import TINY_CHECKPOINT, display_name, env_value, is_local_path, resolve_path, resolve_source

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

    ``"auto"`` and ``None`` leave the choice to ``COURSE_PROFILE`` and the machine, so setting a
    notebook's ``PROFILE`` back to ``"auto"`` and running it again really goes back.

    >>> choose_profile("smoke")
    ('smoke', "set in the notebook: PROFILE = 'smoke'")
    """
    choices = ", ".join(PROFILES)
    if profile is not None and str(profile).strip().lower() not in ("", "auto"):
        name = str(profile).strip().lower()
        if name not in PROFILES:
            raise ValueError(f"Unknown profile {name!r}. Choose one of: auto, {choices} (e.g. PROFILE = 'cpu').")
        return name, f"set in the notebook: PROFILE = {name!r}"
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
        profile: ``default``, ``cpu`` or ``smoke``; ``"auto"`` or ``None`` reads ``COURSE_PROFILE``,
            and when that is unset picks ``default`` on a machine with a CUDA GPU, else ``cpu``.
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


def device_kind() -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: what the Trainer will train on (the one place the course asks)."""
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"
