"""Loading GLUE SST-2 from the Hub, from a local folder, or from the sample shipped here.

Whatever the source, :func:`load_sst2` returns the same thing the Hub gives: a
``DatasetDict`` with ``train`` and ``validation`` splits (and ``test`` when the source has
one), columns ``sentence`` (str), ``label`` (``ClassLabel`` with names ``negative`` and
``positive``) and ``idx`` (int). The data is checked on the way in, so a wrong file fails
here with a clear message rather than deep inside training.

Example:
    >>> raw = load_sst2("sample")
    >>> raw["train"].features["label"].names
    ['negative', 'positive']
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from . import hub

if TYPE_CHECKING:  # imported inside the functions that need it: read_table works without datasets
    import datasets

HUB_DATASET = ("nyu-mll/glue", "sst2")
LABEL_NAMES = ["negative", "positive"]
SPLITS = ("train", "validation", "test")
REQUIRED_COLUMNS = ("sentence", "label")
SAMPLE_DIR = Path(__file__).parent / "assets" / "sst2_sample"
FILE_SUFFIXES = (".tsv", ".csv", ".parquet", ".tsv.gz", ".csv.gz")


def features() -> datasets.Features:
    """The SST-2 features, exactly as the Hub's ``nyu-mll/glue`` ``sst2`` config declares them."""
    import datasets

    return datasets.Features(
        {
            "sentence": datasets.Value("string"),
            "label": datasets.ClassLabel(names=LABEL_NAMES),
            "idx": datasets.Value("int32"),
        }
    )


def read_table(path: str | Path) -> pd.DataFrame:
    """Read one SST-2 file (TSV, CSV or Parquet) into a DataFrame, keeping sentences verbatim.

    SST-2 sentences contain ``"`` and ``'``, so TSV files are read without quote handling.

    Example:
        >>> read_table(SAMPLE_DIR / "validation.tsv").columns.tolist()
        ['sentence', 'label', 'idx']
    """
    path = Path(path)
    name = path.name.lower()
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    if name.endswith((".tsv", ".tsv.gz")):
        return pd.read_csv(path, sep="\t", quoting=csv.QUOTE_NONE, keep_default_na=False)
    if name.endswith((".csv", ".csv.gz")):
        return pd.read_csv(path, keep_default_na=False)
    raise ValueError(f"Cannot read {path.name}: use a .tsv, .csv or .parquet file.")


def split_files(folder: str | Path, split: str) -> list[Path]:
    """The files in ``folder`` that hold ``split`` (``train.tsv``, ``validation.parquet``, ...).

    >>> [p.name for p in split_files(SAMPLE_DIR, "train")]
    ['train.tsv']
    """
    folder = Path(folder)
    return [folder / f"{split}{suffix}" for suffix in FILE_SUFFIXES if (folder / f"{split}{suffix}").exists()]


def check_split(df: pd.DataFrame, split: str, source: str) -> pd.DataFrame:
    """Check one split's columns, sentences and labels; return it with the SST-2 columns only.

    Raises ``ValueError`` naming what is wrong and how to fix it.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        hint = ""
        text_like = [c for c in df.columns if c.lower() in {"text", "sentence", "review", "content"}]
        if "sentence" in missing and text_like:
            hint = f" Rename the text column first, e.g. df.rename(columns={{{text_like[0]!r}: 'sentence'}})."
        raise ValueError(
            f"The {split} split of {source} has no column {', '.join(map(repr, missing))} "
            f"(its columns are {list(df.columns)}). SST-2 files need a 'sentence' column (text) "
            f"and a 'label' column (0 = negative, 1 = positive).{hint}"
        )
    if len(df) == 0:
        raise ValueError(f"The {split} split of {source} has no rows. Give a file with at least one sentence.")
    sentences = df["sentence"]
    not_text = sentences.map(lambda s: not isinstance(s, str))
    empty = ~not_text & sentences.map(lambda s: isinstance(s, str) and not s.strip())
    bad = not_text | empty
    if bad.any():
        rows = df.index[bad].tolist()
        raise ValueError(
            f"The {split} split of {source} has {len(rows)} empty or missing sentence(s), at rows {rows[:5]}. "
            f"Remove those rows or fill in their text."
        )
    labels = pd.to_numeric(df["label"], errors="coerce")
    allowed = {0, 1, -1} if split == "test" else {0, 1}
    wrong = labels.isna() | ~labels.isin(allowed)
    if wrong.any():
        rows = df.index[wrong].tolist()
        values = sorted({str(v) for v in df["label"][wrong]})[:5]
        raise ValueError(
            f"The {split} split of {source} has {len(rows)} label(s) out of range ({', '.join(values)}) at rows {rows[:5]}. "
            f"Labels must be 0 (negative) or 1 (positive)"
            + (" or -1 (hidden, test split only)." if split == "test" else "; only a test split may use -1 (hidden).")
        )
    out = pd.DataFrame({"sentence": sentences.astype(str), "label": labels.astype(int)})
    out["idx"] = df["idx"].astype(int) if "idx" in df.columns else range(len(df))
    return out.reset_index(drop=True)


def _to_dataset(df: pd.DataFrame, split: str) -> datasets.Dataset:
    import datasets

    # ClassLabel accepts -1 ("no label"), which is how the Hub stores the hidden test labels.
    return datasets.Dataset.from_pandas(df, features=features(), preserve_index=False, split=split)


def load_from_folder(folder: str | Path) -> datasets.DatasetDict:
    """Load SST-2 from ``folder``: ``train.*`` and ``validation.*`` files (``.tsv``, ``.csv`` or
    ``.parquet``; ``test.*`` optional), or a folder written by ``DatasetDict.save_to_disk``.

    Example:
        >>> load_from_folder(SAMPLE_DIR)["validation"].num_rows
        200
    """
    import datasets

    folder = Path(folder).expanduser()
    shown = f"the folder {folder.name!r}"
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Data folder {folder.name!r} not found. Check COURSE_DATA (or the path you passed); "
            f"it should hold train.tsv and validation.tsv, or a DatasetDict saved with save_to_disk."
        )
    if (folder / "dataset_dict.json").exists():
        saved = datasets.load_from_disk(str(folder))
        frames = {split: saved[split].to_pandas() for split in saved}
    else:
        frames = {}
        for split in SPLITS:
            found = split_files(folder, split)
            if len(found) > 1:
                raise ValueError(f"{shown} has several files for the {split} split ({[p.name for p in found]}); keep one.")
            if found:
                frames[split] = read_table(found[0])
    missing = [s for s in ("train", "validation") if s not in frames]
    if missing:
        present = sorted(p.name for p in folder.iterdir())[:10]
        raise FileNotFoundError(
            f"{shown} has no {' or '.join(missing)} split (it holds {present}). "
            f"Put train.tsv and validation.tsv there (.csv and .parquet work too)."
        )
    return datasets.DatasetDict(
        {split: _to_dataset(check_split(df, split, shown), split) for split, df in frames.items()}
    )


def load_from_hub() -> datasets.DatasetDict:
    """Load ``nyu-mll/glue`` / ``sst2`` from the Hub (or from the local cache with ``HF_HUB_OFFLINE=1``)."""
    import datasets

    if not hub.hub_offline_mode() and not hub.hub_reachable():
        raise hub.unavailable("the SST-2 data (nyu-mll/glue, sst2)", "huggingface.co cannot be reached")
    try:
        raw = datasets.load_dataset(*HUB_DATASET)
    except (ConnectionError, OSError) as err:
        raise hub.unavailable("the SST-2 data (nyu-mll/glue, sst2)", f"{type(err).__name__}: {err}") from err
    for split in raw:
        check_split(raw[split].select(range(min(1000, raw[split].num_rows))).to_pandas(), split, "nyu-mll/glue")
    return raw


def load_sst2(source: str | Path = "hub") -> datasets.DatasetDict:
    """Load GLUE SST-2 from ``source``: ``"hub"``, ``"sample"`` (shipped, 2,000 + 200 rows)
    or a local folder (see :func:`load_from_folder`).

    Example:
        >>> raw = load_sst2("sample")
        >>> {split: ds.num_rows for split, ds in raw.items()}
        {'train': 2000, 'validation': 200}
    """
    if str(source) == "hub":
        return load_from_hub()
    if str(source) == "sample":
        return load_from_folder(SAMPLE_DIR)
    return load_from_folder(source)


def label_names(dataset: datasets.Dataset | datasets.DatasetDict) -> list[str]:
    """The class names of the ``label`` column (``['negative', 'positive']`` for SST-2).

    Example:
        >>> label_names(load_sst2("sample"))
        ['negative', 'positive']
    """
    import datasets

    ds = dataset["train"] if isinstance(dataset, datasets.DatasetDict) else dataset
    feature = ds.features.get("label")
    if not isinstance(feature, datasets.ClassLabel):
        raise ValueError("The 'label' column is not a ClassLabel, so it has no names. Load the data with load_sst2().")
    return list(feature.names)
