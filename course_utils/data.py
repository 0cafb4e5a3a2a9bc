"""Loading GLUE SST-2 from the Hub, from a local folder, or from the sample shipped here.

:func:`load_sst2` returns what the Hub gives, whatever the source: ``train``, ``validation`` (and ``test``
if there is one) with SST-2's :func:`features`, read by ``datasets`` so that ``map`` results are cached;
local files are cached under their content (:func:`.sources.fingerprint`), not their modification time.

Files are read as written: UTF-8 with or without a byte order mark, line 1 the header, other columns
ignored. A ``.csv`` quotes the fields that need it. A ``.tsv`` comes two ways: GLUE's own files have no
quoting (a sentence may hold a bare ``"`` anywhere, at its start too); pandas and Python's csv module put
a field holding a ``"``, a tab or a line break in double quotes and double its inner quotes. A ``.tsv`` is
read with that quoting when it has quoted fields, each of them needed its quotes, and the whole file
parses strictly so, into the header's number of fields on every line; otherwise every ``"`` is kept.
Labels with class names (``save_to_disk``, Parquet written by ``datasets``) are matched by name.

Wrong data fails here, not in training: the error names the absolute path, the line or row, and the fix.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

from . import hub
from .sources import fingerprint, resolve_path

if TYPE_CHECKING:  # imported where needed: importing course_utils.data stays cheap
    import datasets

HUB_DATASET = ("nyu-mll/glue", "sst2")
LABEL_NAMES = ["negative", "positive"]
SPLITS = ("train", "validation", "test")
COLUMNS = ("sentence", "label", "idx")
SAMPLE_DIR = Path(__file__).parent / "assets" / "sst2_sample"
FILE_SUFFIXES = (".tsv", ".csv", ".parquet", ".tsv.gz", ".csv.gz")
#: Column names people use for SST-2's columns, for the "rename it" hint.
SIMILAR_COLUMNS = {"sentence": {"text", "sentence", "sentences", "review", "content", "sentence1"},
                   "label": {"label", "labels", "sentiment", "target", "class", "polarity"}}
SHOWN = 5  # bad rows quoted in an error
#: A field in double quotes as CSV writers write it: its quote opens the text, a line or follows a tab.
QUOTED_FIELD = re.compile(r'"(?<![^\t\n]")((?:[^"]|"")*)"(?=[\t\r\n]|\Z)')


class DataFileError(ValueError):
    """An SST-2 file or folder that cannot be used; the message names the file, the line and the fix."""


def features() -> datasets.Features:
    """The SST-2 features, exactly as the Hub's ``nyu-mll/glue`` ``sst2`` config declares them."""
    from datasets import ClassLabel, Features, Value

    return Features({"sentence": Value("string"), "label": ClassLabel(names=LABEL_NAMES), "idx": Value("int32")})


def _check_columns(columns: list[str], split: str, name: str | Path, text: bool) -> None:
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        raise DataFileError(f"{name}: the header names {', '.join(map(repr, duplicated))} twice "
                            f"(its columns are {columns}). Give each column one name.")
    missing = [c for c in (["sentence"] if split == "test" else ["sentence", "label"]) if c not in columns]
    hints = [f"rename the column {similar[0]!r} to {wanted!r}" for wanted in missing
             if (similar := [c for c in columns if c.strip().lower() in SIMILAR_COLUMNS[wanted]])]
    if hints:
        fix = "To fix it, " + " and ".join(hints) + (" (the header, line 1)." if text else ".")
    elif text and "sentence" in missing and any(c.strip() in ("0", "1") for c in columns):
        fix = ("Its first line looks like data, not a header: add the header line "
               "'sentence<TAB>label<TAB>idx' (or 'sentence,label,idx' in a .csv file) above it.")
    else:
        fix = ("SST-2 files need a 'sentence' column (the text) and a 'label' column (0 = negative, 1 = positive)"
               f"{', named in the first line' if text else ''}.")
    if missing:
        raise DataFileError(f"{name}: no column {' or '.join(map(repr, missing))} (its columns are {columns}). {fix}")


def _check_rows(ds: datasets.Dataset, split: str, name: str | Path, lines: tuple[int, ...] | None) -> None:
    """Check one split's sentences, labels and idx, vectorised; raise :class:`DataFileError` naming the bad
    rows: by their ``lines`` in a text file (line 1 is the header), else counting rows from 1."""
    import pandas as pd
    import pyarrow as pa

    def check(ok: pd.Series, what: str, fix: str, values: pd.Series | None = None) -> None:
        bad = ok.index[~ok.fillna(False).astype(bool)].tolist()  # positions: the index is 0, 1, 2, ...
        if bad:
            named = [f"line {lines[i]}" if lines is not None else f"row {i + 1}" for i in bad[:SHOWN]]
            named = named if values is None else [f"{values.iloc[i]!r} at {n}" for i, n in zip(bad, named)]
            raise DataFileError(f"{name}: {len(bad)} {what} {', '.join(named)}{', ...' * (len(bad) > SHOWN)}. {fix}")

    if getattr(ds.features["sentence"], "dtype", None) not in ("string", "large_string"):
        raise DataFileError(f"{name}: the sentence column holds {ds.features['sentence']}, not text. "
                            f"Point the course at SST-2 sentences (the 'sentence' column is the text).")
    table = ds.select_columns([c for c in COLUMNS if c in ds.column_names]).with_format("arrow")[:]
    try:  # each column as trimmed text, whatever its type (Arrow writes 1.0 as "1")
        text = {c: table[c].cast(pa.string()).to_pandas().str.strip().fillna("") for c in table.column_names}
    except pa.ArrowException:
        raise DataFileError(f"{name}: column types {({f.name: str(f.type) for f in table.schema})}, not text and "
                            f"numbers. Write labels and idx as whole numbers.") from None
    check(text["sentence"].ne(""), "empty sentence(s), at",
          f"Remove those {'rows' if lines is None else 'lines'} or fill in their text.")
    if "label" in text:
        test = split == "test"
        check(text["label"].isin(["0", "1", "-1"] if test else ["0", "1"]), "label(s) out of range:",
              "Fix those labels: labels must be " + ("0 (negative), 1 (positive) or -1 (hidden, test split only)."
              if test else "0 (negative) or 1 (positive); only a test split may use -1 (hidden)."), text["label"])
    if "idx" in text:
        check(text["idx"].str.fullmatch(r"[0-9]{1,10}") & pd.to_numeric(text["idx"], errors="coerce").lt(2**31),
              "idx value(s) that are not whole numbers from 0 to 2,147,483,647:", "The idx column numbers the rows: "
              "fix those values, or delete the whole column and the course numbers the rows 0, 1, 2, ...", text["idx"])


def _checked(ds: datasets.Dataset, split: str, name: str | Path,
             lines: tuple[int, ...] | None = None) -> datasets.Dataset:
    """``ds`` checked, given SST-2's features by a ``map`` (cached by datasets), labels matched by name."""
    _check_columns(ds.column_names, split, name, text=lines is not None)
    if ds.num_rows == 0:
        raise DataFileError(f"{name}: no rows. Give data with at least one sentence.")
    given = getattr(ds.features.get("label"), "names", None) or LABEL_NAMES
    if sorted(str(n).lower() for n in given) != LABEL_NAMES:
        raise DataFileError(f"{name}: its labels are named {given}, not {LABEL_NAMES}. Save the data with the label "
                            f"names 'negative' and 'positive', or plain labels (0 = negative, 1 = positive).")
    ids = {i: LABEL_NAMES.index(str(n).lower()) for i, n in enumerate(given)}  # -1 (hidden) stays -1
    _check_rows(ds, split, name, lines)
    if ds.features == features():
        return ds

    def sst2_columns(batch: dict[str, list], indices: list[int]) -> dict[str, list]:
        labels = [ids.get(int(v), -1) for v in batch["label"]] if "label" in batch else [-1] * len(indices)
        idx = [int(v) for v in batch["idx"]] if "idx" in batch else indices
        return {"sentence": batch["sentence"], "label": labels, "idx": idx}

    return ds.map(sst2_columns, batched=True, with_indices=True, features=features(),
                  remove_columns=ds.column_names, desc=f"SST-2 columns ({split})")


def split_files(folder: str | Path, split: str) -> list[Path]:
    """The files in ``folder`` that hold ``split`` (``train.tsv``, ``validation.parquet``, ...).

    >>> [p.name for p in split_files(SAMPLE_DIR, "train")]
    ['train.tsv']
    """
    return [path for end in FILE_SUFFIXES if (path := Path(folder) / f"{split}{end}").is_file()]


def _load(builder: str, path: Path, split: str, **options) -> datasets.Dataset:
    """``load_dataset(builder)`` on one file, cached under the file's content; unreadable files name the path."""
    import datasets
    import pyarrow as pa

    try:
        return datasets.load_dataset(builder, name=f"sst2-{fingerprint(path)}", data_files={split: str(path)},
                                     split=split, **options)
    except (datasets.exceptions.DatasetGenerationError, pa.ArrowException) as err:
        text = f", or if it is text give it its real name ({split}.tsv or {split}.csv)" if builder == "parquet" else ""
        raise DataFileError(f"{path}: cannot be read as {builder.upper()} ({err.__cause__ or err}). The file may be "
                            f"damaged or cut short: copy it again{text}.") from err


def _tsv_quoted(text: str) -> bool:
    """Whether a .tsv uses CSV quoting (the rule is in the module's docstring)."""
    quoted = QUOTED_FIELD.findall(text)
    try:  # strictly: a closing quote must end its field
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter="\t", strict=True)) if quoted else []
    except csv.Error:
        return False
    return (bool(rows) and all(re.search(r'""|[\t\r\n]', field) for field in quoted)
            and all(len(row) in (0, len(rows[0])) for row in rows))


def _load_text(path: Path, fmt: str, split: str) -> datasets.Dataset:
    """A TSV or CSV file, read here with Python's csv module to find its quoting and to name the line of
    a wrong field count, then by ``load_dataset("csv")`` with the same options, every column as text."""
    import datasets

    try:
        raw = gzip.decompress(path.read_bytes()) if path.name.lower().endswith(".gz") else path.read_bytes()
    except (OSError, EOFError) as err:  # a damaged .gz
        raise DataFileError(f"{path}: cannot be read ({err}). Copy the file again.") from None
    if raw.startswith(b"PAR1"):
        raise DataFileError(f"{path}: a Parquet file with a .{fmt} name. Rename it to {split}.parquet.")
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataFileError(f"{path}, line {line}: not UTF-8 text (byte 0x{raw[err.start]:02x}). Save the file as "
                            f"UTF-8 (a spreadsheet's 'CSV UTF-8' or 'Unicode text'; on the command line: iconv -f "
                            f"latin1 -t utf-8 {path.name} > fixed_{path.name}) and load it again.") from None
    if not text.strip():
        raise DataFileError(f"{path}: empty (no header line). Copy the file again; an SST-2 file starts "
                            f"with the header 'sentence', 'label', 'idx'.")
    sep = "\t" if fmt == "tsv" else ","
    quoting = csv.QUOTE_MINIMAL if fmt == "csv" or _tsv_quoted(text) else csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep, quoting=quoting)
    try:
        rows = [(reader.line_num, fields) for fields in reader]  # the line each row ends on
    except csv.Error as err:
        raise DataFileError(f"{path}, line {reader.line_num}: cannot be read as {fmt.upper()} ({err}). "
                            f"Check that it is a {'tab' if fmt == 'tsv' else 'comma'}-separated SST-2 file.") from None
    (_, header), lines = rows[0], tuple(line for line, _ in rows[1:])
    _check_columns(header, split, path, text=True)
    if not lines:
        raise DataFileError(f"{path}: no rows below the header. Give a file with at least one sentence.")
    for line, fields in (row for row in rows[1:] if len(row[1]) > len(header)):
        cause = ("a sentence probably holds a raw tab character: replace it with a space" if fmt == "tsv" else
                 "a sentence probably holds a comma outside double quotes: put that sentence in double quotes")
        raise DataFileError(f"{path}, line {line}: {len(fields)} fields where the header has {len(header)} "
                            f"({', '.join(header)}). To fix it, {cause}.")
    used = [c for c in header if c in COLUMNS]
    return _checked(_load("csv", path, split, sep=sep, quoting=quoting, usecols=used, encoding="utf-8-sig",
                          features=datasets.Features({c: datasets.Value("string") for c in used}),
                          keep_default_na=False, skip_blank_lines=False), split, path, lines)


def load_split_file(path: str | Path, split: str | None = None) -> datasets.Dataset:
    """One SST-2 file (``.tsv``, ``.csv``, ``.parquet``; ``.tsv.gz``, ``.csv.gz``), checked, with SST-2's
    features. ``split`` (default: the file's name) decides whether hidden labels (-1) are allowed: only in test.

    >>> load_split_file(SAMPLE_DIR / "validation.tsv").num_rows
    200
    """
    path = Path(path).expanduser().resolve()
    split = split or path.name.split(".")[0]
    fmt = next((f for f in ("tsv", "csv", "parquet") if path.name.lower().endswith((f".{f}", f".{f}.gz"))), None)
    if fmt is None:
        raise DataFileError(f"{path}: cannot read this file type. Use a .tsv, .csv or .parquet file "
                            f"(tab-separated SST-2 files are .tsv).")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file. Check the path (SST-2 files are train.tsv, validation.tsv).")
    return _checked(_load("parquet", path, split), split, path) if fmt == "parquet" else _load_text(path, fmt, split)


def load_from_folder(folder: str | Path) -> datasets.DatasetDict:
    """Load SST-2 from ``folder`` (relative: see :mod:`course_utils.sources`): ``train.*`` and ``validation.*``
    files (``.tsv``, ``.csv`` or ``.parquet``; ``test.*`` optional), or a ``DatasetDict.save_to_disk`` folder.

    >>> load_from_folder(SAMPLE_DIR)["validation"].num_rows
    200
    """
    import datasets

    folder = resolve_path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"Data folder {folder} not found. Check COURSE_DATA (or the path you passed); it "
                                f"should hold train.tsv and validation.tsv, or a DatasetDict saved with save_to_disk.")
    if (folder / "dataset_dict.json").is_file():
        saved = datasets.load_from_disk(str(folder))
        splits = {s: _checked(saved[s], s, f"{folder} ({s} split)") for s in SPLITS if s in saved}
    elif (folder / "dataset_info.json").is_file():
        raise DataFileError(f"{folder} holds one Dataset saved with save_to_disk, not a DatasetDict with "
                            f"train and validation splits. Save the DatasetDict (raw.save_to_disk(folder)).")
    else:
        found = {split: split_files(folder, split) for split in SPLITS}
        for split, files in found.items():
            if len(files) > 1:
                raise DataFileError(f"{folder} has several files for the {split} split "
                                    f"({', '.join(str(p) for p in files)}). Keep one of them.")
        splits = {split: load_split_file(files[0], split) for split, files in found.items() if files}
    missing = [s for s in ("train", "validation") if s not in splits]
    if missing:
        dev = (" (GLUE's own download calls it dev.tsv: rename it to validation.tsv)"
               if (folder / "dev.tsv").exists() else "")
        raise FileNotFoundError(f"{folder} has no {' or '.join(missing)} split (it holds "
                                f"{sorted(p.name for p in folder.iterdir())[:10]}). Put train.tsv and validation.tsv "
                                f"there (.csv and .parquet work too){dev}.")
    return datasets.DatasetDict(splits)


def load_from_hub() -> datasets.DatasetDict:
    """Load ``nyu-mll/glue`` / ``sst2`` (the cache in offline mode); an unreachable Hub fails within seconds."""
    import datasets

    what = "the SST-2 data (nyu-mll/glue, sst2)"
    hub.check_reachable(what)
    try:
        raw = datasets.load_dataset(*HUB_DATASET)
    except (ConnectionError, OSError) as err:
        raise hub.unavailable(what, hub.failure_reason(err)) from err
    return datasets.DatasetDict({split: _checked(raw[split], split, f"{' '.join(HUB_DATASET)} ({split} split)")
                                 for split in SPLITS if split in raw})


def load_sst2(source: str | Path = "hub") -> datasets.DatasetDict:
    """Load GLUE SST-2 from ``source``: ``"hub"``, ``"sample"`` (shipped, 2,000 + 200 rows)
    or a local folder (see :func:`load_from_folder`).

    >>> {split: ds.num_rows for split, ds in load_sst2("sample").items()}
    {'train': 2000, 'validation': 200}
    """
    if str(source) == "hub":
        return load_from_hub()
    return load_from_folder(SAMPLE_DIR if str(source) == "sample" else source)
