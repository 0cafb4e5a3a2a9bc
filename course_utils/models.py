"""Checkpoints: where they come from, and checking a local one before anything trains.

A checkpoint is a Hub id (``distilbert-base-uncased``), a local folder saved with
``save_pretrained``, or ``tiny-distilbert``: a 2-layer DistilBERT with random weights that
:func:`tiny_checkpoint_path` builds (once, in the course cache) from the uncased vocabulary
shipped in this package, so the offline smoke profile tokenizes exactly like the real
``distilbert-base-uncased``.

:func:`resolve_checkpoint` turns any of them into what ``from_pretrained`` loads, and checks a
local folder first: a readable ``config.json``, complete weights and tokenizer files. A copy
cut short fails here, naming the file, instead of half-way through loading.

Example:
    >>> Path(resolve_checkpoint("tiny-distilbert")).name
    'tiny-distilbert-v1'
"""

from __future__ import annotations

import json
import os
import shutil
import struct
import tempfile
import zipfile
from pathlib import Path

from huggingface_hub import is_offline_mode, try_to_load_from_cache

from . import hub
from .sources import TINY_CHECKPOINT, cache_dir, is_local_path, resolve_source

VOCAB_FILE = Path(__file__).parent / "assets" / "tiny_tokenizer" / "vocab.txt"
TINY_VERSION = 1  # bump when the tiny model's recipe changes, so caches are rebuilt

#: Sizes of the random DistilBERTs the course builds offline: the smoke profile's tiny one, and
#: one with ``distilbert-base-uncased``'s exact shapes (DistilBertConfig's defaults) for speed tests.
RANDOM_SHAPES: dict[str, dict[str, int]] = {
    "tiny": dict(dim=64, n_layers=2, n_heads=2, hidden_dim=128),
    "distilbert-base": {},
}


class CheckpointError(ValueError):
    """A local checkpoint folder that cannot be loaded; the message lists every problem and the fix."""


# ---------------------------------------------------------------------------------------
# Checking a local checkpoint folder


def _json_problem(path: Path) -> str | None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        return f"{path} is not readable JSON ({err})"
    return None


def safetensors_problem(path: str | Path) -> str | None:
    """Why the ``.safetensors`` file at ``path`` cannot be loaded (a sentence), or ``None``.

    The header (8 bytes of length, then JSON) gives every tensor's byte range: a file shorter
    than the last range was cut short. ``safetensors.safe_open`` then checks the header itself.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path).resolve()
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
            if header_len > size:
                raise ValueError("header longer than the file")
            header = json.loads(f.read(header_len))
        end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    except (struct.error, ValueError, KeyError, TypeError, IndexError):
        return f"{path} is not a readable safetensors file ({size:,} bytes, no valid header): download/copy it again"
    expected = 8 + header_len + end
    if size < expected:
        return f"{path} is truncated ({size:,} bytes, its header says {expected:,}): download/copy it again"
    try:
        with safe_open(str(path), framework="pt"):
            pass
    except (SafetensorError, OSError) as err:
        return f"{path} cannot be read ({err}): download/copy it again"
    return None


def _torch_bin_problem(path: Path) -> str | None:
    with open(path, "rb") as f:
        start = f.read(2)
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                archive.namelist()
        except zipfile.BadZipFile as err:
            return f"{path} cannot be read ({err}): download/copy it again"
        return None
    if start[:1] == b"\x80":  # a legacy (pre zip) torch.save file: a pickle
        return None
    return f"{path} is not a PyTorch weights file (cut short?): download/copy it again"


def _weights_problems(folder: Path) -> list[str]:
    for index_name, check in (("model.safetensors.index.json", safetensors_problem),
                              ("pytorch_model.bin.index.json", _torch_bin_problem)):
        index = folder / index_name
        if index.is_file():
            bad_json = _json_problem(index)
            if bad_json:
                return [bad_json + ": download/copy it again"]
            shards = sorted(set(json.loads(index.read_text(encoding="utf-8")).get("weight_map", {}).values()))
            missing = [str(folder / s) for s in shards if not (folder / s).is_file()]
            if missing:
                return [f"weight shards listed in {index} are missing: {', '.join(missing)}"]
            return [p for p in (check(folder / s) for s in shards) if p]
    if (folder / "model.safetensors").is_file():
        return [p for p in [safetensors_problem(folder / "model.safetensors")] if p]
    if (folder / "pytorch_model.bin").is_file():
        return [p for p in [_torch_bin_problem(folder / "pytorch_model.bin")] if p]
    return ["no weights: model.safetensors (or model.safetensors.index.json with its shards, or pytorch_model.bin)"]


def _tokenizer_problems(folder: Path) -> list[str]:
    if (folder / "tokenizer.json").is_file():
        problem = _json_problem(folder / "tokenizer.json")
        return [problem + ": download/copy it again"] if problem else []
    if (folder / "vocab.txt").is_file() or any(folder.glob("*.model")):
        return []
    if (folder / "vocab.json").is_file() or (folder / "merges.txt").is_file():
        if (folder / "vocab.json").is_file() and (folder / "merges.txt").is_file():
            return []
        lacking = "merges.txt" if (folder / "vocab.json").is_file() else "vocab.json"
        return [f"the tokenizer is incomplete: {folder / lacking} is missing"]
    return ["no tokenizer files: tokenizer.json, or vocab.txt, or vocab.json with merges.txt, "
            "or a SentencePiece *.model"]


def checkpoint_problems(folder: str | Path) -> list[str]:
    """Everything that keeps ``folder`` from loading as a checkpoint with its tokenizer (empty: fine)."""
    folder = Path(folder)
    problems = []
    config = folder / "config.json"
    if not config.is_file():
        problems.append(f"no config.json ({config})")
    else:
        bad = _json_problem(config)
        if bad:
            problems.append(bad + ": download/copy it again")
    return problems + _weights_problems(folder) + _tokenizer_problems(folder)


def check_checkpoint(folder: str | Path) -> Path:
    """Raise :class:`CheckpointError` listing every problem of the checkpoint ``folder``; return it when fine.

    >>> check_checkpoint(tiny_checkpoint_path()).name
    'tiny-distilbert-v1'
    """
    folder = Path(folder).resolve()
    problems = checkpoint_problems(folder)
    if problems:
        listed = "\n".join(f"  - {p}" for p in problems)
        raise CheckpointError(
            f"The checkpoint folder {folder} cannot be loaded:\n{listed}\n"
            f"To fix it, copy or download the whole checkpoint again: the files model.save_pretrained(folder) "
            f"and tokenizer.save_pretrained(folder) write, or `make offline-assets` on a machine with Hub access. "
            f"Or point COURSE_CHECKPOINT at another folder."
        )
    return folder


# ---------------------------------------------------------------------------------------
# The random DistilBERTs, and the tiny one in the course cache


def build_random_distilbert(folder: str | Path, shape: str = "tiny", seed: int = 0) -> Path:
    """Write a DistilBERT with random weights and the real uncased tokenizer to ``folder``.

    ``shape`` is ``"tiny"`` (2 layers, width 64: the smoke profile) or ``"distilbert-base"``
    (the exact shapes of ``distilbert-base-uncased``: speed measurements). The tokenizer is the
    real uncased WordPiece vocabulary, so token ids match ``distilbert-base-uncased``; the
    weights are random, so predictions are chance.

    Example:
        >>> import tempfile
        >>> path = build_random_distilbert(tempfile.mkdtemp())
        >>> sorted(p.name for p in path.iterdir())[:2]
        ['config.json', 'model.safetensors']
    """
    import torch
    from transformers import DistilBertConfig, DistilBertForMaskedLM, DistilBertTokenizer

    if shape not in RANDOM_SHAPES:
        raise ValueError(f"Unknown shape {shape!r}; choose one of {', '.join(RANDOM_SHAPES)}.")
    folder = Path(folder)
    tokenizer = DistilBertTokenizer(vocab=str(VOCAB_FILE), do_lower_case=True, model_max_length=512)
    config = DistilBertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=512,
                              pad_token_id=tokenizer.pad_token_id, **RANDOM_SHAPES[shape])
    torch.manual_seed(seed)
    # A masked-LM model like the real checkpoint: loading it for classification adds a new head.
    model = DistilBertForMaskedLM(config)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def build_tiny_checkpoint(folder: str | Path, seed: int = 0) -> Path:
    """The smoke profile's tiny DistilBERT: :func:`build_random_distilbert` with ``shape="tiny"``."""
    return build_random_distilbert(folder, "tiny", seed)


def tiny_checkpoint_path() -> Path:
    """The tiny checkpoint's folder in the course cache (:func:`cache_dir`), built on first use (a second).

    A folder already there is checked first and rebuilt when broken. The build goes to a
    temporary folder beside it that is renamed into place in one step, so concurrent builders
    (two notebooks, parallel tests) never see half a checkpoint: the first rename wins and the
    others discard theirs.
    """
    target = cache_dir() / f"{TINY_CHECKPOINT}-v{TINY_VERSION}"
    if target.is_dir() and not checkpoint_problems(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-"))
    try:
        build_tiny_checkpoint(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; a shared COURSE_CACHE must be readable by all
        if target.exists() and checkpoint_problems(target):  # broken: move it aside, then delete it
            aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.broken-"))
            try:
                os.replace(target, aside / target.name)
            except OSError:
                pass  # another builder moved it first
            shutil.rmtree(aside, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:  # another builder's complete folder is in place: keep theirs
            pass
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check_checkpoint(target)


# ---------------------------------------------------------------------------------------
# Resolving a checkpoint name


def resolve_checkpoint(checkpoint: str | os.PathLike) -> str:
    """Turn a checkpoint name into something ``from_pretrained`` loads without hanging.

    * ``tiny-distilbert``: built locally (once) and returned as a folder;
    * a local folder (relative paths start from ``COURSE_START_DIR`` or the current directory):
      checked with :func:`check_checkpoint`, returned as an absolute path;
    * a Hub id: returned as is when the Hub answers; when it does not (or in offline mode), the
      cached copy, checked like a folder, if there is one, else a
      :class:`~course_utils.hub.HubUnavailableError` naming the offline options (at once,
      instead of a minute of retries).

    Raises:
        FileNotFoundError: a folder that does not exist (its absolute path shown).
        CheckpointError: a folder with missing or broken files (each listed, with the fix).
    """
    value = resolve_source(checkpoint, "checkpoint")
    if value == TINY_CHECKPOINT:
        return str(tiny_checkpoint_path())
    if is_local_path(value):
        return str(check_checkpoint(value))
    if is_offline_mode() or not hub.hub_reachable():
        cached = try_to_load_from_cache(value, "config.json")
        if isinstance(cached, str):
            return str(check_checkpoint(Path(cached).parent))
        reason = hub.NOT_IN_CACHE if is_offline_mode() else f"{hub.UNREACHABLE} and it is not in your cache"
        raise hub.unavailable(f"the checkpoint {value!r}", reason)
    return value
