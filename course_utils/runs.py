"""Saved runs: notebook 5's fine-tuned model on disk, reused by notebooks 6-8 only when provably the same.

A saved run is what ``trainer.save_model`` writes, the pretrained weights (:data:`SNAPSHOT`, for notebook
7) and :data:`RUN_INFO`: the settings with content fingerprints of checkpoint and data (:func:`identity`),
the metrics, and every file's size and SHA-256. :func:`ensure_finetuned` reuses a folder only when all of
these match, so an edited data file, a replaced checkpoint, an interrupted save or two notebooks training at
once lead to training again. Saves are staged beside the target and renamed into place in one step.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from . import files
from .settings import RunSettings
from .sources import fingerprint, is_local_path

RUN_INFO = "course_run.json"
SNAPSHOT = "pretrained_snapshot.safetensors"
RUN_FORMAT = 3  # bump when the record's layout changes: older records are then retrained
STALE_AFTER = 3600  # seconds: an older staging folder belongs to no save still running


def source_fingerprints(settings: RunSettings) -> dict[str, str]:
    """What the checkpoint and the data are, by content: a local folder's fingerprint, the shipped
    sample's and the tiny model's too; a Hub id or ``hub`` as it is (the Hub versions its files)."""
    from .data import SAMPLE_DIR
    from .models import tiny_checkpoint_path

    def of(value: str, kind: str) -> str:
        if kind == "data" and value == "sample":
            return fingerprint(SAMPLE_DIR)
        if kind == "checkpoint" and value == "tiny-distilbert":
            return fingerprint(tiny_checkpoint_path())
        if not is_local_path(value):  # a Hub id or "hub"
            return value
        return fingerprint(value)

    return {"checkpoint": of(settings.checkpoint, "checkpoint"), "data": of(settings.data, "data")}


def identity(settings: RunSettings) -> dict[str, Any]:
    """The settings that decide a run, with the content fingerprints of its checkpoint and data."""
    return {**settings.identity(), "fingerprints": source_fingerprints(settings)}


def save_snapshot(snap: dict, path: str | Path) -> Path:
    """Save a snapshot (``drift.snapshot(model)``) as a ``.safetensors`` file, atomically."""
    import torch
    from safetensors.torch import save_file

    not_tensors = sorted(k for k, v in snap.items() if not isinstance(v, torch.Tensor))
    if not_tensors:
        raise TypeError(f"A snapshot maps names to tensors; these values are not tensors: {not_tensors[:3]}. "
                        "Take one with drift.snapshot(model).")
    return files.write_atomic(path, lambda tmp: save_file({k: v.detach().cpu().contiguous() for k, v in snap.items()},
                                                          str(tmp)))


def load_snapshot(path: str | Path) -> dict:
    """Load a snapshot written by :func:`save_snapshot`; a missing or damaged file says which and what to do."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"No snapshot at {path}. Run notebook 5 (it saves the pretrained weights), "
                                f"or take one with drift.snapshot(model) before training.")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError) as err:
        raise ValueError(f"The snapshot {path} cannot be read ({err}): it was cut short or is not a snapshot. "
                         f"Delete it and run notebook 5 again.") from None


def _file_record(folder: Path) -> dict[str, dict[str, Any]]:
    record = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.name != RUN_INFO:
            with path.open("rb") as f:
                digest = hashlib.file_digest(f, "sha256").hexdigest()
            record[path.name] = {"bytes": path.stat().st_size, "sha256": digest}
    return record


def record_run(folder: str | Path, settings: RunSettings, metrics: dict[str, float], train_seconds: float,
               pretrained: dict | None = None) -> Path:
    """Complete a folder that ``trainer.save_model`` wrote with the pretrained snapshot and, last and
    atomically, the run record listing every other file (so :func:`check_run` tells an interrupted run)."""
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise FileNotFoundError(f"{folder.resolve()} holds no saved model (no config.json). "
                                f"Call trainer.save_model({str(folder)!r}) first.")
    if pretrained is not None:
        save_snapshot(pretrained, folder / SNAPSHOT)
    info = {"format": RUN_FORMAT, "identity": identity(settings), "settings": settings.as_dict(),
            "metrics": metrics, "train_seconds": round(float(train_seconds), 1), "files": _file_record(folder)}
    files.write_json(folder / RUN_INFO, info)
    return folder


def check_run(folder: str | Path) -> str | None:
    """Why ``folder`` is not a complete saved run (a sentence), or ``None`` when it is."""
    folder = Path(folder)
    try:
        info = files.read_json(folder / RUN_INFO, "The run record")
    except (FileNotFoundError, ValueError) as err:
        return str(err).split(". ")[0]
    if not isinstance(info, dict) or info.get("format") != RUN_FORMAT or not isinstance(info.get("files"), dict):
        return f"{folder / RUN_INFO} was written by another version of the course"
    for name, expected in info["files"].items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != expected.get("bytes"):
            return f"{path} is missing or has another size than the record says (an interrupted save?)"
    if info["files"] != _file_record(folder):
        return f"the files in {folder} differ from its record (an interrupted or mixed save?)"
    return None


def read_run(folder: str | Path) -> dict | None:
    """The record of a complete saved run in ``folder``, or ``None`` (see :func:`check_run`)."""
    return None if check_run(folder) is not None else files.read_json(Path(folder) / RUN_INFO, "The run record")


def _check_writable(folder: str | Path) -> None:
    """Before training: the nearest existing folder above ``folder`` is one this process may write to;
    else an error naming it and ``COURSE_OUTPUT_DIR``. Creates nothing."""
    folder = Path(folder).resolve()
    existing = next(p for p in folder.parents if p.exists())
    fix = "Set COURSE_OUTPUT_DIR to a folder you can write to (or leave it unset for course_outputs/)."
    if not existing.is_dir():
        raise NotADirectoryError(f"{existing} is a file, so no run can be saved in {folder.parent}. {fix}")
    if not os.access(existing, os.W_OK):
        raise PermissionError(f"{existing} is not writable, so no run can be saved in {folder.parent}. {fix}")


def clean_stale(folder: str | Path, older_than: float = STALE_AFTER) -> list[Path]:
    """Remove the staging folders that interrupted saves of ``folder`` left beside it (``.model.saving-*``,
    ``.model.old-*``) once they are ``older_than`` seconds old; returns what was removed."""
    folder = Path(folder)
    if not folder.parent.is_dir():
        return []
    now, removed = time.time(), []
    for pattern in (f".{folder.name}.saving-*", f".{folder.name}.old-*"):
        for stale in folder.parent.glob(pattern):
            if now - stale.stat().st_mtime > older_than:
                shutil.rmtree(stale, ignore_errors=True)
                removed.append(stale)
    return removed


def save_run(trainer, folder: str | Path, settings: RunSettings, metrics: dict[str, float], train_seconds: float,
             pretrained: dict | None = None) -> Path:
    """Save a whole run atomically: into a staging folder beside ``folder``, then renamed into place.
    A concurrent run that finished first wins; this one's files are then discarded, never mixed in."""
    folder = Path(folder)
    _check_writable(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    clean_stale(folder)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.saving-"))
    try:
        trainer.save_model(str(staging))
        record_run(staging, settings, metrics, train_seconds, pretrained)
        publish(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def publish(staging: Path, folder: Path) -> None:
    """Move a complete run from ``staging`` to ``folder``: keep an identical run already there, replace
    a broken or different one (moved aside first, then deleted)."""
    if folder.exists():
        if read_run(folder) == read_run(staging):  # a concurrent run saved the very same thing
            return
        aside = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.old-"))
        os.replace(folder, aside / folder.name)
        shutil.rmtree(aside, ignore_errors=True)
    try:
        os.replace(staging, folder)
    except OSError:  # another run published between our check and our rename: theirs stays
        if read_run(folder) is None:
            raise


def finetune(settings: RunSettings, save_to: str | Path | None = None, evaluations: int = 0):
    """Notebook 5's run, seeded in the same order (the same weights on the same hardware): load, tokenize,
    order, train, evaluate, and with ``save_to`` save. Returns ``(trainer, metrics, seconds)``."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer, set_seed

    from .data import load_sst2
    from .drift import snapshot
    from .models import resolve_checkpoint
    from .recipe import make_trainer, order_by_length, select_train, tokenize, training_arguments

    if save_to is not None:
        _check_writable(save_to)  # now, not after the training
    raw = load_sst2(settings.data)
    checkpoint = resolve_checkpoint(settings.checkpoint, max_length=settings.max_length)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    encoded = tokenize(raw, tokenizer, settings.max_length)
    train = order_by_length(select_train(encoded, settings), settings.batch_size, settings.seed)
    names = raw["train"].features["label"].names
    set_seed(settings.seed)  # the new head's random start, as in notebook 5
    model = AutoModelForSequenceClassification.from_pretrained(
        checkpoint, num_labels=len(names), id2label=dict(enumerate(names)),
        label2id={name: i for i, name in enumerate(names)})
    before = snapshot(model) if save_to is not None else None
    with tempfile.TemporaryDirectory(prefix="course-trainer-") as scratch:
        args = training_arguments(settings, scratch, evaluations=evaluations)
        trainer = make_trainer(model, args, tokenizer, train, encoded["validation"])
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
        metrics = trainer.evaluate()
    if save_to is not None:
        save_run(trainer, save_to, settings, metrics, seconds, before)
    return trainer, metrics, seconds


def ensure_finetuned(settings: RunSettings) -> Path:
    """Notebook 5's saved model for these settings, checkpoint and data; trained now, the same way, when it
    is missing, incomplete, or made from anything else (so notebooks 6-8 each run on their own)."""
    folder = settings.run_dir / "model"
    problem = check_run(folder)
    if problem is None:
        info = read_run(folder)
        if info is not None and info["identity"] == files.json_roundtrip(identity(settings)):
            accuracy = info["metrics"].get("eval_accuracy", float("nan"))
            print(f"Using notebook 5's fine-tuned model (validation accuracy {accuracy:.3f}).")
            return folder
        print("Notebook 5's saved model was trained with other settings, another checkpoint or other data.")
    elif folder.exists():
        print(f"Notebook 5's saved model is incomplete ({problem}).")
    else:
        print("Notebook 5's fine-tuned model was not found (run notebook 5 first to reuse it).")
    print("Training one now with notebook 5's recipe and seed; see the run card for the budget.")
    _, metrics, seconds = finetune(settings, save_to=folder, evaluations=4)
    print(f"Done in {seconds:.0f} s: validation accuracy {metrics['eval_accuracy']:.3f}.")
    return folder
