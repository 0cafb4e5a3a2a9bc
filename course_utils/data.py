"""Loading GLUE SST-2 from the Hub, from a local folder, or from the sample shipped here.

Whatever the source, :func:`load_sst2` returns what the Hub gives: a ``DatasetDict`` with
``train`` and ``validation`` splits (and ``test`` when the source has one), columns
``sentence`` (string), ``label`` (``ClassLabel`` with names ``negative`` and ``positive``) and
``idx`` (int32). Everything is read by ``datasets`` itself: local files with
``load_dataset("csv", ...)`` (tab-separated, no quoting) or ``load_dataset("parquet", ...)``,
a ``save_to_disk`` folder with ``load_from_disk``, so ``Dataset.map`` results (tokenization)
are cached by ``datasets`` like for the Hub's data.

The data is checked on the way in. A wrong file fails here, with its absolute path, the line
(for text files: line 1 is the header) and what to do, rather than deep inside training.

Example:
    >>> raw = load_sst2("sample")
    >>> raw["train"].features["label"].names
    ['negative', 'positive']
"""

from __future__ import annotations

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import hub

if TYPE_CHECKING:  # imported where needed: importing course_utils.data stays cheap
    import datasets
    import pyarrow as pa

HUB_DATASET = ("nyu-mll/glue", "sst2")
LABEL_NAMES = ["negative", "positive"]
SPLITS = ("train", "validation", "test")
REQUIRED_COLUMNS = ("sentence", "label")
SAMPLE_DIR = Path(__file__).parent / "assets" / "sst2_sample"
FILE_SUFFIXES = (".tsv", ".csv", ".parquet", ".tsv.gz", ".csv.gz")
#: Column names people use for SST-2's columns, for the "rename it" hint.
SIMILAR_COLUMNS = {
    "sentence": {"text", "sentence", "sentences", "review", "content", "sentence1"},
    "label": {"label", "labels", "sentiment", "target", "class", "polarity"},
}
SHOWN = 5  # bad rows quoted in an error


class DataFileError(ValueError):
    """An SST-2 file or folder that cannot be used; the message names the file, the line and the fix."""


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


@dataclass(frozen=True)
class _Source:
    """Where rows come from, to name them in errors: ``line N`` in a text file (line 1 is the
    header), ``row N`` elsewhere (counting from 1)."""

    name: str
    text_file: bool = False

    def row(self, i: int) -> str:
        return f"line {i + 2}" if self.text_file else f"row {i + 1}"

    def rows(self, indices: list[int]) -> str:
        word = ("line" if self.text_file else "row") + ("s" if len(indices) > 1 else "")
        shown = ", ".join(self.row(i).split()[1] for i in indices[:SHOWN])
        return f"{word} {shown}" + (", ..." if len(indices) > SHOWN else "")


# ---------------------------------------------------------------------------------------
# Checks (on Arrow columns, so the full SST-2 is checked in a blink)


def _check_columns(columns: list[str], split: str, source: _Source) -> None:
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise DataFileError(f"{source.name}: the header names {', '.join(map(repr, duplicated))} twice "
                            f"(its columns are {columns}). Give each column one name.")
    required = [c for c in REQUIRED_COLUMNS if not (c == "label" and split == "test")]
    missing = [c for c in required if c not in columns]
    if not missing:
        return
    hints = []
    for name in missing:
        similar = [c for c in columns if c.strip().lower() in SIMILAR_COLUMNS[name]]
        if similar:
            hints.append(f"rename the column {similar[0]!r} to {name!r}")
    where = " (the header, line 1)" if source.text_file else ""
    if hints:
        fix = "To fix it, " + " and ".join(hints) + where + "."
    elif source.text_file and len(missing) == len(required) and any(c.strip() in ("0", "1") for c in columns):
        fix = ("Its first line looks like data, not a header: add the header line "
               "'sentence<TAB>label<TAB>idx' (or 'sentence,label,idx' in a .csv file) above it.")
    else:
        fix = ("SST-2 files need a 'sentence' column (the text) and a 'label' column (0 = negative, 1 = positive)"
               f"{', named in the first line' if source.text_file else ''}.")
    raise DataFileError(f"{source.name}: no column {' or '.join(map(repr, missing))} "
                        f"(its columns are {columns}). {fix}")


def _bad_rows(ok: pa.ChunkedArray | pa.Array) -> list[int]:
    import numpy as np
    import pyarrow.compute as pc

    return np.flatnonzero(~pc.fill_null(ok, False).to_numpy(zero_copy_only=False)).tolist()


def _as_text(column: pa.ChunkedArray, name: str, source: _Source) -> pa.ChunkedArray:
    """A label or idx column as trimmed text, whatever its type (text files hold text, Parquet numbers)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        column = pc.cast(column, kind.value_type)
    elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_string(kind)
              or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        raise DataFileError(f"{source.name}: the {name} column holds {kind}, not numbers. "
                            f"Write {name}s as whole numbers.")
    return pc.utf8_trim_whitespace(pc.cast(column, pa.string()))


def _check_table(table: pa.Table, split: str, source: _Source) -> None:
    """Check one split's rows (columns, sentences, labels, idx); raise :class:`DataFileError` if any is wrong."""
    import pyarrow as pa
    import pyarrow.compute as pc

    _check_columns(table.column_names, split, source)
    if table.num_rows == 0:
        raise DataFileError(f"{source.name}: no rows{' below the header' if source.text_file else ''}. "
                            f"Give a file with at least one sentence (the {split} split cannot be empty).")
    sentences = table.column("sentence")
    if not (pa.types.is_string(sentences.type) or pa.types.is_large_string(sentences.type)):
        raise DataFileError(f"{source.name}: the sentence column holds {sentences.type}, not text. "
                            f"Point the course at SST-2 sentences (the 'sentence' column is the text).")
    bad = _bad_rows(pc.not_equal(pc.utf8_trim_whitespace(sentences), ""))
    if bad:
        raise DataFileError(f"{source.name}: {len(bad)} empty sentence(s), at {source.rows(bad)}. "
                            f"Remove those {'lines' if source.text_file else 'rows'} or fill in their text.")
    if "label" in table.column_names:
        labels = _as_text(table.column("label"), "label", source)
        allowed = ["0", "1", "-1"] if split == "test" else ["0", "1"]
        bad = _bad_rows(pc.is_in(labels, value_set=pa.array(allowed)))
        if bad:
            found = ", ".join(f"{v!r} at {source.row(i)}" for v, i in zip(labels.take(bad[:SHOWN]).to_pylist(), bad))
            rule = ("labels must be 0 (negative), 1 (positive) or -1 (hidden, test split only)" if split == "test"
                    else "labels must be 0 (negative) or 1 (positive); only a test split may use -1 (hidden)")
            raise DataFileError(f"{source.name}: {len(bad)} label(s) out of range: {found}. "
                                f"Fix those labels: {rule}.")
    if "idx" in table.column_names:
        idx = _as_text(table.column("idx"), "idx", source)
        digits = pc.match_substring_regex(idx, r"^[0-9]{1,18}$")
        small = pc.less(pc.cast(pc.if_else(digits, idx, "0"), pa.int64()), 2**31)
        bad = _bad_rows(pc.and_(digits, small))
        if bad:
            found = ", ".join(f"{v!r} at {source.row(i)}" for v, i in zip(idx.take(bad[:SHOWN]).to_pylist(), bad))
            raise DataFileError(f"{source.name}: {len(bad)} idx value(s) that are not whole numbers from 0 "
                                f"to 2,147,483,647: {found}. The idx column numbers the rows: fix those values, "
                                f"or delete the whole column and the course numbers the rows 0, 1, 2, ...")


def _sst2_columns(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
    """One batch in SST-2's columns and types (text files hold labels and idx as text)."""
    n = len(batch["sentence"])
    return {
        "sentence": batch["sentence"],
        "label": [int(v) for v in batch["label"]] if "label" in batch else [-1] * n,
        "idx": [int(v) for v in batch["idx"]] if "idx" in batch else indices,
    }


def _checked(ds: datasets.Dataset, split: str, source: _Source) -> datasets.Dataset:
    """``ds`` checked with :func:`_check_table` and given SST-2's features (a ``map``, cached by datasets)."""
    _check_table(ds.with_format("arrow")[:], split, source)
    if ds.features == features():
        return ds
    return ds.map(_sst2_columns, batched=True, with_indices=True, features=features(),
                  remove_columns=ds.column_names, desc=f"SST-2 columns ({split})")


# ---------------------------------------------------------------------------------------
# One file


def split_files(folder: str | Path, split: str) -> list[Path]:
    """The files in ``folder`` that hold ``split`` (``train.tsv``, ``validation.parquet``, ...).

    >>> [p.name for p in split_files(SAMPLE_DIR, "train")]
    ['train.tsv']
    """
    folder = Path(folder)
    return [folder / f"{split}{suffix}" for suffix in FILE_SUFFIXES if (folder / f"{split}{suffix}").is_file()]


def _file_format(path: Path) -> str:
    name = path.name.lower()
    for fmt in ("tsv", "csv", "parquet"):
        if name.endswith((f".{fmt}", f".{fmt}.gz")):
            return fmt
    raise DataFileError(f"{path}: cannot read this file type. Use a .tsv, .csv or .parquet file "
                        f"(tab-separated SST-2 files are .tsv).")


def _read_bytes(path: Path) -> bytes:
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read()


def _not_utf8(path: Path) -> DataFileError:
    raw = _read_bytes(path)
    try:
        raw.decode("utf-8")
        where, byte = "", ""
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        where, byte = f", line {line}", f" (byte 0x{raw[err.start]:02x})"
    return DataFileError(
        f"{path}{where}: not UTF-8 text{byte}. Save the file as UTF-8 (a spreadsheet's 'CSV UTF-8' or "
        f"'Unicode text'; on the command line: iconv -f latin1 -t utf-8 {path.name} > fixed_{path.name}) "
        f"and load it again."
    )


def _too_many_fields(path: Path, fmt: str, message: str, columns: list[str] | None) -> DataFileError:
    match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", message)
    if not match:
        return DataFileError(f"{path}: cannot be read as {fmt.upper()} ({message.strip()}). "
                             f"Check that it is a {'tab' if fmt == 'tsv' else 'comma'}-separated SST-2 file.")
    expected, line, saw = match.groups()
    header = f" ({', '.join(columns)})" if columns else ""
    cause = ("a sentence probably holds a raw tab character: replace it with a space "
             "(in SST-2 files a tab separates columns)" if fmt == "tsv" else
             "a sentence probably holds a comma outside double quotes: put that sentence in double quotes")
    return DataFileError(f"{path}, line {line}: {saw} fields where the header has {expected}{header}. "
                         f"To fix it, {cause}.")


def _load_text_file(path: Path, fmt: str, split: str) -> datasets.Dataset:
    """A TSV or CSV file through ``load_dataset("csv")``, every column as text (checked afterwards)."""
    import datasets
    import pandas as pd

    options = dict(sep="\t", quoting=csv.QUOTE_NONE) if fmt == "tsv" else dict(sep=",", quoting=csv.QUOTE_MINIMAL)
    options.update(keep_default_na=False, skip_blank_lines=False, encoding="utf-8")
    try:  # the header and the first row: pandas would take a first row with one field too many as an index
        head = pd.read_csv(path, header=None, nrows=2, dtype=str, **options)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{path}: empty (no header line). Copy the file again; an SST-2 file starts "
                            f"with the header 'sentence', 'label', 'idx'.") from None
    except pd.errors.ParserError as err:
        raise _too_many_fields(path, fmt, str(err), None) from None
    except UnicodeDecodeError:
        raise _not_utf8(path) from None
    columns = [str(c) for c in head.iloc[0].tolist()]
    source = _Source(str(path), text_file=True)
    _check_columns(columns, split, source)
    if len(head) < 2:
        raise DataFileError(f"{path}: no rows below the header. Give a file with at least one sentence "
                            f"(the {split} split cannot be empty).")
    as_text = datasets.Features({c: datasets.Value("string") for c in columns})
    try:
        return datasets.load_dataset("csv", data_files={split: str(path)}, split=split, features=as_text,
                                     delimiter=options.pop("sep"), **options)
    except datasets.exceptions.DatasetGenerationError as err:
        cause = err.__cause__
        if isinstance(cause, UnicodeDecodeError):
            raise _not_utf8(path) from None
        raise _too_many_fields(path, fmt, str(cause), columns) from err


def load_split_file(path: str | Path, split: str | None = None) -> datasets.Dataset:
    """One SST-2 file (``.tsv``, ``.csv``, ``.parquet``, or ``.tsv.gz`` / ``.csv.gz``), checked,
    with SST-2's features. ``split`` (``train``, ``validation``, ``test``; default: the file's name)
    decides whether hidden labels (-1) are allowed: only in ``test``.

    >>> load_split_file(SAMPLE_DIR / "validation.tsv").num_rows
    200
    """
    import datasets

    path = Path(path).expanduser().resolve()
    split = split or path.name.split(".")[0]
    fmt = _file_format(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file. Check the path (SST-2 files are train.tsv, validation.tsv).")
    if path.stat().st_size == 0:
        raise DataFileError(f"{path}: empty (0 bytes). Copy the file again; an SST-2 file starts with "
                            f"the header 'sentence', 'label', 'idx'.")
    with open(path, "rb") as f:
        is_parquet = f.read(4) == b"PAR1"
    if fmt != "parquet" and is_parquet:
        raise DataFileError(f"{path}: a Parquet file with a .{fmt} name. Rename it to {split}.parquet.")
    if fmt == "parquet" and not is_parquet:
        raise DataFileError(f"{path}: not a Parquet file (a copy cut short, or text with a .parquet name). "
                            f"Copy it again, or give a text file its real name ({split}.tsv or {split}.csv).")
    if fmt == "parquet":
        try:
            ds = datasets.load_dataset("parquet", data_files={split: str(path)}, split=split)
        except datasets.exceptions.DatasetGenerationError as err:
            raise DataFileError(f"{path}: cannot be read as Parquet ({err.__cause__}). Copy it again.") from err
        return _checked(ds, split, _Source(str(path)))
    return _checked(_load_text_file(path, fmt, split), split, _Source(str(path), text_file=True))


# ---------------------------------------------------------------------------------------
# Folders, the sample, the Hub


def _holds(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())[:10]


def load_from_folder(folder: str | Path) -> datasets.DatasetDict:
    """Load SST-2 from ``folder``: ``train.*`` and ``validation.*`` files (``.tsv``, ``.csv`` or
    ``.parquet``; ``test.*`` optional), or a folder written by ``DatasetDict.save_to_disk``.
    A relative ``folder`` is taken from the folder you started from (see :mod:`course_utils.settings`).

    Example:
        >>> load_from_folder(SAMPLE_DIR)["validation"].num_rows
        200
    """
    import datasets

    from .sources import resolve_path

    folder = resolve_path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"Data folder {folder} not found. Check COURSE_DATA (or the path you passed); "
            f"it should hold train.tsv and validation.tsv, or a DatasetDict saved with save_to_disk."
        )
    if (folder / "dataset_dict.json").is_file():
        saved = datasets.load_from_disk(str(folder))
        splits = {split: _checked(saved[split], split, _Source(f"{folder} ({split} split)"))
                  for split in SPLITS if split in saved}
    elif (folder / "dataset_info.json").is_file():
        raise DataFileError(f"{folder} holds one Dataset saved with save_to_disk, not a DatasetDict with "
                            f"train and validation splits. Save the DatasetDict (raw.save_to_disk(folder)).")
    else:
        splits = {}
        for split in SPLITS:
            found = split_files(folder, split)
            if len(found) > 1:
                raise DataFileError(f"{folder} has several files for the {split} split "
                                    f"({', '.join(str(p) for p in found)}). Keep one of them.")
            if found:
                splits[split] = load_split_file(found[0], split)
    missing = [s for s in ("train", "validation") if s not in splits]
    if missing:
        dev = (" (GLUE's own download calls it dev.tsv: rename it to validation.tsv)"
               if (folder / "dev.tsv").exists() else "")
        raise FileNotFoundError(
            f"{folder} has no {' or '.join(missing)} split (it holds {_holds(folder)}). "
            f"Put train.tsv and validation.tsv there (.csv and .parquet work too){dev}."
        )
    return datasets.DatasetDict(splits)


def load_from_hub() -> datasets.DatasetDict:
    """Load ``nyu-mll/glue`` / ``sst2`` with ``load_dataset`` (from the local cache in offline mode).

    When the Hub cannot be reached this fails within seconds, naming the offline options,
    instead of retrying for a minute.
    """
    import datasets

    what = "the SST-2 data (nyu-mll/glue, sst2)"
    hub.check_reachable(what)
    try:
        raw = datasets.load_dataset(*HUB_DATASET)
    except (ConnectionError, OSError) as err:
        raise hub.unavailable(what, hub.failure_reason(err)) from err
    name = " ".join(HUB_DATASET)
    return datasets.DatasetDict({split: _checked(raw[split], split, _Source(f"{name} ({split} split)"))
                                 for split in SPLITS if split in raw})


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

