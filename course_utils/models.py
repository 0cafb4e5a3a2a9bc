"""Checkpoints: where they come from, and loading one with the label names attached.

A checkpoint is a Hub id (``distilbert-base-uncased``), a local folder saved with
``save_pretrained``, or ``tiny-distilbert``: a 2-layer DistilBERT with random weights that
:func:`build_tiny_checkpoint` writes from the uncased vocabulary shipped in this package, so
the offline smoke profile tokenizes exactly like the real ``distilbert-base-uncased``.

Example:
    >>> id2label, label2id = label_maps(["negative", "positive"])
    >>> id2label, label2id
    ({0: 'negative', 1: 'positive'}, {'negative': 0, 'positive': 1})
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from . import hub
from .settings import TINY_CHECKPOINT, display_name, is_local_path

VOCAB_FILE = Path(__file__).parent / "assets" / "tiny_tokenizer" / "vocab.txt"
TINY_VERSION = 1  # bump when the tiny model's recipe changes, so caches are rebuilt


def cache_dir() -> Path:
    """Where the course keeps what it builds (the tiny checkpoint): ``COURSE_CACHE`` or ``~/.cache/course_utils``."""
    return Path(os.environ.get("COURSE_CACHE", Path.home() / ".cache" / "course_utils")).expanduser()


def label_maps(names: list[str]) -> tuple[dict[int, str], dict[str, int]]:
    """``id2label`` and ``label2id`` for ``from_pretrained``, so predictions carry real names.

    Example:
        >>> label_maps(["negative", "positive"])[0][1]
        'positive'
    """
    if not names or len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
        raise ValueError(f"Label names must be distinct, non-empty strings, e.g. ['negative', 'positive']; got {names!r}.")
    return dict(enumerate(names)), {name: i for i, name in enumerate(names)}


#: Sizes of the random DistilBERTs the course builds offline: the smoke profile's tiny one, and
#: one with ``distilbert-base-uncased``'s exact shapes (DistilBertConfig's defaults) for speed tests.
RANDOM_SHAPES: dict[str, dict[str, int]] = {
    "tiny": dict(dim=64, n_layers=2, n_heads=2, hidden_dim=128),
    "distilbert-base": {},
}


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
    """The tiny checkpoint's folder in the course cache, built on first use (about a second)."""
    target = cache_dir() / f"{TINY_CHECKPOINT}-v{TINY_VERSION}"
    if not (target / "model.safetensors").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".building-"))
        build_tiny_checkpoint(tmp)
        try:
            tmp.rename(target)
        except OSError:  # built meanwhile by another process: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_checkpoint(checkpoint: str) -> str:
    """Turn a checkpoint name into something ``from_pretrained`` loads without hanging.

    * ``tiny-distilbert``: built locally (once) and returned as a folder;
    * a local folder: checked for a ``config.json``;
    * a Hub id: returned as is when the Hub answers; when it does not, the cached copy
      if there is one, else a :class:`~course_utils.hub.HubUnavailableError` naming the
      offline options (instead of a minute of retries).

    Example:
        >>> Path(resolve_checkpoint("tiny-distilbert")).name
        'tiny-distilbert-v1'
    """
    if checkpoint == TINY_CHECKPOINT:
        return str(tiny_checkpoint_path())
    if is_local_path(checkpoint) or Path(checkpoint).expanduser().is_dir():
        folder = Path(checkpoint).expanduser()
        if not folder.is_dir():
            raise FileNotFoundError(
                f"Checkpoint folder {display_name(checkpoint)!r} not found. Check COURSE_CHECKPOINT "
                f"(or the path you passed); it should be a folder written by save_pretrained()."
            )
        if not (folder / "config.json").exists():
            raise FileNotFoundError(
                f"The folder {folder.name!r} has no config.json, so it is not a Hugging Face checkpoint. "
                f"Point COURSE_CHECKPOINT at a folder written by save_pretrained() or `make offline-assets`."
            )
        return str(folder)
    if hub.hub_offline_mode() or not hub.hub_reachable():
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(checkpoint, "config.json")
        if isinstance(cached, str):
            return str(Path(cached).parent)
        reason = "HF_HUB_OFFLINE=1 is set and it is not in your cache" if hub.hub_offline_mode() else (
            "huggingface.co cannot be reached and it is not in your cache"
        )
        raise hub.unavailable(f"the checkpoint {checkpoint!r}", reason)
    return checkpoint


def read_config(checkpoint: str) -> dict:
    """The ``config.json`` of a resolved checkpoint folder, as a dict (for run cards and checks)."""
    path = Path(checkpoint) / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def load_for_classification(checkpoint: str, label_names: list[str]):
    """Load tokenizer and a sequence-classification model whose head has ``label_names``.

    This is the two-line recipe the notebooks show, in one place for the helpers
    that retrain a model (e.g. when notebook 5's saved model is missing).

    Example:
        >>> tok, model = load_for_classification("tiny-distilbert", ["negative", "positive"])
        >>> model.config.id2label
        {0: 'negative', 1: 'positive'}
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    path = resolve_checkpoint(checkpoint)
    id2label, label2id = label_maps(label_names)
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(
        path, num_labels=len(label_names), id2label=id2label, label2id=label2id
    )
    return tokenizer, model
