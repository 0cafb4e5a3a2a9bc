"""The offline classroom (README, "Offline classroom"): ``make offline-assets`` copies a checkpoint and SST-2
(as ``train.parquet``, ``validation.parquet``, ``test.parquet``) to local folders, once, with Hub access.

Example:
    >>> import tempfile
    >>> from course_utils.data import load_sst2
    >>> folder = save_sst2(tempfile.mkdtemp(), raw=load_sst2("sample"))
    >>> sorted(p.name for p in folder.iterdir())
    ['train.parquet', 'validation.parquet']
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from huggingface_hub import is_offline_mode

from . import hub
from .files import write_atomic

if TYPE_CHECKING:
    import datasets

NEEDS_THE_HUB = "this target needs the Hub; run it on a machine that can reach huggingface.co"


def save_sst2(folder: str | Path, raw: datasets.DatasetDict | None = None) -> Path:
    """Write SST-2 (from the Hub unless ``raw`` is given) as Parquet files, one per split."""
    from .data import load_from_hub

    raw = load_from_hub() if raw is None else raw
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, ds in raw.items():  # atomically: an interrupted copy leaves no half file
        write_atomic(folder / f"{split}.parquet", lambda tmp, ds=ds: ds.to_parquet(str(tmp)))
    return folder


def save_checkpoint(checkpoint: str, folder: str | Path) -> Path:
    """Download ``checkpoint``'s files from the Hub into ``folder`` (weights, config, tokenizer), then check them."""
    from huggingface_hub import snapshot_download

    from .models import check_checkpoint

    if is_offline_mode() or not hub.hub_reachable():
        raise hub.unavailable(f"the checkpoint {checkpoint!r}", NEEDS_THE_HUB)
    patterns = ["*.json", "*.txt", "*.safetensors", "*.model"]  # config, tokenizer, weights
    snapshot_download(repo_id=checkpoint, local_dir=str(folder), allow_patterns=patterns)
    return check_checkpoint(folder)


def main(argv: list[str] | None = None) -> int:
    """``python -m course_utils.offline OUT_DIR [--checkpoint ID]``: save both for a classroom."""
    parser = argparse.ArgumentParser(description="Save a checkpoint and SST-2 to local folders for offline use.")
    parser.add_argument("out_dir", help="folder to create, e.g. offline_assets")
    parser.add_argument("--checkpoint", default="distilbert-base-uncased", help="Hub id to save")
    args = parser.parse_args(argv)
    out = Path(args.out_dir).resolve()
    model_dir = save_checkpoint(args.checkpoint, out / args.checkpoint.split("/")[-1])
    data_dir = save_sst2(out / "sst2")
    print(f"Saved {args.checkpoint} to {model_dir} and SST-2 to {data_dir}. On the class machines set:\n"
          f"  export HF_HUB_OFFLINE=1\n  export COURSE_CHECKPOINT={model_dir}\n  export COURSE_DATA={data_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
