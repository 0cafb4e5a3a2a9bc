"""Checkpoints: a Hub id, a local folder, or ``tiny-distilbert`` (random weights, the real uncased vocabulary).

:func:`resolve_checkpoint` turns any into what ``from_pretrained`` loads, checking a local folder first
(:func:`check_checkpoint`): a copy cut short, or weights its config.json does not describe, fail there.

Example:
    >>> Path(resolve_checkpoint("tiny-distilbert")).name
    'tiny-distilbert-v1'
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from contextlib import suppress
from pathlib import Path

from huggingface_hub import is_offline_mode, try_to_load_from_cache

from . import hub
from .sources import TINY_CHECKPOINT, cache_dir, display_name, is_local_path, resolve_source

VOCAB_FILE = Path(__file__).parent / "assets" / "tiny_tokenizer" / "vocab.txt"
TINY_VERSION = 1  # bump when the tiny model's recipe changes, so caches are rebuilt
#: Random DistilBERTs built offline: the smoke profile's tiny one, and ``distilbert-base-uncased``'s shapes.
RANDOM_SHAPES: dict[str, dict[str, int]] = {"tiny": dict(dim=64, n_layers=2, n_heads=2, hidden_dim=128),
                                            "distilbert-base": {}}
FIX = ("To fix it, copy or download the whole checkpoint again: the files model.save_pretrained(folder) and "
       "tokenizer.save_pretrained(folder) write, or `make offline-assets` on a machine with Hub access. "
       "Or point COURSE_CHECKPOINT at another folder.")


class CheckpointError(ValueError):
    """A local checkpoint folder that cannot be loaded; the message lists every problem and the fix."""


def _first_line(err: Exception) -> str:
    return str(err).partition("\n")[0]


def _weight_shapes(folder: Path) -> tuple[dict[str, tuple], list[str]]:
    """Every weight's name and shape in ``folder``'s weights files (their headers only), and the problems."""
    import torch
    from safetensors import safe_open

    files = [f for f in (folder / "model.safetensors", folder / "pytorch_model.bin") if f.is_file()][:1]
    for index in (folder / "model.safetensors.index.json", folder / "pytorch_model.bin.index.json"):
        if index.is_file():
            try:
                shards = json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()
                files = sorted({folder / s for s in shards})
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
                return {}, [f"{index} is not a readable weights index ({err})"]
            if missing := [str(f) for f in files if not f.is_file()]:
                return {}, [f"weight shards listed in {index} are missing: {', '.join(missing)}"]
            break
    if not files:
        return {}, ["no weights: model.safetensors (or model.safetensors.index.json with its shards, "
                    "or pytorch_model.bin)"]
    shapes, problems = {}, []
    for path in files:
        try:
            if path.suffix == ".safetensors":
                with safe_open(str(path), framework="pt") as f:
                    shapes.update({k: tuple(f.get_slice(k).get_shape()) for k in f.keys()})
            else:  # memory-mapped: the tensors' data is not read
                weights = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
                shapes.update({k: tuple(v.shape) for k, v in weights.items()})
        except Exception as err:  # safetensors and torch raise their own errors for a damaged file
            problems.append(f"{path} cannot be read, it was cut short or damaged ({_first_line(err)})")
    return shapes, problems


def _architecture_problems(config, shapes: dict[str, tuple]) -> list[str]:
    """Whether the weights are those ``config`` describes: every weight of its base model, in its shape."""
    import torch
    from transformers import AutoModel

    try:
        with torch.device("meta"):  # the model's structure, without memory for its weights
            model = AutoModel.from_config(config)
    except ValueError:  # no base model class for this config: nothing to compare with
        return []
    expected = {k: tuple(p.shape) for k, p in model.named_parameters()}
    # Saved with a task head, names start with the base model's prefix; LayerNorm.gamma/beta are legacy names.
    found = {k.removeprefix(f"{model.base_model_prefix}.").replace("LayerNorm.gamma", "LayerNorm.weight")
             .replace("LayerNorm.beta", "LayerNorm.bias"): s for k, s in shapes.items()}
    missing = [k for k in expected if k not in found]
    other = [f"{k} is {found[k]}, the config says {s}" for k, s in expected.items() if found.get(k, s) != s]
    if not missing and not other:
        return []
    return [f"config.json ({config.model_type}) does not describe these weights: {len(missing)} of its "
            f"{len(expected)} weights are not in the weights files{f' (e.g. {missing[0]})' if missing else ''}, "
            f"{len(other)} have another shape{f' (e.g. {other[0]})' if other else ''}"]


def _tokenizer_problems(folder: Path) -> list[str]:
    if (folder / "tokenizer.json").is_file():
        try:
            json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
            return []
        except (OSError, ValueError) as err:
            return [f"{folder / 'tokenizer.json'} is not readable JSON ({err})"]
    if (folder / "vocab.txt").is_file() or any(folder.glob("*.model")):
        return []
    lacking = [n for n in ("vocab.json", "merges.txt") if not (folder / n).is_file()]
    if len(lacking) == 1:
        return [f"the tokenizer is incomplete: {folder / lacking[0]} is missing"]
    return ["no tokenizer files: tokenizer.json, or vocab.txt, or vocab.json with merges.txt, "
            "or a SentencePiece *.model"] if lacking else []


def checkpoint_problems(folder: str | Path) -> list[str]:
    """Everything that keeps ``folder`` from loading as a checkpoint with its tokenizer (empty: fine)."""
    from transformers import AutoConfig

    folder, config, problems = Path(folder), None, []
    if not (folder / "config.json").is_file():
        problems.append(f"no config.json ({folder / 'config.json'})")
    else:
        try:
            config = AutoConfig.from_pretrained(folder)
        except (OSError, ValueError) as err:
            problems.append(f"{folder / 'config.json'} cannot be read: {_first_line(err)}")
    shapes, weight_problems = _weight_shapes(folder)
    if config is not None and not weight_problems:
        weight_problems = _architecture_problems(config, shapes)
    return problems + weight_problems + _tokenizer_problems(folder)


def check_checkpoint(folder: str | Path) -> Path:
    """Raise :class:`CheckpointError` listing every problem of the checkpoint ``folder``; return it when fine."""
    folder = Path(folder).resolve()
    if problems := checkpoint_problems(folder):
        listed = "\n".join(f"  - {p}" for p in problems)
        raise CheckpointError(f"The checkpoint folder {folder} cannot be loaded:\n{listed}\n{FIX}")
    return folder


def check_max_length(checkpoint: str | os.PathLike, max_length: int) -> None:
    """Refuse a ``max_length`` beyond the checkpoint's positions (training would stop on a tensor size)."""
    from transformers import AutoConfig

    positions = getattr(AutoConfig.from_pretrained(checkpoint), "max_position_embeddings", None)
    if positions is not None and max_length > positions:
        raise ValueError(f"max_length={max_length} is more than the {positions} positions of the checkpoint "
                         f"{display_name(checkpoint)} (max_position_embeddings in its config.json): training would "
                         f"stop on a tensor-size error. Set the course's max_length setting to {positions} or less, "
                         f"e.g. get_settings(PROFILE, max_length={positions}).")


def build_random_distilbert(folder: str | Path, shape: str = "tiny", seed: int = 0) -> Path:
    """Write a DistilBERT with random weights (``shape``: a :data:`RANDOM_SHAPES` key) to ``folder``, with
    the real uncased WordPiece vocabulary, so token ids match ``distilbert-base-uncased``."""
    import torch
    from transformers import DistilBertConfig, DistilBertForMaskedLM, DistilBertTokenizer

    if shape not in RANDOM_SHAPES:
        raise ValueError(f"Unknown shape {shape!r}; choose one of {', '.join(RANDOM_SHAPES)}.")
    tokenizer = DistilBertTokenizer(vocab=str(VOCAB_FILE), do_lower_case=True, model_max_length=512)
    config = DistilBertConfig(vocab_size=tokenizer.vocab_size, max_position_embeddings=512,
                              pad_token_id=tokenizer.pad_token_id, **RANDOM_SHAPES[shape])
    torch.manual_seed(seed)
    # A masked-LM model like the real checkpoint: loading it for classification adds a new head.
    DistilBertForMaskedLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


def build_tiny_checkpoint(folder: str | Path, seed: int = 0) -> Path:
    """The smoke profile's tiny DistilBERT: :func:`build_random_distilbert` with ``shape="tiny"``."""
    return build_random_distilbert(folder, "tiny", seed)


def tiny_checkpoint_path() -> Path:
    """The tiny checkpoint's folder in the course cache, built on first use (a second), rebuilt when broken.

    The build goes to a temporary folder that is renamed into place in one step, so concurrent
    builders (two notebooks, parallel tests) never see half a checkpoint: the first rename wins.
    """
    target = cache_dir() / f"{TINY_CHECKPOINT}-v{TINY_VERSION}"
    if target.is_dir() and not checkpoint_problems(target):
        return target
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.building-"))
    try:
        build_tiny_checkpoint(tmp)
        tmp.chmod(0o755)  # mkdtemp makes it private; a shared COURSE_CACHE must be readable by all
        if target.exists() and checkpoint_problems(target):  # broken: move it aside in one step, then delete it
            aside = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.broken-"))
            with suppress(OSError):  # another builder moved it first
                os.replace(target, aside / target.name)
            shutil.rmtree(aside, ignore_errors=True)
        with suppress(OSError):  # another builder's complete folder is in place: keep theirs
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return check_checkpoint(target)


def resolve_checkpoint(checkpoint: str | os.PathLike, max_length: int | None = None) -> str:
    """What ``from_pretrained`` loads without hanging: ``tiny-distilbert``'s folder (built once); a local
    folder, checked (:class:`CheckpointError`), as an absolute path; a Hub id as is when the Hub answers,
    else its cached copy, checked, else a :class:`~course_utils.hub.HubUnavailableError` at once. With
    ``max_length`` (the settings'), :func:`check_max_length` too."""
    value = resolve_source(checkpoint, "checkpoint")
    if value == TINY_CHECKPOINT:
        resolved = str(tiny_checkpoint_path())
    elif is_local_path(value):
        resolved = str(check_checkpoint(value))
    elif is_offline_mode() or not hub.hub_reachable():
        cached = try_to_load_from_cache(value, "config.json")
        if not isinstance(cached, str):
            reason = hub.NOT_IN_CACHE if is_offline_mode() else f"{hub.UNREACHABLE} and it is not in your cache"
            raise hub.unavailable(f"the checkpoint {value!r}", reason)
        resolved = str(check_checkpoint(Path(cached).parent))
    else:
        resolved = value
    if max_length is not None:
        check_max_length(resolved, max_length)
    return resolved
