"""Run settings: which profile, checkpoint, data and budget a notebook uses (README, "Profiles").

:func:`get_settings` starts from a profile (:data:`PROFILES`), applies the environment overrides
(:data:`ENV_OVERRIDES`), then keyword overrides, each checked by :func:`check_value`; folders are read as
:mod:`course_utils.sources` says. Nothing falls back silently: the run card says what is in use and why.

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
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .sources import TINY_CHECKPOINT, display_name, env_value, is_local_path, resolve_path, resolve_source

PROFILES: dict[str, dict[str, Any]] = {
    "default": dict(description="full SST-2 from the Hub, 1 epoch (sized for a GPU)",
                    checkpoint="distilbert-base-uncased", data="hub", max_train_samples=None, epochs=1.0,
                    batch_size=64, learning_rate=1e-4, max_length=128),
    "cpu": dict(description="a training subset sized for a 2-core laptop CPU",
                checkpoint="distilbert-base-uncased", data="hub", max_train_samples=24_000, epochs=1.0,
                batch_size=32, learning_rate=1e-4, max_length=64),
    "smoke": dict(description="tiny random model + shipped sample, offline, seconds (tests only)",
                  checkpoint=TINY_CHECKPOINT, data="sample", max_train_samples=512, epochs=1.0,
                  batch_size=32, learning_rate=1e-3, max_length=64),
}

#: Environment variable -> settings field (blank values count as unset).
ENV_OVERRIDES = {"COURSE_CHECKPOINT": "checkpoint", "COURSE_DATA": "data", "COURSE_TRAIN_SAMPLES": "max_train_samples",
                 "COURSE_EPOCHS": "epochs", "COURSE_OUTPUT_DIR": "output_dir"}

# Numeric setting -> (type, smallest whole number allowed, what it must be, an example for the error).
# Decimal settings must be positive and finite; whole numbers stay below 2**32 (what seeding accepts).
NUMBERS: dict[str, tuple[type, int, str, str]] = {
    "max_train_samples": (int, 1, "a positive whole number", "8000 (training sentences) or 'all'"),
    "epochs": (float, 0, "a positive number of epochs", "1 or 0.5"),
    "learning_rate": (float, 0, "a positive learning rate", "1e-4"),
    "batch_size": (int, 1, "a whole number of at least 1", "32"),
    "max_length": (int, 2, "a whole number of at least 2", "128"),
    "seed": (int, 0, "a whole number from 0", "42"),
}


@dataclass(frozen=True)
class RunSettings:
    """A notebook's run: ``checkpoint`` and ``data`` are a Hub id or keyword, or an absolute folder;
    ``profile_reason`` says why this profile (``"no GPU found"``, ...)."""

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
    given_by: tuple[tuple[str, str], ...] = field(default=())  # (field, COURSE_... or "code"), in the order given
    profile_reason: str = field(default="", compare=False)

    @property
    def overridden(self) -> tuple[str, ...]:
        """The settings given by an environment variable or in the code, not taken from the profile."""
        return tuple(name for name, _ in self.given_by)

    @property
    def checkpoint_name(self) -> str:
        """The checkpoint as a reader should see it: a Hub id, or a local folder's name only."""
        return display_name(self.checkpoint)

    @property
    def data_name(self) -> str:
        """The data source as a reader should see it: ``hub``, ``sample`` or a folder's name."""
        return display_name(self.data)

    def identity(self) -> dict[str, Any]:
        """Every setting that changes what is trained (folders as absolute paths; what they hold is
        added by :func:`course_utils.runs.identity`), not how a value was chosen or where runs are kept.

        >>> get_settings("smoke").identity()["checkpoint"]
        'tiny-distilbert'
        """
        left_out = ("description", "output_dir", "profile_reason", "given_by")
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in left_out}

    @property
    def run_dir(self) -> Path:
        """Folder for this run's saved model and snapshots: ``output_dir / profile-checkpoint-hash``,
        the hash being the first 8 hex digits of the SHA-256 of :meth:`identity`."""
        name = Path(self.checkpoint).name if is_local_path(self.checkpoint) else self.checkpoint
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "checkpoint"
        digest = hashlib.sha256(json.dumps(self.identity(), sort_keys=True).encode()).hexdigest()[:8]
        return self.output_dir / f"{self.profile}-{slug}-{digest}"

    def as_dict(self) -> dict[str, Any]:
        """Plain, path-free dict of the settings (for display and for saving next to a model)."""
        d = dataclasses.asdict(self)
        del d["profile_reason"], d["given_by"]
        d.update(checkpoint=self.checkpoint_name, data=self.data_name, output_dir=self.output_dir.name,
                 overridden=list(self.overridden))
        return d


def check_value(field_name: str, value: Any, source: str | None = None) -> Any:
    """One setting's value in the type :class:`RunSettings` keeps; text is read as the environment
    variables are (ASCII digits only). ``source`` is how it was given (``"COURSE_EPOCHS='0'"``), for the error.

    >>> check_value("max_train_samples", "all"), check_value("epochs", "0.5")
    (None, 0.5)
    """
    source = source or f"{field_name}={value!r}"
    if field_name not in NUMBERS:  # checkpoint, data, output_dir, description
        if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
            raise ValueError(f"{source} is empty or not text. Give a {field_name} (see README, 'Profiles'), "
                             f"or leave it out.")
        return Path(value) if field_name == "output_dir" else str(value).strip()
    kind, low, what, example = NUMBERS[field_name]
    if field_name == "max_train_samples" and (value is None or str(value).strip().lower() in ("all", "none")):
        return None
    hint = ""
    if isinstance(value, str):
        text = value.strip()
        hint = "" if text.isascii() else " (write it with the digits 0-9)"
        if text.isascii() and (kind is float or text.isdigit()):  # int() and float() read any script's digits
            with suppress(ValueError):
                value = kind(text)
    number = isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool)
    if not number or not (0 < value < math.inf if kind is float else low <= value < 2**32):
        raise ValueError(f"{source} is not {what}{hint}. Set it to e.g. {example}.")
    return kind(value)


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (what decides between the ``default`` and ``cpu`` profiles)."""
    import torch

    return torch.cuda.is_available()


def choose_profile(profile: str | None = None, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The profile's name and why: the argument; for ``"auto"`` or ``None``, ``COURSE_PROFILE``, else the GPU.

    >>> choose_profile("smoke")
    ('smoke', "set in the notebook: PROFILE = 'smoke'")
    """
    choices, name = ", ".join(PROFILES), "" if profile is None else str(profile).strip().lower()
    if name not in ("", "auto"):
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
    return ("default", "a CUDA GPU found") if cuda_available() else ("cpu", "no GPU found")


def get_settings(profile: str | None = None, env: Mapping[str, str] | None = None, **overrides: Any) -> RunSettings:
    """Settings for this run: a profile (:func:`choose_profile`), then the variables of ``env``
    (``os.environ`` when ``None``), then ``overrides`` (any :class:`RunSettings` field, checked alike).
    Bad values raise ``ValueError``, unknown keywords ``TypeError``, missing folders ``FileNotFoundError``.

    Example:
        >>> get_settings("cpu", env={"COURSE_TRAIN_SAMPLES": "2000"}).max_train_samples
        2000
    """
    env = os.environ if env is None else env
    name, reason = choose_profile(profile, env)
    values: dict[str, Any] = dict(PROFILES[name], output_dir="course_outputs")
    given_by: dict[str, str] = {}  # a setting given twice keeps its first place and the code's source
    for env_name, field_name in ENV_OVERRIDES.items():
        raw = env_value(env_name, env)
        if raw is not None:
            values[field_name] = check_value(field_name, raw, f"{env_name}={raw!r}")
            given_by[field_name] = env_name
    known = {f.name for f in dataclasses.fields(RunSettings)} - {"profile", "profile_reason", "given_by"}
    for key, value in overrides.items():
        if key not in known:
            raise TypeError(f"get_settings() got an unknown setting {key!r}. "
                            f"Known settings: {', '.join(sorted(known))}.")
        values[key] = check_value(key, value)
        given_by[key] = "code"
    given = {key: None if key not in given_by else  # how a value was given, for the errors
             f"{key if key in overrides else f'COURSE_{key.upper()}'}={str(values[key])!r}"
             for key in ("checkpoint", "data", "output_dir")}
    for key in ("checkpoint", "data"):
        values[key] = resolve_source(values[key], key, env, given[key], PROFILES[name][key])
    values["output_dir"] = output = resolve_path(values["output_dir"], env)
    existing = next(p for p in (output, *output.parents) if p.exists())
    if not existing.is_dir():  # caught now, not after an hour of training
        raise NotADirectoryError(
            f"The output folder {output} ({given['output_dir'] or 'the default'}) cannot be made: {existing} is "
            f"a file. Set COURSE_OUTPUT_DIR to a folder (it is created if missing), or unset it for course_outputs/.")
    return RunSettings(profile=name, profile_reason=reason, given_by=tuple(given_by.items()), **values)


def device_kind() -> str:
    """``"cuda"``, ``"mps"`` or ``"cpu"``: what the Trainer will train on (the one place the course asks)."""
    import torch

    return "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
